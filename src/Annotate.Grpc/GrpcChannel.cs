using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using Google.Protobuf;

namespace Annotate.Grpc;

public sealed class GrpcChannelOptions
{
    /// <summary>Largest response message accepted (after decompression); larger fails with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;
    /// <summary>Largest request message sent; larger fails the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxSendMessageSize { get; set; } = int.MaxValue;
    /// <summary>"gzip" to compress request messages; null sends them uncompressed.</summary>
    public string? RequestCompression { get; set; }
    /// <summary>Checks the server's TLS certificate (https addresses); null uses the system's trust.</summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; set; }
    /// <summary>Replaces the channel's own handler (it is then not disposed with the channel).</summary>
    public HttpMessageHandler? HttpHandler { get; set; }
}

/// <summary>Per-call settings: request metadata, deadline (UTC), cancellation.</summary>
public readonly record struct CallOptions(Metadata? Headers = null, DateTime? Deadline = null, CancellationToken CancellationToken = default);

/// <summary>
/// A client connection pool to one gRPC server: one SocketsHttpHandler (HTTP/2, several
/// connections when the stream limit is reached) shared by every call. Thread-safe.
/// </summary>
public sealed class GrpcChannel : IDisposable
{
    private readonly ConcurrentDictionary<string, Uri> _uris = new(StringComparer.Ordinal);
    private readonly bool _ownsHandler;

    private GrpcChannel(Uri address, GrpcChannelOptions options)
    {
        Address = address;
        Options = options;
        var handler = options.HttpHandler;
        _ownsHandler = handler is null;
        handler ??= new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = options.ServerCertificateValidation },
        };
        Invoker = new HttpMessageInvoker(handler, disposeHandler: _ownsHandler);
    }

    public Uri Address { get; }
    public GrpcChannelOptions Options { get; }
    internal HttpMessageInvoker Invoker { get; }

    /// <summary>A channel to "http://host:port" (h2c) or "https://host:port" (TLS, ALPN h2).</summary>
    public static GrpcChannel ForAddress(string address, GrpcChannelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        var uri = new Uri(address, UriKind.Absolute);
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            throw new ArgumentException($"gRPC address must be http:// or https://, not {address}", nameof(address));
        return new GrpcChannel(uri, options ?? new GrpcChannelOptions());
    }

    internal Uri UriFor(IMethod method) => _uris.GetOrAdd(method.FullName, static (path, address) => new Uri(address, path), Address);

    /// <summary>A unary call; non-OK status surfaces as <see cref="RpcException"/>.</summary>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TRequest : class, IMessage<TRequest>, new() where TResponse : class, IMessage<TResponse>, new()
    {
        using var call = new GrpcCall<TRequest, TResponse>(this, method, options, request);
        return await call.ReadUnaryResponseAsync().ConfigureAwait(false);
    }

    /// <summary>A unary call that also gives access to response headers, status and trailers.</summary>
    public AsyncUnaryCall<TResponse> UnaryCallAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TRequest : class, IMessage<TRequest>, new() where TResponse : class, IMessage<TResponse>, new()
    {
        var call = new GrpcCall<TRequest, TResponse>(this, method, options, request);
        return new AsyncUnaryCall<TResponse>(call, call.ReadUnaryResponseAsync());
    }

    public AsyncServerStreamingCall<TResponse> ServerStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TRequest : class, IMessage<TRequest>, new() where TResponse : class, IMessage<TResponse>, new()
    {
        var call = new GrpcCall<TRequest, TResponse>(this, method, options, request);
        return new AsyncServerStreamingCall<TResponse>(call, new ClientResponseStream<TRequest, TResponse>(call));
    }

    public AsyncClientStreamingCall<TRequest, TResponse> ClientStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options = default)
        where TRequest : class, IMessage<TRequest>, new() where TResponse : class, IMessage<TResponse>, new()
    {
        var call = new GrpcCall<TRequest, TResponse>(this, method, options, null);
        return new AsyncClientStreamingCall<TRequest, TResponse>(call, call.RequestStream!, call.ReadUnaryResponseAsync());
    }

    public AsyncDuplexStreamingCall<TRequest, TResponse> Duplex<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options = default)
        where TRequest : class, IMessage<TRequest>, new() where TResponse : class, IMessage<TResponse>, new()
    {
        var call = new GrpcCall<TRequest, TResponse>(this, method, options, null);
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(call, call.RequestStream!, new ClientResponseStream<TRequest, TResponse>(call));
    }

    public void Dispose() => Invoker.Dispose();
}
