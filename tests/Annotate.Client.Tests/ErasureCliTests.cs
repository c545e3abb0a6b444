using System.Diagnostics;
using Annotate.Contracts.V1;

namespace Annotate.Client.Tests;

/// <summary>`annotate admin analysts erase` with what an auditor runs afterwards: `audit verify` and the offline bundle.</summary>
public sealed class ErasureCliTests(CliServer server) : IClassFixture<CliServer>
{
    private const string Claimed = "russia-involvement-kazakhstan-crisis";

    [Fact]
    public async Task After_an_erasure_audit_verify_and_the_offline_bundle_pass_and_name_it_and_an_edit_of_an_erased_event_is_caught()
    {
        var admin = server.Admin();
        var id = $"erased-{Guid.NewGuid():N}"[..20];
        var note = $"note{Guid.NewGuid():N}";
        var rationale = $"why{Guid.NewGuid():N}";
        var analyst = await server.AnalystAsync(id, "analyst");
        var claim = (await analyst.RunAsync("claim", "open", Claimed, "--quote", "Kazakhstan has a large Russian majority", "--json"))
            .AssertOk().Json<OpenClaimResponse>().ClaimId;
        var stance = (await analyst.RunAsync("stance", claim, "refutes", "--rationale", rationale, "--json"))
            .AssertOk().Json<CommandResult>();
        (await analyst.RunAsync("highlight", Claimed, "--quote", "Kazakhstan has a large Russian majority", "--note", note)).AssertOk();

        var erased = (await admin.RunAsync("admin", "analysts", "erase", id, "--reason", "Erasure request 7", "--json"))
            .AssertOk().Json<EraseAnalystResponse>();
        Assert.Contains(stance.Position, erased.ErasedPositions);
        var again = (await admin.RunAsync("admin", "analysts", "erase", id, "--reason", "again")).AssertOk().Stdout;
        Assert.Contains("nothing left to erase", again);
        Assert.DoesNotContain(rationale, (await admin.RunAsync("claim", "show", claim)).AssertOk().Stdout);
        Assert.DoesNotContain(note, (await admin.RunAsync("replay", "--from", "1", "--json")).AssertOk().Stdout);
        (await admin.RunAsync("admin", "analysts", "erase", id)).AssertExit(2); // --reason is required
        (await admin.RunAsync("admin", "analysts", "erase", "nobody-here", "--reason", "x")).AssertExit(3);
        var other = await server.AnalystAsync($"other-{Guid.NewGuid():N}"[..20], "analyst", "auditor");
        (await other.RunAsync("admin", "analysts", "erase", id, "--reason", "x")).AssertExit(4);

        var verified = (await admin.RunAsync("audit", "verify", "--receipt", $"{stance.Position}:{stance.ReceiptHash}")).AssertOk().Stdout;
        Assert.StartsWith("OK: ", verified);
        Assert.Contains($"by the masked digests recorded by the erasure(s) at {erased.ErasurePosition}", verified);

        var dir = Path.Combine(server.Directory_, "bundle-" + Guid.NewGuid().ToString("N"));
        (await admin.RunAsync("audit", "export", "--output", dir, "--receipt", $"{stance.Position}:{stance.ReceiptHash}")).AssertOk();
        var events = Path.Combine(dir, "events.jsonl");
        Assert.DoesNotContain(rationale, await File.ReadAllTextAsync(events));
        var ok = await PythonAsync(Path.Combine(dir, "verify.py"));
        Assert.True(ok.Code == 0, ok.Output);
        Assert.Contains($"erasure(s) at {erased.ErasurePosition}", ok.Output);

        // The erased stance keeps its vote under the masked digest: changing it is still a break, named offline too.
        var lines = await File.ReadAllLinesAsync(events);
        var at = Array.FindIndex(lines, l => l.StartsWith($"{{\"position\":{stance.Position},", StringComparison.Ordinal));
        Assert.Contains("REFUTES", lines[at]);
        lines[at] = lines[at].Replace("REFUTES", "SUPPORTS", StringComparison.Ordinal);
        await File.WriteAllLinesAsync(events, lines);
        var broken = await PythonAsync(Path.Combine(dir, "verify.py"));
        Assert.Equal(1, broken.Code);
        Assert.StartsWith($"BROKEN: the data of event {stance.Position} (stance-taken.v1", broken.Output);
        Assert.Contains($"the erasure at {erased.ErasurePosition} recorded", broken.Output);
    }

    private static async Task<(int Code, string Output)> PythonAsync(params string[] args)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }
}
