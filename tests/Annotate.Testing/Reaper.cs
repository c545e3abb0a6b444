using System.Diagnostics;

namespace Annotate.Testing;

/// <summary>
/// Cleanup that must happen even when the test host is killed: a detached shell (its own session, so it outlives
/// the host and the runner's process-group kills) waits until this process is gone and then runs a command.
/// </summary>
internal static class Reaper
{
    /// <summary>Runs <paramref name="shellCommand"/> (sh syntax, quoted by the caller) once this process has exited.</summary>
    public static void Start(string shellCommand)
    {
        var script =
            "exec </dev/null >/dev/null 2>&1; " +
            $"while kill -0 {Environment.ProcessId}; do sleep 1; done; " +
            shellCommand;
        var psi = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "sh", "-c", script }) psi.ArgumentList.Add(a);
        using var watcher = Process.Start(psi) ?? throw new InvalidOperationException("Could not start the cleanup watcher.");
        // Its output goes to /dev/null (first line of the script): our ends of its pipes are not needed.
        watcher.StandardInput.Close();
        watcher.StandardOutput.Close();
        watcher.StandardError.Close();
    }
}
