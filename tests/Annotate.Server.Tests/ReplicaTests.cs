using System.Diagnostics;
using Annotate.Contracts.V1;
using Annotate.Server.Infrastructure;

using ConsensusPolicy = Annotate.Domain.Consensus.ConsensusPolicy;
using ConsensusProjection = Annotate.Domain.Consensus.ConsensusProjection;
using EventTypes = Annotate.Domain.Events.EventTypes;
using PositionedEvent = Annotate.Domain.Consensus.PositionedEvent;

namespace Annotate.Server.Tests;

/// <summary>Two replicas on one database: one bootstrap, one claim per span, revocation and writes seen across them.</summary>
public sealed class ReplicaTests(ReplicaServers replicas) : IClassFixture<ReplicaServers>
{
    private const string Article = "russia-involvement-kazakhstan-crisis";
    private const string RaceArticle = "kazakhstan-crisis-saved-ukraine"; // no other test of the class opens claims there

    [Fact]
    public async Task Replicas_starting_together_create_one_admin_token_and_import_the_seeds_once()
    {
        Assert.Equal(1, new[] { replicas.TokenFileA, replicas.TokenFileB }.Count(File.Exists));
        Assert.Equal(
            5L,
            await Sql.ScalarAsync<long>(
                replicas.ConnectionString,
                "SELECT count(*) FROM annotate.mt_events WHERE type = 'article-imported.v1'"));
        Assert.Equal(
            1L,
            await Sql.ScalarAsync<long>(
                replicas.ConnectionString,
                "SELECT count(*) FROM annotate.mt_events WHERE type = 'analyst-registered.v1' AND stream_id = 'analyst-admin'"));
        Assert.Equal(
            1L,
            await Sql.ScalarAsync<long>(
                replicas.ConnectionString,
                "SELECT count(*) FROM annotate.mt_events WHERE type = 'token-issued.v1' AND stream_id = 'analyst-admin'"));
        foreach (var replica in new[] { replicas.A, replicas.B })
        {
            var me = await replica.Admin().WhoAmIAsync(new WhoAmIRequest(), replicas.Admin);
            Assert.Equal("admin", me.AnalystId);
            Assert.Equal(5, (await replica.Articles().ListArticlesAsync(new ListArticlesRequest(), replicas.Admin)).Articles.Count);
        }
    }

    [Fact]
    public async Task Analysts_racing_to_open_the_same_span_on_two_replicas_get_one_claim()
    {
        var analysts = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => replicas.AnalystAsync($"racer{i}", Role.Analyst)));
        var text = (await replicas.A.Articles().GetArticleAsync(new GetArticleRequest { ArticleId = RaceArticle }, replicas.Admin)).Length;
        for (var round = 0; round < 5; round++)
        {
            var start = (int)text / 8 * (round + 1);
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var opens = analysts.Select((a, i) => Task.Run(async () =>
            {
                await go.Task;
                // Each end moved by at most 2 on spans of 50: every pair covers the same text (IoU >= 46/54).
                var replica = i % 2 == 0 ? replicas.A : replicas.B;
                var selector = new Selector
                {
                    Position = new TextPosition { Start = (uint)(start + i % 3 - 1), End = (uint)(start + 50 + i % 5 - 2) },
                };
                return await replica
                    .Claims()
                    .OpenClaimAsync(
                        new OpenClaimRequest
                        {
                            RequestId = Guid.NewGuid().ToString(),
                            ArticleId = RaceArticle,
                            Selector = selector,
                        },
                        AnnotateServer.As(a.Token));
            }))
                .ToArray();
            go.SetResult();
            var answers = await Task.WhenAll(opens);
            var claimId = Assert.Single(answers.Select(o => o.ClaimId).Distinct());
            Assert.Single(answers, o => !o.Existing);
            foreach (var replica in new[] { replicas.A, replicas.B })
            {
                var view = await replica.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claimId }, replicas.Admin);
                Assert.Equal(claimId, view.ClaimId);
            }
        }
        Assert.Equal(5L, await Sql.ScalarAsync<long>(replicas.ConnectionString,
            $"SELECT count(*) FROM annotate.mt_events WHERE type = 'claim-opened.v1' AND stream_id = 'article-claims-{RaceArticle}'"));
    }

    [Fact]
    public async Task A_token_revoked_through_one_replica_is_refused_by_the_other_as_soon_as_the_revoke_returns()
    {
        await replicas.AnalystAsync("revokee", Role.Analyst);
        for (var i = 0; i < 3; i++)
        {
            var (tokenId, token) = await replicas.TokenAsync("revokee");
            var (from, to) = i % 2 == 0 ? (replicas.A, replicas.B) : (replicas.B, replicas.A);
            // The other replica knows the token before the revocation (whatever it may have kept of it).
            Assert.Equal("revokee", (await to.Admin().WhoAmIAsync(new WhoAmIRequest(), AnnotateServer.As(token))).AnalystId);

            await from.Admin()
                .RevokeTokenAsync(new RevokeTokenRequest { RequestId = Guid.NewGuid().ToString(), TokenId = tokenId }, replicas.Admin);

            var refused = await Assert.ThrowsAsync<RpcException>(() =>
                to.Admin().WhoAmIAsync(new WhoAmIRequest(), AnnotateServer.As(token)).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
            var refusedToo = await Assert.ThrowsAsync<RpcException>(() =>
                from.Admin().WhoAmIAsync(new WhoAmIRequest(), AnnotateServer.As(token)).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, refusedToo.StatusCode);
        }
    }

    [Fact]
    public async Task A_token_revoked_through_one_replica_is_refused_for_a_command_on_the_other_as_soon_as_the_revoke_returns()
    {
        await replicas.AnalystAsync("cmd-revokee", Role.Analyst);
        for (var i = 0; i < 3; i++)
        {
            var (tokenId, token) = await replicas.TokenAsync("cmd-revokee");
            var (from, to) = i % 2 == 0 ? (replicas.A, replicas.B) : (replicas.B, replicas.A);
            // The other replica has carried out a command with the token before (and may keep it).
            await to.Annotations().CreateHighlightAsync(Highlight(), AnnotateServer.As(token));

            await from.Admin()
                .RevokeTokenAsync(new RevokeTokenRequest { RequestId = Guid.NewGuid().ToString(), TokenId = tokenId }, replicas.Admin);

            var refusedRequest = Highlight();
            var refused = await Assert.ThrowsAsync<RpcException>(() =>
                to.Annotations().CreateHighlightAsync(refusedRequest, AnnotateServer.As(token)).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
            Assert.Equal(0L, await Sql.ScalarAsync<long>(replicas.ConnectionString,
                $"SELECT count(*) FROM annotate.mt_events WHERE correlation_id = '{refusedRequest.RequestId}'"));
        }

        static CreateHighlightRequest Highlight() => new()
        {
            RequestId = Guid.NewGuid().ToString(),
            ArticleId = Article,
            Selector = new Selector { Position = new TextPosition { Start = 400, End = 430 } },
        };
    }

    [Fact]
    public async Task A_role_taken_away_through_one_replica_stops_commands_on_the_other_at_once_and_nothing_is_appended()
    {
        var (_, token) = await replicas.AnalystAsync("demoted", Role.Analyst);
        // Replica B has carried out a command with the token before (and may keep it with the analyst role).
        await replicas.B.Annotations().CreateHighlightAsync(Highlight(), AnnotateServer.As(token));

        await replicas.A.Admin().SetRolesAsync(
            new SetRolesRequest { RequestId = Guid.NewGuid().ToString(), AnalystId = "demoted", Roles = { Role.Auditor } }, replicas.Admin);

        var request = Highlight();
        var refused = await Assert.ThrowsAsync<RpcException>(() =>
            replicas.B.Annotations().CreateHighlightAsync(request, AnnotateServer.As(token)).ResponseAsync);
        // Either B already knew (PERMISSION_DENIED), or its writer found the access stream moved under the lock (ABORTED:
        // send it again), and then the same request is refused for the role.
        Assert.Contains(refused.StatusCode, new[] { StatusCode.PermissionDenied, StatusCode.Aborted });
        var again = await Assert.ThrowsAsync<RpcException>(() =>
            replicas.B.Annotations().CreateHighlightAsync(request, AnnotateServer.As(token)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, again.StatusCode);
        Assert.Equal(0L, await Sql.ScalarAsync<long>(replicas.ConnectionString,
            $"SELECT count(*) FROM annotate.mt_events WHERE correlation_id = '{request.RequestId}'"));

        static CreateHighlightRequest Highlight() => new()
        {
            RequestId = Guid.NewGuid().ToString(),
            ArticleId = Article,
            Selector = new Selector { Position = new TextPosition { Start = 440, End = 470 } },
        };
    }

    [Fact]
    public async Task A_span_on_the_text_one_replica_keeps_is_refused_or_placed_on_the_revision_the_other_replica_made()
    {
        var (_, token) = await replicas.AnalystAsync("kept-text", Role.Analyst);
        var ana = AnnotateServer.As(token);
        var article = $"kept-{Guid.NewGuid():N}"[..20];
        const string first = "The bridge opened in 1932. Tolls ended in 1990.";
        const string second = "A correction. The bridge opened in 1932. Tolls ended in 1991.";
        await replicas.A.Articles().ImportArticleAsync(new ImportArticleRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            ArticleId = article,
            Title = "Bridge",
            Text = first,
            Source = "test",
        }, replicas.Admin);
        // Replica B resolves a span on revision 1, a highlight and a claim: it keeps that text from now on.
        var tolls = new Selector { Quote = new TextQuote { Exact = "Tolls ended in 1990." } };
        Assert.Equal(1u, (await replicas.B.Annotations().CreateHighlightAsync(
            new CreateHighlightRequest { RequestId = Guid.NewGuid().ToString(), ArticleId = article, Selector = tolls }, ana))
            .Highlight.Anchor.Revision);
        var claim = await replicas.B.Claims().OpenClaimAsync(new OpenClaimRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            ArticleId = article,
            Selector = new Selector { Quote = new TextQuote { Exact = "The bridge opened in 1932." } },
            Statement = "Checkable.",
        }, ana);

        await replicas.A.Articles().ReviseArticleAsync(
            new ReviseArticleRequest { RequestId = Guid.NewGuid().ToString(), ArticleId = article, Text = second, Reason = "" },
            replicas.Admin);

        // A position sent without a revision means the current text: B, which keeps revision 1, has it refused by the writer's
        // guard (the article's stream moved), reads the text again and places the span on revision 2, never on the text it kept.
        var stale = new Selector { Position = new TextPosition { Start = 27, End = 47 } }; // "Tolls ended in 1990." in revision 1
        var placed = await replicas.B.Annotations().CreateHighlightAsync(new CreateHighlightRequest
        { RequestId = Guid.NewGuid().ToString(), ArticleId = article, Selector = stale }, ana);
        Assert.Equal((AnchorStatus.Anchored, 2u), (placed.Highlight.Anchor.Status, placed.Highlight.Anchor.Revision));
        Assert.Equal(second[27..47], placed.Highlight.Selector.Quote.Exact);

        // Spans resolved against revision 1 (named by the request, as a client that read it would) are refused on B and nothing
        // is written.
        var head = (await replicas.A.Audit().GetChainHeadAsync(new GetChainHeadRequest(), replicas.Admin)).Position;
        foreach (var refused in new Func<Task>[]
        {
            () => replicas.B.Annotations().CreateHighlightAsync(new CreateHighlightRequest
                { RequestId = Guid.NewGuid().ToString(), ArticleId = article, Selector = stale, Revision = 1 }, ana).ResponseAsync,
            () => replicas.B.Claims().OpenClaimAsync(new OpenClaimRequest
                { RequestId = Guid.NewGuid().ToString(), ArticleId = article, Selector = stale, Statement = "x", Revision = 1 },
                ana).ResponseAsync,
            () => replicas.B.Claims().TakeStanceAsync(new TakeStanceRequest
            {
                RequestId = Guid.NewGuid().ToString(),
                ClaimId = claim.ClaimId,
                Stance = Contracts.V1.Stance.Refutes,
                Evidence = { new ArticleSpan { ArticleId = article, Selector = stale, Revision = 1 } },
            }, ana).ResponseAsync,
        })
        {
            Assert.Equal(StatusCode.FailedPrecondition, (await Assert.ThrowsAsync<RpcException>(refused)).StatusCode);
        }
        Assert.Equal(head, (await replicas.A.Audit().GetChainHeadAsync(new GetChainHeadRequest(), replicas.Admin)).Position);

        // A third revision through A: evidence quoting words only it has is found on B, which kept revision 2.
        await replicas.A.Articles().ReviseArticleAsync(new ReviseArticleRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            ArticleId = article,
            Text = second.Replace("1991", "1992", StringComparison.Ordinal),
            Reason = "",
        }, replicas.Admin);
        var evidence = await replicas.B.Claims().TakeStanceAsync(new TakeStanceRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            ClaimId = claim.ClaimId,
            Stance = Contracts.V1.Stance.Refutes,
            Evidence =
            {
                new ArticleSpan { ArticleId = article, Selector = new Selector { Quote = new TextQuote { Exact = "ended in 1992." } } },
            },
        }, ana);
        Assert.True(evidence.Position > (ulong)head);
    }

    [Fact]
    public async Task A_command_on_one_replica_is_read_on_the_other_when_the_read_names_its_position()
    {
        var (claimId, analysts) = await ClaimWithAnalystsAsync("minpos", 4);
        for (var i = 0; i < analysts.Length; i++)
        {
            var (write, read) = i % 2 == 0 ? (replicas.A, replicas.B) : (replicas.B, replicas.A);
            var result = await write.Claims().TakeStanceAsync(Stance(claimId, Contracts.V1.Stance.Refutes), AnnotateServer.As(analysts[i]));
            var view = await read.Consensus()
                .GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claimId, MinPosition = result.Position }, replicas.Admin);
            Assert.True(view.LastPosition >= result.Position);
            Assert.Equal(i + 1, view.Stances.Count);
        }
    }

    /// <summary>
    /// Without min_position too: a command returns only once its replica's projections have stored the write, and
    /// both replicas read the same stored views, so the other replica's next read already holds it.
    /// </summary>
    [Fact]
    public async Task A_command_on_one_replica_is_read_on_the_other_right_after_it_returns_even_without_a_position()
    {
        var (claimId, analysts) = await ClaimWithAnalystsAsync("nopos", 6);
        for (var i = 0; i < analysts.Length; i++)
        {
            var (write, read) = i % 2 == 0 ? (replicas.A, replicas.B) : (replicas.B, replicas.A);
            var result = await write
                .Claims()
                .TakeStanceAsync(Stance(claimId, Contracts.V1.Stance.Supports), AnnotateServer.As(analysts[i]));
            var view = await read.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claimId }, replicas.Admin);
            Assert.Equal(result.Position, view.LastPosition);
            Assert.Equal(i + 1, view.Stances.Count);
        }
        // A claim opened on one replica is found at once by the other (by id, and by span).
        var (_, opener) = await replicas.AnalystAsync("nopos-opener", Role.Analyst);
        var opened = await replicas.B.Claims().OpenClaimAsync(new OpenClaimRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            ArticleId = Article,
            Selector = new Selector
            {
                Position = new TextPosition { Start = 300, End = 340 },
            },
        },
                AnnotateServer.As(opener));
        Assert.Equal(
            opened.ClaimId,
            (await replicas.A.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = opened.ClaimId }, replicas.Admin)).ClaimId);
        var listed = await replicas
            .A.Consensus()
            .ListClaimsAsync(
                new ListClaimsRequest
                {
                    ArticleId = Article,
                    Page = new PageRequest { PageSize = 100 },
                },
                replicas.Admin);
        Assert.Contains(listed.Claims, c => c.ClaimId == opened.ClaimId);
    }

    [Fact]
    public async Task A_subscriber_and_a_watcher_on_one_replica_see_what_is_written_on_the_other()
    {
        var (claimId, analysts) = await ClaimWithAnalystsAsync("follow", 2);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var streaming = new CallOptions(new Metadata { { "authorization", $"Bearer {replicas.AdminToken}" } }, null, stop.Token);
        var head = (
            await replicas.A.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claimId }, replicas.Admin)
        ).LastPosition;
        using var subscription = replicas
            .B.History()
            .Subscribe(
                new SubscribeRequest
                {
                    AfterPosition = head,
                    Filter = new EventFilter { ClaimId = claimId },
                },
                streaming);
        using var watch = replicas.B.Consensus().WatchArticle(new WatchArticleRequest { ArticleId = Article }, streaming);
        await using var events = subscription.ResponseStream.ReadAllAsync(stop.Token).GetAsyncEnumerator();
        await using var views = watch.ResponseStream.ReadAllAsync(stop.Token).GetAsyncEnumerator();
        while (await views.MoveNextAsync() && views.Current.UpdateCase != WatchArticleResponse.UpdateOneofCase.CaughtUpPosition) { }

        for (var i = 0; i < analysts.Length; i++)
        {
            var written = await replicas
                .A.Claims()
                .TakeStanceAsync(Stance(claimId, Contracts.V1.Stance.NeedsContext), AnnotateServer.As(analysts[i]));
            Assert.True(await events.MoveNextAsync());
            if (events.Current.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition) Assert.True(await events.MoveNextAsync());
            Assert.Equal(written.Position, events.Current.Event.Position);
            Assert.Equal("stance-taken.v1", events.Current.Event.Type);

            ClaimView? seen = null;
            while (seen is null || seen.LastPosition < written.Position)
            {
                Assert.True(await views.MoveNextAsync());
                if (views.Current.View?.ClaimId == claimId) seen = views.Current.View;
            }
            Assert.Equal(written.Position, seen.LastPosition);
            Assert.Equal(i + 1, seen.Stances.Count);
        }
    }

    /// <summary>
    /// Analysts split over both replicas take, replace and withdraw stances on shared claims at once; both replicas'
    /// projection runners compete for the same checkpoints. Afterwards both replicas serve the fold of the history.
    /// </summary>
    [Fact]
    public async Task Analysts_writing_through_both_replicas_at_once_leave_views_equal_to_a_fold_of_the_history_on_both()
    {
        const string article = "russian-troops-in-kazakhstan";
        var tokens = (await Task.WhenAll(Enumerable.Range(0, 8).Select(i => replicas.AnalystAsync($"busy{i}", Role.Analyst))))
            .Select(t => t.Token)
            .ToArray();
        var claimIds = new List<string>();
        foreach (var start in new uint[] { 200, 600, 1000 })
        {
            var opened = await replicas.B.Claims().OpenClaimAsync(new OpenClaimRequest
            {
                RequestId = Guid.NewGuid().ToString(),
                ArticleId = article,
                Selector = new Selector { Position = new TextPosition { Start = start, End = start + 50 } },
            }, AnnotateServer.As(tokens[0]));
            claimIds.Add(opened.ClaimId);
        }

        var clock = Stopwatch.StartNew();
        var stances = new[]
        {
            Contracts.V1.Stance.Supports,
            Contracts.V1.Stance.Refutes,
            Contracts.V1.Stance.NeedsContext,
            Contracts.V1.Stance.Unverifiable,
        };
        await Task.WhenAll(
            tokens.Select(
                (token, i) =>
                    Task.Run(async () =>
        {
            var random = new Random(i);
            var replica = i % 2 == 0 ? replicas.A : replicas.B;
            var held = new HashSet<string>();
            for (var n = 0; n < 20 && clock.Elapsed < TimeSpan.FromSeconds(4); n++)
            {
                var claimId = claimIds[random.Next(claimIds.Count)];
                if (held.Contains(claimId) && random.NextDouble() < 0.3)
                {
                    await replica
                        .Claims()
                        .WithdrawStanceAsync(
                            new WithdrawStanceRequest { RequestId = Guid.NewGuid().ToString(), ClaimId = claimId },
                            AnnotateServer.As(token));
                    held.Remove(claimId);
                }
                else
                {
                    await replica.Claims().TakeStanceAsync(Stance(claimId, stances[random.Next(stances.Length)]), AnnotateServer.As(token));
                    held.Add(claimId);
                }
            }
        })));

        using var replay = replicas.A.History().Replay(new ReplayRequest { FromPosition = 1 },
            new CallOptions(new Metadata { { "authorization", $"Bearer {replicas.AdminToken}" } }, DateTime.UtcNow.AddSeconds(60)));
        var history = new List<HistoryEvent>();
        await foreach (var e in replay.ResponseStream.ReadAllAsync()) history.Add(e);
        Assert.Equal(Enumerable.Range(1, history.Count).Select(p => (ulong)p), history.Select(e => e.Position));
        var positioned = history
            .Select(e => new PositionedEvent((long)e.Position, e.RecordedAt.ToDateTimeOffset(), EventTypes.Deserialize(e.Type, e.DataJson)))
            .ToList();
        foreach (var claimId in claimIds)
        {
            var expected = Mapping.ToProto(
                ConcurrencyTests.OnFirstRevision(ConsensusProjection.Fold(positioned, ConsensusPolicy.Default, claimId))!,
                ConsensusPolicy.Default);
            Assert.Equal(
                expected,
                await replicas.A.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claimId }, replicas.Admin));
            Assert.Equal(
                expected,
                await replicas.B.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claimId }, replicas.Admin));
        }
    }

    private async Task<(string ClaimId, string[] Tokens)> ClaimWithAnalystsAsync(string prefix, int count)
    {
        var tokens = (await Task.WhenAll(Enumerable.Range(0, count).Select(i => replicas.AnalystAsync($"{prefix}{i}", Role.Analyst))))
            .Select(t => t.Token)
            .ToArray();
        // A span of its own per test class member, away from the racing test's spans.
        var start = prefix switch { "minpos" => 20u, "nopos" => 120u, _ => 220u };
        var opened = await replicas.A.Claims().OpenClaimAsync(new OpenClaimRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            ArticleId = Article,
            Selector = new Selector { Position = new TextPosition { Start = start, End = start + 40 } },
        }, AnnotateServer.As(tokens[0]));
        return (opened.ClaimId, tokens);
    }

    private static TakeStanceRequest Stance(string claimId, Contracts.V1.Stance stance) =>
        new() { RequestId = Guid.NewGuid().ToString(), ClaimId = claimId, Stance = stance, Rationale = "checked on a replica" };
}
