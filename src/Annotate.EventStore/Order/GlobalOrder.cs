using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Annotate.EventStore.Order;

/// <summary>
/// The rule every reader relies on: <b>events commit in the order of their positions</b>, across every process
/// that writes to the schema. Marten draws positions (its event sequence) before a transaction commits, so two
/// concurrent appenders can commit out of sequence order, and a reader that has seen position N cannot tell
/// whether N-1 is still coming. Here every append transaction takes one transaction-scoped advisory lock, keyed
/// by the schema, before Marten draws any number, and holds it until it commits or rolls back. Numbers are
/// therefore drawn and committed one transaction at a time: when position N is visible, every lower position
/// is either visible or was rolled back for good, and no reader ever waits for (or skips) a hole.
/// The writer (<see cref="GroupCommitWriter"/>) is the only appender; it takes the lock through <see cref="Take"/>.
/// </summary>
public static class GlobalOrder
{
    /// <summary>Stable 64-bit advisory lock key per schema (string.GetHashCode is randomized per process).</summary>
    public static long LockKey(string schema) =>
        BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes("annotate-global-order:" + schema)), 0);

    /// <summary>The statement that takes the lock; run it first in the append transaction.</summary>
    public static NpgsqlBatchCommand Take(string schema)
    {
        var command = new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1)");
        command.Parameters.AddWithValue(LockKey(schema));
        return command;
    }
}
