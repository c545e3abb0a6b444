using System.Runtime.CompilerServices;
using Annotate.Contracts.V1;
using Annotate.EventStore;
using Annotate.EventStore.Chain;
using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using MediatR;

namespace Annotate.Server.Features.Audit;

/// <summary>
/// The event log as stored, with the chain's digests and links, for verification without the server (auditor or admin).
/// The texts are PostgreSQL's own jsonb text, the bytes the digests cover; a token's data is withheld (its secret hash never
/// leaves the server) and only its digest is sent, which still lets the link be recomputed.
/// </summary>
public static class ExportLog
{
    /// <summary>Stored types whose data is never exported.</summary>
    private static readonly HashSet<string> Withheld = new(StringComparer.Ordinal) { "token-issued.v1" };

    public sealed record Query(ExportLogRequest Request) : IRequest<IAsyncEnumerable<ExportedEvent>>;

    public sealed class Handler(ReadReplica reads) : IRequestHandler<Query, IAsyncEnumerable<ExportedEvent>>
    {
        public async Task<IAsyncEnumerable<ExportedEvent>> Handle(Query query, CancellationToken ct)
        {
            var r = query.Request;
            var store = (await reads.ViewsAsync((long)r.ToPosition, ct)).Store;
            var head = await store.GetHeadPositionAsync(ct);
            var to = r.ToPosition == 0 ? head : Math.Min((long)r.ToPosition, head);
            if (r.ToPosition != 0 && r.ToPosition < r.AfterPosition)
                throw ErrorMapping.Invalid($"to_position {r.ToPosition} is before after_position {r.AfterPosition}.");
            return Stream(store, (long)r.AfterPosition, to, ct);
        }

        private static async IAsyncEnumerable<ExportedEvent> Stream(
            MartenEventStore store,
            long after,
            long to,
            [EnumeratorCancellation] CancellationToken ct)
        {
            await foreach (var p in store.ExportAsync(after, to, ct))
            {
                var e = new ExportedEvent
                {
                    Position = (ulong)p.Position,
                    HasEvent = p.HasEvent,
                    DataDigest = Hex(p.DataDigest),
                    MetadataDigest = Hex(p.MetadataDigest),
                    Link = Hex(p.Link),
                };
                if (p.HasEvent)
                {
                    var withheld = Withheld.Contains(p.Type!);
                    e.StreamId = p.StreamId;
                    e.StreamVersion = p.StreamVersion;
                    e.EventId = p.EventId.ToString("D");
                    e.Type = p.Type;
                    e.RecordedAt = EventChain.FormatRecordedAt(p.RecordedAt);
                    e.DataJson = withheld ? "" : p.DataText;
                    e.DataWithheld = withheld;
                    e.MetadataJson = p.MetadataText;
                }
                if (p.Legacy is { } l)
                {
                    var withheld = Withheld.Contains(l.Type);
                    e.Legacy = new Contracts.V1.LegacyRecord
                    {
                        StreamId = l.StreamId,
                        StreamVersion = l.StreamVersion,
                        EventId = l.EventId.ToString("D"),
                        Type = l.Type,
                        RecordedAt = EventChain.FormatRecordedAt(l.RecordedAt),
                        DataText = withheld ? "" : l.DataText,
                        DataWithheld = withheld,
                        MetadataText = l.MetadataText,
                    };
                }
                yield return e;
            }
        }

        private static string Hex(byte[]? bytes) => bytes is null ? "" : Convert.ToHexStringLower(bytes);
    }
}
