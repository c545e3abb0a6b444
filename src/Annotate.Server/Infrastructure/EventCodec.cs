using System.Security.Cryptography;
using System.Text;
using Annotate.Domain.Claims;
using Annotate.Domain.Consensus;
using Annotate.Domain.Events;
using Annotate.EventStore;

namespace Annotate.Server.Infrastructure;

/// <summary>Domain events to and from the store's records.</summary>
public static class EventCodec
{
    public static EventData ToEventData(IDomainEvent e, Guid eventId, EventMetadata metadata) => new(eventId, e, metadata);

    public static IDomainEvent Decode(RecordedEvent e) =>
        e.Data as IDomainEvent ?? throw new InvalidOperationException($"Event {e.Position} ({e.Type}) is not a domain event.");

    public static PositionedEvent Positioned(RecordedEvent e) =>
        new(e.Position, new DateTimeOffset(DateTime.SpecifyKind(e.RecordedAt, DateTimeKind.Utc)), Decode(e));

    /// <summary>
    /// Event ids of a command: derived from who sent it and the client's request id, so that a retried
    /// request maps to the same ids and the store answers with the original append instead of a second one.
    /// </summary>
    public static Guid EventId(string actor, string requestId, int index)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"annotate-request\n{actor}\n{requestId}\n{index}"), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8 (name-based, custom hash)
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(hash[..16], bigEndian: true);
    }

    /// <summary>The claim a stored event concerns, when any.</summary>
    public static string? ClaimIdOf(RecordedEvent e) =>
        Streams.ClaimIdOf(e.StreamId) ?? (e.Type == "claim-opened.v1" ? ClaimState.ClaimIdOf(Decode(e)) : null);
}
