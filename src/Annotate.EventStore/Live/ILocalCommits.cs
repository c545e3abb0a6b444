namespace Annotate.EventStore.Live;

/// <summary>
/// What the writer tells the live hub of its own process about each batch, so the hub publishes the batch from memory: the
/// NOTIFY of a batch can reach the hub's LISTEN connection before the writer has the batch's outcome, and a hub that took it
/// for another instance's commit would read the batch back from the table.
/// </summary>
internal interface ILocalCommits
{
    /// <summary>COMMIT of a batch whose events end at <paramref name="through"/> is about to be sent.</summary>
    void Committing(long through);

    /// <summary>The batch committed these events, in position order.</summary>
    void Committed(List<RecordedEvent> events);

    /// <summary>A batch failed; if it was announced by <see cref="Committing"/> it may or may not have committed.</summary>
    void Abandoned();
}
