using Annotate.Contracts.V1;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using MediatR;

namespace Annotate.Server.Features.Discussion;

/// <summary>One reply as the thread shows it, kept by <see cref="ReplyProjection"/> in the append's transaction (Inline), so a
/// command's caller reads its own reply at once.</summary>
public sealed record ReplyDocument
{
    /// <summary>The reply id.</summary>
    public string Id { get; init; } = "";
    public string ArticleId { get; init; } = "";
    public ReplyTargetKind TargetKind { get; init; }
    public string TargetId { get; init; } = "";
    public string? ParentId { get; init; }
    public string Author { get; init; } = "";
    /// <summary>The current text; empty once retracted.</summary>
    public string Body { get; init; } = "";
    /// <summary>Texts replaced by edits, oldest first; emptied on retraction (the events keep them for auditors).</summary>
    public List<ReplyRevisionDocument> Earlier { get; init; } = [];
    public DateTimeOffset BodyWrittenAt { get; init; }
    public bool Retracted { get; init; }
    public DateTimeOffset PostedAt { get; init; }
    public DateTimeOffset? ChangedAt { get; init; }
    public long Position { get; init; }
    public long LastPosition { get; init; }
}

public sealed record ReplyRevisionDocument(string Body, DateTimeOffset WrittenAt);

/// <summary>Folds each reply's events into its <see cref="ReplyDocument"/>. Explicit <see cref="Evolve"/>: no generated code, and
/// the fold reads the event's position and time, which the reply events do not carry.</summary>
public sealed class ReplyProjection : MultiStreamProjection<ReplyDocument, string>
{
    public ReplyProjection()
    {
        Identity<ReplyPosted>(e => e.ReplyId);
        Identity<ReplyEdited>(e => e.ReplyId);
        Identity<ReplyRetracted>(e => e.ReplyId);
    }

    /// <summary>The reply an event's data folds into, or null (the grouping above, and the erasure's refold).</summary>
    public static string? KeyOf(object data) => data switch
    {
        ReplyPosted e => e.ReplyId,
        ReplyEdited e => e.ReplyId,
        ReplyRetracted e => e.ReplyId,
        _ => null,
    };

    public override ReplyDocument? Evolve(ReplyDocument? snapshot, string id, IEvent e) => e.Data switch
    {
        ReplyPosted p => new ReplyDocument
        {
            Id = p.ReplyId,
            ArticleId = p.ArticleId,
            TargetKind = p.TargetKind,
            TargetId = p.TargetId,
            ParentId = p.ParentId,
            Author = p.Analyst,
            Body = p.Body,
            BodyWrittenAt = e.Timestamp,
            PostedAt = e.Timestamp,
            Position = e.Sequence,
            LastPosition = e.Sequence,
        },
        ReplyEdited x when snapshot is not null => snapshot with
        {
            Body = x.Body,
            Earlier = [.. snapshot.Earlier, new ReplyRevisionDocument(snapshot.Body, snapshot.BodyWrittenAt)],
            BodyWrittenAt = e.Timestamp,
            ChangedAt = e.Timestamp,
            LastPosition = e.Sequence,
        },
        ReplyRetracted when snapshot is not null => snapshot with
        {
            Body = "",
            Earlier = [],
            Retracted = true,
            ChangedAt = e.Timestamp,
            LastPosition = e.Sequence,
        },
        _ => snapshot,
    };
}

/// <summary>A claim's or a highlight's thread, in the order posted (any role); on a claim hidden from the caller (blind, no stance
/// of theirs yet) only the caller's own replies: the others' would tell how they stand.</summary>
public static class ListThread
{
    public sealed record Query(ListThreadRequest Request) : IRequest<ListThreadResponse>;

    public sealed class Handler(Views views, IQuerySession session, CallerContext caller) : IRequestHandler<Query, ListThreadResponse>
    {
        public async Task<ListThreadResponse> Handle(Query query, CancellationToken ct)
        {
            var target = await Threads.FindTargetAsync(views, query.Request.Target, ct);
            var replies = await session.Query<ReplyDocument>()
                .Where(x => x.TargetKind == target.Kind && x.TargetId == target.Id)
                .OrderBy(x => x.Position)
                .ToListAsync(ct);
            var who = caller.Caller;
            var hidden = target.Kind == ReplyTargetKind.Claim && await Claims.BlindClaims.HiddenFromAsync(session, target.Id, who, ct);
            var response = new ListThreadResponse { Hidden = hidden };
            response.Replies.AddRange(replies.Where(x => !hidden || x.Author == who.AnalystId).Select(Threads.ToProto));
            return response;
        }
    }
}

/// <summary>What the discussion features share: finding a thread's target and the reply's contract form.</summary>
public static class Threads
{
    /// <summary>The claim a reply hangs on, or null for a highlight's.</summary>
    public static string? ClaimOf(ReplyDocument d) => d.TargetKind == ReplyTargetKind.Claim ? d.TargetId : null;

    /// <summary>The claim or highlight a request names: NOT_FOUND when there is none (a retracted highlight included).</summary>
    public static async Task<Domain.Discussion.ReplyTarget> FindTargetAsync(
        Views views, Contracts.V1.ReplyTarget? target, CancellationToken ct)
    {
        switch (target?.TargetCase)
        {
            case Contracts.V1.ReplyTarget.TargetOneofCase.ClaimId when target.ClaimId.Length > 0:
                var claim = await views.ClaimDocumentAsync(target.ClaimId, ct);
                return new(ReplyTargetKind.Claim, target.ClaimId, claim.ArticleId, Open: true);
            case Contracts.V1.ReplyTarget.TargetOneofCase.HighlightId when target.HighlightId.Length > 0:
                var highlight = await views.LoadAsync<Annotations.HighlightView>(target.HighlightId, ct)
                    ?? throw ErrorMapping.NotFound($"highlight_id \"{target.HighlightId}\" names no highlight (or it was retracted).");
                return new(ReplyTargetKind.Highlight, target.HighlightId, highlight.ArticleId, Open: true);
            default:
                throw ErrorMapping.Invalid("target needs a claim_id or a highlight_id.");
        }
    }

    public static Reply ToProto(ReplyDocument d)
    {
        var reply = new Reply
        {
            ReplyId = d.Id,
            ArticleId = d.ArticleId,
            Target = d.TargetKind == ReplyTargetKind.Claim
                ? new Contracts.V1.ReplyTarget { ClaimId = d.TargetId }
                : new Contracts.V1.ReplyTarget { HighlightId = d.TargetId },
            ParentId = d.ParentId ?? "",
            Author = d.Author,
            Body = d.Body,
            Retracted = d.Retracted,
            PostedAt = Mapping.ToTimestamp(d.PostedAt),
            ChangedAt = d.ChangedAt is { } changed ? Mapping.ToTimestamp(changed) : null,
            Position = (ulong)d.Position,
            LastPosition = (ulong)d.LastPosition,
        };
        reply.Earlier.AddRange(d.Earlier.Select(r => new ReplyRevision { Body = r.Body, WrittenAt = Mapping.ToTimestamp(r.WrittenAt) }));
        return reply;
    }
}
