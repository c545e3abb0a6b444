using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Tests;

/// <summary>Small helpers for decision tests: contexts and result unwrapping.</summary>
internal static class Given
{
    public static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    public static CommandContext Analyst(string actor, string? newId = null) => new(actor, Now, [Role.Analyst], newId);

    public static CommandContext Adjudicator(string actor) => new(actor, Now, [Role.Analyst, Role.Adjudicator]);

    public static CommandContext Admin(string actor = "admin", string? newId = null) => new(actor, Now, [Role.Admin], newId);

    public static CommandContext WithRoles(string actor, params Role[] roles) => new(actor, Now, roles);

    public static T Ok<T>(Result<T> result)
    {
        Assert.True(result.IsOk, result.Error?.ToString());
        return result.Value;
    }

    public static DomainError Refused<T>(Result<T> result, DomainErrorKind kind)
    {
        Assert.False(result.IsOk, "expected a refusal, got " + result);
        Assert.Equal(kind, result.Error.Kind);
        Assert.False(string.IsNullOrWhiteSpace(result.Error.Message));
        return result.Error;
    }

    public static TState Apply<TState>(TState state, Func<TState, IDomainEvent, TState> evolve, IEnumerable<IDomainEvent> events) =>
        events.Aggregate(state, evolve);
}
