using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Annotate.Cli.Infrastructure;

/// <summary>
/// --help, with each listed subcommand described by the first paragraph of its description only; a command's own
/// --help still shows all of it, examples included. (The library's help builder cannot be customised from outside
/// in this version, so the listed subcommands' descriptions are shortened just before the help is written; the
/// process ends right after.)
/// </summary>
public sealed class ShortListHelp(HelpAction inner) : SynchronousCommandLineAction
{
    public override bool ClearsParseErrors => true;

    public override int Invoke(ParseResult parseResult)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        foreach (var sub in parseResult.CommandResult.Command.Subcommands)
            sub.Description = sub.Description?.Split("\n\n")[0].ReplaceLineEndings(" ");
        return inner.Invoke(parseResult);
    }
}
