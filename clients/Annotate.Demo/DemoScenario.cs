using System.Globalization;
using System.Text;
using Annotate.Client;
using Annotate.Contracts.V1;
using Grpc.Core;

namespace Annotate.Demo;

/// <summary>
/// `annotate demo`: three analysts and an adjudicator work through real claims of the seed articles,
/// narrating every step and the consensus views that result. Safe to run again on the same server:
/// existing analysts are reused (with a fresh token), claims already covering a span are returned by
/// the server, an adjudicated claim is reopened before the replay, highlights of the same author and
/// quote are reused, and every command carries a fresh request id. Each analyst talks through their own
/// <see cref="AnnotateClient"/> (their token; the caller's retry policy and deadline).
/// </summary>
public sealed class DemoScenario
{
    private const string Crisis = "russia-involvement-kazakhstan-crisis";
    private const string Concerned = "kazakhstan-concerned-about-invasion";
    private const string DrawnIn = "kazakhstan-drawn-into-ukraine-war";
    private const string Troops = "russian-troops-in-kazakhstan";
    private const string Saved = "kazakhstan-crisis-saved-ukraine";

    private readonly AnnotateClientOptions _options;
    private readonly TextWriter _out;
    private readonly TimeSpan _pace;
    private readonly CancellationToken _ct;
    private readonly Dictionary<string, string> _tokens = [];
    private readonly Dictionary<string, AnnotateClient> _clients = [];
    private readonly List<string> _claims = [];

    private DemoScenario(AnnotateClientOptions options, TextWriter output, TimeSpan pace, CancellationToken ct)
    {
        _options = options;
        _out = output;
        _pace = pace;
        _ct = ct;
    }

    /// <summary>
    /// Plays the demo against <paramref name="server"/> with the admin's token. <paramref name="pace"/> is
    /// the pause between steps (default 0.75 s, so the whole session takes under a minute and a
    /// watcher such as annotate-console can follow it live; zero for no pauses). Returns an exit code:
    /// 0 done, 4 the token is refused, 5 the server is unreachable, 1 anything else. <paramref name="client"/>
    /// sets retries and deadlines of every analyst's client (its address and token are replaced).
    /// </summary>
    public static async Task<int> RunAsync(
        string server,
        string adminToken,
        TextWriter output,
        CancellationToken ct = default,
        TimeSpan? pace = null,
        AnnotateClientOptions? client = null)
    {
        var demo = new DemoScenario(
            (client ?? new AnnotateClientOptions()) with
            {
                Address = server,
                Token = null,
            },
            output,
            pace ?? TimeSpan.FromMilliseconds(750),
            ct);
        try
        {
            await demo.PlayAsync(server, adminToken);
            return 0;
        }
        catch (RpcException e)
        {
            output.WriteLine($"demo stopped: {e.StatusCode}: {e.Status.Detail}");
            return e.StatusCode switch
            {
                StatusCode.Unauthenticated or StatusCode.PermissionDenied => 4,
                StatusCode.Unavailable or StatusCode.DeadlineExceeded => 5,
                _ => 1,
            };
        }
        catch (InvalidOperationException e)
        {
            output.WriteLine($"demo stopped: {e.Message}");
            return 1;
        }
        catch (HttpRequestException e)
        {
            output.WriteLine($"demo stopped: server unreachable at {server}: {e.Message}");
            return 5;
        }
        finally
        {
            foreach (var c in demo._clients.Values) c.Dispose();
        }
    }

    private async Task PlayAsync(string server, string adminToken)
    {
        _tokens["admin"] = adminToken;
        var me = await As("admin").WhoAmIAsync(_ct);
        await SayAsync($"Connected to {server} as {me.AnalystId}.");

        Title("The team");
        await AnalystAsync("aigerim", "Aigerim Nurlanovna", Role.Analyst);
        await AnalystAsync("boris", "Boris Lebedev", Role.Analyst);
        await AnalystAsync("chen", "Chen Wei", Role.Analyst);
        await AnalystAsync("dana", "Dana Sadykova", Role.Adjudicator);
        await SayAsync($"Follow along live in another terminal:");
        await SayAsync($"  annotate-console --server {server} --token {_tokens["dana"]} --article {Crisis}");

        await RussianMajorityAsync();
        await MobilizationAsync();
        await CstoTroopsAsync();
        await FirstJointStationingAsync();
        await WarLessLikelyAsync();
        await BlindClaimAsync();
        await CorrectionAsync();
        await SummaryAsync();
    }

    // The dispute the project exists for: a claim the corpus itself contradicts.
    private async Task RussianMajorityAsync()
    {
        Title($"1. “Kazakhstan has a large Russian majority” ({Crisis})");
        const string quote = "Kazakhstan has a large Russian majority";
        await HighlightAsync("aigerim", Crisis, quote, "Majority? Check against population figures.", "demographics", "needs-check");
        var claim = await OpenClaimAsync("aigerim", Crisis, Quote(quote), "Kazakhstan has a large Russian majority.");
        var again = await As("boris")
            .OpenClaimAsync(
                new OpenClaimRequest
                {
                    RequestId = NewId(),
                    ArticleId = Crisis,
                    Selector = Quote(quote),
                },
                _ct);
        await SayAsync(
            $"boris opens the same span at the same moment: the server answers with {again.ClaimId} (existing: {again.Existing}), no " +
                $"duplicate."
        );
        await ReopenIfAdjudicatedAsync(claim);
        await TagAsync("aigerim", claim, "demographics");
        await TagAsync("boris", claim, "demographics");

        var twenty = Span(Concerned, "about 20 percent");
        await StanceAsync("aigerim", claim, Stance.Refutes, "Russians are a minority, about a fifth of the population.", twenty);
        await StanceAsync("boris", claim, Stance.Refutes, "Two figures in the corpus: about 20 and at least 18 percent. A minority.",
            twenty, Span(Concerned, "At least 18 percent are Russian minorities"));
        await StanceAsync("chen", claim, Stance.Supports, "The north has a large Russian population; the article may mean that.");
        var question = await As("chen").PostReplyAsync(new PostReplyRequest
        {
            RequestId = NewId(),
            Target = new ReplyTarget { ClaimId = claim },
            Body = "Which census do the 20 percent come from?",
        }, _ct);
        await As("aigerim").PostReplyAsync(new PostReplyRequest
        {
            RequestId = NewId(),
            Target = new ReplyTarget { ClaimId = claim },
            ParentId = question.Reply.ReplyId,
            Body = "The one the other article cites; both figures say a minority.",
        }, _ct);
        await SayAsync("chen asks in the claim's discussion thread which census; aigerim answers (`annotate claim show` prints it).");
        var view = await ShowAsync(claim);

        await As("dana").AdjudicateAsync(new AdjudicateRequest
        {
            RequestId = NewId(),
            ClaimId = claim,
            Verdict = Stance.Refutes,
            ExpectedVersion = view.Version,
            Rationale = "Both figures in the corpus put Russians at about a fifth of the population: a minority, not a majority.",
        }, _ct);
        await SayAsync($"dana (adjudicator) reviews version {view.Version} and rules: refutes.");
        await ShowAsync(claim);
    }

    private async Task MobilizationAsync()
    {
        Title($"2. The partial mobilization ({DrawnIn})");
        var claim = await OpenClaimAsync("chen", DrawnIn,
            Quote("Russian President Vladmir Putin has just ordered a partial military mobilization of reserved forces"),
            "Putin ordered a partial mobilization of reserve forces.");
        await ReopenIfAdjudicatedAsync(claim);
        var speech = Span(DrawnIn, "to conduct a partial mobilization in the Russian Federation");
        await HighlightAsync(
            "chen",
            DrawnIn,
            "to conduct a partial mobilization in the Russian Federation",
            "Putin's own words in the address.",
            "primary-quote",
            "mobilization");
        await StanceAsync("chen", claim, Stance.Supports, "The address quoted later in the article says exactly this.", speech);
        await StanceAsync(
            "boris",
            claim,
            Stance.NeedsContext,
            "Partial, not nation-wide: the article itself says martial law was not declared.",
            Span(DrawnIn, "But such a decision was not made."));
        await ShowAsync(claim);
        await StanceAsync("boris", claim, Stance.Supports, "On reflection the claim does say partial. Changing my stance.", speech);
        await SayAsync("(a new stance replaces boris's previous one; the history keeps both)");
        await StanceAsync("aigerim", claim, Stance.Supports, "Matches the address.", speech);
        await TagAsync("chen", claim, "mobilization");
        await TagAsync("aigerim", claim, "mobilization");
        await ShowAsync(claim);
    }

    private async Task CstoTroopsAsync()
    {
        Title($"3. CSTO troops at Tokayev's request ({Troops})");
        // Straight apostrophe on purpose: the article has a typographic one, and quote matching tolerates it.
        var claim = await OpenClaimAsync("boris", Troops,
            Quote("Russia has acted quickly and decisively to send CSTO troops immediately at Tokayev's request"),
            "Russia sent CSTO troops immediately at Tokayev's request.");
        await ReopenIfAdjudicatedAsync(claim);
        await HighlightAsync("boris", Crisis, "The deployment of 3,000 Russian paratroopers", "Size of the deployment.", "csto", "troops");
        await StanceAsync(
            "aigerim",
            claim,
            Stance.Supports,
            "The Moscow Times piece confirms the formal request and the deployment.",
            Span(
                Crisis,
                "The deployment of 3,000 Russian paratroopers came after Kazakh President Kassym-Jomart Tokayev made a formal request " +
                    "for assistance"
            ));
        await StanceAsync(
            "boris",
            claim,
            Stance.NeedsContext,
            "Hours earlier the Kremlin had sworn off intervening; 'immediately' hides that.",
            Span(Crisis, "had been sworn off by the Kremlin"));
        await StanceAsync(
            "chen",
            claim,
            Stance.Refutes,
            "Most troops were Russian; calling them CSTO troops flatters the alliance.",
            new ArticleSpan { ArticleId = Troops, Selector = await FirstOccurrenceAsync(Troops, "most of which come from Russia") });
        await TagAsync("boris", claim, "csto");
        await ShowAsync(claim);
        await SayAsync("One stance each: no stance holds two thirds, so the claim is contested.");
    }

    // The article repeats a paragraph, so this quote occurs twice: the server refuses the ambiguous
    // quote, and the analyst picks the first occurrence by position.
    private async Task FirstJointStationingAsync()
    {
        Title($"4. The first joint CSTO deployment ({Troops})");
        const string quote = "the first joint stationing of CSTO troops in the 30-year history of the security block";
        try
        {
            await As("aigerim")
                .OpenClaimAsync(
                    new OpenClaimRequest
                    {
                        RequestId = NewId(),
                        ArticleId = Troops,
                        Selector = Quote(quote),
                    },
                    _ct);
            await SayAsync("(the quote was accepted)");
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
        {
            await SayAsync($"aigerim quotes it: refused, {e.Status.Detail}");
        }
        var selector = await FirstOccurrenceAsync(Troops, quote);
        await SayAsync($"aigerim selects the first occurrence by position [{selector.Position.Start}, {selector.Position.End}).");
        var claim = await OpenClaimAsync(
            "aigerim",
            Troops,
            selector,
            "This was the first joint deployment of CSTO troops in the bloc's history.");
        await ReopenIfAdjudicatedAsync(claim);
        var contingents = Span(Crisis, "CSTO member states Armenia, Belarus, Kyrgyzstan and Tajikistan sent troop contingents");
        await StanceAsync("boris", claim, Stance.Supports, "Several member states sent contingents together.", contingents);
        await StanceAsync("aigerim", claim, Stance.Supports, "Consistent with the other report.", contingents);
        await StanceAsync("chen", claim, Stance.Unverifiable, "Nothing in the corpus covers the bloc's earlier history.");
        await ShowAsync(claim);
    }

    private async Task WarLessLikelyAsync()
    {
        Title($"5. “The crisis in Kazakhstan would make a war in Ukraine less likely” ({Saved})");
        var claim = await OpenClaimAsync("chen", Saved, Quote("The crisis in Kazakhstan would make a war in Ukraine less likely."), "");
        await ReopenIfAdjudicatedAsync(claim);
        var began = Span(DrawnIn, "the Russian-Ukrainian conflict that began on 24 February 2022");
        await StanceAsync("aigerim", claim, Stance.Refutes, "The war began weeks later.", began);
        await StanceAsync("chen", claim, Stance.Refutes, "A forecast the events disproved.", began);
        await StanceAsync("boris", claim, Stance.NeedsContext, "A January 2022 forecast, reasonable when written.");
        await TagAsync("aigerim", claim, "forecast");
        await ShowAsync(claim);
    }

    // A blind claim: nobody sees the others' stances before recording their own, so the first stance cannot sway the rest.
    private async Task BlindClaimAsync()
    {
        Title($"6. A blind claim: “Ukraine attacked Belgorod and Kursk” ({DrawnIn})");
        var claim = await OpenClaimAsync("chen", DrawnIn,
            Quote("Ukraine attacked the provinces of Belgorod and Kursk in southwestern Russia"),
            "Ukraine attacked the Belgorod and Kursk provinces of Russia.");
        await As("dana").MakeBlindAsync(new MakeBlindRequest { RequestId = NewId(), ClaimId = claim }, _ct);
        await SayAsync($"dana makes {claim} blind: an analyst sees the others' stances only after recording their own.");
        await StanceAsync("aigerim", claim, Stance.NeedsContext, "Putin's assertion, reported as his; the article cites no other source.");
        await LookAsync("boris", claim);
        await StanceAsync("boris", claim, Stance.Unverifiable, "Nothing in the corpus reports attacks on either province.");
        await LookAsync("boris", claim);
    }

    // A correction after publication: the server carries every span onto the new text or orphans it, never moving one to a
    // passage it cannot show to be the same.
    private async Task CorrectionAsync()
    {
        Title($"7. The article is corrected after publication ({Saved})");
        const string forecast = "Russia’s military campaign on Ukrainian territory is now less likely to happen";
        const string dated = "Russia’s military campaign on Ukrainian territory then looked less likely to happen";
        const string casualties = "Many of the country’s security personnel were killed while suppressing protesters";
        var article = await As("admin").GetArticleAsync(new GetArticleRequest { ArticleId = Saved }, _ct);
        if (article.Revision > 1)
        {
            await SayAsync($"{Saved} is at revision {article.Revision} already (an earlier run); its highlights now:");
            var listed = await As("dana").ListHighlightsAsync(new ListHighlightsRequest { ArticleId = Saved }, _ct);
            foreach (var h in listed.Highlights)
                await SayAsync($"  highlight {h.HighlightId} “{Short(h.Selector.Quote.Exact, 50)}”: {Anchor(h.Anchor)}");
            return;
        }
        await HighlightAsync("boris", Saved, forecast, "A forecast: check it against what happened.", "forecast");
        await HighlightAsync("chen", Saved, casualties, "How many? The caption gives no figure.", "casualties");
        // The photo caption holding chen's highlight, removed whole.
        var caption = article.Text.IndexOf("Kazakhstan crisis riot\n", StringComparison.Ordinal);
        const string captionEnds = "Photo: Reuters\n\n";
        var captionEnd = article.Text.IndexOf(captionEnds, Math.Max(0, caption), StringComparison.Ordinal);
        if (caption < 0 || captionEnd < 0 || !article.Text.Contains(forecast, StringComparison.Ordinal))
            throw new InvalidOperationException($"{Saved} is not the seed text the correction edits");
        var text = article.Text.Remove(caption, captionEnd + captionEnds.Length - caption)
            .Replace(forecast, dated, StringComparison.Ordinal);
        var revised = await As("admin").ReviseArticleAsync(new ReviseArticleRequest
        {
            RequestId = NewId(),
            ArticleId = Saved,
            Text = text,
            Reason = "Correction: the forecast is dated to January; a photo caption withdrawn.",
        }, _ct);
        await SayAsync($"admin publishes revision {revised.Article.Revision}: the forecast reworded, a photo caption removed.");
        foreach (var s in revised.Spans)
        {
            var kind = s.Kind == AnchorKind.Claim ? "claim" : "highlight";
            var moved = s.Selector is { } now ? $" -> [{now.Position.Start}, {now.Position.End}) “{Short(now.Quote.Exact, 90)}”" : "";
            await SayAsync($"  {kind} {s.TargetId} “{Short(s.Previous.Quote.Exact, 90)}”: {Anchor(s.Anchor)}{moved}");
        }
    }

    private async Task SummaryAsync()
    {
        Title("Consensus views");
        foreach (var id in _claims.Distinct())
        {
            var v = await As("dana").GetClaimViewAsync(new GetClaimViewRequest { ClaimId = id }, _ct);
            _out.WriteLine($"  {Status(v),-22} {v.ClaimId}  “{Short(v.Statement, 70)}”");
            _out.WriteLine($"  {"",-22} {Tallies(v)}; agreement {Percent(v.Agreement)}; tags {Tags(v)}; {v.Evidence.Count} evidence");
        }
        var alpha = await As("dana").GetArticleAgreementAsync(new GetArticleAgreementRequest { ArticleId = Troops }, _ct);
        _out.WriteLine($"  Agreement on {Troops}: Krippendorff's alpha {(alpha.HasAlpha ? alpha.Alpha.ToString("0.00") : "undefined")} " +
                       $"over {alpha.Units} claims and {alpha.Analysts} analysts.");
        var found = await As("dana").SearchAsync(new SearchRequest { Query = "fifth of the population" }, _ct);
        _out.WriteLine($"  Search \"fifth of the population\": {found.Hits.Count} hit(s), " +
                       $"the first by {found.Hits.FirstOrDefault()?.Analyst ?? "nobody"} " +
                       $"({found.Hits.FirstOrDefault()?.Kind.ToString() ?? "none"}).");
        _out.WriteLine();
        _out.WriteLine("Next: watch it in annotate-console, list the claims with `annotate claim list`, replay the history with " +
                       "`annotate replay`, check it with `annotate audit verify`.");
    }

    // --- steps, each narrated -------------------------------------------------------------------

    private async Task AnalystAsync(string id, string name, Role role)
    {
        var create = new CreateAnalystRequest { RequestId = NewId(), AnalystId = id, DisplayName = name, Roles = { role } };
        string verb;
        try
        {
            await As("admin").CreateAnalystAsync(create, _ct);
            verb = "registered";
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
        {
            verb = "already registered, reused";
        }
        var issued = await As("admin").IssueTokenAsync(new IssueTokenRequest { RequestId = NewId(), AnalystId = id, Label = "demo" }, _ct);
        _tokens[id] = issued.Secret;
        await SayAsync($"{id} ({name}, {role.ToString().ToLowerInvariant()}) {verb}; token {issued.Token.TokenId} issued.");
    }

    private async Task HighlightAsync(string who, string articleId, string quote, string note, params string[] tags)
    {
        var existing = await As(who).ListHighlightsAsync(new ListHighlightsRequest { ArticleId = articleId }, _ct);
        var mine = existing.Highlights.FirstOrDefault(h => h.Author == who && Same(h.Selector.Quote.Exact, quote));
        if (mine is not null)
        {
            await SayAsync($"{who} already highlighted “{Short(quote, 60)}” ({mine.HighlightId}), reused.");
            return;
        }
        var request = new CreateHighlightRequest
        {
            RequestId = NewId(),
            ArticleId = articleId,
            Selector = Quote(quote),
            Note = note,
            Tags = { tags },
        };
        var created = await As(who).CreateHighlightAsync(request, _ct);
        var p = created.Highlight.Selector.Position;
        await SayAsync(
            $"{who} highlights “{Short(quote, 60)}” in {articleId} [{p.Start}, {p.End}), tags {string.Join(", ", tags)}: “{note}”");
    }

    private async Task<string> OpenClaimAsync(string who, string articleId, Selector selector, string statement)
    {
        var opened = await As(who)
            .OpenClaimAsync(
                new OpenClaimRequest
                {
                    RequestId = NewId(),
                    ArticleId = articleId,
                    Selector = selector,
                    Statement = statement,
                },
                _ct);
        _claims.Add(opened.ClaimId);
        var p = opened.Selector.Position;
        await SayAsync(opened.Existing
            ? $"{who} opens a claim on “{Short(opened.Selector.Quote.Exact, 60)}”: it exists already as {opened.ClaimId} " +
              $"[{p.Start}, {p.End})."
            : $"{who} opens claim {opened.ClaimId} on “{Short(opened.Selector.Quote.Exact, 60)}” [{p.Start}, {p.End}).");
        return opened.ClaimId;
    }

    private async Task ReopenIfAdjudicatedAsync(string claim)
    {
        var view = await As("dana").GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim }, _ct);
        if (view.Status != ClaimStatus.Adjudicated)
            return;
        await As("dana")
            .ReopenClaimAsync(
                new ReopenClaimRequest
                {
                    RequestId = NewId(),
                    ClaimId = claim,
                    Reason = "Replaying the demo.",
                },
                _ct);
        await SayAsync($"{claim} was adjudicated by an earlier run: dana reopens it so stances count again.");
    }

    private async Task TagAsync(string who, string claim, string tag)
    {
        await As(who)
            .ApplyTagAsync(
                new ApplyTagRequest
                {
                    RequestId = NewId(),
                    Target = new TagTarget { ClaimId = claim },
                    Tag = tag,
                },
                _ct);
        await SayAsync($"{who} tags {claim} “{tag}”.");
    }

    private async Task StanceAsync(string who, string claim, Stance stance, string rationale, params ArticleSpan[] evidence)
    {
        var request = new TakeStanceRequest
        {
            RequestId = NewId(),
            ClaimId = claim,
            Stance = stance,
            Rationale = rationale,
            Evidence = { evidence },
        };
        await As(who).TakeStanceAsync(request, _ct);
        var cited =
            evidence.Length == 0 ? "" : " citing " + string.Join(" and ", evidence.Select(e => $"{Describe(e.Selector)} ({e.ArticleId})"));
        await SayAsync($"{who} {StanceName(stance)}: {rationale}{cited}");
    }

    private async Task<ClaimView> ShowAsync(string claim)
    {
        var v = await As("dana").GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim }, _ct);
        _out.WriteLine($"   => {Status(v)}: {Tallies(v)}; agreement {Percent(v.Agreement)} (quorum {v.Quorum}), version {v.Version}");
        return v;
    }

    private async Task LookAsync(string who, string claim)
    {
        var v = await As(who).GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim }, _ct);
        var stances = string.Join("; ", v.Stances.Select(s => $"{s.Analyst} {StanceName(s.Stance)}"));
        await SayAsync(v.Hidden
            ? $"{who} looks at it before taking a stance: blind, so no status, tallies or rationales ({v.Stances.Count} stances shown)."
            : $"{who} looks at it with a stance of their own on record: {Status(v)}, {stances}.");
    }

    // --- helpers -----------------------------------------------------------------------------------

    /// <summary>The client of <paramref name="who"/>, with the token the demo holds for them.</summary>
    private AnnotateClient As(string who)
    {
        if (!_clients.TryGetValue(who, out var client) || client.Options.Token != _tokens[who])
        {
            client?.Dispose();
            _clients[who] = client = new AnnotateClient(_options with { Token = _tokens[who] });
        }
        return client;
    }

    private void Title(string title)
    {
        _out.WriteLine();
        _out.WriteLine($"== {title}");
    }

    // Each narrated step pauses for the pace, so a live watcher sees the changes arrive one by one.
    private async Task SayAsync(string line)
    {
        await _out.WriteLineAsync($"   {line}");
        await _out.FlushAsync(_ct);
        if (_pace > TimeSpan.Zero) await Task.Delay(_pace, _ct);
    }

    private static string NewId() => Guid.NewGuid().ToString();
    private static Selector Quote(string exact) => new() { Quote = new TextQuote { Exact = exact } };
    private static ArticleSpan Span(string articleId, string exact) => new() { ArticleId = articleId, Selector = Quote(exact) };

    /// <summary>A position selector for the first occurrence of a quote that the article repeats word for word.</summary>
    private async Task<Selector> FirstOccurrenceAsync(string articleId, string quote)
    {
        var text = (await As("dana").GetArticleAsync(new GetArticleRequest { ArticleId = articleId }, _ct)).Text;
        var at = text.IndexOf(quote, StringComparison.Ordinal);
        if (at < 0) throw new InvalidOperationException($"“{quote}” is not in {articleId}");
        var start = CodePoints(text, at);
        return new Selector { Position = new TextPosition { Start = (uint)start, End = (uint)(start + CodePoints(quote, quote.Length)) } };
    }

    private static int CodePoints(string s, int utf16Length) => s[..utf16Length].EnumerateRunes().Count();

    private static bool Same(string a, string b) => Normalize(a) == Normalize(b);

    private static string Normalize(string s) =>
        string.Join(' ', s.Replace('’', '\'').Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    private static string StanceName(Stance s) => s switch
    {
        Stance.Supports => "supports",
        Stance.Refutes => "refutes",
        Stance.NeedsContext => "says it needs context",
        Stance.Unverifiable => "finds it unverifiable",
        _ => "has no stance",
    };

    private static string Status(ClaimView v) => v.Status == ClaimStatus.Adjudicated
        ? $"ADJUDICATED ({v.Adjudication.Verdict.ToString().ToLowerInvariant()})"
        : v.Status.ToString().ToUpperInvariant();

    private static string Tallies(ClaimView v)
    {
        uint Count(Stance s) => v.Tallies.FirstOrDefault(t => t.Stance == s)?.Count ?? 0;
        return $"supports {Count(Stance.Supports)}, refutes {Count(Stance.Refutes)}, needs context {Count(Stance.NeedsContext)}, " +
               $"unverifiable {Count(Stance.Unverifiable)}";
    }

    private static string Describe(Selector s) =>
        s.Quote is { } q ? $"“{Short(q.Exact, 50)}”" : $"[{s.Position.Start}, {s.Position.End})";

    private static string Anchor(AnchorState? a) => a?.Status switch
    {
        AnchorStatus.Reanchored => string.Create(
            CultureInfo.InvariantCulture,
            $"re-anchored on revision {a.Revision} by {a.Method.ToString().ToLowerInvariant()} (score {a.Score:0.00})"),
        AnchorStatus.Orphaned => $"ORPHANED on revision {a.OrphanedOnRevision}: {a.Reason}",
        _ => $"on revision {a?.Revision ?? 1}",
    };

    private static string Percent(double share) => $"{Math.Round(share * 100):0}%";

    private static string Tags(ClaimView v) =>
        v.Tags.Count == 0 ? "none" : string.Join(", ", v.Tags.Select(t => $"{t.Tag} ({t.Analysts.Count})"));

    private static string Short(string s, int max)
    {
        var flat = Normalize(s);
        return flat.Length <= max ? flat : new StringBuilder(flat, 0, max - 1, max).Append('…').ToString();
    }
}
