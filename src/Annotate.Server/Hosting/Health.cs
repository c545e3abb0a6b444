using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Annotate.Server.Hosting;

/// <summary>
/// The server's own health checks, reported by grpc.health.v1 with every other check registered through
/// <c>services.AddHealthChecks()</c>. Which checks a health service name reports is decided by tags:
/// <list type="bullet">
/// <item><c>""</c> (the whole server) and each annotate.v1 service: the untagged checks (the database, start-up), plus,
/// for a service, the checks tagged with its name.</item>
/// <item><see cref="Liveness"/>: only the checks tagged with it: the process answers. No database check, so an orchestrator
/// does not restart healthy processes during a database outage.</item>
/// <item><see cref="Readiness"/>: the untagged checks plus those tagged with it: whether this process should get calls.
/// This is where the event store's own conditions join (its writer running, the live hub not behind the head by more
/// than a configured time): register them as checks tagged <see cref="Readiness"/>.</item>
/// </list>
/// </summary>
public static class Health
{
    /// <summary>Health service name for liveness probes: SERVING as long as the process answers.</summary>
    public const string Liveness = "liveness";

    /// <summary>Health service name for readiness probes: SERVING once started and while the database answers.</summary>
    public const string Readiness = "readiness";

    /// <summary>How long the database round trip may take before the server counts as not serving.</summary>
    public static readonly TimeSpan DatabaseTimeout = TimeSpan.FromSeconds(2);

    public static IHealthChecksBuilder AddAnnotateChecks(this IHealthChecksBuilder checks)
    {
        checks.Services.AddSingleton<StartupGate>();
        checks.Services.AddSingleton<DatabaseCheck>(); // one instance, so an outage is logged once
        return checks
            .AddCheck<StartupCheck>("startup")
            .AddCheck<DatabaseCheck>("database", timeout: DatabaseTimeout)
            // The health service reports UNKNOWN for a name no check concerns, so liveness needs one: answering at all is
            // what it shows, hence a check with nothing more to look at.
            .AddCheck("process", () => HealthCheckResult.Healthy("The process answers."), [Liveness]);
    }

    /// <summary>Whether the health service name <paramref name="service"/> reports on a check tagged <paramref name="tags"/>.</summary>
    public static bool Concerns(string service, IEnumerable<string> tags) => service switch
    {
        Liveness => tags.Contains(Liveness),
        _ => !tags.Any() || tags.Contains(service), // "" never is a tag: the whole server is the untagged checks
    };
}

/// <summary>
/// Opened once by <see cref="Bootstrap"/> when the server is ready to serve. Opening runs the checks and hands the
/// report to the publishers at once: grpc.health.v1 Watch streams send what the periodic run last published, and
/// a run during start-up would otherwise leave NOT_SERVING there for up to a period while Check says SERVING.
/// </summary>
public sealed class StartupGate(HealthCheckService checks, IEnumerable<IHealthCheckPublisher> publishers)
{
    private volatile bool _open;

    public bool IsOpen => _open;

    public async Task OpenAsync(CancellationToken ct)
    {
        _open = true;
        var report = await checks.CheckHealthAsync(ct);
        foreach (var publisher in publishers) await publisher.PublishAsync(report, ct);
    }
}

/// <summary>Unhealthy until <see cref="Bootstrap"/> has run (Marten has applied the schema) and created the first admin.</summary>
public sealed class StartupCheck(StartupGate gate) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken) =>
        Task.FromResult(gate.IsOpen ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("The server is starting."));
}

/// <summary>
/// A real round trip to PostgreSQL (<c>SELECT 1</c>), bounded by <see cref="Health.DatabaseTimeout"/>. An outage is logged
/// once when it starts and once when it ends (the health-check service's own per-run log is filtered out: it would repeat
/// the failure every period).
/// <para>
/// Readiness answers whether this replica should get calls, and a busy replica should: taking it out of service when
/// every connection of its pool is in use would move its load onto the others and make them busy in turn. So the check
/// takes a pooled connection only if one comes within <see cref="PoolWait"/>; otherwise it asks on its own unpooled
/// connection (<see cref="AnnotateDatabase.ReadinessDataSource"/>), which heavy reads cannot starve. A PostgreSQL that
/// answers "too many clients" (53300) is reachable and busy too: serving.
/// </para>
/// </summary>
public sealed partial class DatabaseCheck(AnnotateDatabase database, ILogger<DatabaseCheck> logger) : IHealthCheck, IDisposable
{
    /// <summary>How long the check waits for a pooled connection before it asks on its own.</summary>
    public static readonly TimeSpan PoolWait = TimeSpan.FromMilliseconds(250);

    private readonly SemaphoreSlim _ownConnection = new(1, 1); // the readiness data source opens one connection at a time
    private int _down;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Health.DatabaseTimeout);
        try
        {
            var busy = await AskAsync(timeout.Token);
            if (Interlocked.Exchange(ref _down, 0) == 1) LogBack(logger, database.Description);
            return busy is null ? HealthCheckResult.Healthy() : HealthCheckResult.Healthy(busy);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Idle pooled connections to a server that went away are dead: drop them so the first check after it
            // returns opens a fresh one instead of failing on a stale one. Not when the check only waited for a connection
            // (the pool busy, or a new one slow to open): clearing then would close healthy connections under load.
            if (e is not OperationCanceledException && !ErrorMapping.IsPoolExhausted(e)) database.DataSource.Clear();
            var message = $"PostgreSQL at {database.Description} did not answer: " +
                $"{(e is OperationCanceledException ? $"no answer within {Health.DatabaseTimeout.TotalSeconds:0} s" : e.Message)}";
            if (Interlocked.Exchange(ref _down, 1) == 0) LogDown(logger, message);
            return HealthCheckResult.Unhealthy(message);
        }
    }

    /// <summary>One <c>SELECT 1</c>; null when it ran on a pooled connection, else why the server counts as busy.</summary>
    private async Task<string?> AskAsync(CancellationToken ct)
    {
        NpgsqlConnection? pooled = null;
        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            wait.CancelAfter(PoolWait);
            try
            {
                pooled = await database.DataSource.OpenConnectionAsync(wait.Token);
            }
            catch (Exception e) when ((e is OperationCanceledException && !ct.IsCancellationRequested) || ErrorMapping.IsPoolExhausted(e))
            {
                // No pooled connection came in time: the pool is in use (or a new connection is slow to open). Ask below.
            }
        }
        if (pooled is not null)
        {
            await using (pooled) await SelectOneAsync(pooled, ct);
            return null;
        }
        await _ownConnection.WaitAsync(ct);
        try
        {
            await using var own = await database.ReadinessDataSource.OpenConnectionAsync(ct);
            await SelectOneAsync(own, ct);
            return "Every pooled connection is in use; PostgreSQL answers.";
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.TooManyConnections)
        {
            return "PostgreSQL answers but has no connection slot free (max_connections is reached).";
        }
        finally
        {
            _ownConnection.Release();
        }
    }

    private static async Task SelectOneAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        await command.ExecuteScalarAsync(ct);
    }

    public void Dispose() => _ownConnection.Dispose();

    [LoggerMessage(1, LogLevel.Warning, "{Message}; health reports NOT_SERVING until it answers again")]
    private static partial void LogDown(ILogger logger, string message);

    [LoggerMessage(2, LogLevel.Information, "PostgreSQL at {Database} answers again; health reports SERVING")]
    private static partial void LogBack(ILogger logger, string database);
}
