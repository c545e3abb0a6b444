using System.CommandLine;

namespace Annotate.Cli.Commands;

/// <summary><c>annotate admin analysts|tokens</c> (admin role).</summary>
public static class AdminCommand
{
    public static Command Create() => new("admin", "Administration (admin role): analysts, roles and access tokens.")
    {
        AdminAnalystsCommand.Create(), AdminTokensCommand.Create(),
    };
}
