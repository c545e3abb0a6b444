using Annotate.Domain.Anchoring;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Claims;

/// <summary>Open a claim on a span of an article. <see cref="Document"/> is the article's text; an empty statement
/// defaults to the quoted text (whitespace collapsed). The new id comes from <see cref="CommandContext.NewId"/>.</summary>
public sealed record OpenClaim(string ArticleId, TextDocument Document, Selector Selector, string? Statement = null);

/// <summary>Outcome of opening a claim: the claim's id and, when it is new, the event to append. When the span
/// duplicates an existing claim (or the id was already used by a retry), <see cref="Existing"/> is true and there are
/// no events.</summary>
public sealed record OpenClaimOutcome(string ClaimId, bool Existing, IReadOnlyList<IDomainEvent> Events);

public static partial class Claim
{
    public static Result<OpenClaimOutcome> Decide(ClaimIndex index, OpenClaim command, CommandContext context)
    {
        if (context.Require(Role.Analyst, "Opening a claim") is { } denied)
        {
            return denied;
        }

        if (command.ArticleId != index.ArticleId)
        {
            throw new ArgumentException("the claim index belongs to another article", nameof(index));
        }

        var id = context.RequireNewId("claim");
        if (index.Find(id) is not null)
        {
            return new OpenClaimOutcome(id, true, []);
        }

        if (Limits.TooLong("statement", command.Statement, Limits.MaxStatement) is { } tooLong)
        {
            return DomainError.Invalid(tooLong);
        }

        var anchor = Anchor.Resolve(command.Document, command.Selector);
        if (!anchor.IsOk)
        {
            return anchor.Error;
        }

        var a = anchor.Value;
        if (Limits.SpanTooLong("claim", a.Length) is { } tooWide)
        {
            return DomainError.Invalid(tooWide);
        }

        if (index.FindDuplicate(a.Start, a.End) is { } duplicate)
        {
            return new OpenClaimOutcome(duplicate.ClaimId, true, []);
        }

        var statement = string.IsNullOrWhiteSpace(command.Statement)
            ? string.Join(' ', a.Exact.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            : command.Statement.Trim();
        return new OpenClaimOutcome(
            id,
            false,
            [new ClaimOpened(id, index.ArticleId, context.Actor, a.Start, a.End, a.Exact, a.Prefix, a.Suffix, statement)]);
    }
}
