using System.IO.Pipelines;
using System.Net.Sockets;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace Annotate.Grpc;

/// <summary>
/// What a handler knows about its call: metadata, deadline, cancellation, peer. It also owns the
/// response: headers go out at the first message (or <see cref="WriteResponseHeadersAsync"/>), the
/// status at the end, as trailers, or in the headers alone when nothing was sent (trailers-only).
/// </summary>
public sealed class ServerCallContext
{
    private readonly GrpcServerOptions _options;
    private readonly string? _requestEncoding;
    private readonly bool _compressResponse;
    private Metadata? _requestHeaders;
    private Metadata? _responseTrailers;
    private bool _responseStarted;

    internal ServerCallContext(HttpContext httpContext, IMethod method, GrpcServerOptions options,
        DateTime? deadline, CancellationToken cancellationToken, string? requestEncoding, bool compressResponse)
    {
        HttpContext = httpContext;
        Method = method;
        _options = options;
        Deadline = deadline;
        CancellationToken = cancellationToken;
        _requestEncoding = requestEncoding;
        _compressResponse = compressResponse;
    }

    public HttpContext HttpContext { get; }
    public IMethod Method { get; }
    /// <summary>When the client's grpc-timeout runs out (UTC), or null without one.</summary>
    public DateTime? Deadline { get; }
    /// <summary>Cancelled when the client cancels or resets the call, or the deadline passes.</summary>
    public CancellationToken CancellationToken { get; }
    public IDictionary<object, object?> Items => HttpContext.Items;
    public IServiceProvider Services => HttpContext.RequestServices;

    /// <summary>The client's address, in gRPC's form: "ipv4:127.0.0.1:5000" or "ipv6:[::1]:5000".</summary>
    public string Peer
    {
        get
        {
            var c = HttpContext.Connection;
            if (c.RemoteIpAddress is null) return "unknown";
            var ip = c.RemoteIpAddress.IsIPv4MappedToIPv6 ? c.RemoteIpAddress.MapToIPv4() : c.RemoteIpAddress;
            return ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"ipv6:[{ip}]:{c.RemotePort}" : $"ipv4:{ip}:{c.RemotePort}";
        }
    }

    /// <summary>Custom request metadata (protocol headers such as grpc-timeout are left out).</summary>
    public Metadata RequestHeaders
    {
        get
        {
            if (_requestHeaders is null)
            {
                var m = new Metadata();
                foreach (var h in HttpContext.Request.Headers)
                    foreach (var v in h.Value)
                        if (v is not null) m.AddFromWire(h.Key, v);
                _requestHeaders = m;
            }
            return _requestHeaders;
        }
    }

    /// <summary>Trailers sent with the status at the end of the call (with any of an RpcException's).</summary>
    public Metadata ResponseTrailers => _responseTrailers ??= new Metadata();

    /// <summary>Sends the response headers now, with this metadata. At most once, before any message.</summary>
    public Task WriteResponseHeadersAsync(Metadata headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (_responseStarted) throw new InvalidOperationException("Response headers were already sent.");
        StartResponse(headers);
        return HttpContext.Response.BodyWriter.FlushAsync(CancellationToken).AsTask();
    }

    private void StartResponse(Metadata? headers)
    {
        _responseStarted = true;
        var response = HttpContext.Response;
        response.ContentType = "application/grpc";
        var h = response.Headers;
        if (_compressResponse) h["grpc-encoding"] = Framing.Gzip;
        h["grpc-accept-encoding"] = Framing.AcceptEncoding;
        if (headers is not null)
            foreach (var e in headers) h.Append(e.Key, Metadata.ToWire(e));
    }

    internal async ValueTask<T> ReadSingleRequestAsync<T>(MessageParser<T> parser) where T : class, IMessage<T>
    {
        var reader = HttpContext.Request.BodyReader;
        var message = await Framing.ReadAsync(reader, parser, _options.MaxReceiveMessageSize, _requestEncoding, CancellationToken, StatusCode.InvalidArgument).ConfigureAwait(false)
            ?? throw new RpcException(StatusCode.Internal, "Request message not received");
        // A unary request is exactly one message: anything after it is a protocol error.
        if (await Framing.ReadAsync(reader, parser, _options.MaxReceiveMessageSize, _requestEncoding, CancellationToken, StatusCode.InvalidArgument).ConfigureAwait(false) is not null)
            throw new RpcException(StatusCode.Internal, "Additional data after the request message");
        return message;
    }

    internal ValueTask<T?> ReadRequestAsync<T>(MessageParser<T> parser, CancellationToken extra) where T : class, IMessage<T> =>
        Framing.ReadAsync(HttpContext.Request.BodyReader, parser, _options.MaxReceiveMessageSize, _requestEncoding,
            extra.CanBeCanceled ? extra : CancellationToken, StatusCode.InvalidArgument);

    /// <summary>Buffers one message; <paramref name="flush"/> sends it now (streams) rather than with the trailers (unary).</summary>
    internal ValueTask WriteResponseAsync(IMessage message, bool flush, CancellationToken extra = default)
    {
        if (!_responseStarted) StartResponse(null);
        var writer = HttpContext.Response.BodyWriter;
        Framing.Write(writer, message, _options.MaxSendMessageSize, _compressResponse);
        if (!flush) return ValueTask.CompletedTask;
        var pending = writer.FlushAsync(extra.CanBeCanceled ? extra : CancellationToken);
        return pending.IsCompletedSuccessfully ? ValueTask.CompletedTask : AwaitFlush(pending);

        static async ValueTask AwaitFlush(ValueTask<FlushResult> pending) => await pending.ConfigureAwait(false);
    }

    /// <summary>Ends the call with a status: as trailers, or in the headers alone when nothing was sent.</summary>
    internal void Complete(StatusCode code, string? detail, Metadata? extraTrailers)
    {
        var response = HttpContext.Response;
        if (!_responseStarted && !response.HasStarted)
        {
            response.ContentType = "application/grpc";
            var h = response.Headers;
            h["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!string.IsNullOrEmpty(detail)) h["grpc-message"] = HeaderCodec.EncodeMessage(detail);
            foreach (var e in Trailers(extraTrailers)) h.Append(e.Key, Metadata.ToWire(e));
            return;
        }
        response.AppendTrailer("grpc-status", ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(detail)) response.AppendTrailer("grpc-message", HeaderCodec.EncodeMessage(detail));
        foreach (var e in Trailers(extraTrailers)) response.AppendTrailer(e.Key, Metadata.ToWire(e));
    }

    private IEnumerable<Metadata.Entry> Trailers(Metadata? extra)
    {
        if (_responseTrailers is not null) foreach (var e in _responseTrailers) yield return e;
        if (extra is not null && !ReferenceEquals(extra, _responseTrailers)) foreach (var e in extra) yield return e;
    }
}

internal sealed class ServerStreamReader<T>(ServerCallContext context) : IAsyncStreamReader<T> where T : class, IMessage<T>, new()
{
    private static readonly MessageParser<T> Parser = new(() => new T());
    private T? _current;

    public T Current => _current ?? throw new InvalidOperationException("MoveNext has not returned true.");

    public async Task<bool> MoveNext(CancellationToken cancellationToken = default)
    {
        _current = await context.ReadRequestAsync(Parser, cancellationToken).ConfigureAwait(false);
        return _current is not null;
    }
}

internal sealed class ServerStreamWriter<T>(ServerCallContext context) : IServerStreamWriter<T> where T : class, IMessage<T>
{
    public Task WriteAsync(T message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return context.WriteResponseAsync(message, flush: true, cancellationToken).AsTask();
    }
}
