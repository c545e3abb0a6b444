using System.CommandLine;

namespace Annotate.Cli.Commands;

/// <summary><c>annotate claim open|show|list|timeline|diff</c>.</summary>
public static class ClaimCommand
{
    public static Command Create() => new("claim", "Claims: spans the team treats as checkable, and their consensus views.")
    {
        ClaimOpenCommand.Create(), ClaimShowCommand.Create(), ClaimListCommand.Create(), ClaimTimelineCommand.Create(),
        ClaimDiffCommand.Claim(),
    };
}
