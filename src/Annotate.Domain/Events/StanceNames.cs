namespace Annotate.Domain.Events;

/// <summary>The stable upper-case names of stances, as stored in JSON and shown to users (e.g. "NEEDS_CONTEXT").</summary>
public static class StanceNames
{
    public static string Of(Stance stance) => stance switch
    {
        Stance.Supports => "SUPPORTS",
        Stance.Refutes => "REFUTES",
        Stance.NeedsContext => "NEEDS_CONTEXT",
        Stance.Unverifiable => "UNVERIFIABLE",
        _ => throw new ArgumentOutOfRangeException(nameof(stance), stance, null),
    };
}
