using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Annotate.Domain.Anchoring;
using Annotate.Domain.Consensus;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Npgsql;

namespace Annotate.Server.Infrastructure;

/// <summary>
/// Reads of the projected views, and read-your-writes: <see cref="WaitForAsync"/> returns once every running
/// projection of this process has applied a position.
/// </summary>
public sealed class Views(NpgsqlDataSource dataSource, ProjectionRunner runner, MartenEventStore store, EventStoreSettings settings)
{
    private readonly ConcurrentDictionary<string, TextDocument> _documents = new(StringComparer.Ordinal);
    private readonly string _table = $"\"{settings.Schema}\".projection_documents";

    public MartenEventStore Store => store;

    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(10);

    /// <summary>Waits until every running projection has applied <paramref name="position"/>; false when it took longer than <paramref
    /// name="timeout"/>.</summary>
    public async Task<bool> WaitForAsync(long position, CancellationToken ct, TimeSpan? timeout = null)
    {
        foreach (var name in new[] { Projections.Articles, Projections.Claims, Projections.Highlights, Projections.Access })
        {
            if (await runner.WaitForPositionAsync(name, position, timeout ?? DefaultWait, ct)) continue;
            // A stopped projection never catches up (health reports it); answers that do not read it keep working. The
            // access view decides who may call what, so without it no command may report success.
            if (name != Projections.Access && runner.FaultOf(name) is not null) continue;
            return false;
        }
        return true;
    }

    /// <summary>Waits until the views include everything committed so far (for a command that must see another replica's write).</summary>
    public async Task CatchUpAsync(CancellationToken ct) => await WaitForAsync(await store.GetHeadPositionAsync(ct), ct);

    public async Task<JsonObject?> GetAsync(string projection, string key, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"SELECT document::text FROM {_table} WHERE projection = $1 AND key = $2");
        cmd.Parameters.AddWithValue(projection);
        cmd.Parameters.AddWithValue(key);
        if (await cmd.ExecuteScalarAsync(ct) is string json) return JsonNode.Parse(json)!.AsObject();
        // A stopped view cannot say that something does not exist: it may lie beyond the event it stopped at.
        if (runner.FaultOf(projection) is { } fault)
        {
            throw new UnavailableException($"The {projection} view is stopped at position {fault.Position - 1} (it cannot apply the " +
                                           $"event after); the server's health check reports it.");
        }
        return null;
    }

    /// <summary>Documents of a projection whose <paramref name="field"/> equals <paramref name="value"/> (all when null), by key.</summary>
    public async Task<List<JsonObject>> ListAsync(string projection, string? keyPrefix, string? field, string? value, CancellationToken ct)
    {
        var sql = $"SELECT document::text FROM {_table} WHERE projection = $1 AND starts_with(key, $2)";
        if (field is not null) sql += " AND document->>$3 = $4";
        await using var cmd = dataSource.CreateCommand(sql + " ORDER BY key");
        cmd.Parameters.AddWithValue(projection);
        cmd.Parameters.AddWithValue(keyPrefix ?? "");
        if (field is not null)
        {
            cmd.Parameters.AddWithValue(field);
            cmd.Parameters.AddWithValue(value ?? "");
        }
        var list = new List<JsonObject>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) list.Add(JsonNode.Parse(r.GetString(0))!.AsObject());
        return list;
    }

    /// <summary>An article's document, or NOT_FOUND saying how to list articles.</summary>
    public async Task<JsonObject> ArticleAsync(string articleId, CancellationToken ct) =>
        await GetAsync(Projections.Articles, articleId, ct)
        ?? throw ErrorMapping.NotFound($"article_id \"{articleId}\" names no article.");

    /// <summary>An article's text, indexed by code points (cached: articles are immutable).</summary>
    public async Task<TextDocument> DocumentAsync(string articleId, CancellationToken ct)
    {
        if (_documents.TryGetValue(articleId, out var cached)) return cached;
        var article = await ArticleAsync(articleId, ct);
        return _documents.GetOrAdd(articleId, _ => new TextDocument(article["text"]!.GetValue<string>()));
    }

    /// <summary>A claim's stored view document (view, articleId, openedPosition), catching up once if another replica just opened
    /// it.</summary>
    public async Task<JsonObject> ClaimDocumentAsync(string claimId, CancellationToken ct)
    {
        var doc = await GetAsync(Projections.Claims, claimId, ct);
        if (doc is null)
        {
            await CatchUpAsync(ct);
            doc = await GetAsync(Projections.Claims, claimId, ct);
        }
        return doc ?? throw ErrorMapping.NotFound($"claim_id \"{claimId}\" names no claim.");
    }

    public static ClaimConsensus ClaimView(JsonObject doc) => Projections.FromJson<ClaimConsensus>(doc["view"]!);

    /// <summary>
    /// Consensus views of an article as of a position and/or time, folded from the history alone
    /// (the stored views are not read): equal to what the live view showed at that point.
    /// </summary>
    public async Task<IReadOnlyList<ClaimConsensus>> ClaimsAsOfAsync(string articleId, long toPosition, DateTime? toTime,
        ConsensusPolicy policy, CancellationToken ct)
    {
        var views = new Dictionary<string, ClaimConsensus>(StringComparer.Ordinal);
        var projection = new ClaimsProjection(policy);
        await foreach (
            var e in store.ReadAllAsync(
                0,
                new EventFilter(projection.Filter.Types, Tag: articleId),
                long.MaxValue,
                toPosition,
                toTime,
                ct))
        {
            if (EventCodec.ClaimIdOf(e) is not { } id) continue;
            var next = ConsensusProjection.Evolve(views.GetValueOrDefault(id), EventCodec.Positioned(e), policy);
            if (next is not null) views[id] = next;
        }
        return views.Values.OrderBy(v => v.Start).ThenBy(v => v.ClaimId, StringComparer.Ordinal).ToList();
    }

    /// <summary>The position a projection has applied in this process (-1 before it has loaded its checkpoint).</summary>
    public long ProjectedPosition(string projection) => runner.GetPosition(projection);

    /// <summary>The head position of the store.</summary>
    public Task<long> HeadAsync(CancellationToken ct) => store.GetHeadPositionAsync(ct);

    /// <summary>A token with its analyst's roles, for authentication.</summary>
    public async Task<TokenRecord?> GetTokenAsync(string tokenId, CancellationToken ct)
    {
        var token = await GetAsync(Projections.Access, $"token:{tokenId}", ct);
        if (token is null) return null;
        var analystId = token["analystId"]!.GetValue<string>();
        var analyst = await GetAsync(Projections.Access, $"analyst:{analystId}", ct);
        var roles = analyst?["roles"] is JsonArray r ? Projections.FromJson<Role[]>(r) : [];
        return new TokenRecord(tokenId, analystId, token["secretHash"]!.GetValue<string>(),
            token["expiresAt"] is { } exp ? exp.GetValue<DateTimeOffset>() : null,
            token["revoked"]!.GetValue<bool>(), roles);
    }
}
