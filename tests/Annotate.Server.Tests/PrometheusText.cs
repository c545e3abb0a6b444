using System.Globalization;
using System.Text;

namespace Annotate.Server.Tests;

/// <summary>
/// A scrape in Prometheus text format (version 0.0.4), parsed strictly: every line is a comment (# HELP, # TYPE, other)
/// or a sample <c>name{label="value",...} value [timestamp]</c>; anything else fails the parse, so a malformed exposition
/// fails the test that reads it.
/// </summary>
internal sealed class PrometheusText
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    private PrometheusText(string text, IReadOnlyList<Sample> samples, IReadOnlyDictionary<string, string> types)
    {
        Text = text;
        Samples = samples;
        Types = types;
    }

    public string Text { get; }
    public IReadOnlyList<Sample> Samples { get; }

    /// <summary>Metric family name to its # TYPE (counter, gauge, histogram, ...).</summary>
    public IReadOnlyDictionary<string, string> Types { get; }

    /// <summary>The sum of the samples named <paramref name="name"/> that carry every label of <paramref name="labels"/>; 0 when none
    /// does.</summary>
    public double Value(string name, params (string Key, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Sum(s => s.Value);

    public static PrometheusText Parse(string text)
    {
        var samples = new List<Sample>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4);
                if (parts is ["#", "TYPE", var family, var type]) types[family] = type;
                continue;
            }
            samples.Add(ParseSample(line));
        }
        return new PrometheusText(text, samples, types);
    }

    private static Sample ParseSample(string line)
    {
        var at = 0;
        while (at < line.Length && (char.IsAsciiLetterOrDigit(line[at]) || line[at] is '_' or ':')) at++;
        if (at == 0) throw new FormatException($"No metric name: {line}");
        var name = line[..at];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (at < line.Length && line[at] == '{')
        {
            at++;
            while (line[at] != '}')
            {
                var eq = line.IndexOf('=', at);
                var key = line[at..eq];
                if (line[eq + 1] != '"') throw new FormatException($"Unquoted label value: {line}");
                var value = new StringBuilder();
                at = eq + 2;
                for (; line[at] != '"'; at++)
                {
                    if (line[at] == '\\')
                    {
                        at++;
                        value.Append(line[at] == 'n' ? '\n' : line[at]);
                    }
                    else
                    {
                        value.Append(line[at]);
                    }
                }
                labels[key] = value.ToString();
                at++;
                if (line[at] == ',') at++;
            }
            at++;
        }
        var rest = line[at..].Trim().Split(' ');
        if (rest.Length is < 1 or > 2) throw new FormatException($"Not a sample: {line}");
        var number = rest[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
        return new Sample(name, labels, number);
    }
}
