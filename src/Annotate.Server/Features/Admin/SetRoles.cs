using Annotate.Contracts.V1;
using Annotate.Domain.Analysts;
using Annotate.Server.Infrastructure;
using MediatR;
using Analyst = Annotate.Contracts.V1.Analyst;
using AnalystDecisions = Annotate.Domain.Analysts.Analyst;
using DomainRole = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.Admin;

/// <summary>Replaces an analyst's roles (admin).</summary>
public static class SetRoles
{
    public sealed record Command(SetRolesRequest Request) : IRequest<Analyst>;

    public sealed class Handler(Commands commands, Views views) : IRequestHandler<Command, Analyst>
    {
        public async Task<Analyst> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            var roles = r.Roles.Select(role => Mapping.ToDomain(role)).ToList();
            await commands.RunAsync(r.RequestId, Streams.Analyst(r.AnalystId), null, AnalystState.Initial, AnalystDecisions.Evolve,
                state => AnalystDecisions.Decide(state, new ChangeAnalystRoles(r.AnalystId, roles), commands.Context()), ct);
            return await AnalystViews.GetAsync(views, r.AnalystId, ct);
        }
    }
}
