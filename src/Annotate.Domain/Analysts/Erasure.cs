using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Analysts;

/// <summary>
/// Erase an analyst's personal data, for <see cref="Reason"/>; <see cref="Erased"/> are the events masked (found by the caller).
/// </summary>
public sealed record EraseAnalyst(string AnalystId, string? Reason, IReadOnlyList<ErasedEvent> Erased);

/// <summary>
/// What an analyst's personal data is, and the decision to erase it. Personal data: their display name, the label of each
/// of their tokens, and every free text they wrote: highlight notes, a claim statement they typed (the masked claim keeps the
/// article's words it quotes), stance and verdict rationales, reopening reasons, reply texts. What stays: ids (the analyst
/// id is the opaque reference views show instead of the name), positions, spans and quotes of article text, stances and
/// verdicts (votes, which the consensus and the chain's history depend on), tags, times. Masking is a pure function of the
/// event (<see cref="Masked"/>), so the masked data and its digest are known before the data is replaced.
/// </summary>
public static class Erasure
{
    /// <summary>The analyst who wrote the event's personal data, or null when it holds none.</summary>
    public static string? AuthorOf(IDomainEvent e) => e switch
    {
        AnalystRegistered a => a.AnalystId,
        TokenIssued t => t.AnalystId,
        HighlightCreated h => h.Analyst,
        ClaimOpened c => c.Analyst,
        StanceTaken s => s.Analyst,
        ClaimAdjudicated a => a.Adjudicator,
        ClaimReopened r => r.Adjudicator,
        ReplyPosted p => p.Analyst,
        ReplyEdited x => x.Analyst,
        ArticleRevised r => r.RevisedBy,
        _ => null,
    };

    /// <summary>The event with its personal data removed (the event itself when it holds none).</summary>
    public static IDomainEvent Masked(IDomainEvent e) => e switch
    {
        AnalystRegistered a => a with { DisplayName = a.AnalystId },
        TokenIssued t => t with { Label = "" },
        HighlightCreated h => h with { Note = null },
        ClaimOpened c => c with { Statement = QuotedStatement(c.Exact) },
        StanceTaken s => s with { Rationale = "" },
        ClaimAdjudicated a => a with { Rationale = "" },
        ClaimReopened r => r with { Reason = "" },
        ReplyPosted p => p with { Body = "" },
        ReplyEdited x => x with { Body = "" },
        ArticleRevised r => r with { Reason = "" },
        _ => e,
    };

    /// <summary>The masked form of <paramref name="e"/> when <paramref name="analystId"/> wrote personal data in it that is still
    /// there; null otherwise (another author, nothing personal, or already masked).</summary>
    public static IDomainEvent? MaskedIfPersonal(IDomainEvent e, string analystId) =>
        AuthorOf(e) == analystId && Masked(e) is var masked && !masked.Equals(e) ? masked : null;

    /// <summary>A claim's statement when its opener typed none: the quoted words on one line (OpenClaim's default).</summary>
    public static string QuotedStatement(string exact) =>
        string.Join(' ', exact.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <summary>
    /// Admins only, with a reason, never oneself (the erasure revokes the analyst's tokens). Records the erasure and revokes
    /// every token still valid; nothing when the analyst was erased already and nothing personal is left (erasing twice
    /// changes nothing).
    /// </summary>
    public static Result<IReadOnlyList<IDomainEvent>> Decide(AnalystState state, EraseAnalyst command, CommandContext context)
    {
        if (context.Require(Role.Admin, "Erasing an analyst's personal data") is { } denied) return denied;
        var reason = command.Reason?.Trim() ?? "";
        if (reason.Length == 0) return DomainError.Invalid("An erasure needs a reason (e.g. the request it answers).");
        if (Limits.TooLong("reason", reason, Limits.MaxReason) is { } tooLong) return DomainError.Invalid(tooLong);
        if (!state.Exists) return DomainError.NotFound($"Analyst {command.AnalystId} does not exist; list analysts to find the id.");
        if (command.AnalystId == context.Actor)
            return DomainError.FailedPrecondition("An admin cannot erase their own data (it revokes their tokens); ask another admin.");
        if (state.Erased && command.Erased.Count == 0) return Decision.None;

        var events = new List<IDomainEvent> { new AnalystErased(state.AnalystId!, context.Actor, reason, command.Erased.ToValueList()) };
        events.AddRange(state.Tokens.Values
            .Where(t => !t.Revoked)
            .Select(t => new TokenRevoked(t.TokenId, state.AnalystId!, context.Actor)));
        return events;
    }
}
