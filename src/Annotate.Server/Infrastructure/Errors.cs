using Annotate.Domain.Errors;
using Annotate.EventStore;
using Grpc.Core;

namespace Annotate.Server.Infrastructure;

/// <summary>A refusal by the domain or by a handler, carried to the transport boundary.</summary>
public sealed class DomainException(DomainError error) : Exception(error.Message)
{
    public DomainError Error { get; } = error;
}

/// <summary>
/// The one table from refusals to gRPC status codes. Anything not in it is a fault: <see cref="ErrorInterceptor"/> logs it
/// and answers INTERNAL without its text.
/// </summary>
public static class ErrorMapping
{
    public static StatusCode ToStatusCode(DomainErrorKind kind) => kind switch
    {
        DomainErrorKind.NotFound => StatusCode.NotFound,
        DomainErrorKind.Invalid => StatusCode.InvalidArgument,
        DomainErrorKind.FailedPrecondition => StatusCode.FailedPrecondition,
        DomainErrorKind.Conflict => StatusCode.Aborted,
        DomainErrorKind.PermissionDenied => StatusCode.PermissionDenied,
        DomainErrorKind.Unauthenticated => StatusCode.Unauthenticated,
        DomainErrorKind.AlreadyExists => StatusCode.AlreadyExists,
        _ => StatusCode.Internal,
    };

    /// <summary>The status a known exception becomes; null for faults.</summary>
    public static RpcException? ToRpcException(Exception e) => e switch
    {
        DomainException d => new RpcException(new Status(ToStatusCode(d.Error.Kind), d.Error.Message)),
        WrongExpectedVersionException w => new RpcException(new Status(StatusCode.Aborted,
            $"Someone changed {w.StreamId} at the same moment; read it again and retry.")),
        EventIdConflictException => new RpcException(new Status(StatusCode.AlreadyExists,
            "This request id was already used for a different request; send a new request id.")),
        _ => null,
    };

    public static DomainException Invalid(string message) => new(DomainError.Invalid(message));
    public static DomainException NotFound(string message) => new(DomainError.NotFound(message));

    /// <summary>The value of a domain result, or its refusal thrown for the boundary.</summary>
    public static T OrThrow<T>(this Result<T> result) => result.IsOk ? result.Value : throw new DomainException(result.Error);
}
