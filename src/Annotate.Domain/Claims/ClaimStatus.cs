namespace Annotate.Domain.Claims;

/// <summary>Lifecycle of a claim: OPEN -> ADJUDICATED (closed: stances and withdrawals refused) -> OPEN on reopen.</summary>
public enum ClaimStatus
{
    Open,
    Adjudicated,
}
