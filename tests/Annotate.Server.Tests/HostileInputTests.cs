using Annotate.Contracts;
using Annotate.Contracts.V1;
using Google.Protobuf.WellKnownTypes;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>
/// What an attacker or a careless client sends: control characters, over-long text, ids of the wrong shape, numbers and
/// timestamps out of range. Each is INVALID_ARGUMENT naming the field, nothing reaches the event log, and the views keep up.
/// </summary>
public sealed class HostileInputTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Seed = "russia-involvement-kazakhstan-crisis";
    private GrpcChannel Ch => server.Channel;

    private async Task<(string Id, CallOptions Who)> AnalystAsync() => await server.NewAnalystAsync("ana", Role.Analyst);

    /// <summary>A command right after the refusal is answered and its effect is visible: no view is stuck behind it.</summary>
    private async Task AssertHighlightsViewKeepsUpAsync(CallOptions who)
    {
        var created = await Ch.Annotations()
            .CreateHighlightAsync(
                new CreateHighlightRequest
                {
                    RequestId = Rid(),
                    ArticleId = Seed,
                    Selector = At(3, 9),
                    Note = "fine",
                },
                Quick(who));
        var listed = await Ch.Annotations().ListHighlightsAsync(new ListHighlightsRequest { ArticleId = Seed }, Quick(who));
        Assert.Contains(listed.Highlights, h => h.HighlightId == created.Highlight.HighlightId);
    }

    /// <summary>The caller's options with a deadline of a few seconds: a stuck view would wait ten and fail the call.</summary>
    private static CallOptions Quick(CallOptions who) => new(who.Headers, DateTime.UtcNow.AddSeconds(5));

    private async Task AssertNothingStoredAsync(string requestId) => Assert.Empty(await server.EventsOfRequestAsync(requestId));

    [Fact]
    public async Task Note_with_nul_is_refused_and_the_highlights_view_keeps_up()
    {
        var (_, who) = await AnalystAsync();
        var rid = Rid();

        var e = await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Annotations()
                    .CreateHighlightAsync(
                        new CreateHighlightRequest
                        {
                            RequestId = rid,
                            ArticleId = Seed,
                            Selector = At(0, 5),
                            Note = "a\u0000b",
                        },
                        who));

        Assert.Contains("note", e.Status.Detail);
        Assert.Contains("U+0000", e.Status.Detail);
        await AssertNothingStoredAsync(rid);
        await AssertHighlightsViewKeepsUpAsync(who);
    }

    [Fact]
    public async Task Rationale_with_nul_is_refused_and_the_claims_view_keeps_up()
    {
        var (_, who) = await AnalystAsync();
        var opened = await Ch.Claims()
            .OpenClaimAsync(
                new OpenClaimRequest
                {
                    RequestId = Rid(),
                    ArticleId = Seed,
                    Selector = At(20, 60),
                },
                who);
        var rid = Rid();

        var e = await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Claims()
                    .TakeStanceAsync(
                        new TakeStanceRequest
                        {
                            RequestId = rid,
                            ClaimId = opened.ClaimId,
                            Stance = Stance.Refutes,
                            Rationale = "x\u0000",
                        },
                        who));

        Assert.Contains("rationale", e.Status.Detail);
        await AssertNothingStoredAsync(rid);
        var taken = await Ch.Claims()
            .TakeStanceAsync(
                new TakeStanceRequest
                {
                    RequestId = Rid(),
                    ClaimId = opened.ClaimId,
                    Stance = Stance.Refutes,
                    Rationale = "fine",
                },
                Quick(who));
        var view = await Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = opened.ClaimId }, Quick(who));
        Assert.Equal(taken.Position, view.LastPosition);
    }

    [Fact]
    public async Task Revoked_token_is_refused_even_after_a_refused_display_name()
    {
        var bad = Rid();
        var e = await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Admin()
                    .CreateAnalystAsync(
                        new CreateAnalystRequest
                        {
                            RequestId = bad,
                            AnalystId = server.Unique("nul"),
                            DisplayName = "Nul\u0000Name",
                            Roles = { Role.Analyst },
                        },
                        server.Admin));
        Assert.Contains("display_name", e.Status.Detail);
        await AssertNothingStoredAsync(bad);

        var (id, _) = await server.NewAnalystAsync("revokee", Role.Analyst);
        var issued = await Ch.Admin()
            .IssueTokenAsync(
                new IssueTokenRequest
                {
                    RequestId = Rid(),
                    AnalystId = id,
                    Label = "laptop",
                },
                Quick(server.Admin));
        var who = AnnotateServer.As(issued.Secret);
        Assert.Equal(id, (await Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), who)).AnalystId);

        await Ch.Admin()
            .RevokeTokenAsync(new RevokeTokenRequest { RequestId = Rid(), TokenId = issued.Token.TokenId }, Quick(server.Admin));

        await RefusedAsync(StatusCode.Unauthenticated, () => Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), who));
    }

    [Theory]
    [InlineData("\u0000")]
    [InlineData("\u0001")]
    [InlineData("\u0008")]
    [InlineData("\u001b[31m")]
    [InlineData("\u001f")]
    public async Task Control_characters_other_than_tab_and_line_breaks_are_refused_in_every_text(string control)
    {
        var (_, who) = await AnalystAsync();
        var rid = Rid();
        var refusals = new List<RpcException>
        {
            await RefusedAsync(
                StatusCode.InvalidArgument,
                () =>
                    Ch.Annotations()
                        .CreateHighlightAsync(
                            new CreateHighlightRequest
                            {
                                RequestId = rid,
                                ArticleId = Seed,
                                Selector = At(0, 5),
                                Tags = { "ok", "t" + control },
                            },
                            who)),
            await RefusedAsync(
                StatusCode.InvalidArgument,
                () =>
                    Ch.Annotations()
                        .CreateHighlightAsync(
                            new CreateHighlightRequest
                            {
                                RequestId = rid,
                                ArticleId = Seed,
                                Selector = Quote("Kazakhstan", prefix: control),
                            },
                            who)),
            await RefusedAsync(
                StatusCode.InvalidArgument,
                () =>
                    Ch.Claims()
                        .OpenClaimAsync(
                            new OpenClaimRequest
                            {
                                RequestId = rid,
                                ArticleId = Seed,
                                Selector = At(0, 5),
                                Statement = "s" + control,
                            },
                            who)),
            await RefusedAsync(
                StatusCode.InvalidArgument,
                () =>
                    Ch.Articles()
                        .ImportArticleAsync(
                            new ImportArticleRequest
                            {
                                RequestId = rid,
                                ArticleId = server.Unique("ctl"),
                                Title = "T",
                                Text = "text" + control,
                            },
                            server.Admin)),
            await RefusedAsync(
                StatusCode.InvalidArgument,
                () =>
                    Ch.Admin()
                        .IssueTokenAsync(
                            new IssueTokenRequest
                            {
                                RequestId = rid,
                                AnalystId = "admin",
                                Label = control,
                            },
                            server.Admin)),
        };

        Assert.All(refusals, e => Assert.Contains("control character", e.Status.Detail));
        Assert.Contains("tags[1]", refusals[0].Status.Detail);
        Assert.Contains("selector.quote.prefix", refusals[1].Status.Detail);
        await AssertNothingStoredAsync(rid);
    }

    [Fact]
    public async Task Tabs_and_line_breaks_are_kept()
    {
        var (_, who) = await AnalystAsync();

        var created = await Ch.Annotations()
            .CreateHighlightAsync(
                new CreateHighlightRequest
                {
                    RequestId = Rid(),
                    ArticleId = Seed,
                    Selector = At(0, 5),
                    Note = "one\ttwo\r\nthree\n",
                },
                who);

        Assert.Equal("one\ttwo\r\nthree\n", created.Highlight.Note);
    }

    [Fact]
    public async Task A_note_may_have_the_documented_4000_characters_and_no_more()
    {
        var (_, who) = await AnalystAsync();

        var created = await Ch.Annotations()
            .CreateHighlightAsync(
                new CreateHighlightRequest
                {
                    RequestId = Rid(),
                    ArticleId = Seed,
                    Selector = At(0, 5),
                    Note = new string('n', 3999) + "\U0001F600",
                },
                who);
        var e = await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Annotations()
                    .CreateHighlightAsync(
                        new CreateHighlightRequest
                        {
                            RequestId = Rid(),
                            ArticleId = Seed,
                            Selector = At(0, 5),
                            Note = new string('n', 4001),
                        },
                        who));

        Assert.Equal(4001, created.Highlight.Note.Length); // 4000 characters: the last is one code point in two UTF-16 units
        Assert.Contains("note has 4001 characters", e.Status.Detail);
    }

    [Theory]
    [InlineData("Bob:Smith")]
    [InlineData("bob smith")]
    [InlineData("Bob")]
    [InlineData("a12345678901234567890123456789012345678901")] // 41 characters
    public async Task An_analyst_id_outside_its_documented_shape_is_refused(string analystId)
    {
        var rid = Rid();

        var e = await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Admin()
                    .CreateAnalystAsync(
                        new CreateAnalystRequest
                        {
                            RequestId = rid,
                            AnalystId = analystId,
                            DisplayName = "Bob",
                            Roles = { Role.Analyst },
                        },
                        server.Admin));

        Assert.Contains("analyst_id", e.Status.Detail);
        Assert.Contains("a-z, 0-9", e.Status.Detail);
        await AssertNothingStoredAsync(rid);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("-starts-with-dash")]
    [InlineData("nul\u0000")]
    public async Task A_request_id_outside_its_documented_shape_is_refused(string requestId)
    {
        var (_, who) = await AnalystAsync();

        var e = await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Annotations()
                    .CreateHighlightAsync(
                        new CreateHighlightRequest
                        {
                            RequestId = requestId,
                            ArticleId = Seed,
                            Selector = At(0, 5),
                        },
                        who));

        Assert.Contains("request_id", e.Status.Detail);
    }

    [Fact]
    public async Task A_nul_inside_an_id_is_invalid_argument_not_internal()
    {
        var (_, who) = await AnalystAsync();

        await RefusedAsync(
            StatusCode.InvalidArgument,
            () => Ch.Articles().GetArticleAsync(new GetArticleRequest { ArticleId = "a\u0000b" }, who));
        await RefusedAsync(
            StatusCode.InvalidArgument,
            () => Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = "c\u0000" }, who));
        await RefusedAsync(
            StatusCode.InvalidArgument,
            () => Ch.Annotations().RetractHighlightAsync(new RetractHighlightRequest { RequestId = Rid(), HighlightId = "h\u0000" }, who));
        await RefusedAsync(
            StatusCode.InvalidArgument,
            () => Ch.Admin().RevokeTokenAsync(new RevokeTokenRequest { RequestId = Rid(), TokenId = "tok\u0000" }, server.Admin));
    }

    [Fact]
    public async Task A_selector_position_of_2_pow_31_or_more_is_invalid_argument()
    {
        var (_, who) = await AnalystAsync();
        var huge = new Selector { Position = new TextPosition { Start = 1u << 31, End = uint.MaxValue } };

        var e = await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Annotations()
                    .CreateHighlightAsync(
                        new CreateHighlightRequest
                        {
                            RequestId = Rid(),
                            ArticleId = Seed,
                            Selector = huge,
                        },
                        who));
        await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Claims()
                    .OpenClaimAsync(
                        new OpenClaimRequest
                        {
                            RequestId = Rid(),
                            ArticleId = Seed,
                            Selector = huge,
                        },
                        who));

        Assert.Contains("selector.position.start", e.Status.Detail);
    }

    [Fact]
    public async Task Timestamps_out_of_range_are_invalid_argument()
    {
        var (id, who) = await AnalystAsync();
        var year318857 = new Timestamp { Seconds = 9_999_999_999_999 };
        var negativeNanos = new Timestamp { Seconds = 1_700_000_000, Nanos = -1 };

        var token = await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Admin()
                    .IssueTokenAsync(
                        new IssueTokenRequest
                        {
                            RequestId = Rid(),
                            AnalystId = id,
                            Label = "far",
                            ExpiresAt = year318857,
                        },
                        server.Admin));
        await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Consensus()
                    .ListClaimsAsync(
                        new ListClaimsRequest
                        {
                            ArticleId = Seed,
                            AsOf = new AsOf { Time = negativeNanos },
                        },
                        who));
        await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Annotations()
                    .ListHighlightsAsync(
                        new ListHighlightsRequest
                        {
                            ArticleId = Seed,
                            AsOf = new AsOf { Time = new Timestamp { Seconds = -70_000_000_000 } },
                        },
                        who));
        var replay = await RefusedAsync(StatusCode.InvalidArgument, () => server.ReplayAsync(new ReplayRequest { FromTime = year318857 }));

        Assert.Contains("expires_at", token.Status.Detail);
        Assert.Contains("from_time", replay.Status.Detail);
    }

    [Fact]
    public async Task Positions_above_2_pow_63_minus_1_are_invalid_argument_not_wrong_answers()
    {
        var (_, who) = await AnalystAsync();

        await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Consensus()
                    .ListClaimsAsync(
                        new ListClaimsRequest
                        {
                            ArticleId = Seed,
                            AsOf = new AsOf { Position = ulong.MaxValue },
                        },
                        who));
        await RefusedAsync(
            StatusCode.InvalidArgument,
            () => server.ReplayAsync(new ReplayRequest { FromPosition = 1, ToPosition = ulong.MaxValue }));
        await RefusedAsync(
            StatusCode.InvalidArgument,
            async () =>
        {
            using var call = Ch.History().Subscribe(new SubscribeRequest { AfterPosition = (1UL << 63) }, who);
            await call.ResponseStream.MoveNext(CancellationToken.None);
        });
        await RefusedAsync(
            StatusCode.InvalidArgument,
            () => Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = "c000000000000", MinPosition = ulong.MaxValue }, who)
        );
    }

    [Fact]
    public async Task Error_messages_name_the_fields_not_cli_commands()
    {
        var (_, who) = await AnalystAsync();

        var article = await RefusedAsync(
            StatusCode.NotFound,
            () => Ch.Articles().GetArticleAsync(new GetArticleRequest { ArticleId = "no-such-article" }, who));
        var claim = await RefusedAsync(
            StatusCode.NotFound,
            () => Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = "c000000000000" }, who));
        var token = await RefusedAsync(
            StatusCode.NotFound,
            () => Ch.Admin().RevokeTokenAsync(new RevokeTokenRequest { RequestId = Rid(), TokenId = "tok000000000000" }, server.Admin));
        var ambiguous = await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Annotations()
                    .CreateHighlightAsync(
                        new CreateHighlightRequest
                        {
                            RequestId = Rid(),
                            ArticleId = Seed,
                            Selector = Quote("Kazakhstan"),
                        },
                        who));

        Assert.Contains("article_id", article.Status.Detail);
        Assert.Contains("claim_id", claim.Status.Detail);
        Assert.Contains("token_id", token.Status.Detail);
        Assert.Contains("quote.prefix", ambiguous.Status.Detail);
        Assert.All(new[] { article, claim, token, ambiguous }, e =>
        {
            Assert.DoesNotContain("annotate ", e.Status.Detail);
            Assert.DoesNotContain("--", e.Status.Detail);
        });
    }

    [Fact]
    public async Task No_secret_or_secret_hash_leaves_the_server_through_replay_subscribe_or_token_lists()
    {
        var (id, _) = await AnalystAsync();
        var issued = await Ch.Admin()
            .IssueTokenAsync(
                new IssueTokenRequest
                {
                    RequestId = Rid(),
                    AnalystId = id,
                    Label = "secretive",
                },
                server.Admin);
        var secret = issued.Secret.Split('.')[1];

        var replayed = await server.ReplayAsync(new ReplayRequest { FromPosition = 1 });
        using var cts = new CancellationTokenSource();
        using var call = Ch.History().Subscribe(new SubscribeRequest(), Streaming(server.Admin, cts.Token));
        var subscribed = await ReadUntilAsync(
            call.ResponseStream,
            seen => seen.Any(m => m.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition));
        await cts.CancelAsync();
        var tokens = await Ch.Admin().ListTokensAsync(new ListTokensRequest(), server.Admin);

        Assert.Contains(
            replayed,
            e => e.Type == "token-issued.v1" && e.DataJson.Contains("\"secretHash\":\"redacted\"", StringComparison.Ordinal));
        var texts = replayed.Select(e => e.ToString()).Concat(subscribed.Select(m => m.ToString())).Append(tokens.ToString()).ToList();
        Assert.All(
            texts,
            t =>
        {
            Assert.DoesNotContain(Annotate.Server.Infrastructure.Authentication.HashSecret(secret)["sha256:".Length..], t);
            Assert.DoesNotContain(
                Annotate.Server.Infrastructure.Authentication.HashSecret(server.AdminToken.Split('.')[1])["sha256:".Length..],
                t);
            Assert.DoesNotContain(secret, t);
        });
    }

    [Fact]
    public async Task Subscribe_streams_access_events_only_to_auditors_and_admins()
    {
        var (_, analyst) = await AnalystAsync();
        var (_, auditor) = await server.NewAnalystAsync("auditor", Role.Auditor);
        await server.NewAnalystAsync("someone", Role.Analyst);

        async Task<List<HistoryEvent>> CatchUpAsync(CallOptions who)
        {
            using var cts = new CancellationTokenSource();
            using var call = Ch.History().Subscribe(new SubscribeRequest(), Streaming(who, cts.Token));
            var seen = await ReadUntilAsync(
                call.ResponseStream,
                s => s.Any(m => m.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition));
            await cts.CancelAsync();
            return seen.Where(m => m.ItemCase == SubscribeResponse.ItemOneofCase.Event).Select(m => m.Event).ToList();
        }

        var seenByAnalyst = await CatchUpAsync(analyst);
        var seenByAuditor = await CatchUpAsync(auditor);

        Assert.Contains(seenByAnalyst, e => e.Type == "article-imported.v1");
        Assert.DoesNotContain(seenByAnalyst, e => e.StreamId.StartsWith("analyst-", StringComparison.Ordinal));
        Assert.Contains(seenByAuditor, e => e.Type == "token-issued.v1");
        Assert.Contains(seenByAuditor, e => e.Type == "analyst-registered.v1");
    }
}
