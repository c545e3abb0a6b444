namespace Annotate.Domain.Events;

// tags: in the target's stream (highlight or claim)

/// <summary>An analyst applied a normalised tag (see <c>Tags.TagName</c>) to a highlight or claim.</summary>
public sealed record TagApplied(TagTargetKind TargetKind, string TargetId, string Tag, string Analyst) : IDomainEvent;

/// <summary>An analyst removed the tag they had applied.</summary>
public sealed record TagRemoved(TagTargetKind TargetKind, string TargetId, string Tag, string Analyst) : IDomainEvent;
