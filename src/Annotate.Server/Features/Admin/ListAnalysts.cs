using Annotate.Contracts.V1;
using Annotate.Server.Infrastructure;
using MediatR;
using DomainRole = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.Admin;

/// <summary>Every analyst with their roles (admin).</summary>
public static class ListAnalysts
{
    public sealed record Query(ListAnalystsRequest Request) : IRequest<ListAnalystsResponse>;

    public sealed class Handler(Views views) : IRequestHandler<Query, ListAnalystsResponse>
    {
        public async Task<ListAnalystsResponse> Handle(Query query, CancellationToken ct)
        {
            var response = new ListAnalystsResponse();
            response.Analysts.AddRange(
                (await views.ListAsync(Projections.Access, "analyst:", null, null, ct)).Select(AnalystViews.ToProto));
            return response;
        }
    }
}
