using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using Annotate.Server.Transport;

// Composition only. Each feature adds its services before Build and its endpoints after it, one line each.
if (Backup.IsCommand(args)) return await Backup.RunAsync(args); // `backup --output <file>`, `restore <file>`: pg_dump/pg_restore, no server
if (ViewRebuild.IsCommand(args)) return await ViewRebuild.RunAsync(args); // `rebuild-views`: every view folded again from the log
// The slim builder: Kestrel, configuration, console logging and core routing, without what the server never uses (IIS
// integration, HTTP/3, host filtering, the Debug and EventSource log providers, regex route constraints), whose assemblies and
// types cost resident memory in every process (bench/README.md, "Server memory: the slim host"). TLS from Kestrel:Endpoints is
// added back by AddAnnotateHosting. No file watcher on the working directory (BuilderArgs).
var builder = WebApplication.CreateSlimBuilder(HostingExtensions.BuilderArgs(args));
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
