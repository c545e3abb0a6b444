using System.Runtime.CompilerServices;
using Annotate.Contracts.V1;
using Annotate.Domain.Consensus;
using Annotate.Server.Features.Claims;
using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using Annotate.Server.Transport;
using Marten;
using MediatR;

namespace Annotate.Server.Features.Consensus;

/// <summary>
/// An article's claim views: all current ones, a caught-up marker, then each view again when it changes. The changes come
/// from the process's one <see cref="ArticleWatch"/>, joined before the views are read, so no change is missed; they are
/// computed once for every watcher of the article. Replies on the article's claims and highlights come the same way, and
/// blind claims are shown as the caller may see them.
/// </summary>
public static class WatchArticle
{
    public sealed record Query(WatchArticleRequest Request) : IRequest<IAsyncEnumerable<WatchArticleResponse>>;

    public sealed class Handler(Views views, ConsensusPolicy policy, ReadReplica reads, ArticleWatch watch, CallerContext caller)
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
            var watcher = await watch.JoinAsync(articleId, ct);
            try
            {
                // The catch-up: the views as they are now, read after joining, from a copy that reflects at least the position the
                // feed had reached then (the replica once it has replayed that far, else the primary); the feed's updates up to
                // their position are in them.
                var (seen, from) = await reads.ReadAsync(watcher.From, async v =>
                {
                    var (claims, position) = await v.ClaimsOfAsync(articleId, ct);
                    await using var session = v.QuerySession();
                    return (await BlindClaims.AsSeenByAsync(session, claims.Select(c => Mapping.ToProto(c, policy)), who, ct), position);
                }, ct);
                foreach (var view in seen) yield return new WatchArticleResponse { View = view };
                yield return new WatchArticleResponse { CaughtUpPosition = (ulong)from };

                while (true)
                {
                    var update = await ArticleWatch.NextAsync(watcher, watch.Capacity, ct);
                    // The feed's messages are made once per update and form, and sent by every watcher to whom they apply.
                    if (update.Through > from && update.For(who) is { } message) yield return SharedMessages.Share(message);
                }
            }
            finally
            {
                watch.Leave(watcher);
            }
        }
    }
}
