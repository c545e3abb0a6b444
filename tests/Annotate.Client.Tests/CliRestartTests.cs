using Annotate.Contracts.V1;

namespace Annotate.Client.Tests;

/// <summary>The CLI across a server restart: a command retried with its request id, and a live watch.</summary>
public sealed class CliRestartTests(CliServer fixture) : IClassFixture<CliServer>
{
    private const string Article = "kazakhstan-concerned-about-invasion";

    [Fact]
    public async Task A_command_sent_while_the_server_is_down_succeeds_once_it_is_back_with_exactly_one_event()
    {
        var analyst = await fixture.AnalystAsync("restart-analyst", "analyst");
        var auditor = await fixture.AnalystAsync("restart-auditor", "auditor");
        var requestId = Guid.NewGuid().ToString();
        await fixture.Server.StopAsync();

        var pending = analyst.Start("highlight", Article, "--quote", "about 20 percent", "--request-id", requestId, "--json");
        // The first attempt found no server: the CLI says it is retrying (a condition, not a guess about timing).
        await pending.WaitForOutputAsync("retrying", onStderr: true);
        await fixture.Server.StartAsync();
        var result = (await pending.WaitAsync()).AssertOk();

        var created = result.Json<CreateHighlightResponse>();
        Assert.Contains("server unavailable", result.Stderr);
        var events = (await auditor.RunAsync("replay", "--article", Article, "--json")).AssertOk().JsonLines<HistoryEvent>();
        var only = Assert.Single(events, e => e.RequestId == requestId);
        Assert.Equal(created.Result.Position, only.Position);

        // Sending it again (as a retry after a lost answer would) changes nothing.
        var again = (await analyst.RunAsync("highlight", Article, "--quote", "about 20 percent", "--request-id", requestId, "--json"))
            .AssertOk()
            .Json<CreateHighlightResponse>();
        Assert.True(again.Result.Deduplicated);
        Assert.Single(
            (await auditor.RunAsync("replay", "--article", Article, "--json")).AssertOk().JsonLines<HistoryEvent>(),
            e => e.RequestId == requestId);
    }

    [Fact]
    public async Task Watch_resumes_after_a_server_restart_without_gap_or_duplicate()
    {
        var analyst = await fixture.AnalystAsync("restart-watcher", "analyst");
        var first = (await analyst.RunAsync("highlight", Article, "--quote", "Very concerned", "--json"))
            .AssertOk()
            .Json<CreateHighlightResponse>();

        var watch = analyst.Start("watch", "--article", Article, "--from", $"{first.Result.Position - 1}", "--count", "3", "--json");
        await watch.WaitForOutputAsync($"\"position\": \"{first.Result.Position}\"");

        await fixture.Server.StopAsync();
        await fixture.Server.StartAsync();
        var second = (await analyst.RunAsync("tag", "reaction", "--highlight", first.Highlight.HighlightId, "--json"))
            .AssertOk()
            .Json<CommandResult>();
        var third = (await analyst.RunAsync("untag", "reaction", "--highlight", first.Highlight.HighlightId, "--json"))
            .AssertOk()
            .Json<CommandResult>();

        var events = (await watch.WaitAsync()).AssertOk().JsonLines<HistoryEvent>();
        Assert.Equal([first.Result.Position, second.Position, third.Position], events.Select(e => e.Position));
    }
}
