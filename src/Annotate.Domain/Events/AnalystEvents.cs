namespace Annotate.Domain.Events;

// analysts and tokens: stream "analyst-{analystId}"

public sealed record AnalystRegistered(string AnalystId, string DisplayName, ValueList<Role> Roles, string RegisteredBy) : IDomainEvent;

public sealed record AnalystRolesChanged(string AnalystId, ValueList<Role> Roles, string ChangedBy) : IDomainEvent;

/// <summary>A bearer token was issued. Only a hash of the secret is stored (<see cref="SecretHash"/>, computed by the
/// caller); the secret itself never enters the history.</summary>
public sealed record TokenIssued(
    string TokenId,
    string AnalystId,
    string SecretHash,
    DateTimeOffset? ExpiresAt,
    string Label,
    string IssuedBy
) : IDomainEvent;

public sealed record TokenRevoked(string TokenId, string AnalystId, string RevokedBy) : IDomainEvent;

/// <summary>
/// An admin erased an analyst's personal data (<c>Analysts.Erasure</c>): <see cref="Erased"/> lists every event whose data
/// was replaced by its masked form, with the digest of that form, so the audit chain still verifies (the event store's
/// erasure list: JSON "erased": [{"position", "dataDigest"}]). Recorded before the data is replaced.
/// </summary>
public sealed record AnalystErased(string AnalystId, string ErasedBy, string Reason, ValueList<ErasedEvent> Erased) : IDomainEvent;

/// <summary>One erased event: its position and the SHA-256 (lower-case hex) of its masked data as stored.</summary>
public sealed record ErasedEvent(long Position, string DataDigest);
