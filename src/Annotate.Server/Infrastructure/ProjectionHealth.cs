using Annotate.EventStore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Annotate.Server.Infrastructure;

/// <summary>
/// One ASP.NET Core health check per projection, unhealthy once the projection stopped on an event it cannot apply
/// (<see cref="ProjectionFault"/>). Each check is tagged with the gRPC services whose answers read that view, so the
/// health service reports NOT_SERVING for exactly those while the rest keep serving. The whole server ("") does not
/// depend on them: a restart would stop on the same event again, and would take every other service down with it.
/// </summary>
public sealed class ProjectionHealthCheck(ProjectionRunner runner, string projection) : IHealthCheck
{
    /// <summary>Which services read which view. The access view authenticates every call, so every service needs it.</summary>
    public static IReadOnlyDictionary<string, string[]> ServicesByProjection { get; } =
        new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            [Projections.Articles] = ["annotate.v1.Articles", "annotate.v1.Annotations", "annotate.v1.Claims"],
            [Projections.Highlights] = ["annotate.v1.Annotations"],
            [Projections.Claims] = ["annotate.v1.Claims", "annotate.v1.Consensus", "annotate.v1.Annotations"],
            [Projections.Access] = Transport.ContractServices.Select(s => s.FullName).ToArray(),
        };

    public static string CheckName(string projection) => $"projection:{projection}";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(runner.FaultOf(projection) is { } fault
            ? HealthCheckResult.Unhealthy(fault.ToString(), data: new Dictionary<string, object>
            {
                ["position"] = fault.Position,
                ["eventType"] = fault.EventType,
                ["eventId"] = fault.EventId.ToString(),
            })
            : HealthCheckResult.Healthy($"projection {projection} is running"));
}

public static class ProjectionHealthExtensions
{
    public static IServiceCollection AddProjectionHealthChecks(this IServiceCollection services)
    {
        var checks = services.AddHealthChecks();
        foreach (var (projection, dependents) in ProjectionHealthCheck.ServicesByProjection)
        {
            checks.Add(new HealthCheckRegistration(ProjectionHealthCheck.CheckName(projection),
                sp => new ProjectionHealthCheck(sp.GetRequiredService<ProjectionRunner>(), projection),
                HealthStatus.Unhealthy,
                dependents));
        }
        return services;
    }
}
