using System.Diagnostics;
using System.Globalization;
using Annotate.EventStore.Order;
using Annotate.Server.Features.Admin;
using Annotate.Server.Features.Annotations;
using Annotate.Server.Features.Articles;
using Annotate.Server.Features.Claims;
using Annotate.Server.Features.Consensus;
using Annotate.Server.Features.Discussion;
using Annotate.Server.Features.Search;
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

    /// <summary>
    /// The views, in the order they are rebuilt. The article view comes first: the claim and highlight views read it
    /// (the article's revisions) when they make a document.
    /// </summary>
    public static IReadOnlyList<Type> Views { get; } =
    [
        typeof(ArticleViewProjection), typeof(ClaimViewProjection), typeof(HighlightViewProjection),
        typeof(AnalystAccessProjection), typeof(TokenAccessProjection), typeof(ReplyProjection),
        typeof(BlindArticleProjection), typeof(BlindClaimProjection), typeof(SearchEntryProjection),
        typeof(TargetTagsProjection),
    ];

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
            await using var store = new DocumentStore(Tuned(MartenSetup.Options(dataSource, settings.Schema, settings.Policy)));
            var total = Stopwatch.StartNew();
            await RebuildAsync(store, dataSource, settings.Schema,
                (view, elapsed) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"rebuilt {view.Name} in {elapsed.TotalSeconds:0.000} s")),
                CancellationToken.None);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rebuilt {Views.Count} views in {total.Elapsed.TotalSeconds:0.000} s"));
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

    /// <summary>The server's Marten options with the views' rebuild settings: larger pages.</summary>
    public static StoreOptions Tuned(StoreOptions options)
    {
        foreach (var projection in options.Projections.All.OfType<JasperFx.Events.Projections.ProjectionBase>())
        {
            projection.Options.BatchSize = PageSize;
        }
        return options;
    }

    /// <summary>Rebuilds every view (<see cref="Views"/>, in order) under the global-order lock; reports each one's time.</summary>
    public static async Task RebuildAsync(IDocumentStore store, NpgsqlDataSource dataSource, string schema,
        Action<Type, TimeSpan>? rebuilt, CancellationToken ct)
    {
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
            using var daemon = await store.BuildProjectionDaemonAsync();
            async Task RebuildAsync(Type view)
            {
                var watch = Stopwatch.StartNew();
                await daemon.RebuildProjectionAsync(view, TimeSpan.FromHours(1), ct);
                rebuilt?.Invoke(view, watch.Elapsed);
            }
            // The article view alone first (the others read it); then the others side by side: each rebuild waits on its
            // own round trips and commits, so together they keep the cores busy.
            await RebuildAsync(Views[0]);
            await Task.WhenAll(Views.Skip(1).Select(RebuildAsync));
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", connection);
            release.Parameters.AddWithValue(GlobalOrder.LockKey(schema));
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }
}
