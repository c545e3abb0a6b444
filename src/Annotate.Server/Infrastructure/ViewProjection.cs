using Annotate.Domain.Consensus;
using Annotate.Domain.Events;
using Annotate.EventStore;
using JasperFx.Events;
using JasperFx.Events.Grouping;
using Marten;
using Marten.Events.Projections;

namespace Annotate.Server.Infrastructure;

/// <summary>An event as a view sees it: where it sits in the order, when, in which stream, and the domain event.</summary>
public sealed record ViewEvent(long Position, DateTime RecordedAt, string StreamId, IDomainEvent Event)
{
    public static ViewEvent From(IEvent e) =>
        new(e.Sequence, e.Timestamp.UtcDateTime, e.StreamKey!, e.Data as IDomainEvent
            ?? throw new InvalidOperationException($"Event {e.Sequence} ({e.EventTypeName}) is not a domain event."));

    public static ViewEvent From(RecordedEvent e) => new(e.Position, e.RecordedAt, e.StreamId, EventCodec.Decode(e));

    public PositionedEvent Positioned => new(Position, new DateTimeOffset(DateTime.SpecifyKind(RecordedAt, DateTimeKind.Utc)), Event);
}

/// <summary>Some documents of a view folded anew: fed the view's events in log order, then stored (or deleted) in a session.</summary>
public interface IViewRefold
{
    void Feed(ViewEvent e);
    Task StoreIntoAsync(IDocumentSession session, CancellationToken ct);
}

/// <summary>
/// A view as a Marten multi-stream projection run inline: in the writer's transaction, so a command's answer and
/// every later read on any replica see its effect, and a view that cannot store its document fails the append that
/// caused it instead of drifting from the log. A view names the documents an event touches (<see cref="KeysOf"/>)
/// and folds them (<see cref="Apply"/>: null deletes); both are pure, so the same functions fold any view as of an
/// earlier point of the history from the events alone (<see cref="Fold"/>).
/// </summary>
public abstract class ViewProjection<TDoc> : MultiStreamProjection<TDoc, string>
    where TDoc : class
{
    /// <param name="eventTypes">The domain event types the view folds (those <see cref="KeysOf"/> can key) and those its batch hook
    /// reads (<see cref="BeforeBatchAsync"/>): Marten's daemon then reads only those from the log when it rebuilds the view, and
    /// the writer's inline pass skips the others.</param>
    protected ViewProjection(params Type[] eventTypes)
    {
        foreach (var type in eventTypes) IncludeType(type);
        // Grouping is the one step Marten runs once per batch both in the writer's inline pass and in the daemon's pages of a
        // rebuild (EnrichEventsAsync, its batch hook, runs only in the daemon), so the view's batch hook runs here, on the
        // batch's events of the view's types. Marten's grouping has no cancellation token: the hook's reads end with the batch's
        // session.
        CustomGrouping(async (session, events, grouping) =>
        {
            var batch = new List<IEvent>();
            var folded = false;
            foreach (var e in events)
            {
                if (e.Data is not IDomainEvent) continue;
                batch.Add(e);
                foreach (var key in KeysOf(ViewEvent.From(e)))
                {
                    grouping.AddEvent(key, e);
                    folded = true;
                }
            }
            if (folded) await BeforeBatchAsync(batch, session, CancellationToken.None);
        });
    }

    /// <summary>Keys (document ids) of the documents the event affects; none is fine.</summary>
    public abstract IEnumerable<string> KeysOf(ViewEvent e);

    /// <summary>The document after the event; null deletes it.</summary>
    public abstract TDoc? Apply(TDoc? current, string key, ViewEvent e);

    /// <summary>A document just made by <see cref="Apply"/> from event <paramref name="e"/>, completed from other documents (read
    /// in the append's transaction: those written by earlier transactions). Not called by <see cref="Fold"/>, whose callers
    /// complete it themselves.</summary>
    protected virtual ValueTask<TDoc> CreatedAsync(TDoc created, IEvent e, IQuerySession session, CancellationToken ct) =>
        ValueTask.FromResult(created);

    /// <summary>Called once per batch of events (a writer's batch, a page of a rebuild) before any is folded, with every event of
    /// the batch the view takes (folded or not): where a view reads what <see cref="CreatedAsync"/> needs for the whole batch in
    /// one query instead of one per document, and finds what earlier events of the same batch change in the documents it reads
    /// (those are stored only with the batch).</summary>
    protected virtual Task BeforeBatchAsync(IReadOnlyCollection<IEvent> events, IQuerySession session, CancellationToken ct) =>
        Task.CompletedTask;

    public override async ValueTask<TDoc?> EvolveAsync(
        TDoc? snapshot,
        string id,
        IQuerySession session,
        IEvent e,
        CancellationToken cancellation)
    {
        if (e.Data is not IDomainEvent) return snapshot;
        var next = Apply(snapshot, id, ViewEvent.From(e));
        return snapshot is null && next is not null ? await CreatedAsync(next, e, session, cancellation) : next;
    }

    /// <summary>
    /// A document refolded by <see cref="Refold"/> before it is stored: where a view adds what its fold alone cannot know and
    /// the writer's pass added from the database (the revision a span was made on).
    /// </summary>
    protected virtual ValueTask<TDoc> RefoldedAsync(TDoc doc, IQuerySession session, CancellationToken ct) => ValueTask.FromResult(doc);

    /// <summary>
    /// Refolds the documents with these keys from scratch (every other document is left alone): how a view is rewritten after
    /// the data of events it folded was replaced (an erasure). The caller feeds the whole log of the view's event types.
    /// </summary>
    public IViewRefold Refold(IReadOnlySet<string> keys) => new Refolding(this, keys);

    private sealed class Refolding(ViewProjection<TDoc> view, IReadOnlySet<string> keys) : IViewRefold
    {
        private readonly Dictionary<string, TDoc?> _docs = keys.ToDictionary(k => k, _ => (TDoc?)null, StringComparer.Ordinal);

        public void Feed(ViewEvent e)
        {
            foreach (var key in view.KeysOf(e))
                if (_docs.TryGetValue(key, out var doc)) _docs[key] = view.Apply(doc, key, e);
        }

        public async Task StoreIntoAsync(IDocumentSession session, CancellationToken ct)
        {
            foreach (var (key, doc) in _docs)
            {
                if (doc is null) session.Delete<TDoc>(key);
                else session.Store(await view.RefoldedAsync(doc, session, ct));
            }
        }
    }

    /// <summary>The documents as the given events (in order) leave them, computed in memory.</summary>
    public Dictionary<string, TDoc> Fold(IEnumerable<RecordedEvent> events)
    {
        var docs = new Dictionary<string, TDoc>(StringComparer.Ordinal);
        foreach (var recorded in events)
        {
            var e = ViewEvent.From(recorded);
            foreach (var key in KeysOf(e))
            {
                if (Apply(docs.GetValueOrDefault(key), key, e) is { } next) docs[key] = next;
                else docs.Remove(key);
            }
        }
        return docs;
    }
}
