using System.Text.Json.Nodes;
using Annotate.Contracts.V1;
using Npgsql;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>
/// A database written by the previous version (its own event tables) is moved into Marten on this version's first start:
/// every event keeps its id, position, stream version and time, every old receipt still verifies, old requests stay
/// deduplicated, new events continue the chain, and tampering with what was moved is reported.
/// </summary>
public sealed class PreviousVersionMoveTests(PreviousVersionDatabase previous) : IClassFixture<PreviousVersionDatabase>
{
    private const string Imported = "events of the previous version: importing them into Marten";

    private async Task<(ServerProcess Server, GrpcChannel Channel, string Database)> StartOnCopyAsync()
    {
        var database = await previous.CopyAsync();
        var server = new ServerProcess(database, previous.NewTokenFile());
        await server.StartAsync();
        return (server, GrpcChannel.ForAddress(server.Address), database);
    }

    private async Task<VerifyResult> VerifyAsync(GrpcChannel channel, IEnumerable<CommandResult> receipts)
    {
        var request = new VerifyAuditRequest();
        request.Receipts.AddRange(receipts.Select(r => new Receipt { Position = r.Position, Hash = r.ReceiptHash }));
        using var call = channel.History().VerifyAudit(request, AnnotateServer.As(previous.AdminToken));
        VerifyResult? result = null;
        await foreach (var m in call.ResponseStream.ReadAllAsync())
        {
            if (m.ItemCase == VerifyAuditResponse.ItemOneofCase.Result) result = m.Result;
        }
        return result ?? throw new InvalidOperationException("VerifyAudit sent no result.");
    }

    private static async Task SqlAsync(string connectionString, string sql)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Every_event_receipt_and_request_of_a_previous_version_database_survive_the_move_and_new_events_continue_the_chain()
    {
        var (server, channel, _) = await StartOnCopyAsync();
        await using var _ = server;
        using var __ = channel;
        Assert.Contains(Imported, server.Output);

        var verified = await VerifyAsync(channel, previous.Results);
        Assert.True(verified.Ok, verified.FirstBroken?.Reason);
        Assert.Equal((ulong)previous.Head, verified.HeadPosition);
        Assert.Equal((ulong)previous.History.Count, verified.EventsChecked);
        Assert.Equal(previous.Results.Count, verified.Receipts.Count);
        Assert.All(verified.Receipts, r => Assert.True(r.Holds, r.Reason));

        var history = await PreviousVersionDatabase.ReplayAsync(channel, previous.AdminToken);
        Assert.Equal(previous.History.Count, history.Count);
        foreach (var (before, moved) in previous.History.Zip(history))
        {
            Assert.Equal(
                (before.Position, before.EventId, before.StreamId, before.StreamVersion, before.Type, before.RecordedAt, before.Hash),
                (moved.Position, moved.EventId, moved.StreamId, moved.StreamVersion, moved.Type, moved.RecordedAt, moved.Hash));
            Assert.Equal(
                (before.Actor, before.ArticleId, before.ClaimId, before.RequestId),
                (moved.Actor, moved.ArticleId, moved.ClaimId, moved.RequestId));
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(before.DataJson), JsonNode.Parse(moved.DataJson)),
                $"{before.DataJson}\n{moved.DataJson}");
        }

        // The analyst's token, issued by the previous version, still works; a retry of an old request answers the original result.
        var ana = AnnotateServer.As(previous.AnalystToken);
        var retried = await channel.Claims().TakeStanceAsync(previous.StanceRequest, ana);
        Assert.True(retried.Deduplicated);
        var original = previous.StanceResult;
        Assert.Equal(
            (original.Position, original.ReceiptHash, original.StreamVersion, original.RecordedAt),
            (retried.Position, retried.ReceiptHash, retried.StreamVersion, retried.RecordedAt));

        // New commands take the next positions and their receipts verify together with the old ones.
        var highlight = await channel.Annotations().CreateHighlightAsync(
            new CreateHighlightRequest { RequestId = Rid(), ArticleId = "dam", Selector = Quote("The dam was finished in 1968.") }, ana);
        var stance = await channel.Claims().TakeStanceAsync(
            new TakeStanceRequest
            {
                RequestId = Rid(),
                ClaimId = previous.StanceRequest.ClaimId,
                Stance = Stance.Refutes,
                Rationale = "survey",
            },
            ana);
        Assert.Equal((ulong)previous.Head + 1, highlight.Result.Position);
        Assert.Equal((ulong)previous.Head + 2, stance.Position);
        var after = await VerifyAsync(channel, [.. previous.Results, highlight.Result, stance]);
        Assert.True(after.Ok, after.FirstBroken?.Reason);
        Assert.All(after.Receipts, r => Assert.True(r.Holds, r.Reason));

        // A second start finds nothing to import and keeps every event once.
        var said = server.Output.Length;
        await server.StopAsync();
        await server.StartAsync();
        Assert.DoesNotContain(Imported, server.Output[said..]);
        Assert.Equal(previous.History.Count + 2, (await PreviousVersionDatabase.ReplayAsync(channel, previous.AdminToken)).Count);
        Assert.True((await VerifyAsync(channel, [.. previous.Results, highlight.Result, stance])).Ok);
    }

    [Fact]
    public async Task The_offline_verifier_checks_the_v1_links_of_moved_events_and_names_a_moved_text_changed_by_one_byte()
    {
        var (server, channel, _) = await StartOnCopyAsync();
        await using var _s = server;
        using var _c = channel;
        var dir = Directory.CreateTempSubdirectory("annotate-moved-bundle").FullName;
        try
        {
            var exported = await WriteBundleAsync(channel, dir);
            Assert.All(exported.Where(e => (long)e.Position <= previous.Head), e => Assert.NotNull(e.Legacy));

            var ok = await VerifyPyAsync(dir);
            Assert.True(ok.Code == 0, ok.Output);
            Assert.Contains($"moved: {previous.History.Count} event(s) from the previous version verified by their v1 links", ok.Output);

            // One byte of the kept text of the dam article's import ("1968" -> "1969"): its v1 link no longer recomputes.
            var article = previous.History.Single(e => e.Type == "article-imported.v1" && e.ArticleId == "dam");
            var lines = await File.ReadAllLinesAsync(Path.Combine(dir, "events.jsonl"));
            var at = Array.FindIndex(lines, l => l.StartsWith($"{{\"position\":{article.Position},", StringComparison.Ordinal));
            var legacyAt = lines[at].IndexOf("\"legacy\":", StringComparison.Ordinal);
            var yearAt = lines[at].IndexOf("1968", legacyAt, StringComparison.Ordinal);
            lines[at] = lines[at][..yearAt] + "1969" + lines[at][(yearAt + 4)..];
            await File.WriteAllLinesAsync(Path.Combine(dir, "events.jsonl"), lines);
            var broken = await VerifyPyAsync(dir);
            Assert.Equal(1, broken.Code);
            Assert.StartsWith($"BROKEN: the link of event {article.Position} (article-imported.v1", broken.Output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// The bundle as `annotate audit export` writes it (clients/Annotate.Cli/Audit/bundle-README.md), from Audit.ExportLog.
    /// </summary>
    private async Task<List<ExportedEvent>> WriteBundleAsync(GrpcChannel channel, string dir)
    {
        var exported = new List<ExportedEvent>();
        using (var call = channel.Audit().ExportLog(new ExportLogRequest(), AnnotateServer.As(previous.AdminToken)))
        {
            await foreach (var e in call.ResponseStream.ReadAllAsync()) exported.Add(e);
        }
        var head = await channel.Audit().GetChainHeadAsync(new GetChainHeadRequest(), AnnotateServer.As(previous.AdminToken));
        await File.WriteAllLinesAsync(Path.Combine(dir, "events.jsonl"), exported.Select(EventLine));
        await File.WriteAllLinesAsync(Path.Combine(dir, "chain.jsonl"), exported.Select(e => new JsonObject
        {
            ["position"] = e.Position,
            ["data_digest"] = e.DataDigest,
            ["metadata_digest"] = e.MetadataDigest,
            ["link"] = e.Link,
        }.ToJsonString()));
        await File.WriteAllTextAsync(Path.Combine(dir, "head.json"),
            new JsonObject { ["position"] = head.Position, ["link"] = head.Link, ["text"] = head.Text }.ToJsonString());
        return exported;
    }

    [Fact]
    public async Task An_analyst_of_a_moved_database_is_erased_and_the_v1_links_still_verify_online_and_offline()
    {
        var (server, channel, _) = await StartOnCopyAsync();
        await using var _s = server;
        using var _c = channel;
        var admin = AnnotateServer.As(previous.AdminToken);

        var erased = await channel.Admin().EraseAnalystAsync(
            new EraseAnalystRequest { RequestId = Rid(), AnalystId = PreviousVersionDatabase.AnalystId, Reason = "erasure request" },
            admin);

        Assert.Contains(erased.ErasedPositions, p => (long)p <= previous.Head);
        var verified = await VerifyAsync(channel, previous.Results);
        Assert.True(verified.Ok, verified.FirstBroken?.Reason);
        Assert.Equal(erased.ErasedPositions, verified.ErasedPositions);
        var dir = Directory.CreateTempSubdirectory("annotate-moved-erased").FullName;
        try
        {
            await WriteBundleAsync(channel, dir);
            var ok = await VerifyPyAsync(dir);
            Assert.True(ok.Code == 0, ok.Output);
            // The token's issue among them has its data withheld from the bundle: it is linked by its digest, not counted.
            Assert.Contains(
                $"erased: {erased.ErasedPositions.Count - 1} event(s) verified by the masked digests recorded by the erasure(s) at "
                + $"{erased.ErasurePosition}",
                ok.Output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string EventLine(ExportedEvent e)
    {
        var line = new JsonObject
        {
            ["position"] = e.Position,
            ["stream"] = e.StreamId,
            ["version"] = e.StreamVersion,
            ["id"] = e.EventId,
            ["type"] = e.Type,
            ["time"] = e.RecordedAt,
            ["data"] = e.DataWithheld ? null : e.DataJson,
            ["metadata"] = e.MetadataJson,
        };
        if (e.Legacy is { } l)
        {
            line["legacy"] = new JsonObject
            {
                ["stream"] = l.StreamId,
                ["version"] = l.StreamVersion,
                ["id"] = l.EventId,
                ["type"] = l.Type,
                ["time"] = l.RecordedAt,
                ["data"] = l.DataWithheld ? null : l.DataText,
                ["metadata"] = l.MetadataText,
            };
        }
        return line.ToJsonString(new System.Text.Json.JsonSerializerOptions
        {
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        });
    }

    private static async Task<(int Code, string Output)> VerifyPyAsync(string bundle)
    {
        var start = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(PreviousVersionDatabase.RepoRoot(), "clients", "Annotate.Cli", "Audit", "verify.py"));
        start.ArgumentList.Add(bundle);
        using var p = System.Diagnostics.Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task Changing_a_moved_event_or_the_kept_text_of_the_previous_version_is_reported_at_its_position()
    {
        var (server, channel, database) = await StartOnCopyAsync();
        await using var _ = server;
        using var __ = channel;
        var article = previous.History.Single(e => e.Type == "article-imported.v1" && e.ArticleId == "dam");
        var stance = previous.History.First(e => e.Type == "stance-taken.v1");

        // The kept text of the previous version: the v1 link over it no longer matches.
        await SqlAsync(database,
            $"UPDATE annotate.legacy_events SET data = replace(data::text, '1968', '1969')::json WHERE position = {article.Position}");
        var result = await VerifyAsync(channel, previous.Results);
        Assert.False(result.Ok);
        Assert.Equal(article.Position, result.FirstBroken.Position);
        await SqlAsync(database,
            $"UPDATE annotate.legacy_events SET data = replace(data::text, '1969', '1968')::json WHERE position = {article.Position}");
        Assert.True((await VerifyAsync(channel, previous.Results)).Ok);

        // Marten's row of a moved event: it no longer matches what was linked.
        await SqlAsync(database,
            $"UPDATE annotate.mt_events SET data = jsonb_set(data, '{{rationale}}', '\"forged\"') WHERE seq_id = {stance.Position}");
        result = await VerifyAsync(channel, previous.Results);
        Assert.False(result.Ok);
        Assert.Equal(stance.Position, result.FirstBroken.Position);
    }

    [Fact]
    public async Task A_previous_version_database_with_an_event_this_version_cannot_read_is_left_untouched_and_the_server_does_not_start()
    {
        var database = await previous.CopyAsync();
        var stance = previous.History.First(e => e.Type == "stance-taken.v1");
        await SqlAsync(database, $"UPDATE annotate.events SET type = 'stance-renamed.v9' WHERE position = {stance.Position}");
        var port = ServerProcess.FreePort();
        using (var refused = ServerProcess.Start([
            "--urls", $"http://127.0.0.1:{port}", $"--ConnectionStrings:Annotate={database}",
            $"--Annotate:AdminTokenFile={previous.NewTokenFile()}",
        ]))
        {
            Assert.NotEqual(0, await refused.WaitForExitAsync());
            Assert.Contains($"Legacy event {stance.Position} (stance-renamed.v9) cannot be read by this version", refused.Output);
        }

        // Nothing of the attempt remains: the old tables keep their names, Marten holds no event, the chain no link.
        await using (var conn = new NpgsqlConnection(database))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand(
                "SELECT (SELECT count(*) FROM annotate.events), (SELECT count(*) FROM annotate.mt_events), " +
                "(SELECT count(*) FROM annotate.chain_links), to_regclass('annotate.legacy_events') IS NULL", conn);
            await using var r = await cmd.ExecuteReaderAsync();
            await r.ReadAsync();
            Assert.Equal((previous.History.Count, 0L, 0L, true), (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetBoolean(3)));
        }

        // Once the event reads again, the move succeeds and every old receipt holds.
        await SqlAsync(database, $"UPDATE annotate.events SET type = 'stance-taken.v1' WHERE position = {stance.Position}");
        await using var server = new ServerProcess(database, previous.NewTokenFile());
        await server.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        var verified = await VerifyAsync(channel, previous.Results);
        Assert.True(verified.Ok, verified.FirstBroken?.Reason);
        Assert.All(verified.Receipts, r => Assert.True(r.Holds, r.Reason));
    }

    [Fact]
    public async Task Two_replicas_starting_together_on_a_previous_version_database_move_it_once()
    {
        var database = await previous.CopyAsync();
        await using var a = new ServerProcess(database, previous.NewTokenFile());
        await using var b = new ServerProcess(database, previous.NewTokenFile());
        await Task.WhenAll(a.StartAsync(), b.StartAsync());

        Assert.Equal(1, new[] { a, b }.Count(s => s.Output.Contains(Imported, StringComparison.Ordinal)));
        using var channel = GrpcChannel.ForAddress(b.Address);
        var history = await PreviousVersionDatabase.ReplayAsync(channel, previous.AdminToken);
        Assert.Equal(previous.History.Select(e => (e.Position, e.EventId)), history.Select(e => (e.Position, e.EventId)));
        var verified = await VerifyAsync(channel, previous.Results);
        Assert.True(verified.Ok, verified.FirstBroken?.Reason);
    }
}
