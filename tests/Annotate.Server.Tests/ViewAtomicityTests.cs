using Annotate.Contracts.V1;
using Npgsql;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>
/// The views are written in the append's own transaction (Marten inline projections): a write whose view the database
/// refuses is not recorded at all (the log and the views never disagree), and everyone else's writes go on. No client
/// can cause it (the edge refuses what a view cannot store): the refusal here is a constraint added by hand, as a
/// bug or a hand-edited database would make one.
/// </summary>
public sealed class ViewAtomicityTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Seed = "russia-involvement-kazakhstan-crisis";

    [Fact]
    public async Task A_highlight_whose_view_the_database_refuses_is_not_recorded_and_other_writes_go_on()
    {
        var (_, analyst) = await server.NewAnalystAsync("ana", Role.Analyst);
        await using (var dataSource = NpgsqlDataSource.Create(server.ConnectionString))
        await using (var constraint = dataSource.CreateCommand(
            "ALTER TABLE annotate.mt_doc_highlightview ADD CONSTRAINT no_poison CHECK (data->>'note' IS DISTINCT FROM 'poison')"))
        {
            await constraint.ExecuteNonQueryAsync();
        }
        var annotations = server.Channel.Annotations();
        var poisoned = Rid();
        var refused = annotations.CreateHighlightAsync(
            new CreateHighlightRequest { RequestId = poisoned, ArticleId = Seed, Selector = At(0, 5), Note = "poison" },
                analyst).ResponseAsync;
        var fine = annotations.CreateHighlightAsync(
            new CreateHighlightRequest { RequestId = Rid(), ArticleId = Seed, Selector = At(10, 20), Note = "fine" },
                analyst).ResponseAsync;

        var error = await Assert.ThrowsAsync<RpcException>(() => refused);
        Assert.Equal(StatusCode.Internal, error.StatusCode);
        var kept = await fine;
        Assert.Empty(await server.EventsOfRequestAsync(poisoned));
        var listed = await annotations.ListHighlightsAsync(new ListHighlightsRequest { ArticleId = Seed }, analyst);
        Assert.Contains(listed.Highlights, h => h.HighlightId == kept.Highlight.HighlightId && h.Note == "fine");
        Assert.DoesNotContain(listed.Highlights, h => h.Note == "poison");
        // The refused batch's positions are a hole the chain steps over: the history still verifies.
        var request = new VerifyAuditRequest
        {
            Receipts = { new Receipt { Position = kept.Result.Position,
            Hash = kept.Result.ReceiptHash } }
        };
        using var call = server.Channel.History().VerifyAudit(request, server.Admin);
        VerifyAuditResponse? last = null;
        await foreach (var message in call.ResponseStream.ReadAllAsync()) last = message;
        Assert.True(last!.Result.Ok, last.ToString());
    }
}
