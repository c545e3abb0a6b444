using Annotate.EventStore;
using Annotate.Server.Infrastructure;
using Microsoft.AspNetCore.Http.Features;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Annotate.Server.Hosting;

/// <summary>
/// OpenTelemetry, off unless asked for: traces, metrics and logs go out by OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
/// is set (the exporter reads the other standard OTEL_* variables too), and metrics are scraped in Prometheus text
/// format from <see cref="MetricsEndpoint"/> when <c>Annotate:MetricsUrls</c> is set. With neither, nothing is
/// registered: the instruments and sources stay unobserved.
/// </summary>
public static class Telemetry
{
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string ServiceName = "annotate-server";
    public const string GrpcStatusTag = "rpc.grpc.status_code";

    /// <summary>Marten's ActivitySource and Meter, for the store's PostgreSQL work through Marten sessions.</summary>
    private const string Marten = "Marten";

    public static bool OtlpEnabled(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration[OtlpEndpointKey]);

    public static WebApplicationBuilder AddAnnotateTelemetry(this WebApplicationBuilder builder)
    {
        var otlp = OtlpEnabled(builder.Configuration);
        var prometheus = MetricsEndpoint.From(builder.Configuration);
        if (!otlp && !prometheus.IsEnabled) return builder;

        var telemetry = builder.Services.AddOpenTelemetry()
            // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, when set, win over the default name.
            .ConfigureResource(r => r.AddService(ServiceName).AddEnvironmentVariableDetector())
            .WithMetrics(m =>
            {
                m.AddMeter(ServerTelemetry.Name, StoreTelemetry.Name, Marten)
                    // http.server.request.duration: calls by route (the gRPC method) and, tagged below, gRPC status.
                    .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
                    .AddRuntimeInstrumentation()
                    .AddNpgsqlInstrumentation();
                // Every scrape collects afresh, so what a scrape shows includes every call answered before it.
                if (prometheus.IsEnabled) m.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
            });
        if (otlp)
        {
            // Traces only where they can go: without an exporter no span is even started.
            telemetry
                .WithTracing(t => t
                    .AddSource(ServerTelemetry.Name, StoreTelemetry.Name, Marten)
                    .AddAspNetCoreInstrumentation(o => o.Filter = context => !prometheus.Serves(context))
                    .AddNpgsql()
                    .AddProcessor<RequestIdSpanProcessor>())
                .UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>
    /// Tags each gRPC call's request metric and span with its gRPC status, and serves the Prometheus endpoint on its
    /// own ports (everything else there is 404). Call before the API is mapped.
    /// </summary>
    public static WebApplication UseAnnotateTelemetry(this WebApplication app, MetricsEndpoint metrics)
    {
        if (app.Services.GetService<MeterProvider>() is null) return app;
        app.Use(async (context, next) =>
        {
            await next(context);
            // Trailers after messages; headers for a trailers-only answer (a refusal before any message).
            var trailers = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers;
            var status = trailers is not null && trailers.TryGetValue("grpc-status", out var t)
                ? t
                : context.Response.Headers["grpc-status"];
            if (status.Count == 0) return;
            context.Features.Get<IHttpMetricsTagsFeature>()?.Tags.Add(new(GrpcStatusTag, status.ToString()));
            context.Features.Get<IHttpActivityFeature>()?.Activity.SetTag(GrpcStatusTag, status.ToString());
        });
        if (metrics.IsEnabled)
        {
            app.UseOpenTelemetryPrometheusScrapingEndpoint(
                context => metrics.Serves(context) && context.Request.Path == MetricsEndpoint.Path);
            app.MapWhen(metrics.Serves, other => other.Run(context =>
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }));
        }
        return app;
    }
}
