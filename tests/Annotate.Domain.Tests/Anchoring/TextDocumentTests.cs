using Annotate.Domain.Anchoring;

namespace Annotate.Domain.Tests.Anchoring;

public sealed class TextDocumentTests
{
    [Fact]
    public void Length_counts_a_surrogate_pair_as_one_code_point()
    {
        var doc = new TextDocument("a😀b");
        Assert.Equal(4, doc.Text.Length);
        Assert.Equal(3, doc.Length);
    }

    [Fact]
    public void Code_point_and_utf16_indices_map_both_ways_around_astral_characters()
    {
        var doc = new TextDocument("x😀y😀z");
        int[] expectedUtf16 = [0, 1, 3, 4, 6, 7];
        for (var cp = 0; cp <= doc.Length; cp++)
        {
            Assert.Equal(expectedUtf16[cp], doc.ToUtf16Index(cp));
            Assert.Equal(cp, doc.ToCodePointIndex(expectedUtf16[cp]));
        }

        Assert.Equal(1, doc.ToCodePointIndex(2)); // inside the first pair
    }

    [Fact]
    public void Slice_takes_code_points_not_utf16_units()
    {
        var doc = new TextDocument("x😀y");
        Assert.Equal("😀", doc.Slice(1, 2));
        Assert.Equal("😀y", doc.Slice(1, 3));
    }

    [Fact]
    public void Text_without_surrogates_maps_indices_to_themselves()
    {
        var doc = new TextDocument("plain text");
        Assert.Equal(10, doc.Length);
        Assert.Equal(7, doc.ToUtf16Index(7));
        Assert.Equal(7, doc.ToCodePointIndex(7));
    }

    [Fact]
    public void Lone_surrogate_counts_as_one_code_point_like_python()
    {
        var doc = new TextDocument("a\uD800b");
        Assert.Equal(3, doc.Length);
        Assert.Equal("b", doc.Slice(2, 3));
    }

    [Fact]
    public void Seed_lengths_are_code_point_counts()
    {
        foreach (var id in Seeds.Ids)
        {
            var text = Seeds.Text(id);
            var doc = new TextDocument(text);
            Assert.Equal(text.EnumerateRunes().Count(), doc.Length);
        }
    }
}
