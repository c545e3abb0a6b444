using Annotate.Contracts.V1;
using Annotate.Domain.Articles;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;
using static Annotate.Server.Tests.Rpc;
using Role = Annotate.Contracts.V1.Role;

namespace Annotate.Server.Tests;

/// <summary>
/// A span command is decided on the text its selector was resolved against, guarded by the version of the article's stream
/// it read: a revision in between refuses it (the client resolves again); an article made blind in between, which leaves
/// the text as it was, does not.
/// </summary>
public sealed class ArticleGuardTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Text = "The dam holds forty million cubic metres. Engineers inspect it twice a year.";

    [Fact]
    public async Task A_highlight_resolved_before_its_article_was_made_blind_and_decided_after_it_is_placed_not_refused_as_revised()
    {
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        // Imported now, so the server has kept no text of it: the highlight reads the text and the stream's version.
        var id = await server.ImportAsync(Text);
        await using var writer = new SecondWriter(server.ConnectionString);

        // The article is made blind (by another writer, as a replica would) after the highlight read the text and before
        // the server's writer decides it.
        var (blind, created) = await writer.AheadOfAsync(
            Streams.Article(id),
            SecondWriter.Decided("admin", id, [new ArticleMadeBlind(id, "admin")]),
            async () => await server.Channel.Annotations().CreateHighlightAsync(
                new CreateHighlightRequest { RequestId = Rid(), ArticleId = id, Selector = Quote("Engineers inspect it twice a year.") },
                ana));

        Assert.True(created.Highlight.Position > (ulong)blind.LastPosition,
            $"the highlight at {created.Highlight.Position} was not decided after the article was made blind at {blind.LastPosition}");
        Assert.Equal(1u, created.Highlight.Anchor.Revision);
        Assert.Equal("Engineers inspect it twice a year.", created.Highlight.Selector.Quote.Exact);
    }

    [Fact]
    public async Task A_highlight_resolved_before_its_article_was_revised_and_decided_after_it_is_refused_and_nothing_is_appended()
    {
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var id = await server.ImportAsync(Text);
        const string revised = "Officials confirmed the figure. " + Text;
        await using var writer = new SecondWriter(server.ConnectionString);
        var requestId = Rid();

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await writer.AheadOfAsync(
            Streams.Article(id),
            SecondWriter.Decided("admin", id, [new ArticleRevised(id, 2, ContentHash.Of(revised), revised, "admin", "A sentence added.")]),
            async () => await server.Channel.Annotations().CreateHighlightAsync(
                new CreateHighlightRequest
                {
                    RequestId = requestId,
                    ArticleId = id,
                    Selector = Quote("Engineers inspect it twice a year."),
                },
                ana)));

        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("resolve the span again", refused.Status.Detail, StringComparison.Ordinal);
        var listed = await server.Channel.Annotations().ListHighlightsAsync(new ListHighlightsRequest { ArticleId = id }, ana);
        Assert.Empty(listed.Highlights);
    }
}
