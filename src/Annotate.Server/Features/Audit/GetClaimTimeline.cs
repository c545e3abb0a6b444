using System.Globalization;
using Annotate.Contracts.V1;
using Annotate.Domain.Consensus;
using Annotate.EventStore;
using Annotate.Server.Infrastructure;
using Google.Protobuf.WellKnownTypes;
using MediatR;

namespace Annotate.Server.Features.Audit;

/// <summary>
/// A claim's "blame": its events folded one by one with <see cref="ConsensusProjection"/> (the fold behind the live and
/// as-of views), an entry for each event that changes the status, the leading stance or the agreement, and why the claim
/// has its status at the end of the range. The fold starts at the opening whatever the range, so the "before" of the
/// first entry shown is the real one.
/// </summary>
public static class GetClaimTimeline
{
    public sealed record Query(GetClaimTimelineRequest Request) : IRequest<ClaimTimeline>;

    public sealed class Handler(Views views, MartenEventStore store, ConsensusPolicy policy) : IRequestHandler<Query, ClaimTimeline>
    {
        public async Task<ClaimTimeline> Handle(Query query, CancellationToken ct)
        {
            var r = query.Request;
            if (r.ClaimId.Length == 0) throw ErrorMapping.Invalid("claim_id is required.");
            var articleId = (await views.ClaimDocumentAsync(r.ClaimId, ct)).ArticleId;
            var (toPosition, toTime) = AsOfPoint.From(r.Until);
            var through = await AsOfPoint.PositionAsync(views, toPosition, toTime, ct);
            var (sincePosition, sinceTime) = Since(r.Since);

            var timeline = new ClaimTimeline { ClaimId = r.ClaimId, ArticleId = articleId, ThroughPosition = (ulong)through };
            ClaimConsensus? view = null;
            ClaimView? before = null;
            // The claim's events are tagged with its article: the article's part of the log holds them all.
            var ofArticle = new Annotate.EventStore.EventFilter(Tag: articleId);
            await foreach (var e in store.ReadAllAsync(0, ofArticle, long.MaxValue, through, null, ct))
            {
                if (EventCodec.ClaimIdOf(e) != r.ClaimId) continue;
                var next = ConsensusProjection.Evolve(view, EventCodec.Positioned(e), policy);
                if (next is null || ReferenceEquals(next, view)) continue;
                view = next;
                var after = Mapping.ToProto(next, policy);
                var changed = Changes(before, after);
                if (changed.Count > 0 && e.Position >= sincePosition && (sinceTime is not { } t || e.RecordedAt >= t))
                {
                    var entry = new TimelineEntry
                    {
                        Position = (ulong)e.Position,
                        RecordedAt = Timestamp.FromDateTime(DateTime.SpecifyKind(e.RecordedAt, DateTimeKind.Utc)),
                        Analyst = e.Metadata.Actor ?? "",
                        EventType = e.Type,
                        EventId = e.EventId.ToString("D"),
                        Before = Moment(before),
                        After = Moment(after),
                    };
                    entry.Changed.AddRange(changed);
                    timeline.Entries.Add(entry);
                }
                before = after;
            }
            if (before is null) throw ErrorMapping.NotFound($"Claim {r.ClaimId} did not exist yet at that point of the history.");
            timeline.Statement = before.Statement;
            timeline.Why = Why(before, policy);
            return timeline;
        }

        private static (long Position, DateTime? Time) Since(AsOf? since) => since?.PointCase switch
        {
            AsOf.PointOneofCase.Position => ((long)since.Position, null),
            AsOf.PointOneofCase.Time => (0, since.Time.ToDateTime()),
            _ => (0, null),
        };

        private static List<string> Changes(ClaimView? before, ClaimView after)
        {
            if (before is null) return ["status", "leading_stance", "agreement"];
            var changed = new List<string>(3);
            if (before.Status != after.Status) changed.Add("status");
            if (before.LeadingStance != after.LeadingStance) changed.Add("leading_stance");
            // Both are the same division of small integers, so equal shares compare equal.
            if (before.Agreement != after.Agreement) changed.Add("agreement");
            return changed;
        }

        private static ConsensusMoment Moment(ClaimView? v)
        {
            var m = new ConsensusMoment();
            if (v is null) return m;
            m.Status = v.Status;
            m.LeadingStance = v.LeadingStance;
            m.Tallies.AddRange(v.Tallies);
            m.Agreement = v.Agreement;
            m.Verdict = v.Adjudication?.Verdict ?? Stance.Unspecified;
            return m;
        }

        /// <summary>The adjudication while adjudicated; else the stances that decide the status, and the rule in one sentence.</summary>
        private static StatusReason Why(ClaimView v, ConsensusPolicy policy)
        {
            var total = v.Stances.Count;
            var rule = $"{policy.ThresholdNumerator}/{policy.ThresholdDenominator} of the current stances, and at least " +
                       $"{policy.Quorum}, decide";
            var why = new StatusReason
            {
                Status = v.Status,
                CurrentStances = (uint)total,
                Quorum = (uint)policy.Quorum,
                Threshold = policy.Threshold,
            };
            switch (v.Status)
            {
                case ClaimStatus.Adjudicated:
                    why.Adjudication = v.Adjudication;
                    why.Explanation = $"adjudicated {Name(v.Adjudication.Verdict)} by {v.Adjudication.Adjudicator}; the verdict " +
                                      $"overrides the {total} current stance(s) until the claim is reopened";
                    break;
                case ClaimStatus.Pending:
                    why.Stances.AddRange(v.Stances);
                    why.Explanation = $"{total} current stance(s), fewer than the quorum of {policy.Quorum}";
                    break;
                case ClaimStatus.Contested:
                    why.Stances.AddRange(v.Stances);
                    why.Explanation = $"no single stance holds the threshold among {total} current stances; {rule}";
                    break;
                default:
                    var leaders = v.Stances.Where(s => s.Stance == v.LeadingStance).ToList();
                    why.Stances.AddRange(leaders);
                    why.Explanation = $"{leaders.Count} of {total} current stances {Name(v.LeadingStance)}; {rule}";
                    break;
            }
            return why;
        }

        /// <summary>The contract's name of a stance without its prefix, e.g. NEEDS_CONTEXT.</summary>
        private static string Name(Stance s) =>
            string.Concat(s.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : char.ToUpperInvariant(c).ToString()));
    }
}
