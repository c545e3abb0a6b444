using System.Runtime.CompilerServices;
using Annotate.Contracts.V1;
using Annotate.Domain.Consensus;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Annotate.Server.Features.Claims;
using Annotate.Server.Features.Discussion;
using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using Marten;
using MediatR;

namespace Annotate.Server.Features.Consensus;

/// <summary>
/// An article's claim views: all current ones, a caught-up marker, then each view again when it changes. It follows the
/// store's subscription from the head read before the views, so no change is missed; the views are written in the
/// same transaction as the events (inline projections), so the stored view already holds each change it announces.
/// Replies on the article's claims and highlights follow the same subscription, and blind claims are shown as the
/// caller may see them.
/// </summary>
public static class WatchArticle
{
    public sealed record Query(WatchArticleRequest Request) : IRequest<IAsyncEnumerable<WatchArticleResponse>>;

    private static readonly string[] ReplyEvents = ["reply-posted.v1", "reply-edited.v1", "reply-retracted.v1"];
    private static readonly string[] BlindnessEvents = ["claim-made-blind.v1", "claim-revealed.v1"];
    private static readonly string[] RevisionEvents = ["article-revised.v1"];

    public sealed class Handler(Views views, ConsensusPolicy policy, IDocumentStore documents, CallerContext caller)
        : IRequestHandler<Query, IAsyncEnumerable<WatchArticleResponse>>
    {
        public async Task<IAsyncEnumerable<WatchArticleResponse>> Handle(Query query, CancellationToken ct)
        {
            await views.ArticleAsync(query.Request.ArticleId, ct); // NOT_FOUND before the stream starts
            return Watch(query.Request.ArticleId, ct);
        }

        private async IAsyncEnumerable<WatchArticleResponse> Watch(string articleId, [EnumeratorCancellation] CancellationToken ct)
        {
            using var live = ServerTelemetry.Subscriber("watch_article");
            var who = caller.Caller;
            var (claims, from) = await views.ClaimsOfAsync(articleId, ct);
            await using (var session = documents.QuerySession())
            {
                foreach (var view in await BlindClaims.AsSeenByAsync(session, claims.Select(c => Mapping.ToProto(c, policy)), who, ct))
                    yield return new WatchArticleResponse { View = view };
            }
            yield return new WatchArticleResponse { CaughtUpPosition = (ulong)from };

            var filter = new Annotate.EventStore.EventFilter([.. Views.ClaimEventTypes, .. ReplyEvents, .. BlindnessEvents, .. RevisionEvents], Tag: articleId);
            await foreach (var message in views.Store.SubscribeAsync(from, filter, ct))
            {
                if (message is not SubscriptionMessage.Event { Recorded: var e }) continue;
                // A revision: the article as it then stood; its re-anchored and orphaned claims follow as views.
                if (e.Data is ArticleRevised revised)
                {
                    yield return new WatchArticleResponse { Revised = Articles.ReviseArticle.Announced(revised, e) };
                    continue;
                }
                await using var session = documents.QuerySession();
                if (e.Data is ReplyPosted or ReplyEdited or ReplyRetracted)
                {
                    // A later change of the same reply is on its way: that event sends the reply as it then stands. Others'
                    // replies on a claim hidden from the caller are not sent.
                    if (await session.LoadAsync<ReplyDocument>(e.StreamId["reply-".Length..], ct) is { } reply && reply.LastPosition <= e.Position
                        && !await BlindClaims.HidesAsync(session, Threads.ClaimOf(reply), reply.Author, who, ct))
                    {
                        yield return new WatchArticleResponse { Reply = Threads.ToProto(reply) };
                    }
                    continue;
                }
                if (ClaimViewProjection.ClaimIdOf(ViewEvent.From(e)) is not { } claimId) continue;
                var blindness = e.Data is ClaimMadeBlind or ClaimRevealed;
                if (await session.LoadAsync<ClaimDocument>(claimId, ct) is not { } doc) continue;
                var stored = doc.View;
                // A view a later event already changed again is sent with that event; blindness does not change the view.
                if (!blindness && stored.LastPosition < e.Position) continue;
                var blind = await session.LoadAsync<BlindClaimDocument>(claimId, ct);
                // A hidden view changes only when blindness does: one per stance would count the others' stances.
                if (!blindness && BlindClaims.HiddenFrom(blind, who) && e.Data is not ClaimOpened) continue;
                yield return new WatchArticleResponse { View = BlindClaims.AsSeenBy(Mapping.ToProto(stored, policy), blind, who) };
            }
        }
    }
}
