using Annotate.EventStore.Embedded;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Npgsql;

namespace Annotate.Server.Hosting;

/// <summary>The host around the annotation features: configuration, Kestrel, logging and the database's lifetime.</summary>
public static partial class HostingExtensions
{
    /// <summary>
    /// Reads <see cref="ServerOptions"/>, listens on <see cref="ServerOptions.DefaultUrl"/> unless <c>--urls</c> (or
    /// ASPNETCORE_URLS, or Kestrel:Endpoints) says otherwise, speaks HTTP/2 on every endpoint, and registers
    /// <see cref="AnnotateDatabase"/> and its <see cref="NpgsqlDataSource"/>.
    /// </summary>
    public static WebApplicationBuilder AddAnnotateHosting(this WebApplicationBuilder builder, string[] args)
    {
        builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--data-dir"] = "Annotate:DataDir" });

        // gRPC needs HTTP/2; on a cleartext endpoint Http1AndHttp2 would silently mean HTTP/1.1 only.
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = HttpProtocols.Http2));
        if (string.IsNullOrWhiteSpace(builder.Configuration["urls"]) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            builder.WebHost.UseUrls(ServerOptions.DefaultUrl);
        }

        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        // One line per request would drown the log of a streaming server.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // An unhealthy check says why each time it is probed; the fault behind it is logged once where it happens.
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.Critical);

        builder.Services.AddSingleton(ServerOptions.From(builder.Configuration));
        builder.Services.AddSingleton<AnnotateDatabase>();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<AnnotateDatabase>().DataSource);
        return builder;
    }

    /// <summary>
    /// Starts the database, then the host; serves until Ctrl+C or SIGTERM; stops the host, then the database.
    /// Returns the process exit code: 0 after a clean stop, 2 when the database or the listen address cannot be
    /// used (one message on stderr saying why, no stack trace).
    /// </summary>
    public static async Task<int> RunAnnotateAsync(this WebApplication app)
    {
        var database = app.Services.GetRequiredService<AnnotateDatabase>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Annotate.Server");
        try
        {
            await database.StartAsync(app.Lifetime.ApplicationStopping);
            await app.StartAsync();
            Log.Listening(logger, string.Join(", ", app.Urls), database.Description);
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
    }
}
