using Annotate.Contracts.V1;
using Annotate.Domain.Events;
using Annotate.Domain.Tags;
using Annotate.Server.Features.Claims;
using Annotate.Server.Features.Consensus;
using Annotate.Server.Infrastructure;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Marten.Schema.Indexing.FullText;
using MediatR;
using Role = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.Search;

/// <summary>
/// One searchable text as it stands now: an article, a highlight's note, a claim's statement, an analyst's current rationale on a
/// claim, or a reply. Kept by <see cref="SearchEntryProjection"/> in the append's transaction; <see cref="Text"/> carries the
/// full-text index (MartenSetup).
/// </summary>
public sealed record SearchEntry
{
    /// <summary>"article:{id}", "highlight:{id}", "claim:{id}", "stance:{claim}:{analyst}" or "reply:{id}".</summary>
    public string Id { get; init; } = "";
    public SearchHitKind Kind { get; init; }
    public string ArticleId { get; init; } = "";
    public string? ClaimId { get; init; }
    public string? HighlightId { get; init; }
    public string? ReplyId { get; init; }
    /// <summary>"claim:{id}" or "highlight:{id}": what carries tags for the tag filter (null for an article).</summary>
    public string? Target { get; init; }
    public string Analyst { get; init; } = "";
    public string Text { get; init; } = "";
    /// <summary>What a hit shows (an article's title; the text otherwise).</summary>
    public string Display { get; init; } = "";
    public DateTimeOffset WrittenAt { get; init; }
    public long Position { get; init; }
}

/// <summary>The tags currently on a highlight or a claim, with who applied each (a tag stays while anyone applies it).</summary>
public sealed record TargetTags
{
    /// <summary>"claim:{id}" or "highlight:{id}".</summary>
    public string Id { get; init; } = "";
    public List<string> Tags { get; init; } = [];
    public List<string> Applications { get; init; } = [];
}

public sealed class SearchEntryProjection : MultiStreamProjection<SearchEntry, string>
{
    /// <summary>
    /// Longest article text indexed, in UTF-16 units. PostgreSQL refuses a tsvector over 1 MB, which would fail the import's
    /// transaction; news articles are far shorter, and the rest of a longer text is not searchable.
    /// </summary>
    public const int MaxIndexedText = 200_000;

    public SearchEntryProjection()
    {
        Identity<ArticleImported>(e => KeyOf(e)!);
        Identity<ArticleRevised>(e => KeyOf(e)!);
        Identity<HighlightCreated>(e => KeyOf(e)!);
        Identity<HighlightRetracted>(e => KeyOf(e)!);
        Identity<ClaimOpened>(e => KeyOf(e)!);
        Identity<StanceTaken>(e => KeyOf(e)!);
        Identity<StanceWithdrawn>(e => KeyOf(e)!);
        Identity<ReplyPosted>(e => KeyOf(e)!);
        Identity<ReplyEdited>(e => KeyOf(e)!);
        Identity<ReplyRetracted>(e => KeyOf(e)!);
    }

    /// <summary>The entry an event's data folds into, or null when it feeds none (the grouping above, and the erasure's refold).</summary>
    public static string? KeyOf(object data) => data switch
    {
        ArticleImported e => $"article:{e.ArticleId}",
        ArticleRevised e => $"article:{e.ArticleId}",
        HighlightCreated e => $"highlight:{e.HighlightId}",
        HighlightRetracted e => $"highlight:{e.HighlightId}",
        ClaimOpened e => $"claim:{e.ClaimId}",
        StanceTaken e => $"stance:{e.ClaimId}:{e.Analyst}",
        StanceWithdrawn e => $"stance:{e.ClaimId}:{e.Analyst}",
        ReplyPosted e => $"reply:{e.ReplyId}",
        ReplyEdited e => $"reply:{e.ReplyId}",
        ReplyRetracted e => $"reply:{e.ReplyId}",
        _ => null,
    };

    public override SearchEntry? Evolve(SearchEntry? snapshot, string id, IEvent e)
    {
        var at = new SearchEntry { Id = id, WrittenAt = e.Timestamp, Position = e.Sequence };
        return e.Data switch
        {
            ArticleImported a => at with
            {
                Kind = SearchHitKind.Article,
                ArticleId = a.ArticleId,
                Analyst = a.ImportedBy,
                Display = a.Title,
                Text = $"{a.Title}\n{(a.Text.Length > MaxIndexedText ? a.Text[..MaxIndexedText] : a.Text)}",
            },
            // A revision's text replaces the article's (the title stays; the entry keeps its importer).
            ArticleRevised r when snapshot is not null => snapshot with
            {
                WrittenAt = e.Timestamp,
                Position = e.Sequence,
                Text = $"{snapshot.Display}\n{(r.Text.Length > MaxIndexedText ? r.Text[..MaxIndexedText] : r.Text)}",
            },
            HighlightCreated { Note: { Length: > 0 } note } h => at with
            {
                Kind = SearchHitKind.HighlightNote,
                ArticleId = h.ArticleId,
                HighlightId = h.HighlightId,
                Target = $"highlight:{h.HighlightId}",
                Analyst = h.Analyst,
                Text = note,
                Display = note,
            },
            ClaimOpened c => at with
            {
                Kind = SearchHitKind.ClaimStatement,
                ArticleId = c.ArticleId,
                ClaimId = c.ClaimId,
                Target = $"claim:{c.ClaimId}",
                Analyst = c.Analyst,
                Text = c.Statement,
                Display = c.Statement,
            },
            // A stance does not carry its claim's article; the append's tag header (Commands) does.
            StanceTaken { Rationale: { Length: > 0 } rationale } s => at with
            {
                Kind = SearchHitKind.Rationale,
                ArticleId = e.Headers?.GetValueOrDefault(Annotate.EventStore.EventMetadata.TagHeader)?.ToString() ?? "",
                ClaimId = s.ClaimId,
                Target = $"claim:{s.ClaimId}",
                Analyst = s.Analyst,
                Text = rationale,
                Display = rationale,
            },
            ReplyPosted r => at with
            {
                Kind = SearchHitKind.Reply,
                ArticleId = r.ArticleId,
                ReplyId = r.ReplyId,
                ClaimId = r.TargetKind == ReplyTargetKind.Claim ? r.TargetId : null,
                HighlightId = r.TargetKind == ReplyTargetKind.Highlight ? r.TargetId : null,
                Target = $"{(r.TargetKind == ReplyTargetKind.Claim ? "claim" : "highlight")}:{r.TargetId}",
                Analyst = r.Analyst,
                Text = r.Body,
                Display = r.Body,
            },
            ReplyEdited x when snapshot is not null =>
                snapshot with { Text = x.Body, Display = x.Body, WrittenAt = e.Timestamp, Position = e.Sequence },
            // Retracted, withdrawn, a stance without rationale, a highlight without note: nothing to find.
            _ => null,
        };
    }
}

public sealed class TargetTagsProjection : MultiStreamProjection<TargetTags, string>
{
    public TargetTagsProjection()
    {
        Identity<TagApplied>(e => Key(e.TargetKind, e.TargetId));
        Identity<TagRemoved>(e => Key(e.TargetKind, e.TargetId));
    }

    private static string Key(TagTargetKind kind, string id) => $"{(kind == TagTargetKind.Claim ? "claim" : "highlight")}:{id}";

    public override TargetTags? Evolve(TargetTags? snapshot, string id, IEvent e)
    {
        var doc = snapshot ?? new TargetTags { Id = id };
        var applications = e.Data switch
        {
            TagApplied a => doc.Applications.Append($"{a.Tag}\n{a.Analyst}").Distinct(StringComparer.Ordinal).ToList(),
            TagRemoved r => doc.Applications.Where(x => x != $"{r.Tag}\n{r.Analyst}").ToList(),
            _ => doc.Applications,
        };
        return doc with
        {
            Applications = applications,
            Tags = [.. applications.Select(x => x[..x.IndexOf('\n', StringComparison.Ordinal)]).Distinct(StringComparer.Ordinal)],
        };
    }
}

/// <summary>Full-text search through Marten: web-style query over <see cref="SearchEntry.Text"/>'s index, ranked by ts_rank (equal ranks in
/// the order PostgreSQL returns them).</summary>
public static class Search
{
    public const int MaxQuery = 500;
    public sealed record Query(SearchRequest Request) : IRequest<SearchResponse>;

    public sealed class Handler(Hosting.ReadReplica reads, CallerContext caller, Domain.Consensus.ConsensusPolicy policy)
        : IRequestHandler<Query, SearchResponse>
    {
        public Task<SearchResponse> Handle(Query query, CancellationToken ct) =>
            reads.ReadAsync(0, async views =>
            {
                await using var session = views.QuerySession();
                return await SearchAsync(session, query.Request, ct);
            }, ct);

        private async Task<SearchResponse> SearchAsync(IQuerySession session, SearchRequest r, CancellationToken ct)
        {
            var words = r.Query.Trim();
            if (!words.Any(char.IsLetterOrDigit)) throw ErrorMapping.Invalid("query needs at least one word.");
            var size = r.Page is null || r.Page.PageSize == 0 ? Paging.DefaultSize : (int)r.Page.PageSize;
            if (size > Paging.MaxSize) throw ErrorMapping.Invalid($"page_size may be at most {Paging.MaxSize}.");
            var offset = 0;
            if (r.Page is { PageToken.Length: > 0 } && (!int.TryParse(r.Page.PageToken, out offset) || offset < 0))
                throw ErrorMapping.Invalid("page_token is not one this search gave; start again without it.");

            IQueryable<SearchEntry> q = session.Query<SearchEntry>().Where(x => x.WebStyleSearch(words));
            if (r.ArticleId.Length > 0) q = q.Where(x => x.ArticleId == r.ArticleId);
            if (r.AnalystId.Length > 0) q = q.Where(x => x.Analyst == r.AnalystId);
            if (r.From is { } from) { var t = from.ToDateTimeOffset(); q = q.Where(x => x.WrittenAt >= t); }
            if (r.To is { } to) { var t = to.ToDateTimeOffset(); q = q.Where(x => x.WrittenAt < t); }
            if (r.Tag.Length > 0)
            {
                var tag = TagName.Normalize(r.Tag).OrThrow();
                var targets = (await session.Query<TargetTags>()
                    .Where(x => x.Tags.Contains(tag))
                    .Select(x => x.Id)
                    .ToListAsync(ct)).ToArray();
                // Others' tags on claims hidden from the caller do not count: finding the claim by them would show them.
                var hiddenTargets = (await HiddenClaimsAsync(session, ct)).Select(id => $"claim:{id}").ToHashSet(StringComparer.Ordinal);
                targets = [.. targets.Where(t => !hiddenTargets.Contains(t))];
                q = q.Where(x => x.Target != null && targets.Contains(x.Target));
            }
            // Rationales, and others' replies, on claims hidden from the caller are never found.
            var hidden = await HiddenClaimsAsync(session, ct);
            var me = caller.Caller.AnalystId;
            if (hidden.Length > 0)
            {
                q = q.Where(x => x.Kind != SearchHitKind.Rationale || !hidden.Contains(x.ClaimId!));
                q = q.Where(x => x.Kind != SearchHitKind.Reply || x.ClaimId == null || !hidden.Contains(x.ClaimId) || x.Analyst == me);
            }
            if (r.Statuses.Count > 0)
            {
                var claims = await ClaimsWithStatusAsync(session, r, hidden, ct);
                q = q.Where(x => x.ClaimId != null && claims.Contains(x.ClaimId));
            }
            var page = await q.OrderByTextRank(words, TextSearchFunction.WebStyle)
                .Skip(offset).Take(size + 1).ToListAsync(ct);
            var response = new SearchResponse
            {
                NextPageToken = page.Count > size ? (offset + size).ToString(System.Globalization.CultureInfo.InvariantCulture) : "",
            };
            response.Hits.AddRange(page.Take(size).Select(ToProto));
            return response;
        }

        private async Task<string[]> HiddenClaimsAsync(IQuerySession session, CancellationToken ct)
        {
            var who = caller.Caller;
            if (who.Has(Role.Adjudicator) || who.Has(Role.Auditor) || who.Has(Role.Admin)) return [];
            var blind = await session.Query<BlindClaimDocument>().Where(x => x.Blind && !x.Revealed).ToListAsync(ct);
            return [.. blind.Where(d => BlindClaims.HiddenFrom(d, who)).Select(d => d.Id)];
        }

        /// <summary>Claims (of the article when one is named) whose status, as the caller may see it, is one of the filter's.</summary>
        private async Task<string[]> ClaimsWithStatusAsync(IQuerySession session, SearchRequest r, string[] hidden, CancellationToken ct)
        {
            var query = session.Query<ClaimDocument>();
            var docs = r.ArticleId.Length > 0
                ? await query.Where(c => c.ArticleId == r.ArticleId).ToListAsync(ct)
                : await query.ToListAsync(ct);
            var wanted = r.Statuses.ToHashSet();
            return [.. docs.Select(d => d.View)
                .Where(c => !hidden.Contains(c.ClaimId) && wanted.Contains(Mapping.ToProto(c, policy).Status))
                .Select(c => c.ClaimId)];
        }
    }

    public static SearchHit ToProto(SearchEntry e) => new()
    {
        Kind = e.Kind,
        ArticleId = e.ArticleId,
        ClaimId = e.ClaimId ?? "",
        HighlightId = e.HighlightId ?? "",
        ReplyId = e.ReplyId ?? "",
        Analyst = e.Analyst,
        Text = e.Display.Length > 300 ? e.Display[..299] + "…" : e.Display,
        WrittenAt = Mapping.ToTimestamp(e.WrittenAt),
        Position = (ulong)e.Position,
    };
}
