using Annotate.Contracts.V1;
using Annotate.Domain.Discussion;
using Annotate.Server.Infrastructure;
using MediatR;
using ReplyDecisions = Annotate.Domain.Discussion.Reply;

namespace Annotate.Server.Features.Discussion;

/// <summary>Replaces the text of the caller's own reply; the earlier text stays in its history.</summary>
public static class EditReply
{
    public sealed record Command(EditReplyRequest Request) : IRequest<CommandResult>;

    public sealed class Handler(Commands commands, Facts facts) : IRequestHandler<Command, CommandResult>
    {
        public Task<CommandResult> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            return ReplyCommands.RunAsync(commands, facts, r.RequestId, r.ReplyId,
                state => ReplyDecisions.Decide(state, new Domain.Discussion.EditReply(r.ReplyId, r.Body), commands.Context()), ct);
        }
    }
}
