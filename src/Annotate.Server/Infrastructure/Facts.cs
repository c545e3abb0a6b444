using System.Collections.Concurrent;
using Annotate.Domain.Events;
using Annotate.Domain.Highlights;
using Annotate.Server.Features.Annotations;

namespace Annotate.Server.Infrastructure;

/// <summary>A claim's article and its opening event, which lives in the article's claim stream (see <see cref="Streams"/>).</summary>
public sealed record LoadedClaim(string ClaimId, string ArticleId, IReadOnlyList<IDomainEvent> Opening)
{
    /// <summary>The opening's result as a command that wrote nothing new answers it (position, receipt, time), when known.</summary>
    public Contracts.V1.CommandResult? OpenedWith { get; init; }
}

/// <summary>
/// Facts commands need that never change once written, kept in-process so a command does not read them again: a claim's
/// article and opening event, a highlight's article. (What can change, such as a claim's stances, is folded by the
/// writer under its lock, never taken from here.) Bounded: past <see cref="MaxKept"/> entries the copies are dropped.
/// </summary>
public sealed class Facts(Views views)
{
    public const int MaxKept = 100_000;

    private readonly Kept<LoadedClaim> _claims = new();
    private readonly Kept<string> _highlightArticles = new();
    private readonly Kept<string> _replyArticles = new();

    /// <summary>A claim's article and opening, or NOT_FOUND.</summary>
    public async Task<LoadedClaim> ClaimAsync(string claimId, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(claimId)) throw ErrorMapping.Invalid("claim_id is required.");
        if (_claims.TryGetValue(claimId, out var known)) return known;
        var doc = await views.ClaimDocumentAsync(claimId, ct);
        var opened = doc.OpenedPosition;
        await foreach (var e in views.Store.ReadAllAsync(opened - 1, null, 1, opened, null, ct))
        {
            return _claims.Keep(claimId, new LoadedClaim(claimId, doc.ArticleId, [EventCodec.Decode(e)])
            {
                OpenedWith = Commands.ResultOf(e, deduplicated: true),
            });
        }
        throw new InvalidOperationException($"The opening event of claim {claimId} at position {opened} is missing.");
    }

    /// <summary>A claim this process keeps, or null (nothing is read).</summary>
    public LoadedClaim? KeptClaim(string claimId) => _claims.TryGetValue(claimId, out var known) ? known : null;

    /// <summary>The article of a highlight, retracted or not, or NOT_FOUND.</summary>
    public async Task<string> HighlightArticleAsync(string highlightId, CancellationToken ct)
    {
        if (_highlightArticles.TryGetValue(highlightId, out var known)) return known;
        var article = (await views.LoadAsync<HighlightView>(highlightId, ct))?.ArticleId;
        if (article is null && highlightId.Length > 0)
        {
            // Retracted (no longer in the view): its creation says where it was.
            await foreach (var e in views.Store.ReadStreamAsync(
                Streams.Highlight(highlightId), 1, EventStore.ReadDirection.Forwards, 1, ct))
            {
                article = (e.Data as HighlightCreated)?.ArticleId;
            }
        }
        return article is null
            ? throw ErrorMapping.NotFound($"No highlight \"{highlightId}\" (or it was retracted).")
            : _highlightArticles.Keep(highlightId, article);
    }

    /// <summary>The article a reply's thread belongs to, or NOT_FOUND.</summary>
    public async Task<string> ReplyArticleAsync(string replyId, CancellationToken ct)
    {
        if (_replyArticles.TryGetValue(replyId, out var known)) return known;
        var reply = await views.LoadAsync<Features.Discussion.ReplyDocument>(replyId, ct)
            ?? throw ErrorMapping.NotFound($"reply_id \"{replyId}\" names no reply.");
        return _replyArticles.Keep(replyId, reply.ArticleId);
    }

    /// <summary>Keeps a claim this process opened (its opening event as appended), so a command on it reads nothing first.</summary>
    public void Keep(LoadedClaim claim) => _claims.Keep(claim.ClaimId, claim);

    /// <summary>Keeps the article of a highlight this process created.</summary>
    public void KeepHighlight(string highlightId, string articleId) => _highlightArticles.Keep(highlightId, articleId);

    /// <summary>Drops every kept fact (after an erasure rewrote stored events: a kept opening may hold erased text).</summary>
    public void Forget()
    {
        _claims.Clear();
        _highlightArticles.Clear();
        _replyArticles.Clear();
    }

    /// <summary>
    /// Facts of one kind by id, at most <see cref="MaxKept"/>. Counts what it added itself: a concurrent dictionary's
    /// <c>Count</c> takes every one of its locks, which each new highlight and claim paid for.
    /// </summary>
    private sealed class Kept<T>
    {
        private readonly ConcurrentDictionary<string, T> _items = new(StringComparer.Ordinal);
        private int _added;

        public bool TryGetValue(string key, out T value) => _items.TryGetValue(key, out value!);

        public T Keep(string key, T value)
        {
            if (_items.TryGetValue(key, out var known)) return known;
            if (Volatile.Read(ref _added) >= MaxKept) Clear();
            if (_items.TryAdd(key, value))
            {
                Interlocked.Increment(ref _added);
                return value;
            }
            return _items.GetOrAdd(key, value); // another caller added it meanwhile (or it was cleared since)
        }

        public void Clear()
        {
            _items.Clear();
            Volatile.Write(ref _added, 0);
        }
    }
}
