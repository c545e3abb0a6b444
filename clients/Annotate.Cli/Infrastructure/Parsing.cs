using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Annotate.Contracts.V1;
using Google.Protobuf.WellKnownTypes;

namespace Annotate.Cli.Infrastructure;

/// <summary>
/// A span given on the command line: <c>--quote "..." [--prefix ..] [--suffix ..]</c> or <c>--start N --end N</c>
/// (code points, end exclusive), or both (the server checks they agree).
/// </summary>
public sealed class SelectorOptions
{
    public Option<string?> Quote { get; } = new("--quote") { Description = "The exact text of the span" };
    public Option<string?> Prefix { get; } =
        new("--prefix") { Description = "Text right before the quote (to pick one of several matches)" };
    public Option<string?> Suffix { get; } =
        new("--suffix") { Description = "Text right after the quote (to pick one of several matches)" };
    public Option<uint?> Start { get; } = new("--start") { Description = "First code point of the span (0-based)" };
    public Option<uint?> End { get; } = new("--end") { Description = "Code point after the span (exclusive)" };

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Add(Quote);
        command.Add(Prefix);
        command.Add(Suffix);
        command.Add(Start);
        command.Add(End);
    }

    public Selector Build(Invocation inv)
    {
        ArgumentNullException.ThrowIfNull(inv);
        var selector = new Selector();
        var (start, end) = (inv.Get(Start), inv.Get(End));
        if (start is not null || end is not null)
        {
            if (start is null || end is null) throw new UsageException("give both --start and --end");
            selector.Position = new TextPosition { Start = start.Value, End = end.Value };
        }
        if (inv.Get(Quote) is { } quote)
        {
            selector.Quote = new TextQuote { Exact = quote, Prefix = inv.Get(Prefix) ?? "", Suffix = inv.Get(Suffix) ?? "" };
        }
        else if (inv.Get(Prefix) is not null || inv.Get(Suffix) is not null)
        {
            throw new UsageException("--prefix and --suffix need --quote");
        }
        if (selector.Position is null && selector.Quote is null)
            throw new UsageException("give the span: --quote \"...\" or --start N --end N");
        return selector;
    }
}

public static partial class Parsing
{
    /// <summary>A moment of the history: a global position (digits) or a time (ISO 8601, e.g. 2026-11-21T23:00:00Z).</summary>
    public static AsOf? AsOf(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        return ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var position)
            ? new AsOf { Position = position }
            : new AsOf { Time = Time(value) };
    }

    public static Timestamp Time(string value)
    {
        if (!DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
            throw new UsageException($"'{value}' is neither a position nor a time (use e.g. 42 or 2026-11-21T23:00:00Z)");
        return Timestamp.FromDateTimeOffset(time);
    }

    public static Stance Stance(string value) => Normalize(value) switch
    {
        "supports" or "support" => Contracts.V1.Stance.Supports,
        "refutes" or "refute" or "disputes" => Contracts.V1.Stance.Refutes,
        "needs-context" or "context" => Contracts.V1.Stance.NeedsContext,
        "unverifiable" => Contracts.V1.Stance.Unverifiable,
        _ => throw new UsageException($"unknown stance '{value}' (use supports, refutes, needs-context or unverifiable)"),
    };

    public static Role Role(string value) => Normalize(value) switch
    {
        "analyst" => Contracts.V1.Role.Analyst,
        "adjudicator" => Contracts.V1.Role.Adjudicator,
        "auditor" => Contracts.V1.Role.Auditor,
        "admin" => Contracts.V1.Role.Admin,
        _ => throw new UsageException($"unknown role '{value}' (use analyst, adjudicator, auditor or admin)"),
    };

    public static ClaimStatus Status(string value) =>
        System.Enum.TryParse<ClaimStatus>(Normalize(value).Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var s)
        && s != ClaimStatus.Unspecified
            ? s
            : throw new UsageException(
                $"unknown status '{value}' (use pending, supported, refuted, needs-context, unverifiable, contested or adjudicated)");

    /// <summary>Evidence as <c>ARTICLE:START-END</c> (code points) or <c>ARTICLE:quoted text</c>.</summary>
    public static ArticleSpan Evidence(string value)
    {
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == value.Length - 1)
            throw new UsageException($"evidence '{value}' must be ARTICLE:START-END or ARTICLE:quoted text");
        var (article, span) = (value[..colon], value[(colon + 1)..]);
        var range = RangePattern().Match(span);
        var selector = range.Success
            ? new Selector
            {
                Position = new TextPosition
                {
                    Start = uint.Parse(range.Groups[1].Value, CultureInfo.InvariantCulture),
                    End = uint.Parse(range.Groups[2].Value, CultureInfo.InvariantCulture),
                },
            }
            : new Selector { Quote = new TextQuote { Exact = span } };
        return new ArticleSpan { ArticleId = article, Selector = selector };
    }

    /// <summary>A receipt as <c>POSITION:HASH</c>, as `annotate` prints after each command.</summary>
    public static Receipt Receipt(string value)
    {
        var parts = value.Split(':', 2);
        if (
            parts.Length != 2
            || !ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var position)
            || parts[1].Length == 0)
        {
            throw new UsageException($"receipt '{value}' must be POSITION:HASH");
        }

        return new Receipt { Position = position, Hash = parts[1].Trim() };
    }

    /// <summary>
    /// A published head: the line `annotate audit head` prints ("annotate-head POSITION LINK TIME"), or POSITION:LINK. The link
    /// is 64 hex digits; the time, when given, is kept as written (the chain's form).
    /// </summary>
    public static (ulong Position, string Link, string? Time)? Head(string value)
    {
        var words = value.Split([' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);
        string[] fields = words is ["annotate-head", .. var rest] ? rest : words.Length == 1 ? value.Trim().Split(':', 2) : [];
        if (
            fields.Length is < 2 or > 3
            || !ulong.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var position)
            || fields[1].Length != 64
            || !fields[1].All(Uri.IsHexDigit))
        {
            throw new UsageException($"head '{value}' must be the line `annotate audit head` prints, or POSITION:LINK (64 hex digits)");
        }
        return (position, fields[1].ToLowerInvariant(), fields.Length == 3 ? fields[2] : null);
    }

    /// <summary>Enum names for people: STANCE_NEEDS_CONTEXT is "needs-context".</summary>
    public static string Name(System.Enum value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var name =
            Google
                .Protobuf.Reflection.OriginalNameAttribute.GetCustomAttributes(
                    value.GetType().GetField(value.ToString())!,
                    typeof(Google.Protobuf.Reflection.OriginalNameAttribute),
                    false)
                .OfType<Google.Protobuf.Reflection.OriginalNameAttribute>()
                .FirstOrDefault()
                ?.Name
            ?? value.ToString();
        var prefixEnd = value switch
        {
            Contracts.V1.Stance => "STANCE_".Length,
            ClaimStatus => "CLAIM_STATUS_".Length,
            Contracts.V1.Role => "ROLE_".Length,
            ReanchorMethod => "REANCHOR_METHOD_".Length,
            AnchorStatus => "ANCHOR_STATUS_".Length,
            AnchorKind => "ANCHOR_KIND_".Length,
            _ => 0,
        };
        return name[prefixEnd..].ToLowerInvariant().Replace('_', '-');
    }

    private static string Normalize(string value) => value.Trim().ToLowerInvariant().Replace('_', '-');

    [GeneratedRegex(@"^(\d+)-(\d+)$")]
    private static partial Regex RangePattern();
}
