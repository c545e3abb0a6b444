using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Client.Tests;

/// <summary>The CLI's parts that need no server: precedence of settings, exit codes, argument formats, CSV quoting.</summary>
public sealed class CliPureTests
{
    private static readonly CliConfig File = new() { Server = "http://file:1", Token = "file-token" };

    [Fact]
    public void Flags_win_over_environment_over_config_file_over_default()
    {
        var env = new Dictionary<string, string?> { ["ANNOTATE_SERVER"] = "http://env:1", ["ANNOTATE_TOKEN"] = "env-token" };

        Assert.Equal(("http://flag:1", "flag-token"), CliConfig.Resolve("http://flag:1", "flag-token", env, File));
        Assert.Equal(("http://env:1", "env-token"), CliConfig.Resolve(null, null, env, File));
        Assert.Equal(("http://file:1", "file-token"), CliConfig.Resolve(null, null, new Dictionary<string, string?>(), File));
        Assert.Equal(
            ("http://127.0.0.1:50051", (string?)null),
            CliConfig.Resolve(null, null, new Dictionary<string, string?>(), new CliConfig()));
    }

    [Fact]
    public void Config_lives_under_XDG_CONFIG_HOME_else_under_home_dot_config()
    {
        Assert.Equal(
            "/x/annotate/config.json",
            CliConfig.FilePath(new Dictionary<string, string?> { ["XDG_CONFIG_HOME"] = "/x", ["HOME"] = "/h" }));
        Assert.Equal("/h/.config/annotate/config.json", CliConfig.FilePath(new Dictionary<string, string?> { ["HOME"] = "/h" }));
    }

    [Theory]
    [InlineData(StatusCode.OK, 0)]
    [InlineData(StatusCode.InvalidArgument, 2)]
    [InlineData(StatusCode.NotFound, 3)]
    [InlineData(StatusCode.Unauthenticated, 4)]
    [InlineData(StatusCode.PermissionDenied, 4)]
    [InlineData(StatusCode.Unavailable, 5)]
    [InlineData(StatusCode.Aborted, 6)]
    [InlineData(StatusCode.FailedPrecondition, 6)]
    [InlineData(StatusCode.AlreadyExists, 6)]
    [InlineData(StatusCode.Internal, 1)]
    public void Status_codes_map_to_the_documented_exit_codes(StatusCode code, int exit) => Assert.Equal(exit, ExitCodes.For(code));

    [Fact]
    public void Evidence_is_a_position_range_or_a_quote_in_a_named_article()
    {
        var range = Parsing.Evidence("kazakhstan-concerned-about-invasion:276-292");
        var quote = Parsing.Evidence("kazakhstan-concerned-about-invasion:about 20 percent: roughly");

        Assert.Equal(new TextPosition { Start = 276, End = 292 }, range.Selector.Position);
        Assert.Equal("kazakhstan-concerned-about-invasion", quote.ArticleId);
        Assert.Equal("about 20 percent: roughly", quote.Selector.Quote.Exact);
        Assert.Throws<UsageException>(() => Parsing.Evidence("no-colon"));
    }

    [Fact]
    public void As_of_is_a_position_when_numeric_else_a_time()
    {
        Assert.Equal(42UL, Parsing.AsOf("42")!.Position);
        Assert.Equal(
            new DateTimeOffset(2026, 11, 21, 23, 0, 0, TimeSpan.Zero),
            Parsing.AsOf("2026-11-21T23:00:00Z")!.Time.ToDateTimeOffset());
        Assert.Null(Parsing.AsOf(null));
        Assert.Throws<UsageException>(() => Parsing.AsOf("yesterday-ish"));
    }

    [Fact]
    public void Receipts_are_position_colon_hash()
    {
        Assert.Equal(new Receipt { Position = 7, Hash = "abc" }, Parsing.Receipt("7:abc"));
        Assert.Throws<UsageException>(() => Parsing.Receipt("abc"));
    }

    [Fact]
    public void A_published_head_is_the_line_audit_head_prints_or_position_colon_link()
    {
        var link = new string('a', 63) + "B";
        Assert.Equal((97UL, link.ToLowerInvariant(), "2026-11-29T05:56:43.123456Z"),
            Parsing.Head($"annotate-head 97 {link} 2026-11-29T05:56:43.123456Z"));
        Assert.Equal((97UL, link.ToLowerInvariant(), null), Parsing.Head($"97:{link}"));
        Assert.Throws<UsageException>(() => Parsing.Head("97:abc"));
        Assert.Throws<UsageException>(() => Parsing.Head($"annotate-head x {link}"));
    }

    [Fact]
    public void Enum_names_read_as_people_write_them()
    {
        Assert.Equal(Stance.NeedsContext, Parsing.Stance("needs-context"));
        Assert.Equal("needs-context", Parsing.Name(Stance.NeedsContext));
        Assert.Equal(ClaimStatus.NeedsContext, Parsing.Status("needs_context"));
        Assert.Equal("adjudicator", Parsing.Name(Role.Adjudicator));
        Assert.Throws<UsageException>(() => Parsing.Stance("maybe"));
    }

    [Fact]
    public void Csv_fields_with_commas_quotes_or_line_breaks_are_quoted()
    {
        Assert.Equal("plain", Exporters.Field("plain"));
        Assert.Equal("\"a, b\"", Exporters.Field("a, b"));
        Assert.Equal("\"say \"\"hi\"\"\"", Exporters.Field("say \"hi\""));
        Assert.Equal("\"two\nlines\"", Exporters.Field("two\nlines"));
    }
}
