namespace Annotate.EventStore;

/// <summary>
/// A decision taken inside the writer's batch, under the global-order lock: the writer brings the stream's state up to
/// date (<see cref="Initial"/> folded with <see cref="Evolve"/> over every event of <see cref="StreamId"/>), calls
/// <see cref="Decide"/> and appends what it returns, all in the batch's one transaction. Decisions on the same stream
/// in one batch are taken one after another on the evolving state, so they never conflict and are never retried.
/// <para>
/// <see cref="Decide"/> returns the events to append, none (the command changes nothing: the answer is the stream's last
/// event, with <see cref="AppendResult.Deduplicated"/> set), or throws to refuse: the exception fails this decision
/// alone and reaches its caller as thrown. It must be pure and quick (it runs under the lock that orders every commit)
/// and may run more than once (a batch run again after a lost connection decides again).
/// </para>
/// <para>
/// The writer keeps folded states between batches, keyed by stream and <see cref="FoldKey"/>: every decision with the
/// same stream and fold key must have the same <see cref="Initial"/> and <see cref="Evolve"/> (the initial state may
/// depend on the stream, never on the caller).
/// </para>
/// </summary>
public sealed record Decision<TState>(
    string StreamId,
    string FoldKey,
    TState Initial,
    Func<TState, object, TState> Evolve,
    Func<TState, IReadOnlyList<EventData>> Decide) : IDecision
{
    /// <summary>
    /// A retried decision with this key is answered with the original append's result (and <see cref="Decide"/> is not
    /// called); one whose first run appended nothing is decided again.
    /// </summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>When set, the decision is refused with <see cref="StreamGuardException"/> unless the guard holds under the lock.</summary>
    public StreamGuard? Guard { get; init; }

    /// <summary>Further conditions on other streams, checked under the lock like <see cref="Guard"/> (e.g. that a text the
    /// decision's input was resolved against is still current); one that fails refuses with <see cref="StreamGuardException"/>.</summary>
    public IReadOnlyList<StreamGuard> Preconditions { get; init; } = [];

    object IDecision.Initial => Initial!;
    object IDecision.Evolve(object state, object data) => Evolve((TState)state, data)!;
    IReadOnlyList<EventData> IDecision.Decide(object state) => Decide((TState)state);
}

/// <summary>The untyped face of <see cref="Decision{TState}"/> the writer works with.</summary>
internal interface IDecision
{
    string StreamId { get; }
    string FoldKey { get; }
    string? IdempotencyKey { get; }
    StreamGuard? Guard { get; }
    IReadOnlyList<StreamGuard> Preconditions { get; }
    object Initial { get; }
    object Evolve(object state, object data);
    IReadOnlyList<EventData> Decide(object state);
}

/// <summary>
/// A condition on another stream, checked under the global-order lock together with the decision it guards: that
/// stream is still at <see cref="Version"/> (including appends earlier in the same batch). A host uses it to make a
/// decision depend on something it cached (e.g. the stream that records whether a credential is still valid).
/// </summary>
public readonly record struct StreamGuard(string StreamId, long Version);

/// <summary>The guarded stream has moved since the caller read it: nothing was appended; check again and retry.</summary>
public sealed class StreamGuardException(StreamGuard guard, long actual)
    : Exception($"Stream '{guard.StreamId}' is at version {actual}, not {guard.Version} as the decision assumed.")
{
    public StreamGuard Guard { get; } = guard;
    public long ActualVersion { get; } = actual;
}

/// <summary>
/// The writer's folded states, by stream and fold key, each with the version (and last event) it reflects. Only the
/// writer loop touches it. Bounded: least recently used states go first. Only states that reflect committed events are
/// stored (a batch stores what it advanced after its COMMIT succeeded), so an entry is always a prefix of its stream:
/// the writer compares its version with the stream's, read under the lock, and folds only what is newer.
/// </summary>
internal sealed class DecisionStates(int capacity)
{
    internal sealed record Entry(object State, long Version, long LastPosition, DateTime LastRecordedAt);

    private readonly Dictionary<(string Stream, string Fold), LinkedListNode<((string, string) Key, Entry Value)>> _map = [];
    private readonly LinkedList<((string, string) Key, Entry Value)> _order = new();

    public int Count => _map.Count;

    public Entry? Get(string stream, string fold)
    {
        if (!_map.TryGetValue((stream, fold), out var node)) return null;
        _order.Remove(node);
        _order.AddFirst(node);
        return node.Value.Value;
    }

    public void Set(string stream, string fold, Entry entry)
    {
        if (capacity <= 0) return;
        if (_map.TryGetValue((stream, fold), out var node))
        {
            // A state never goes back: a concurrent older reader cannot overwrite a newer state.
            if (node.Value.Value.Version > entry.Version) return;
            node.Value = ((stream, fold), entry);
            _order.Remove(node);
            _order.AddFirst(node);
            return;
        }
        _map[(stream, fold)] = _order.AddFirst(((stream, fold), entry));
        while (_map.Count > capacity)
        {
            var last = _order.Last!;
            _order.RemoveLast();
            _map.Remove(last.Value.Key);
        }
    }

    public void Clear()
    {
        _map.Clear();
        _order.Clear();
    }

    public void Remove(string stream, string fold)
    {
        if (_map.Remove((stream, fold), out var node)) _order.Remove(node);
    }
}
