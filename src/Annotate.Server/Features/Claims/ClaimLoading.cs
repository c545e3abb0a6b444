using Annotate.Contracts.V1;
using Annotate.Domain.Claims;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;

namespace Annotate.Server.Features.Claims;

/// <summary>A claim's article and its opening event, which lives in the article's claim stream (see <see cref="Streams"/>).</summary>
public sealed record LoadedClaim(string ClaimId, string ArticleId, IReadOnlyList<IDomainEvent> Opening);

public static class ClaimLoading
{
    public static async Task<LoadedClaim> LoadAsync(Views views, Commands commands, string claimId, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(claimId)) throw ErrorMapping.Invalid("claim_id is required.");
        var doc = await views.ClaimDocumentAsync(claimId, ct);
        var opened = doc.OpenedPosition;
        await foreach (var e in views.Store.ReadAllAsync(opened - 1, null, 1, opened, null, ct))
        {
            return new LoadedClaim(claimId, doc.ArticleId, [EventCodec.Decode(e)]);
        }
        throw new InvalidOperationException($"The opening event of claim {claimId} at position {opened} is missing.");
    }

    /// <summary>
    /// A command on an existing claim: a retried request answers its original result; otherwise the claim's
    /// opening and stream are folded, <paramref name="decide"/> runs, and the events go to the claim's stream.
    /// </summary>
    public static async Task<CommandResult> RunAsync(Views views, Commands commands, string requestId, string claimId,
        Func<ClaimState, Result<IReadOnlyList<IDomainEvent>>> decide, CancellationToken ct)
    {
        Commands.RequireRequestId(requestId);
        if (await commands.PriorResultAsync(requestId, ct) is { } prior) return prior;
        var claim = await LoadAsync(views, commands, claimId, ct);
        return await commands.RunAsync(
            requestId,
            Streams.Claim(claimId),
            claim.ArticleId,
            ClaimState.Initial,
            Claim.Evolve,
            decide,
            ct,
            claim.Opening);
    }
}
