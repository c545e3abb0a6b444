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
        var verify = new Command(
            "verify",
            """
            Walks the audit hash chain from the first event and checks every link and the given receipts
            (auditor or admin role). Prints OK, or the first broken link (exit code 1). Progress goes to stderr on
            a terminal. --json prints the result object.

            Examples:
              annotate audit verify
              annotate audit verify --receipt 42:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
            """) { receipts, json };
        verify.Does(async inv =>
        {
            var request = new VerifyAuditRequest();
            request.Receipts.Add((inv.Get(receipts) ?? []).Select(Parsing.Receipt));
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
                foreach (var r in result.Receipts)
                {
                    inv.Out.WriteLine(
                        $"receipt {r.Receipt.Position}:{r.Receipt.Hash}: {(r.Holds ? "holds" : "DOES NOT HOLD: " + r.Reason)}");
                }
            }
            return result.Ok ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return new Command("audit", "The audit hash chain over the whole history.") { verify };
    }
}
