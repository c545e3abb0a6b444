using System.Diagnostics;

namespace Annotate.Postgres;

/// <summary>Locates the PostgreSQL server programs (initdb, pg_ctl, postgres) on this machine.</summary>
public static class PostgresBinaries
{
    public const string InstallHint =
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them " +
        "(Debian/Ubuntu: `sudo apt-get install postgresql`), put their folder on PATH, " +
        "or set Annotate:PostgresBinDir; or point the server at an existing database with " +
        "ConnectionStrings__Annotate.";

    /// <summary>
    /// The folder holding initdb and pg_ctl: an explicit folder, then PATH (links resolved, so the
    /// real folder with `postgres` beside them is used), then `pg_config --bindir`, then the newest
    /// /usr/lib/postgresql/*/bin. Null when none has them.
    /// </summary>
    public static string? Find(string? explicitDir = null)
    {
        foreach (var dir in Candidates(explicitDir))
        {
            if (Has(dir)) return dir;
        }
        return null;
    }

    private static IEnumerable<string> Candidates(string? explicitDir)
    {
        if (!string.IsNullOrWhiteSpace(explicitDir))
        {
            yield return explicitDir;
            yield break; // an explicit choice is not second-guessed
        }
        foreach (
            var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var initdb = Path.Combine(dir, "initdb");
            if (!File.Exists(initdb)) continue;
            var target = new FileInfo(initdb).ResolveLinkTarget(returnFinalTarget: true);
            yield return target is null ? dir : Path.GetDirectoryName(target.FullName)!;
        }
        if (PgConfigBinDir() is { } fromPgConfig) yield return fromPgConfig;
        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            foreach (var version in Directory.GetDirectories(debianRoot)
                         .Select(d => (dir: d, ok: int.TryParse(Path.GetFileName(d), out var v), v))
                         .Where(x => x.ok).OrderByDescending(x => x.v))
            {
                yield return Path.Combine(version.dir, "bin");
            }
        }
    }

    private static bool Has(string dir) =>
        File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")) && File.Exists(Path.Combine(dir, "postgres"));

    private static string? PgConfigBinDir()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("pg_config", "--bindir")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (p is null) return null;
            var output = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 && output.Length > 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // pg_config is not installed
        }
    }
}
