using System.Text.Json.Nodes;
using Annotate.Contracts.V1;
using Annotate.Server.Infrastructure;
using DomainRole = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.Admin;

/// <summary>Shapes of the access view's documents as the contract shows them.</summary>
public static class AnalystViews
{
    public static async Task<Analyst> GetAsync(Views views, string analystId, CancellationToken ct) =>
        ToProto(await views.GetAsync(Projections.Access, $"analyst:{analystId}", ct)
            ?? throw ErrorMapping.NotFound($"analyst_id \"{analystId}\" names no analyst."));

    public static Analyst ToProto(JsonObject doc)
    {
        var analyst = new Analyst
        {
            AnalystId = doc["analystId"]!.GetValue<string>(),
            DisplayName = doc["displayName"]!.GetValue<string>(),
            CreatedAt = Mapping.ToTimestamp(doc["createdAt"]),
        };
        analyst.Roles.AddRange(Projections.FromJson<DomainRole[]>(doc["roles"]!).Select(Mapping.ToProto));
        return analyst;
    }

    public static TokenInfo TokenToProto(JsonObject doc)
    {
        var info = new TokenInfo
        {
            TokenId = doc["tokenId"]!.GetValue<string>(),
            AnalystId = doc["analystId"]!.GetValue<string>(),
            Label = doc["label"]!.GetValue<string>(),
            IssuedAt = Mapping.ToTimestamp(doc["issuedAt"]),
            Revoked = doc["revoked"]!.GetValue<bool>(),
        };
        if (doc["expiresAt"] is { } expiry) info.ExpiresAt = Mapping.ToTimestamp(expiry);
        return info;
    }
}
