using Annotate.Postgres;

namespace Annotate.Server.Hosting;

/// <summary>
/// The server's own settings, read from configuration (appsettings, environment, command line).
/// Kestrel's listen address is not here: it is the standard <c>--urls</c> / <c>ASPNETCORE_URLS</c>.
/// </summary>
public sealed record ServerOptions
{
    /// <summary>Where the server listens unless <c>--urls</c> (or ASPNETCORE_URLS) says otherwise: loopback only.</summary>
    public const string DefaultUrl = "http://127.0.0.1:50051";

    /// <summary>Name of the connection string (<c>ConnectionStrings:Annotate</c>, env <c>ConnectionStrings__Annotate</c>).</summary>
    public const string ConnectionStringName = "Annotate";

    /// <summary>Npgsql connection string of an existing database; when null, the server runs its own embedded cluster.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>Folder of the embedded cluster (<c>--data-dir</c> / <c>Annotate:DataDir</c>).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Folder holding initdb/pg_ctl/postgres (<c>Annotate:PostgresBinDir</c>); searched for when null.</summary>
    public string? PostgresBinDirectory { get; init; }

    public static ServerOptions From(IConfiguration configuration)
    {
        var connectionString = configuration.GetConnectionString(ConnectionStringName);
        var dataDir = configuration["Annotate:DataDir"];
        var binDir = configuration["Annotate:PostgresBinDir"];
        return new ServerOptions
        {
            ConnectionString = string.IsNullOrWhiteSpace(connectionString) ? null : connectionString,
            DataDirectory = string.IsNullOrWhiteSpace(dataDir) ? EmbeddedPostgresOptions.DefaultDataDirectory() : dataDir,
            PostgresBinDirectory = string.IsNullOrWhiteSpace(binDir) ? null : binDir,
        };
    }
}
