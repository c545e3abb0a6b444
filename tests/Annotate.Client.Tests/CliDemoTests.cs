using Annotate.Contracts.V1;

namespace Annotate.Client.Tests;

/// <summary>`annotate demo` on a server of its own: it adjudicates the seeds' claims, which other tests must stay free to
/// dispute.</summary>
public sealed class CliDemoTests(CliServer fixture) : IClassFixture<CliServer>
{
    [Fact]
    public async Task The_demo_discusses_the_disputed_claim_and_finds_its_verdict_by_search()
    {
        var demo = (await fixture.Admin().RunAsync("demo", "--pace", "0")).AssertOk().Stdout;

        Assert.Contains("discussion thread which census", demo);
        Assert.Matches(@"Search ""fifth of the population"": [1-9]\d* hit\(s\)", demo);
        var id = (await fixture.Admin().RunAsync(
            "claim", "open", "russia-involvement-kazakhstan-crisis", "--quote", "Kazakhstan has a large Russian majority",
            "--json")).AssertOk().Json<OpenClaimResponse>().ClaimId;
        var shown = (await fixture.Admin().RunAsync("claim", "show", id)).AssertOk().Stdout;
        Assert.Contains("Which census do the 20 percent come from?", shown);
        Assert.Contains("both figures say a minority", shown);
    }
}
