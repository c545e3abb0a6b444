using Annotate.Domain.Events;

namespace Annotate.Server.Infrastructure;

/// <summary>The authenticated analyst of the current call. Adjudicators may do what analysts may.</summary>
public sealed record Caller(string AnalystId, IReadOnlySet<Role> Roles)
{
    /// <summary>The token the call came with (null for the server's own actor).</summary>
    public string? TokenId { get; init; }

    /// <summary>
    /// The analyst's access stream at the version the token was checked against: the writer refuses the call's append
    /// unless that stream is still there under the global-order lock (see <see cref="Authentication"/>).
    /// </summary>
    public EventStore.StreamGuard? Guard { get; init; }

    public static Caller Of(string analystId, IEnumerable<Role> roles)
    {
        var set = new HashSet<Role>(roles);
        if (set.Contains(Role.Adjudicator)) set.Add(Role.Analyst);
        return new Caller(analystId, set);
    }

    public bool Has(Role role) => Roles.Contains(role);
}

/// <summary>Holds the caller of the current call (one per request scope; set from the authenticated principal by <see
/// cref="AccessPolicies"/>).</summary>
public sealed class CallerContext
{
    private Caller? _caller;

    public Caller Caller
    {
        get => _caller ?? throw new InvalidOperationException("No authenticated caller in this scope.");
        set => _caller = value;
    }

    public bool IsSet => _caller is not null;
}
