using Annotate.Contracts.V1;

namespace Annotate.ConsoleApp;

public enum LinkState { Connecting, Live, Reconnecting }

/// <summary>
/// What the screen shows for one article. The watch task writes claim views into it, the key loop
/// writes selection and messages; both under one lock. <see cref="Version"/> grows with every change
/// so the render loop redraws only when something moved.
/// Invariant: <see cref="Claims"/> holds the newest view seen per claim, ordered by span start, orphans (whose span is on an
/// older text) last.
/// </summary>
public sealed class ArticleState(Article article)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ClaimView> _claims = [];
    private IReadOnlyList<Highlight> _highlights = [];
    private long _version;

    /// <summary>The article as last fetched: its text is the one every drawn span's offsets refer to.</summary>
    public Article Article { get; private set; } = article;
    public long Version => Interlocked.Read(ref _version);

    public LinkState Link { get; private set; } = LinkState.Connecting;
    public string LinkDetail { get; private set; } = "connecting";
    public ulong Position { get; private set; }
    public ulong HighlightsPosition { get; private set; }
    public string? Message { get; private set; }
    public string? SelectedClaimId { get; private set; }
    public bool ShowEvidence { get; private set; }
    /// <summary>The selected claim's timeline is shown instead of the article (key t).</summary>
    public bool ShowTimeline { get; private set; }
    /// <summary>The last timeline fetched (of the claim it names, through the position it names).</summary>
    public ClaimTimeline? Timeline { get; private set; }
    public int Scroll { get; private set; }

    public IReadOnlyList<ClaimView> Claims
    {
        get
        {
            lock (_gate)
            {
                return
                [
                    .. _claims.Values.OrderBy(c => c.Anchor?.Status == AnchorStatus.Orphaned)
                        .ThenBy(c => c.Selector.Position.Start)
                        .ThenBy(c => c.ClaimId, StringComparer.Ordinal),
                ];
            }
        }
    }

    public IReadOnlyList<Highlight> Highlights { get { lock (_gate) return _highlights; } }

    public ClaimView? Selected
    {
        get { lock (_gate) return SelectedClaimId is { } id && _claims.TryGetValue(id, out var v) ? v : null; }
    }

    /// <summary>The initial views of the watch replace everything seen before it.</summary>
    public void CaughtUp(IEnumerable<ClaimView> views, ulong position) => Change(() =>
    {
        _claims.Clear();
        foreach (var v in views) _claims[v.ClaimId] = v;
        Position = Math.Max(Position, position);
        Link = LinkState.Live;
        LinkDetail = "live";
        SelectedClaimId ??= FirstClaimId();
    });

    /// <summary>A reopened watch caught up again (the views it passed were applied as changes): the link is live.</summary>
    public void Resumed(ulong position) => Change(() =>
    {
        Position = Math.Max(Position, position);
        Link = LinkState.Live;
        LinkDetail = "live";
    });

    /// <summary>A changed view; an older view of the same claim (lower position) never replaces a newer one.</summary>
    public void Apply(ClaimView view) => Change(() =>
    {
        if (_claims.TryGetValue(view.ClaimId, out var known) && known.LastPosition > view.LastPosition) return;
        _claims[view.ClaimId] = view;
        Position = Math.Max(Position, view.LastPosition);
        SelectedClaimId ??= view.ClaimId;
    });

    /// <summary>The article's highlights, listed when the log's head was at <paramref name="position"/>.</summary>
    public void SetHighlights(IReadOnlyList<Highlight> highlights, ulong position) => Change(() =>
    {
        if (position < HighlightsPosition) return; // listed before the list shown (e.g. before a revision's reload)
        _highlights = highlights;
        HighlightsPosition = Math.Max(HighlightsPosition, position);
    });

    /// <summary>
    /// A newer revision of the article with its highlights as they stand on it: the text and the spans drawn on it change together.
    /// An older revision than the one shown (a late answer) is dropped.
    /// </summary>
    public void Revised(Article revised, IReadOnlyList<Highlight> highlights, ulong position) => Change(() =>
    {
        if (revised.Revision <= Article.Revision) return;
        Article = revised;
        _highlights = highlights;
        HighlightsPosition = Math.Max(HighlightsPosition, position);
        Message = $"article revised to revision {revised.Revision}" +
                  (revised.RevisionReason.Length > 0 ? $": {revised.RevisionReason}" : "");
    });

    /// <summary>Whether a span with this anchor lies on the text shown: not orphaned, and on the revision shown (a view newer or
    /// older than the text is not drawn until the text catches up).</summary>
    public bool OnText(AnchorState? anchor) =>
        anchor is null || anchor.Revision == 0 || (anchor.Status != AnchorStatus.Orphaned && anchor.Revision == Article.Revision);

    /// <summary>A revision newer than the text shown is known (from a claim view's anchor): the text should be fetched.</summary>
    public bool IsBehind(AnchorState? anchor) =>
        anchor is not null && Math.Max(anchor.Revision, anchor.OrphanedOnRevision) > Article.Revision;

    public void Disconnected(string detail) => Change(() => { Link = LinkState.Reconnecting; LinkDetail = detail; });

    public void Say(string message) => Change(() => Message = message);

    public void Select(string claimId) => Change(() => SelectedClaimId = claimId);

    /// <summary>Moves the selection by <paramref name="delta"/> claims in span order.</summary>
    public void MoveSelection(int delta)
    {
        var ordered = Claims;
        if (ordered.Count == 0) return;
        var index = ordered.ToList().FindIndex(c => c.ClaimId == SelectedClaimId);
        Select(ordered[Math.Clamp(index + delta, 0, ordered.Count - 1)].ClaimId);
    }

    public void ScrollBy(int lines) => Change(() => Scroll = Math.Max(0, Scroll + lines));

    public void ScrollTo(int line) => Change(() => Scroll = Math.Max(0, line));

    public void ToggleEvidence() => Change(() => { ShowEvidence = !ShowEvidence; ShowTimeline = false; });

    public void ToggleTimeline() => Change(() => { ShowTimeline = !ShowTimeline; ShowEvidence = false; });

    public void SetTimeline(ClaimTimeline timeline) => Change(() =>
    {
        // An answer for another claim, or older than the one shown, is dropped.
        if (Timeline is { } known && known.ClaimId == timeline.ClaimId && known.ThroughPosition > timeline.ThroughPosition) return;
        Timeline = timeline;
    });

    /// <summary>
    /// The claim whose timeline should be fetched now: the selected one while the timeline is shown, when the shown timeline is
    /// of another claim or older than the claim's newest view (another analyst acted); null when the one shown is current.
    /// </summary>
    public string? TimelineToFetch()
    {
        lock (_gate)
        {
            if (!ShowTimeline || SelectedClaimId is not { } id || !_claims.TryGetValue(id, out var view)) return null;
            return Timeline is { } t && t.ClaimId == id && t.ThroughPosition >= view.LastPosition ? null : id;
        }
    }

    private string? FirstClaimId() =>
        _claims.Values.OrderBy(c => c.Selector.Position.Start).FirstOrDefault()?.ClaimId;

    private void Change(Action change)
    {
        lock (_gate) change();
        Interlocked.Increment(ref _version);
    }
}
