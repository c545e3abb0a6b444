using System.Text.Json.Nodes;
using Annotate.Contracts.V1;
using Annotate.Domain.Anchoring;
using Annotate.Domain.Consensus;
using Annotate.EventStore;
using Google.Protobuf.WellKnownTypes;
using DomainRole = Annotate.Domain.Events.Role;
using DomainSelector = Annotate.Domain.Anchoring.Selector;
using DomainStance = Annotate.Domain.Events.Stance;
using ProtoRole = Annotate.Contracts.V1.Role;
using ProtoSelector = Annotate.Contracts.V1.Selector;
using ProtoStance = Annotate.Contracts.V1.Stance;

namespace Annotate.Server.Infrastructure;

/// <summary>Conversions between the contract's messages and the domain's values. No logic beyond shape.</summary>
public static class Mapping
{
    public static DomainStance ToDomain(ProtoStance stance, string field = "stance") => stance switch
    {
        ProtoStance.Supports => DomainStance.Supports,
        ProtoStance.Refutes => DomainStance.Refutes,
        ProtoStance.NeedsContext => DomainStance.NeedsContext,
        ProtoStance.Unverifiable => DomainStance.Unverifiable,
        _ => throw ErrorMapping.Invalid($"{field} must be one of SUPPORTS, REFUTES, NEEDS_CONTEXT, UNVERIFIABLE."),
    };

    public static ProtoStance ToProto(DomainStance stance) => stance switch
    {
        DomainStance.Supports => ProtoStance.Supports,
        DomainStance.Refutes => ProtoStance.Refutes,
        DomainStance.NeedsContext => ProtoStance.NeedsContext,
        DomainStance.Unverifiable => ProtoStance.Unverifiable,
        _ => ProtoStance.Unspecified,
    };

    public static ClaimStatus ToProto(ConsensusStatus status) => status switch
    {
        ConsensusStatus.Pending => ClaimStatus.Pending,
        ConsensusStatus.Supported => ClaimStatus.Supported,
        ConsensusStatus.Refuted => ClaimStatus.Refuted,
        ConsensusStatus.NeedsContext => ClaimStatus.NeedsContext,
        ConsensusStatus.Unverifiable => ClaimStatus.Unverifiable,
        ConsensusStatus.Contested => ClaimStatus.Contested,
        ConsensusStatus.Adjudicated => ClaimStatus.Adjudicated,
        _ => ClaimStatus.Unspecified,
    };

    public static DomainRole ToDomain(ProtoRole role) => role switch
    {
        ProtoRole.Analyst => DomainRole.Analyst,
        ProtoRole.Adjudicator => DomainRole.Adjudicator,
        ProtoRole.Auditor => DomainRole.Auditor,
        ProtoRole.Admin => DomainRole.Admin,
        _ => throw ErrorMapping.Invalid("roles must be ANALYST, ADJUDICATOR, AUDITOR or ADMIN."),
    };

    public static ProtoRole ToProto(DomainRole role) => role switch
    {
        DomainRole.Analyst => ProtoRole.Analyst,
        DomainRole.Adjudicator => ProtoRole.Adjudicator,
        DomainRole.Auditor => ProtoRole.Auditor,
        DomainRole.Admin => ProtoRole.Admin,
        _ => ProtoRole.Unspecified,
    };

    /// <summary>A request's selector; an unset position stays unset (proto3 would read it as 0..0).</summary>
    public static DomainSelector ToDomain(ProtoSelector? selector, string field = "selector")
    {
        if (selector is null || (selector.Position is null && string.IsNullOrEmpty(selector.Quote?.Exact)))
        {
            throw ErrorMapping.Invalid($"{field} needs a position (start, end) or a quote (exact text).");
        }
        var position = selector.Position is { } p
            ? new Annotate.Domain.Anchoring.TextPosition(checked((int)p.Start), checked((int)p.End))
            : null;
        var quote = string.IsNullOrEmpty(selector.Quote?.Exact)
            ? null
            : new Annotate.Domain.Anchoring.TextQuote(
                selector.Quote.Exact,
                NullIfEmpty(selector.Quote.Prefix),
                NullIfEmpty(selector.Quote.Suffix));
        return new DomainSelector(position, quote);
    }

    public static ProtoSelector ToProto(int start, int end, string exact, string prefix, string suffix) => new()
    {
        Position = new Contracts.V1.TextPosition { Start = (uint)start, End = (uint)end },
        Quote = new Contracts.V1.TextQuote { Exact = exact, Prefix = prefix, Suffix = suffix },
    };

    public static ProtoSelector ToProto(ResolvedAnchor a) => ToProto(a.Start, a.End, a.Exact, a.Prefix, a.Suffix);

    public static Timestamp ToTimestamp(DateTimeOffset t) => Timestamp.FromDateTimeOffset(t);

    public static Timestamp ToTimestamp(DateTime utc) => Timestamp.FromDateTime(DateTime.SpecifyKind(utc, DateTimeKind.Utc));

    /// <summary>Which revision a span is on and how it got there (a view stored before revisions existed has no anchor: its
    /// span is on revision 1).</summary>
    public static AnchorState ToProto(SpanAnchor? anchor)
    {
        if (anchor is null) return new AnchorState { Revision = 1, Status = AnchorStatus.Anchored };
        var state = new AnchorState
        {
            Revision = (uint)(anchor.Revision > 0 ? anchor.Revision : anchor.Orphaned ? anchor.OrphanedOnRevision - 1 : 1),
            Status = anchor.Orphaned ? AnchorStatus.Orphaned
                : anchor.ReattachedBy is not null ? AnchorStatus.Reattached
                : anchor.Method is null ? AnchorStatus.Anchored : AnchorStatus.Reanchored,
            ReattachedBy = anchor.ReattachedBy ?? "",
            Score = anchor.Score,
            OrphanedOnRevision = (uint)anchor.OrphanedOnRevision,
            Reason = anchor.OrphanReason ?? "",
        };
        state.Method = anchor.Method switch
        {
            Domain.Events.ReanchorMethod.Position => Contracts.V1.ReanchorMethod.Position,
            Domain.Events.ReanchorMethod.Quote => Contracts.V1.ReanchorMethod.Quote,
            Domain.Events.ReanchorMethod.Fuzzy => Contracts.V1.ReanchorMethod.Fuzzy,
            _ => Contracts.V1.ReanchorMethod.Unspecified,
        };
        return state;
    }

    /// <summary>An evidence span's anchor; one without (a view stored before evidence was anchored) is on an unknown
    /// revision (0).</summary>
    private static AnchorState EvidenceAnchor(SpanAnchor? anchor) =>
        anchor is null || (anchor.Revision == 0 && !anchor.Orphaned)
            ? new AnchorState { Revision = 0, Status = AnchorStatus.Anchored }
            : ToProto(anchor);

    public static ClaimView ToProto(ClaimConsensus c, ConsensusPolicy policy)
    {
        var view = new ClaimView
        {
            ClaimId = c.ClaimId,
            ArticleId = c.ArticleId,
            Statement = c.Statement,
            Selector = ToProto(c.Start, c.End, c.Exact, c.Prefix, c.Suffix),
            OpenedBy = c.OpenedBy,
            Status = ToProto(c.Status),
            Agreement = c.Agreement,
            Quorum = (uint)policy.Quorum,
            Threshold = policy.Threshold,
            Version = c.Version,
            LastPosition = (ulong)c.LastPosition,
            LastEventAt = ToTimestamp(c.LastRecordedAt),
            Anchor = ToProto(c.Anchor),
        };
        view.Tallies.AddRange(
            c.Tallies.Where(t => t.Count > 0)
                .Select(t => new Contracts.V1.StanceTally { Stance = ToProto(t.Stance), Count = (uint)t.Count }));
        var leaders = c.Tallies.Where(t => t.Count > 0 && t.Count == c.Tallies.Max(x => x.Count)).ToList();
        view.LeadingStance = leaders.Count == 1 ? ToProto(leaders[0].Stance) : ProtoStance.Unspecified;
        foreach (var s in c.Stances)
        {
            var current = new Contracts.V1.CurrentStance { Analyst = s.Analyst, Stance = ToProto(s.Stance), Rationale = s.Rationale };
            if (s.TakenAt is { } takenAt) current.TakenAt = ToTimestamp(takenAt);
            current.Evidence.AddRange(c.Evidence.Where(e => e.Analyst == s.Analyst).Select(e => new ArticleSpan
            {
                ArticleId = e.ArticleId,
                Selector = new ProtoSelector
                {
                    Position = new Contracts.V1.TextPosition { Start = (uint)e.Start, End = (uint)e.End },
                    Quote = new Contracts.V1.TextQuote { Exact = e.Exact },
                },
            }));
            view.Stances.Add(current);
        }
        view.Tags.AddRange(c.Tags.Select(t => new Contracts.V1.TagSupport { Tag = t.Tag, Analysts = { t.Analysts } }));
        view.Evidence.AddRange(c.Evidence.Select(e => new Evidence
        {
            Analyst = e.Analyst,
            Stance = ToProto(e.Stance),
            Span = new ArticleSpan
            {
                ArticleId = e.ArticleId,
                Selector = new ProtoSelector
                {
                    Position = new Contracts.V1.TextPosition { Start = (uint)e.Start, End = (uint)e.End },
                    Quote = new Contracts.V1.TextQuote { Exact = e.Exact },
                },
            },
            Anchor = EvidenceAnchor(e.Anchor),
        }));
        view.Contributors.AddRange(c.Contributors);
        if (c.Status == ConsensusStatus.Adjudicated && c.Verdict is { } verdict)
        {
            view.Adjudication = new Adjudication
            {
                Verdict = ToProto(verdict),
                Rationale = c.AdjudicationRationale ?? "",
                Adjudicator = c.Adjudicator ?? "",
                AdjudicatedAt = ToTimestamp(c.AdjudicatedAt ?? c.LastRecordedAt), // views stored before AdjudicatedAt existed lack it
            };
        }
        return view;
    }

    public static HistoryEvent ToProto(RecordedEvent e) => new()
    {
        Position = (ulong)e.Position,
        StreamId = e.StreamId,
        StreamVersion = e.StreamVersion,
        EventId = e.EventId.ToString(),
        Type = e.Type,
        RecordedAt = Timestamp.FromDateTime(DateTime.SpecifyKind(e.RecordedAt, DateTimeKind.Utc)),
        Actor = e.Metadata.Actor ?? "",
        ArticleId = e.Metadata.Tag ?? "",
        ClaimId = EventCodec.ClaimIdOf(e) ?? "",
        DataJson = PublicData(e),
        Hash = e.HashHex,
        RequestId = e.Metadata.CorrelationId ?? "",
    };

    /// <summary>
    /// An event's data as clients see it (the domain's JSON form): a token's secret hash never leaves the server. Its value is
    /// replaced, not its field removed, so the event keeps its stored shape for clients that decode it (the audit chain covers the
    /// original).
    /// </summary>
    private static string PublicData(RecordedEvent e)
    {
        var domainEvent = EventCodec.Decode(e);
        if (domainEvent is not Annotate.Domain.Events.TokenIssued) return Annotate.Domain.Events.EventTypes.Serialize(domainEvent);
        var data = System.Text.Json.JsonSerializer
            .SerializeToNode(domainEvent, domainEvent.GetType(), Annotate.Domain.Events.EventTypes.JsonOptions)!
            .AsObject();
        data["secretHash"] = Redacted;
        return data.ToJsonString();
    }

    /// <summary>What event data shows in place of a secret hash.</summary>
    public const string Redacted = "redacted";

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
