using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;

namespace Annotate.Server.Transport;

/// <summary>
/// Response messages that many streams send unchanged (one committed event to every subscriber that sees it): serialized
/// once when shared, and each stream copies those bytes instead of encoding the message again. A shared message is
/// frozen: nothing may change it after <see cref="Share{T}"/>, since its bytes would no longer say what it says.
/// <para>
/// Written by hand because Grpc.AspNetCore has no notion of a message that is already serialized: every write of every call
/// goes through the method's marshaller, and the generated marshaller encodes the message each time. The marshaller of
/// <see cref="Sendable{TRequest, TResponse}"/> recognises a shared message and hands its bytes to
/// <see cref="SerializationContext.Complete(byte[])"/> (the documented way to complete a payload at once), so the wire
/// format is the same bytes the generated code writes. It is bound to every server-streaming method by
/// <see cref="Decoding.ValidatingServiceMethodProvider{TService}"/>, our <c>IServiceMethodProvider</c>.
/// </para>
/// <para>
/// Shared messages are sent uncompressed (<see cref="ServerStreaming"/> writes them with
/// <see cref="WriteFlags.NoCompress"/>): gzip works per message and per stream, so compressing a message that hundreds of
/// streams send would repeat the same work for each, and it cost more CPU than every other part of a delivery together.
/// </para>
/// </summary>
public static class SharedMessages
{
    /// <summary>The bytes of each shared message, kept as long as the message lives (the table holds no message alive).</summary>
    private static readonly ConditionalWeakTable<object, byte[]> Bytes = new();

    /// <summary>Serializes <paramref name="message"/> once for every stream that sends it (the first call does; later calls find
    /// its bytes); returns it.</summary>
    public static T Share<T>(T message) where T : class, IMessage
    {
        Bytes.GetValue(message, static m => ((IMessage)m).ToByteArray());
        return message;
    }

    /// <summary>Whether <paramref name="message"/> was shared (and is sent from its bytes, uncompressed).</summary>
    public static bool IsShared(object message) => Bytes.TryGetValue(message, out _);

    /// <summary>Most messages, and most bytes (unless one message alone is larger), in one run of <see cref="Runs{T}"/>: a long
    /// catch-up still leaves in bounded pieces, each a flush that waits for HTTP/2 flow control.</summary>
    public const int MaxRunMessages = 64;
    public const int MaxRunBytes = 64 * 1024;

    /// <summary>The gRPC frames of each run: stand-ins made by <see cref="Runs{T}"/>, never marshalled.</summary>
    private static readonly ConditionalWeakTable<object, byte[]> Frames = new();

    /// <summary>
    /// Shared <paramref name="messages"/> to send one after another, as runs: each run of two or more is one stand-in message
    /// whose frames (per message the 5-byte gRPC prefix, uncompressed, and its bytes) are laid end to end once, so every stream
    /// that sends the same messages writes a run with one copy and one flush (<see cref="ServerStreaming"/>) instead of a
    /// write through the gRPC writer per message. A single message stays itself. The stand-ins are empty messages that only
    /// <see cref="FramesOf"/> gives a meaning to; the marshaller refuses them.
    /// </summary>
    public static List<T> Runs<T>(IReadOnlyList<T> messages) where T : class, IMessage, new()
    {
        var runs = new List<T>();
        var start = 0;
        while (start < messages.Count)
        {
            var end = start;
            var size = 0;
            while (end < messages.Count && end - start < MaxRunMessages)
            {
                var bytes = BytesOf(messages[end]);
                if (end > start && size + 5 + bytes.Length > MaxRunBytes) break;
                size += 5 + bytes.Length;
                end++;
            }
            if (end - start == 1)
            {
                runs.Add(messages[start]);
            }
            else
            {
                var frames = new byte[size];
                var at = 0;
                for (var i = start; i < end; i++)
                {
                    var bytes = BytesOf(messages[i]);
                    frames[at] = 0; // not compressed
                    BinaryPrimitives.WriteUInt32BigEndian(frames.AsSpan(at + 1), (uint)bytes.Length);
                    bytes.CopyTo(frames.AsSpan(at + 5));
                    at += 5 + bytes.Length;
                }
                var run = new T();
                Frames.AddOrUpdate(run, frames);
                runs.Add(run);
            }
            start = end;
        }
        return runs;
    }

    /// <summary>The frames of a run made by <see cref="Runs{T}"/>, written to the response as they are; null for any other
    /// message.</summary>
    public static byte[]? FramesOf(object message) => Frames.TryGetValue(message, out var frames) ? frames : null;

    private static byte[] BytesOf(object message) =>
        Bytes.TryGetValue(message, out var bytes)
            ? bytes
            : throw new InvalidOperationException("Only shared messages are sent in runs.");

    /// <summary><paramref name="method"/> with a response marshaller that sends shared messages from their bytes and encodes any
    /// other as the method's own marshaller does.</summary>
    public static Method<TRequest, TResponse> Sendable<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class where TResponse : class
    {
        var encode = method.ResponseMarshaller.ContextualSerializer;
        var marshaller = new Marshaller<TResponse>(
            (message, context) =>
            {
                if (Bytes.TryGetValue(message, out var bytes)) context.Complete(bytes);
                else if (Frames.TryGetValue(message, out _))
                    throw new InvalidOperationException("A run of shared messages is written by ServerStreaming, never marshalled.");
                else encode(message, context);
            },
            method.ResponseMarshaller.ContextualDeserializer);
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, method.RequestMarshaller, marshaller);
    }
}
