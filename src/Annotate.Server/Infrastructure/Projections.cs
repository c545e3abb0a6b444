using System.Text.Json;
using System.Text.Json.Nodes;
using Annotate.Domain.Anchoring;
using Annotate.Domain.Consensus;
using Annotate.Domain.Events;
using Annotate.EventStore;

namespace Annotate.Server.Infrastructure;

/// <summary>
/// The server's views, as pure projections of the events (no clock, no other tables): the runner stores
/// their documents and checkpoints together, and the same functions recompute any view as of a position.
/// </summary>
public static class Projections
{
    public const string Articles = "articles";
    public const string Claims = "claims";
    public const string Highlights = "highlights";
    public const string Access = "access";

    public static IReadOnlyList<IProjection> All(ConsensusPolicy policy) =>
        [new ArticlesProjection(), new ClaimsProjection(policy), new HighlightsProjection(), new AccessProjection()];

    internal static JsonObject ToJson<T>(T value) => JsonSerializer.SerializeToNode(value, EventTypes.JsonOptions)!.AsObject();

    internal static T FromJson<T>(JsonNode node) => node.Deserialize<T>(EventTypes.JsonOptions)!;

    internal static JsonArray ToJsonArray<T>(IEnumerable<T> values) =>
        JsonSerializer.SerializeToNode(values.ToArray(), EventTypes.JsonOptions)!.AsArray();

    internal static string Time(RecordedEvent e) => DateTime.SpecifyKind(e.RecordedAt, DateTimeKind.Utc).ToString("O");
}

/// <summary>One document per article: its text and import facts.</summary>
public sealed class ArticlesProjection : IProjection
{
    public string Name => Projections.Articles;
    public EventFilter Filter { get; } = new(Types: ["article-imported.v1"]);

    public IEnumerable<string> KeysOf(RecordedEvent e) => e.Type == "article-imported.v1" ? [e.Metadata.Tag!] : [];

    public JsonObject? Apply(string key, JsonObject? current, RecordedEvent e)
    {
        var imported = (ArticleImported)EventCodec.Decode(e);
        var doc = Projections.ToJson(imported);
        doc["length"] = new TextDocument(imported.Text).Length;
        doc["importedAt"] = Projections.Time(e);
        doc["position"] = e.Position;
        return doc;
    }
}

/// <summary>One document per claim: the consensus view (<see cref="ConsensusProjection"/>) and where the claim was opened.</summary>
public sealed class ClaimsProjection(ConsensusPolicy policy) : IProjection
{
    public string Name => Projections.Claims;
    public EventFilter Filter { get; } =
        new(
            Types:
            [
                "claim-opened.v1",
                "stance-taken.v1",
                "stance-withdrawn.v1",
                "claim-adjudicated.v1",
                "claim-reopened.v1",
                "tag-applied.v1",
                "tag-removed.v1",
            ]);

    public IEnumerable<string> KeysOf(RecordedEvent e) => EventCodec.ClaimIdOf(e) is { } id ? [id] : [];

    public JsonObject? Apply(string key, JsonObject? current, RecordedEvent e)
    {
        var view = current?["view"] is { } v ? Projections.FromJson<ClaimConsensus>(v) : null;
        var next = ConsensusProjection.Evolve(view, EventCodec.Positioned(e), policy);
        if (next is null) return current;
        return new JsonObject
        {
            ["articleId"] = next.ArticleId,
            ["start"] = next.Start,
            ["openedPosition"] = current?["openedPosition"]?.GetValue<long>() ?? e.Position,
            ["view"] = Projections.ToJson(next),
        };
    }
}

/// <summary>One document per highlight: span, note, author, tags with who applied them; removed when retracted.</summary>
public sealed class HighlightsProjection : IProjection
{
    public string Name => Projections.Highlights;
    public EventFilter Filter { get; } = new(Types: ["highlight-created.v1", "highlight-retracted.v1", "tag-applied.v1", "tag-removed.v1"]);

    public IEnumerable<string> KeysOf(RecordedEvent e) => EventCodec.Decode(e) switch
    {
        HighlightCreated c => [c.HighlightId],
        HighlightRetracted r => [r.HighlightId],
        TagApplied { TargetKind: TagTargetKind.Highlight } t => [t.TargetId],
        TagRemoved { TargetKind: TagTargetKind.Highlight } t => [t.TargetId],
        _ => [],
    };

    public JsonObject? Apply(string key, JsonObject? current, RecordedEvent e)
    {
        switch (EventCodec.Decode(e))
        {
            case HighlightCreated c:
                var doc = Projections.ToJson(c);
                doc["createdAt"] = Projections.Time(e);
                doc["position"] = e.Position;
                doc["tags"] = new JsonObject();
                return doc;
            case HighlightRetracted:
                return null;
            case TagApplied t when current is not null:
                var analysts = (current["tags"]![t.Tag] as JsonArray) ?? [];
                if (!analysts.Any(a => a!.GetValue<string>() == t.Analyst))
                    analysts.Add(t.Analyst);
                current["tags"]![t.Tag] = new JsonArray(
                    analysts.Select(a => a!.GetValue<string>()).Order(StringComparer.Ordinal).Select(a => (JsonNode)a).ToArray());
                return current;
            case TagRemoved t when current is not null:
                if (current["tags"]![t.Tag] is JsonArray list)
                {
                    var left = list.Select(a => a!.GetValue<string>()).Where(a => a != t.Analyst).ToArray();
                    if (left.Length == 0) current["tags"]!.AsObject().Remove(t.Tag);
                    else current["tags"]![t.Tag] = new JsonArray(left.Select(a => (JsonNode)a).ToArray());
                }
                return current;
            default:
                return current;
        }
    }
}

/// <summary>Analysts ("analyst:{id}": roles, name) and tokens ("token:{id}": analyst, secret hash, expiry, revoked).</summary>
public sealed class AccessProjection : IProjection
{
    public string Name => Projections.Access;
    public EventFilter Filter { get; } =
        new(Types: ["analyst-registered.v1", "analyst-roles-changed.v1", "token-issued.v1", "token-revoked.v1"]);

    public IEnumerable<string> KeysOf(RecordedEvent e) => EventCodec.Decode(e) switch
    {
        AnalystRegistered a => [$"analyst:{a.AnalystId}"],
        AnalystRolesChanged a => [$"analyst:{a.AnalystId}"],
        TokenIssued t => [$"token:{t.TokenId}"],
        TokenRevoked t => [$"token:{t.TokenId}"],
        _ => [],
    };

    public JsonObject? Apply(string key, JsonObject? current, RecordedEvent e)
    {
        switch (EventCodec.Decode(e))
        {
            case AnalystRegistered a:
                return new JsonObject
                {
                    ["analystId"] = a.AnalystId,
                    ["displayName"] = a.DisplayName,
                    ["roles"] = Projections.ToJsonArray(a.Roles),
                    ["createdAt"] = Projections.Time(e),
                };
            case AnalystRolesChanged a when current is not null:
                current["roles"] = Projections.ToJsonArray(a.Roles);
                return current;
            case TokenIssued t:
                var doc = Projections.ToJson(t);
                doc["issuedAt"] = Projections.Time(e);
                doc["revoked"] = false;
                return doc;
            case TokenRevoked when current is not null:
                current["revoked"] = true;
                return current;
            default:
                return current;
        }
    }
}
