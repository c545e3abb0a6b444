using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Annotate.EventStore;

/// <summary>
/// The audit chain's canonical serialization (documented in docs/event-store.md):
/// SHA-256 over the fields below, each written as a 4-byte big-endian length followed by its bytes
/// (UTF-8 for text), in this order: the tag "annotate-chain-v1", position (decimal), stream id,
/// stream version (decimal), event id (lower-case 8-4-4-4-12 hex), type, data text, metadata text,
/// recorded-at (UTC "yyyy-MM-ddTHH:mm:ss.ffffffZ"), and the previous event's 32-byte hash
/// (32 zero bytes before position 1).
/// </summary>
public static class EventChain
{
    public const int HashSize = 32;
    private static readonly byte[] Tag = Encoding.UTF8.GetBytes("annotate-chain-v1");

    /// <summary>The hash that precedes position 1.</summary>
    public static ReadOnlySpan<byte> Genesis => new byte[HashSize];

    public static string FormatRecordedAt(DateTime utc) =>
        utc.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static byte[] Compute(long position, string streamId, long streamVersion, Guid eventId, string type,
        string data, string metadata, DateTime recordedAt, ReadOnlySpan<byte> previousHash)
    {
        if (previousHash.Length != HashSize) throw new ArgumentException("previous hash must be 32 bytes", nameof(previousHash));
        Span<char> num = stackalloc char[64];
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var scratch = ArrayPool<byte>.Shared.Rent(1024);
        try
        {
            AppendBytes(h, Tag);
            AppendText(
                h,
                ref scratch,
                position.TryFormat(num, out var n, provider: CultureInfo.InvariantCulture)
                    ? num[..n]
                    : throw new InvalidOperationException());
            AppendText(h, ref scratch, streamId);
            AppendText(
                h,
                ref scratch,
                streamVersion.TryFormat(num, out n, provider: CultureInfo.InvariantCulture)
                    ? num[..n]
                    : throw new InvalidOperationException());
            AppendText(h, ref scratch, eventId.TryFormat(num, out n, "D") ? num[..n] : throw new InvalidOperationException());
            AppendText(h, ref scratch, type);
            AppendText(h, ref scratch, data);
            AppendText(h, ref scratch, metadata);
            AppendText(h, ref scratch, FormatRecordedAt(recordedAt));
            AppendBytes(h, previousHash);
            return h.GetHashAndReset();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    public static byte[] Compute(RecordedEvent e, ReadOnlySpan<byte> previousHash) =>
        Compute(e.Position, e.StreamId, e.StreamVersion, e.EventId, e.Type, e.Data, e.MetadataJson, e.RecordedAt, previousHash);

    private static void AppendBytes(IncrementalHash h, ReadOnlySpan<byte> bytes)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, bytes.Length);
        h.AppendData(len);
        h.AppendData(bytes);
    }

    private static void AppendText(IncrementalHash h, ref byte[] scratch, ReadOnlySpan<char> text)
    {
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (scratch.Length < max)
        {
            ArrayPool<byte>.Shared.Return(scratch);
            scratch = ArrayPool<byte>.Shared.Rent(max);
        }
        var count = Encoding.UTF8.GetBytes(text, scratch);
        AppendBytes(h, scratch.AsSpan(0, count));
    }
}
