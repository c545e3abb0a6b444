using Annotate.Domain.Events;

namespace Annotate.Server.Infrastructure;

/// <summary>The authenticated analyst of the current call. Adjudicators may do what analysts may.</summary>
public sealed record Caller(string AnalystId, IReadOnlySet<Role> Roles)
{
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
