using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;

namespace Annotate.Server.Features.Admin;

/// <summary>An analyst's name and roles, keyed by the analyst id: what authentication and the admin lists read.</summary>
public sealed class AnalystAccess
{
    public string Id { get; set; } = "";
    public string DisplayName { get; set; } = "";
    public Role[] Roles { get; set; } = [];
    public DateTime CreatedAt { get; set; }
}

/// <summary>A token (its secret's hash, never the secret), keyed by the token id.</summary>
public sealed class TokenAccess
{
    public string Id { get; set; } = "";
    public string AnalystId { get; set; } = "";
    public string SecretHash { get; set; } = "";
    public DateTimeOffset? ExpiresAt { get; set; }
    public string Label { get; set; } = "";
    public bool Revoked { get; set; }
    public DateTime IssuedAt { get; set; }
}

/// <summary>One <see cref="AnalystAccess"/> per registered analyst.</summary>
public sealed class AnalystAccessProjection() : ViewProjection<AnalystAccess>(typeof(AnalystRegistered), typeof(AnalystRolesChanged))
{
    public override IEnumerable<string> KeysOf(ViewEvent e) => e.Event switch
    {
        AnalystRegistered a => [a.AnalystId],
        AnalystRolesChanged a => [a.AnalystId],
        _ => [],
    };

    public override AnalystAccess? Apply(AnalystAccess? current, string key, ViewEvent e) => e.Event switch
    {
        AnalystRegistered a => new AnalystAccess
        {
            Id = a.AnalystId,
            DisplayName = a.DisplayName,
            Roles = [.. a.Roles],
            CreatedAt = e.RecordedAt
        },
        AnalystRolesChanged a when current is not null => new AnalystAccess
        {
            Id = current.Id,
            DisplayName = current.DisplayName,
            Roles = [.. a.Roles],
            CreatedAt = current.CreatedAt,
        },
        _ => current,
    };
}

/// <summary>One <see cref="TokenAccess"/> per issued token; a revocation marks it.</summary>
public sealed class TokenAccessProjection() : ViewProjection<TokenAccess>(typeof(TokenIssued), typeof(TokenRevoked))
{
    public override IEnumerable<string> KeysOf(ViewEvent e) => e.Event switch
    {
        TokenIssued t => [t.TokenId],
        TokenRevoked t => [t.TokenId],
        _ => [],
    };

    public override TokenAccess? Apply(TokenAccess? current, string key, ViewEvent e) => e.Event switch
    {
        TokenIssued t => new TokenAccess
        {
            Id = t.TokenId,
            AnalystId = t.AnalystId,
            SecretHash = t.SecretHash,
            ExpiresAt = t.ExpiresAt,
            Label = t.Label,
            IssuedAt = e.RecordedAt,
        },
        TokenRevoked when current is not null => new TokenAccess
        {
            Id = current.Id,
            AnalystId = current.AnalystId,
            SecretHash = current.SecretHash,
            ExpiresAt = current.ExpiresAt,
            Label = current.Label,
            Revoked = true,
            IssuedAt = current.IssuedAt,
        },
        _ => current,
    };
}
