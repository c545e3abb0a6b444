using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Tags;

/// <summary>Apply a tag to a highlight or claim. The target aggregate checks that the target exists and accepts tags.</summary>
public sealed record ApplyTag(TagTargetKind TargetKind, string TargetId, string Tag);

/// <summary>Remove a tag the actor applied.</summary>
public sealed record RemoveTag(TagTargetKind TargetKind, string TargetId, string Tag);

/// <summary>The tag rules shared by every taggable target. Applying a tag one already applies, or removing one that
/// is not applied by the actor, decides nothing (no events): tags are per analyst and idempotent.</summary>
public static class Tagging
{
    public static Result<IReadOnlyList<IDomainEvent>> Decide(TagSet tags, ApplyTag command, CommandContext context)
    {
        if (context.Require(Role.Analyst, "Tagging") is { } denied)
        {
            return denied;
        }

        var name = TagName.Normalize(command.Tag);
        if (!name.IsOk)
        {
            return name.Error;
        }

        return tags.Has(name.Value, context.Actor)
            ? Decision.None
            : Decision.Events(new TagApplied(command.TargetKind, command.TargetId, name.Value, context.Actor));
    }

    public static Result<IReadOnlyList<IDomainEvent>> Decide(TagSet tags, RemoveTag command, CommandContext context)
    {
        if (context.Require(Role.Analyst, "Removing a tag") is { } denied)
        {
            return denied;
        }

        var name = TagName.Normalize(command.Tag);
        if (!name.IsOk)
        {
            return name.Error;
        }

        return tags.Has(name.Value, context.Actor)
            ? Decision.Events(new TagRemoved(command.TargetKind, command.TargetId, name.Value, context.Actor))
            : Decision.None;
    }

    public static TagSet Evolve(TagSet tags, IDomainEvent e) => e switch
    {
        TagApplied a => tags.Apply(a.Tag, a.Analyst),
        TagRemoved r => tags.Remove(r.Tag, r.Analyst),
        _ => tags,
    };
}
