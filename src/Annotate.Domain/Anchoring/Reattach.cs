using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Anchoring;

/// <summary>
/// Review a span a revision orphaned or moved: attach it to <see cref="Selector"/> on the article's current text
/// (<see cref="Document"/>, revision <see cref="Revision"/>), or, without a selector, confirm the span the revision gave it.
/// <see cref="Anchor"/> and <see cref="Span"/> are the span as the views hold it, read against that same revision (the
/// caller's decision is refused if a revision lands in between).
/// </summary>
public sealed record ReattachSpan(
    AnchorKind Kind,
    string TargetId,
    string ArticleId,
    int Revision,
    TextDocument Document,
    SpanAnchor? Anchor,
    ResolvedAnchor Span,
    Selector? Selector);

/// <summary>
/// Decides a <see cref="ReattachSpan"/>. Who: the span's author, an adjudicator or an admin. What: an orphan needs a selector;
/// a span a revision re-anchored onto the current text may be confirmed or moved; anything else (a span made on this text,
/// or already reviewed on it) has nothing to review. The selector is resolved exactly as a new highlight's. Pure.
/// </summary>
public static class Reattach
{
    public static Result<IReadOnlyList<IDomainEvent>> Decide(
        ReattachSpan command, string? author, int reattachedOn, CommandContext context)
    {
        var what = command.Kind == AnchorKind.Claim ? "claim" : "highlight";
        if (author != context.Actor && !context.Has(Role.Adjudicator) && !context.Has(Role.Admin))
        {
            return DomainError.PermissionDenied(
                $"The {what} {command.TargetId} belongs to {author}; only its author, an adjudicator or an admin may reattach its span.");
        }

        var anchor = command.Anchor;
        var orphaned = anchor is { Orphaned: true };
        var moved = anchor is { Reanchored: true } && anchor.Revision == command.Revision;
        if (reattachedOn == command.Revision || !(orphaned || moved))
        {
            return DomainError.FailedPrecondition(
                $"The {what} {command.TargetId}'s span is neither orphaned nor re-anchored by revision {command.Revision} awaiting " +
                "review; there is nothing to reattach.");
        }

        if (command.Selector is null)
        {
            if (orphaned)
            {
                return DomainError.Invalid(
                    $"The {what} {command.TargetId}'s span is orphaned: give a selector on revision {command.Revision} to attach it to.");
            }

            var s = command.Span;
            return Decision.Events(new SpanReattached(command.ArticleId, command.Revision, command.Kind, command.TargetId, s.Start, s.End,
                s.Exact, s.Prefix, s.Suffix, context.Actor, Confirmed: true));
        }

        var resolved = Anchoring.Anchor.Resolve(command.Document, command.Selector);
        if (!resolved.IsOk)
        {
            return resolved.Error;
        }

        var a = resolved.Value;
        return Decision.Events(new SpanReattached(command.ArticleId, command.Revision, command.Kind, command.TargetId, a.Start, a.End,
            a.Exact, a.Prefix, a.Suffix, context.Actor, Confirmed: false));
    }
}
