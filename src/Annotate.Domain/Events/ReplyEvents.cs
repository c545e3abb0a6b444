namespace Annotate.Domain.Events;

// discussion: stream "reply-{replyId}", one per reply; the thread is every reply on the same target

/// <summary>What a discussion thread hangs on. Stored by name, never by number.</summary>
public enum ReplyTargetKind
{
    Claim,
    Highlight,
}

/// <summary>A reply posted on a claim or a highlight; <see cref="ParentId"/> names the reply it answers (null at the top of the
/// thread), which is always on the same target.</summary>
public sealed record ReplyPosted(
    string ReplyId,
    string ArticleId,
    ReplyTargetKind TargetKind,
    string TargetId,
    string? ParentId,
    string Analyst,
    string Body
) : IDomainEvent;

/// <summary>The author replaced the reply's text; the earlier text stays in the history (this event's predecessors).</summary>
public sealed record ReplyEdited(string ReplyId, string Analyst, string Body) : IDomainEvent;

/// <summary>The author took the reply back: views show that it was there, no longer what it said.</summary>
public sealed record ReplyRetracted(string ReplyId, string Analyst) : IDomainEvent;
