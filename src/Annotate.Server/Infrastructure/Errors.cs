using System.Net.Sockets;
using Annotate.Domain.Errors;
using Annotate.EventStore;
using Grpc.Core;
using Npgsql;

namespace Annotate.Server.Infrastructure;

/// <summary>A refusal by the domain or by a handler, carried to the transport boundary.</summary>
public sealed class DomainException(DomainError error) : Exception(error.Message)
{
    public DomainError Error { get; } = error;
}

/// <summary>
/// The server cannot answer now but may on a retry with the same request id: the database is unreachable, or a
/// command committed and what follows the commit (reading it back, the views catching up) did not finish in time.
/// </summary>
public sealed class UnavailableException(string message, Exception? inner = null) : Exception(message, inner);

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
        RpcException r => r,
        DomainException d => new RpcException(new Status(ToStatusCode(d.Error.Kind), d.Error.Message)),
        WrongExpectedVersionException w => new RpcException(new Status(StatusCode.Aborted,
            $"Someone changed {w.StreamId} at the same moment; read it again and retry.")),
        StreamGuardException => new RpcException(new Status(StatusCode.Aborted,
            "The caller's access changed several times while the call ran; send it again with the same request id.")),
        IdempotencyKeyConflictException => new RpcException(new Status(StatusCode.AlreadyExists,
            "This request id was already used for a different request; send a new request id.")),
        UnavailableException u => new RpcException(new Status(StatusCode.Unavailable, u.Message)),
        _ when DatabaseOutage(e) is { } outage => new RpcException(new Status(StatusCode.Unavailable, outage)),
        _ => null,
    };

    /// <summary>
    /// What to tell a client when <paramref name="e"/> is the database being unreachable or refusing for a moment (every one
    /// of these may be retried with the same request id, which never acts twice); null for anything else.
    /// </summary>
    public static string? DatabaseOutage(Exception e)
    {
        const string retry = "; retry with the same request id";
        // Connections first, wherever they are in the chain (a writer's batch wraps them as an unknown outcome): nothing was
        // sent to the database, so the message can say what is short.
        for (var x = (Exception?)e; x is not null; x = x.InnerException)
        {
            if (IsPoolExhausted(x))
                return "Every database connection of this server is in use and none came free in time" + retry + " shortly.";
            if (x is PostgresException { SqlState: PostgresErrorCodes.TooManyConnections })
                return "PostgreSQL has no connection slot free (max_connections is reached)" + retry + " shortly.";
        }
        for (var x = (Exception?)e; x is not null; x = x.InnerException)
        {
            switch (x)
            {
                case PostgresException p when p.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected:
                    return "The database gave up this transaction because of a concurrent one" + retry + ".";
                // 08: connection exceptions; 57P: admin/crash shutdown, cannot connect now; 53: insufficient resources
                // (too many connections).
                case PostgresException p when p.SqlState.StartsWith("08", StringComparison.Ordinal)
                                               || p.SqlState.StartsWith("57P", StringComparison.Ordinal)
                                               || p.SqlState.StartsWith("53", StringComparison.Ordinal):
                    return $"The database is not available ({p.SqlState})" + retry + " shortly.";
                case PostgresException:
                    return null; // a statement failed in the database: a fault of ours, not an outage
                case AppendOutcomeUnknownException:
                    return "The database connection was lost while the action was being recorded" + retry + " to learn its outcome.";
                case NpgsqlException { IsTransient: true }:
                case SocketException or TimeoutException or IOException:
                    return "The database cannot be reached" + retry + " shortly.";
            }
        }
        return null;
    }

    /// <summary>
    /// Npgsql's answer when a call waited its Timeout for a pooled connection and none came free: an NpgsqlException (around
    /// a TimeoutException). A timeout opening a new connection has the same shape, so the pool's message tells them apart
    /// (Npgsql has no type or code of its own for it).
    /// </summary>
    public static bool IsPoolExhausted(Exception e) =>
        e is NpgsqlException and not PostgresException
        && e.Message.StartsWith("The connection pool has been exhausted", StringComparison.Ordinal);

    public static DomainException Invalid(string message) => new(DomainError.Invalid(message));
    public static DomainException NotFound(string message) => new(DomainError.NotFound(message));

    /// <summary>The value of a domain result, or its refusal thrown for the boundary.</summary>
    public static T OrThrow<T>(this Result<T> result) => result.IsOk ? result.Value : throw new DomainException(result.Error);
}
