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
