using Annotate.Client;
using Annotate.Contracts.V1;
using Grpc.Core;
using Spectre.Console;

namespace Annotate.ConsoleApp;

/// <summary>
/// One article on screen: the watch task feeds the state, the live display redraws whenever the
/// state changes (no key press needed), and keys either act at once (selection, scrolling) or leave
/// the live display for a prompt and come back.
/// </summary>
public sealed class App(AnnotateClient client, Article article)
{
    private enum Action { Quit, SwitchArticle, OpenClaim, TakeStance, Highlight }

    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);
    private readonly ArticleState _state = new(article);
    private readonly Screen _screen = new();
    private Task? _timelineFetch;
    private (string ClaimId, ulong Position)? _timelineFailed;

    /// <summary>Runs until the user quits (null) or picks another article (its id).</summary>
    public async Task<string?> RunAsync(CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var watch = Watchers.RunAsync(client, _state, stop.Token);
        try
        {
            while (true)
            {
                var action = await LiveAsync(stop.Token);
                AnsiConsole.Clear();
                switch (action)
                {
                    case Action.Quit: return null;
                    case Action.SwitchArticle: return await PickArticleAsync(client, ct);
                    case Action.OpenClaim: await Guarded(OpenClaimAsync, ct); break;
                    case Action.TakeStance: await Guarded(TakeStanceAsync, ct); break;
                    case Action.Highlight: await Guarded(HighlightAsync, ct); break;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await watch;
        }
    }

    public static async Task<string?> PickArticleAsync(AnnotateClient client, CancellationToken ct)
    {
        var list = await client.ListArticlesAsync(new ListArticlesRequest { Page = new PageRequest { PageSize = 500 } }, ct);
        if (list.Articles.Count == 0)
        {
            AnsiConsole.MarkupLine("[yellow]The server holds no articles yet.[/]");
            return null;
        }
        var chosen = await new SelectionPrompt<Article>()
            .Title("Pick an article")
            .PageSize(15)
            .UseConverter(a => $"{Markup.Escape(a.Title)} [grey]({Markup.Escape(a.ArticleId)})[/]")
            .AddChoices(list.Articles)
            .ShowAsync(AnsiConsole.Console, ct);
        return chosen.ArticleId;
    }

    private async Task<Action> LiveAsync(CancellationToken ct)
    {
        Action? chosen = null;
        await AnsiConsole.Live(new Markup("")).AutoClear(true).Overflow(VerticalOverflow.Crop).Cropping(VerticalOverflowCropping.Bottom)
            .StartAsync(async ctx =>
            {
                long drawn = -1;
                (int, int) size = default;
                while (chosen is null && !ct.IsCancellationRequested)
                {
                    var now = (AnsiConsole.Profile.Width, AnsiConsole.Profile.Height);
                    if (_state.Version != drawn || now != size)
                    {
                        drawn = _state.Version;
                        size = now;
                        ctx.UpdateTarget(_screen.Render(_state, now.Width, now.Height - 1));
                        ctx.Refresh();
                    }
                    while (chosen is null && Console.KeyAvailable) chosen = OnKey(Console.ReadKey(intercept: true));
                    FetchTimelineIfStale(ct);
                    if (chosen is null) await Task.Delay(Tick, CancellationToken.None);
                }
            });
        return chosen ?? Action.Quit;
    }

    private Action? OnKey(ConsoleKeyInfo key)
    {
        switch (key.Key)
        {
            case ConsoleKey.UpArrow or ConsoleKey.K: _state.MoveSelection(-1); return null;
            case ConsoleKey.DownArrow or ConsoleKey.J: _state.MoveSelection(+1); return null;
            case ConsoleKey.PageUp: _state.ScrollBy(-10); return null;
            case ConsoleKey.PageDown or ConsoleKey.Spacebar: _state.ScrollBy(+10); return null;
            case ConsoleKey.E: _state.ToggleEvidence(); return null;
            case ConsoleKey.T: _state.ToggleTimeline(); return null;
            case ConsoleKey.O: return Action.OpenClaim;
            case ConsoleKey.S: return Action.TakeStance;
            case ConsoleKey.H: return Action.Highlight;
            case ConsoleKey.A: return Action.SwitchArticle;
            case ConsoleKey.Q or ConsoleKey.Escape: return Action.Quit;
            default: return null;
        }
    }

    /// <summary>
    /// While the timeline is shown, fetches the selected claim's (Audit.GetClaimTimeline) when it is missing or older than the
    /// claim's live view, one call at a time; a refused call is not repeated until the claim changes.
    /// </summary>
    private void FetchTimelineIfStale(CancellationToken ct)
    {
        if (_timelineFetch is { IsCompleted: false } || _state.TimelineToFetch() is not { } claimId) return;
        var position = _state.Selected?.LastPosition ?? 0;
        if (_timelineFailed == (claimId, position)) return;
        _timelineFetch = Task.Run(async () =>
        {
            try
            {
                _state.SetTimeline(await client.GetClaimTimelineAsync(new GetClaimTimelineRequest { ClaimId = claimId }, ct));
            }
            catch (RpcException e)
            {
                _timelineFailed = (claimId, position);
                _state.Say($"timeline refused: {e.StatusCode}: {e.Status.Detail}");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
        }, CancellationToken.None);
    }

    private async Task Guarded(Func<CancellationToken, Task> action, CancellationToken ct)
    {
        try { await action(ct); }
        catch (RpcException e) { _state.Say($"refused: {e.StatusCode}: {e.Status.Detail}"); }
    }

    private async Task OpenClaimAsync(CancellationToken ct)
    {
        AnsiConsole.MarkupLine($"[bold]Open a claim[/] in {Markup.Escape(article.Title)}");
        var quote = await Ask("Quote (exact text of the span; empty to cancel):", ct);
        if (quote.Length == 0) return;
        var statement = await Ask("Statement (empty: the quote itself):", ct);
        var request = new OpenClaimRequest
        {
            RequestId = AnnotateClient.NewRequestId(),
            ArticleId = article.ArticleId,
            Statement = statement,
            Selector = new Selector { Quote = new TextQuote { Exact = quote } },
        };
        OpenClaimResponse opened;
        try
        {
            opened = await client.OpenClaimAsync(request, ct);
        }
        catch (RpcException e)
            when (e.StatusCode == StatusCode.InvalidArgument && e.Status.Detail.Contains("matches at", StringComparison.Ordinal))
        {
            // An ambiguous quote: ask for context that chooses one occurrence, and send it as a new request.
            AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(e.Status.Detail)}[/]");
            request.RequestId = AnnotateClient.NewRequestId();
            request.Selector.Quote.Prefix = await Ask("Text right before the span:", ct);
            request.Selector.Quote.Suffix = await Ask("Text right after the span (optional):", ct);
            opened = await client.OpenClaimAsync(request, ct);
        }
        _state.Select(opened.ClaimId);
        _state.Say(opened.Existing ? $"claim {opened.ClaimId} already covered that span: selected it" : $"opened claim {opened.ClaimId}");
    }

    private async Task TakeStanceAsync(CancellationToken ct)
    {
        if (_state.Selected is not { } claim) { _state.Say("select a claim first (o opens one)"); return; }
        AnsiConsole.MarkupLine($"[bold]Your stance on[/] “{Markup.Escape(claim.Statement)}”");
        var stance = await new SelectionPrompt<Stance>()
            .AddChoices(Stance.Supports, Stance.Refutes, Stance.NeedsContext, Stance.Unverifiable, Stance.Unspecified)
            .UseConverter(s => s == Stance.Unspecified ? "withdraw my stance" : Screen.StanceName(s))
            .ShowAsync(AnsiConsole.Console, ct);
        if (stance == Stance.Unspecified)
        {
            await client.WithdrawStanceAsync(
                new WithdrawStanceRequest { RequestId = AnnotateClient.NewRequestId(), ClaimId = claim.ClaimId },
                ct);
            _state.Say($"withdrew your stance on {claim.ClaimId}");
            return;
        }
        var request = new TakeStanceRequest { RequestId = AnnotateClient.NewRequestId(), ClaimId = claim.ClaimId, Stance = stance };
        request.Rationale = await Ask("Rationale:", ct);
        var evidence = await Ask("Evidence quote (empty for none):", ct);
        if (evidence.Length > 0)
        {
            var inArticle = await Ask($"  in article (empty: {article.ArticleId}):", ct);
            request.Evidence.Add(new ArticleSpan
            {
                ArticleId = inArticle.Length > 0 ? inArticle : article.ArticleId,
                Selector = new Selector { Quote = new TextQuote { Exact = evidence } },
            });
        }
        await client.TakeStanceAsync(request, ct);
        _state.Say($"your stance on {claim.ClaimId}: {Screen.StanceName(stance)}");
    }

    private async Task HighlightAsync(CancellationToken ct)
    {
        AnsiConsole.MarkupLine($"[bold]Highlight a span[/] of {Markup.Escape(article.Title)}");
        var quote = await Ask("Quote (empty to cancel):", ct);
        if (quote.Length == 0) return;
        var request = new CreateHighlightRequest
        {
            RequestId = AnnotateClient.NewRequestId(),
            ArticleId = article.ArticleId,
            Note = await Ask("Note (optional):", ct),
            Selector = new Selector { Quote = new TextQuote { Exact = quote } },
        };
        request.Tags.AddRange(
            (await Ask("Tags, comma-separated (optional):", ct)).Split(
                ',',
                StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
        var created = await client.CreateHighlightAsync(request, ct);
        await Watchers.RefreshHighlightsAsync(client, _state, ct);
        _state.Say($"highlighted {created.Highlight.HighlightId}");
    }

    private static Task<string> Ask(string question, CancellationToken ct) =>
        new TextPrompt<string>(question).AllowEmpty().ShowAsync(AnsiConsole.Console, ct);
}
