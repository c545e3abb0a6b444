using System.Runtime.CompilerServices;

namespace Annotate.Grpc;

/// <summary>A stream of incoming messages (server: requests; client: responses). One reader at a time.</summary>
public interface IAsyncStreamReader<out T>
{
    T Current { get; }
    /// <summary>Advances to the next message; false at the end of the stream.</summary>
    Task<bool> MoveNext(CancellationToken cancellationToken = default);
}

/// <summary>Writes response messages of a server-streaming or duplex call. Writes must not overlap.</summary>
public interface IServerStreamWriter<in T>
{
    Task WriteAsync(T message, CancellationToken cancellationToken = default);
}

/// <summary>Writes request messages of a client-streaming or duplex call. Writes must not overlap.</summary>
public interface IClientStreamWriter<in T>
{
    Task WriteAsync(T message, CancellationToken cancellationToken = default);
    /// <summary>Signals the end of the request stream (half-close).</summary>
    Task CompleteAsync();
}

public static class AsyncStreamReaderExtensions
{
    public static async IAsyncEnumerable<T> ReadAllAsync<T>(this IAsyncStreamReader<T> reader, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        while (await reader.MoveNext(cancellationToken).ConfigureAwait(false))
            yield return reader.Current;
    }
}
