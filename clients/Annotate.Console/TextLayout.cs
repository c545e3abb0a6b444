using System.Text;

namespace Annotate.ConsoleApp;

/// <summary>
/// An article's text as code points (the unit of every server offset) word-wrapped to a width.
/// Invariant: lines cover the text in order; a line never holds a line break and is at most
/// <see cref="Width"/> code points long.
/// </summary>
public sealed class TextLayout
{
    public TextLayout(string text, int width)
    {
        Width = Math.Max(10, width);
        Runes = [.. text.EnumerateRunes()];
        var lines = new List<(int Start, int End)>();
        var paragraphStart = 0;
        for (var i = 0; i <= Runes.Length; i++)
        {
            if (i < Runes.Length && Runes[i].Value != '\n') continue;
            Wrap(paragraphStart, i, lines);
            paragraphStart = i + 1;
        }
        Lines = lines;
    }

    public Rune[] Runes { get; }
    public int Width { get; }
    public IReadOnlyList<(int Start, int End)> Lines { get; }

    /// <summary>The line showing code point <paramref name="offset"/> (the last line when past the end).</summary>
    public int LineOf(int offset)
    {
        for (var i = 0; i < Lines.Count; i++)
            if (offset < Lines[i].End || (i + 1 < Lines.Count && offset < Lines[i + 1].Start)) return i;
        return Math.Max(0, Lines.Count - 1);
    }

    public string Slice(int start, int end)
    {
        var sb = new StringBuilder();
        for (var i = start; i < end; i++)
        {
            var r = Runes[i];
            sb.Append(r.Value is '\r' or '\t' ? " " : r.ToString());
        }
        return sb.ToString();
    }

    // Greedy word wrap: break after the last space that fits, or hard-break a word longer than the width.
    private void Wrap(int start, int end, List<(int, int)> lines)
    {
        if (start >= end) { lines.Add((start, start)); return; }
        while (start < end)
        {
            if (end - start <= Width) { lines.Add((start, end)); return; }
            var cut = start + Width;
            var space = cut;
            while (space > start && Runes[space].Value != ' ') space--;
            if (space == start) { lines.Add((start, cut)); start = cut; continue; }
            lines.Add((start, space));
            start = space + 1;
        }
    }
}
