using System.Text.Json;
using System.Text.Json.Serialization;
using Annotate.Client;

namespace Annotate.Cli.Infrastructure;

/// <summary>What <c>annotate login</c> stores: $XDG_CONFIG_HOME/annotate/config.json (default ~/.config), mode 0600.</summary>
public sealed record CliConfig
{
    [JsonPropertyName("server")] public string? Server { get; init; }
    [JsonPropertyName("token")] public string? Token { get; init; }

    public static string FilePath(IReadOnlyDictionary<string, string?> environment)
    {
        var xdg = environment.GetValueOrDefault("XDG_CONFIG_HOME");
        var root = !string.IsNullOrEmpty(xdg)
            ? xdg
            : Path.Combine(
                environment.GetValueOrDefault("HOME") is { Length: > 0 } home
                    ? home
                    : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
                ".config");
        return Path.Combine(root, "annotate", "config.json");
    }

    public static CliConfig Load(string path)
    {
        if (!File.Exists(path)) return new CliConfig();
        try
        {
            return JsonSerializer.Deserialize<CliConfig>(File.ReadAllText(path)) ?? new CliConfig();
        }
        catch (JsonException e)
        {
            throw new UsageException($"cannot read {path}: {e.Message} (fix or delete it, then run `annotate login`)");
        }
    }

    /// <summary>Writes the file readable by its owner only (it holds a bearer secret), created so from the start.</summary>
    public void Save(string path)
    {
        var dir = Path.GetDirectoryName(path)!;
        var json = JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true });
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(path, json); // the profile folder's ACL already limits access
            return;
        }
        if (!Directory.Exists(dir))
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var writer = new StreamWriter(new FileStream(path, options))) writer.Write(json);
        // An existing file keeps its old mode on open: tighten it too.
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>Server and token by precedence: flag, then environment (ANNOTATE_SERVER/ANNOTATE_TOKEN), then this file, then the
    /// default.</summary>
    public static (string Server, string? Token) Resolve(
        string? serverFlag,
        string? tokenFlag,
        IReadOnlyDictionary<string, string?> environment,
        CliConfig file)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(file);
        var server =
            First(serverFlag, environment.GetValueOrDefault("ANNOTATE_SERVER"), file.Server) ?? AnnotateClientOptions.DefaultAddress;
        var token = First(tokenFlag, environment.GetValueOrDefault("ANNOTATE_TOKEN"), file.Token);
        return (server, token);
    }

    private static string? First(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v))?.Trim();
}
