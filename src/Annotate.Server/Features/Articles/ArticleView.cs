using Annotate.Domain.Anchoring;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;

namespace Annotate.Server.Features.Articles;

/// <summary>An article as readers see it: its text and import facts (a Marten document keyed by the article id).</summary>
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
}

/// <summary>One <see cref="ArticleView"/> per imported article.</summary>
public sealed class ArticleViewProjection : ViewProjection<ArticleView>
{
    public override IEnumerable<string> KeysOf(ViewEvent e) => e.Event is ArticleImported a ? [a.ArticleId] : [];

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
        _ => current,
    };
}
