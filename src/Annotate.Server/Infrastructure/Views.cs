using System.Collections.Concurrent;
using System.Linq.Expressions;
using Annotate.Domain;
using Annotate.Domain.Anchoring;
using Annotate.Domain.Consensus;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Annotate.Server.Features.Admin;
using Annotate.Server.Features.Annotations;
using Annotate.Server.Features.Articles;
using Annotate.Server.Features.Consensus;
using Marten;
using Marten.Linq;

namespace Annotate.Server.Infrastructure;

/// <summary>
/// Reads of the views: Marten documents kept by inline projections (each beside its feature), so they always agree
/// with the log up to its head, and the same projections folded from the history for "as of" answers. Everything is
/// read through <see cref="Store"/>: the primary's, or a replica's read view (<see cref="Hosting.ReadReplica"/>), which
/// agrees with the log up to the replica's head.
/// </summary>
public sealed class Views(MartenEventStore store, ConsensusPolicy policy)
{
    // Article texts by article id, each with the hash, revision and stream version it was read at (see TextAsync).
    private readonly ConcurrentDictionary<string, KeptText> _texts = new(StringComparer.Ordinal);

    private sealed record KeptText(string ContentHash, ResolvedText Text);

    public MartenEventStore Store => store;

    /// <summary>A Marten query session on the database these views read.</summary>
    public IQuerySession QuerySession() => store.QuerySession();

    /// <summary>The head position of the store: every view reflects every event up to it.</summary>
    public Task<long> HeadAsync(CancellationToken ct) => store.GetHeadPositionAsync(ct);

    public async Task<T?> LoadAsync<T>(string id, CancellationToken ct)
        where T : class
    {
        await using var session = store.QuerySession();
        return await session.LoadAsync<T>(id, ct);
    }

    /// <summary>An article, or NOT_FOUND saying how to list articles.</summary>
    public async Task<ArticleView> ArticleAsync(string articleId, CancellationToken ct) =>
        await LoadAsync<ArticleView>(articleId, ct) ?? throw ErrorMapping.NotFound($"article_id \"{articleId}\" names no article.");

    /// <summary>Every article, by id.</summary>
    public async Task<IReadOnlyList<ArticleView>> ArticlesAsync(CancellationToken ct)
    {
        await using var session = store.QuerySession();
        return await session.Query<ArticleView>().OrderBy(a => a.Id).ToListAsync(ct);
    }

    /// <summary>Articles whose texts are kept at most; past it the copies are dropped and read again as commands come.</summary>
    public const int MaxKeptTexts = 1_000;

    /// <summary>
    /// Runs a command that resolves selectors against article texts, taken through the <see cref="ArticleTexts"/> it is
    /// given: first the texts this process keeps (no read), and when that run is refused in a way an out-of-date text can
    /// cause (the writer's guard found the article's stream moved, a selector or a revision the kept text does not
    /// match), once more on texts read now. A kept text is as safe as one read now: the writer checks, under its lock,
    /// that the article's stream is still at the version the text was read at, so a span is never placed on a text that
    /// is no longer current; a kept text that is out of date (another replica revised the article) costs a refused run.
    /// </summary>
    public async Task<T> ResolvingAsync<T>(Func<ArticleTexts, Task<T>> run)
    {
        var kept = new ArticleTexts(this, useKept: true);
        try
        {
            return await run(kept);
        }
        catch (DomainException e) when (kept.UsedKept
            && e.Error.Kind is Domain.Errors.DomainErrorKind.Invalid or Domain.Errors.DomainErrorKind.FailedPrecondition)
        {
            // Refused on what may be an old text: the run below reads every text again (and keeps what it reads).
        }
        return await run(new ArticleTexts(this, useKept: false));
    }

    /// <summary>Drops the kept text of an article (this process appended to its stream: a revision, an import, a blind).</summary>
    public void ForgetText(string articleId) => _texts.TryRemove(articleId, out _);

    /// <summary>
    /// An article's current text to resolve selectors against, with its revision and the version of its stream: a command
    /// passes it to <see cref="Commands.RunAsync"/>, whose decision is refused if the stream moved since (the span would
    /// otherwise be placed on a text it was not resolved against). Kept by article id; <paramref name="useKept"/> false
    /// reads it now (the text itself only when its hash changed: a text can be megabytes). NOT_FOUND for an unknown article.
    /// </summary>
    internal async Task<(ResolvedText Text, bool Kept)> TextAsync(string articleId, bool useKept, CancellationToken ct)
    {
        var kept = _texts.GetValueOrDefault(articleId);
        if (useKept && kept is not null) return (kept.Text, true);
        // One round trip: the article stream's version, then the article's hash and revision (a compiled query). Each
        // statement sees what was committed when it ran, so the version is never newer than the text: a revision landing
        // between them makes the writer refuse the decision (the client resolves again), never pass it on the old text.
        ArticleHead? head;
        long version;
        await using (var session = store.QuerySession())
        {
            var batch = session.CreateBatchQuery();
            var stateRead = batch.Events.FetchStreamState(Streams.Article(articleId));
            var headRead = batch.Query(new ArticleHeadQuery { ArticleId = articleId });
            await batch.Execute(ct);
            head = await headRead;
            version = (await stateRead)?.Version ?? 0;
        }
        TextDocument document;
        string hash;
        int revision;
        if (head is not null && kept is not null && kept.ContentHash == head.ContentHash)
        {
            (document, hash, revision) = (kept.Text.Document, head.ContentHash, head.Revision);
        }
        else
        {
            // Read after the version: if a revision landed in between, the guard is older than this text and the writer
            // refuses the decision as if the revision came after the read (the client resolves again); never the reverse.
            var article = await ArticleAsync(articleId, ct);
            (document, hash, revision) = (new TextDocument(article.Text), article.ContentHash, article.Revision);
        }
        var text = new ResolvedText(articleId, revision, document, new StreamGuard(Streams.Article(articleId), version));
        if (_texts.Count >= MaxKeptTexts) _texts.Clear();
        // Two reads racing: the one at the later version stays.
        _texts.AddOrUpdate(articleId, new KeptText(hash, text),
            (_, old) => old.Text.Guard.Version > version ? old : new KeptText(hash, text));
        return (text, false);
    }

    /// <summary>A claim's document (view, article, opening position), or NOT_FOUND.</summary>
    public async Task<ClaimDocument> ClaimDocumentAsync(string claimId, CancellationToken ct) =>
        await LoadAsync<ClaimDocument>(claimId, ct) ?? throw ErrorMapping.NotFound($"claim_id \"{claimId}\" names no claim.");

    /// <summary>An article's claim views by span start, and a position they reflect at least (read before them).</summary>
    public async Task<(IReadOnlyList<ClaimConsensus> Claims, long Position)> ClaimsOfAsync(string articleId, CancellationToken ct)
    {
        var position = await HeadAsync(ct);
        await using var session = store.QuerySession();
        var docs = await session.Query<ClaimDocument>().Where(c => c.ArticleId == articleId).ToListAsync(ct);
        return (docs.Select(d => d.View).OrderBy(v => v.Start).ThenBy(v => v.ClaimId, StringComparer.Ordinal).ToList(), position);
    }

    /// <summary>An article's highlights, and a position they reflect at least (read before them).</summary>
    public async Task<(IReadOnlyList<HighlightView> Highlights, long Position)> HighlightsOfAsync(string articleId, CancellationToken ct)
    {
        var position = await HeadAsync(ct);
        await using var session = store.QuerySession();
        return (await session.Query<HighlightView>().Where(h => h.ArticleId == articleId).ToListAsync(ct), position);
    }

    /// <summary>An article's highlights as of a position and/or time, folded from the history alone.</summary>
    public async Task<IReadOnlyList<HighlightView>> HighlightsAsOfAsync(
        string articleId,
        long toPosition,
        DateTime? toTime,
        CancellationToken ct)
    {
        var projection = new HighlightViewProjection();
        var filter = new EventFilter(
            ["highlight-created.v1", "highlight-retracted.v1", "tag-applied.v1", "tag-removed.v1", .. SpanEventTypes], Tag: articleId);
        var events = await store.ReadAllAsync(0, filter, long.MaxValue, toPosition, toTime, ct).ToListAsync(ct);
        var article = await ArticleAsync(articleId, ct);
        var docs = projection.Fold(events).Values.Where(h => h.ArticleId == articleId).ToList();
        // The fold has no article view to read a new highlight's revision from: the revisions' positions give it.
        foreach (var h in docs) h.Anchor ??= SpanAnchor.On(article.RevisionAt(h.Position));
        return docs;
    }

    /// <summary>
    /// Consensus views of an article as of a position and/or time, folded from the history alone (the stored views
    /// are not read): equal to what the live view showed at that point.
    /// </summary>
    public async Task<IReadOnlyList<ClaimConsensus>> ClaimsAsOfAsync(
        string articleId,
        long toPosition,
        DateTime? toTime,
        CancellationToken ct)
    {
        var projection = new ClaimViewProjection(policy);
        var filter = new EventFilter(ClaimEventTypes, Tag: articleId);
        var events = await store.ReadAllAsync(0, filter, long.MaxValue, toPosition, toTime, ct).ToListAsync(ct);
        // Evidence is moved by revisions of the cited articles, recorded in their streams under their tags.
        var evidence = await store.ReadAllAsync(0, new EventFilter(EvidenceEventTypes), long.MaxValue, toPosition, toTime, ct)
            .ToListAsync(ct);
        var article = await ArticleAsync(articleId, ct);
        var cited = new Dictionary<string, ArticleView?>(StringComparer.Ordinal) { [articleId] = article };
        var folded = new List<ClaimConsensus>();
        // The fold has no article view to read a new claim's (or new evidence's) revision from: the revisions' positions give it.
        foreach (var d in projection.Fold(events.Concat(evidence).OrderBy(e => e.Position)).Values)
        {
            var view = d.View.Anchor is null ? d.View with { Anchor = SpanAnchor.On(article.RevisionAt(d.OpenedPosition)) } : d.View;
            foreach (var id in view.Evidence.Where(x => x.Anchor is null).Select(x => x.ArticleId).Distinct())
                if (!cited.ContainsKey(id)) cited[id] = await LoadAsync<ArticleView>(id, ct);
            folded.Add(view with
            {
                Evidence = view.Evidence
                    .Select(x => x.Anchor is null ? x with { Anchor = SpanAnchor.On(cited[x.ArticleId]?.RevisionAt(x.Position) ?? 1) } : x)
                    .ToValueList(),
            });
        }
        return folded.OrderBy(v => v.Start).ThenBy(v => v.ClaimId, StringComparer.Ordinal).ToList();
    }

    /// <summary>The stored names of the events a revision records per cited evidence span (in the cited article's stream).</summary>
    public static IReadOnlyCollection<string> EvidenceEventTypes { get; } = ["evidence-reanchored.v1", "evidence-orphaned.v1"];

    /// <summary>The stored names of the events a revision records per span (in the article's stream, tagged with it), and of a
    /// span's review (in its highlight's or claim's stream, tagged with the article). Declared
    /// before <see cref="ClaimEventTypes"/>, which includes it: static initializers run in order.</summary>
    public static IReadOnlyCollection<string> SpanEventTypes { get; } =
        ["span-reanchored.v1", "span-orphaned.v1", "span-reattached.v1"];

    /// <summary>The stored names of the events a claim's view folds.</summary>
    public static IReadOnlyCollection<string> ClaimEventTypes { get; } =
    [
        "claim-opened.v1",
        "stance-taken.v1",
        "stance-withdrawn.v1",
        "claim-adjudicated.v1",
        "claim-reopened.v1",
        "tag-applied.v1",
        "tag-removed.v1",
        .. SpanEventTypes,
    ];

    /// <summary>A token with its analyst's roles, for authentication: two loads by id (no query to parse on every call).</summary>
    public async Task<TokenRecord?> GetTokenAsync(string tokenId, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var token = await session.LoadAsync<TokenAccess>(tokenId, ct);
        if (token is null) return null;
        var analyst = await session.LoadAsync<AnalystAccess>(token.AnalystId, ct);
        return new TokenRecord(tokenId, token.AnalystId, token.SecretHash, token.ExpiresAt, token.Revoked, analyst?.Roles ?? []);
    }
}

/// <summary>
/// The article texts one run of a command resolves selectors against (<see cref="Views.ResolvingAsync{T}"/>): the ones the
/// process keeps, or read now.
/// </summary>
public sealed class ArticleTexts(Views views, bool useKept)
{
    /// <summary>Whether a text of this run was a kept one (which may be older than the article).</summary>
    public bool UsedKept { get; private set; }

    /// <summary>An article's current text with its revision and guard; NOT_FOUND for an unknown article.</summary>
    public async Task<ResolvedText> GetAsync(string articleId, CancellationToken ct)
    {
        var (text, kept) = await views.TextAsync(articleId, useKept, ct);
        UsedKept |= kept;
        return text;
    }
}

/// <summary>An article's content hash and revision, without its text.</summary>
public sealed class ArticleHead
{
    public string ContentHash { get; set; } = "";
    public int Revision { get; set; }
}

/// <summary>
/// <see cref="ArticleHead"/> of one article, as a Marten compiled query: commands read it before every highlight, claim
/// and evidence span they resolve, so its LINQ is parsed once per process instead of on every call.
/// </summary>
public sealed class ArticleHeadQuery : ICompiledQuery<ArticleView, ArticleHead?>
{
    public string ArticleId { get; set; } = "";

    public Expression<Func<IMartenQueryable<ArticleView>, ArticleHead?>> QueryIs() =>
        q => q.Where(a => a.Id == ArticleId)
            .Select(a => new ArticleHead { ContentHash = a.ContentHash, Revision = a.Revision })
            .FirstOrDefault();
}
