using Annotate.Contracts.V1;
using Annotate.Domain.Analysts;
using Annotate.Server.Infrastructure;
using MediatR;

using AnalystDecisions = Annotate.Domain.Analysts.Analyst;
namespace Annotate.Server.Features.Admin;

/// <summary>
/// Revokes a token (an admin, or the token's owner). The call returns after the access view holds the
/// revocation, and every replica authenticates against that view: the token stops working everywhere at once.
/// </summary>
public static class RevokeToken
{
    public sealed record Command(RevokeTokenRequest Request) : IRequest<CommandResult>;

    public sealed class Handler(Commands commands, Views views) : IRequestHandler<Command, CommandResult>
    {
        public async Task<CommandResult> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            var token = await views.LoadAsync<TokenAccess>(r.TokenId, ct)
                ?? throw ErrorMapping.NotFound($"token_id \"{r.TokenId}\" names no token.");
            var analystId = token.AnalystId;
            return await commands.RunAsync(r.RequestId, Streams.Analyst(analystId), null, AnalystState.Initial, AnalystDecisions.Evolve,
                state => AnalystDecisions.Decide(state, new Domain.Analysts.RevokeToken(analystId, r.TokenId), commands.Context()), ct);
        }
    }
}
