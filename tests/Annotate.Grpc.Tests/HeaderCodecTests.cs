namespace Annotate.Grpc.Tests;

public sealed class HeaderCodecTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("100%", "100%25")]
    [InlineData("héllo ✓", "h%C3%A9llo %E2%9C%93")]
    [InlineData("tab\there", "tab%09here")]
    public void Grpc_message_is_percent_encoded_utf8(string text, string wire)
    {
        Assert.Equal(wire, HeaderCodec.EncodeMessage(text));
        Assert.Equal(text, HeaderCodec.DecodeMessage(wire));
    }

    [Theory]
    [InlineData("a%20b", "a b")]
    [InlineData("bad %zz escape", "bad %zz escape")]
    [InlineData("trailing %", "trailing %")]
    [InlineData("trailing %4", "trailing %4")]
    public void Decoding_accepts_needless_escapes_and_keeps_broken_ones(string wire, string text) =>
        Assert.Equal(text, HeaderCodec.DecodeMessage(wire));

    [Theory]
    [InlineData("AAE", new byte[] { 0, 1 })]
    [InlineData("AAE=", new byte[] { 0, 1 })]
    [InlineData("", new byte[0])]
    public void Binary_values_accept_padded_and_unpadded_base64(string wire, byte[] bytes)
    {
        Assert.True(HeaderCodec.TryDecodeBase64(wire, out var decoded));
        Assert.Equal(bytes, decoded);
    }

    [Theory]
    [InlineData("1H", 3_600_000)]
    [InlineData("2M", 120_000)]
    [InlineData("3S", 3_000)]
    [InlineData("250m", 250)]
    [InlineData("5000u", 5)]
    [InlineData("7000000n", 7)]
    public void Grpc_timeout_units_parse(string wire, int milliseconds)
    {
        Assert.True(HeaderCodec.TryParseTimeout(wire, out var timeout));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), timeout);
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("5x")]
    [InlineData("123456789S")]
    [InlineData("-5S")]
    public void Malformed_grpc_timeout_is_rejected(string wire) =>
        Assert.False(HeaderCodec.TryParseTimeout(wire, out _));

    [Fact]
    public void Timeouts_are_formatted_within_eight_digits()
    {
        Assert.Equal("1500m", HeaderCodec.FormatTimeout(TimeSpan.FromMilliseconds(1500)));
        Assert.Equal("1m", HeaderCodec.FormatTimeout(TimeSpan.FromTicks(1)));
        Assert.Equal("1000000S", HeaderCodec.FormatTimeout(TimeSpan.FromSeconds(1_000_000)));
    }
}
