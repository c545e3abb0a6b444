using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using Annotate.Contracts.V1;
using Annotate.Domain;
using Annotate.Server.Infrastructure;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using MediatR;

namespace Annotate.Server.Transport;

/// <summary>
/// The one check every request passes before its handler: walks the protobuf message by its descriptor and refuses
/// (INVALID_ARGUMENT, naming the field) any text with a control character other than tab, line feed and carriage
/// return, any text longer than the contract allows, any id not of its documented shape, any number a handler would
/// have to narrow (uint64 above 2^63-1, uint32 above 2^31-1, a negative int64), any timestamp outside
/// 0001-01-01..9999-12-31 or with nanos outside 0..999,999,999, and any enum value the contract does not define.
/// So nothing the database or a view could refuse later (jsonb refuses U+0000) reaches the event log. Every string
/// field of every request has a rule below; one without stops the server at start-up.
/// </summary>
public static class EdgeValidation
{
    private abstract record Rule;
    private sealed record Text(int MaxLength) : Rule;
    private sealed record Id(Func<string, bool> IsValid, string Shape, bool Required = false) : Rule;

    private static readonly Id RequestId = new(Identifiers.IsRequestId, Identifiers.RequestIdShape, Required: true);
    private static readonly Id ServerId = new(Identifiers.IsValid, Identifiers.ServerIdShape);

    /// <summary>String fields by name (the same name means the same thing across the contract); the proto comments say the same.</summary>
    private static readonly Dictionary<string, Rule> Rules = new(StringComparer.Ordinal)
    {
        ["request_id"] = RequestId,
        ["analyst_id"] = new Id(Identifiers.IsAnalystId, Identifiers.AnalystShape),
        ["article_id"] = new Id(Identifiers.IsArticleId, Identifiers.ArticleShape),
        ["claim_id"] = ServerId,
        ["highlight_id"] = ServerId,
        ["token_id"] = ServerId,
        ["reply_id"] = ServerId,
        ["parent_id"] = ServerId,
        ["event_types"] = new Id(EventTypeShape, "an event type: 1-64 characters of a-z, 0-9, '.' and '-', e.g. \"stance-taken.v1\""),
        ["title"] = new Text(Limits.MaxTitle),
        ["source"] = new Text(Limits.MaxTitle),
        ["text"] = new Text(Limits.MaxArticleText),
        ["note"] = new Text(Limits.MaxNote),
        ["body"] = new Text(Limits.MaxReply),
        ["query"] = new Text(Features.Search.Search.MaxQuery),
        ["tag"] = new Text(Limits.MaxTagAsSent),
        ["tags"] = new Text(Limits.MaxTagAsSent),
        ["exact"] = new Text(Limits.MaxQuote),
        ["prefix"] = new Text(Limits.MaxQuoteContext),
        ["suffix"] = new Text(Limits.MaxQuoteContext),
        ["statement"] = new Text(Limits.MaxStatement),
        ["rationale"] = new Text(Limits.MaxRationale),
        ["reason"] = new Text(Limits.MaxReason),
        ["display_name"] = new Text(Limits.MaxDisplayName),
        ["label"] = new Text(Limits.MaxLabel),
        ["page_token"] = new Text(200),
        ["hash"] = new Text(128),
    };

    private static bool EventTypeShape(string value) =>
        value.Length is >= 1 and <= 64 && value.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-');

    /// <summary>String fields of the contract's requests that have no rule (start-up refuses to serve with any).</summary>
    public static IReadOnlyList<string> Unruled()
    {
        var missing = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Walk(MessageDescriptor message)
        {
            if (!seen.Add(message.FullName)) return;
            foreach (var field in message.Fields.InFieldNumberOrder())
            {
                if (field.FieldType == FieldType.String && !Rules.ContainsKey(field.Name))
                    missing.Add(field.FullName);
                if (field.FieldType == FieldType.Message && field.MessageType.FullName != Timestamp.Descriptor.FullName)
                    Walk(field.MessageType);
            }
        }
        foreach (var method in GrpcTransport.ContractServices.SelectMany(s => s.Methods)) Walk(method.InputType);
        return missing;
    }

    /// <summary>The first thing wrong with <paramref name="message"/>, naming the field; null when it may pass.</summary>
    public static string? Check(IMessage message) => Check(message, "");

    private static string? Check(IMessage message, string path)
    {
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            var name = path + field.Name;
            var value = field.Accessor.GetValue(message);
            if (field.IsRepeated)
            {
                var i = 0;
                foreach (var item in (System.Collections.IEnumerable)value)
                {
                    if (CheckValue(field, item, $"{name}[{i++}]") is { } error) return error;
                }
            }
            else if (!field.IsMap && CheckValue(field, value, name) is { } error)
            {
                return error;
            }
        }
        return null;
    }

    private static string? CheckValue(FieldDescriptor field, object? value, string name) => field.FieldType switch
    {
        FieldType.String => CheckString(field, (string)value!, name),
        FieldType.Message when value is Timestamp t => CheckTimestamp(t, name),
        FieldType.Message when value is IMessage m => Check(m, name + "."),
        FieldType.UInt64 or FieldType.Fixed64 when (ulong)value! > long.MaxValue =>
            $"{name} is {value}; the largest value the server accepts is {long.MaxValue}.",
        FieldType.UInt32 or FieldType.Fixed32 when (uint)value! > int.MaxValue =>
            $"{name} is {value}; the largest value the server accepts is {int.MaxValue}.",
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 when (long)value! < 0 => $"{name} is {value}; it may not be negative.",
        FieldType.Enum when !field.EnumType.Values.Any(v => v.Number == Convert.ToInt32(value, CultureInfo.InvariantCulture)) =>
            $"{name} is {Convert.ToInt32(value, CultureInfo.InvariantCulture)}, which is not a value of {field.EnumType.Name}.",
        _ => null,
    };

    private static string? CheckString(FieldDescriptor field, string value, string name)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c < 0x20 && c is not ('\t' or '\n' or '\r'))
            {
                return $"{name} contains the control character U+{(int)c:X4} at index {i}; text may hold tabs and line breaks but no " +
                       $"other control characters.";
            }
        }
        switch (Rules.GetValueOrDefault(field.Name))
        {
            case Text text when Limits.CodePoints(value) is var n && n > text.MaxLength:
                return $"{name} has {n} characters; at most {text.MaxLength} are allowed.";
            case Id id when value.Length == 0 && id.Required:
                return $"{name} is required: {id.Shape}.";
            case Id id when value.Length > 0 && !id.IsValid(value):
                return $"{name} \"{Shorten(value)}\" is not valid: {id.Shape}.";
            case null:
                return $"{name} is not a field the server knows how to check.";
        }
        return null;
    }

    private static string? CheckTimestamp(Timestamp t, string name) =>
        t.Seconds is < -62_135_596_800 or > 253_402_300_799 || t.Nanos is < 0 or > 999_999_999
            ? $"{name} is out of range: seconds must lie within 0001-01-01..9999-12-31 UTC and nanos within 0..999999999."
            : null;

    private static string Shorten(string value) => value.Length <= 60 ? value : value[..60] + "…";

    /// <summary>The protobuf request inside a mediator request (the feature records carry it as their one message property).</summary>
    internal static IMessage? MessageOf(object request) =>
        MessageProperty.GetOrAdd(request.GetType(), t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .FirstOrDefault(p => typeof(IMessage).IsAssignableFrom(p.PropertyType)))?.GetValue(request) as IMessage;

    private static readonly ConcurrentDictionary<System.Type, PropertyInfo?> MessageProperty = new();
}

/// <summary>Runs <see cref="EdgeValidation"/> on every request before its handler: a failure is INVALID_ARGUMENT and nothing is
/// written.</summary>
public sealed class ValidationBehavior<TRequest, TResponse> : IPipelineBehavior<TRequest, TResponse>
{
    public Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        if (request is not null && EdgeValidation.MessageOf(request) is { } message && EdgeValidation.Check(message) is { } error)
        {
            throw ErrorMapping.Invalid(error);
        }
        return next();
    }
}
