using Annotate.Domain.Analysts;
using Annotate.Domain.Articles;
using Annotate.Domain.Consensus;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using Annotate.Server.Seeds;
using Annotate.Server.Transport;
using Marten;

namespace Annotate.Server.Hosting;

/// <summary>Event-store settings of the server: schema, consensus policy, where the first admin token goes.</summary>
public sealed record EventStoreSettings(string Schema, ConsensusPolicy Policy, string AdminTokenFile, string? SeedDirectory)
{
    public static EventStoreSettings From(IConfiguration configuration, ServerOptions server)
    {
        var quorum = configuration.GetValue("Annotate:Quorum", ConsensusPolicy.Default.Quorum);
        var threshold = configuration["Annotate:Threshold"] ?? "2/3";
        var parts = threshold.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var num) || !int.TryParse(parts[1], out var den) || num <= 0 || den < num)
        {
            throw new InvalidOperationException($"Annotate:Threshold must be a fraction like 2/3, not \"{threshold}\".");
        }
        return new EventStoreSettings(
            configuration["Annotate:Schema"] ?? "annotate",
            new ConsensusPolicy(quorum, num, den),
            configuration["Annotate:AdminTokenFile"] ?? Path.Combine(server.DataDirectory, "admin-token"),
            configuration.GetValue("Annotate:ImportSeeds", true) ? configuration["Annotate:SeedDir"] ?? SeedManifest.DefaultDirectory : null
        );
    }
}

public static partial class StartupExtensions
{
    /// <summary>The event store, the projections, the transport (gRPC, authentication, health) and the features.</summary>
    public static IServiceCollection AddAnnotateServer(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(sp => EventStoreSettings.From(configuration, sp.GetRequiredService<ServerOptions>()));
        services.AddSingleton(sp => sp.GetRequiredService<EventStoreSettings>().Policy);
        services.AddSingleton(TimeProvider.System);
        // Marten owns the schema: it applies its migrations (ours included) at start-up under its own advisory lock, so
        // replicas starting together are safe. Registered before Bootstrap, so it runs first.
        services.AddMarten(sp => MartenSetup.Options(
                sp.GetRequiredService<AnnotateDatabase>().DataSource,
                sp.GetRequiredService<EventStoreSettings>().Schema,
                sp.GetRequiredService<ConsensusPolicy>()))
            .ApplyAllDatabaseChangesOnStartup();
        services.AddSingleton(sp => new MartenEventStore(
            new EventStoreOptions
            {
                Documents = sp.GetRequiredService<IDocumentStore>(),
                DataSource = sp.GetRequiredService<AnnotateDatabase>().DataSource,
                Schema = sp.GetRequiredService<EventStoreSettings>().Schema,
                SubscriberBuffer = Math.Max(1, configuration.GetValue("Annotate:SubscriberBuffer", 512)),
                SubscriberPageSize = Math.Max(1,
                    configuration.GetValue("Annotate:SubscriberPageSize", EventStoreOptions.DefaultSubscriberPageSize)),
                ErasureEventType = Features.Admin.EraseAnalyst.EventType,
            },
            sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<IEventStore>(sp => sp.GetRequiredService<MartenEventStore>());
        services.AddSingleton<Views>();
        services.AddSingleton<ReadReplica>(); // reads that may go to ConnectionStrings:AnnotateReadOnly
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<Features.Consensus.ArticleWatch>(sp,
            configuration.GetValue("Annotate:WatchBuffer", Features.Consensus.ArticleWatch.DefaultCapacity)));
        services.AddSingleton<Facts>();
        services.AddScoped<CallerContext>();
        services.AddScoped<Commands>();
        services.AddFeatures();
        services.AddAnnotateTransport();
        services.AddHostedService<Bootstrap>();
        services.AddHostedService<KeptTokensFeed>(); // after Bootstrap: the schema exists
        services.AddHostedService<Features.Admin.ErasureFollower>(); // likewise
        return services;
    }
}

/// <summary>
/// Runs once the database is up and Marten has applied the schema, before the server reports SERVING: imports a
/// database of the previous version (<see cref="Annotate.EventStore.Legacy.LegacyImport"/>), creates the first admin
/// (once, even with replicas racing) and imports the seed articles (once).
/// </summary>
public sealed partial class Bootstrap(
    IServiceProvider services,
    EventStoreSettings settings,
    StartupGate startup,
    ILogger<Bootstrap> logger
) : IHostedService
{
    /// <summary>The analyst the server acts as for its own events (first admin, seed import).</summary>
    public const string SystemActor = "annotate-server";
    public const string AdminId = "admin";

    public async Task StartAsync(CancellationToken ct)
    {
        var store = services.GetRequiredService<MartenEventStore>();
        // A database of the previous version moves into Marten first (once, under a lock), before anything reads or appends.
        await store.ImportLegacyAsync(EventTypes.Deserialize, Commands.IdempotencyKeyOf, logger, ct);

        using (var scope = services.CreateScope())
        {
            scope.ServiceProvider.GetRequiredService<CallerContext>().Caller = Caller.Of(SystemActor, Enum.GetValues<Role>());
            var commands = scope.ServiceProvider.GetRequiredService<Commands>();
            await CreateFirstAdminAsync(store, commands, ct);
            if (settings.SeedDirectory is { } seeds) await ImportSeedsAsync(commands, seeds, ct);
        }
        await startup.OpenAsync(ct);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;

    private async Task CreateFirstAdminAsync(MartenEventStore store, Commands commands, CancellationToken ct)
    {
        if (await store.GetStreamVersionAsync(Streams.Analyst(AdminId), ct) > 0) return;
        var (tokenId, secret) = Authentication.NewToken();
        var context = commands.Context(tokenId);
        var events = Analyst
            .Decide(AnalystState.Initial, new RegisterAnalyst(AdminId, "Administrator", Enum.GetValues<Role>()), context)
            .OrThrow()
            .ToList();
        var registered = events.Aggregate(AnalystState.Initial, Analyst.Evolve);
        events.AddRange(
            Analyst
                .Decide(registered, new IssueToken(AdminId, Authentication.HashSecret(secret), null, "first admin token"), context)
                .OrThrow());
        try
        {
            // A fresh request id per attempt: only the replica whose append creates the stream writes the file.
            await commands.AppendAsync(Guid.NewGuid().ToString(), Streams.Analyst(AdminId), ExpectedVersion.NoStream, events, null, ct);
        }
        catch (WrongExpectedVersionException)
        {
            return; // another replica created the first admin at the same moment
        }
        var file = settings.AdminTokenFile;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        await File.WriteAllTextAsync(file, "", ct);
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await File.WriteAllTextAsync(file, $"{tokenId}.{secret}\n", ct);
        LogAdminToken(logger, file);
    }

    private async Task ImportSeedsAsync(Commands commands, string directory, CancellationToken ct)
    {
        var manifest = SeedManifest.Load(directory);
        var imported = 0;
        foreach (var seed in manifest.Articles)
        {
            var text = manifest.ReadText(seed);
            var result = await commands.RunAsync(
                $"seed:{seed.Id}:{SeedManifest.Hash(manifest.ReadBytes(seed))}",
                Streams.Article(seed.Id),
                seed.Id,
                ArticleState.Initial,
                Article.Evolve,
                state => Article.Decide(state, new ImportArticle(seed.Id, seed.Title, seed.File, text), commands.Context()),
                ct);
            if (!result.Deduplicated)
                imported++;
        }
        LogSeeds(logger, imported, manifest.Articles.Count, directory);
    }

    [LoggerMessage(
        1,
        LogLevel.Warning,
        "First start: an admin token was written to {File} (readable only by this user). `annotate login --token $(cat {File})` uses it.")]
    private static partial void LogAdminToken(ILogger logger, string file);

    [LoggerMessage(2, LogLevel.Information, "Seed articles: {Imported} imported, {Total} in {Directory}")]
    private static partial void LogSeeds(ILogger logger, int imported, int total, string directory);
}
