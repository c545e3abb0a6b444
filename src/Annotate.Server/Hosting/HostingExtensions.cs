using Annotate.Postgres;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging.Console;
using Npgsql;

namespace Annotate.Server.Hosting;

/// <summary>The host around the annotation features: configuration, Kestrel, logging and the database's lifetime.</summary>
public static partial class HostingExtensions
{
    /// <summary>
    /// The arguments for <c>WebApplication.CreateBuilder</c>: <paramref name="args"/> after a default of
    /// <c>--hostBuilder:reloadConfigOnChange=false</c>. The server reads its configuration once, at start; reloading an
    /// appsettings.json on change costs a recursive file watcher on the content root (the working directory) whose every
    /// event, whatever file changed under it, the server reads and matches: a few percent of its CPU under load when other
    /// programs write there. A later <c>--hostBuilder:reloadConfigOnChange=true</c> on the command line turns it back on.
    /// </summary>
    public static string[] BuilderArgs(string[] args) => ["--hostBuilder:reloadConfigOnChange=false", .. args];

    /// <summary>
    /// Reads <see cref="ServerOptions"/>, listens on <see cref="ServerOptions.DefaultUrl"/> unless <c>--urls</c> (or
    /// ASPNETCORE_URLS, or Kestrel:Endpoints, e.g. with a certificate for TLS) says otherwise, speaks HTTP/2 on every
    /// endpoint but the optional gRPC-Web one (<see cref="WebEndpoint"/>), and registers <see cref="AnnotateDatabase"/>
    /// and its <see cref="NpgsqlDataSource"/>.
    /// </summary>
    public static WebApplicationBuilder AddAnnotateHosting(this WebApplicationBuilder builder, string[] args)
    {
        builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--data-dir"] = "Annotate:DataDir" });

        var web = WebEndpoint.From(builder.Configuration);
        builder.Services.AddSingleton(web);
        var metrics = MetricsEndpoint.From(builder.Configuration);
        builder.Services.AddSingleton(metrics);
        var configuredEndpoints = builder.Configuration.GetSection("Kestrel:Endpoints").Exists();
        // The slim builder (Program.cs) leaves out HTTPS from configuration: a Kestrel:Endpoints entry with a certificate needs it.
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k =>
        {
            // gRPC needs HTTP/2; on a cleartext endpoint Http1AndHttp2 would silently mean HTTP/1.1 only. The web
            // and metrics endpoints speak HTTP/1.1 (gRPC-Web, Prometheus). A Kestrel:Endpoints entry may still set its own Protocols.
            k.ConfigureEndpointDefaults(l => l.Protocols = web.Serves(l) || metrics.Serves(l) ? HttpProtocols.Http1 : HttpProtocols.Http2);
            // Pings on idle HTTP/2 connections find dead peers (and keep NATs open) under long-lived streams.
            k.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
            k.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
            if (configuredEndpoints)
            {
                web.Listen(k);
                metrics.Listen(k);
            }
        });
        if (!configuredEndpoints)
        {
            var urls = string.IsNullOrWhiteSpace(builder.Configuration["urls"]) ? ServerOptions.DefaultUrl : builder.Configuration["urls"]!;
            builder.WebHost.UseUrls([
                .. urls.Split(';', StringSplitOptions.RemoveEmptyEntries),
                .. web.Urls.Select(u => u.ToString().TrimEnd('/')),
                .. metrics.Urls.Select(u => u.ToString().TrimEnd('/')),
            ]);
        }

        // The simple formatter on one line, unless Logging:Console:FormatterName names another (json: one JSON object per line,
        // systemd). The slim builder (Program.cs) registers only the simple formatter and sets its name over the configuration's,
        // so the console logger is added with all its formatters and the configured name is set again here, after it.
        builder.Logging.AddConsole();
        var configured = builder.Configuration["Logging:Console:FormatterName"];
        var formatter = string.IsNullOrEmpty(configured) ? ConsoleFormatterNames.Simple : configured;
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.FormatterName = formatter);
        builder.Services.Configure<SimpleConsoleFormatterOptions>(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        // A JSON entry carries its full time with offset (ISO 8601), unless Logging:Console:FormatterOptions:TimestampFormat
        // says otherwise.
        builder.Services.Configure<JsonConsoleFormatterOptions>(o => o.TimestampFormat ??= "O");
        // One line per request would drown the log of a streaming server.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // Grpc.AspNetCore logs every status a call ends with at Information, with its exception: refusals and
        // malformed requests are answered, not server faults (those ErrorInterceptor logs once).
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        // The health-check service logs every failing run with its exception; DatabaseCheck logs an outage once.
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.Critical);
        // Marten logs the whole schema script it applies at start-up at Information, and every optimistic-concurrency
        // conflict at Error: the writer refuses conflicts itself before Marten sees them, and a conflict is an answer
        // (ABORTED), not a fault. Its warnings and real errors still show.
        builder.Logging.AddFilter("Marten", LogLevel.Warning);

        builder.Services.AddSingleton(ServerOptions.From(builder.Configuration));
        builder.Services.AddSingleton<AnnotateDatabase>();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<AnnotateDatabase>().DataSource);
        return builder;
    }

    /// <summary>
    /// Starts the database, then the host; serves until Ctrl+C or SIGTERM; stops the host, then the database.
    /// Returns the process exit code: 0 after a clean stop, 2 when <c>Annotate:WebUrls</c> or <c>Annotate:MetricsUrls</c> is
    /// invalid or the database or the listen address cannot be used (one message on stderr saying why, no stack trace).
    /// </summary>
    public static async Task<int> RunAnnotateAsync(this WebApplication app)
    {
        var database = app.Services.GetRequiredService<AnnotateDatabase>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Annotate.Server");
        var web = app.Services.GetRequiredService<WebEndpoint>();
        var metrics = app.Services.GetRequiredService<MetricsEndpoint>();
        try
        {
            if ((web.Error ?? metrics.Error) is { } error)
            {
                await Console.Error.WriteLineAsync(error);
                return 2;
            }
            await database.StartAsync(app.Lifetime.ApplicationStopping);
            // Before serving: an invalid ConnectionStrings:AnnotateReadOnly stops the start like an invalid database.
            var replica = app.Services.GetRequiredService<ReadReplica>().Description;
            await app.StartAsync();
            var webUrls = app.Urls.Where(u => web.Urls.Any(w => new Uri(u).Port == w.Port)).ToList();
            var metricsUrls = app.Urls.Where(u => metrics.Urls.Any(m => new Uri(u).Port == m.Port)).ToList();
            Log.Listening(logger, string.Join(", ", app.Urls.Except(webUrls).Except(metricsUrls)), database.Description);
            if (webUrls.Count > 0) Log.ListeningWeb(logger, string.Join(", ", webUrls));
            if (metricsUrls.Count > 0) Log.ListeningMetrics(logger, string.Join(", ", metricsUrls.Select(u => u + MetricsEndpoint.Path)));
            if (replica is not null) Log.ReadingReplica(logger, replica);
            await app.WaitForShutdownAsync();
            return 0;
        }
        catch (Exception e) when (e is EmbeddedPostgresException or DatabaseUnavailableException or IOException)
        {
            // IOException: Kestrel could not bind the address (in use, not permitted).
            await Console.Error.WriteLineAsync(e.Message);
            return 2;
        }
        finally
        {
            // The container disposes in reverse order of creation: the event store (its LISTEN connection and
            // writer) before the database it uses, the console log last. Stopping the database explicitly
            // afterwards is a no-op then, and a safety net otherwise.
            await app.DisposeAsync();
            await database.StopAsync();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Annotate listening on {Urls} (HTTP/2); database {Database}")]
        public static partial void Listening(ILogger logger, string urls, string database);

        [LoggerMessage(2, LogLevel.Information, "gRPC-Web listening on {Urls} (HTTP/1.1)")]
        public static partial void ListeningWeb(ILogger logger, string urls);

        [LoggerMessage(5, LogLevel.Information, "Prometheus metrics at {Urls} (HTTP/1.1)")]
        public static partial void ListeningMetrics(ILogger logger, string urls);

        [LoggerMessage(6, LogLevel.Information, "Reads that may lag go to the read replica {Replica}")]
        public static partial void ReadingReplica(ILogger logger, string replica);
    }
}
