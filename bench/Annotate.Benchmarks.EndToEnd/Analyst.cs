using System.Diagnostics;
using Annotate.Contracts.V1;
using Grpc.Core;

namespace Annotate.Benchmarks.EndToEnd;

internal enum CommandKind { Highlight, OpenClaim, TakeStance, WithdrawStance, ApplyTag, RemoveTag }

/// <summary>
/// One command as the client saw it: when it was sent and answered (Stopwatch ticks), the position in its answer, and
/// whether it wrote that position (false when the answer names an earlier event: "already so", an existing claim).
/// </summary>
internal readonly record struct CommandSample(CommandKind Kind, long Sent, long Answered, ulong Position, bool Wrote);

/// <summary>A refused or failed command, kept to report (a benchmark never times a broken server silently).</summary>
internal readonly record struct CommandError(CommandKind Kind, long Answered, StatusCode Status, string Message);

/// <summary>
/// One analyst of the desk in a closed loop: the next command leaves when the previous one is answered. The mix,
/// per command: 30% highlight (half with a note, a third with tags), 10% open a claim (a quarter of them over a
/// hot claim's text, which returns that claim), 35% take a stance (70% on a hot claim), 15% tag a highlight or a
/// claim, 5% remove one of their tags, 5% withdraw one of their stances. Each analyst draws from a seeded random
/// sequence of their own, so every build gets the same sequence of intentions.
/// </summary>
internal sealed class Analyst(int index, Newsroom room, Api api, BenchAnalyst me)
{
    private static readonly string[] Tags =
    [
        "disputed",
        "needs-source",
        "statistic",
        "quote",
        "context",
        "russia",
        "ukraine",
        "kazakhstan",
        "economy",
        "opinion",
        "timeline",
        "follow-up",
    ];
    private static readonly Stance[] Stances = [Stance.Supports, Stance.Refutes, Stance.NeedsContext, Stance.Unverifiable];
    private readonly Random _rng = new(7919 * (index + 1));
    private readonly List<string> _highlights = [];
    private readonly List<(TagTarget Target, string Tag)> _tags = [];
    private readonly List<string> _stances = [];

    private int _answered;

    public List<CommandSample> Samples { get; } = new(1 << 12);

    /// <summary>Commands answered so far (successfully or not), readable while the loop runs.</summary>
    public int Answered => Volatile.Read(ref _answered);
    public List<CommandError> Errors { get; } = [];

    /// <summary>
    /// Issues commands until <paramref name="stop"/>: each as soon as the previous one is answered (closed loop), or, with a
    /// <paramref name="pace"/>, at fixed times: the first after <paramref name="offset"/>, then one every
    /// <paramref name="pace"/> (open loop). A command whose time comes while the previous one is unanswered leaves when that
    /// one is answered, and the times after it stay where they were: a server that falls behind gets the commands it
    /// missed as fast as it answers, and commands/s shows the rate it kept.
    /// </summary>
    public async Task RunAsync(CancellationToken stop, TimeSpan? pace = null, TimeSpan offset = default)
    {
        var start = Stopwatch.GetTimestamp();
        for (long n = 0; !stop.IsCancellationRequested; n++)
        {
            if (pace is { } interval)
            {
                var due = offset + (interval * n) - Stopwatch.GetElapsedTime(start);
                if (due > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(due, stop);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
            var kind = Choose();
            var sent = Stopwatch.GetTimestamp();
            try
            {
                var result = await ExecuteAsync(kind);
                Samples.Add(new CommandSample(kind, sent, Stopwatch.GetTimestamp(), result.Position, !result.Deduplicated));
            }
            catch (RpcException e)
            {
                Errors.Add(new CommandError(kind, Stopwatch.GetTimestamp(), e.StatusCode, e.Status.Detail));
            }
            Interlocked.Increment(ref _answered);
        }
    }

    private CommandKind Choose()
    {
        var r = _rng.NextDouble();
        return r switch
        {
            < 0.30 => CommandKind.Highlight,
            < 0.40 => CommandKind.OpenClaim,
            < 0.75 => CommandKind.TakeStance,
            < 0.90 => CommandKind.ApplyTag,
            < 0.95 => _tags.Count > 0 ? CommandKind.RemoveTag : CommandKind.ApplyTag,
            _ => _stances.Count > 0 ? CommandKind.WithdrawStance : CommandKind.TakeStance,
        };
    }

    private async Task<CommandResult> ExecuteAsync(CommandKind kind)
    {
        var options = Api.As(me.Auth);
        var requestId = Guid.NewGuid().ToString();
        switch (kind)
        {
            case CommandKind.Highlight:
                {
                    var article = room.Articles[_rng.Next(room.Articles.Count)];
                    var request = new CreateHighlightRequest
                    {
                        RequestId = requestId,
                        ArticleId = article.Id,
                        Selector = RandomSpan(article),
                    };
                    if (_rng.NextDouble() < 0.5)
                        request.Note = $"Check this against the wire copy ({me.Id}, {_rng.Next(1000)}).";
                    if (_rng.NextDouble() < 0.33)
                        request.Tags.Add(Tags[_rng.Next(Tags.Length)]);
                    var answer = await api.Annotations.CreateHighlightAsync(request, options);
                    _highlights.Add(answer.Highlight.HighlightId);
                    return answer.Result;
                }
            case CommandKind.OpenClaim:
                {
                    Selector selector;
                    string articleId;
                    if (_rng.NextDouble() < 0.25)
                    {
                        // Someone else's wording of a hot claim: the server answers with the existing one.
                        var (id, start, end) = room.HotSpans[_rng.Next(room.HotSpans.Count)];
                        articleId = id;
                        selector = new Selector { Position = new TextPosition { Start = (uint)(start + 1), End = (uint)end } };
                    }
                    else
                    {
                        var article = room.Articles[_rng.Next(room.Articles.Count)];
                        articleId = article.Id;
                        selector = RandomSpan(article);
                    }
                    var answer = await api.Claims.OpenClaimAsync(
                        new OpenClaimRequest
                        {
                            RequestId = requestId,
                            ArticleId = articleId,
                            Selector = selector,
                        },
                        options);
                    if (!answer.Existing)
                        room.AddClaim(answer.ClaimId);
                    return answer.Result;
                }
            case CommandKind.TakeStance:
                {
                    var claim = PickClaim();
                    var request = new TakeStanceRequest
                    {
                        RequestId = requestId,
                        ClaimId = claim,
                        Stance = Stances[_rng.Next(Stances.Length)],
                        Rationale = "The figures in the second paragraph do not match the ministry's release.",
                    };
                    if (_rng.NextDouble() < 0.2)
                    {
                        var article = room.Articles[_rng.Next(room.Articles.Count)];
                        request.Evidence.Add(new ArticleSpan { ArticleId = article.Id, Selector = RandomSpan(article) });
                    }
                    var answer = await api.Claims.TakeStanceAsync(request, options);
                    if (!_stances.Contains(claim)) _stances.Add(claim);
                    return answer;
                }
            case CommandKind.WithdrawStance:
                {
                    var at = _rng.Next(_stances.Count);
                    var claim = _stances[at];
                    _stances.RemoveAt(at); // mine no longer, whatever the answer
                    return await api.Claims.WithdrawStanceAsync(
                        new WithdrawStanceRequest { RequestId = requestId, ClaimId = claim },
                        options);
                }
            case CommandKind.ApplyTag:
                {
                    var target = _highlights.Count > 0 && _rng.NextDouble() < 0.5
                        ? new TagTarget { HighlightId = _highlights[_rng.Next(_highlights.Count)] }
                        : new TagTarget { ClaimId = PickClaim() };
                    var tag = Tags[_rng.Next(Tags.Length)];
                    var answer = await api.Annotations.ApplyTagAsync(
                        new ApplyTagRequest
                        {
                            RequestId = requestId,
                            Target = target,
                            Tag = tag,
                        },
                        options);
                    if (!_tags.Contains((target, tag)))
                        _tags.Add((target, tag)); // removed at most once
                    return answer;
                }
            case CommandKind.RemoveTag:
                {
                    var at = _rng.Next(_tags.Count);
                    var (target, tag) = _tags[at];
                    _tags.RemoveAt(at);
                    return await api.Annotations.RemoveTagAsync(
                        new RemoveTagRequest
                        {
                            RequestId = requestId,
                            Target = target,
                            Tag = tag,
                        },
                        options);
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    /// <summary>A hot claim 70% of the time, else any claim opened so far (as a real desk: a few claims draw most of the
    /// argument).</summary>
    private string PickClaim() => _rng.NextDouble() < 0.7 ? room.HotClaims[_rng.Next(room.HotClaims.Count)] : room.AnyClaim(_rng);

    /// <summary>A span of 20-200 code points by position; the server resolves the quote.</summary>
    private Selector RandomSpan(BenchArticle article)
    {
        var length = Math.Min(article.Length - 1, _rng.Next(20, 201));
        var start = _rng.Next(0, article.Length - length);
        return new Selector { Position = new TextPosition { Start = (uint)start, End = (uint)(start + length) } };
    }
}
