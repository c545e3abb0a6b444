using Annotate.Contracts.V1;
using Annotate.Domain;
using Annotate.Domain.Analysts;
using Annotate.Domain.Consensus;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Annotate.EventStore.Chain;
using Annotate.Server.Features.Annotations;
using Annotate.Server.Features.Articles;
using Annotate.Server.Features.Consensus;
using Annotate.Server.Features.Discussion;
using Annotate.Server.Features.Search;
using Annotate.Server.Infrastructure;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using MediatR;

using AnalystDecisions = Annotate.Domain.Analysts.Analyst;
using DomainErasure = Annotate.Domain.Analysts.Erasure;
namespace Annotate.Server.Features.Admin;

/// <summary>
/// Erases an analyst's personal data (admin; what counts is <see cref="DomainErasure"/>), by redaction in place:
/// <list type="number">
/// <item>find the analyst's events whose personal data is still there, mask each (a pure function) and have PostgreSQL
/// compute the digest of the masked data as it will be stored;</item>
/// <item>record the erasure (<see cref="AnalystErased"/>: who, whom, why, each position with its masked digest) and revoke
/// the analyst's tokens, through the writer like any command: from now on the chain accepts either digest there;</item>
/// <item>replace the data with Marten's event data masking (the rules in MartenSetup, the same <see cref="DomainErasure.Masked"/>),
/// then rewrite every view document those events fed, while no append can commit (<see cref="Erasure.WithAppendsPausedAsync"/>),
/// so readers see the old documents or the new ones and no append interleaves with the rewrite.</item>
/// </list>
/// Step 3 is driven by every erasure recorded for the analyst, so a retry (or erasing again) finishes what an interrupted
/// erasure left, and erasing an analyst whose data is gone records nothing new.
/// </summary>
public static class EraseAnalyst
{
    /// <summary>The erasure event's stored name: the chain's verifier reads its list (EventStoreOptions.ErasureEventType).</summary>
    public static readonly string EventType = EventTypes.NameOf(typeof(AnalystErased));

    public sealed record Command(EraseAnalystRequest Request) : IRequest<EraseAnalystResponse>;

    /// <summary>The stored names of the events that can hold personal data.</summary>
    private static readonly IReadOnlyList<string> PersonalTypes =
    [
        .. new[]
        {
            typeof(AnalystRegistered), typeof(TokenIssued), typeof(HighlightCreated), typeof(ClaimOpened), typeof(StanceTaken),
            typeof(ClaimAdjudicated), typeof(ClaimReopened), typeof(ReplyPosted), typeof(ReplyEdited), typeof(ArticleRevised),
        }.Select(EventTypes.NameOf),
    ];

    public sealed class Handler(Commands commands, Views views, MartenEventStore store, IDocumentStore documents, ConsensusPolicy policy,
        Facts facts)
        : IRequestHandler<Command, EraseAnalystResponse>
    {
        public async Task<EraseAnalystResponse> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            Commands.RequireRequestId(r.RequestId);
            if (!Identifiers.IsAnalystId(r.AnalystId)) throw ErrorMapping.Invalid($"analyst_id is required ({Identifiers.AnalystShape}).");
            _ = await views.LoadAsync<AnalystAccess>(r.AnalystId, ct)
                ?? throw ErrorMapping.NotFound($"analyst_id \"{r.AnalystId}\" names no analyst; list analysts to find the id.");

            var erased = await PendingAsync(r.AnalystId, ct);
            var result = await commands.RunAsync(
                r.RequestId,
                Streams.Analyst(r.AnalystId),
                null,
                AnalystState.Initial,
                AnalystDecisions.Evolve,
                state => DomainErasure.Decide(
                    state, new Domain.Analysts.EraseAnalyst(r.AnalystId, r.Reason, erased), commands.Context()),
                ct);
            var (positions, erasure) = await ReplaceAsync(r.AnalystId, ct);
            var response = new EraseAnalystResponse { Result = result, ErasurePosition = (ulong)erasure };
            response.ErasedPositions.AddRange(positions.Select(p => (ulong)p));
            return response;
        }

        /// <summary>The analyst's events whose personal data is still there, with the digest their masked data will have.</summary>
        private async Task<List<ErasedEvent>> PendingAsync(string analystId, CancellationToken ct)
        {
            var found = new List<(long Position, IDomainEvent Masked)>();
            await foreach (var e in store.ReadAllAsync(0, new Annotate.EventStore.EventFilter(PersonalTypes), cancellationToken: ct))
            {
                if (DomainErasure.MaskedIfPersonal(EventCodec.Decode(e), analystId) is { } masked) found.Add((e.Position, masked));
            }
            // Marten's serializer writes the masked data; PostgreSQL's jsonb text of it is what the chain digests.
            var serializer = documents.Options.Serializer();
            var digests = await store.DataDigestsAsync([.. found.Select(f => serializer.ToJson(f.Masked))], ct);
            return [.. found.Select((f, i) => new ErasedEvent(f.Position, Convert.ToHexStringLower(digests[i])))];
        }

        /// <summary>
        /// Replaces the data of every event the analyst's erasures list that does not hold its masked form yet, checks that
        /// each now hashes to the recorded digest, and rewrites the views; returns the listed positions and the latest erasure's.
        /// </summary>
        private async Task<(IReadOnlyList<long> Erased, long Erasure)> ReplaceAsync(string analystId, CancellationToken ct)
        {
            var recorded = new SortedDictionary<long, string>();
            var latest = 0L;
            await foreach (var e in store.ReadStreamAsync(Streams.Analyst(analystId), cancellationToken: ct))
            {
                if (e.Data is not AnalystErased erasure) continue;
                latest = e.Position;
                foreach (var x in erasure.Erased) recorded[x.Position] = x.DataDigest;
            }
            if (recorded.Count == 0) return ([], latest);
            await store.WithAppendsPausedAsync(async token =>
            {
                var before = await store.CurrentDataDigestsAsync(recorded.Keys, token);
                var toMask = recorded.Keys
                    .Where(p => before.TryGetValue(p, out var d) && Convert.ToHexStringLower(d) != recorded[p])
                    .ToHashSet();
                var events = await EventsAtAsync(recorded.Keys, token);
                if (toMask.Count > 0)
                {
                    await documents.Advanced.ApplyEventDataMasking(masking =>
                    {
                        foreach (var stream in events.Where(e => toMask.Contains(e.Sequence)).Select(e => e.StreamKey!).Distinct())
                            masking.IncludeStream(stream, e => toMask.Contains(e.Sequence));
                    }, token);
                    events = await EventsAtAsync(recorded.Keys, token);
                }
                var after = await store.CurrentDataDigestsAsync(recorded.Keys, token);
                if (recorded.FirstOrDefault(x => !after.TryGetValue(x.Key, out var d) || Convert.ToHexStringLower(d) != x.Value)
                    is { Key: > 0 } wrong)
                {
                    throw new InvalidOperationException(
                        $"The masked data of event {wrong.Key} does not hash to the digest its erasure recorded; the chain will name it.");
                }
                await RewriteViewsAsync(events, token);
                // Kept copies of erased events (a claim's opening) go too; the writer's kept states go with the pause.
                facts.Forget();
                return true;
            }, ct);
            return ([.. recorded.Keys], latest);
        }

        private async Task<IReadOnlyList<IEvent>> EventsAtAsync(IEnumerable<long> positions, CancellationToken ct)
        {
            var wanted = positions.ToArray();
            await using var session = documents.QuerySession();
            return await session.Events.QueryAllRawEvents()
                .Where(e => wanted.Contains(e.Sequence))
                .OrderBy(e => e.Sequence)
                .ToListAsync(ct);
        }

        /// <summary>
        /// Refolds every view document the erased events fed, from the log as it is now. Not Marten's projection rebuild: that
        /// empties a whole view before replaying it, and readers (and authentication, which reads the access views) would find
        /// documents missing meanwhile; here only the affected documents are rewritten, in one transaction.
        /// </summary>
        private async Task RewriteViewsAsync(IReadOnlyList<IEvent> erased, CancellationToken ct)
        {
            var viewEvents = erased.Select(ViewEvent.From).ToList();
            IViewRefold Start<TDoc>(ViewProjection<TDoc> view) where TDoc : class =>
                view.Refold(viewEvents.SelectMany(view.KeysOf).ToHashSet(StringComparer.Ordinal));
            IViewRefold[] refolds =
            [
                Start(new AnalystAccessProjection()), Start(new TokenAccessProjection()), Start(new HighlightViewProjection()),
                Start(new ClaimViewProjection(policy)), Start(new ArticleViewProjection()),
            ];
            await foreach (var e in store.ReadAllAsync(0, null, cancellationToken: ct))
            {
                var viewEvent = ViewEvent.From(e);
                foreach (var refold in refolds) refold.Feed(viewEvent);
            }

            await using var session = documents.LightweightSession();
            foreach (var refold in refolds) await refold.StoreIntoAsync(session, ct);
            // The views keyed by Marten's own grouping: every event of such a document lives in one stream (a reply's stream;
            // a highlight's; the article's claim stream for a statement; the claim's for a stance), the stream of the erased
            // event that fed it, so folding those streams rebuilds the documents exactly.
            var streams = erased.Select(e => e.StreamKey!).Distinct().ToList();
            await RefoldAsync(session, new ReplyProjection(), ReplyProjection.KeyOf, erased, streams, ct);
            await RefoldAsync(session, new SearchEntryProjection(), SearchEntryProjection.KeyOf, erased, streams, ct);
            await session.SaveChangesAsync(ct);
        }

        private static async Task RefoldAsync<TDoc>(IDocumentSession session, MultiStreamProjection<TDoc, string> projection,
            Func<object, string?> keyOf, IReadOnlyList<IEvent> erased, IReadOnlyList<string> streams, CancellationToken ct)
            where TDoc : class
        {
            var docs = erased.Select(e => keyOf(e.Data)).OfType<string>().Distinct(StringComparer.Ordinal)
                .ToDictionary(k => k, _ => (TDoc?)null, StringComparer.Ordinal);
            if (docs.Count == 0) return;
            foreach (var stream in streams)
            {
                foreach (var e in await session.Events.FetchStreamAsync(stream, token: ct))
                {
                    if (keyOf(e.Data) is { } key && docs.TryGetValue(key, out var doc)) docs[key] = projection.Evolve(doc, key, e);
                }
            }
            foreach (var (key, doc) in docs)
            {
                if (doc is null) session.Delete<TDoc>(key);
                else session.Store(doc);
            }
        }
    }
}
