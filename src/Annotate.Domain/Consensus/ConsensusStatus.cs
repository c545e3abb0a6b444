namespace Annotate.Domain.Consensus;

/// <summary>Status of a claim's consensus view. The four stance statuses mean that stance holds the threshold share.</summary>
public enum ConsensusStatus
{
    Pending,
    Supported,
    Refuted,
    NeedsContext,
    Unverifiable,
    Contested,
    Adjudicated,
}
