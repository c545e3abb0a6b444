namespace Annotate.EventStore.Tests;

// Small event records of the tests, each mapped in Marten's event graph under the stored name in TestEvents.Names.
public sealed record ThingHappened(int N);
public sealed record ClaimOpened(int N);
public sealed record HighlightMade(int N);
public sealed record StanceTaken(int N);
public sealed record RareThing(int N);
public sealed record CommonThing(int N);
public sealed record AThing(int N);
public sealed record BThing(int N);
public sealed record Tallied(int V);
public sealed record Closed(int N);
public sealed record Ignored(int N);
public sealed record NoteWritten(string Text);

/// <summary>An event record whose type no test maps: Marten's event graph does not know it by any stored name.</summary>
public sealed record NeverMapped(int N);

/// <summary>The test event types and their stored names, and a factory by stored name (the tests speak in stored names).</summary>
internal static class TestEvents
{
    public static readonly IReadOnlyList<(Type Type, string Name, Func<int, object> Make)> Mapped =
    [
        (typeof(ThingHappened), "thing-happened.v1", i => new ThingHappened(i)),
        (typeof(ClaimOpened), "claim-opened.v1", i => new ClaimOpened(i)),
        (typeof(HighlightMade), "highlight-made.v1", i => new HighlightMade(i)),
        (typeof(StanceTaken), "stance-taken.v1", i => new StanceTaken(i)),
        (typeof(RareThing), "rare.v1", i => new RareThing(i)),
        (typeof(CommonThing), "common.v1", i => new CommonThing(i)),
        (typeof(AThing), "a.v1", i => new AThing(i)),
        (typeof(BThing), "b.v1", i => new BThing(i)),
        (typeof(Tallied), "tally.v1", i => new Tallied(i)),
        (typeof(Closed), "close.v1", i => new Closed(i)),
        (typeof(Ignored), "ignored.v1", i => new Ignored(i)),
        (typeof(NoteWritten), "note-written.v1", i => new NoteWritten(i.ToString(System.Globalization.CultureInfo.InvariantCulture))),
    ];

    public static object Make(string name, int i) =>
        Mapped.FirstOrDefault(m => m.Name == name).Make?.Invoke(i) ?? throw new ArgumentException($"no test event is mapped as '{name}'");
}
