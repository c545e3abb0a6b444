namespace Annotate.Testing;

/// <summary>
/// What the shared fixtures say about the test run (which PostgreSQL, which container and image): one line each,
/// to the test host's standard error and, when ANNOTATE_TEST_LOG names a file, appended to it (CI prints that
/// file, as the test runner does not show a test host's output).
/// </summary>
public static class TestLog
{
    private static readonly object Gate = new();

    public static void Say(string line)
    {
        var stamped = $"[annotate-tests pid {Environment.ProcessId}] {line}";
        lock (Gate)
        {
            Console.Error.WriteLine(stamped);
            if (Environment.GetEnvironmentVariable("ANNOTATE_TEST_LOG") is { Length: > 0 } file)
                File.AppendAllText(file, stamped + Environment.NewLine);
        }
    }
}
