using System.Text.Json;
using Annotate.Contracts.V1;

namespace Annotate.Client.Tests;

/// <summary>
/// Every `annotate` command run as a child process against a real server (child process) on PostgreSQL, with
/// --json output parsed back into the contract's messages.
/// </summary>
public sealed class CliCommandTests(CliServer fixture) : IClassFixture<CliServer>
{
    private const string Claimed = "russia-involvement-kazakhstan-crisis";
    private const string Majority = "Kazakhstan has a large Russian majority";
    private const string EvidenceArticle = "kazakhstan-concerned-about-invasion";
    private const string War = "kazakhstan-drawn-into-ukraine-war";
    private const string Troops = "russian-troops-in-kazakhstan";

    private static readonly System.Text.RegularExpressions.Regex Sgr = new("\u001b\\[[0-9;]*m");

    private static string Unique(string name) => $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)];

    [Fact]
    public async Task Login_checks_the_token_stores_it_readable_only_by_the_user_and_later_commands_use_it()
    {
        var cli = new Cli(server: null, token: null);

        var login = (await cli.RunAsync("login", "--server", fixture.Server.Address, "--token", fixture.Server.AdminToken)).AssertOk();

        Assert.Contains("as admin", login.Stdout);
        var file = Path.Combine(cli.ConfigHome, "annotate", "config.json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        using (var json = JsonDocument.Parse(File.ReadAllText(file)))
        {
            Assert.Equal(fixture.Server.Address, json.RootElement.GetProperty("server").GetString());
            Assert.Equal(fixture.Server.AdminToken, json.RootElement.GetProperty("token").GetString());
        }
        // No flags, no environment: the stored login is used.
        var articles = (await cli.RunAsync("articles", "list", "--json")).AssertOk().Json<ListArticlesResponse>();
        Assert.Equal(5, articles.Articles.Count);
    }

    /// <summary>A claim on an article of its own, so that other tests (the demo adjudicates the seeds' claims) cannot close it.</summary>
    private async Task<string> FreshClaimAsync(Cli who)
    {
        var article = Unique("fresh");
        using (var client = new AnnotateClient(fixture.Server.Address, fixture.Server.AdminToken))
        {
            await client.ImportArticleAsync(new ImportArticleRequest
            {
                RequestId = AnnotateClient.NewRequestId(),
                ArticleId = article,
                Title = "Fresh",
                Text = "The harbour opened in 1901. Ships came.",
                Source = "test",
            });
        }
        return (await who.RunAsync("claim", "open", article, "--quote", "Ships came.",
            "--json")).AssertOk().Json<OpenClaimResponse>().ClaimId;
    }

    [Fact]
    public async Task A_reply_and_an_answer_to_it_appear_as_a_thread_in_claim_show()
    {
        var a = await fixture.AnalystAsync(Unique("ana"), "analyst");
        var b = await fixture.AnalystAsync(Unique("boris"), "analyst");
        var id = await FreshClaimAsync(a);

        var question = (await a.RunAsync("reply", id, "Which census?", "--json")).AssertOk().Json<PostReplyResponse>().Reply;
        var answer = (await b.RunAsync(
            "reply", id, "The 2021 one.", "--to", question.ReplyId, "--json")).AssertOk().Json<PostReplyResponse>().Reply;

        Assert.Equal((question.ReplyId, "The 2021 one."), (answer.ParentId, answer.Body));
        var shown = (await b.RunAsync("claim", "show", id)).AssertOk().Stdout;
        Assert.Contains($"- {question.ReplyId} {question.Author} at", shown);
        Assert.Contains($"    - {answer.ReplyId} {answer.Author} at", shown);
        Assert.Contains(": The 2021 one.", shown);
        (await b.RunAsync("reply", id, "")).AssertExit(2);
    }

    [Fact]
    public async Task Search_finds_a_rationale_by_a_word_in_it_as_text_and_json()
    {
        var a = await fixture.AnalystAsync(Unique("ana"), "analyst");
        var word = Unique("censusword").Replace("-", "", StringComparison.Ordinal);
        var id = await FreshClaimAsync(a);
        (await a.RunAsync("stance", id, "refutes", "--rationale", $"the {word} counts about 20 percent")).AssertOk();

        var found = (await a.RunAsync("search", word, "--json")).AssertOk().Json<SearchResponse>();

        var hit = Assert.Single(found.Hits);
        Assert.Equal((SearchHitKind.Rationale, id), (hit.Kind, hit.ClaimId));
        Assert.Contains(word, (await a.RunAsync("search", word)).AssertOk().Stdout);
        Assert.Contains("Nothing found.", (await a.RunAsync("search", word, "--analyst", "nobody-here")).AssertOk().Stdout);
    }

    [Fact]
    public async Task An_adjudicator_blinds_an_article_so_a_new_claim_hides_stances_until_revealed()
    {
        var a = await fixture.AnalystAsync(Unique("ana"), "analyst");
        var b = await fixture.AnalystAsync(Unique("boris"), "analyst");
        var judge = await fixture.AnalystAsync(Unique("judge"), "adjudicator");
        var article = Unique("blind");
        using (var client = new AnnotateClient(fixture.Server.Address, fixture.Server.AdminToken))
        {
            await client.ImportArticleAsync(new ImportArticleRequest
            {
                RequestId = AnnotateClient.NewRequestId(),
                ArticleId = article,
                Title = "Blind",
                Text = "The harbour opened in 1901. Ships came.",
                Source = "test",
            });
        }
        (await judge.RunAsync("claim", "blind", "--article", article)).AssertOk();
        var id = (await a.RunAsync("claim", "open", article, "--quote", "Ships came.",
            "--json")).AssertOk().Json<OpenClaimResponse>().ClaimId;
        (await a.RunAsync("stance", id, "refutes", "--rationale", "no ships")).AssertOk();

        var hidden = (await b.RunAsync("claim", "show", id, "--json")).AssertOk().Json<ClaimView>();
        Assert.True(hidden.Hidden);
        Assert.Empty(hidden.Stances);
        (await b.RunAsync("claim", "reveal", id)).AssertExit(4);
        (await judge.RunAsync("claim", "reveal", id)).AssertOk();
        Assert.Single((await b.RunAsync("claim", "show", id, "--json")).AssertOk().Json<ClaimView>().Stances);
    }

    [Fact]
    public async Task Login_with_a_bad_token_stores_nothing_and_exits_4()
    {
        var cli = new Cli(server: null, token: null);

        var login = (await cli.RunAsync("login", "--server", fixture.Server.Address, "--token", "not-a-token")).AssertExit(4);

        Assert.StartsWith("annotate: ", login.Stderr);
        Assert.False(File.Exists(Path.Combine(cli.ConfigHome, "annotate", "config.json")));
    }

    [Fact]
    public async Task Flags_override_the_environment_which_overrides_the_login()
    {
        var cli = new Cli(server: null, token: null);
        (await cli.RunAsync("login", "--server", fixture.Server.Address, "--token", fixture.Server.AdminToken)).AssertOk();
        var unused = $"http://127.0.0.1:{ServerProcess.FreePort()}";

        cli.Environment["ANNOTATE_TOKEN"] = "bad-token-from-env";
        (await cli.RunAsync("articles", "list")).AssertExit(4);
        (await cli.RunAsync("articles", "list", "--token", fixture.Server.AdminToken)).AssertOk();
        (await cli.RunAsync("articles", "list", "--token", fixture.Server.AdminToken, "--server", unused, "--retries", "1")).AssertExit(5);
    }

    [Fact]
    public async Task Articles_revise_reports_each_span_and_show_and_claim_show_say_which_revision_it_is_on()
    {
        var article = Unique("revised");
        const string text = "The harbour opened in 1901. Ships came from the north. The mayor said trade doubled. Fishing stayed the same.";
        var admin = fixture.Admin();
        using (var client = new AnnotateClient(fixture.Server.Address, fixture.Server.AdminToken))
        {
            await client.ImportArticleAsync(new ImportArticleRequest
            {
                RequestId = AnnotateClient.NewRequestId(),
                ArticleId = article,
                Title = "Harbour",
                Text = text,
                Source = "test",
            });
        }
        var analyst = await fixture.AnalystAsync(Unique("reviser"), "analyst");
        var claim = (await analyst.RunAsync("claim", "open", article, "--quote", "The mayor said trade doubled.", "--json"))
            .AssertOk().Json<OpenClaimResponse>();
        var gone = (await analyst.RunAsync("highlight", article, "--quote", "Ships came from the north.", "--json"))
            .AssertOk().Json<CreateHighlightResponse>();
        var file = Path.Combine(Path.GetTempPath(), $"{article}.txt");
        await File.WriteAllTextAsync(
            file, "Correction: date fixed. The harbour opened in 1902. The mayor said trade doubled. Fishing stayed the same.");

        var revised = (await admin.RunAsync("articles", "revise", article, file, "--reason", "date fixed")).AssertOk().Stdout;

        Assert.Contains($"{article} is now at revision 2", revised);
        Assert.Contains("revision 2, re-anchored by quote", revised);
        Assert.Contains("revision 1, ORPHANED on revision 2", revised);
        Assert.Contains("1 orphaned", revised);
        var shown = (await analyst.RunAsync("articles", "show", article)).AssertOk().Stdout;
        Assert.Contains("{The mayor said trade doubled.}[1]", shown);
        Assert.Contains("Not on revision 2", shown);
        Assert.Contains($"{gone.Highlight.HighlightId}: [", shown);
        Assert.DoesNotContain("[Ships", shown);
        var claimShown = (await analyst.RunAsync("claim", "show", claim.ClaimId)).AssertOk().Stdout;
        Assert.Contains("anchor:    revision 2, re-anchored by quote", claimShown);

        // The orphan reattached by its author on the new text; the claim's re-anchoring confirmed; each only once.
        (await analyst.RunAsync("reattach", "--highlight", gone.Highlight.HighlightId, "--quote", "Ships came")).AssertExit(2);
        var reattached = (await analyst.RunAsync(
            "reattach", "--highlight", gone.Highlight.HighlightId, "--quote", "Correction: date fixed.")).AssertOk().Stdout;
        Assert.Contains($"Reattached {gone.Highlight.HighlightId}: [0,23)", reattached);
        Assert.Contains("revision 2, reattached by", reattached);
        (await analyst.RunAsync("reattach", "--highlight", gone.Highlight.HighlightId, "--quote", "Correction: date fixed.")).AssertExit(6);
        var confirmed = (await analyst.RunAsync("reattach", "--claim", claim.ClaimId)).AssertOk().Stdout;
        Assert.Contains($"Confirmed {claim.ClaimId}", confirmed);
        Assert.Contains("anchor:    revision 2, reattached by", (await analyst.RunAsync("claim", "show", claim.ClaimId)).AssertOk().Stdout);

        await File.WriteAllBytesAsync(file, [0x41, 0xC3, 0x28, 0x42]);
        var invalid = (await admin.RunAsync("articles", "revise", article, file)).AssertExit(2);
        Assert.Contains("cannot read", invalid.Stderr);
        File.Delete(file);
    }

    [Fact]
    public async Task Articles_list_and_show_print_the_seeds_with_marked_spans_plain_when_piped_and_coloured_on_a_terminal()
    {
        var analyst = await fixture.AnalystAsync(Unique("reader"), "analyst");
        var list = (await analyst.RunAsync("articles", "list", "--json")).AssertOk().Json<ListArticlesResponse>();
        Assert.Contains(list.Articles, a => a.ArticleId == War && a.Length > 0 && a.ContentHash.Length == 64);
        Assert.Contains(Troops, (await analyst.RunAsync("articles", "list")).AssertOk().Stdout);

        var highlight = (
            await analyst.RunAsync("highlight", Troops, "--quote", "the reasoning behind the Moscow-led operation in Kazakhstan", "--json"))
            .AssertOk()
            .Json<CreateHighlightResponse>();
        var claim = (
            await analyst.RunAsync("claim", "open", Troops, "--quote", "the broader strategic rationale for Russian intervention", "--json")
        )
            .AssertOk()
            .Json<OpenClaimResponse>();

        var plain = (await analyst.RunAsync("articles", "show", Troops)).AssertOk().Stdout;
        Assert.Contains("[the reasoning behind the Moscow-led operation in Kazakhstan]", plain);
        Assert.Contains("{the broader strategic rationale for Russian intervention}[1]", plain);
        Assert.Contains(claim.ClaimId, plain);
        Assert.Contains(highlight.Highlight.HighlightId, plain);
        Assert.DoesNotContain('\u001b', plain);

        var coloured = (await analyst.RunInTerminalAsync("articles", "show", Troops)).AssertOk().Stdout;
        Assert.Contains("\u001b[48;5;238m", coloured); // the highlight, shaded
        Assert.Contains("\u001b[4;34m", coloured); // the pending claim, underlined in its status colour
        Assert.Contains("[1]", coloured);
        analyst.Environment["NO_COLOR"] = "1";
        var noColor = (await analyst.RunInTerminalAsync("articles", "show", Troops)).AssertOk().Stdout;
        Assert.DoesNotMatch(Sgr, noColor); // the terminal's own mode switches may appear; colours may not
        Assert.Contains("{the broader strategic rationale for Russian intervention}[1]", noColor);

        using var json = JsonDocument.Parse((await analyst.RunAsync("articles", "show", Troops, "--json")).AssertOk().Stdout);
        var article = Google.Protobuf.JsonParser.Default.Parse<Article>(json.RootElement.GetProperty("article").GetRawText());
        var claims = Google.Protobuf.JsonParser.Default.Parse<ListClaimsResponse>(json.RootElement.GetProperty("claims").GetRawText());
        Assert.Equal(Troops, article.ArticleId);
        Assert.StartsWith("Russian troops in Kazakhstan", article.Text);
        Assert.Contains(claims.Claims, c => c.ClaimId == claim.ClaimId);
    }

    [Fact]
    public async Task Highlight_tag_untag_and_retract_change_what_the_article_lists()
    {
        var analyst = await fixture.AnalystAsync(Unique("hl"), "analyst");
        var other = await fixture.AnalystAsync(Unique("hl-other"), "analyst");

        var byQuote = (
            await analyst.RunAsync(
                "highlight",
                War,
                "--quote",
                "partial military mobilization",
                "--note",
                "key event",
                "--tag",
                "Mobilization",
                "--json"))
            .AssertOk()
            .Json<CreateHighlightResponse>();
        Assert.Equal("partial military mobilization", byQuote.Highlight.Selector.Quote.Exact);
        Assert.Equal("mobilization", Assert.Single(byQuote.Highlight.Tags).Tag);
        var start = byQuote.Highlight.Selector.Position.Start;

        var byPosition = (await analyst.RunAsync("highlight", War, "--start", $"{start}", "--end", $"{start + 7}", "--json"))
            .AssertOk()
            .Json<CreateHighlightResponse>();
        Assert.Equal("partial", byPosition.Highlight.Selector.Quote.Exact);

        var tagged = (await analyst.RunAsync("tag", "escalation", "--highlight", byQuote.Highlight.HighlightId, "--json"))
            .AssertOk()
            .Json<CommandResult>();
        Assert.True(tagged.Position > byPosition.Result.Position);
        (await analyst.RunAsync("untag", "mobilization", "--highlight", byQuote.Highlight.HighlightId)).AssertOk();

        // Only the author may retract.
        (await other.RunAsync("retract", byPosition.Highlight.HighlightId)).AssertExit(4);
        (await analyst.RunAsync("retract", byPosition.Highlight.HighlightId)).AssertOk();

        using var json = JsonDocument.Parse((await analyst.RunAsync("articles", "show", War, "--json")).AssertOk().Stdout);
        var highlights = Google.Protobuf.JsonParser.Default.Parse<ListHighlightsResponse>(
            json.RootElement.GetProperty("highlights").GetRawText());
        var kept = Assert.Single(highlights.Highlights, h => h.HighlightId == byQuote.Highlight.HighlightId);
        Assert.Equal(["escalation"], kept.Tags.Select(t => t.Tag));
        Assert.DoesNotContain(highlights.Highlights, h => h.HighlightId == byPosition.Highlight.HighlightId);

        // As of the moment before the retraction, the retracted highlight is still there.
        var asOf = $"{tagged.Position}";
        using var then = JsonDocument.Parse((await analyst.RunAsync("articles", "show", War, "--as-of", asOf, "--json")).AssertOk().Stdout);
        var earlier = Google.Protobuf.JsonParser.Default.Parse<ListHighlightsResponse>(
            then.RootElement.GetProperty("highlights").GetRawText());
        Assert.Contains(earlier.Highlights, h => h.HighlightId == byPosition.Highlight.HighlightId);
    }

    [Fact]
    public async Task The_majority_claim_is_refuted_adjudicated_and_reopened_through_the_cli()
    {
        var a = await fixture.AnalystAsync(Unique("aigerim"), "analyst");
        var b = await fixture.AnalystAsync(Unique("boris"), "analyst");
        var c = await fixture.AnalystAsync(Unique("chen"), "analyst");
        var judge = await fixture.AnalystAsync(Unique("judge"), "adjudicator");

        var opened = (await a.RunAsync("claim", "open", Claimed, "--quote", Majority, "--json")).AssertOk().Json<OpenClaimResponse>();
        var again = (await b.RunAsync("claim", "open", Claimed, "--quote", Majority, "--json")).AssertOk().Json<OpenClaimResponse>();
        Assert.False(opened.Existing);
        Assert.True(again.Existing);
        Assert.Equal(opened.ClaimId, again.ClaimId);
        var id = opened.ClaimId;

        var twenty = $"{EvidenceArticle}:about 20 percent";
        (await a.RunAsync("stance", id, "refutes", "--rationale", "census", "--evidence", twenty)).AssertOk();
        (await b.RunAsync("stance", id, "refutes", "--evidence", twenty)).AssertOk();
        (await c.RunAsync("stance", id, "needs-context")).AssertOk();
        (await c.RunAsync("tag", "demographics", "--claim", id)).AssertOk();
        var replaced = (await c.RunAsync("stance", id, "supports", "--json")).AssertOk().Json<CommandResult>();

        var view = (await c.RunAsync("claim", "show", id, "--json")).AssertOk().Json<ClaimView>();
        Assert.Equal(ClaimStatus.Refuted, view.Status);
        Assert.Equal(2.0 / 3.0, view.Agreement, 6);
        Assert.Equal(2, view.Evidence.Count);
        Assert.Equal(["demographics"], view.Tags.Select(t => t.Tag));
        Assert.Contains("status:    refuted", (await c.RunAsync("claim", "show", id)).AssertOk().Stdout);

        var refuted = (await c.RunAsync("claim", "list", Claimed, "--status", "refuted", "--json")).AssertOk().Json<ListClaimsResponse>();
        Assert.Contains(refuted.Claims, v => v.ClaimId == id);
        var pending = (await c.RunAsync("claim", "list", Claimed, "--status", "pending", "--json")).AssertOk().Json<ListClaimsResponse>();
        Assert.DoesNotContain(pending.Claims, v => v.ClaimId == id);

        var agreement = (await c.RunAsync("agreement", Claimed, "--json")).AssertOk().Json<ArticleAgreement>();
        Assert.Equal(Claimed, agreement.ArticleId);
        Assert.True(agreement.Analysts >= 3);
        Assert.Contains("alpha", (await c.RunAsync("agreement", Claimed)).AssertOk().Stdout);

        // Withdrawing drops c below the quorum; taking it again restores the vote.
        (await c.RunAsync("withdraw", id)).AssertOk();
        Assert.Equal(ClaimStatus.Pending, (await c.RunAsync("claim", "show", id, "--json")).AssertOk().Json<ClaimView>().Status);
        (await c.RunAsync("stance", id, "supports")).AssertOk();

        // A stale version is refused as a conflict; the current one is accepted.
        var stale = (
            await judge.RunAsync("adjudicate", id, "refutes", "--rationale", "census", "--expected-version", $"{view.Version}")
        ).AssertExit(6);
        Assert.StartsWith("annotate: ", stale.Stderr);
        var current = (await judge.RunAsync("claim", "show", id, "--json")).AssertOk().Json<ClaimView>();
        (
            await judge.RunAsync(
                "adjudicate",
                id,
                "refutes",
                "--rationale",
                "census: about a fifth",
                "--expected-version",
                $"{current.Version}")
        ).AssertOk();
        // An analyst may not adjudicate; a closed claim refuses stances.
        (await a.RunAsync("reopen", id)).AssertExit(4);
        (await a.RunAsync("stance", id, "supports")).AssertExit(6);

        var adjudicated = (await a.RunAsync("claim", "show", id, "--json")).AssertOk().Json<ClaimView>();
        Assert.Equal(ClaimStatus.Adjudicated, adjudicated.Status);
        Assert.Equal(Stance.Refutes, adjudicated.Adjudication.Verdict);
        var before = (await a.RunAsync("claim", "show", id, "--as-of", $"{current.LastPosition}", "--json")).AssertOk().Json<ClaimView>();
        Assert.Equal(ClaimStatus.Refuted, before.Status);
        Assert.True(replaced.Position <= current.LastPosition);

        (await judge.RunAsync("reopen", id, "--reason", "new data")).AssertOk();
        Assert.Equal(ClaimStatus.Refuted, (await a.RunAsync("claim", "show", id, "--json")).AssertOk().Json<ClaimView>().Status);
        (await a.RunAsync("stance", id, "supports")).AssertOk();
    }

    [Fact]
    public async Task Watch_prints_live_events_matching_its_filters_one_json_object_per_line()
    {
        var analyst = await fixture.AnalystAsync(Unique("watcher"), "analyst");
        var claim = (
            await analyst.RunAsync(
                "claim",
                "open",
                War,
                "--quote",
                "the war in Ukraine is now entering a new and possibly much more dangerous phase",
                "--json"))
            .AssertOk()
            .Json<OpenClaimResponse>();
        var from = claim.Result.Position;

        var byClaim = analyst.Start("watch", "--claim", claim.ClaimId, "--from", $"{from}", "--count", "2", "--json");
        var byType = analyst.Start("watch", "--type", "stance-withdrawn.v1", "--from", $"{from}", "--count", "1", "--json");
        // Noise the claim filter must skip.
        (await analyst.RunAsync("highlight", War, "--quote", "Igor Strelkov")).AssertOk();
        var taken = (await analyst.RunAsync("stance", claim.ClaimId, "supports", "--json")).AssertOk().Json<CommandResult>();
        var withdrawn = (await analyst.RunAsync("withdraw", claim.ClaimId, "--json")).AssertOk().Json<CommandResult>();

        var claimEvents = (await byClaim.WaitAsync()).AssertOk().JsonLines<HistoryEvent>();
        Assert.Equal([taken.Position, withdrawn.Position], claimEvents.Select(e => e.Position));
        Assert.Equal(["stance-taken.v1", "stance-withdrawn.v1"], claimEvents.Select(e => e.Type));
        Assert.All(claimEvents, e => Assert.Equal(claim.ClaimId, e.ClaimId));

        var typeEvents = (await byType.WaitAsync()).AssertOk().JsonLines<HistoryEvent>();
        Assert.Equal(withdrawn.Position, Assert.Single(typeEvents).Position);

        // Without --from only new events are printed: the history before the start is read but skipped.
        var live = analyst.Start("watch", "--claim", claim.ClaimId, "--count", "1", "--json");
        await live.WaitForOutputAsync("watching live from position", onStderr: true);
        var retaken = (await analyst.RunAsync("stance", claim.ClaimId, "refutes", "--json")).AssertOk().Json<CommandResult>();
        Assert.Equal(retaken.Position, Assert.Single((await live.WaitAsync()).AssertOk().JsonLines<HistoryEvent>()).Position);

        // Ctrl+C ends a watch quietly, with the shell's exit code for it.
        var interrupted = analyst.Start("watch", "--article", War);
        await interrupted.WaitForOutputAsync("watching live from position", onStderr: true);
        await interrupted.SignalAsync("INT");
        var stopped = (await interrupted.WaitAsync()).AssertExit(130);
        Assert.DoesNotContain("annotate: ", stopped.Stderr);

        // Human output: one line per event, naming type and actor.
        var human = (await analyst.RunAsync("watch", "--claim", claim.ClaimId, "--from", $"{from}", "--count", "1")).AssertOk().Stdout;
        Assert.Contains("stance-taken.v1", human);
        Assert.Contains(claim.ClaimId, human);
    }

    [Fact]
    public async Task Replay_prints_a_range_for_auditors_and_refuses_analysts()
    {
        var auditor = await fixture.AnalystAsync(Unique("auditor"), "auditor");
        var analyst = await fixture.AnalystAsync(Unique("replayer"), "analyst");
        var h = (await analyst.RunAsync("highlight", Troops, "--quote", "A lot is at stake in Kazakhstan at the moment", "--json"))
            .AssertOk()
            .Json<CreateHighlightResponse>();

        var range = (await auditor.RunAsync("replay", "--from", "2", "--to", "4", "--json")).AssertOk().JsonLines<HistoryEvent>();
        Assert.Equal([2UL, 3, 4], range.Select(e => e.Position));

        var all = (await auditor.RunAsync("replay", "--article", Troops, "--json")).AssertOk().JsonLines<HistoryEvent>();
        Assert.Contains(all, e => e.Position == h.Result.Position && e.Type == "highlight-created.v1");
        Assert.All(all, e => Assert.Equal(Troops, e.ArticleId));
        Assert.Equal(all.Select(e => e.Position).Order(), all.Select(e => e.Position));

        var byTime = (
            await auditor.RunAsync("replay", "--from", h.Result.RecordedAt.ToDateTimeOffset().AddMilliseconds(-1).ToString("O"), "--json"))
            .AssertOk()
            .JsonLines<HistoryEvent>();
        Assert.Contains(byTime, e => e.Position == h.Result.Position);

        Assert.Contains(
            "highlight-created.v1",
            (await auditor.RunAsync("replay", "--from", $"{h.Result.Position}", "--to", $"{h.Result.Position}")).AssertOk().Stdout);
        (await analyst.RunAsync("replay")).AssertExit(4);

        // On a terminal a progress line is drawn on stderr (the pseudo-terminal shows both streams).
        var terminal = (await auditor.RunInTerminalAsync("replay", "--from", "1", "--to", $"{h.Result.Position}")).AssertOk().Stdout;
        Assert.Contains($"{h.Result.Position} events replayed", terminal);
        var piped = (await auditor.RunAsync("replay", "--from", "1", "--to", $"{h.Result.Position}")).AssertOk();
        Assert.Equal("", piped.Stderr);
    }

    [Fact]
    public async Task Audit_verify_says_OK_checks_receipts_and_fails_on_a_false_one()
    {
        var auditor = await fixture.AnalystAsync(Unique("verifier"), "auditor");
        var analyst = await fixture.AnalystAsync(Unique("receipt"), "analyst");
        var h = (await analyst.RunAsync("highlight", Troops, "--quote", "both for the Kazakh government", "--json"))
            .AssertOk()
            .Json<CreateHighlightResponse>();
        var receipt = $"{h.Result.Position}:{h.Result.ReceiptHash}";

        var ok = (await auditor.RunAsync("audit", "verify", "--receipt", receipt)).AssertOk();
        Assert.StartsWith("OK: ", ok.Stdout);
        Assert.Contains($"receipt {receipt}: holds", ok.Stdout);

        var result = (await auditor.RunAsync("audit", "verify", "--receipt", receipt, "--json")).AssertOk().Json<VerifyResult>();
        Assert.True(result.Ok);
        Assert.True(result.EventsChecked >= h.Result.Position);

        var forged = $"{h.Result.Position}:{new string('0', 64)}";
        var bad = (await auditor.RunAsync("audit", "verify", "--receipt", forged)).AssertExit(1);
        Assert.Contains("DOES NOT HOLD", bad.Stdout);
        (await analyst.RunAsync("audit", "verify")).AssertExit(4);
        Assert.Contains("checked ", (await auditor.RunInTerminalAsync("audit", "verify")).AssertOk().Stdout);
    }

    [Fact]
    public async Task Admin_manages_analysts_roles_and_tokens_and_a_revoked_token_stops_working()
    {
        var admin = fixture.Admin();
        var id = Unique("dana");

        var created = (await admin.RunAsync("admin", "analysts", "create", id, "--name", "Dana", "--role", "analyst", "--json"))
            .AssertOk()
            .Json<Analyst>();
        Assert.Equal([Role.Analyst], created.Roles);
        (await admin.RunAsync("admin", "analysts", "create", id, "--name", "Dana again", "--role", "analyst")).AssertExit(6);

        var updated = (await admin.RunAsync("admin", "analysts", "roles", id, "--role", "analyst", "--role", "auditor", "--json"))
            .AssertOk()
            .Json<Analyst>();
        Assert.Equal([Role.Analyst, Role.Auditor], updated.Roles.Order());
        var listed = (await admin.RunAsync("admin", "analysts", "list", "--json")).AssertOk().Json<ListAnalystsResponse>();
        Assert.Contains(listed.Analysts, a => a.AnalystId == id && a.Roles.Contains(Role.Auditor));

        var issued = (
            await admin.RunAsync("admin", "tokens", "issue", id, "--label", "laptop", "--expires", "2099-01-01T00:00:00Z", "--json"))
            .AssertOk()
            .Json<IssueTokenResponse>();
        Assert.Equal(id, issued.Token.AnalystId);
        var tokens = (await admin.RunAsync("admin", "tokens", "list", "--analyst", id, "--json")).AssertOk().Json<ListTokensResponse>();
        var token = Assert.Single(tokens.Tokens);
        Assert.Equal("laptop", token.Label);
        Assert.False(token.Revoked);

        var dana = new Cli(fixture.Server.Address, issued.Secret);
        (await dana.RunAsync("login")).AssertOk();
        Assert.Equal(id, (await dana.RunAsync("login", "--json")).AssertOk().Json<Analyst>().AnalystId);
        (await dana.RunAsync("admin", "analysts", "list")).AssertExit(4);

        (await admin.RunAsync("admin", "tokens", "revoke", issued.Token.TokenId)).AssertOk();
        Assert.True(
            (await admin.RunAsync("admin", "tokens", "list", "--analyst", id, "--json"))
                .AssertOk()
                .Json<ListTokensResponse>()
                .Tokens.Single()
                .Revoked);
        (await dana.RunAsync("articles", "list")).AssertExit(4);
    }

    [Fact]
    public async Task Export_writes_web_annotation_json_ld_and_consensus_csv()
    {
        var analyst = await fixture.AnalystAsync(Unique("exporter"), "analyst");
        const string article = "kazakhstan-crisis-saved-ukraine";
        var text = (await analyst.RunAsync("articles", "show", article, "--json")).AssertOk().Stdout;
        using var doc = JsonDocument.Parse(text);
        var body = doc.RootElement.GetProperty("article").GetProperty("text").GetString()!;
        var words = body.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var quote = string.Join(' ', words.Skip(12).Take(6)); // a span well inside the text
        var h = (await analyst.RunAsync("highlight", article, "--quote", quote, "--note", "see", "--tag", "x1", "--json"))
            .AssertOk()
            .Json<CreateHighlightResponse>();
        var c = (await analyst.RunAsync("claim", "open", article, "--quote", string.Join(' ', words.Skip(30).Take(8)), "--json"))
            .AssertOk()
            .Json<OpenClaimResponse>();
        (await analyst.RunAsync("stance", c.ClaimId, "unverifiable", "--rationale", "no source, \"none\"")).AssertOk();

        var path = Path.Combine(analyst.ConfigHome, "out.jsonld");
        (await analyst.RunAsync("export", article, "--format", "w3c", "-o", path)).AssertOk();
        using var ld = JsonDocument.Parse(File.ReadAllText(path));
        Assert.Equal("http://www.w3.org/ns/anno.jsonld", ld.RootElement.GetProperty("@context").GetString());
        Assert.Equal("AnnotationCollection", ld.RootElement.GetProperty("type").GetString());
        var items = ld.RootElement.GetProperty("first").GetProperty("items").EnumerateArray().ToList();
        var highlight = Assert.Single(items, i => i.GetProperty("id").GetString() == $"urn:annotate:highlight:{h.Highlight.HighlightId}");
        Assert.Equal("highlighting", highlight.GetProperty("motivation").GetString());
        var selectors = highlight.GetProperty("target").GetProperty("selector").EnumerateArray().ToList();
        Assert.Equal(
            (int)h.Highlight.Selector.Position.Start,
            selectors.Single(s => s.GetProperty("type").GetString() == "TextPositionSelector").GetProperty("start").GetInt32());
        Assert.Equal(
            h.Highlight.Selector.Quote.Exact,
            selectors.Single(s => s.GetProperty("type").GetString() == "TextQuoteSelector").GetProperty("exact").GetString());
        Assert.Contains(
            items,
            i =>
                i.GetProperty("id").GetString() == $"urn:annotate:claim:{c.ClaimId}"
                && i.GetProperty("motivation").GetString() == "assessing");

        var csvPath = Path.Combine(analyst.ConfigHome, "claims.csv");
        (await analyst.RunAsync("export", article, "--format", "csv", "--output", csvPath)).AssertOk();
        var csv = File.ReadAllText(csvPath);
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries); // RFC 4180 line ends
        Assert.StartsWith("claim_id,article_id,start,end,quote,statement,status", lines[0]);
        var row = lines.SingleOrDefault(l => l.StartsWith(c.ClaimId, StringComparison.Ordinal));
        Assert.True(row is not null, $"no row for claim {c.ClaimId} in:\n{csv}");
        Assert.Contains(",pending,unverifiable,1,0,0,0,1,", row);

        (await analyst.RunAsync("export", article, "--format", "pdf")).AssertExit(2);
    }

    [Fact]
    public async Task Server_refusals_that_name_fields_are_told_with_the_cli_options_and_commands_that_fit()
    {
        var analyst = await fixture.AnalystAsync(Unique("hints"), "analyst");

        var unknown = (await analyst.RunAsync("articles", "show", "no-such-article")).AssertExit(3);
        var ambiguous = (await analyst.RunAsync("highlight", Troops, "--quote", "fuel price hike")).AssertExit(2);

        Assert.Contains("`annotate articles list` shows the ids", unknown.Stderr);
        Assert.Contains("--prefix/--suffix", ambiguous.Stderr);
        Assert.DoesNotContain("quote.prefix", ambiguous.Stderr);
    }

    [Fact]
    public async Task Failures_exit_with_their_documented_codes_and_one_line_on_stderr()
    {
        var analyst = await fixture.AnalystAsync(Unique("oops"), "analyst");
        var anonymous = new Cli(fixture.Server.Address, token: null);
        var nowhere = new Cli($"http://127.0.0.1:{ServerProcess.FreePort()}", fixture.Server.AdminToken);

        var cases = new (Cli Cli, string[] Args, int Exit)[]
        {
            (analyst, ["frobnicate"], 2),
            (analyst, ["highlight", War], 2), // no span
            (analyst, ["highlight", War, "--start", "5"], 2),
            (analyst, ["stance", "c1", "maybe"], 2),
            (analyst, ["highlight", Troops, "--quote", "fuel price hike"], 2), // ambiguous: the article repeats it
            (analyst, ["highlight", War, "--quote", "words that appear nowhere in the article"], 2), // INVALID_ARGUMENT
            (analyst, ["claim", "show", "no-such-claim"], 3),
            (analyst, ["articles", "show", "no-such-article"], 3),
            (anonymous, ["articles", "list"], 4),
            (analyst, ["admin", "tokens", "list"], 4),
            (nowhere, ["articles", "list", "--retries", "2"], 5),
        };
        foreach (var (cli, args, exit) in cases)
        {
            var r = (await cli.RunAsync(args)).AssertExit(exit);
            var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length >= 1, r.Describe());
            Assert.All(lines, l => Assert.StartsWith("annotate: ", l));
            Assert.Equal("", r.Stdout);
        }
    }

    [Fact]
    public async Task Help_documents_every_command_with_examples_and_the_exit_codes()
    {
        var cli = new Cli(null, null);
        var root = (await cli.RunAsync("--help")).AssertOk().Stdout;
        foreach (
            var command in new[]
            {
                "login",
                "articles",
                "highlight",
                "tag",
                "untag",
                "retract",
                "claim",
                "stance",
                "withdraw",
                "adjudicate",
                "reopen",
                "watch",
                "replay",
                "audit",
                "agreement",
                "admin",
                "export",
            })
        {
            Assert.Contains($"\n  {command}", root);
        }

        Assert.Contains("5  server unavailable", root);

        foreach (
            var path in new[]
            {
                "login",
                "articles list",
                "articles show",
                "highlight",
                "tag",
                "untag",
                "retract",
                "claim open",
                "claim show",
                "claim list",
                "stance",
                "withdraw",
                "adjudicate",
                "reopen",
                "watch",
                "replay",
                "audit verify",
                "agreement",
                "admin analysts list",
                "admin analysts create",
                "admin analysts roles",
                "admin analysts erase",
                "admin tokens list",
                "admin tokens issue",
                "admin tokens revoke",
                "export",
            })
        {
            var help = (await cli.RunAsync([.. path.Split(' '), "--help"])).AssertOk().Stdout;
            Assert.Contains("Examples:", help);
            Assert.Contains($"annotate {path}", help);
        }
    }

    [Fact]
    public async Task The_same_request_id_sent_twice_performs_the_action_once()
    {
        var analyst = await fixture.AnalystAsync(Unique("twice"), "analyst");
        var auditor = await fixture.AnalystAsync(Unique("counter"), "auditor");
        var requestId = Guid.NewGuid().ToString();

        var first = (await analyst.RunAsync("highlight", Troops, "--quote", "Source link", "--request-id", requestId, "--json"))
            .AssertOk()
            .Json<CreateHighlightResponse>();
        var second = (await analyst.RunAsync("highlight", Troops, "--quote", "Source link", "--request-id", requestId, "--json"))
            .AssertOk()
            .Json<CreateHighlightResponse>();

        Assert.False(first.Result.Deduplicated);
        Assert.True(second.Result.Deduplicated);
        Assert.Equal(first.Highlight.HighlightId, second.Highlight.HighlightId);
        Assert.Equal(first.Result.Position, second.Result.Position);
        var events = (await auditor.RunAsync("replay", "--article", Troops, "--json")).AssertOk().JsonLines<HistoryEvent>();
        Assert.Single(events, e => e.RequestId == requestId);
    }
}
