using Annotate.Contracts.V1;
using Annotate.Server.Infrastructure;
using MediatR;

namespace Annotate.Server.Features.Admin;

/// <summary>The analyst the caller's token belongs to.</summary>
public static class WhoAmI
{
    public sealed record Query(WhoAmIRequest Request) : IRequest<Analyst>;

    public sealed class Handler(Views views, CallerContext caller) : IRequestHandler<Query, Analyst>
    {
        public Task<Analyst> Handle(Query query, CancellationToken ct) => AnalystViews.GetAsync(views, caller.Caller.AnalystId, ct);
    }
}
