using System.Collections.Immutable;

namespace Annotate.Domain.Tags;

/// <summary>
/// Which analysts currently apply which tags to one target. Invariants: tag names are normalised; a tag with no
/// analysts is absent; each analyst counts once per tag (support = number of analysts). Immutable.
/// </summary>
public sealed class TagSet
{
    public static TagSet Empty { get; } = new(ImmutableSortedDictionary.Create<string, ImmutableSortedSet<string>>(StringComparer.Ordinal));

    private readonly ImmutableSortedDictionary<string, ImmutableSortedSet<string>> _byTag;

    private TagSet(ImmutableSortedDictionary<string, ImmutableSortedSet<string>> byTag) => _byTag = byTag;

    public bool Has(string tag, string analyst) => _byTag.TryGetValue(tag, out var who) && who.Contains(analyst);

    public TagSet Apply(string tag, string analyst) =>
        new(
            _byTag.SetItem(
                tag,
                (_byTag.TryGetValue(tag, out var who) ? who : ImmutableSortedSet.Create<string>(StringComparer.Ordinal)).Add(analyst)));

    public TagSet Remove(string tag, string analyst)
    {
        if (!_byTag.TryGetValue(tag, out var who))
        {
            return this;
        }

        var rest = who.Remove(analyst);
        return new(rest.IsEmpty ? _byTag.Remove(tag) : _byTag.SetItem(tag, rest));
    }

    /// <summary>Tags with their support, most supported first, then by name (ordinal): a deterministic order.</summary>
    public ValueList<TagSupport> Supports() =>
        _byTag.Select(kv => new TagSupport(kv.Key, kv.Value.Count, kv.Value.ToValueList()))
            .OrderByDescending(t => t.Support).ThenBy(t => t.Tag, StringComparer.Ordinal).ToValueList();

    /// <summary>Tag names in ordinal order.</summary>
    public IEnumerable<string> Names => _byTag.Keys;
}

/// <summary>A tag and how many analysts apply it (and who, in ordinal order).</summary>
public sealed record TagSupport(string Tag, int Support, ValueList<string> Analysts);
