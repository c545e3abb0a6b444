using Annotate.Contracts.V1;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;
using Marten;
using MediatR;
using Role = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.Admin;

/// <summary>Tokens (never their secrets), newest first (admin).</summary>
public static class ListTokens
{
    public sealed record Query(ListTokensRequest Request) : IRequest<ListTokensResponse>;

    public sealed class Handler(IDocumentStore documents) : IRequestHandler<Query, ListTokensResponse>
    {
        public async Task<ListTokensResponse> Handle(Query query, CancellationToken ct)
        {
            var analyst = query.Request.AnalystId;
            await using var session = documents.QuerySession();
            var tokens = session.Query<TokenAccess>();
            var docs = string.IsNullOrEmpty(analyst)
                ? await tokens.ToListAsync(ct)
                : await tokens.Where(t => t.AnalystId == analyst).ToListAsync(ct);
            var response = new ListTokensResponse();
            response.Tokens.AddRange(
                docs.Select(AnalystViews.TokenToProto).OrderByDescending(t => t.IssuedAt).ThenBy(t => t.TokenId, StringComparer.Ordinal));
            return response;
        }
    }
}
