using Annotate.Domain.Anchoring;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using Annotate.Domain.Tags;

namespace Annotate.Domain.Highlights;

/// <summary>State of one highlight stream. Invariants: Author never changes after creation, the span only by a reattachment
/// (<see cref="ReattachedOn"/>: the revision of the last, 0 for none); once retracted, a highlight stays retracted and accepts
/// no tags.</summary>
public sealed record HighlightState(
    string? HighlightId,
    string? ArticleId,
    string? Author,
    ResolvedAnchor? Anchor,
    string? Note,
    bool Retracted,
    TagSet Tags,
    int ReattachedOn = 0)
{
    public static HighlightState Initial { get; } = new(null, null, null, null, null, false, TagSet.Empty);

    public bool Exists => HighlightId is not null;
}

/// <summary>Create a highlight on an article: the selector is resolved against <see cref="Document"/> (the article's text).
/// The new id comes from <see cref="CommandContext.NewId"/>.</summary>
public sealed record CreateHighlight(string ArticleId, TextDocument Document, Selector Selector, string? Note);

/// <summary>Retract a highlight; only its author may.</summary>
public sealed record RetractHighlight(string HighlightId);

public static class Highlight
{
    public static Result<IReadOnlyList<IDomainEvent>> Decide(HighlightState state, CreateHighlight command, CommandContext context)
    {
        if (context.Require(Role.Analyst, "Highlighting") is { } denied)
        {
            return denied;
        }

        var id = context.RequireNewId("highlight");
        if (state.Exists)
        {
            return DomainError.Conflict($"Highlight {id} already exists; retry with a new request.");
        }

        if (Limits.TooLong("note", command.Note, Limits.MaxNote) is { } tooLong)
        {
            return DomainError.Invalid(tooLong);
        }

        var anchor = Anchor.Resolve(command.Document, command.Selector);
        if (!anchor.IsOk)
        {
            return anchor.Error;
        }

        var a = anchor.Value;
        var note = string.IsNullOrWhiteSpace(command.Note) ? null : command.Note;
        return Decision.Events(
            new HighlightCreated(id, command.ArticleId, context.Actor, a.Start, a.End, a.Exact, a.Prefix, a.Suffix, note));
    }

    public static Result<IReadOnlyList<IDomainEvent>> Decide(HighlightState state, RetractHighlight command, CommandContext context)
    {
        if (!state.Exists)
        {
            return DomainError.NotFound($"Highlight {command.HighlightId} does not exist; list the article's highlights to find its id.");
        }

        if (state.Author != context.Actor)
        {
            return DomainError.PermissionDenied(
                $"Highlight {command.HighlightId} belongs to {state.Author}; only its author can retract it.");
        }

        if (state.Retracted)
        {
            return DomainError.FailedPrecondition($"Highlight {command.HighlightId} is already retracted.");
        }

        return Decision.Events(new HighlightRetracted(state.HighlightId!, state.ArticleId!, context.Actor));
    }

    public static Result<IReadOnlyList<IDomainEvent>> Decide(HighlightState state, ApplyTag command, CommandContext context) =>
        CheckTaggable(state, command.TargetId) is { } refused ? refused : Tagging.Decide(state.Tags, command, context);

    public static Result<IReadOnlyList<IDomainEvent>> Decide(HighlightState state, RemoveTag command, CommandContext context) =>
        CheckTaggable(state, command.TargetId) is { } refused ? refused : Tagging.Decide(state.Tags, command, context);

    public static HighlightState Evolve(HighlightState state, IDomainEvent e) => e switch
    {
        HighlightCreated c => new HighlightState(
            c.HighlightId,
            c.ArticleId,
            c.Analyst,
            new ResolvedAnchor(c.Start, c.End, c.Exact, c.Prefix, c.Suffix),
            c.Note,
            false,
            TagSet.Empty),
        HighlightRetracted => state with { Retracted = true },
        SpanReattached { Kind: AnchorKind.Highlight } r when r.TargetId == state.HighlightId => state with
        {
            Anchor = new ResolvedAnchor(r.Start, r.End, r.Exact, r.Prefix, r.Suffix),
            ReattachedOn = r.Revision,
        },
        TagApplied { TargetKind: TagTargetKind.Highlight } or TagRemoved { TargetKind: TagTargetKind.Highlight } => state with
        {
            Tags = Tagging.Evolve(state.Tags, e),
        },
        _ => state,
    };

    private static DomainError? CheckTaggable(HighlightState state, string id)
    {
        if (!state.Exists)
        {
            return DomainError.NotFound($"Highlight {id} does not exist; list the article's highlights to find its id.");
        }

        return state.Retracted ? DomainError.FailedPrecondition($"Highlight {id} is retracted; it takes no more tags.") : null;
    }
}
