namespace Annotate.Domain.Errors;

/// <summary>What kind of refusal a <see cref="DomainError"/> is. The server maps each kind to
/// exactly one gRPC status code in a single table; the domain never knows about gRPC.</summary>
public enum DomainErrorKind
{
    /// <summary>The named thing (article, claim, highlight, quote...) does not exist.</summary>
    NotFound,
    /// <summary>The request itself is malformed or out of bounds; retrying it unchanged cannot succeed.</summary>
    Invalid,
    /// <summary>The request is well formed but the current state forbids it (e.g. stance on an adjudicated claim).</summary>
    FailedPrecondition,
    /// <summary>The caller acted on an outdated view (e.g. stale claim version); re-read and retry.</summary>
    Conflict,
    /// <summary>The actor is known but may not do this.</summary>
    PermissionDenied,
    /// <summary>The actor is not known (missing, bad, expired or revoked token).</summary>
    Unauthenticated,
    /// <summary>What the request would create exists already, with other details (e.g. an analyst id that is taken).</summary>
    AlreadyExists,
}

/// <summary>A refusal by the domain. Invariant: <see cref="Message"/> is non-empty, user-facing and says
/// what to do next; it never contains exception text or internal identifiers beyond those the user sent.</summary>
public sealed record DomainError(DomainErrorKind Kind, string Message)
{
    public static DomainError NotFound(string message) => new(DomainErrorKind.NotFound, message);
    public static DomainError Invalid(string message) => new(DomainErrorKind.Invalid, message);
    public static DomainError FailedPrecondition(string message) => new(DomainErrorKind.FailedPrecondition, message);
    public static DomainError Conflict(string message) => new(DomainErrorKind.Conflict, message);
    public static DomainError PermissionDenied(string message) => new(DomainErrorKind.PermissionDenied, message);
    public static DomainError Unauthenticated(string message) => new(DomainErrorKind.Unauthenticated, message);
    public static DomainError AlreadyExists(string message) => new(DomainErrorKind.AlreadyExists, message);

    public override string ToString() => $"{Kind}: {Message}";
}
