using System.CommandLine;
using Annotate.Cli.Infrastructure;

namespace Annotate.Cli.Commands;

/// <summary><c>annotate audit head</c>: the chain head as one line a desk can publish.</summary>
public static class AuditHeadCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var head = new Command(
            "head",
            """
            Prints the audit chain's current head (any role) as one publishable line:
              annotate-head <position> <link> <time>
            Publish it (a newsletter footer, a transparency page); later `annotate audit verify --against '<line>'`
            proves the log still extends it. --json prints the head object.

            Examples:
              annotate audit head
              annotate audit head --json
            """) { json };
        return head.Does(async inv =>
        {
            var h = await inv.Client.GetChainHeadAsync(inv.CancellationToken);
            return inv.Write(json, h, () => h.Text);
        });
    }
}
