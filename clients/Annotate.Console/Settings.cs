using System.Text.Json;

namespace Annotate.ConsoleApp;

/// <summary>
/// Where to connect and as whom. Precedence, as in the CLI: command-line flags, then
/// ANNOTATE_SERVER / ANNOTATE_TOKEN, then $XDG_CONFIG_HOME/annotate/config.json, then the default address.
/// </summary>
public sealed record Settings(string Server, string? Token, string? ArticleId)
{
    public const string DefaultServer = "http://127.0.0.1:50051";

    public static Settings Resolve(IReadOnlyList<string> args)
    {
        string? server = null, token = null, article = null;
        for (var i = 0; i < args.Count; i++)
        {
            string Next() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--server": server = Next(); break;
                case "--token": token = Next(); break;
                case "--article": article = Next(); break;
                default: throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }
        var file = ReadConfigFile();
        server ??= NonEmpty(Environment.GetEnvironmentVariable("ANNOTATE_SERVER")) ?? file.Server ?? DefaultServer;
        token ??= NonEmpty(Environment.GetEnvironmentVariable("ANNOTATE_TOKEN")) ?? file.Token;
        return new Settings(server, token, article);
    }

    public static string ConfigPath()
    {
        var home = NonEmpty(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME"))
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(home, "annotate", "config.json");
    }

    private static (string? Server, string? Token) ReadConfigFile()
    {
        var path = ConfigPath();
        if (!File.Exists(path)) return (null, null);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        string? Get(string name) =>
            doc.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? NonEmpty(v.GetString()) : null;
        return (Get("server"), Get("token"));
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
