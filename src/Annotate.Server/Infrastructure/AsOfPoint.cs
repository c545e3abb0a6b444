using Annotate.Contracts.V1;

namespace Annotate.Server.Infrastructure;

/// <summary>The point of history an <see cref="AsOf"/> names, for the store's reads.</summary>
public static class AsOfPoint
{
    public static (long ToPosition, DateTime? ToTime) From(AsOf? asOf) => asOf?.PointCase switch
    {
        AsOf.PointOneofCase.Position => ((long)asOf.Position, null),
        AsOf.PointOneofCase.Time => (long.MaxValue, asOf.Time.ToDateTime()),
        _ => (long.MaxValue, null),
    };

    /// <summary>The position a copy of the database must have replayed to answer as of <paramref name="asOf"/> (0 for now or a
    /// time: any copy answers those as of its own head).</summary>
    public static long Needs(AsOf? asOf) => asOf?.PointCase == AsOf.PointOneofCase.Position ? (long)asOf.Position : 0;

    /// <summary>The last position the answer includes: the asked position (capped at the head), or the last event at or before the asked
    /// time.</summary>
    public static async Task<long> PositionAsync(Views views, long toPosition, DateTime? toTime, CancellationToken ct)
    {
        var bound = toTime is { } t ? await views.Store.GetPositionAtAsync(t, ct) : await views.HeadAsync(ct);
        return Math.Min(toPosition, bound);
    }
}
