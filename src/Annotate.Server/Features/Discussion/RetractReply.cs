using Annotate.Contracts.V1;
using Annotate.Domain.Discussion;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;
using MediatR;
using ReplyDecisions = Annotate.Domain.Discussion.Reply;

namespace Annotate.Server.Features.Discussion;

/// <summary>Retracts the caller's own reply: it stays in the thread, marked retracted, without its text.</summary>
public static class RetractReply
{
    public sealed record Command(RetractReplyRequest Request) : IRequest<CommandResult>;

    public sealed class Handler(Commands commands) : IRequestHandler<Command, CommandResult>
    {
        public Task<CommandResult> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            return ReplyCommands.RunAsync(commands, r.RequestId, r.ReplyId,
                state => ReplyDecisions.Decide(state, new Domain.Discussion.RetractReply(r.ReplyId), commands.Context()), ct);
        }
    }
}

/// <summary>A command on an existing reply: its stream is folded, the decision runs, the events go to the same stream under the
/// article's tag.</summary>
internal static class ReplyCommands
{
    public static async Task<CommandResult> RunAsync(Commands commands, string requestId, string replyId,
        Func<ReplyState, Result<IReadOnlyList<IDomainEvent>>> decide, CancellationToken ct)
    {
        Commands.RequireRequestId(requestId);
        if (string.IsNullOrEmpty(replyId)) throw ErrorMapping.Invalid("reply_id is required.");
        var loaded = await commands.LoadAsync(Streams.Reply(replyId), ReplyState.Initial, ReplyDecisions.Evolve, ct);
        if (!loaded.State.Exists) throw ErrorMapping.NotFound($"reply_id \"{replyId}\" names no reply.");
        return await commands.RunAsync(
            requestId, Streams.Reply(replyId), loaded.State.ArticleId, ReplyState.Initial, ReplyDecisions.Evolve, decide, ct);
    }
}
