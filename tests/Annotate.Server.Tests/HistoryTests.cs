using Annotate.Contracts.V1;
using Npgsql;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>The History service end to end: subscribe (catch-up, marker, live, resume, filters), replay ranges, audit
/// verification.</summary>
public sealed class HistoryTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Text = "The dam holds forty million cubic metres. It was finished in 1968. Engineers call it safe.";

    private GrpcChannel Ch => server.Channel;

    private async Task<(string Article, string Claim, List<CommandResult> Results)> ActivityAsync(CallOptions who)
    {
        var article = await server.ImportAsync(Text);
        var opened = await Ch.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = article, Selector = Quote("It was finished in 1968.") }, who);
        var stance = await Ch.Claims().TakeStanceAsync(
            new TakeStanceRequest { RequestId = Rid(), ClaimId = opened.ClaimId, Stance = Stance.Supports, Rationale = "archive" }, who);
        var highlight = await Ch.Annotations().CreateHighlightAsync(
            new CreateHighlightRequest { RequestId = Rid(), ArticleId = article, Selector = Quote("Engineers call it safe.") }, who);
        return (article, opened.ClaimId, [opened.Result, stance, highlight.Result]);
    }

    private static SubscribeRequest After(ulong position, string article = "", string claim = "") =>
        new() { AfterPosition = position, Filter = new EventFilter { ArticleId = article, ClaimId = claim } };

    private static bool CaughtUp(List<SubscribeResponse> seen) =>
        seen.Any(m => m.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition);

    private static List<HistoryEvent> Events(IEnumerable<SubscribeResponse> messages) =>
        messages.Where(m => m.ItemCase == SubscribeResponse.ItemOneofCase.Event).Select(m => m.Event).ToList();

    private async Task<List<SubscribeResponse>> CatchUpAsync(SubscribeRequest request, CallOptions who)
    {
        using var cts = new CancellationTokenSource();
        using var call = Ch.History().Subscribe(request, Streaming(who, cts.Token));
        var seen = await ReadUntilAsync(call.ResponseStream, CaughtUp);
        await cts.CancelAsync();
        return seen;
    }

    [Fact]
    public async Task Subscribe_catches_up_sends_one_marker_then_delivers_an_event_made_by_another_analyst()
    {
        var (ana, anaCall) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (bob, bobCall) = await server.NewAnalystAsync("bob", Role.Analyst);
        var (article, claim, results) = await ActivityAsync(anaCall);
        using var cts = new CancellationTokenSource();
        using var call = Ch.History().Subscribe(After(0, article), Streaming(anaCall, cts.Token));

        var catchUp = await ReadUntilAsync(call.ResponseStream, CaughtUp);

        var events = Events(catchUp);
        Assert.Equal(["article-imported.v1", "claim-opened.v1", "stance-taken.v1", "highlight-created.v1"], events.Select(e => e.Type));
        Assert.All(events, e => Assert.Equal(article, e.ArticleId));
        Assert.Equal(results.Select(r => r.Position), events.Skip(1).Select(e => e.Position));
        Assert.True(catchUp[^1].CaughtUpPosition >= results[^1].Position);

        var live = await Ch.Claims().TakeStanceAsync(
            new TakeStanceRequest { RequestId = "bob-refutes", ClaimId = claim, Stance = Stance.Refutes, Rationale = "survey" }, bobCall);
        var arrived = await ReadUntilAsync(call.ResponseStream, seen => Events(seen).Any(e => e.Position == live.Position));

        Assert.DoesNotContain(arrived, CaughtUpMarker);
        var e = Assert.Single(Events(arrived));
        Assert.Equal("stance-taken.v1", e.Type);
        Assert.Equal(bob, e.Actor);
        Assert.Equal(claim, e.ClaimId);
        Assert.Equal(article, e.ArticleId);
        Assert.Equal($"claim-{claim}", e.StreamId);
        Assert.Equal(live.StreamVersion, e.StreamVersion);
        Assert.Equal(live.RecordedAt, e.RecordedAt);
        Assert.Equal(live.ReceiptHash, e.Hash);
        Assert.Equal("bob-refutes", e.RequestId);
        Assert.Contains("REFUTES", e.DataJson, StringComparison.OrdinalIgnoreCase);
        Assert.NotEqual(ana, e.Actor);
        await cts.CancelAsync();
    }

    private static bool CaughtUpMarker(SubscribeResponse m) => m.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition;

    [Fact]
    public async Task A_burst_of_live_events_reaches_a_gzip_and_a_plain_subscriber_in_order_exactly_as_replay_reads_them()
    {
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (article, _, _) = await ActivityAsync(who);
        using var plainChannel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { CompressionProviders = [] });
        using var cts = new CancellationTokenSource();
        using var gzipCall = Ch.History().Subscribe(After(0, article), Streaming(who, cts.Token));
        using var plainCall = plainChannel.History().Subscribe(After(0, article), Streaming(who, cts.Token));
        var gzipSeen = await ReadUntilAsync(gzipCall.ResponseStream, CaughtUp);
        var plainSeen = await ReadUntilAsync(plainCall.ResponseStream, CaughtUp);

        // Commands at once, so that commits carry several events and streams have several queued: what is sent in one flush.
        var analysts = new List<CallOptions>();
        for (var i = 0; i < 8; i++) analysts.Add((await server.NewAnalystAsync("analyst", Role.Analyst)).Options);
        var highlight = Quote("The dam holds forty million cubic metres.");
        var results = (await Task.WhenAll(analysts.Select(a => Ch.Annotations().CreateHighlightAsync(
            new CreateHighlightRequest { RequestId = Rid(), ArticleId = article, Selector = highlight }, a).ResponseAsync)))
            .Select(h => h.Result).ToList();
        var last = results.Max(r => r.Position);
        gzipSeen.AddRange(await ReadUntilAsync(gzipCall.ResponseStream, seen => Events(seen).Any(e => e.Position == last)));
        plainSeen.AddRange(await ReadUntilAsync(plainCall.ResponseStream, seen => Events(seen).Any(e => e.Position == last)));
        await cts.CancelAsync();

        var replayed = await server.ReplayAsync(
            new ReplayRequest { FromPosition = 1, ToPosition = last, Filter = new EventFilter { ArticleId = article } });
        Assert.Equal(replayed, Events(gzipSeen));
        Assert.Equal(replayed, Events(plainSeen));
        Assert.Subset(replayed.Select(e => e.Position).ToHashSet(), results.Select(r => r.Position).ToHashSet());
    }

    [Fact]
    public async Task A_resumed_subscription_continues_after_the_given_position_with_no_gap_and_no_duplicate()
    {
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        await ActivityAsync(who);
        await ActivityAsync(who);

        // The admin: an analyst's stream leaves out access events, so only an auditor's or admin's is the whole log.
        var all = Events(await CatchUpAsync(After(0), server.Admin));
        Assert.Equal(Enumerable.Range(1, all.Count).Select(i => (ulong)i), all.Select(e => e.Position)); // gap-free from 1
        var resumeAfter = all[all.Count / 2].Position;

        var resumed = Events(await CatchUpAsync(After(resumeAfter), server.Admin));

        Assert.Equal(all.Where(e => e.Position > resumeAfter), resumed);
    }

    [Fact]
    public async Task Subscribe_filtered_by_claim_sends_only_that_claims_events()
    {
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (article, claim, _) = await ActivityAsync(who);
        var other = (
            await Ch.Claims()
                .OpenClaimAsync(
                    new OpenClaimRequest
                    {
                        RequestId = Rid(),
                        ArticleId = article,
                        Selector = Quote("The dam holds forty million cubic metres."),
                    },
                    who)
        ).ClaimId;
        await Ch.Claims()
            .TakeStanceAsync(
                new TakeStanceRequest
                {
                    RequestId = Rid(),
                    ClaimId = other,
                    Stance = Stance.Refutes,
                },
                who);

        var events = Events(await CatchUpAsync(After(0, claim: claim), who));
        var stancesOfArticle = Events(
            await CatchUpAsync(
                new SubscribeRequest
                {
                    Filter = new EventFilter { ArticleId = article, EventTypes = { "stance-taken.v1" } },
                },
                who));

        Assert.Equal(["claim-opened.v1", "stance-taken.v1"], events.Select(e => e.Type));
        Assert.All(events, e => Assert.Equal(claim, e.ClaimId));
        Assert.Equal([claim, other], stancesOfArticle.Select(e => e.ClaimId));
    }

    [Fact]
    public async Task Replay_returns_a_range_by_position_or_by_time_filtered_by_type()
    {
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (article, _, results) = await ActivityAsync(who);
        var from = results[0].Position;
        var to = results[^1].Position;

        var byPosition = await server.ReplayAsync(new ReplayRequest { FromPosition = from, ToPosition = to });
        var byTime = await server.ReplayAsync(new ReplayRequest { FromTime = results[0].RecordedAt, ToTime = results[^1].RecordedAt });
        var stances = await server.ReplayAsync(
            new ReplayRequest
            {
                FromPosition = 1,
                Filter = new EventFilter { ArticleId = article, EventTypes = { "stance-taken.v1" } },
            });

        Assert.Equal(Enumerable.Range((int)from, (int)(to - from + 1)).Select(i => (ulong)i), byPosition.Select(e => e.Position));
        Assert.Equal(byPosition, byTime);
        Assert.Equal(results[1].Position, Assert.Single(stances).Position);
        Assert.All(byPosition, e =>
        {
            Assert.NotEqual("", e.Type);
            Assert.NotEqual("", e.StreamId);
            Assert.NotEqual("", e.Actor);
            Assert.NotNull(e.RecordedAt);
            Assert.Matches("^[0-9a-f]{64}$", e.Hash);
        });
        await RefusedAsync(
            StatusCode.InvalidArgument,
            () => server.ReplayAsync(new ReplayRequest { FromPosition = to, ToPosition = from }));
    }

    [Fact]
    public async Task An_auditor_may_replay_and_verify_but_an_analyst_or_adjudicator_may_not()
    {
        var (_, auditor) = await server.NewAnalystAsync("auditor", Role.Auditor);
        var (_, analyst) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);

        var replayed = await ReadAllAsync(Ch.History().Replay(new ReplayRequest { FromPosition = 1 }, auditor));
        var verified = await ReadAllAsync(Ch.History().VerifyAudit(new VerifyAuditRequest(), auditor));
        Assert.NotEmpty(replayed);
        Assert.True(verified[^1].Result.Ok);

        foreach (var who in new[] { analyst, judge })
        {
            await RefusedAsync(
                StatusCode.PermissionDenied,
                () => ReadAllAsync(Ch.History().Replay(new ReplayRequest { FromPosition = 1 }, who)));
            await RefusedAsync(StatusCode.PermissionDenied, () => ReadAllAsync(Ch.History().VerifyAudit(new VerifyAuditRequest(), who)));
        }
        // Subscribing is open to every role.
        Assert.NotEmpty(Events(await CatchUpAsync(After(0), analyst)));
    }

    [Fact]
    public async Task VerifyAudit_reports_an_intact_chain_with_its_receipts_holding_and_a_forged_receipt_not_holding()
    {
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, _, results) = await ActivityAsync(who);
        var request = new VerifyAuditRequest();
        request.Receipts.AddRange(results.Select(r => new Receipt { Position = r.Position, Hash = r.ReceiptHash }));

        var messages = await ReadAllAsync(Ch.History().VerifyAudit(request, server.Admin));

        var result = messages[^1].Result;
        Assert.True(result.Ok);
        Assert.Null(result.FirstBroken);
        Assert.Equal(result.HeadPosition, result.EventsChecked);
        Assert.True(result.HeadPosition >= results[^1].Position);
        Assert.Equal(results.Count, result.Receipts.Count);
        Assert.All(result.Receipts, r => Assert.True(r.Holds, r.Reason));
        Assert.All(messages.SkipLast(1), m => Assert.Equal(VerifyAuditResponse.ItemOneofCase.Progress, m.ItemCase));

        var forged = new VerifyAuditRequest
        {
            Receipts =
            {
                new Receipt { Position = results[1].Position, Hash = new string('0', 64) },
                new Receipt { Position = result.HeadPosition + 100, Hash = results[1].ReceiptHash },
            },
        };
        var refused = (await ReadAllAsync(Ch.History().VerifyAudit(forged, server.Admin)))[^1].Result;
        Assert.False(refused.Ok);
        Assert.Null(refused.FirstBroken); // the chain itself holds; the receipts do not
        Assert.Equal(2, refused.Receipts.Count);
        Assert.All(refused.Receipts, r => Assert.False(r.Holds));
        Assert.Contains(results[1].ReceiptHash, refused.Receipts[0].Reason);
        Assert.Contains($"no event at position {result.HeadPosition + 100}", refused.Receipts[1].Reason);
    }

    [Fact]
    public async Task VerifyAudit_after_an_event_is_rewritten_in_the_table_reports_that_event_as_the_first_broken_link()
    {
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, _, results) = await ActivityAsync(who);
        var target = (long)results[1].Position; // the stance
        var original = await ScalarAsync<string>("SELECT data::text FROM annotate.mt_events WHERE seq_id = @p", target);
        Assert.Contains("archive", original);

        await ExecAsync("UPDATE annotate.mt_events SET data = @d::jsonb WHERE seq_id = @p", target, original.Replace("archive", "forged"));
        try
        {
            var request = new VerifyAuditRequest
            {
                Receipts =
                {
                    new Receipt { Position = results[^1].Position, Hash = results[^1].ReceiptHash },
                },
            };
            var result = (await ReadAllAsync(Ch.History().VerifyAudit(request, server.Admin)))[^1].Result;

            Assert.False(result.Ok);
            Assert.NotNull(result.FirstBroken);
            Assert.Equal((ulong)target, result.FirstBroken.Position);
            Assert.NotEqual("", result.FirstBroken.Reason);
        }
        finally
        {
            await ExecAsync("UPDATE annotate.mt_events SET data = @d::jsonb WHERE seq_id = @p", target, original);
        }
        var restored = (await ReadAllAsync(Ch.History().VerifyAudit(new VerifyAuditRequest(), server.Admin)))[^1].Result;
        Assert.True(restored.Ok);
    }

    private static async Task<List<T>> ReadAllAsync<T>(AsyncServerStreamingCall<T> call)
    {
        using (call)
        {
            var list = new List<T>();
            await foreach (var m in call.ResponseStream.ReadAllAsync()) list.Add(m);
            return list;
        }
    }

    private async Task<T> ScalarAsync<T>(string sql, long position)
    {
        await using var conn = new NpgsqlConnection(server.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn) { Parameters = { new("p", position) } };
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    private async Task ExecAsync(string sql, long position, string data)
    {
        await using var conn = new NpgsqlConnection(server.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn) { Parameters = { new("p", position), new("d", data) } };
        Assert.Equal(1, await cmd.ExecuteNonQueryAsync());
    }
}
