using Annotate.Contracts.V1;
using Annotate.Domain.Discussion;
using Annotate.Server.Infrastructure;
using Marten;
using MediatR;
using ReplyDecisions = Annotate.Domain.Discussion.Reply;

namespace Annotate.Server.Features.Discussion;

/// <summary>Posts a reply on a claim or a highlight, or answering a reply of its thread (analyst).</summary>
public static class PostReply
{
    public sealed record Command(PostReplyRequest Request) : IRequest<PostReplyResponse>;

    public sealed class Handler(Commands commands, Views views, IQuerySession session) : IRequestHandler<Command, PostReplyResponse>
    {
        public async Task<PostReplyResponse> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            var id = commands.NewId("r", r.RequestId);
            var target = await Threads.FindTargetAsync(views, r.Target, ct);
            ReplyState? parent = null;
            if (r.ParentId.Length > 0)
            {
                parent = (await commands.LoadAsync(Streams.Reply(r.ParentId), ReplyState.Initial, ReplyDecisions.Evolve, ct)).State;
                if (!parent.Exists) throw ErrorMapping.NotFound($"parent_id \"{r.ParentId}\" names no reply.");
            }
            var result = await commands.RunAsync(
                r.RequestId, Streams.Reply(id), target.ArticleId, ReplyState.Initial, ReplyDecisions.Evolve,
                state => ReplyDecisions.Decide(state, new Domain.Discussion.PostReply(target, parent, r.Body), commands.Context(id)), ct);
            var doc = await session.LoadAsync<ReplyDocument>(id, ct)
                ?? throw new InvalidOperationException($"Reply {id} was recorded but its document is missing.");
            return new PostReplyResponse { Result = result, Reply = Threads.ToProto(doc) };
        }
    }
}
