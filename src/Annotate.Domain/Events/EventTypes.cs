using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Annotate.Domain.Events;

/// <summary>
/// The one table of stored event names. Invariants: names are unique, end in ".vN", and never change meaning;
/// each CLR type has exactly one name. JSON is camelCase with enums as SNAKE_CASE strings (e.g. "NEEDS_CONTEXT"),
/// nulls written, so stored data does not depend on enum numbering or CLR member order changes.
/// </summary>
public static class EventTypes
{
    private static readonly (string Name, Type Type)[] Table =
    [
        ("article-imported.v1", typeof(ArticleImported)),
        ("highlight-created.v1", typeof(HighlightCreated)),
        ("highlight-retracted.v1", typeof(HighlightRetracted)),
        ("tag-applied.v1", typeof(TagApplied)),
        ("tag-removed.v1", typeof(TagRemoved)),
        ("claim-opened.v1", typeof(ClaimOpened)),
        ("stance-taken.v1", typeof(StanceTaken)),
        ("stance-withdrawn.v1", typeof(StanceWithdrawn)),
        ("claim-adjudicated.v1", typeof(ClaimAdjudicated)),
        ("claim-reopened.v1", typeof(ClaimReopened)),
        ("analyst-registered.v1", typeof(AnalystRegistered)),
        ("analyst-roles-changed.v1", typeof(AnalystRolesChanged)),
        ("token-issued.v1", typeof(TokenIssued)),
        ("token-revoked.v1", typeof(TokenRevoked)),
        ("reply-posted.v1", typeof(ReplyPosted)),
        ("reply-edited.v1", typeof(ReplyEdited)),
        ("reply-retracted.v1", typeof(ReplyRetracted)),
        ("claim-made-blind.v1", typeof(ClaimMadeBlind)),
        ("claim-revealed.v1", typeof(ClaimRevealed)),
        ("article-made-blind.v1", typeof(ArticleMadeBlind)),
        ("analyst-erased.v1", typeof(AnalystErased)),
        ("article-revised.v1", typeof(ArticleRevised)),
        ("span-reanchored.v1", typeof(SpanReanchored)),
        ("span-orphaned.v1", typeof(SpanOrphaned)),
        ("evidence-reanchored.v1", typeof(EvidenceReanchored)),
        ("evidence-orphaned.v1", typeof(EvidenceOrphaned)),
        ("span-reattached.v1", typeof(SpanReattached)),
    ];

    private static readonly FrozenDictionary<string, Type> ByName = Table.ToFrozenDictionary(
        e => e.Name,
        e => e.Type,
        StringComparer.Ordinal);
    private static readonly FrozenDictionary<Type, string> ByType = Table.ToFrozenDictionary(e => e.Type, e => e.Name);

    /// <summary>Serializer options for event data (and domain views). Shared, read-only.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = CreateOptions();

    /// <summary>All stored names, in table order.</summary>
    public static IReadOnlyList<string> Names { get; } = Table.Select(e => e.Name).ToArray();

    /// <summary>All registered event types, in table order.</summary>
    public static IReadOnlyList<Type> Types { get; } = Table.Select(e => e.Type).ToArray();

    public static string NameOf(IDomainEvent e) => NameOf(e.GetType());

    public static string NameOf(Type type) =>
        ByType.TryGetValue(type, out var name)
            ? name
            : throw new ArgumentException($"{type.Name} is not a registered event type", nameof(type));

    public static bool TryGetType(string storedName, out Type type) => ByName.TryGetValue(storedName, out type!);

    public static string Serialize(IDomainEvent e) => JsonSerializer.Serialize(e, e.GetType(), JsonOptions);

    public static byte[] SerializeToUtf8(IDomainEvent e) => JsonSerializer.SerializeToUtf8Bytes(e, e.GetType(), JsonOptions);

    /// <summary>Reads stored data back; throws <see cref="ArgumentException"/> for an unknown name (an unknown name in
    /// the store is corruption or a newer writer, never user input) and <see cref="JsonException"/> for bad data.</summary>
    public static IDomainEvent Deserialize(string storedName, string json)
    {
        if (!ByName.TryGetValue(storedName, out var type))
        {
            throw new ArgumentException($"unknown stored event name '{storedName}'", nameof(storedName));
        }

        return (IDomainEvent)(JsonSerializer.Deserialize(json, type, JsonOptions)
            ?? throw new JsonException($"stored event '{storedName}' is null"));
    }

    public static IDomainEvent Deserialize(string storedName, ReadOnlySpan<byte> utf8Json)
    {
        if (!ByName.TryGetValue(storedName, out var type))
        {
            throw new ArgumentException($"unknown stored event name '{storedName}'", nameof(storedName));
        }

        return (IDomainEvent)(JsonSerializer.Deserialize(utf8Json, type, JsonOptions)
            ?? throw new JsonException($"stored event '{storedName}' is null"));
    }

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            WriteIndented = false,
            RespectNullableAnnotations = true,
            RespectRequiredConstructorParameters = true,
            NumberHandling = JsonNumberHandling.Strict,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseUpper, allowIntegerValues: false));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
