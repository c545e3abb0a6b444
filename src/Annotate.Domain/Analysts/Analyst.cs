using System.Collections.Immutable;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Analysts;

/// <summary>A token as known to the analyst's stream. Only a hash of its secret is kept.</summary>
public sealed record TokenState(string TokenId, string SecretHash, DateTimeOffset? ExpiresAt, string Label, bool Revoked)
{
    /// <summary>Usable at <paramref name="now"/>: not revoked and not expired (expiry is exclusive).</summary>
    public bool IsValidAt(DateTimeOffset now) => !Revoked && (ExpiresAt is null || now < ExpiresAt);
}

/// <summary>State of one analyst stream: identity, roles and tokens. Invariant: roles are distinct and sorted;
/// a revoked token stays revoked. <see cref="Erased"/>: an admin erased their personal data (<see cref="Erasure"/>).</summary>
public sealed record AnalystState(
    string? AnalystId,
    string? DisplayName,
    ValueList<Role> Roles,
    ImmutableSortedDictionary<string, TokenState> Tokens,
    bool Erased = false)
{
    public static AnalystState Initial { get; } =
        new(null, null, ValueList<Role>.Empty, ImmutableSortedDictionary.Create<string, TokenState>(StringComparer.Ordinal));

    public bool Exists => AnalystId is not null;
}

public sealed record RegisterAnalyst(string AnalystId, string DisplayName, IReadOnlyCollection<Role> Roles);

public sealed record ChangeAnalystRoles(string AnalystId, IReadOnlyCollection<Role> Roles);

/// <summary>Issue a token; the caller generates the secret, hashes it, and passes only the hash. Token id from
/// <see cref="CommandContext.NewId"/>.</summary>
public sealed record IssueToken(string AnalystId, string SecretHash, DateTimeOffset? ExpiresAt, string? Label);

public sealed record RevokeToken(string AnalystId, string TokenId);

/// <summary>Decisions on analysts and their tokens. Admins manage everyone; an analyst may revoke their own tokens.</summary>
public static class Analyst
{
    public static Result<IReadOnlyList<IDomainEvent>> Decide(AnalystState state, RegisterAnalyst command, CommandContext context)
    {
        if (context.Require(Role.Admin, "Registering an analyst") is { } denied)
        {
            return denied;
        }

        var invalid = Identifiers.CheckAnalyst(command.AnalystId)
            ?? (string.IsNullOrWhiteSpace(command.DisplayName) ? "The analyst needs a display name." : null)
            ?? Limits.TooLong("display name", command.DisplayName, Limits.MaxDisplayName);
        if (invalid is not null)
        {
            return DomainError.Invalid(invalid);
        }

        if (UnknownRole(command.Roles) is { } unknown)
        {
            return unknown;
        }

        var roles = Normalize(command.Roles);
        if (state.Exists)
        {
            return state.DisplayName == command.DisplayName.Trim() && state.Roles == roles
                ? Decision.None
                : DomainError.AlreadyExists(
                    $"Analyst {command.AnalystId} already exists; change their roles instead of registering again.");
        }

        return Decision.Events(new AnalystRegistered(command.AnalystId, command.DisplayName.Trim(), roles, context.Actor));
    }

    public static Result<IReadOnlyList<IDomainEvent>> Decide(AnalystState state, ChangeAnalystRoles command, CommandContext context)
    {
        if (context.Require(Role.Admin, "Changing roles") is { } denied)
        {
            return denied;
        }

        if (!state.Exists)
        {
            return NotFound(command.AnalystId);
        }

        if (UnknownRole(command.Roles) is { } unknown)
        {
            return unknown;
        }

        var roles = Normalize(command.Roles);
        return roles == state.Roles ? Decision.None : Decision.Events(new AnalystRolesChanged(state.AnalystId!, roles, context.Actor));
    }

    public static Result<IReadOnlyList<IDomainEvent>> Decide(AnalystState state, IssueToken command, CommandContext context)
    {
        if (context.Require(Role.Admin, "Issuing a token") is { } denied)
        {
            return denied;
        }

        if (!state.Exists)
        {
            return NotFound(command.AnalystId);
        }

        var id = context.RequireNewId("token");
        if (state.Tokens.ContainsKey(id))
        {
            return DomainError.Conflict($"Token {id} already exists; retry with a new request.");
        }

        if (string.IsNullOrWhiteSpace(command.SecretHash))
        {
            return DomainError.Invalid("A token needs the hash of its secret.");
        }

        if (command.ExpiresAt is { } expiry && expiry <= context.Time)
        {
            return DomainError.Invalid($"The expiry {expiry:O} is not in the future (now {context.Time:O}); give a later time or none.");
        }

        var label = command.Label?.Trim() ?? string.Empty;
        if (Limits.TooLong("label", label, Limits.MaxLabel) is { } tooLong)
        {
            return DomainError.Invalid(tooLong);
        }

        return Decision.Events(new TokenIssued(id, state.AnalystId!, command.SecretHash, command.ExpiresAt, label, context.Actor));
    }

    public static Result<IReadOnlyList<IDomainEvent>> Decide(AnalystState state, RevokeToken command, CommandContext context)
    {
        if (!context.Has(Role.Admin) && context.Actor != command.AnalystId)
        {
            return DomainError.PermissionDenied("Only an admin or the token's owner can revoke a token.");
        }

        if (!state.Exists)
        {
            return NotFound(command.AnalystId);
        }

        if (!state.Tokens.TryGetValue(command.TokenId, out var token))
        {
            return DomainError.NotFound($"Analyst {command.AnalystId} has no token {command.TokenId}; list their tokens to find its id.");
        }

        return token.Revoked ? Decision.None : Decision.Events(new TokenRevoked(token.TokenId, state.AnalystId!, context.Actor));
    }

    /// <summary>Checks a presented token (by id and secret hash) at <paramref name="now"/>; the roles on success.
    /// Every failure is the same Unauthenticated message, so a caller learns nothing about which part was wrong.</summary>
    public static Result<ValueList<Role>> Authenticate(AnalystState state, string tokenId, string secretHash, DateTimeOffset now)
    {
        if (state.Exists && state.Tokens.TryGetValue(tokenId, out var token) && token.IsValidAt(now)
            && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(token.SecretHash), System.Text.Encoding.UTF8.GetBytes(secretHash)))
        {
            return state.Roles;
        }

        return DomainError.Unauthenticated("The token is missing, unknown, expired or revoked; ask an admin for a new one.");
    }

    public static AnalystState Evolve(AnalystState state, IDomainEvent e) => e switch
    {
        AnalystRegistered r => state with { AnalystId = r.AnalystId, DisplayName = r.DisplayName, Roles = r.Roles },
        AnalystRolesChanged c => state with { Roles = c.Roles },
        TokenIssued t => state with
        {
            Tokens = state.Tokens.SetItem(t.TokenId, new TokenState(t.TokenId, t.SecretHash, t.ExpiresAt, t.Label, false)),
        },
        TokenRevoked r when state.Tokens.TryGetValue(r.TokenId, out var token) => state with
        {
            Tokens = state.Tokens.SetItem(r.TokenId, token with { Revoked = true }),
        },
        AnalystErased => state with { DisplayName = state.AnalystId, Erased = true },
        _ => state,
    };

    private static ValueList<Role> Normalize(IEnumerable<Role> roles) => roles.Distinct().Order().ToValueList();

    private static DomainError? UnknownRole(IEnumerable<Role> roles) =>
        roles.Any(r => !Enum.IsDefined(r)) ? DomainError.Invalid("Unknown role; use analyst, adjudicator, auditor or admin.") : null;

    private static DomainError NotFound(string analystId) =>
        DomainError.NotFound($"Analyst {analystId} does not exist; register them first.");
}
