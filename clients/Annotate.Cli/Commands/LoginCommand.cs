using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class LoginCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var command = new Command("login", """
            Checks a server address and token with the server (Admin.WhoAmI) and stores them in
            $XDG_CONFIG_HOME/annotate/config.json (default ~/.config/annotate/config.json), readable by you only.
            Later commands use them unless --server/--token or ANNOTATE_SERVER/ANNOTATE_TOKEN say otherwise.

            Examples:
              annotate login --server http://127.0.0.1:50051 --token "$(cat ~/.local/share/annotate/admin-token)"
              ANNOTATE_TOKEN=... annotate login
            """) { json };
        return command.Does(async inv =>
        {
            if (string.IsNullOrEmpty(inv.Token)) throw new UsageException("give the token to store: --token <token> (or ANNOTATE_TOKEN)");
            var me = await inv.Client.WhoAmIAsync(inv.CancellationToken);
            new CliConfig { Server = inv.Server, Token = inv.Token }.Save(inv.ConfigPath);
            return inv.Write(json, me, () =>
                $"Logged in to {inv.Server} as {me.AnalystId} ({string.Join(", ", me.Roles.Select(r => Parsing.Name(r)))}); saved to " +
                    $"{inv.ConfigPath}");
        });
    }
}
