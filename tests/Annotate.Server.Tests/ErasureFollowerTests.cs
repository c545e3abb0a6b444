using Annotate.Contracts.V1;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>
/// An erasure on one replica reaches what the other replica kept in memory: after it, the other decides on the masked
/// texts, not on the texts it had folded before.
/// </summary>
public sealed class ErasureFollowerTests(ReplicaServers replicas) : IClassFixture<ReplicaServers>
{
    private const string Article = "russia-involvement-kazakhstan-crisis";

    private static TakeStanceRequest Fresh(TakeStanceRequest stance) => new(stance) { RequestId = Rid() };

    [Fact]
    public async Task After_an_erasure_on_one_replica_the_other_decides_on_the_masked_texts_instead_of_those_it_kept()
    {
        await replicas.AnalystAsync("eve", Role.Analyst);
        var eve = AnnotateServer.As((await replicas.TokenAsync("eve")).Token);
        var b = replicas.B;
        string rationale = $"because {Guid.NewGuid():N}", body = $"reply {Guid.NewGuid():N}";

        // Everything through B, so B's writer keeps the claim's and the reply's folded states, with eve's texts.
        var claim = (await b.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = Article, Selector = At(0, 60) }, eve)).ClaimId;
        var stance = new TakeStanceRequest { ClaimId = claim, Stance = Stance.Refutes, Rationale = rationale };
        await b.Claims().TakeStanceAsync(Fresh(stance), eve);
        var reply = (await b.Discussion().PostReplyAsync(
            new PostReplyRequest { RequestId = Rid(), Target = new ReplyTarget { ClaimId = claim }, Body = body }, eve)).Reply.ReplyId;
        // The same stance or text again changes nothing: B decides on what it kept.
        Assert.True((await b.Claims().TakeStanceAsync(Fresh(stance), eve)).Deduplicated);
        Assert.True((await b.Discussion().EditReplyAsync(
            new EditReplyRequest { RequestId = Rid(), ReplyId = reply, Body = body }, eve)).Deduplicated);

        var erased = await replicas.A.Admin().EraseAnalystAsync(
            new EraseAnalystRequest { RequestId = Rid(), AnalystId = "eve", Reason = "Erasure request under GDPR art. 17" },
            replicas.Admin);
        Assert.NotEmpty(erased.ErasedPositions);
        await replicas.ProcessB.WaitForOutputAsync($"forgotten after the erasure at position {erased.ErasurePosition}");

        // The erasure revoked eve's tokens; with a new one, the same stance and text are changes again, because B now folds
        // the masked rationale and body (empty), not the ones it had kept.
        eve = AnnotateServer.As((await replicas.TokenAsync("eve")).Token);
        var again = await b.Claims().TakeStanceAsync(Fresh(stance), eve);
        Assert.False(again.Deduplicated, "B decided on the rationale it had kept before the erasure");
        var edited = await b.Discussion().EditReplyAsync(new EditReplyRequest { RequestId = Rid(), ReplyId = reply, Body = body }, eve);
        Assert.False(edited.Deduplicated, "B decided on the reply text it had kept before the erasure");
    }
}

