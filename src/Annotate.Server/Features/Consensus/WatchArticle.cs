using System.Runtime.CompilerServices;
using Annotate.Contracts.V1;
using Annotate.Domain.Consensus;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Annotate.Server.Features.Claims;
using Annotate.Server.Features.Discussion;
using Annotate.Server.Infrastructure;
using Marten;
using MediatR;

namespace Annotate.Server.Features.Consensus;

/// <summary>
/// An article's claim views: all current ones, a caught-up marker, then each view again when it changes. It
/// follows the store's subscription from the position the initial views reflect, so no change is missed, and
/// sends the stored view once the claims projection has applied the change. Replies on the article's claims and highlights
/// follow the same subscription; their documents are written in the append's transaction, so they are current when the
/// event arrives.
/// </summary>
public static class WatchArticle
{
    public sealed record Query(WatchArticleRequest Request) : IRequest<IAsyncEnumerable<WatchArticleResponse>>;

    private static readonly string[] ReplyEvents = ["reply-posted.v1", "reply-edited.v1", "reply-retracted.v1"];
    private static readonly string[] BlindnessEvents = ["claim-made-blind.v1", "claim-revealed.v1"];

    public sealed class Handler(Views views, ProjectionRunner runner, ConsensusPolicy policy, IDocumentStore documents, CallerContext caller)
        : IRequestHandler<Query, IAsyncEnumerable<WatchArticleResponse>>
    {
        public async Task<IAsyncEnumerable<WatchArticleResponse>> Handle(Query query, CancellationToken ct)
        {
            await views.ArticleAsync(query.Request.ArticleId, ct); // NOT_FOUND before the stream starts
            return Watch(query.Request.ArticleId, ct);
        }

        private async IAsyncEnumerable<WatchArticleResponse> Watch(string articleId, [EnumeratorCancellation] CancellationToken ct)
        {
            var who = caller.Caller;
            // The claims projection's position, read before the views: every change after it arrives below.
            var from = runner.GetPosition(Projections.Claims);
            if (from < 0) { await views.CatchUpAsync(ct); from = runner.GetPosition(Projections.Claims); }
            var initial = (await views.ListAsync(Projections.Claims, null, "articleId", articleId, ct))
                .Select(doc => Mapping.ToProto(Views.ClaimView(doc), policy));
            await using (var session = documents.QuerySession())
            {
                foreach (var view in await BlindClaims.AsSeenByAsync(session, initial, who, ct))
                    yield return new WatchArticleResponse { View = view };
            }
            yield return new WatchArticleResponse { CaughtUpPosition = (ulong)from };

            var filter = new Annotate.EventStore.EventFilter(
                [.. new ClaimsProjection(policy).Filter.Types!, .. ReplyEvents, .. BlindnessEvents], Tag: articleId);
            await foreach (var message in views.Store.SubscribeAsync(from, filter, ct))
            {
                if (message is not SubscriptionMessage.Event { Recorded: var e }) continue;
                await using var session = documents.QuerySession();
                if (e.Data is ReplyPosted or ReplyEdited or ReplyRetracted)
                {
                    // A later change of the same reply is on its way: that event sends the reply as it then stands.
                    if (await session.LoadAsync<ReplyDocument>(e.StreamId["reply-".Length..], ct) is { } reply && reply.LastPosition <= e.Position)
                        yield return new WatchArticleResponse { Reply = Threads.ToProto(reply) };
                    continue;
                }
                if (EventCodec.ClaimIdOf(e) is not { } claimId) continue;
                var blindness = e.Data is ClaimMadeBlind or ClaimRevealed;
                await runner.WaitForPositionAsync(Projections.Claims, e.Position, Views.DefaultWait, ct);
                if (await views.GetAsync(Projections.Claims, claimId, ct) is not { } doc) continue;
                var stored = Views.ClaimView(doc);
                // An older copy (the projection is still behind); blindness events do not change the stored view.
                if (!blindness && stored.LastPosition < e.Position) continue;
                var blind = await session.LoadAsync<BlindClaimDocument>(claimId, ct);
                // A hidden view changes only when blindness does: one per stance would count the others' stances.
                if (!blindness && BlindClaims.HiddenFrom(blind, who) && e.Data is not ClaimOpened) continue;
                yield return new WatchArticleResponse { View = BlindClaims.AsSeenBy(Mapping.ToProto(stored, policy), blind, who) };
            }
        }
    }
}
