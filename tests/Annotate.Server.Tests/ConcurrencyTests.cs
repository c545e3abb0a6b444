using System.Collections.Concurrent;
using System.Diagnostics;
using Annotate.Contracts.V1;
using Annotate.Domain;
using Annotate.Domain.Consensus;
using Annotate.Server.Infrastructure;
using Annotate.Testing;
using Xunit.Abstractions;

using ClaimAdjudicated = Annotate.Domain.Events.ClaimAdjudicated;
using ClaimOpened = Annotate.Domain.Events.ClaimOpened;
using ClaimReopened = Annotate.Domain.Events.ClaimReopened;
using ClaimState = Annotate.Domain.Claims.ClaimState;
using ConsensusPolicy = Annotate.Domain.Consensus.ConsensusPolicy;
using ConsensusProjection = Annotate.Domain.Consensus.ConsensusProjection;
using EventTypes = Annotate.Domain.Events.EventTypes;
using PositionedEvent = Annotate.Domain.Consensus.PositionedEvent;
using StanceTaken = Annotate.Domain.Events.StanceTaken;
using StanceWithdrawn = Annotate.Domain.Events.StanceWithdrawn;

namespace Annotate.Server.Tests;

/// <summary>
/// Sixteen analysts work on shared claims of the seed articles at once, through the gRPC client (opening claims on
/// overlapping spans, taking, replacing and withdrawing stances with evidence, tagging, retrying requests; one of them
/// also adjudicates and reopens), while history subscribers and article watchers follow, some started mid-run. Afterwards the served views
/// must equal a fold of the history from
/// scratch, no two claims of an article may cover the same text, the subscriber must have seen every event once
/// in order, and every view a watcher saw must equal the as-of answer for its position.
/// </summary>
public sealed class ConcurrencyTests(AnnotateServer server, ITestOutputHelper output) : IClassFixture<AnnotateServer>
{
    private const int AnalystCount = 16;
    private const int MaxOperationsEach = 30;
    /// <summary>Each analyst does at least this many, however slow the machine, so the run always means something.</summary>
    private const int MinOperationsEach = 4;
    private static readonly TimeSpan RunFor = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly string[] TagNames = ["economy", "military", "census", "diplomacy"];
    private static readonly Stance[] Stances = [Stance.Supports, Stance.Refutes, Stance.NeedsContext, Stance.Unverifiable];

    /// <summary>
    /// A family of spans that all cover the same text (any two have IoU >= 0.8): opening any of them must give one claim.
    /// Spans are 60 code points with each end moved by at most 3, so the worst pair has IoU 54/66.
    /// </summary>
    private sealed record SpanGroup(string ArticleId, int Start)
    {
        public const int Length = 60;
        public const int Jitter = 3;

        public (int Start, int End) Pick(Random random) =>
            (Start + random.Next(-Jitter, Jitter + 1), Start + Length + random.Next(-Jitter, Jitter + 1));
    }

    /// <summary>What one analyst knows of its own doing: its current stance and tags per claim.</summary>
    private sealed class AnalystState(string id, string token, bool adjudicator)
    {
        public string Id { get; } = id;
        /// <summary>The one analyst who also adjudicates and reopens (so it alone knows which claims it closed).</summary>
        public bool Adjudicator { get; } = adjudicator;
        public HashSet<string> Closed { get; } = new(StringComparer.Ordinal);
        /// <summary>Fresh per call: the options carry a deadline.</summary>
        public CallOptions Options => AnnotateServer.As(token);
        public Dictionary<string, Stance> StanceOn { get; } = new(StringComparer.Ordinal);
        public HashSet<(string Claim, string Tag)> Tags { get; } = [];
    }

    [Fact]
    public async Task Sixteen_analysts_at_once_leave_views_equal_to_a_fold_of_the_history_with_no_duplicate_claims_and_no_missed_event()
    {
        var ch = server.Channel;
        var policy = ConsensusPolicy.Default;
        var articles = (await ch.Articles().ListArticlesAsync(new ListArticlesRequest(), server.Admin)).Articles.ToList();
        Assert.Equal(5, articles.Count);

        // Two places per article, and beside each a second family shifted by 15 (IoU at most 51/69 with the first): 20 claims at most.
        var groups = articles
            .SelectMany(a =>
                new[] { a.Length / 4, a.Length / 2 }.SelectMany(s =>
                    new[] { new SpanGroup(a.ArticleId, (int)s), new SpanGroup(a.ArticleId, (int)s + 15) }))
            .ToArray();
        Assert.All(
            groups,
            g => Assert.True(g.Start + SpanGroup.Length + SpanGroup.Jitter < articles.Single(a => a.ArticleId == g.ArticleId).Length));

        var analysts = await Task.WhenAll(Enumerable.Range(0, AnalystCount).Select(async i =>
        {
            var id = $"analyst{i:D2}";
            return i == 0
                ? new AnalystState(id, await server.AnalystAsync(id, Role.Analyst, Role.Adjudicator), adjudicator: true)
                : new AnalystState(id, await server.AnalystAsync(id, Role.Analyst), adjudicator: false);
        }));

        using var stop = new CancellationTokenSource();
        var changes = new Signal(); // pulsed by every message a follower reads and every operation a worker ends
        var subscriber = new Follower<SubscribeResponse>(
            ch.History().Subscribe(new SubscribeRequest { AfterPosition = 0 }, Streaming(server.AdminToken, stop.Token)),
            m => m.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition,
            changes,
            stop.Token);
        Follower<WatchArticleResponse> Watch(string articleId) =>
            new(
                ch.Consensus().WatchArticle(new WatchArticleRequest { ArticleId = articleId }, Streaming(server.AdminToken, stop.Token)),
                m => m.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition,
                changes,
                stop.Token);
        var watchers = articles.Select(a => (a.ArticleId, Follower: Watch(a.ArticleId))).ToList();
        var filteredArticle = articles[0].ArticleId;
        var filtered = new Follower<SubscribeResponse>(
            ch.History()
                .Subscribe(
                    new SubscribeRequest
                    {
                        AfterPosition = 0,
                        Filter = new EventFilter { ArticleId = filteredArticle },
                    },
                    Streaming(server.AdminToken, stop.Token)),
            m => m.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition,
            changes,
            stop.Token);
        await subscriber.CaughtUp.WaitAsync(Patience);
        await filtered.CaughtUp.WaitAsync(Patience);
        foreach (var (_, w) in watchers) await w.CaughtUp.WaitAsync(Patience);

        // The run: every analyst acts at once until the time or its operation budget is spent.
        var known = new ConcurrentDictionary<string, string>(StringComparer.Ordinal); // claim id -> article id
        var openedByGroup = new ConcurrentDictionary<SpanGroup, ConcurrentBag<string>>();
        var failures = new ConcurrentQueue<string>();
        var everClosed = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        var refusedAsClosed = 0;
        var staleAdjudications = 0;
        var operations = 0;
        var clock = Stopwatch.StartNew();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var workers = analysts.Select((analyst, i) => Task.Run(async () =>
        {
            await start.Task;
            var random = new Random(1000 + i);
            for (var n = 0; n < MinOperationsEach || (n < MaxOperationsEach && clock.Elapsed < RunFor); n++)
            {
                try
                {
                    if (analyst.Adjudicator && !known.IsEmpty && random.NextDouble() < 0.4)
                        await AdjudicateOrReopenAsync(ch, analyst, random, known, everClosed);
                    else
                        await ActAsync(ch, analyst, random, groups, articles, known, openedByGroup);
                    Interlocked.Increment(ref operations);
                    changes.Pulse();
                }
                catch (RpcException ex)
                    when (ex.StatusCode == StatusCode.FailedPrecondition
                        && ex.Status.Detail.Contains("is adjudicated", StringComparison.Ordinal)
                        && everClosed.Keys.Any(c => ex.Status.Detail.Contains(c, StringComparison.Ordinal)))
                {
                    Interlocked.Increment(ref refusedAsClosed); // a stance on a claim the adjudicator had closed: refused, nothing changed
                }
                catch (RpcException ex) when (analyst.Adjudicator && ex.StatusCode == StatusCode.Aborted)
                {
                    Interlocked.Increment(ref staleAdjudications); // someone changed the claim after the adjudicator read it
                }
                catch (RpcException ex)
                {
                    failures.Enqueue($"{analyst.Id}: {ex.StatusCode} {ex.Status.Detail}");
                }
            }
        })).ToArray();
        start.SetResult();
        _ = Task.WhenAll(workers).ContinueWith(_ => changes.Pulse(), TaskScheduler.Default);

        // Late followers: a subscriber from the beginning and a watcher start while the writes go on, so their
        // catch-up meets live commits (where a gap or a duplicate would show).
        await Until(
            changes,
            () => Volatile.Read(ref operations) >= AnalystCount * 2 || workers.All(w => w.IsCompleted),
            "the run to get going");
        var late = new Follower<SubscribeResponse>(
            ch.History().Subscribe(new SubscribeRequest { AfterPosition = 0 }, Streaming(server.AdminToken, stop.Token)),
            m => m.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition,
            changes,
            stop.Token);
        watchers.Add((articles[1].ArticleId, Watch(articles[1].ArticleId)));
        await Task.WhenAll(workers);
        Assert.True(
            failures.IsEmpty,
            $"{failures.Count} of {operations + failures.Count} operations failed:\n{string.Join('\n', failures.Take(20))}");
        Assert.True(operations >= AnalystCount * MinOperationsEach, $"only {operations} operations ran");

        var ran = clock.Elapsed;

        // The whole history, from scratch.
        var history = await ReplayAllAsync(ch);
        var head = history[^1].Position;
        Assert.Equal(Enumerable.Range(1, (int)head).Select(p => (ulong)p), history.Select(e => e.Position));
        var positioned = history
            .Select(e => new PositionedEvent((long)e.Position, e.RecordedAt.ToDateTimeOffset(), EventTypes.Deserialize(e.Type, e.DataJson)))
            .ToList();
        var claims = positioned.Select(p => p.Event).OfType<ClaimOpened>().ToList();
        Assert.NotEmpty(claims);

        // Retried requests appended nothing twice: one event per request on the claim streams.
        Assert.All(
            history.Where(e => e.StreamId.StartsWith("claim-", StringComparison.Ordinal)).GroupBy(e => (e.Actor, e.RequestId)),
            g => Assert.Single(g));

        // The subscriber saw every event once, in position order, with no gap.
        foreach (var follower in new[] { subscriber, late })
        {
            await Until(changes, () => follower.Snapshot().Any(m => m.Event?.Position >= head), "a subscriber to reach the head");
            var seen = follower.Snapshot().Where(m => m.ItemCase == SubscribeResponse.ItemOneofCase.Event).Select(m => m.Event).ToList();
            Assert.Equal(
                history.Select(e => (e.Position, e.EventId, e.Type)),
                seen.Where(e => e.Position <= head).Select(e => (e.Position, e.EventId, e.Type)));
        }
        // The article filter lets through exactly that article's events, in order, once.
        var ofArticle = history.Where(e => e.ArticleId == filteredArticle).ToList();
        await Until(
            changes,
            () => filtered.Snapshot().Any(m => m.Event?.Position >= ofArticle[^1].Position),
            "the filtered subscriber to reach the article's last event");
        Assert.Equal(
            ofArticle.Select(e => (e.Position, e.EventId)),
            filtered.Snapshot().Where(m => m.Event is not null && m.Event.Position <= head).Select(m => (m.Event.Position, m.Event.EventId))
        );

        // Every served view equals the fold of the history, and the parts that matter agree with a plain count too.
        var served = new Dictionary<string, ClaimView>(StringComparer.Ordinal);
        foreach (var claim in claims)
        {
            var view = await ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim.ClaimId }, server.Admin);
            var folded = OnFirstRevision(ConsensusProjection.Fold(positioned, policy, claim.ClaimId));
            Assert.NotNull(folded);
            Assert.Equal(Mapping.ToProto(folded, policy), view);
            AssertPlainCount(claim.ClaimId, history, positioned, view);
            served[claim.ClaimId] = view;
        }

        // Each analyst's own last word is what the views hold for it.
        foreach (var analyst in analysts)
        {
            foreach (var (claimId, view) in served)
            {
                var held = view.Stances.SingleOrDefault(s => s.Analyst == analyst.Id)?.Stance;
                Assert.Equal(analyst.StanceOn.TryGetValue(claimId, out var mine) ? mine : (Stance?)null, held);
                var tags = view.Tags.Where(t => t.Analysts.Contains(analyst.Id)).Select(t => t.Tag).Order().ToList();
                Assert.Equal(analyst.Tags.Where(t => t.Claim == claimId).Select(t => t.Tag).Order().ToList(), tags);
            }
        }

        // No duplicate claims: one claim per family of same-text spans, and no two claims of an article with IoU >= 0.8.
        foreach (var ids in openedByGroup.Values) Assert.Single(ids.Distinct());
        Assert.Equal(openedByGroup.Count, claims.Count(c => analysts.Any(a => a.Id == c.Analyst)));
        foreach (var article in served.Values.GroupBy(v => v.ArticleId))
        {
            var list = article.ToList();
            for (var i = 0; i < list.Count; i++)
            {
                for (var j = i + 1; j < list.Count; j++)
                {
                    Assert.True(
                        IoU(list[i].Selector.Position, list[j].Selector.Position) < 0.8,
                        $"claims {list[i].ClaimId} and {list[j].ClaimId} cover the same text");
                }
            }
        }

        // The article listing holds exactly the claims the history opened.
        foreach (var article in articles)
        {
            var listed = await ListAllClaimsAsync(ch, article.ArticleId);
            Assert.Equal(claims.Where(c => c.ArticleId == article.ArticleId).Select(c => c.ClaimId).Order(StringComparer.Ordinal),
                listed.Select(v => v.ClaimId).Order(StringComparer.Ordinal));
        }

        // Watchers end on the final view of every claim, and every view they showed is the as-of answer for its position.
        await Until(changes, () => watchers.All(w => served.Values.Where(v => v.ArticleId == w.ArticleId)
                .All(v => w.Follower.Snapshot().LastOrDefault(m => m.View?.ClaimId == v.ClaimId)?.View is { } last && last.Equals(v))),
            "the watchers to show the final views");
        stop.Cancel();
        foreach (var f in new[] { subscriber, late, filtered }) await f.Completion;
        foreach (var (_, w) in watchers) await w.Completion;
        Assert.All(watchers, w => Assert.All(w.Follower.Snapshot(), m => Assert.True(m.View is null || m.View.ArticleId == w.ArticleId)));

        var captured = watchers.SelectMany(w => w.Follower.Snapshot()).Where(m => m.View is not null).Select(m => m.View)
            .DistinctBy(v => (v.ClaimId, v.LastPosition)).ToList();
        Assert.True(captured.Count >= served.Count);
        foreach (var v in captured)
        {
            var folded = OnFirstRevision(
                ConsensusProjection.Fold(positioned.Where(p => p.Position <= (long)v.LastPosition), policy, v.ClaimId));
            Assert.NotNull(folded);
            Assert.Equal(Mapping.ToProto(folded, policy), v);
        }
        using var gate = new SemaphoreSlim(4);
        await Task.WhenAll(captured.Select(async v =>
        {
            await gate.WaitAsync();
            try
            {
                var asOf = await ch.Consensus().GetClaimViewAsync(
                    new GetClaimViewRequest { ClaimId = v.ClaimId, AsOf = new AsOf { Position = v.LastPosition } }, server.Admin);
                Assert.Equal(v, asOf);
            }
            finally { gate.Release(); }
        }));
        output.WriteLine($"{operations} operations by {AnalystCount} analysts in {ran.TotalSeconds:F1} s; "
            + $"{history.Count} events, {claims.Count} claims, {served.Values.Sum(v => v.Stances.Count)} current stances, "
            + $"{positioned.Count(p => p.Event is ClaimAdjudicated)} adjudications "
            + $"({served.Values.Count(v => v.Status == ClaimStatus.Adjudicated)} still closed), "
            + $"{refusedAsClosed} stances refused on closed claims, {staleAdjudications} stale adjudications refused, "
            + $"{captured.Count} distinct views watched");
    }

    /// <summary>Found by the run above: the adjudication's time used to be the claim's last event time, which a later tag moves.</summary>
    [Fact]
    public async Task Adjudicated_at_stays_the_time_of_the_adjudication_when_tags_follow_it()
    {
        var ch = server.Channel;
        var judge = AnnotateServer.As(await server.AnalystAsync("judge-tags", Role.Adjudicator));
        var opened = await ch.Claims().OpenClaimAsync(new OpenClaimRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            ArticleId = "kazakhstan-concerned-about-invasion",
            Selector = new Selector { Position = new TextPosition { Start = 5, End = 45 } }, // far from the spans of the run above
        }, judge);
        var adjudicated = await ch.Claims().AdjudicateAsync(new AdjudicateRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            ClaimId = opened.ClaimId,
            Verdict = Stance.Unverifiable,
            Rationale = "no source",
            ExpectedVersion = 1,
        },
                judge);
        var tagged = await ch.Annotations()
            .ApplyTagAsync(
                new ApplyTagRequest
                {
                    RequestId = Guid.NewGuid().ToString(),
                    Target = new TagTarget { ClaimId = opened.ClaimId },
                    Tag = "census",
                },
                judge);
        Assert.True(tagged.Position > adjudicated.Position);

        var view = await ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = opened.ClaimId }, judge);
        Assert.Equal(ClaimStatus.Adjudicated, view.Status);
        Assert.Equal(adjudicated.RecordedAt, view.Adjudication.AdjudicatedAt);
        Assert.Equal(tagged.RecordedAt, view.LastEventAt);
        var asOf = await ch.Consensus().GetClaimViewAsync(
            new GetClaimViewRequest { ClaimId = opened.ClaimId, AsOf = new AsOf { Position = tagged.Position } }, judge);
        Assert.Equal(view, asOf);
    }

    /// <summary>The adjudicator closes an open claim with the version it read (refused with ABORTED when stale) or reopens one it
    /// closed.</summary>
    private static async Task AdjudicateOrReopenAsync(
        GrpcChannel ch,
        AnalystState me,
        Random random,
        ConcurrentDictionary<string, string> known,
        ConcurrentDictionary<string, bool> everClosed)
    {
        var claims = known.Keys.Order(StringComparer.Ordinal).ToArray();
        var claimId = claims[random.Next(claims.Length)];
        if (me.Closed.Contains(claimId))
        {
            await ch.Claims()
                .ReopenClaimAsync(
                    new ReopenClaimRequest
                    {
                        RequestId = Guid.NewGuid().ToString(),
                        ClaimId = claimId,
                        Reason = "new evidence",
                    },
                    me.Options);
            me.Closed.Remove(claimId);
            return;
        }
        everClosed[claimId] = true; // before the call: a stance refused as closed may arrive before the answer does
        for (var attempt = 1; ; attempt++)
        {
            var view = await ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claimId }, me.Options);
            try
            {
                await ch.Claims().AdjudicateAsync(new AdjudicateRequest
                {
                    RequestId = Guid.NewGuid().ToString(),
                    ClaimId = claimId,
                    Verdict = Stances[random.Next(Stances.Length)],
                    Rationale = "weighed the evidence",
                    ExpectedVersion = view.Version,
                }, me.Options);
                me.Closed.Add(claimId);
                return;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Aborted && attempt < 3)
            {
                // Someone changed the claim after the read: read again and decide on what it says now.
            }
        }
    }

    /// <summary>One random action of <paramref name="me"/>: open a claim, take or replace a stance, withdraw it, or tag.</summary>
    private static async Task ActAsync(GrpcChannel ch, AnalystState me, Random random, SpanGroup[] groups, List<Article> articles,
        ConcurrentDictionary<string, string> known, ConcurrentDictionary<SpanGroup, ConcurrentBag<string>> openedByGroup)
    {
        var roll = random.NextDouble();
        var claims = known.Keys.Order(StringComparer.Ordinal).ToArray();
        if (claims.Length == 0 || roll < 0.25)
        {
            var group = groups[random.Next(groups.Length)];
            var (s, e) = group.Pick(random);
            var opened = await ch.Claims().OpenClaimAsync(new OpenClaimRequest
            {
                RequestId = Guid.NewGuid().ToString(),
                ArticleId = group.ArticleId,
                Selector = new Selector { Position = new TextPosition { Start = (uint)s, End = (uint)e } },
            }, me.Options);
            known.TryAdd(opened.ClaimId, group.ArticleId);
            openedByGroup.GetOrAdd(group, _ => []).Add(opened.ClaimId);
            return;
        }

        var claimId = claims[random.Next(claims.Length)];
        if (roll < 0.65 || (roll < 0.75 && me.StanceOn.Count == 0))
        {
            var stance = Stances[random.Next(Stances.Length)];
            var request = new TakeStanceRequest
            {
                RequestId = Guid.NewGuid().ToString(),
                ClaimId = claimId,
                Stance = stance,
                Rationale = $"{me.Id} read it",
            };
            for (var k = random.Next(3); k > 0; k--)
            {
                var article = articles[random.Next(articles.Count)];
                var from = random.Next((int)article.Length - 40);
                request.Evidence.Add(new ArticleSpan
                {
                    ArticleId = article.ArticleId,
                    Selector = new Selector
                    {
                        Position = new TextPosition { Start = (uint)from, End = (uint)(from + 10 + random.Next(30)) },
                    },
                });
            }
            var result = await ch.Claims().TakeStanceAsync(request, me.Options);
            me.StanceOn[claimId] = stance;
            if (random.NextDouble() < 0.15)
            {
                // A retry of the same request (say, after a lost answer) answers the original append. A request that
                // changed nothing (the same stance again, "already so") appended nothing to remember: its retry answers
                // the claim as it stands then, which others may have moved on.
                var again = await ch.Claims().TakeStanceAsync(request, me.Options);
                Assert.True(again.Deduplicated);
                if (!result.Deduplicated) Assert.Equal(result.Position, again.Position);
                else Assert.True(again.Position >= result.Position);
            }
        }
        else if (roll < 0.75)
        {
            var held = me.StanceOn.Keys.Order(StringComparer.Ordinal).ToArray();
            var withdrawn = held[random.Next(held.Length)];
            await ch.Claims()
                .WithdrawStanceAsync(new WithdrawStanceRequest { RequestId = Guid.NewGuid().ToString(), ClaimId = withdrawn }, me.Options);
            me.StanceOn.Remove(withdrawn);
        }
        else
        {
            var tag = TagNames[random.Next(TagNames.Length)];
            var target = new TagTarget { ClaimId = claimId };
            if (me.Tags.Contains((claimId, tag)))
            {
                await ch.Annotations()
                    .RemoveTagAsync(
                        new RemoveTagRequest
                        {
                            RequestId = Guid.NewGuid().ToString(),
                            Target = target,
                            Tag = tag,
                        },
                        me.Options);
                me.Tags.Remove((claimId, tag));
            }
            else
            {
                await ch.Annotations()
                    .ApplyTagAsync(
                        new ApplyTagRequest
                        {
                            RequestId = Guid.NewGuid().ToString(),
                            Target = target,
                            Tag = tag,
                        },
                        me.Options);
                me.Tags.Add((claimId, tag));
            }
        }
    }

    /// <summary>Stances, version, contributors and last position by plain counting over the claim's events, without the domain
    /// fold.</summary>
    private static void AssertPlainCount(string claimId, List<HistoryEvent> history, List<PositionedEvent> positioned, ClaimView view)
    {
        var mine = positioned.Select((p, i) => (p, h: history[i])).Where(x => ClaimState.ClaimIdOf(x.p.Event) == claimId).ToList();
        var current = new SortedDictionary<string, Domain.Events.Stance>(StringComparer.Ordinal);
        HistoryEvent? adjudication = null;
        foreach (var (p, h) in mine)
        {
            if (p.Event is StanceTaken t) current[t.Analyst] = t.Stance;
            else if (p.Event is StanceWithdrawn w) current.Remove(w.Analyst);
            else if (p.Event is ClaimAdjudicated) adjudication = h;
            else if (p.Event is ClaimReopened) adjudication = null;
        }
        Assert.Equal(
            current.Select(c => (c.Key, c.Value.ToString())),
            view.Stances.Select(s => (s.Analyst, Mapping.ToDomain(s.Stance).ToString())));
        Assert.Equal(current.Count, (int)view.Tallies.Sum(t => t.Count));
        Assert.Equal(mine.Count, view.Version);
        Assert.Equal(mine[^1].h.Position, view.LastPosition);
        Assert.Equal(mine.Select(x => x.h.Actor).Distinct().Order(StringComparer.Ordinal), view.Contributors);
        if (adjudication is not null)
        {
            var verdict = (ClaimAdjudicated)EventTypes.Deserialize(adjudication.Type, adjudication.DataJson);
            Assert.Equal(ClaimStatus.Adjudicated, view.Status);
            Assert.Equal(verdict.Verdict.ToString(), Mapping.ToDomain(view.Adjudication.Verdict).ToString());
            Assert.Equal(adjudication.Actor, view.Adjudication.Adjudicator);
            Assert.Equal(adjudication.RecordedAt, view.Adjudication.AdjudicatedAt);
            return;
        }
        Assert.Null(view.Adjudication);
        var status =
            current.Count < 3 ? ClaimStatus.Pending
            : current.Values.GroupBy(s => s).Where(g => g.Count() * 3 >= current.Count * 2).ToList() is [var winner] ? StatusOf(winner.Key)
            : ClaimStatus.Contested;
        Assert.Equal(status, view.Status);
    }

    private static ClaimStatus StatusOf(Domain.Events.Stance s) => s switch
    {
        Domain.Events.Stance.Supports => ClaimStatus.Supported,
        Domain.Events.Stance.Refutes => ClaimStatus.Refuted,
        Domain.Events.Stance.NeedsContext => ClaimStatus.NeedsContext,
        _ => ClaimStatus.Unverifiable,
    };

    private static double IoU(TextPosition a, TextPosition b)
    {
        var inter = Math.Max(0, (int)Math.Min(a.End, b.End) - (int)Math.Max(a.Start, b.Start));
        var union = (int)(Math.Max(a.End, b.End) - Math.Min(a.Start, b.Start));
        return (double)inter / union;
    }

    private async Task<List<HistoryEvent>> ReplayAllAsync(GrpcChannel ch)
    {
        using var call = ch.History().Replay(new ReplayRequest { FromPosition = 1 }, Streaming(server.AdminToken, default));
        var events = new List<HistoryEvent>();
        await foreach (var e in call.ResponseStream.ReadAllAsync()) events.Add(e);
        return events;
    }

    private async Task<List<ClaimView>> ListAllClaimsAsync(GrpcChannel ch, string articleId)
    {
        var all = new List<ClaimView>();
        var token = "";
        do
        {
            var page = await ch.Consensus().ListClaimsAsync(
                new ListClaimsRequest { ArticleId = articleId, Page = new PageRequest { PageSize = 7, PageToken = token } }, server.Admin);
            all.AddRange(page.Claims);
            token = page.NextPageToken;
        } while (token.Length > 0);
        return all;
    }

    /// <summary>Streams carry no deadline (they outlive a unary call's); cancellation ends them.</summary>
    private static CallOptions Streaming(string token, CancellationToken ct) =>
        new(new Metadata { { "authorization", $"Bearer {token}" } }, null, ct);

    private static async Task Until(Signal changes, Func<bool> condition, string what) =>
        Assert.True(await changes.WaitUntilAsync(condition, Patience), $"timed out waiting for {what}");

    /// <summary>Reads a server stream into a list in the background until cancelled; signals its caught-up marker.</summary>
    private sealed class Follower<T>
    {
        private readonly List<T> _messages = [];
        private readonly TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Follower(AsyncServerStreamingCall<T> call, Func<T, bool> isCaughtUp, Signal changes, CancellationToken stop)
        {
            Completion = Task.Run(async () =>
            {
                using (call)
                {
                    try
                    {
                        await foreach (var m in call.ResponseStream.ReadAllAsync(stop))
                        {
                            lock (_messages) _messages.Add(m);
                            if (isCaughtUp(m)) _caughtUp.TrySetResult();
                            changes.Pulse();
                        }
                        _caughtUp.TrySetException(new InvalidOperationException("the stream ended"));
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
                    catch (RpcException ex) when (stop.IsCancellationRequested && ex.StatusCode == StatusCode.Cancelled) { }
                    catch (Exception ex)
                    {
                        _caughtUp.TrySetException(ex);
                        throw;
                    }
                    finally
                    {
                        changes.Pulse(); // a waiter sees a broken stream at once (Snapshot rethrows)
                    }
                }
            });
        }

        public Task CaughtUp => _caughtUp.Task;

        public Task Completion { get; }

        public List<T> Snapshot()
        {
            if (Completion.IsFaulted) Completion.GetAwaiter().GetResult(); // a broken stream fails the test at once
            lock (_messages) return [.. _messages];
        }
    }

    /// <summary>
    /// A claim folded by the domain (which knows no article revisions) as the stored view records it when no article was
    /// revised: every piece of cited evidence on its article's first revision.
    /// </summary>
    internal static ClaimConsensus? OnFirstRevision(ClaimConsensus? folded) => folded is null ? null : folded with
    {
        Evidence = folded.Evidence
            .Select(x => x.Anchor is { Revision: > 0 } ? x : x with { Anchor = Annotate.Domain.Anchoring.SpanAnchor.On(1) })
            .ToValueList(),
    };
}
