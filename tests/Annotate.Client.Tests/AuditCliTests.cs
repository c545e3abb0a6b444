using System.Diagnostics;
using System.Text.Json;
using Annotate.Contracts.V1;
using Npgsql;

namespace Annotate.Client.Tests;

/// <summary>
/// A server with the seed dispute played through the CLI once: three analysts open the "large Russian majority" claim and
/// take stances (two refute citing "about 20 percent", one supports), a judge adjudicates it refuted, then reopens it.
/// </summary>
public sealed class AuditCliServer : IAsyncLifetime
{
    public const string Claimed = "russia-involvement-kazakhstan-crisis";
    public const string Majority = "Kazakhstan has a large Russian majority";
    public const string EvidenceArticle = "kazakhstan-concerned-about-invasion";

    public CliServer Cli { get; } = new();
    public Cli Auditor { get; private set; } = null!;
    public string ClaimId { get; private set; } = "";
    public CommandResult Refuted { get; private set; } = null!;
    public CommandResult Adjudicated { get; private set; } = null!;
    public CommandResult Reopened { get; private set; } = null!;
    public string[] Analysts { get; private set; } = [];

    public async Task InitializeAsync()
    {
        await Cli.InitializeAsync();
        Auditor = await Cli.AnalystAsync("auditor", "auditor");
        Analysts = ["aigerim", "boris", "chen"];
        var a = await Cli.AnalystAsync("aigerim", "analyst");
        var b = await Cli.AnalystAsync("boris", "analyst");
        var c = await Cli.AnalystAsync("chen", "analyst");
        var judge = await Cli.AnalystAsync("judge", "adjudicator");
        ClaimId = (await a.RunAsync("claim", "open", Claimed, "--quote", Majority, "--json")).AssertOk().Json<OpenClaimResponse>().ClaimId;
        var twenty = $"{EvidenceArticle}:about 20 percent";
        (await a.RunAsync("stance", ClaimId, "refutes", "--rationale", "census", "--evidence", twenty)).AssertOk();
        (await b.RunAsync("stance", ClaimId, "refutes", "--rationale", "a fifth", "--evidence", twenty)).AssertOk();
        Refuted = (await c.RunAsync("stance", ClaimId, "supports", "--json")).AssertOk().Json<CommandResult>();
        Adjudicated = (await judge.RunAsync("adjudicate", ClaimId, "refutes", "--rationale", "Russians are about a fifth.", "--json"))
            .AssertOk().Json<CommandResult>();
        Reopened = (await judge.RunAsync("reopen", ClaimId, "--reason", "new census data", "--json")).AssertOk().Json<CommandResult>();
    }

    public Task DisposeAsync() => Cli.DisposeAsync();

    /// <summary>Runs SQL on the server's database, behind its back.</summary>
    public async Task<object?> SqlAsync(string sql, params object[] args)
    {
        await using var conn = new NpgsqlConnection(Cli.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var arg in args) cmd.Parameters.AddWithValue(arg);
        return await cmd.ExecuteScalarAsync();
    }
}

/// <summary>The auditor's commands: the published head, the offline bundle, ClaimReview export, claim timelines and diffs.</summary>
public sealed class AuditCliTests(AuditCliServer fixture) : IClassFixture<AuditCliServer>
{
    private const string Python = "/usr/bin/python3";

    [Fact]
    public async Task A_published_head_is_extended_by_later_events_and_refused_once_an_event_before_it_is_altered()
    {
        var head = (await fixture.Auditor.RunAsync("audit", "head")).AssertOk().Stdout.Trim();
        var json = (await fixture.Auditor.RunAsync("audit", "head", "--json")).AssertOk().Json<ChainHead>();
        Assert.Equal(json.Text, head);
        Assert.Matches($"^annotate-head {json.Position} [0-9a-f]{{64}} \\d{{4}}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{{6}}Z$", head);
        Assert.True(json.Position >= fixture.Reopened.Position);

        // Later events extend the head; any role may read the head, which is meant to be public.
        var analyst = await fixture.Cli.AnalystAsync("later", "analyst");
        (await analyst.RunAsync("highlight", AuditCliServer.Claimed, "--quote", AuditCliServer.Majority)).AssertOk();
        Assert.NotEqual(head, (await analyst.RunAsync("audit", "head")).AssertOk().Stdout.Trim());
        var extended = (await fixture.Auditor.RunAsync("audit", "verify", "--against", head)).AssertOk();
        Assert.Contains($"the log extends head {json.Position}", extended.Stderr);
        (await fixture.Auditor.RunAsync("audit", "verify", "--against", $"{json.Position}:{json.Link}")).AssertOk();

        // A head that was never published (another link at that position) is refused.
        var forged = $"annotate-head {json.Position} {new string('a', 64)} {head.Split(' ')[^1]}";
        Assert.Contains("does NOT extend", (await fixture.Auditor.RunAsync("audit", "verify", "--against", forged)).AssertExit(1).Stderr);

        // Alter an event before the head: the log no longer extends it.
        var target = fixture.Refuted.Position;
        var original = (string)(await fixture.SqlAsync("SELECT data::text FROM annotate.mt_events WHERE seq_id = $1", (long)target))!;
        await fixture.SqlAsync("UPDATE annotate.mt_events SET data = jsonb_set(data, '{rationale}', '\"edited\"') WHERE seq_id = $1",
            (long)target);
        try
        {
            var refused = (await fixture.Auditor.RunAsync("audit", "verify", "--against", head)).AssertExit(1);
            Assert.Contains($"BROKEN at position {target}", refused.Stdout);
            Assert.Contains("does NOT extend", refused.Stderr);
        }
        finally
        {
            await fixture.SqlAsync("UPDATE annotate.mt_events SET data = $1::jsonb WHERE seq_id = $2", original, (long)target);
        }
        (await fixture.Auditor.RunAsync("audit", "verify", "--against", head)).AssertOk();
    }

    [Fact]
    public async Task The_bundle_verifies_offline_and_names_the_event_whose_data_lost_one_byte()
    {
        var dir = Path.Combine(fixture.Cli.Directory_, "bundle-" + Guid.NewGuid().ToString("N"));
        var receipt = $"{fixture.Adjudicated.Position}:{fixture.Adjudicated.ReceiptHash}";
        var written = (await fixture.Auditor.RunAsync("audit", "export", "--output", dir, "--receipt", receipt)).AssertOk();
        Assert.Contains("wrote ", written.Stdout);
        foreach (var file in new[] { "events.jsonl", "chain.jsonl", "head.json", "receipts.txt", "verify.py", "README.md" })
            Assert.True(File.Exists(Path.Combine(dir, file)), file);

        var ok = await PythonAsync(Path.Combine(dir, "verify.py"));
        Assert.True(ok.Code == 0, ok.Output);
        Assert.StartsWith("OK: ", ok.Output);
        Assert.Contains("1 receipt(s) hold", ok.Output);

        // Each line is the event as stored: its data is PostgreSQL's jsonb text; a token's secret hash is withheld.
        var lines = File.ReadAllLines(Path.Combine(dir, "events.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(lines.Select(l => l.GetProperty("position").GetInt64()).Order(),
            lines.Select(l => l.GetProperty("position").GetInt64()));
        Assert.All(lines.Where(l => l.GetProperty("type").GetString() == "token-issued.v1"),
            l => Assert.Equal(JsonValueKind.Null, l.GetProperty("data").ValueKind));
        var stance = lines.Single(l => l.GetProperty("position").GetInt64() == (long)fixture.Refuted.Position);
        Assert.Equal("stance-taken.v1", stance.GetProperty("type").GetString());
        var stored = (string)(await fixture.SqlAsync(
            "SELECT data::text FROM annotate.mt_events WHERE seq_id = $1", (long)fixture.Refuted.Position))!;
        Assert.Equal(stored, stance.GetProperty("data").GetString());

        // A receipt the log never issued does not hold.
        var forged = await PythonAsync(
            Path.Combine(dir, "verify.py"), dir, "--receipt", $"{fixture.Adjudicated.Position}:{new string('0', 64)}");
        Assert.Equal(1, forged.Code);

        // One byte of the claim's opening data changed ("Russian" -> "Rossian"): the verifier names that event.
        var path = Path.Combine(dir, "events.jsonl");
        var bytes = File.ReadAllBytes(path);
        var opening = lines.Single(l => l.GetProperty("type").GetString() == "claim-opened.v1"
                                        && l.GetProperty("data").GetString()!.Contains(fixture.ClaimId, StringComparison.Ordinal));
        var position = opening.GetProperty("position").GetInt64();
        var lineStart = bytes.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes($"{{\"position\":{position},"));
        var at = lineStart + bytes.AsSpan(lineStart).IndexOf("Russian majority"u8) + 1;
        Assert.Equal((byte)'u', bytes[at]);
        bytes[at] = (byte)'o';
        File.WriteAllBytes(path, bytes);

        var broken = await PythonAsync(Path.Combine(dir, "verify.py"));
        Assert.Equal(1, broken.Code);
        Assert.StartsWith($"BROKEN: the data of event {position} (claim-opened.v1", broken.Output);
    }

    [Fact]
    public async Task ClaimReview_export_has_the_properties_googles_fact_check_markup_requires_for_each_decided_claim()
    {
        var analyst = await fixture.Cli.AnalystAsync("reader", "analyst");
        var file = Path.Combine(fixture.Cli.Directory_, "reviews.jsonld");
        (await analyst.RunAsync("export", AuditCliServer.Claimed, "--format", "claimreview", "--org-name", "Example Desk",
            "--org-url", "https://desk.example.org", "--url-base", "https://desk.example.org/checks/", "-o", file)).AssertOk();

        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        var review = Assert.Single(doc.RootElement.EnumerateArray(),
            r => r.GetProperty("url").GetString()!.EndsWith(fixture.ClaimId, StringComparison.Ordinal));
        // Required by Google: claimReviewed, reviewRating (with alternateName), url; recommended: author, datePublished, itemReviewed.
        Assert.Contains("https://schema.org", review.GetProperty("@context")[0].GetString());
        Assert.Equal("ClaimReview", review.GetProperty("@type").GetString());
        Assert.Equal(AuditCliServer.Majority, review.GetProperty("claimReviewed").GetString());
        Assert.Equal($"https://desk.example.org/checks/claims/{fixture.ClaimId}", review.GetProperty("url").GetString());
        var rating = review.GetProperty("reviewRating");
        Assert.Equal("Rating", rating.GetProperty("@type").GetString());
        Assert.Equal("False", rating.GetProperty("alternateName").GetString());
        Assert.Equal(1, rating.GetProperty("ratingValue").GetInt32());
        Assert.Equal(5, rating.GetProperty("bestRating").GetInt32());
        Assert.Equal(1, rating.GetProperty("worstRating").GetInt32());
        var author = review.GetProperty("author");
        Assert.Equal("Organization", author.GetProperty("@type").GetString());
        Assert.Equal("Example Desk", author.GetProperty("name").GetString());
        Assert.Equal("https://desk.example.org", author.GetProperty("url").GetString());
        Assert.True(DateTimeOffset.TryParse(review.GetProperty("datePublished").GetString(), out _));
        var item = review.GetProperty("itemReviewed");
        Assert.Equal("Claim", item.GetProperty("@type").GetString());
        var appearance = item.GetProperty("appearance");
        Assert.Equal($"https://desk.example.org/checks/articles/{AuditCliServer.Claimed}", appearance.GetProperty("url").GetString());
        var selectors = appearance.GetProperty("selector").EnumerateArray().ToList();
        // The selector quotes the article exactly (its line break included); claimReviewed is the statement on one line.
        var exact = selectors.Single(s => s.GetProperty("@type").GetString() == "TextQuoteSelector").GetProperty("exact").GetString()!;
        Assert.Equal(AuditCliServer.Majority, string.Join(' ', exact.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)));
        var position = selectors.Single(s => s.GetProperty("@type").GetString() == "TextPositionSelector");
        Assert.Equal(exact.Length, position.GetProperty("end").GetInt32() - position.GetProperty("start").GetInt32());
        var citations = review.GetProperty("citation").EnumerateArray().ToList();
        Assert.Equal(2, citations.Count);
        Assert.All(citations, c => Assert.Equal("about 20 percent", c.GetProperty("selector")[0].GetProperty("exact").GetString()));

        // As of the adjudication the rating comes from the verdict; before the third stance the claim was pending: no review.
        var adjudicated = (await analyst.RunAsync("export", AuditCliServer.Claimed, "--format", "claimreview", "--org-name", "Example Desk",
            "--url-base", "https://desk.example.org", "--as-of", $"{fixture.Adjudicated.Position}")).AssertOk();
        using (var asOf = JsonDocument.Parse(adjudicated.Stdout))
        {
            var r = Assert.Single(asOf.RootElement.EnumerateArray(),
                r => r.GetProperty("url").GetString()!.EndsWith(fixture.ClaimId, StringComparison.Ordinal));
            Assert.Equal("False", r.GetProperty("reviewRating").GetProperty("alternateName").GetString());
        }
        var pending = (await analyst.RunAsync("export", AuditCliServer.Claimed, "--format", "claimreview", "--org-name", "Example Desk",
            "--url-base", "https://desk.example.org", "--as-of", $"{fixture.Refuted.Position - 1}")).AssertOk();
        Assert.DoesNotContain(fixture.ClaimId, pending.Stdout);

        (await analyst.RunAsync("export", AuditCliServer.Claimed, "--format", "claimreview", "--url-base", "https://x.example"))
            .AssertExit(2);
    }

    [Fact]
    public async Task The_timeline_of_the_seed_dispute_goes_pending_refuted_adjudicated_and_back_to_refuted_on_reopening()
    {
        var timeline = (await fixture.Auditor.RunAsync("claim", "timeline", fixture.ClaimId, "--json")).AssertOk().Json<ClaimTimeline>();

        var statusChanges = timeline.Entries.Where(e => e.Changed.Contains("status")).ToList();
        Assert.Equal(
            [ClaimStatus.Pending, ClaimStatus.Refuted, ClaimStatus.Adjudicated, ClaimStatus.Refuted],
            statusChanges.Select(e => e.After.Status));
        Assert.Equal(["claim-opened.v1", "stance-taken.v1", "claim-adjudicated.v1", "claim-reopened.v1"],
            statusChanges.Select(e => e.EventType));
        Assert.Equal([fixture.Refuted.Position, fixture.Adjudicated.Position, fixture.Reopened.Position],
            statusChanges.Skip(1).Select(e => e.Position));
        Assert.Equal(["aigerim", "chen", "judge", "judge"], statusChanges.Select(e => e.Analyst.Split('-')[0]));
        var refuting = statusChanges[1];
        Assert.Equal(ClaimStatus.Pending, refuting.Before.Status);
        Assert.Equal(2.0 / 3.0, refuting.After.Agreement, 6);
        Assert.Equal(Stance.Refutes, refuting.After.LeadingStance);
        Assert.Equal([(Stance.Supports, 1u), (Stance.Refutes, 2u)], refuting.After.Tallies.Select(t => (t.Stance, t.Count)));
        Assert.Equal(Stance.Refutes, statusChanges[2].After.Verdict);
        // The first refutation changed no status but the leading stance and the agreement: it is in the timeline too.
        Assert.Contains(timeline.Entries,
            e => e.EventType == "stance-taken.v1" && e.Changed.SequenceEqual(["leading_stance", "agreement"]));

        // Why REFUTED now: the two refuting stances (of three), no adjudication.
        Assert.Equal(ClaimStatus.Refuted, timeline.Why.Status);
        Assert.Equal(3u, timeline.Why.CurrentStances);
        Assert.Equal(2, timeline.Why.Stances.Count);
        Assert.All(timeline.Why.Stances, s => Assert.Equal(Stance.Refutes, s.Stance));
        Assert.Null(timeline.Why.Adjudication);

        // Until the adjudication: the verdict is why; since the adjudication: only the last two changes.
        var then = (await fixture.Auditor.RunAsync(
            "claim", "timeline", fixture.ClaimId, "--until", $"{fixture.Adjudicated.Position}", "--json"))
            .AssertOk().Json<ClaimTimeline>();
        Assert.Equal(ClaimStatus.Adjudicated, then.Why.Status);
        Assert.Equal(Stance.Refutes, then.Why.Adjudication.Verdict);
        Assert.Equal(fixture.Adjudicated.Position, then.Entries[^1].Position);
        var since = (await fixture.Auditor.RunAsync(
            "claim", "timeline", fixture.ClaimId, "--since", $"{fixture.Adjudicated.Position}", "--json"))
            .AssertOk().Json<ClaimTimeline>();
        Assert.Equal([fixture.Adjudicated.Position, fixture.Reopened.Position], since.Entries.Select(e => e.Position));

        var human = (await fixture.Auditor.RunAsync("claim", "timeline", fixture.ClaimId)).AssertOk().Stdout;
        Assert.Contains($"#{fixture.Adjudicated.Position} ", human);
        Assert.Contains("refuted -> adjudicated", human);
        Assert.Contains("why refuted: 2 of 3 current stances REFUTES", human);

        (await fixture.Auditor.RunAsync("claim", "timeline", "nosuchclaim")).AssertExit(3);
    }

    [Fact]
    public async Task A_diff_across_the_adjudication_shows_the_status_and_verdict_changing()
    {
        var before = $"{fixture.Adjudicated.Position - 1}";
        var after = $"{fixture.Adjudicated.Position}";
        var claim = (await fixture.Auditor.RunAsync("claim", "diff", fixture.ClaimId, "--from", before, "--to", after)).AssertOk().Stdout;
        Assert.Matches(@"\* status\s+refuted\s+adjudicated", claim);
        Assert.Matches(@"\* verdict\s+-\s+refutes by judge", claim);
        Assert.Matches(@"(?m)^  tallies", claim);

        var article = (await fixture.Auditor.RunAsync(
            "articles", "diff", AuditCliServer.Claimed, "--from", before, "--to", after)).AssertOk().Stdout;
        Assert.Contains($"{fixture.ClaimId} ", article);
        Assert.Contains("status refuted -> adjudicated", article);

        var opened = (await fixture.Auditor.RunAsync("claim", "diff", fixture.ClaimId, "--from", "1", "--json")).AssertOk().Stdout;
        using var json = JsonDocument.Parse(opened);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("from").ValueKind);
        Assert.Equal("CLAIM_STATUS_REFUTED", json.RootElement.GetProperty("to").GetProperty("status").GetString());
    }

    private static async Task<(int Code, string Output)> PythonAsync(params string[] args)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }
}
