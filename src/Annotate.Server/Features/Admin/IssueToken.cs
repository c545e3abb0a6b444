using Annotate.Contracts.V1;
using Annotate.Domain.Analysts;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;
using MediatR;
using AnalystDecisions = Annotate.Domain.Analysts.Analyst;
using Role = Annotate.Domain.Events.Role;
namespace Annotate.Server.Features.Admin;

/// <summary>
/// Issues a bearer token (admin). The secret is answered once and stored only as a hash, so a retried
/// request cannot show it again: it is refused, and the admin issues a new token instead.
/// </summary>
public static class IssueToken
{
    public sealed record Command(IssueTokenRequest Request) : IRequest<IssueTokenResponse>;

    public sealed class Handler(Commands commands, Views views) : IRequestHandler<Command, IssueTokenResponse>
    {
        public async Task<IssueTokenResponse> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            Commands.RequireRequestId(r.RequestId);
            var (tokenId, secret) = Authentication.NewToken();
            DateTimeOffset? expires = r.ExpiresAt is { } e ? e.ToDateTimeOffset() : null;
            var result = await commands.RunAsync(
                r.RequestId,
                Streams.Analyst(r.AnalystId),
                null,
                AnalystState.Initial,
                AnalystDecisions.Evolve,
                state =>
                    AnalystDecisions.Decide(
                        state,
                        new Domain.Analysts.IssueToken(r.AnalystId, Authentication.HashSecret(secret), expires, r.Label),
                        commands.Context(tokenId)),
                ct);
            if (result.Deduplicated)
            {
                // A retry: the token was issued by the first attempt, and its secret was not kept.
                throw new DomainException(Domain.Errors.DomainError.FailedPrecondition(
                    "This request already issued a token, whose secret was shown once and is not stored; revoke it and issue a new one " +
                        "with a new request id."));
            }
            var doc =
                await views.LoadAsync<TokenAccess>(tokenId, ct)
                ?? throw new InvalidOperationException("An issued token is missing from the access view.");
            return new IssueTokenResponse { Token = AnalystViews.TokenToProto(doc), Secret = $"{tokenId}.{secret}", Result = result };
        }
    }
}
