using System.Text.Json.Nodes;
using Annotate.Contracts.V1;
using Annotate.Server.Infrastructure;
using DomainRole = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.Admin;

/// <summary>Shapes of the access view's documents as the contract shows them.</summary>
public static class AnalystViews
{
    public static async Task<Analyst> GetAsync(Views views, string analystId, CancellationToken ct) =>
        ToProto(await views.LoadAsync<AnalystAccess>(analystId, ct)
            ?? throw ErrorMapping.NotFound($"analyst_id \"{analystId}\" names no analyst."));

    public static Analyst ToProto(AnalystAccess doc)
    {
        var analyst = new Analyst
        {
            AnalystId = doc.Id,
            DisplayName = doc.DisplayName,
            CreatedAt = Mapping.ToTimestamp(doc.CreatedAt),
        };
        analyst.Roles.AddRange(doc.Roles.Select(Mapping.ToProto));
        return analyst;
    }

    public static TokenInfo TokenToProto(TokenAccess doc)
    {
        var info = new TokenInfo
        {
            TokenId = doc.Id,
            AnalystId = doc.AnalystId,
            Label = doc.Label,
            IssuedAt = Mapping.ToTimestamp(doc.IssuedAt),
            Revoked = doc.Revoked,
        };
        if (doc.ExpiresAt is { } expiry) info.ExpiresAt = Mapping.ToTimestamp(expiry);
        return info;
    }
}
