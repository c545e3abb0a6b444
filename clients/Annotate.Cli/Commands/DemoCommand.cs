using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Demo;

namespace Annotate.Cli.Commands;

public static class DemoCommand
{
    public static Command Create()
    {
        var pace = new Option<double?>("--pace") { Description = "Seconds between steps (default 0.75; 0 for as fast as possible)" };
        var command = new Command("demo", """
            Plays a multi-analyst session on the seed articles: creates three analysts and an adjudicator, and has
            them highlight, tag, open claims and dispute them (the "large Russian majority" claim refuted with the
            "about 20 percent" figure, then adjudicated, and four other claims from the seeds), narrating each step
            and the resulting consensus. Needs an admin token (the one the server wrote on first start). Watch it
            live in another terminal with `annotate watch` or `./annotate-console`. Safe to run again.

            Examples:
              annotate demo
              annotate demo --pace 0
            """) { pace };
        return command.Does(async inv =>
        {
            if (string.IsNullOrEmpty(inv.Token))
            {
                return Invocation.Fail(
                    ExitCodes.Denied,
                    "the demo needs the admin token: `annotate login --token \"$(cat <data-dir>/admin-token)\"` or --token");
            }
            var seconds = inv.Get(pace) ?? 0.75;
            if (seconds < 0)
                return Invocation.Fail(ExitCodes.Usage, "--pace must be 0 or more seconds");
            return await DemoScenario.RunAsync(
                inv.Server,
                inv.Token,
                inv.Out,
                inv.CancellationToken,
                TimeSpan.FromSeconds(seconds),
                inv.ClientOptions);
        });
    }
}
