using System.Globalization;

namespace Annotate.Cli.Infrastructure;

/// <summary>A one-line progress bar on stderr (only used when stderr is a terminal).</summary>
public sealed class Progress(TextWriter err)
{
    private DateTime _last;

    public void Report(ulong done, ulong? total, string label)
    {
        // Redraw at most ~20 times a second: drawing every event would slow a large replay down.
        var now = DateTime.UtcNow;
        if (now - _last < TimeSpan.FromMilliseconds(50)) return;
        _last = now;
        if (total is { } t && t > 0)
        {
            var share = Math.Min(1.0, (double)done / t);
            var filled = (int)(share * 30);
            err.Write(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"\r[{new string('#', filled)}{new string('.', 30 - filled)}] {share,4:P0} {label}\u001b[K"));
        }
        else
        {
            err.Write($"\r{label}\u001b[K");
        }
    }

    public void Done(string label) => err.WriteLine($"\r{label}\u001b[K");
}
