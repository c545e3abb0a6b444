using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Pipelines;
using Google.Protobuf;

namespace Annotate.Grpc;

/// <summary>
/// The gRPC length-prefixed message framing: 1 byte compressed flag, 4 bytes big-endian length,
/// then the (possibly gzip-compressed) protobuf bytes. Shared by server and client.
/// </summary>
internal static class Framing
{
    public const int HeaderSize = 5;
    public const string Gzip = "gzip";
    public const string AcceptEncoding = "identity,gzip";

    /// <summary>
    /// Reads one message, or returns null at a clean end of stream. A stream ending inside a frame,
    /// a compressed frame without a negotiated encoding and an unparsable message are INTERNAL; a
    /// frame over <paramref name="maxSize"/> is RESOURCE_EXHAUSTED (checked before buffering it). An unparsable message
    /// is <paramref name="malformed"/> (a server answers INVALID_ARGUMENT for a request it cannot parse).
    /// </summary>
    public static async ValueTask<T?> ReadAsync<T>(PipeReader reader, MessageParser<T> parser, int maxSize, string? encoding, CancellationToken ct,
        StatusCode malformed = StatusCode.Internal)
        where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(ct).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                reader.AdvanceTo(buffer.Start);
                throw new OperationCanceledException(ct);
            }

            if (buffer.Length >= HeaderSize)
            {
                var consumed = buffer.Start;
                try
                {
                    var (compressed, length) = ReadHeader(buffer);
                    if (length > maxSize)
                        throw new RpcException(StatusCode.ResourceExhausted, $"Received message larger than max ({length} vs. {maxSize})");
                    if (buffer.Length - HeaderSize >= length)
                    {
                        var payload = buffer.Slice(HeaderSize, length);
                        consumed = payload.End;
                        return Decode(payload, compressed, parser, maxSize, encoding, malformed);
                    }
                }
                finally
                {
                    // Leave the reader consistent whether we return a message, need more bytes or throw.
                    if (consumed.Equals(buffer.Start)) reader.AdvanceTo(buffer.Start, buffer.End);
                    else reader.AdvanceTo(consumed);
                }
            }
            else
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
            }

            if (result.IsCompleted)
            {
                if (buffer.Length == 0) return null;
                throw new RpcException(StatusCode.Internal, "Incomplete message: the stream ended inside a frame");
            }
        }
    }

    private static (bool Compressed, long Length) ReadHeader(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        if (header[0] > 1) throw new RpcException(StatusCode.Internal, $"Invalid compressed flag {header[0]}");
        return (header[0] == 1, BinaryPrimitives.ReadUInt32BigEndian(header[1..]));
    }

    private static T Decode<T>(in ReadOnlySequence<byte> payload, bool compressed, MessageParser<T> parser, int maxSize, string? encoding, StatusCode malformed)
        where T : class, IMessage<T>
    {
        if (!compressed) return Parse(parser, payload, malformed);
        if (encoding is null or "identity")
            throw new RpcException(StatusCode.Internal, "Compressed message received without a grpc-encoding");
        if (encoding != Gzip)
            throw new RpcException(StatusCode.Unimplemented, $"Unsupported grpc-encoding '{encoding}'");

        var input = ArrayPool<byte>.Shared.Rent((int)payload.Length);
        var output = ArrayPool<byte>.Shared.Rent(Math.Max(256, (int)payload.Length * 4));
        try
        {
            payload.CopyTo(input);
            using var gzip = new GZipStream(new MemoryStream(input, 0, (int)payload.Length), CompressionMode.Decompress);
            var total = 0;
            while (true)
            {
                if (total == output.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(output.Length * 2);
                    output.AsSpan(0, total).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(output);
                    output = bigger;
                }
                int n;
                try { n = gzip.Read(output, total, output.Length - total); }
                catch (InvalidDataException) { throw new RpcException(StatusCode.Internal, "Invalid gzip data"); }
                if (n == 0) break;
                total += n;
                if (total > maxSize)
                    throw new RpcException(StatusCode.ResourceExhausted, $"Received message larger than max after decompression (> {maxSize})");
            }
            return Parse(parser, new ReadOnlySequence<byte>(output, 0, total), malformed);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    private static T Parse<T>(MessageParser<T> parser, in ReadOnlySequence<byte> bytes, StatusCode malformed) where T : class, IMessage<T>
    {
        try
        {
            return parser.ParseFrom(bytes);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or IndexOutOfRangeException or ArgumentException or OverflowException or InvalidOperationException)
        {
            // Google.Protobuf throws more than its own exception on some malformed input (a nested length near 2^31
            // overflows its bounds checks): all of them are the client's malformed message, not a server fault.
            throw new RpcException(malformed, "Failed to deserialize the message: it is not a valid protobuf encoding of its type.");
        }
    }

    /// <summary>Writes one framed message; RESOURCE_EXHAUSTED (nothing written) when over <paramref name="maxSize"/>.</summary>
    public static void Write(IBufferWriter<byte> writer, IMessage message, int maxSize, bool gzip)
    {
        var size = message.CalculateSize();
        if (size > maxSize)
            throw new RpcException(StatusCode.ResourceExhausted, $"Sending message larger than max ({size} vs. {maxSize})");
        // An empty message goes uncompressed: GZipStream writes nothing at all for no input, which
        // peers cannot decompress (and the flag is per message, so this is always allowed).
        if (!gzip || size == 0)
        {
            // Serialize straight into the transport's buffer: no intermediate copy.
            var span = writer.GetSpan(HeaderSize + size);
            span[0] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)size);
            message.WriteTo(span.Slice(HeaderSize, size));
            writer.Advance(HeaderSize + size);
            return;
        }

        var raw = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            message.WriteTo(raw.AsSpan(0, size));
            using var compressed = new MemoryStream();
            using (var gz = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
                gz.Write(raw, 0, size);
            var length = (int)compressed.Length;
            var span = writer.GetSpan(HeaderSize + length);
            span[0] = 1;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
            compressed.GetBuffer().AsSpan(0, length).CopyTo(span[HeaderSize..]);
            writer.Advance(HeaderSize + length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    /// <summary>One framed message as an exact-size array (client unary requests).</summary>
    public static byte[] Frame(IMessage message, int maxSize, bool gzip)
    {
        var size = message.CalculateSize();
        if (!gzip || size == 0)
        {
            if (size > maxSize)
                throw new RpcException(StatusCode.ResourceExhausted, $"Sending message larger than max ({size} vs. {maxSize})");
            var bytes = new byte[HeaderSize + size];
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), (uint)size);
            message.WriteTo(bytes.AsSpan(HeaderSize));
            return bytes;
        }
        var buffer = new ArrayBufferWriter<byte>();
        Write(buffer, message, maxSize, gzip: true);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Whether a grpc-accept-encoding list names the encoding.</summary>
    public static bool Accepts(string? acceptEncoding, string encoding)
    {
        if (acceptEncoding is null) return false;
        foreach (var part in acceptEncoding.Split(',', StringSplitOptions.TrimEntries))
            if (part.Equals(encoding, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}
