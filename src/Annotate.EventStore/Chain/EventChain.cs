using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Annotate.EventStore.Chain;

/// <summary>
/// The audit chain's canonical serialization (documented in docs/event-store.md). A link is SHA-256 over the fields
/// below, each written as a 4-byte big-endian length followed by its bytes (UTF-8 for text), in this order: the tag
/// "annotate-chain-v2", position (decimal), stream id, stream version (decimal), event id (lower-case
/// 8-4-4-4-12 hex), type, the 32-byte digest of the data, the 32-byte digest of the metadata, recorded-at (UTC
/// "yyyy-MM-ddTHH:mm:ss.ffffffZ"), and the previous link (32 zero bytes before the first event). The digests are
/// SHA-256 of PostgreSQL's own text of the stored jsonb (<see cref="DataDigestSql"/>, <see cref="MetadataDigestSql"/>):
/// jsonb keeps no key order or spacing of its input, its text output is canonical. Databases created before the move to Marten keep their
/// earlier links ("annotate-chain-v1", over the exact data and metadata texts): <see cref="ComputeV1"/>.
/// </summary>
public static class EventChain
{
    public const int HashSize = 32;
    private static readonly byte[] Tag = Encoding.UTF8.GetBytes("annotate-chain-v2");
    private static readonly byte[] TagV1 = Encoding.UTF8.GetBytes("annotate-chain-v1");

    /// <summary>SQL over a row of Marten's mt_events (alias e): the digest of its data that the link covers.</summary>
    public const string DataDigestSql = "sha256(convert_to(e.data::text, 'UTF8'))";

    /// <summary>
    /// SQL over a row of Marten's mt_events (alias e): the digest of its metadata, the canonical text of a jsonb object
    /// of the user name, correlation id, causation id and headers.
    /// </summary>
    public const string MetadataDigestSql =
        "sha256(convert_to(jsonb_build_object('user', e.user_name, 'correlation', e.correlation_id, 'causation', e.causation_id, " +
        "'headers', e.headers)::text, 'UTF8'))";

    /// <summary>The hash that precedes position 1.</summary>
    public static ReadOnlySpan<byte> Genesis => new byte[HashSize];

    public static string FormatRecordedAt(DateTime utc) =>
        utc.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static byte[] Compute(long position, string streamId, long streamVersion, Guid eventId, string type,
        ReadOnlySpan<byte> dataDigest, ReadOnlySpan<byte> metadataDigest, DateTime recordedAt, ReadOnlySpan<byte> previousHash)
    {
        if (previousHash.Length != HashSize) throw new ArgumentException("previous hash must be 32 bytes", nameof(previousHash));
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var scratch = ArrayPool<byte>.Shared.Rent(1024);
        try
        {
            AppendBytes(h, Tag);
            AppendHeader(h, ref scratch, position, streamId, streamVersion, eventId, type);
            AppendBytes(h, dataDigest);
            AppendBytes(h, metadataDigest);
            AppendText(h, ref scratch, FormatRecordedAt(recordedAt));
            AppendBytes(h, previousHash);
            return h.GetHashAndReset();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>The link of a database created before the move to Marten, over the exact texts it stored.</summary>
    public static byte[] ComputeV1(long position, string streamId, long streamVersion, Guid eventId, string type,
        string data, string metadata, DateTime recordedAt, ReadOnlySpan<byte> previousHash)
    {
        if (previousHash.Length != HashSize) throw new ArgumentException("previous hash must be 32 bytes", nameof(previousHash));
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var scratch = ArrayPool<byte>.Shared.Rent(1024);
        try
        {
            AppendBytes(h, TagV1);
            AppendHeader(h, ref scratch, position, streamId, streamVersion, eventId, type);
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

    private static void AppendHeader(IncrementalHash h, ref byte[] scratch, long position, string streamId, long streamVersion,
        Guid eventId, string type)
    {
        Span<char> num = stackalloc char[64];
        AppendText(
            h,
            ref scratch,
            position.TryFormat(num, out var n, provider: CultureInfo.InvariantCulture) ? num[..n] : throw new InvalidOperationException());
        AppendText(h, ref scratch, streamId);
        AppendText(
            h,
            ref scratch,
            streamVersion.TryFormat(num, out n, provider: CultureInfo.InvariantCulture) ? num[..n] : throw new InvalidOperationException());
        AppendText(h, ref scratch, eventId.TryFormat(num, out n, "D") ? num[..n] : throw new InvalidOperationException());
        AppendText(h, ref scratch, type);
    }

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
