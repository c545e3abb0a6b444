using System.CommandLine;
using System.CommandLine.Help;
using Annotate.Cli.Commands;
using Annotate.Cli.Infrastructure;

var root = new RootCommand($"""
    annotate: the Annotate command line. Highlight, tag and dispute spans of news articles, follow the
    consensus live, replay and verify the history.

    Start with `annotate login --server http://127.0.0.1:50051 --token <token>`, then `annotate articles list`.
    Server and token come from --server/--token, else ANNOTATE_SERVER/ANNOTATE_TOKEN, else the login config
    ($XDG_CONFIG_HOME/annotate/config.json), else http://127.0.0.1:50051 and no token.
    Errors are one line on stderr: "annotate: <message>". Commands are retried on "server unavailable" with the
    same request id, so a retry never performs an action twice.

    Examples:
      annotate login --server http://127.0.0.1:50051 --token "$(cat <data-dir>/admin-token)"
      annotate articles show kazakhstan-drawn-into-ukraine-war
      annotate claim open russia-involvement-kazakhstan-crisis --quote "Kazakhstan has a large Russian majority"
      annotate stance <claim-id> refutes --evidence "kazakhstan-concerned-about-invasion:about 20 percent"
      annotate watch --article russia-involvement-kazakhstan-crisis
      annotate demo

    {ExitCodes.Help}
    """)
{
    LoginCommand.Create(),
    ArticlesCommand.Create(),
    HighlightCommand.Create(),
    TagCommand.Create(apply: true),
    TagCommand.Create(apply: false),
    RetractCommand.Create(),
    ReattachCommand.Create(),
    ClaimCommand.Create(),
    StanceCommand.Create(),
    WithdrawCommand.Create(),
    AdjudicateCommand.Create(),
    ReopenCommand.Create(),
    ReplyCommand.Create(),
    SearchCommand.Create(),
    WatchCommand.Create(),
    ReplayCommand.Create(),
    AuditVerifyCommand.Create(),
    AgreementCommand.Create(),
    AdminCommand.Create(),
    ExportCommand.Create(),
    DemoCommand.Create(),
};
root.Options.Add(GlobalOptions.Server);
root.Options.Add(GlobalOptions.Token);
root.Options.Add(GlobalOptions.RequestId);
root.Options.Add(GlobalOptions.Retries);

if (root.Options.OfType<HelpOption>().FirstOrDefault() is { Action: HelpAction } helpOption)
    helpOption.Action = new ShortListHelp((HelpAction)helpOption.Action!);

var parse = root.Parse(args);
if (parse.Errors.Count > 0 && parse.Action is not ShortListHelp)
{
    // Usage mistakes: one line per error and exit code 2 (the library's default would be 1, shared with failures).
    foreach (var error in parse.Errors) Console.Error.WriteLine("annotate: " + error.Message);
    Console.Error.WriteLine("annotate: see `annotate --help` or `annotate <command> --help`");
    return ExitCodes.Usage;
}
return await parse.InvokeAsync();
