using System.Text.Json;
using Annotate.Domain.Events;

namespace Annotate.Domain.Tests;

/// <summary>A <see cref="ValueList{T}"/> in the domain's JSON (events and views are stored with it): a plain array both ways,
/// and anything else in the data is refused, never half read.</summary>
public sealed class ValueListJsonTests
{
    private static readonly JsonSerializerOptions Json = EventTypes.JsonOptions;

    private sealed record Holder(ValueList<string> Items, int After);

    private sealed record Nested(ValueList<ValueList<int>> Rows);

    [Fact]
    public void A_list_is_written_as_a_plain_array_and_read_back_equal()
    {
        var stance = new StanceTaken("c1", "bob", Stance.Refutes, "why",
            ValueList.Of(new EvidenceSpan("a2", 1, 5, "abcd"), new EvidenceSpan("a3", 7, 9, "xy")));

        var json = JsonSerializer.Serialize(stance, Json);

        Assert.Contains("\"evidence\":[{\"articleId\":\"a2\",\"start\":1,\"end\":5,\"exact\":\"abcd\"},{\"articleId\":\"a3\"", json,
            StringComparison.Ordinal);
        Assert.Equal(stance, JsonSerializer.Deserialize<StanceTaken>(json, Json));
    }

    [Fact]
    public void Texts_with_quotes_escapes_controls_and_astral_characters_round_trip()
    {
        var items = ValueList.Of("\"quoted\"", "back\\slash", "nul\0and\ttab\nline", "😀 𝔘 emoji", "עברית", "", new string('x', 70_000));

        var back = JsonSerializer.Deserialize<Holder>(JsonSerializer.Serialize(new Holder(items, 7), Json), Json)!;

        Assert.Equal(items, back.Items);
        Assert.Equal(7, back.After);
    }

    [Fact]
    public void Long_and_nested_lists_round_trip_and_what_follows_a_list_is_still_read()
    {
        var long_ = new ValueList<string>(Enumerable.Range(0, 10_000).Select(i => $"item {i}"));
        var nested = new Nested(ValueList.Of(ValueList.Of(1, 2), ValueList<int>.Empty, ValueList.Of(3)));

        Assert.Equal(long_, JsonSerializer.Deserialize<Holder>(JsonSerializer.Serialize(new Holder(long_, 1), Json), Json)!.Items);
        Assert.Equal(nested, JsonSerializer.Deserialize<Nested>(JsonSerializer.Serialize(nested, Json), Json));
        var read = JsonSerializer.Deserialize<Holder>("""{"items":["a",  "b" ],"after":42}""", Json)!;
        Assert.Equal(ValueList.Of("a", "b"), read.Items);
        Assert.Equal(42, read.After);
    }

    [Fact]
    public void An_empty_array_and_null_read_as_the_empty_list()
    {
        Assert.Same(ValueList<string>.Empty, JsonSerializer.Deserialize<Holder>("""{"items":[],"after":1}""", Json)!.Items);
        Assert.Same(ValueList<string>.Empty, JsonSerializer.Deserialize<Holder>("""{"items":null,"after":1}""", Json)!.Items);
        Assert.Same(ValueList<int>.Empty, JsonSerializer.Deserialize<ValueList<int>>("null", Json));
        Assert.Equal("[]", JsonSerializer.Serialize(ValueList<int>.Empty, Json));
    }

    [Theory]
    [InlineData("""{"items":{},"after":1}""")]
    [InlineData("""{"items":"a","after":1}""")]
    [InlineData("""{"items":1,"after":1}""")]
    [InlineData("""{"items":true,"after":1}""")]
    [InlineData("""{"items":[1],"after":1}""")]
    [InlineData("""{"items":[["a"]],"after":1}""")]
    [InlineData("""{"items":[{"a":1}],"after":1}""")]
    [InlineData("""{"items":["a",],"after":1}""")]
    [InlineData("""{"items":["a" "b"],"after":1}""")]
    [InlineData("""{"items":["a","after":1}""")]
    [InlineData("""{"items":["a""")]
    [InlineData("""{"items":[""")]
    [InlineData("""{"items":["a"]]""")]
    public void Data_that_is_not_an_array_of_the_element_type_is_refused(string json)
    {
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<Holder>(json, Json));
    }

    [Fact]
    public void Nesting_deeper_than_the_reader_allows_is_refused()
    {
        var deep = new string('[', 5_000) + new string(']', 5_000);

        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<Nested>($$"""{"rows":{{deep}}}""", Json));
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<ValueList<ValueList<int>>>(deep, Json));
    }

    [Fact]
    public void An_enum_element_outside_the_enum_is_refused()
    {
        Assert.Equal(ValueList.Of(Role.Analyst), JsonSerializer.Deserialize<ValueList<Role>>("""["ANALYST"]""", Json));
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<ValueList<Role>>("""["ROOT"]""", Json));
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<ValueList<Role>>("""[null]""", Json));
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<ValueList<Role>>("""[1]""", Json));
    }
}
