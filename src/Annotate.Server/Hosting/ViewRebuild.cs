using System.Diagnostics;
using System.Globalization;
using Annotate.Domain.Consensus;
using Annotate.EventStore.Order;
using Annotate.Server.Features.Admin;
using Annotate.Server.Features.Annotations;
using Annotate.Server.Features.Articles;
using Annotate.Server.Features.Claims;
using Annotate.Server.Features.Consensus;
using Annotate.Server.Features.Discussion;
using Annotate.Server.Features.Search;
using JasperFx.Events.Projections;
using Marten;
using Npgsql;

namespace Annotate.Server.Hosting;

/// <summary>
/// <c>annotate-server rebuild-views [settings]</c>, run instead of the server: every view (the documents of the inline
/// projections in <see cref="MartenSetup"/>) emptied and folded again from the whole log by Marten's async daemon
/// (<c>IProjectionDaemon.RebuildProjectionAsync</c>), e.g. after a view's code changed. Appends wait meanwhile: the
/// command holds the writer's global-order lock (<see cref="GlobalOrder"/>) from start to end, so no server replica
/// commits an event the rebuild could miss; readers find a view empty or partial until its rebuild ends.
/// Exit codes: 0 done; 1 the rebuild failed (the message says why); 2 the command line or the database cannot be used.
/// </summary>
public static class ViewRebuild
{
    public const string Usage =
        """
        Usage:
          annotate-server rebuild-views [settings]   every view folded again from the log; appends wait meanwhile
        Settings as for the server: --ConnectionStrings:Annotate=<connection string> (required),
        --Annotate:Schema=<name> (default annotate), --Annotate:Quorum, --Annotate:Threshold.
        """;

    public static bool IsCommand(string[] args) => args is ["rebuild-views", ..];

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Skip(1).Any(a => a is "-h" or "--help"))
        {
            Console.WriteLine(Usage);
            return 0;
        }
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine(args[1..]).Build();
        EventStoreSettings settings;
        ServerOptions server;
        try
        {
            server = ServerOptions.From(configuration);
            settings = EventStoreSettings.From(configuration, server);
        }
        catch (InvalidOperationException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 2;
        }
        if (server.ConnectionString is not { } connectionString)
        {
            await Console.Error.WriteLineAsync(Usage);
            return 2;
        }
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        try
        {
            var total = Stopwatch.StartNew();
            var count = await RebuildAsync(dataSource, settings.Schema, settings.Policy,
                (view, elapsed) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"rebuilt {view} in {elapsed.TotalSeconds:0.000} s")),
                CancellationToken.None);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rebuilt {count} views in {total.Elapsed.TotalSeconds:0.000} s"));
            return 0;
        }
        catch (NpgsqlException e)
        {
            await Console.Error.WriteLineAsync($"The database cannot be used: {e.Message}");
            return 2;
        }
    }

    /// <summary>Events the daemon reads and folds per page of a rebuild (Marten's default is 500): one commit per page.</summary>
    public const int PageSize = 10_000;

    /// <summary>The name of the composite projection that rebuilds every view but the first ones in one pass.</summary>
    public const string Together = "Views";

    /// <summary>
    /// The server's Marten options with the views registered for a rebuild: the article view (read by the claim and highlight
    /// views from the database) a projection of its own, rebuilt first; every other view a member of one composite projection
    /// (<see cref="Together"/>, Marten's way to run several projections off one read of the log: each page of events is
    /// fetched and deserialized once and the members' writes go in one batch), the blind-claim view in a second stage after
    /// the blind-article view it reads; pages of <see cref="PageSize"/>; and no full-text index on the search entries while
    /// they are written (<see cref="RebuildAsync"/> builds it once at the end).
    /// </summary>
    public static StoreOptions RebuildOptions(NpgsqlDataSource dataSource, string schema, ConsensusPolicy policy)
    {
        var options = MartenSetup.Options(dataSource, schema, policy, inlineViews: false, searchIndex: false);
        var views = MartenSetup.Views(policy);
        foreach (var first in views.OfType<ArticleViewProjection>()) options.Projections.Add(first, ProjectionLifecycle.Async);
        options.Projections.CompositeProjectionFor(Together, composite =>
        {
            foreach (var view in views.Where(v => v is not ArticleViewProjection))
                composite.Add(view, view is BlindClaimProjection ? 2 : 1);
        });
        foreach (var projection in options.Projections.All.OfType<ProjectionBase>()) projection.Options.BatchSize = PageSize;
        // The blind-claim stage reads the blind-article documents of its page from that view's cache.
        foreach (var blind in views.OfType<BlindArticleProjection>()) blind.Options.CacheLimitPerTenant = 10_000;
        return options;
    }

    /// <summary>
    /// Rebuilds every view under the global-order lock: the views others read first (side by side), then the rest together in
    /// one pass; then builds the search entries' full-text index (the server's schema). Reports each rebuild's time and returns
    /// how many views were rebuilt.
    /// </summary>
    public static async Task<int> RebuildAsync(NpgsqlDataSource dataSource, string schema, ConsensusPolicy policy,
        Action<string, TimeSpan>? rebuilt, CancellationToken ct)
    {
        var options = RebuildOptions(dataSource, schema, policy);
        await using var store = new DocumentStore(options);
        // The server's schema but the full-text index: dropped here, built again below, once the table is full.
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        // A session-level advisory lock conflicts with the writer's transaction-scoped one on the same key: no batch
        // commits until it is released, and the rebuild's reads see every event committed before it.
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_lock($1)", connection))
        {
            take.Parameters.AddWithValue(GlobalOrder.LockKey(schema));
            await take.ExecuteNonQueryAsync(ct);
        }
        try
        {
            using (var daemon = await store.BuildProjectionDaemonAsync())
            {
                async Task RebuildAsync(string name)
                {
                    var watch = Stopwatch.StartNew();
                    await daemon.RebuildProjectionAsync(name, TimeSpan.FromHours(1), ct);
                    rebuilt?.Invoke(name, watch.Elapsed);
                }
                var projections = options.Projections.All.OfType<ProjectionBase>().ToList();
                await Task.WhenAll(projections.Where(p => p.Name != Together).Select(p => RebuildAsync(p.Name)));
                await RebuildAsync(Together);
            }
            var watch = Stopwatch.StartNew();
            await using (var server = new DocumentStore(MartenSetup.Options(dataSource, schema, policy)))
            {
                await server.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
            }
            rebuilt?.Invoke("SearchIndex", watch.Elapsed);
            return MartenSetup.Views(policy).Count;
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", connection);
            release.Parameters.AddWithValue(GlobalOrder.LockKey(schema));
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }
}
