using Annotate.Domain;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Annotate.Server.Infrastructure;
using JasperFx.Events;

namespace Annotate.Benchmarks.EventStore;

/// <summary>
/// A newsroom's log in the product's own events, streams and tag headers, in log order, for the views' rebuild: 64
/// analysts with a token each, 50 articles, then claims (an opening in the article's claim stream, 14 stances, a
/// withdrawal every 5th, a tag, an adjudication every 10th, a reopening every 20th) and, three for each claim,
/// highlights (a tag each, a retraction every 10th, a reply every 8th); halfway through, 10 of the articles are revised
/// once, each span on them re-anchored (every 7th orphaned). Deterministic: the same count gives the same log.
/// </summary>
internal static class NewsroomLog
{
    private const int Analysts = 64;
    private const int Articles = 50;
    private static readonly Stance[] Stances = [Stance.Supports, Stance.Refutes, Stance.NeedsContext, Stance.Supports, Stance.Unverifiable];

    /// <summary>The log's first <paramref name="count"/> events as (stream, data, tag), in order.</summary>
    public static List<(string Stream, IDomainEvent Data, string? Tag)> Events(long count)
    {
        var log = new List<(string, IDomainEvent, string?)>((int)Math.Min(count, int.MaxValue));
        void Add(string stream, IDomainEvent data, string? tag = null)
        {
            if (log.Count < count) log.Add((stream, data, tag));
        }
        var text = string.Concat(Enumerable.Repeat("Unemployment fell to its lowest level in a decade, the ministry said. ", 70));
        for (var a = 0; a < Analysts; a++)
        {
            var id = Analyst(a);
            Add(Streams.Analyst(id), new AnalystRegistered(id, $"Analyst {a}",
                ValueList.Of(a % 8 == 0 ? Role.Adjudicator : Role.Analyst), "admin"));
            Add(Streams.Analyst(id), new TokenIssued($"token-{a:D3}", id, $"sha256:{a:D64}", null, "bench", "admin"));
        }
        for (var a = 0; a < Articles; a++)
        {
            Add(Streams.Article(Article(a)), new ArticleImported(Article(a), $"Article {a}", "bench", $"sha256:{a:D64}", text, "admin"),
                Article(a));
        }
        var spans = new List<(string Article, AnchorKind Kind, string Id)>();
        var revised = false;
        for (var unit = 0; log.Count < count; unit++)
        {
            if (!revised && log.Count >= count / 2)
            {
                revised = true;
                Revise(Add, spans, text);
            }
            var article = Article(unit % Articles);
            var claim = $"c{unit:D7}";
            var opener = Analyst(unit % Analysts);
            Add(Streams.ArticleClaims(article),
                new ClaimOpened(claim, article, opener, unit % 6000, unit % 6000 + 80, "Unemployment fell to its lowest level",
                    "", "", "The unemployment rate is at a ten-year low."), article);
            spans.Add((article, AnchorKind.Claim, claim));
            for (var s = 0; s < 14; s++)
            {
                var analyst = Analyst((unit + s * 5) % Analysts);
                Add(Streams.Claim(claim), new StanceTaken(claim, analyst, Stances[(unit + s) % Stances.Length],
                    "The cited figure matches the agency's published table for the same quarter.",
                    ValueList.Of(new EvidenceSpan(article, unit % 6000, unit % 6000 + 40, "Unemployment fell to its lowest"))), article);
            }
            if (unit % 5 == 0) Add(Streams.Claim(claim), new StanceWithdrawn(claim, Analyst((unit + 5) % Analysts)), article);
            Add(Streams.Claim(claim), new TagApplied(TagTargetKind.Claim, claim, $"topic-{unit % 12}", opener), article);
            if (unit % 10 == 0)
            {
                Add(Streams.Claim(claim), new ClaimAdjudicated(claim, Analyst(0), Stance.Supports, "Checked against the source.", 16),
                    article);
            }
            if (unit % 20 == 0) Add(Streams.Claim(claim), new ClaimReopened(claim, Analyst(0), "New figures came out."), article);
            for (var h = 0; h < 3; h++)
            {
                var highlight = $"h{unit:D7}-{h}";
                var author = Analyst((unit + h) % Analysts);
                Add(Streams.Highlight(highlight), new HighlightCreated(highlight, article, author, unit % 6000 + h, unit % 6000 + h + 30,
                    "lowest level in a decade", "", "", h == 0 ? "Check this against the quarterly table." : null), article);
                spans.Add((article, AnchorKind.Highlight, highlight));
                Add(Streams.Highlight(highlight), new TagApplied(TagTargetKind.Highlight, highlight, $"topic-{(unit + h) % 12}", author),
                    article);
                if ((unit + h) % 8 == 0)
                {
                    var reply = $"r{unit:D7}-{h}";
                    Add(Streams.Reply(reply), new ReplyPosted(reply, article, ReplyTargetKind.Highlight, highlight, null,
                        Analyst(unit % Analysts),
                        "The table was revised last week."), article);
                }
                if ((unit + h) % 10 == 0) Add(Streams.Highlight(highlight), new HighlightRetracted(highlight, article, author), article);
            }
        }
        return log;
    }

    private static void Revise(
        Action<string, IDomainEvent, string?> add, List<(string Article, AnchorKind Kind, string Id)> spans, string text)
    {
        for (var a = 0; a < 10; a++)
        {
            var article = Article(a);
            add(Streams.Article(article), new ArticleRevised(article, 2, $"sha256:r{a:D63}", "Revised. " + text, "admin", "correction"),
                article);
            var n = 0;
            foreach (var (_, kind, id) in spans.Where(s => s.Article == article))
            {
                add(Streams.Article(article), n++ % 7 == 0
                    ? new SpanOrphaned(article, 2, kind, id, 10, 40, "lowest level", "the quote is gone")
                    : new SpanReanchored(article, 2, kind, id, 10, 40, 19, 49, "lowest level", "", "", ReanchorMethod.Quote, 1.0), article);
            }
        }
    }

    private static string Analyst(int n) => $"analyst-{n:D3}";

    private static string Article(int n) => $"article-{n:D2}";

    /// <summary>The log as Marten events for <c>BulkInsertEventStreamAsync</c> (global order kept), and each stream's version.</summary>
    public static (List<IEvent> Events, Dictionary<string, long> Versions) ForMarten(
        IReadOnlyList<(string Stream, IDomainEvent Data, string? Tag)> log, DateTimeOffset start)
    {
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        var events = new List<IEvent>(log.Count);
        for (var i = 0; i < log.Count; i++)
        {
            var (stream, data, tag) = log[i];
            var version = versions[stream] = versions.GetValueOrDefault(stream) + 1;
            var e = (IEvent)Activator.CreateInstance(typeof(Event<>).MakeGenericType(data.GetType()), data)!;
            e.StreamKey = stream;
            e.Version = version;
            e.Id = Guid.NewGuid();
            e.Timestamp = start.AddMilliseconds(i);
            e.UserName = "bench";
            if (tag is not null) e.SetHeader(EventMetadata.TagHeader, tag);
            events.Add(e);
        }
        return (events, versions);
    }
}
