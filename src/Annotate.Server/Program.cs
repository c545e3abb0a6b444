using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using Annotate.Server.Transport;

// Composition only. Each feature adds its services before Build and its endpoints after it, one line each.
if (Backup.IsCommand(args)) return await Backup.RunAsync(args); // `backup --output <file>`, `restore <file>`: pg_dump/pg_restore, no server
if (ViewRebuild.IsCommand(args)) return await ViewRebuild.RunAsync(args); // `rebuild-views`: every view folded again from the log
var builder = WebApplication.CreateBuilder(HostingExtensions.BuilderArgs(args)); // no file watcher on the working directory
// Listen addresses (HTTP/2; gRPC-Web when configured), logging, database (configured or embedded PostgreSQL).
builder.AddAnnotateHosting(args);
builder.Services.AddAnnotateServer(builder.Configuration); // event store, projections, gRPC, auth, health, features
#if !ANNOTATE_NO_TELEMETRY
builder.AddAnnotateTelemetry(); // OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT or Annotate:MetricsUrls is set
#endif

var app = builder.Build();
#if !ANNOTATE_NO_TELEMETRY
app.UseAnnotateTelemetry(app.Services.GetRequiredService<MetricsEndpoint>()); // gRPC status on call metrics; /metrics on its own port
#endif
app.UseWebReader(app.Services.GetRequiredService<WebEndpoint>()); // the browser reader's files on the gRPC-Web endpoint, when it is on
app.MapAnnotateApi(app.Services.GetRequiredService<WebEndpoint>()); // annotate.v1 services with their access rules, health, reflection

return await app.RunAnnotateAsync(); // starts the database, serves until Ctrl+C/SIGTERM, then stops the database
