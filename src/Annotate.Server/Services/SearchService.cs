using Annotate.Contracts.V1;
using Grpc.Core;
using MediatR;

namespace Annotate.Server.Services;

/// <summary>annotate.v1.Search.</summary>
public sealed class SearchService(IMediator mediator) : Contracts.V1.Search.SearchBase
{
    public override Task<SearchResponse> Search(SearchRequest request, ServerCallContext context) =>
        mediator.Send(new Features.Search.Search.Query(request), context.CancellationToken);
}
