using Annotate.Server.Infrastructure;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Annotate.Server.Transport;

/// <summary>
/// The one place where exceptions of a call become its status: refusals and known failures through
/// <see cref="ErrorMapping.ToRpcException"/>; anything else is a fault, logged once here and answered
/// INTERNAL without its text (which may hold SQL, paths or data of other analysts). A call the client
/// cancelled or whose deadline passed ends as the transport reports it, without a log line.
/// </summary>
public sealed partial class ErrorInterceptor(ILogger<ErrorInterceptor> logger) : Interceptor
{
    public const string FaultMessage = "The server failed to handle this call; the fault is in its log.";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request,
        ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (Map(e, context) is { } status)
        {
            throw status;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request,
        IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (Map(e, context) is { } status)
        {
            throw status;
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception e) when (Map(e, context) is { } status)
        {
            throw status;
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception e) when (Map(e, context) is { } status)
        {
            throw status;
        }
    }

    /// <summary>The status to end the call with instead of <paramref name="e"/>; null to let it pass as it is.</summary>
    private RpcException? Map(Exception e, ServerCallContext context)
    {
        if (e is RpcException) return null; // already a status
        if (e is OperationCanceledException && context.CancellationToken.IsCancellationRequested) return null; // client gone or deadline
        if (ErrorMapping.ToRpcException(e) is { } known) return known;
        LogFault(logger, e, context.Method);
        return new RpcException(new Status(StatusCode.Internal, FaultMessage));
    }

    [LoggerMessage(1, LogLevel.Error, "Fault in {Method}")]
    private static partial void LogFault(ILogger logger, Exception exception, string method);
}
