using System.Diagnostics;
using Docker.DotNet;
using DotNet.Testcontainers.Builders;
using Testcontainers.PostgreSql;

namespace Annotate.Testing;

/// <summary>
/// PostgreSQL in a Docker container, started with Testcontainers' PostgreSQL module: one per test process
/// (PostgresServer holds it), its image from ANNOTATE_TEST_PG_IMAGE (default the official <c>postgres:15</c>).
/// The fixture removes the container itself, because CI disables Testcontainers' reaper (Ryuk is an image to
/// pull, and CI has no registry): when the process exits, and, if the process is killed first, from a detached
/// watcher that outlives it.
/// </summary>
internal static class PostgresContainer
{
    public const string DefaultImage = "postgres:15";

    /// <summary>Label on every container the fixture starts, so a run can check that none was left behind.</summary>
    public const string Label = "org.annotate.tests";

    /// <summary>
    /// Starts the container and returns the connection string of its superuser, or null when no Docker engine is
    /// reachable (<paramref name="why"/> then says why). An engine that is reachable but fails to start the image
    /// is an error, not a reason to fall back.
    /// </summary>
    public static async Task<string?> TryStartAsync(Action<string> say, Func<string, string> why)
    {
        var image = Environment.GetEnvironmentVariable("ANNOTATE_TEST_PG_IMAGE") is { Length: > 0 } configured ? configured : DefaultImage;
        if (Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } named && !await AnswersAsync(named))
        {
            say(why($"nothing answers at DOCKER_HOST={named}"));
            return null;
        }

        PostgreSqlContainer container;
        try
        {
            container = new PostgreSqlBuilder()
                .WithImage(image)
                .WithLabel(Label, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture))
                // A throwaway server: durability buys nothing here; many test classes hold pools at once.
                .WithCommand("-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off", "-c", "max_connections=500")
                .Build();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // Build() validates the configuration, which needs a Docker endpoint that answers a ping.
            say(why(e.Message.Split('.')[0]));
            return null;
        }

        var clock = Stopwatch.StartNew();
        try
        {
            await container.StartAsync();
        }
        catch
        {
            await container.DisposeAsync();
            throw;
        }
        RemoveOnExit(container);
        say($"PostgreSQL container {container.Id[..12]} from image {image} on " +
            $"{container.Hostname}:{container.GetMappedPublicPort(PostgreSqlBuilder.PostgreSqlPort)}, started in " +
            $"{clock.Elapsed.TotalSeconds:0.0} s");
        return container.GetConnectionString();
    }

    /// <summary>
    /// Testcontainers tries DOCKER_HOST first but, when nothing answers there, goes on to the default socket (its
    /// check is internal). An engine named by DOCKER_HOST is the one meant: if it does not answer, there is none.
    /// </summary>
    private static async Task<bool> AnswersAsync(string endpoint)
    {
        try
        {
            using var config = new DockerClientConfiguration(new Uri(endpoint), defaultTimeout: TimeSpan.FromSeconds(10));
            using var client = config.CreateClient();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await client.System.PingAsync(cts.Token);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }

    private static void RemoveOnExit(PostgreSqlContainer container)
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => container.DisposeAsync().AsTask().GetAwaiter().GetResult();
        // The runner may end the test host before ProcessExit handlers finish, or kill it (hang timeout); the
        // watcher removes the container once this process is gone (a no-op when the handler already did). It
        // needs a docker client on PATH; without one only the handler (and Ryuk, where enabled) remains.
        if (FindOnPath("docker") is { } docker)
        {
            Reaper.Start($"'{docker}' rm -f -v {container.Id}");
        }
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
}
