using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;

namespace Annotate.Grpc;

public sealed class GrpcServerOptions
{
    /// <summary>Largest request message accepted (after decompression); larger is RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;
    /// <summary>Largest response message sent; larger fails the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxSendMessageSize { get; set; } = int.MaxValue;
    /// <summary>
    /// "gzip" to compress responses for every client that accepts gzip. With null, responses are
    /// compressed only when the request was (answering in the client's own encoding).
    /// </summary>
    public string? ResponseCompression { get; set; }
}

/// <summary>
/// Runs before every handler (registered in DI as a singleton; all registered run, in order). Throw
/// an <see cref="RpcException"/> to refuse the call (e.g. UNAUTHENTICATED).
/// </summary>
public interface IServerCallFilter
{
    ValueTask OnCallAsync(ServerCallContext context);
}

/// <summary>The services mapped on this host (what health and reflection describe).</summary>
public sealed class GrpcServiceRegistry
{
    private readonly List<ServiceDescriptor> _services = [];
    internal bool UnimplementedMapped { get; set; }

    public IReadOnlyList<ServiceDescriptor> Services { get { lock (_services) return _services.ToArray(); } }

    public bool IsMapped(string serviceFullName)
    {
        lock (_services) return _services.Exists(s => s.FullName == serviceFullName);
    }

    internal void Add(ServiceDescriptor service)
    {
        lock (_services)
        {
            if (_services.Exists(s => s.FullName == service.FullName))
                throw new InvalidOperationException($"gRPC service {service.FullName} is mapped twice.");
            _services.Add(service);
        }
    }
}

/// <summary>Collects one handler per method of a service; <see cref="GrpcEndpointExtensions.MapGrpcService"/> checks them.</summary>
public sealed class ServiceBinder
{
    internal readonly List<(IMethod Method, Func<ServerCallContext, Task> Body)> Handlers = [];

    internal ServiceBinder(ServiceDescriptor service) => Service = service;

    public ServiceDescriptor Service { get; }

    public ServiceBinder Unary<TReq, TRes>(Method<TReq, TRes> method, Func<TReq, ServerCallContext, Task<TRes>> handler)
        where TReq : class, IMessage<TReq>, new() where TRes : class, IMessage<TRes>, new()
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(method, MethodType.Unary, async ctx =>
        {
            var request = await ctx.ReadSingleRequestAsync(Method<TReq, TRes>.RequestParser).ConfigureAwait(false);
            var response = await handler(request, ctx).ConfigureAwait(false);
            await ctx.WriteResponseAsync(response, flush: false).ConfigureAwait(false);
        });
    }

    public ServiceBinder ServerStreaming<TReq, TRes>(Method<TReq, TRes> method, Func<TReq, IServerStreamWriter<TRes>, ServerCallContext, Task> handler)
        where TReq : class, IMessage<TReq>, new() where TRes : class, IMessage<TRes>, new()
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(method, MethodType.ServerStreaming, async ctx =>
        {
            var request = await ctx.ReadSingleRequestAsync(Method<TReq, TRes>.RequestParser).ConfigureAwait(false);
            await handler(request, new ServerStreamWriter<TRes>(ctx), ctx).ConfigureAwait(false);
        });
    }

    public ServiceBinder ClientStreaming<TReq, TRes>(Method<TReq, TRes> method, Func<IAsyncStreamReader<TReq>, ServerCallContext, Task<TRes>> handler)
        where TReq : class, IMessage<TReq>, new() where TRes : class, IMessage<TRes>, new()
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(method, MethodType.ClientStreaming, async ctx =>
        {
            var response = await handler(new ServerStreamReader<TReq>(ctx), ctx).ConfigureAwait(false);
            await ctx.WriteResponseAsync(response, flush: false).ConfigureAwait(false);
        });
    }

    public ServiceBinder Duplex<TReq, TRes>(Method<TReq, TRes> method, Func<IAsyncStreamReader<TReq>, IServerStreamWriter<TRes>, ServerCallContext, Task> handler)
        where TReq : class, IMessage<TReq>, new() where TRes : class, IMessage<TRes>, new()
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(method, MethodType.DuplexStreaming,
            ctx => handler(new ServerStreamReader<TReq>(ctx), new ServerStreamWriter<TRes>(ctx), ctx));
    }

    private ServiceBinder Add(IMethod method, MethodType shape, Func<ServerCallContext, Task> body)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (method.Type != shape)
            throw new InvalidOperationException($"gRPC method {method.FullName} is {method.Type}, not {shape}.");
        if (Handlers.Exists(h => h.Method.FullName == method.FullName))
            throw new InvalidOperationException($"gRPC method {method.FullName} has two handlers.");
        Handlers.Add((method, body));
        return this;
    }

    /// <summary>Every method of the service has exactly one handler and every handler belongs to it.</summary>
    internal void Validate()
    {
        foreach (var (method, _) in Handlers)
            if (method.ServiceName != Service.FullName || Service.FindMethodByName(method.Name) is null)
                throw new InvalidOperationException($"gRPC handler for {method.FullName} matches no method of service {Service.FullName}.");
        foreach (var m in Service.Methods)
            if (!Handlers.Exists(h => h.Method.Name == m.Name))
                throw new InvalidOperationException($"gRPC method /{Service.FullName}/{m.Name} has no handler.");
    }
}

public static class GrpcServiceCollectionExtensions
{
    public static IServiceCollection AddGrpcTransport(this IServiceCollection services, Action<GrpcServerOptions>? configure = null)
    {
        services.AddOptions<GrpcServerOptions>();
        if (configure is not null) services.Configure(configure);
        services.AddRouting();
        services.AddSingleton<GrpcServiceRegistry>();
        services.AddSingleton<HealthService>();
        return services;
    }
}

public static class KestrelGrpcExtensions
{
    /// <summary>
    /// Listens for gRPC: HTTP/2 over TLS (negotiated by ALPN) when a certificate is given,
    /// cleartext HTTP/2 (h2c, prior knowledge) otherwise.
    /// </summary>
    public static void ListenGrpc(this KestrelServerOptions kestrel, IPEndPoint endpoint, X509Certificate2? certificate = null)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        kestrel.Listen(endpoint, listen =>
        {
            if (certificate is null)
            {
                // Without TLS there is no ALPN: Http1AndHttp2 would silently mean HTTP/1.1.
                listen.Protocols = HttpProtocols.Http2;
            }
            else
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(certificate);
            }
        });
    }
}

public static class GrpcEndpointExtensions
{
    /// <summary>
    /// Maps a service's methods at "/package.Service/Method". Throws, naming the method, when a method of
    /// the service has no handler or a handler matches no method of it (so the host fails at start-up).
    /// </summary>
    public static IEndpointConventionBuilder MapGrpcService(this IEndpointRouteBuilder app, ServiceDescriptor service, Action<ServiceBinder> bind)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(bind);
        var binder = new ServiceBinder(service);
        bind(binder);
        binder.Validate();

        var sp = app.ServiceProvider;
        var registry = sp.GetService<GrpcServiceRegistry>()
            ?? throw new InvalidOperationException("Call services.AddGrpcTransport() before mapping gRPC services.");
        registry.Add(service);

        var shared = GrpcEndpoint.Shared.Create(sp);
        var builders = new List<IEndpointConventionBuilder>();
        foreach (var (method, body) in binder.Handlers)
        {
            var endpoint = new GrpcEndpoint(method, body, shared);
            builders.Add(app.Map(method.FullName, endpoint.HandleAsync).WithDisplayName("gRPC " + method.FullName));
        }
        if (!registry.UnimplementedMapped)
        {
            // Any other "/x/y" POSTed as gRPC is an unknown service or method: UNIMPLEMENTED, not a 404.
            registry.UnimplementedMapped = true;
            builders.Add(app.Map("/{service}/{method}", ctx => GrpcEndpoint.UnimplementedAsync(ctx, registry))
                .WithDisplayName("gRPC unimplemented"));
        }
        return new CompositeConventionBuilder(builders);
    }

    private sealed class CompositeConventionBuilder(List<IEndpointConventionBuilder> builders) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var b in builders) b.Add(convention);
        }
    }
}

/// <summary>One gRPC method's request pipeline: protocol checks, deadline, filters, handler, status.</summary>
internal sealed partial class GrpcEndpoint(IMethod method, Func<ServerCallContext, Task> body, GrpcEndpoint.Shared shared)
{
    internal sealed class Shared(GrpcServerOptions options, IServerCallFilter[] filters, ILogger logger)
    {
        public GrpcServerOptions Options { get; } = options;
        public IServerCallFilter[] Filters { get; } = filters;
        public ILogger Logger { get; } = logger;

        public static Shared Create(IServiceProvider sp) => new(
            sp.GetRequiredService<IOptions<GrpcServerOptions>>().Value,
            sp.GetServices<IServerCallFilter>().ToArray(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Annotate.Grpc.Server"));
    }

    public async Task HandleAsync(HttpContext http)
    {
        if (!CheckRequest(http, out var requestEncoding)) return;
        var options = shared.Options;
        var compress = (options.ResponseCompression == Framing.Gzip || requestEncoding == Framing.Gzip)
            && Framing.Accepts(http.Request.Headers["grpc-accept-encoding"], Framing.Gzip);

        // Streams may be long and idle: Kestrel's body size and minimum data rate limits do not apply.
        var sizeFeature = http.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false }) sizeFeature.MaxRequestBodySize = null;
        var rateFeature = http.Features.Get<IHttpMinRequestBodyDataRateFeature>();
        if (rateFeature is not null) rateFeature.MinDataRate = null;

        DateTime? deadline = null;
        CancellationTokenSource? deadlineCts = null;
        var token = http.RequestAborted;
        var timeoutHeader = http.Request.Headers["grpc-timeout"];
        if (timeoutHeader.Count > 0 && HeaderCodec.TryParseTimeout(timeoutHeader[0], out var timeout))
        {
            deadline = DateTime.UtcNow + timeout;
            deadlineCts = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
            deadlineCts.CancelAfter(timeout);
            token = deadlineCts.Token;
        }

        var ctx = new ServerCallContext(http, method, options, deadline, token, requestEncoding, compress);
        try
        {
            foreach (var filter in shared.Filters) await filter.OnCallAsync(ctx).ConfigureAwait(false);
            if (deadlineCts?.IsCancellationRequested == true) throw new OperationCanceledException(token);
            await body(ctx).ConfigureAwait(false);
            ctx.Complete(StatusCode.OK, null, null);
        }
        catch (Exception) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client reset or cancelled the stream: there is no one to send a status to.
            LogClientCancelled(shared.Logger, method.FullName);
        }
        catch (RpcException e)
        {
            ctx.Complete(e.StatusCode, e.Detail, e.Trailers);
        }
        catch (OperationCanceledException) when (deadlineCts?.IsCancellationRequested == true)
        {
            ctx.Complete(StatusCode.DeadlineExceeded, "Deadline Exceeded", null);
        }
        catch (Exception e)
        {
            // The text may hold internals: logged here, never sent.
            LogHandlerFailed(shared.Logger, e, method.FullName);
            ctx.Complete(StatusCode.Internal, "Exception was thrown by handler.", null);
        }
        finally
        {
            deadlineCts?.Dispose();
        }
    }

    /// <summary>
    /// The checks PROTOCOL-HTTP2.md asks of a server before the call starts. On failure the response
    /// is written (HTTP status for non-gRPC requests, trailers-only status otherwise) and false returned.
    /// </summary>
    private static bool CheckRequest(HttpContext http, out string? requestEncoding)
    {
        requestEncoding = null;
        var request = http.Request;
        if (!HttpProtocol.IsHttp2(request.Protocol) && !HttpProtocol.IsHttp3(request.Protocol))
        {
            Refuse(http, StatusCodes.Status426UpgradeRequired, StatusCode.Internal, $"Request protocol '{request.Protocol}' is not supported: gRPC needs HTTP/2.");
            return false;
        }
        if (!HttpMethods.IsPost(request.Method))
        {
            http.Response.Headers.Allow = "POST";
            Refuse(http, StatusCodes.Status405MethodNotAllowed, StatusCode.Internal, $"Method '{request.Method}' is not supported: gRPC needs POST.");
            return false;
        }
        if (!IsGrpcContentType(request.ContentType))
        {
            // 415 keeps non-gRPC HTTP clients from reading a gRPC error (HTTP 200) as success.
            Refuse(http, StatusCodes.Status415UnsupportedMediaType, StatusCode.Internal, $"Content-Type '{request.ContentType}' is not supported.");
            return false;
        }
        var encoding = request.Headers["grpc-encoding"];
        if (encoding.Count > 0 && encoding[0] is { } e && e != "identity")
        {
            if (e != Framing.Gzip)
            {
                http.Response.Headers["grpc-accept-encoding"] = Framing.AcceptEncoding;
                Refuse(http, StatusCodes.Status200OK, StatusCode.Unimplemented, $"Unsupported grpc-encoding '{e}'; supported: {Framing.AcceptEncoding}.");
                return false;
            }
            requestEncoding = e;
        }
        return true;
    }

    private static bool IsGrpcContentType(string? contentType) =>
        contentType is not null && contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)
        && (contentType.Length == 16 || contentType[16] is '+' or ';')
        && !contentType.StartsWith("application/grpc-web", StringComparison.OrdinalIgnoreCase);

    private static void Refuse(HttpContext http, int httpStatus, StatusCode code, string detail)
    {
        var response = http.Response;
        response.StatusCode = httpStatus;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = HeaderCodec.EncodeMessage(detail);
    }

    public static Task UnimplementedAsync(HttpContext http, GrpcServiceRegistry registry)
    {
        // Not a gRPC request at all: this route must not change what the host answers for
        // other unknown paths.
        if (!IsGrpcContentType(http.Request.ContentType))
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        if (!CheckRequest(http, out _)) return Task.CompletedTask;
        var service = (string?)http.Request.RouteValues["service"] ?? "";
        var detail = registry.IsMapped(service)
            ? $"Method is unimplemented: {http.Request.Path}"
            : $"Service is unimplemented: {service}";
        Refuse(http, StatusCodes.Status200OK, StatusCode.Unimplemented, detail);
        return Task.CompletedTask;
    }

    [LoggerMessage(1, LogLevel.Error, "gRPC handler for {Method} threw; answered INTERNAL")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string method);

    [LoggerMessage(2, LogLevel.Debug, "gRPC call {Method} was cancelled by the client")]
    private static partial void LogClientCancelled(ILogger logger, string method);
}
