using System.Diagnostics;
using System.Threading.Channels;
using Annotate.Contracts.V1;
using Annotate.Domain.Consensus;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Annotate.Server.Features.Claims;
using Annotate.Server.Features.Discussion;
using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using Grpc.Core;
using Marten;

namespace Annotate.Server.Features.Consensus;

/// <summary>
/// The live part of <see cref="WatchArticle"/>, shared by every watcher of this process: ONE subscription to the store
/// for all watched articles. For each batch the store publishes (usually what one commit wrote) it loads the claim views,
/// blindness and replies the batch changed once, in one batched query, and hands the same immutable updates to every
/// watcher of the article; a watcher only picks the form its caller may see (<see cref="ClaimUpdate.For"/>). A watcher
/// therefore costs memory, never database work, after its catch-up.
/// Invariant: a watcher registers before it reads its initial views, and those views reflect at least
/// <see cref="Watcher.From"/>, the last position the feed had handed out when it registered (or the head its subscription
/// started from), so every change after the position of the initial views reaches it. The feed's loads and the initial
/// views may come from the read replica (<see cref="ReadReplica"/>), each only once the replica has replayed the position
/// it must reflect; the feed's events come through the store's hub, which reads the replica the same way.
/// A watcher buffers at most <see cref="Capacity"/> updates; one that falls further behind (its client does not read) is
/// cut off: the feed stops preparing updates for it and never waits for it, and its stream ends with RESOURCE_EXHAUSTED
/// as soon as it reads again. Its client calls WatchArticle again, which sends the current views (the catch-up).
/// </summary>
public sealed partial class ArticleWatch(
    Views views,
    ConsensusPolicy policy,
    ReadReplica reads,
    int capacity,
    ILogger<ArticleWatch> logger)
    : IAsyncDisposable
{
    /// <summary>Updates buffered per watcher by default (<c>Annotate:WatchBuffer</c>).</summary>
    public const int DefaultCapacity = 1024;

    public const string CutOffMessage =
        "This watch fell more than {0} updates behind (the client did not read); call WatchArticle again for the current views.";

    private static readonly string[] ReplyEvents = ["reply-posted.v1", "reply-edited.v1", "reply-retracted.v1"];
    private static readonly string[] BlindnessEvents = ["claim-made-blind.v1", "claim-revealed.v1"];
    private static readonly string[] RevisionEvents = ["article-revised.v1"];

    private static readonly Annotate.EventStore.EventFilter Filter =
        new([.. Views.ClaimEventTypes, .. ReplyEvents, .. BlindnessEvents, .. RevisionEvents]);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Watcher[]> _byArticle = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private Task<Task>? _feed;
    private long _handedOut; // the last position of the last batch whose watchers were taken (under _gate)

    public int Capacity { get; } = capacity > 0 ? capacity : DefaultCapacity;

    /// <summary>How long the feed keeps reading again while the database is unreachable before its watchers end.</summary>
    public static readonly TimeSpan OutageLimit = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan FirstRetryPause = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetryPause = TimeSpan.FromSeconds(2);

    /// <summary>One watcher's buffer of shared updates. Only the feed writes it; only the watcher's stream reads it.</summary>
    public sealed class Watcher(string articleId, int capacity)
    {
        public string ArticleId { get; } = articleId;
        public Channel<Update> Updates { get; } = Channel.CreateBounded<Update>(
            new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        /// <summary>Set by the feed when the buffer was full; the feed has let go of the watcher.</summary>
        public volatile bool CutOff;
        /// <summary>A position the initial views must reflect: every later change reaches this watcher as an update.</summary>
        public long From { get; internal set; }
    }

    /// <summary>An update of one batch: <see cref="Through"/> is the last position of that batch.</summary>
    public abstract record Update(long Through)
    {
        /// <summary>The message for <paramref name="caller"/>, or null when the change is not theirs to see.</summary>
        public abstract WatchArticleResponse? For(Caller caller);
    }

    /// <summary>A reply as stored after the batch; others' replies on a claim hidden from the caller are not theirs to see.</summary>
    public sealed record ReplyUpdate(long Through, WatchArticleResponse Message, string Author, BlindClaimDocument? Blind) : Update(Through)
    {
        public override WatchArticleResponse? For(Caller caller) =>
            Author != caller.AnalystId && BlindClaims.HiddenFrom(Blind, caller) ? null : Message;
    }

    /// <summary>A new revision of the article (its re-anchored and orphaned claims follow as claim updates).</summary>
    public sealed record RevisionUpdate(long Through, WatchArticleResponse Message) : Update(Through)
    {
        public override WatchArticleResponse For(Caller caller) => Message;
    }

    /// <summary>
    /// A claim view as stored after the batch, with its blindness. The forms a caller may see (<see cref="BlindClaims.AsSeenBy"/>)
    /// depend only on whether the claim is hidden from them, so each form is made once, by the first watcher that needs it.
    /// </summary>
    public sealed record ClaimUpdate(long Through, ClaimView View, BlindClaimDocument? Blind, bool ShownWhenHidden) : Update(Through)
    {
        private WatchArticleResponse? _seen, _hidden;

        public override WatchArticleResponse? For(Caller caller)
        {
            var hidden = BlindClaims.HiddenFrom(Blind, caller);
            // A hidden view changes only when blindness does, or when the claim opens: one per stance would count the others' stances.
            if (hidden && !ShownWhenHidden) return null;
            ref var made = ref hidden ? ref _hidden : ref _seen;
            if (Volatile.Read(ref made) is { } message) return message;
            var fresh = new WatchArticleResponse { View = BlindClaims.AsSeenBy(View, Blind, caller) };
            return Interlocked.CompareExchange(ref made, fresh, null) ?? fresh;
        }
    }

    /// <summary>
    /// Registers a watcher of <paramref name="articleId"/>; once this returns, every later change of the article reaches it.
    /// </summary>
    public async Task<Watcher> JoinAsync(string articleId, CancellationToken ct)
    {
        var watcher = new Watcher(articleId, Capacity);
        Task<Task> feed;
        lock (_gate)
        {
            _byArticle[articleId] = _byArticle.TryGetValue(articleId, out var others) ? [.. others, watcher] : [watcher];
            feed = _feed ??= StartAsync();
        }
        try
        {
            await feed.WaitAsync(ct);
            lock (_gate) watcher.From = _handedOut;
        }
        catch
        {
            Leave(watcher);
            lock (_gate) if (_feed == feed && feed.IsFaulted) _feed = null; // the next watcher tries again
            throw;
        }
        return watcher;
    }

    public void Leave(Watcher watcher)
    {
        lock (_gate) Remove(watcher);
    }

    /// <summary>The watcher's next update; RESOURCE_EXHAUSTED once it was cut off (what it had buffered is dropped with it).</summary>
    public static async ValueTask<Update> NextAsync(Watcher watcher, int capacity, CancellationToken ct)
    {
        while (true)
        {
            if (watcher.CutOff)
            {
                throw new RpcException(new Status(
                    StatusCode.ResourceExhausted,
                    string.Format(System.Globalization.CultureInfo.InvariantCulture, CutOffMessage, capacity)));
            }
            if (watcher.Updates.Reader.TryRead(out var update)) return update;
            if (!await watcher.Updates.Reader.WaitToReadAsync(ct) && !watcher.CutOff)
                throw new UnavailableException("The live feed ended; call WatchArticle again.");
        }
    }

    private void Remove(Watcher watcher)
    {
        if (!_byArticle.TryGetValue(watcher.ArticleId, out var list)) return;
        var rest = Array.FindAll(list, w => w != watcher);
        if (rest.Length == 0) _byArticle.Remove(watcher.ArticleId);
        else _byArticle[watcher.ArticleId] = rest;
    }

    /// <summary>
    /// Reads the head, then follows the store from it on a task of its own; the outer task completes once the head is read.
    /// </summary>
    private async Task<Task> StartAsync()
    {
        var from = await views.HeadAsync(_stopping.Token);
        lock (_gate) _handedOut = Math.Max(_handedOut, from);
        return Task.Run(() => RunAsync(from, _stopping.Token));
    }

    /// <summary>
    /// Follows the store from <paramref name="from"/>, which is always the position through which every batch has been
    /// handed to the watchers. A read that fails because the database is unreachable (a dropped connection, a restart, a
    /// full pool) is read again from there after a pause (growing to <see cref="MaxRetryPause"/>): a batch is handed over
    /// only after all its reads succeeded, so no change is lost or sent twice. The watchers end (UNAVAILABLE) only when the
    /// database stays unreachable for <see cref="OutageLimit"/>, or on any other failure.
    /// </summary>
    private async Task RunAsync(long from, CancellationToken stopping)
    {
        Stopwatch? failing = null;
        var pause = FirstRetryPause;
        while (true)
        {
            try
            {
                await foreach (var batch in views.Store.SubscribeInBatchesAsync(from, Filter, stopping))
                {
                    if (batch.Events.Count > 0) await PublishAsync(batch.Events, stopping);
                    from = batch.Through;
                    (failing, pause) = (null, FirstRetryPause);
                }
                throw new UnavailableException("The live feed ended; call WatchArticle again.");
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
                when (ErrorMapping.DatabaseOutage(ex) is not null && (failing ??= Stopwatch.StartNew()).Elapsed < OutageLimit)
            {
                LogFeedRetry(logger, from, ex);
                try { await Task.Delay(pause, stopping); }
                catch (OperationCanceledException) { return; }
                pause = TimeSpan.FromTicks(Math.Min(MaxRetryPause.Ticks, pause.Ticks * 2));
            }
            catch (Exception ex)
            {
                // Every watcher ends with the failure (a database outage is UNAVAILABLE) and calls again; the next one starts a new feed.
                LogFeedFailed(logger, ex);
                lock (_gate)
                {
                    foreach (var watcher in _byArticle.Values.SelectMany(w => w)) watcher.Updates.Writer.TryComplete(ex);
                    _byArticle.Clear();
                    _feed = null;
                }
                return;
            }
        }
    }

    /// <summary>One batch of the store: the updates of the watched articles, loaded once and offered to each of their watchers.</summary>
    private async Task PublishAsync(IReadOnlyList<RecordedEvent> events, CancellationToken ct)
    {
        Dictionary<string, Watcher[]> watched;
        var through = events[^1].Position;
        lock (_gate)
        {
            _handedOut = Math.Max(_handedOut, through);
            if (_byArticle.Count == 0) return;
            watched = new Dictionary<string, Watcher[]>(_byArticle, StringComparer.Ordinal);
        }
        var changes = Changes.Of(events, watched);
        if (changes.Count == 0) return;

        // From the replica once it has replayed the batch (a view older than the batch would be skipped below), else the primary.
        var loaded = await reads.ReadAsync(through, v => LoadAsync(v, changes, through, ct), ct);
        var updates = new List<(long First, string ArticleId, Update Update)>();
        if (loaded.Claims is { } claims)
        {
            var blindById = loaded.Blinds!.ToDictionary(b => b.Id, StringComparer.Ordinal);
            foreach (var doc in claims)
            {
                var change = changes.Claims[doc.Id];
                // Sent when an event of the batch changed the view (a later batch may have changed it again: it sends it too),
                // or when blindness changed (it does not change the view).
                if (!change.Blindness && doc.View.LastPosition < change.FirstViewChange) continue;
                var view = Mapping.ToProto(doc.View, policy);
                updates.Add((change.First, change.ArticleId,
                    new ClaimUpdate(through, view, blindById.GetValueOrDefault(doc.Id), change.ShownWhenHidden)));
            }
        }
        if (loaded.Replies is { } replies)
        {
            var replyBlinds = loaded.ReplyBlinds;
            foreach (var reply in replies)
            {
                var change = changes.Replies[reply.Id];
                var blind = Threads.ClaimOf(reply) is { } claimId ? replyBlinds?.GetValueOrDefault(claimId) : null;
                var message = new WatchArticleResponse { Reply = Threads.ToProto(reply) };
                updates.Add((change.First, change.ArticleId, new ReplyUpdate(through, message, reply.Author, blind)));
            }
        }
        foreach (var (first, articleId, message) in changes.Revisions)
        {
            updates.Add((first, articleId, new RevisionUpdate(through, message)));
        }
        updates.Sort((a, b) => a.First.CompareTo(b.First));
        List<Watcher>? cutOff = null;
        foreach (var (_, articleId, update) in updates)
        {
            foreach (var watcher in watched[articleId])
            {
                if (watcher.CutOff || watcher.Updates.Writer.TryWrite(update)) continue;
                // Its client stopped reading: never wait for it, never buffer more for it.
                watcher.CutOff = true;
                watcher.Updates.Writer.TryComplete();
                (cutOff ??= []).Add(watcher);
            }
        }
        if (cutOff is null) return;
        lock (_gate) foreach (var watcher in cutOff) Remove(watcher);
        foreach (var watcher in cutOff) LogCutOff(logger, watcher.ArticleId, Capacity);
    }

    private sealed record Loaded(
        IReadOnlyList<ClaimDocument>? Claims,
        IReadOnlyList<BlindClaimDocument>? Blinds,
        IReadOnlyList<ReplyDocument>? Replies,
        IReadOnlyDictionary<string, BlindClaimDocument>? ReplyBlinds);

    /// <summary>The documents a batch's changes need, in one batched query (and one more for the blindness of replied claims).</summary>
    private static async Task<Loaded> LoadAsync(Views views, Changes changes, long through, CancellationToken ct)
    {
        await using var session = views.QuerySession();
        var batch = session.CreateBatchQuery();
        var claimIds = changes.Claims.Keys.ToArray();
        var replyIds = changes.Replies.Keys.ToArray();
        var claims = claimIds.Length > 0 ? batch.LoadMany<ClaimDocument>().ById(claimIds) : null;
        var blinds = claimIds.Length > 0 ? batch.LoadMany<BlindClaimDocument>().ById(claimIds) : null;
        var replies = replyIds.Length > 0 ? batch.LoadMany<ReplyDocument>().ById(replyIds) : null;
        if (claims is null && replies is null) return new Loaded(null, null, null, null);
        await batch.Execute(ct);
        // A later change of the same reply is on its way (LastPosition > through): that batch sends the reply as it then stands.
        var replied = replies is null ? null : (await replies).Where(r => r.LastPosition <= through).ToList();
        // The blindness of the claims replied on (one more read, only when a reply is on a claim).
        var onClaims = replied?.Select(Threads.ClaimOf).OfType<string>().Distinct(StringComparer.Ordinal).ToArray() ?? [];
        var replyBlinds = onClaims.Length > 0 ? await BlindClaims.LoadAsync(session, onClaims, ct) : null;
        return new Loaded(claims is null ? null : await claims, blinds is null ? null : await blinds, replied, replyBlinds);
    }

    /// <summary>
    /// What a batch changed for the watched articles: claims and replies by id, with the first position that touched each.
    /// </summary>
    private sealed class Changes
    {
        public sealed class Claim(string articleId, long first)
        {
            public string ArticleId { get; } = articleId;
            public long First { get; } = first;
            /// <summary>The first event of the batch that may change the stored view (long.MaxValue when only blindness changed).</summary>
            public long FirstViewChange = long.MaxValue;
            /// <summary>Whether the claim was opened or its blindness changed: then even a caller it is hidden from gets it.</summary>
            public bool ShownWhenHidden;
            public bool Blindness;
        }

        public sealed record Reply(string ArticleId, long First);

        public Dictionary<string, Claim> Claims { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, Reply> Replies { get; } = new(StringComparer.Ordinal);
        public List<(long First, string ArticleId, WatchArticleResponse Message)> Revisions { get; } = [];

        public int Count => Claims.Count + Replies.Count + Revisions.Count;

        public static Changes Of(IReadOnlyList<RecordedEvent> events, Dictionary<string, Watcher[]> watched)
        {
            var changes = new Changes();
            foreach (var e in events)
            {
                if (e.Metadata.Tag is not { } articleId || !watched.ContainsKey(articleId)) continue;
                if (e.Data is ArticleRevised revised)
                {
                    changes.Revisions.Add((
                        e.Position,
                        articleId,
                        new WatchArticleResponse { Revised = Articles.ReviseArticle.Announced(revised, e) }));
                    continue;
                }
                if (e.Data is ReplyPosted or ReplyEdited or ReplyRetracted)
                {
                    changes.Replies.TryAdd(e.StreamId["reply-".Length..], new Reply(articleId, e.Position));
                    continue;
                }
                if (ClaimViewProjection.ClaimIdOf(ViewEvent.From(e)) is not { } claimId) continue;
                if (!changes.Claims.TryGetValue(claimId, out var claim)) changes.Claims[claimId] = claim = new Claim(articleId, e.Position);
                if (e.Data is ClaimMadeBlind or ClaimRevealed)
                {
                    claim.Blindness = true;
                    claim.ShownWhenHidden = true;
                    continue;
                }
                claim.FirstViewChange = Math.Min(claim.FirstViewChange, e.Position);
                if (e.Data is ClaimOpened) claim.ShownWhenHidden = true;
            }
            return changes;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        Task<Task>? feed;
        lock (_gate) feed = _feed;
        if (feed is not null)
        {
            try { await await feed; } catch (Exception) { /* a failed feed has already ended its watchers */ }
        }
        _stopping.Dispose();
    }

    [LoggerMessage(1, LogLevel.Warning, "Article watch feed failed; its watchers end and call again")]
    private static partial void LogFeedFailed(ILogger logger, Exception exception);

    [LoggerMessage(3, LogLevel.Warning, "Article watch feed could not read past position {Position}; reading again from there")]
    private static partial void LogFeedRetry(ILogger logger, long position, Exception exception);

    [LoggerMessage(2, LogLevel.Information, "A watcher of {ArticleId} fell more than {Capacity} updates behind and was cut off")]
    private static partial void LogCutOff(ILogger logger, string articleId, int capacity);
}
