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
                else encode(message, context);
            },
            method.ResponseMarshaller.ContextualDeserializer);
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, method.RequestMarshaller, marshaller);
    }
}
