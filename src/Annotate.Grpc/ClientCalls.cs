using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Google.Protobuf;

namespace Annotate.Grpc;

internal interface IClientCall : IDisposable
{
    Task<Metadata> ResponseHeadersAsync { get; }
    StatusCode GetStatus();
    Metadata GetTrailers();
}

public sealed class AsyncUnaryCall<TResponse> : IDisposable
{
    private readonly IClientCall _call;

    internal AsyncUnaryCall(IClientCall call, Task<TResponse> response)
    {
        _call = call;
        ResponseAsync = response;
    }

    public Task<TResponse> ResponseAsync { get; }
    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;
    /// <summary>The call's status; throws until the call has finished.</summary>
    public StatusCode GetStatus() => _call.GetStatus();
    /// <summary>The call's trailers; throws until the call has finished.</summary>
    public Metadata GetTrailers() => _call.GetTrailers();
    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();
    /// <summary>Cancels the call if it is still running and releases it.</summary>
    public void Dispose() => _call.Dispose();
}

public sealed class AsyncServerStreamingCall<TResponse> : IDisposable
{
    private readonly IClientCall _call;

    internal AsyncServerStreamingCall(IClientCall call, IAsyncStreamReader<TResponse> responses)
    {
        _call = call;
        ResponseStream = responses;
    }

    public IAsyncStreamReader<TResponse> ResponseStream { get; }
    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;
    public StatusCode GetStatus() => _call.GetStatus();
    public Metadata GetTrailers() => _call.GetTrailers();
    public void Dispose() => _call.Dispose();
}

public sealed class AsyncClientStreamingCall<TRequest, TResponse> : IDisposable
{
    private readonly IClientCall _call;

    internal AsyncClientStreamingCall(IClientCall call, IClientStreamWriter<TRequest> requests, Task<TResponse> response)
    {
        _call = call;
        RequestStream = requests;
        ResponseAsync = response;
    }

    public IClientStreamWriter<TRequest> RequestStream { get; }
    public Task<TResponse> ResponseAsync { get; }
    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;
    public StatusCode GetStatus() => _call.GetStatus();
    public Metadata GetTrailers() => _call.GetTrailers();
    public void Dispose() => _call.Dispose();
}

public sealed class AsyncDuplexStreamingCall<TRequest, TResponse> : IDisposable
{
    private readonly IClientCall _call;

    internal AsyncDuplexStreamingCall(IClientCall call, IClientStreamWriter<TRequest> requests, IAsyncStreamReader<TResponse> responses)
    {
        _call = call;
        RequestStream = requests;
        ResponseStream = responses;
    }

    public IClientStreamWriter<TRequest> RequestStream { get; }
    public IAsyncStreamReader<TResponse> ResponseStream { get; }
    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;
    public StatusCode GetStatus() => _call.GetStatus();
    public Metadata GetTrailers() => _call.GetTrailers();
    public void Dispose() => _call.Dispose();
}

/// <summary>
/// One client call over one HTTP/2 stream. The request is sent as soon as the call is created
/// (unary and server-streaming requests as one buffer; streamed requests through
/// <see cref="ClientRequestStream{TRequest,TResponse}"/>); the response is read message by message,
/// and the status comes from the trailers once the body is drained (or from the headers of a
/// trailers-only response).
/// </summary>
internal sealed class GrpcCall<TRequest, TResponse> : IClientCall
    where TRequest : class, IMessage<TRequest>, new() where TResponse : class, IMessage<TResponse>, new()
{
    private readonly GrpcChannel _channel;
    private readonly CallOptions _options;
    private readonly CancellationTokenSource _cts = new();
    private readonly CancellationTokenRegistration _userRegistration;
    private readonly Task<HttpResponseMessage> _send;
    private HttpResponseMessage? _response;
    private PipeReader? _reader;
    private string? _encoding;
    private bool _trailersOnly;
    private volatile bool _cancelledByClient;
    private int _disposed;
    private StatusCode? _status;
    private Metadata? _trailers;
    private RpcException? _error;

    public GrpcCall(GrpcChannel channel, IMethod method, CallOptions options, TRequest? request)
    {
        _channel = channel;
        _options = options;
        Token = _cts.Token;
        var channelOptions = channel.Options;
        var gzip = channelOptions.RequestCompression == Framing.Gzip;

        var message = new HttpRequestMessage(HttpMethod.Post, channel.UriFor(method))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var headers = message.Headers;
        headers.TryAddWithoutValidation("te", "trailers");
        headers.TryAddWithoutValidation("grpc-accept-encoding", Framing.AcceptEncoding);
        if (gzip) headers.TryAddWithoutValidation("grpc-encoding", Framing.Gzip);
        if (options.Deadline is { } deadline)
        {
            var remaining = deadline.ToUniversalTime() - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero) _cts.Cancel();
            else
            {
                headers.TryAddWithoutValidation("grpc-timeout", HeaderCodec.FormatTimeout(remaining));
                _cts.CancelAfter(remaining);
            }
        }
        if (options.Headers is { } metadata)
            foreach (var e in metadata) headers.TryAddWithoutValidation(e.Key, Metadata.ToWire(e));

        HttpContent content;
        if (request is not null)
        {
            content = new ByteArrayContent(Framing.Frame(request, channelOptions.MaxSendMessageSize, gzip));
        }
        else
        {
            RequestStream = new ClientRequestStream<TRequest, TResponse>(this, channelOptions.MaxSendMessageSize, gzip);
            content = RequestStream.Content;
        }
        content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
        message.Content = content;

        if (options.CancellationToken.CanBeCanceled)
            _userRegistration = options.CancellationToken.UnsafeRegister(static s => ((GrpcCall<TRequest, TResponse>)s!).CancelByClient(), this);
        // Not awaited here: streamed requests must be writable before the response headers arrive.
        _send = channel.Invoker.SendAsync(message, Token);
        ResponseHeadersAsync = ReadHeadersAsync();
    }

    public CancellationToken Token { get; }
    public ClientRequestStream<TRequest, TResponse>? RequestStream { get; }
    public Task<Metadata> ResponseHeadersAsync { get; }
    public bool IsFinished => _status is not null;

    /// <summary>Writing to a call that already has its status is pointless: report that status.</summary>
    public void ThrowIfFinished()
    {
        if (_status is null) return;
        if (_error is not null) throw _error;
        throw new InvalidOperationException("The call has already finished.");
    }

    public StatusCode GetStatus() => _status ?? throw new InvalidOperationException("The call has not finished yet.");
    public Metadata GetTrailers() => _trailers ?? throw new InvalidOperationException("Trailers are available once the call has finished.");

    private async Task<Metadata> ReadHeadersAsync()
    {
        HttpResponseMessage response;
        try
        {
            response = await _send.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            throw Fail(Map(e));
        }
        _response = response;
        var headers = ToMetadata(response.Headers);
        var statusHeader = Single(response.Headers, "grpc-status");
        if (statusHeader is null && response.StatusCode != HttpStatusCode.OK)
        {
            // Only without a grpc-status does the HTTP status decide (http-grpc-status-mapping.md).
            var code = (int)response.StatusCode;
            throw Fail(new RpcException(StatusMapping.FromHttpStatus(code), $"Bad gRPC response. HTTP status code: {code}"));
        }
        if (statusHeader is not null)
        {
            // Trailers-only: the headers are the trailers.
            _trailersOnly = true;
            Finish(statusHeader, Single(response.Headers, "grpc-message"), headers);
            return headers;
        }
        var contentType = response.Content.Headers.NonValidated.TryGetValues("Content-Type", out var ct) ? ct.ToString() : "";
        if (!contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase))
            throw Fail(new RpcException(StatusCode.Internal, $"Bad gRPC response. Invalid content-type value: {contentType}"), cancel: true);
        _encoding = Single(response.Headers, "grpc-encoding");
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(Token).ConfigureAwait(false);
            _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, leaveOpen: true));
        }
        catch (Exception e)
        {
            throw Fail(Map(e));
        }
        return headers;
    }

    /// <summary>The next response message, or null once the call ended with OK; non-OK throws.</summary>
    public async ValueTask<TResponse?> ReadMessageAsync(CancellationToken cancellationToken)
    {
        await ResponseHeadersAsync.ConfigureAwait(false);
        if (_trailersOnly || _status is not null) return _error is null ? null : throw _error;
        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static s => ((GrpcCall<TRequest, TResponse>)s!).CancelByClient(), this)
            : default;
        TResponse? message;
        try
        {
            message = await Framing.ReadAsync(_reader!, Method<TRequest, TResponse>.ResponseParser, _channel.Options.MaxReceiveMessageSize, _encoding, Token).ConfigureAwait(false);
        }
        catch (RpcException e) when (!_cts.IsCancellationRequested)
        {
            // A framing or size error on our side: stop the server's stream too.
            throw Fail(e, cancel: true);
        }
        catch (Exception e)
        {
            throw Fail(Map(e));
        }
        if (message is not null) return message;

        // The body is drained: the trailers are here.
        var response = _response!;
        var trailers = ToMetadata(response.TrailingHeaders);
        var status = Single(response.TrailingHeaders, "grpc-status");
        if (status is null)
        {
            // Neither in headers nor trailers: the spec calls that an internal error.
            throw Fail(new RpcException(StatusCode.Internal, "No grpc-status found on response.", trailers));
        }
        Finish(status, Single(response.TrailingHeaders, "grpc-message"), trailers);
        await _reader!.CompleteAsync().ConfigureAwait(false);
        response.Dispose();
        return null;
    }

    public async Task<TResponse> ReadUnaryResponseAsync()
    {
        var message = await ReadMessageAsync(default).ConfigureAwait(false)
            ?? throw Fail(new RpcException(StatusCode.Internal, "Failed to deserialize response message: the call ended without one."));
        if (await ReadMessageAsync(default).ConfigureAwait(false) is not null)
            throw Fail(new RpcException(StatusCode.Internal, "More than one response message for a call with one."), cancel: true);
        return message;
    }

    // Records the status; throws the RpcException a non-OK status surfaces as.
    private void Finish(string statusValue, string? message, Metadata trailers)
    {
        var code = int.TryParse(statusValue, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? (StatusCode)n : StatusCode.Unknown;
        if (code == StatusCode.Cancelled && DeadlinePassed)
        {
            // The spec asks clients to report a cancellation racing their own deadline as the deadline.
            _trailers = new Metadata();
            _status = StatusCode.DeadlineExceeded;
            throw _error = new RpcException(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }
        _trailers = trailers;
        _status = code;
        if (code != StatusCode.OK) throw _error = new RpcException(code, HeaderCodec.DecodeMessage(message), trailers);
    }

    private RpcException Fail(RpcException e, bool cancel = false)
    {
        _status ??= e.StatusCode;
        _trailers ??= e.Trailers;
        _error ??= e;
        if (cancel) _cts.Cancel();
        return e;
    }

    /// <summary>What a transport failure means for the caller.</summary>
    public RpcException Map(Exception e)
    {
        if (e is RpcException rpc) return rpc;
        if (_cts.IsCancellationRequested || DeadlinePassed)
        {
            return _cancelledByClient && !DeadlinePassed
                ? new RpcException(StatusCode.Cancelled, "Call canceled by the client.")
                : new RpcException(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is HttpProtocolException p)
                return new RpcException(StatusMapping.FromHttp2Error(p.ErrorCode), $"HTTP/2 error: {p.Message}");
        if (e is HttpRequestException or IOException)
            return new RpcException(StatusCode.Unavailable, $"Error talking to the server: {e.Message}");
        return new RpcException(StatusCode.Internal, $"Client error: {e.GetType().Name}: {e.Message}");
    }

    /// <summary>A request write failed: report the call's status when the server already ended it.</summary>
    public async Task<RpcException> MapWriteFailureAsync(Exception e)
    {
        // The server may have ended the call (e.g. with an error status), which is why the write failed:
        // give its response headers a moment to arrive and report that status.
        try
        {
            await ResponseHeadersAsync.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (RpcException early)
        {
            return early;
        }
        catch (TimeoutException)
        {
        }
        return _error ?? Map(e);
    }

    private bool DeadlinePassed => _options.Deadline is { } d && DateTime.UtcNow >= d.ToUniversalTime();

    private void CancelByClient()
    {
        _cancelledByClient = true;
        try { _cts.Cancel(); } catch (ObjectDisposedException) { }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_status is null) CancelByClient();
        _userRegistration.Dispose();
        _response?.Dispose();
    }

    private static string? Single(HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? values.ToString() : null;

    private static Metadata ToMetadata(HttpHeaders headers)
    {
        var metadata = new Metadata();
        foreach (var header in headers.NonValidated)
            foreach (var value in header.Value)
                metadata.AddFromWire(header.Key, value);
        return metadata;
    }
}

/// <summary>
/// The request body of a streaming call. HttpClient calls <see cref="PushContent.SerializeToStreamAsync(Stream, TransportContext?)"/>
/// once the stream is open; it hands the stream over and stays pending until the stream is completed
/// (or the call cancelled), so messages are written as the caller produces them, each flushed.
/// Flushing waits for HTTP/2 flow control: that is the backpressure.
/// </summary>
internal sealed class ClientRequestStream<TRequest, TResponse> : IClientStreamWriter<TRequest>
    where TRequest : class, IMessage<TRequest>, new() where TResponse : class, IMessage<TResponse>, new()
{
    private readonly GrpcCall<TRequest, TResponse> _call;
    private readonly int _maxSize;
    private readonly bool _gzip;
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PipeWriter? _writer;
    private bool _completed;

    public ClientRequestStream(GrpcCall<TRequest, TResponse> call, int maxSize, bool gzip)
    {
        _call = call;
        _maxSize = maxSize;
        _gzip = gzip;
        Content = new PushContent(this);
        call.Token.UnsafeRegister(static s => ((ClientRequestStream<TRequest, TResponse>)s!)._done.TrySetCanceled(), this);
    }

    public HttpContent Content { get; }

    public async Task WriteAsync(TRequest message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_completed) throw new InvalidOperationException("The request stream was already completed.");
        _call.ThrowIfFinished();
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _call.Token) : null;
        var token = linked?.Token ?? _call.Token;
        try
        {
            var stream = await _stream.Task.WaitAsync(token).ConfigureAwait(false);
            _writer ??= PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
            Framing.Write(_writer, message, _maxSize, _gzip);
            await _writer.FlushAsync(token).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            _call.Dispose();
            throw;
        }
        catch (Exception e)
        {
            throw await _call.MapWriteFailureAsync(e).ConfigureAwait(false);
        }
    }

    public async Task CompleteAsync()
    {
        if (_completed) return;
        _completed = true;
        try
        {
            if (_writer is not null) await _writer.FlushAsync(_call.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            throw await _call.MapWriteFailureAsync(e).ConfigureAwait(false);
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    private sealed class PushContent(ClientRequestStream<TRequest, TResponse> owner) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => Serialize(stream, default);
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) => Serialize(stream, cancellationToken);

        // HttpClient cancels this token when the response ends before the request stream does
        // (e.g. an early error status): the request body is then abandoned, not left pending.
        private async Task Serialize(Stream stream, CancellationToken cancellationToken)
        {
            owner._stream.TrySetResult(stream);
            await using var registration = cancellationToken.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetCanceled(), owner._done).ConfigureAwait(false);
            await owner._done.Task.ConfigureAwait(false);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}

internal sealed class ClientResponseStream<TRequest, TResponse>(GrpcCall<TRequest, TResponse> call) : IAsyncStreamReader<TResponse>
    where TRequest : class, IMessage<TRequest>, new() where TResponse : class, IMessage<TResponse>, new()
{
    private TResponse? _current;

    public TResponse Current => _current ?? throw new InvalidOperationException("MoveNext has not returned true.");

    public async Task<bool> MoveNext(CancellationToken cancellationToken = default)
    {
        _current = await call.ReadMessageAsync(cancellationToken).ConfigureAwait(false);
        return _current is not null;
    }
}
