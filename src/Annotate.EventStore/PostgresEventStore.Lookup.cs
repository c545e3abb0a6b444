namespace Annotate.EventStore;

public sealed partial class PostgresEventStore
{
    /// <summary>
    /// The events with these ids that exist, in position order. Commands derive their event ids from the
    /// client's request id, so this answers "was this request already carried out, and what did it write?"
    /// </summary>
    public async Task<IReadOnlyList<RecordedEvent>> ReadEventsByIdAsync(
        IReadOnlyCollection<Guid> eventIds,
        CancellationToken cancellationToken = default)
    {
        if (eventIds.Count == 0) return [];
        await using var cmd = _dataSource.CreateCommand($"SELECT {Columns} FROM {_s}.events WHERE event_id = ANY($1) ORDER BY position");
        cmd.Parameters.AddWithValue(eventIds.ToArray());
        var found = new List<RecordedEvent>(eventIds.Count);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) found.Add(ReadEvent(r));
        return found;
    }
}
