using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using HealthProto = global::Grpc.Health.V1;
using ServingStatus = global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Annotate.Grpc;

/// <summary>
/// State behind grpc.health.v1.Health. A mapped service is SERVING, and so is "" (the whole server),
/// until <see cref="SetStatus"/> says otherwise; any other name is unknown (Check: NOT_FOUND). Check also runs the
/// host's ASP.NET Core health checks tagged with the service's name: any of them unhealthy makes it NOT_SERVING.
/// </summary>
public sealed class HealthService(GrpcServiceRegistry registry, IServiceProvider services)
{
    private readonly Dictionary<string, ServingStatus> _statuses = new(StringComparer.Ordinal);
    private event Action<string>? Changed;

    public void SetStatus(string service, ServingStatus status)
    {
        ArgumentNullException.ThrowIfNull(service);
        lock (_statuses) _statuses[service] = status;
        Changed?.Invoke(service);
    }

    /// <summary>The service's status, or null when the server does not know it.</summary>
    public ServingStatus? GetStatus(string service)
    {
        lock (_statuses)
            if (_statuses.TryGetValue(service, out var s)) return s;
        return service.Length == 0 || registry.IsMapped(service) ? ServingStatus.Serving : null;
    }

    internal async Task<HealthProto.HealthCheckResponse> CheckAsync(HealthProto.HealthCheckRequest request, ServerCallContext context)
    {
        var status = GetStatus(request.Service) ?? throw new RpcException(StatusCode.NotFound, $"Unknown service '{request.Service}'");
        if (status == ServingStatus.Serving && services.GetService<HealthCheckService>() is { } checks)
        {
            var report = await checks.CheckHealthAsync(r => r.Tags.Contains(request.Service), context.CancellationToken).ConfigureAwait(false);
            if (report.Status == HealthStatus.Unhealthy) status = ServingStatus.NotServing;
        }
        return new HealthProto.HealthCheckResponse { Status = status };
    }

    // Sends the current status, then each change, until the client goes away.
    internal async Task WatchAsync(HealthProto.HealthCheckRequest request, IServerStreamWriter<HealthProto.HealthCheckResponse> writer, ServerCallContext ctx)
    {
        var changed = new SemaphoreSlim(0);
        void OnChanged(string service)
        {
            if (service == request.Service) changed.Release();
        }
        Changed += OnChanged;
        try
        {
            ServingStatus? last = null;
            while (true)
            {
                var status = GetStatus(request.Service) ?? ServingStatus.ServiceUnknown;
                if (status != last)
                {
                    await writer.WriteAsync(new HealthProto.HealthCheckResponse { Status = status }, ctx.CancellationToken).ConfigureAwait(false);
                    last = status;
                }
                await changed.WaitAsync(ctx.CancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Changed -= OnChanged;
            changed.Dispose();
        }
    }
}

public static class GrpcHealthExtensions
{
    /// <summary>Maps grpc.health.v1.Health (Check and Watch) over <see cref="HealthService"/>.</summary>
    public static IEndpointConventionBuilder MapGrpcHealth(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var health = app.ServiceProvider.GetRequiredService<HealthService>();
        var service = HealthProto.HealthReflection.Descriptor.Services[0];
        return app.MapGrpcService(service, b => b
            .Unary(Method<HealthProto.HealthCheckRequest, HealthProto.HealthCheckResponse>.FromDescriptor(service.FindMethodByName("Check")), health.CheckAsync)
            .ServerStreaming(Method<HealthProto.HealthCheckRequest, HealthProto.HealthCheckResponse>.FromDescriptor(service.FindMethodByName("Watch")), health.WatchAsync));
    }
}
