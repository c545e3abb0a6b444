using System.Runtime.CompilerServices;
using Annotate.Contracts.V1;
using Annotate.Domain.Consensus;
using Annotate.EventStore;
using Annotate.Server.Infrastructure;
using MediatR;

namespace Annotate.Server.Features.Consensus;

/// <summary>
/// An article's claim views: all current ones, a caught-up marker, then each view again when it changes. It follows the
/// store's subscription from the head read before the views, so no change is missed; the views are written in the
/// same transaction as the events (inline projections), so the stored view already holds each change it announces.
/// </summary>
public static class WatchArticle
{
    public sealed record Query(WatchArticleRequest Request) : IRequest<IAsyncEnumerable<WatchArticleResponse>>;

    public sealed class Handler(Views views, ConsensusPolicy policy) : IRequestHandler<Query, IAsyncEnumerable<WatchArticleResponse>>
    {
        public async Task<IAsyncEnumerable<WatchArticleResponse>> Handle(Query query, CancellationToken ct)
        {
            await views.ArticleAsync(query.Request.ArticleId, ct); // NOT_FOUND before the stream starts
            return Watch(query.Request.ArticleId, ct);
        }

        private async IAsyncEnumerable<WatchArticleResponse> Watch(string articleId, [EnumeratorCancellation] CancellationToken ct)
        {
            using var live = ServerTelemetry.Subscriber("watch_article");
            var (claims, from) = await views.ClaimsOfAsync(articleId, ct);
            foreach (var view in claims) yield return new WatchArticleResponse { View = Mapping.ToProto(view, policy) };
            yield return new WatchArticleResponse { CaughtUpPosition = (ulong)from };

            var filter = new Annotate.EventStore.EventFilter(Views.ClaimEventTypes, Tag: articleId);
            await foreach (var message in views.Store.SubscribeAsync(from, filter, ct))
            {
                if (message is not SubscriptionMessage.Event { Recorded: var e } || ClaimViewProjection.ClaimIdOf(ViewEvent.From(e)) is not { } claimId)
                    continue;
                if (await views.LoadAsync<ClaimDocument>(claimId, ct) is { } doc && doc.View.LastPosition >= e.Position)
                    yield return new WatchArticleResponse { View = Mapping.ToProto(doc.View, policy) };
            }
        }
    }
}
