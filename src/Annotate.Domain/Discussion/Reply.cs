using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Discussion;

/// <summary>
/// State of one reply stream. Invariants: target, parent and author never change after posting; only the author edits
/// or retracts; once retracted a reply stays retracted, takes no edit and no answer.
/// </summary>
public sealed record ReplyState(
    string? ReplyId,
    string? ArticleId,
    ReplyTargetKind TargetKind,
    string? TargetId,
    string? Author,
    string? Body,
    bool Retracted)
{
    public static ReplyState Initial { get; } = new(null, null, ReplyTargetKind.Claim, null, null, null, false);

    public bool Exists => ReplyId is not null;
}

/// <summary>What a reply hangs on, as the caller found it: the claim or highlight, its article, and whether it is still open to
/// discussion (a retracted highlight is not).</summary>
public sealed record ReplyTarget(ReplyTargetKind Kind, string Id, string ArticleId, bool Open);

/// <summary>Post a reply on <see cref="Target"/>, answering <see cref="Parent"/> (a reply's state) when set. The new id comes from
/// <see cref="CommandContext.NewId"/>.</summary>
public sealed record PostReply(ReplyTarget Target, ReplyState? Parent, string Body);

/// <summary>Replace the text of one's own reply.</summary>
public sealed record EditReply(string ReplyId, string Body);

/// <summary>Take one's own reply back.</summary>
public sealed record RetractReply(string ReplyId);

public static class Reply
{
    public static Result<IReadOnlyList<IDomainEvent>> Decide(ReplyState state, PostReply command, CommandContext context)
    {
        if (context.Require(Role.Analyst, "Replying") is { } denied) return denied;
        var id = context.RequireNewId("reply");
        if (state.Exists) return DomainError.Conflict($"Reply {id} already exists; retry with a new request.");
        if (CheckBody(command.Body) is { } bad) return bad;
        var target = command.Target;
        var what = target.Kind == ReplyTargetKind.Claim ? "claim" : "highlight";
        if (!target.Open) return DomainError.FailedPrecondition($"The {what} {target.Id} is retracted; it takes no more replies.");
        string? parentId = null;
        if (command.Parent is { } parent)
        {
            if (!parent.Exists) return DomainError.NotFound("The reply answered does not exist; list the thread to find its id.");
            if (parent.TargetKind != target.Kind || parent.TargetId != target.Id)
            {
                return DomainError.Invalid(
                    $"Reply {parent.ReplyId} belongs to the thread of another claim or highlight; a reply answers one in its own thread.");
            }
            if (parent.Retracted) return DomainError.FailedPrecondition($"Reply {parent.ReplyId} is retracted; it takes no answers.");
            parentId = parent.ReplyId;
        }
        return Decision.Events(new ReplyPosted(id, target.ArticleId, target.Kind, target.Id, parentId, context.Actor, command.Body.Trim()));
    }

    public static Result<IReadOnlyList<IDomainEvent>> Decide(ReplyState state, EditReply command, CommandContext context)
    {
        if (CheckOwn(state, command.ReplyId, context, "edit") is { } refused) return refused;
        if (CheckBody(command.Body) is { } bad) return bad;
        var body = command.Body.Trim();
        return body == state.Body ? Decision.None : Decision.Events(new ReplyEdited(state.ReplyId!, context.Actor, body));
    }

    public static Result<IReadOnlyList<IDomainEvent>> Decide(ReplyState state, RetractReply command, CommandContext context) =>
        CheckOwn(state, command.ReplyId, context, "retract") is { } refused
            ? refused
            : Decision.Events(new ReplyRetracted(state.ReplyId!, context.Actor));

    public static ReplyState Evolve(ReplyState state, IDomainEvent e) => e switch
    {
        ReplyPosted p => new ReplyState(p.ReplyId, p.ArticleId, p.TargetKind, p.TargetId, p.Analyst, p.Body, false),
        ReplyEdited x => state with { Body = x.Body },
        ReplyRetracted => state with { Retracted = true },
        _ => state,
    };

    private static DomainError? CheckBody(string? body)
    {
        if (string.IsNullOrWhiteSpace(body)) return DomainError.Invalid("A reply needs some text.");
        return Limits.TooLong("reply", body, Limits.MaxReply) is { } tooLong ? DomainError.Invalid(tooLong) : null;
    }

    private static DomainError? CheckOwn(ReplyState state, string replyId, CommandContext context, string doing)
    {
        if (!state.Exists) return DomainError.NotFound($"Reply {replyId} does not exist; list the thread to find its id.");
        if (state.Author != context.Actor)
            return DomainError.PermissionDenied($"Reply {replyId} belongs to {state.Author}; only its author can {doing} it.");
        return state.Retracted ? DomainError.FailedPrecondition($"Reply {replyId} is retracted.") : null;
    }
}
