using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain;

/// <summary>Helpers for the result of a decision: the events to append (possibly none, meaning "already so").</summary>
public static class Decision
{
    public static Result<IReadOnlyList<IDomainEvent>> Events(params IDomainEvent[] events) => events;

    public static Result<IReadOnlyList<IDomainEvent>> None { get; } = Array.Empty<IDomainEvent>();
}
