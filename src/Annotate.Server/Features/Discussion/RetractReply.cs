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

    public sealed class Handler(Commands commands, Facts facts) : IRequestHandler<Command, CommandResult>
    {
        public Task<CommandResult> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            return ReplyCommands.RunAsync(commands, facts, r.RequestId, r.ReplyId,
                state => ReplyDecisions.Decide(state, new Domain.Discussion.RetractReply(r.ReplyId), commands.Context()), ct);
        }
    }
}

/// <summary>A command on an existing reply: decided in the writer on the reply's stream (the domain refuses a reply that does not
/// exist), the events under the article's tag (a fact of the reply, kept in-process).</summary>
internal static class ReplyCommands
{
    public static async Task<CommandResult> RunAsync(Commands commands, Facts facts, string requestId, string replyId,
        Func<ReplyState, Result<IReadOnlyList<IDomainEvent>>> decide, CancellationToken ct)
    {
        Commands.RequireRequestId(requestId);
        if (string.IsNullOrEmpty(replyId)) throw ErrorMapping.Invalid("reply_id is required.");
        var articleId = await facts.ReplyArticleAsync(replyId, ct);
        return await commands.RunAsync(
            requestId, Streams.Reply(replyId), articleId, ReplyState.Initial, ReplyDecisions.Evolve, decide, ct);
    }
}
