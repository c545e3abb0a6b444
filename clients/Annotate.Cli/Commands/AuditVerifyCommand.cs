using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class AuditVerifyCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var receipts = new Option<string[]>("--receipt")
        {
            Description = "A receipt POSITION:HASH printed by an earlier command, to check it still holds (repeatable)",
        };
        var against = new Option<string?>("--against")
        {
            Description = "A head printed earlier by `annotate audit head` (the whole line, or POSITION:LINK): prove the log extends it",
        };
        var verify = new Command(
            "verify",
            """
            Walks the audit hash chain from the first event and checks every link and the given receipts
            (auditor or admin role). Prints OK, or the first broken link (exit code 1). Progress goes to stderr on
            a terminal. --json prints the result object. With --against, the head published earlier must still
            hold: the link at its position unchanged (so the time it names too) and every link verifying, which
            proves the current log extends it.

            Examples:
              annotate audit verify
              annotate audit verify --against 'annotate-head 97 3b1f...e0 2026-11-29T05:56:43.123456Z'
              annotate audit verify --receipt 42:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
            """) { receipts, against, json };
        verify.Does(async inv =>
        {
            var request = new VerifyAuditRequest();
            request.Receipts.Add((inv.Get(receipts) ?? []).Select(Parsing.Receipt));
            var head = inv.Get(against) is { } text ? Parsing.Head(text) : null;
            // Every log extends the empty head (position 0); any other head is checked as a receipt.
            if (head is { Position: > 0 } h0) request.Receipts.Add(new Receipt { Position = h0.Position, Hash = h0.Link });
            var progress = inv.StderrIsTerminal ? new Progress(inv.Err) : null;
            VerifyResult? result = null;
            await foreach (var item in inv.Client.VerifyAuditAsync(request, inv.CancellationToken))
            {
                if (item.ItemCase == VerifyAuditResponse.ItemOneofCase.Progress)
                {
                    progress?.Report(
                        item.Progress.Checked,
                        item.Progress.Total,
                        $"checked {item.Progress.Checked} of {item.Progress.Total}");
                }
                else if (item.ItemCase == VerifyAuditResponse.ItemOneofCase.Result)
                {
                    result = item.Result;
                }
            }
            if (result is null) return Invocation.Fail(ExitCodes.Failure, "the server ended the verification without a result");
            progress?.Done($"checked {result.EventsChecked} events");
            string? headProblem = null;
            if (head is { Position: > 0 } h)
            {
                headProblem = result.Receipts.FirstOrDefault(r => r.Receipt.Position == h.Position && r.Receipt.Hash == h.Link) is
                { Holds: false } failed
                    ? failed.Reason
                    : h.Time is { } time && await RecordedAtAsync(inv, h.Position) is var found && found != time
                        ? $"the event at {h.Position} was recorded at {found ?? "(none)"}, not {time}"
                        : null;
            }
            if (inv.Get(json))
            {
                inv.WriteJson(result);
            }
            else
            {
                inv.Out.WriteLine(result.Ok
                    ? $"OK: {result.EventsChecked} events, head {result.HeadPosition}:{result.HeadHash}"
                    : result.FirstBroken is { } b
                        ? $"BROKEN at position {b.Position}: {b.Reason} (expected {b.ExpectedHash}, found {b.ActualHash})"
                        : "BROKEN: a receipt does not hold");
                if (result.ErasedPositions.Count > 0)
                {
                    inv.Out.WriteLine(
                        $"erased: {result.ErasedPositions.Count} events verified by the masked digests recorded by the erasure(s) at "
                        + string.Join(", ", result.ErasurePositions));
                }
                foreach (var r in result.Receipts)
                {
                    inv.Out.WriteLine(
                        $"receipt {r.Receipt.Position}:{r.Receipt.Hash}: {(r.Holds ? "holds" : "DOES NOT HOLD: " + r.Reason)}");
                }
            }
            if (head is { } published)
            {
                var what = $"head {published.Position} {published.Link}";
                inv.Err.WriteLine(headProblem is null && result.Ok
                    ? $"the log extends {what} (now at {result.HeadPosition} {result.HeadHash})"
                    : $"the log does NOT extend {what}: {headProblem ?? "the chain does not verify"}");
            }
            return result.Ok && headProblem is null ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return new Command("audit", "The audit hash chain: its head, verification, and an offline bundle.")
        {
            AuditHeadCommand.Create(), verify, AuditExportCommand.Create(),
        };
    }

    /// <summary>The chain's form of the time recorded at <paramref name="position"/> (null when no event is there).</summary>
    private static async Task<string?> RecordedAtAsync(Invocation inv, ulong position)
    {
        var range = new ReplayRequest { FromPosition = position, ToPosition = position };
        await foreach (var e in inv.Client.ReplayAsync(range, inv.CancellationToken))
        {
            return e.RecordedAt.ToDateTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        }
        return null;
    }
}
