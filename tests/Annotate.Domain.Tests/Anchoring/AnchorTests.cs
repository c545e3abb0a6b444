using Annotate.Domain.Anchoring;
using Annotate.Domain.Errors;

namespace Annotate.Domain.Tests.Anchoring;

public sealed class AnchorTests
{
    private static ResolvedAnchor Ok(TextDocument doc, Selector selector)
    {
        var result = Anchor.Resolve(doc, selector);
        Assert.True(result.IsOk, result.Error?.Message);
        return result.Value;
    }

    private static DomainError Fails(TextDocument doc, Selector selector)
    {
        var result = Anchor.Resolve(doc, selector);
        Assert.False(result.IsOk, "expected a refusal, got " + result);
        return result.Error;
    }

    [Fact]
    public void Position_resolves_to_exact_text_and_context()
    {
        var doc = new TextDocument("The quick brown fox jumps over the lazy dog.");
        var a = Ok(doc, Selector.AtPosition(10, 15));
        Assert.Equal("brown", a.Exact);
        Assert.Equal("The quick ", a.Prefix);
        Assert.Equal(" fox jumps over the lazy dog.", a.Suffix);
    }

    [Fact]
    public void Context_is_bounded_to_32_code_points_each_side()
    {
        var doc = new TextDocument(new string('a', 100) + "X" + new string('b', 100));
        var a = Ok(doc, Selector.ForQuote("X"));
        Assert.Equal(100, a.Start);
        Assert.Equal(32, a.Prefix.Length);
        Assert.Equal(32, a.Suffix.Length);
    }

    [Fact]
    public void Positions_count_code_points_so_emoji_before_a_quote_shift_it_by_one()
    {
        var doc = new TextDocument("😀😀 target");
        var a = Ok(doc, Selector.ForQuote("target"));
        Assert.Equal(3, a.Start);
        Assert.Equal(9, a.End);
        Assert.Equal("target", Ok(doc, Selector.AtPosition(3, 9)).Exact);
    }

    [Fact]
    public void Empty_span_is_refused()
    {
        var e = Fails(new TextDocument("abc"), Selector.AtPosition(1, 1));
        Assert.Equal(DomainErrorKind.Invalid, e.Kind);
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void Reversed_span_is_refused()
    {
        var e = Fails(new TextDocument("abc"), Selector.AtPosition(2, 1));
        Assert.Equal(DomainErrorKind.Invalid, e.Kind);
        Assert.Contains("reversed", e.Message);
    }

    [Fact]
    public void Span_past_the_end_is_refused_naming_the_length()
    {
        var e = Fails(new TextDocument("a😀c"), Selector.AtPosition(1, 4));
        Assert.Equal(DomainErrorKind.Invalid, e.Kind);
        Assert.Contains("3 code points", e.Message);
    }

    [Fact]
    public void Negative_position_is_refused()
    {
        Assert.Equal(DomainErrorKind.Invalid, Fails(new TextDocument("abc"), Selector.AtPosition(-1, 2)).Kind);
    }

    [Fact]
    public void Selector_without_position_or_quote_is_refused()
    {
        Assert.Equal(DomainErrorKind.Invalid, Fails(new TextDocument("abc"), new Selector(null, null)).Kind);
    }

    [Fact]
    public void Blank_quote_is_refused()
    {
        Assert.Equal(DomainErrorKind.Invalid, Fails(new TextDocument("a b"), Selector.ForQuote("  ")).Kind);
    }

    [Fact]
    public void Empty_exact_counts_as_no_quote_so_a_position_with_proto_defaults_resolves()
    {
        var doc = new TextDocument("alpha beta");
        Assert.Equal("beta", Ok(doc, Selector.Both(6, 10, "", "", "")).Exact);
        Assert.Equal(DomainErrorKind.Invalid, Fails(doc, new Selector(null, new TextQuote("", "alpha", ""))).Kind);
    }

    [Fact]
    public void Quote_that_does_not_occur_is_invalid()
    {
        var e = Fails(new TextDocument("alpha beta"), Selector.ForQuote("gamma"));
        Assert.Equal(DomainErrorKind.Invalid, e.Kind);
        Assert.Contains("gamma", e.Message);
    }

    [Fact]
    public void Ambiguous_quote_is_refused_naming_every_place_and_how_to_choose()
    {
        var doc = new TextDocument("one cat, two cat, three cat");
        var e = Fails(doc, Selector.ForQuote("cat"));
        Assert.Equal(DomainErrorKind.Invalid, e.Kind);
        Assert.Contains("matches at 3 places (code points 4, 13, 24)", e.Message);
        Assert.Contains("quote.prefix/quote.suffix or a position", e.Message);
    }

    [Fact]
    public void Prefix_chooses_among_repeated_quotes()
    {
        var doc = new TextDocument("one cat, two cat, three cat");
        Assert.Equal(13, Ok(doc, Selector.ForQuote("cat", prefix: "two ")).Start);
    }

    [Fact]
    public void Suffix_chooses_among_repeated_quotes_with_whitespace_tolerance()
    {
        var doc = new TextDocument("cat\nsat. cat ran. cat sat again");
        var a = Ok(doc, Selector.ForQuote("cat", suffix: "   ran"));
        Assert.Equal(9, a.Start);
    }

    [Fact]
    public void Candidate_matching_both_prefix_and_suffix_is_preferred_over_one_matching_either()
    {
        var doc = new TextDocument("a x b. a x c. d x b.");
        var a = Ok(doc, Selector.ForQuote("x", prefix: "d", suffix: "b"));
        Assert.Equal(16, a.Start);
    }

    [Fact]
    public void Context_that_matches_no_candidate_leaves_the_quote_ambiguous()
    {
        var doc = new TextDocument("one cat, two cat");
        var e = Fails(doc, Selector.ForQuote("cat", prefix: "seven"));
        Assert.Contains("matches at 2 places", e.Message);
        Assert.Contains("longer quote.prefix/quote.suffix", e.Message);
    }

    [Fact]
    public void Quote_matches_across_a_line_break_and_runs_of_spaces()
    {
        var doc = new TextDocument("it is a  large\r\n  \tRussian majority here");
        var a = Ok(doc, Selector.ForQuote("large Russian majority"));
        Assert.Equal("large\r\n  \tRussian majority", a.Exact);
        Assert.Equal(9, a.Start);
    }

    [Fact]
    public void Quote_with_non_breaking_and_thin_spaces_matches_plain_spaces()
    {
        var doc = new TextDocument("about 20 percent of people");
        Assert.Equal(0, Ok(doc, Selector.ForQuote("about\u00A020\u2009percent")).Start);
    }

    [Fact]
    public void Typographic_quotes_match_straight_ones_and_back()
    {
        var doc = new TextDocument("He said: “it’s over” and left.");
        Assert.Equal("“it’s over”", Ok(doc, Selector.ForQuote("\"it's over\"")).Exact);
        var straight = new TextDocument("He said: \"it's over\" and left.");
        Assert.Equal("\"it's over\"", Ok(straight, Selector.ForQuote("„it‘s over“")).Exact);
    }

    [Fact]
    public void Dashes_and_minus_signs_match_a_hyphen()
    {
        var doc = new TextDocument("War in Ukraine – Analysis, 1990—2000, −5");
        Assert.Equal("Ukraine – Analysis", Ok(doc, Selector.ForQuote("Ukraine - Analysis")).Exact);
        Assert.Equal("1990—2000", Ok(doc, Selector.ForQuote("1990-2000")).Exact);
        Assert.Equal("−5", Ok(doc, Selector.ForQuote("-5")).Exact);
    }

    [Fact]
    public void Quote_is_case_sensitive()
    {
        Assert.Equal(DomainErrorKind.Invalid, Fails(new TextDocument("Russian"), Selector.ForQuote("russian")).Kind);
    }

    [Fact]
    public void Position_and_quote_that_agree_resolve()
    {
        var doc = new TextDocument("large\nRussian majority");
        var a = Ok(doc, Selector.Both(0, 22, "large Russian majority", prefix: null, suffix: null));
        Assert.Equal("large\nRussian majority", a.Exact);
    }

    [Fact]
    public void Position_and_quote_that_disagree_are_refused_showing_both()
    {
        var doc = new TextDocument("alpha beta gamma");
        var e = Fails(doc, Selector.Both(0, 5, "beta"));
        Assert.Equal(DomainErrorKind.Invalid, e.Kind);
        Assert.Contains("\"alpha\"", e.Message);
        Assert.Contains("\"beta\"", e.Message);
    }

    [Fact]
    public void Position_with_a_prefix_that_does_not_precede_it_is_refused()
    {
        var doc = new TextDocument("one cat, two cat");
        Assert.Equal(DomainErrorKind.Invalid, Fails(doc, Selector.Both(13, 16, "cat", prefix: "one ")).Kind);
        Assert.Equal(13, Ok(doc, Selector.Both(13, 16, "cat", prefix: "two ")).Start);
    }

    [Fact]
    public void Seed_claim_quoted_on_one_line_resolves_across_the_line_break_in_seed_003()
    {
        var doc = Seeds.Document(Seeds.KazakhstanClaimArticle);
        var a = Ok(doc, Selector.ForQuote("Kazakhstan has a large Russian majority"));
        Assert.Equal("Kazakhstan has a large\nRussian majority", a.Exact);
        Assert.Equal(a.Exact, doc.Slice(a.Start, a.End));
        Assert.EndsWith("Though ", a.Prefix);
        Assert.Equal(a, Ok(doc, Selector.AtPosition(a.Start, a.End)));
    }

    [Fact]
    public void Seed_title_with_curly_quotes_and_a_line_break_matches_a_typed_straight_quote()
    {
        var doc = Seeds.Document(Seeds.KazakhstanClaimArticle);
        var a = Ok(doc, Selector.ForQuote("\"Russia's Involvement in Kazakhstan's Crisis"));
        Assert.Equal("“Russia’s Involvement in\nKazakhstan’s Crisis", a.Exact);
    }

    [Fact]
    public void Seed_positions_equal_what_python_str_indexing_gives()
    {
        // Reference offsets computed with Python 3 (str.find on the seed files read as UTF-8).
        Assert.Equal((3833, 3872), Span(Seeds.Document(Seeds.KazakhstanClaimArticle), "Kazakhstan has a large Russian majority"));
        Assert.Equal((276, 292), Span(Seeds.Document(Seeds.TwentyPercentArticle), "about 20 percent"));

        // Astral characters in front shift code point offsets by one each (UTF-16 offsets would shift by two).
        var shifted = new TextDocument("🇰🇿📰" + Seeds.Text(Seeds.TwentyPercentArticle));
        Assert.Equal((279, 295), Span(shifted, "about 20 percent")); // a flag is two code points
    }

    private static (int, int) Span(TextDocument doc, string quote)
    {
        var a = Ok(doc, Selector.ForQuote(quote));
        return (a.Start, a.End);
    }

    [Fact]
    public void Seed_evidence_about_20_percent_resolves_uniquely_in_seed_002()
    {
        var doc = Seeds.Document(Seeds.TwentyPercentArticle);
        var a = Ok(doc, Selector.ForQuote("about 20 percent"));
        Assert.Equal("about 20 percent", a.Exact);
        Assert.Contains("Russian minority makes up", a.Prefix);
    }

    [Fact]
    public void Seed_word_that_repeats_is_ambiguous_and_a_position_from_the_message_resolves_it()
    {
        var doc = Seeds.Document(Seeds.KazakhstanClaimArticle);
        var e = Fails(doc, Selector.ForQuote("Kazakhstan"));
        Assert.Matches(@"matches at \d+ places \(code points \d+, \d+", e.Message);
        var first = int.Parse(
            System.Text.RegularExpressions.Regex.Match(e.Message, @"code points (\d+)").Groups[1].Value,
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal("Kazakhstan", Ok(doc, Selector.AtPosition(first, first + 10)).Exact);
    }

    [Fact]
    public void Verbatim_repeated_passage_stays_ambiguous_even_with_full_context()
    {
        var doc = Seeds.Document("004_d2684910a933ddee");
        var e = Fails(doc, Selector.ForQuote("such an intervention occurred in Kazakhstan", prefix: "this week", suffix: ", in which"));
        Assert.Contains("matches at 2 places", e.Message);
    }

    [Fact]
    public void Every_seed_sentence_round_trips_through_quote_and_position()
    {
        foreach (var id in Seeds.Ids)
        {
            var doc = Seeds.Document(id);
            // take 40-code-point windows at a few offsets; a quote resolved with its context must land on the same span
            for (var start = 0; start + 40 <= doc.Length; start += 997)
            {
                var byPosition = Ok(doc, Selector.AtPosition(start, start + 40));
                if (string.IsNullOrWhiteSpace(byPosition.Exact))
                {
                    continue;
                }

                var byQuote = Anchor.Resolve(doc, Selector.ForQuote(byPosition.Exact, byPosition.Prefix, byPosition.Suffix));
                if (byQuote.IsOk)
                {
                    Assert.Equal(byPosition, byQuote.Value);
                }
                else
                {
                    // seed 004 repeats a paragraph verbatim: then the place must be among those listed
                    Assert.Matches($@"code points [\d, ]*\b{start}\b", byQuote.Error.Message);
                }
            }
        }
    }
}
