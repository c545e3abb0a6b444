using Annotate.Contracts.V1;
using Annotate.Server.Transport.Decoding;
using Google.Protobuf.WellKnownTypes;

namespace Annotate.Server.Tests;

/// <summary>The wire-format check on its own, for shapes the contract's requests do not all have (maps, packed numbers, groups).</summary>
public sealed class WireCheckTests
{
    [Theory]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61 }, null)] // fields["a"]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0xFF }, "Struct.fields.key: the text is not valid UTF-8")]
    [InlineData(
        new byte[] { 0x0A, 0x07, 0x0A, 0x01, 0x61, 0x12, 0x02, 0x1A, 0x01 },
        "Struct.fields.value.string_value: a length of 1 bytes runs past")]
    [InlineData(
        new byte[] { 0x0A, 0x08, 0x0A, 0x01, 0x61, 0x12, 0x03, 0x1A, 0x01, 0xC0 },
        "Struct.fields.value.string_value: the text is not valid UTF-8")]
    public void Map_keys_and_values_are_checked_as_nested_messages(byte[] data, string? error) =>
        Assert.StartsWith(error ?? "", WireCheck.Validate(data, Struct.Descriptor) ?? "", StringComparison.Ordinal);

    [Theory]
    [InlineData(new byte[] { 0x1A, 0x02, 0x01, 0x02 }, null)] // roles packed
    [InlineData(new byte[] { 0x18, 0x01, 0x18, 0x02 }, null)] // roles unpacked
    [InlineData(new byte[] { 0x1A, 0x01, 0x80 }, "Analyst.roles: the packed numbers end inside a number")]
    [InlineData(new byte[] { 0x0B, 0x08, 0x01, 0x0C }, "Analyst.analyst_id: wire type 3 does not fit a String field")]
    [InlineData(new byte[] { 0x7B, 0x08, 0x01, 0x7C }, null)] // an unknown group (field 15), framed correctly
    [InlineData(new byte[] { 0x7B, 0x08, 0x01 }, "Analyst, field 15: the message ends inside a group")]
    public void Repeated_numbers_may_be_packed_and_unknown_fields_are_checked_for_their_framing(byte[] data, string? error)
    {
        var found = WireCheck.Validate(data, Analyst.Descriptor);
        if (error is null) Assert.Null(found);
        else Assert.StartsWith(error, found ?? "(accepted)", StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(40, true)]
    [InlineData(51, false)]
    public void Nesting_deeper_than_the_parser_allows_is_refused(int pairs, bool accepted)
    {
        // Value { list_value: ListValue { values: Value { list_value: ... } } }: two levels of messages per pair.
        var data = Array.Empty<byte>();
        for (var i = 0; i < pairs; i++) data = Field(0x32, Field(0x0A, data));
        var error = WireCheck.Validate(data, Value.Descriptor);
        if (accepted) Assert.Null(error);
        else Assert.Contains("nested deeper than 100 levels", error, StringComparison.Ordinal);
    }

    private static byte[] Field(byte tag, byte[] payload)
    {
        var length = new List<byte>();
        for (var n = (uint)payload.Length; ; n >>= 7)
        {
            if (n < 0x80) { length.Add((byte)n); break; }
            length.Add((byte)(n | 0x80));
        }
        return [tag, .. length, .. payload];
    }
}
