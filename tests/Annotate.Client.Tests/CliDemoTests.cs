using Annotate.Contracts.V1;

namespace Annotate.Client.Tests;

/// <summary>`annotate demo` on a server of its own: it adjudicates the seeds' claims and revises a seed article, which other
/// tests must stay free to dispute and quote.</summary>
public sealed class CliDemoTests(CliServer fixture) : IClassFixture<CliServer>
{
    private const string Saved = "kazakhstan-crisis-saved-ukraine";

    [Fact]
    public async Task The_demo_shows_a_discussion_a_blind_claim_a_revision_and_a_search_and_runs_again()
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

        // The blind claim: boris sees nothing of aigerim's stance until he records his own, then sees both.
        Assert.Contains("boris looks at it before taking a stance: blind, so no status, tallies or rationales (0 stances shown)", demo);
        Assert.Contains("boris looks at it with a stance of their own on record: PENDING, aigerim says it needs context; boris finds it " +
                        "unverifiable", demo);

        // The correction: the reworded forecast re-anchored, the highlight in the removed caption orphaned, the claim kept in place.
        Assert.Matches(@"highlight h\w+ “Russia's military campaign[^”]*”: re-anchored on revision 2 by fuzzy \(score 0\.\d\d\) " +
                       @"-> \[\d+, \d+\) “[^”]*then looked less likely to happen”", demo);
        Assert.Matches(@"highlight h\w+ “Many of the country's security personnel[^”]*”: ORPHANED on revision 2: ", demo);
        Assert.Matches(
            @"claim c\w+ “The crisis in Kazakhstan would make a war[^”]*”: re-anchored on revision 2 by position \(score 1\.00\)",
            demo);
        var listed = (await fixture.Admin().RunAsync("articles", "show", Saved)).AssertOk().Stdout;
        Assert.Contains($"{Saved} · revision 2 ·", listed);
        Assert.Contains("ORPHANED on revision 2", listed);

        // Again on the same server: nothing is refused, the revision is not repeated and its outcome is shown as it stands.
        var again = (await fixture.Admin().RunAsync("demo", "--pace", "0")).AssertOk().Stdout;
        Assert.Contains($"{Saved} is at revision 2 already (an earlier run)", again);
        Assert.Matches(@"highlight h\w+ “Many of the country's security personnel[^”]*”: ORPHANED on revision 2: ", again);
        Assert.Contains($"{Saved} · revision 2 ·", (await fixture.Admin().RunAsync("articles", "show", Saved)).AssertOk().Stdout);
    }
}
