using System.Runtime.CompilerServices;
using Annotate.Domain.Anchoring;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;
using JasperFx.Events;
using Marten;

namespace Annotate.Server.Features.Articles;

/// <summary>An article as readers see it: its current text, import facts and revisions (a Marten document keyed by the
/// article id).</summary>
public sealed class ArticleView
{
    public string Id { get; set; } = "";
    public string Title { get; set; } = "";
    public string Source { get; set; } = "";
    public string ContentHash { get; set; } = "";
    public string Text { get; set; } = "";
    public string ImportedBy { get; set; } = "";
    /// <summary>Length of the text in Unicode code points.</summary>
    public int Length { get; set; }
    public DateTime ImportedAt { get; set; }
    public long Position { get; set; }
    /// <summary>1 as imported, one more per revision.</summary>
    public int Revision { get; set; } = 1;
    public DateTime? RevisedAt { get; set; }
    public string RevisedBy { get; set; } = "";
    public string RevisionReason { get; set; } = "";
    /// <summary>Positions of the revisions after the import, in order: revision i + 2 was recorded at RevisionPositions[i].</summary>
    public List<long> RevisionPositions { get; set; } = [];

    /// <summary>The revision in force after the event at <paramref name="position"/> (inclusive).</summary>
    public int RevisionAt(long position) => 1 + RevisionPositions.Count(p => p <= position);
}

/// <summary>One <see cref="ArticleView"/> per imported article.</summary>
public sealed class ArticleViewProjection() : ViewProjection<ArticleView>(typeof(ArticleImported), typeof(ArticleRevised))
{
    public override IEnumerable<string> KeysOf(ViewEvent e) => e.Event switch
    {
        ArticleImported a => [a.ArticleId],
        ArticleRevised r => [r.ArticleId],
        _ => [],
    };

    public override ArticleView? Apply(ArticleView? current, string key, ViewEvent e) => e.Event switch
    {
        ArticleImported a => new ArticleView
        {
            Id = a.ArticleId,
            Title = a.Title,
            Source = a.Source,
            ContentHash = a.ContentHash,
            Text = a.Text,
            ImportedBy = a.ImportedBy,
            Length = new TextDocument(a.Text).Length,
            ImportedAt = e.RecordedAt,
            Position = e.Position,
        },
        ArticleRevised r when current is not null => Revised(current, r, e),
        _ => current,
    };

    private static ArticleView Revised(ArticleView current, ArticleRevised r, ViewEvent e)
    {
        current.Text = r.Text;
        current.ContentHash = r.ContentHash;
        current.Length = new TextDocument(r.Text).Length;
        current.Revision = r.Revision;
        current.RevisedAt = e.RecordedAt;
        current.RevisedBy = r.RevisedBy;
        current.RevisionReason = r.Reason;
        current.RevisionPositions = [.. current.RevisionPositions, e.Position];
        return current;
    }
}

/// <summary>
/// The revision an article was on when a span (a claim, a highlight, a stance's evidence) was made on it, for the views that
/// record it: the article's revision in force at the making event's position. Invariant: the same whoever folds the event (the
/// writer's transaction, a rebuild, whose article view already holds later revisions): read for a whole batch of events in one
/// query (<see cref="FindAsync"/>, from a view's <see cref="ViewProjection{TDoc}"/> batch hook), from the article views stored
/// before the batch (their revision positions) and the batch's own <see cref="ArticleRevised"/> events before the making event,
/// which those views do not hold yet (a view reading this includes that event type). An event the batch did not cover is
/// looked up alone.
/// </summary>
/// <param name="articlesOf">The articles an event's data makes spans on (none for most events).</param>
public sealed class RevisionAtCreation(Func<object, IEnumerable<string>> articlesOf)
{
    // Keyed by the event object Marten hands to the batch hook and then to the fold; entries go with the events.
    private readonly ConditionalWeakTable<IEvent, Dictionary<string, int>> _found = [];

    public async Task FindAsync(IReadOnlyCollection<IEvent> events, IQuerySession session, CancellationToken ct)
    {
        var making = events.Select(e => (Event: e, Articles: articlesOf(e.Data).ToList())).Where(x => x.Articles.Count > 0).ToList();
        if (making.Count == 0) return;
        var ids = making.SelectMany(x => x.Articles).Distinct(StringComparer.Ordinal).ToList();
        var articles = (await session.LoadManyAsync<ArticleView>(ct, ids)).ToDictionary(a => a.Id, StringComparer.Ordinal);
        var revisedInBatch = events.Where(e => e.Data is ArticleRevised).ToList();
        foreach (var (e, made) in making)
        {
            var revisions = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var article in made)
            {
                var revision = articles.TryGetValue(article, out var view) ? view.RevisionAt(e.Sequence) : 1;
                foreach (var r in revisedInBatch)
                {
                    if (r.Sequence < e.Sequence && r.Data is ArticleRevised revised && revised.ArticleId == article)
                        revision = Math.Max(revision, revised.Revision);
                }
                revisions[article] = revision;
            }
            _found.AddOrUpdate(e, revisions);
        }
    }

    public async ValueTask<int> RevisionAsync(IEvent e, string articleId, IQuerySession session, CancellationToken ct) =>
        _found.TryGetValue(e, out var found) && found.TryGetValue(articleId, out var revision)
            ? revision
            : (await session.LoadAsync<ArticleView>(articleId, ct))?.RevisionAt(e.Sequence) ?? 1;
}
