using Annotate.Contracts.V1;
using Annotate.Server.Infrastructure;
using Marten;
using MediatR;
using DomainRole = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.Admin;

/// <summary>Every analyst with their roles (admin).</summary>
public static class ListAnalysts
{
    public sealed record Query(ListAnalystsRequest Request) : IRequest<ListAnalystsResponse>;

    public sealed class Handler(IDocumentStore documents) : IRequestHandler<Query, ListAnalystsResponse>
    {
        public async Task<ListAnalystsResponse> Handle(Query query, CancellationToken ct)
        {
            await using var session = documents.QuerySession();
            var response = new ListAnalystsResponse();
            var analysts = await session.Query<AnalystAccess>().OrderBy(a => a.Id).ToListAsync(ct);
            response.Analysts.AddRange(analysts.Select(AnalystViews.ToProto));
            return response;
        }
    }
}
