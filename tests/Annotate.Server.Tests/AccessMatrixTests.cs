using Annotate.Contracts;
using Annotate.Contracts.V1;
using Annotate.Server.Infrastructure;
using Annotate.Server.Transport;
using Google.Protobuf.WellKnownTypes;
using static Annotate.Server.Tests.Rpc;
using DomainRole = Annotate.Domain.Events.Role;
using NetCode = global::Grpc.Core.StatusCode;

namespace Annotate.Server.Tests;

/// <summary>A server with one caller of every kind the access matrix walks: no token, bad, expired, revoked, each role, no role.</summary>
public sealed class AccessMatrixServer : IAsyncLifetime
{
    public AnnotateServer Server { get; } = new();
    public Dictionary<string, string?> Tokens { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, DomainRole[]> Roles { get; } = new(StringComparer.Ordinal)
    {
        ["analyst"] = [DomainRole.Analyst],
        ["adjudicator"] = [DomainRole.Adjudicator],
        ["auditor"] = [DomainRole.Auditor],
        ["admin"] = [DomainRole.Admin],
        ["no-role"] = [],
    };

    public async Task InitializeAsync()
    {
        await Server.InitializeAsync();
        var ch = Server.Channel;
        var (expiring, _) = await Server.NewAnalystAsync("expiring", Role.Admin);
        var expiry = DateTime.UtcNow.AddSeconds(4);
        var expired = await ch.Admin()
            .IssueTokenAsync(
                new IssueTokenRequest
                {
                    RequestId = Rid(),
                    AnalystId = expiring,
                    Label = "short",
                    ExpiresAt = Timestamp.FromDateTime(expiry),
                },
                Server.Admin);
        Tokens["expired"] = expired.Secret;
        Tokens["none"] = null;
        Tokens["bad"] = "tok000000000000.not-a-secret";

        var revokedId = Server.Unique("revoked");
        var revoked = await Server.AnalystAsync(revokedId, Role.Admin);
        await ch.Admin().RevokeTokenAsync(new RevokeTokenRequest { RequestId = Rid(), TokenId = revoked.Split('.')[0] }, Server.Admin);
        Tokens["revoked"] = revoked;

        foreach (var (name, roles) in Roles)
        {
            Tokens[name] = await Server.AnalystAsync(Server.Unique(name), roles.Select(Mapping.ToProto).ToArray());
        }
        // Expiry is a moment on the clock the server shares: wait for it, not for a guess.
        var untilExpired = expiry.AddMilliseconds(50) - DateTime.UtcNow;
        if (untilExpired > TimeSpan.Zero) await Task.Delay(untilExpired);
    }

    public Task DisposeAsync() => Server.DisposeAsync();
}

/// <summary>
/// The full access matrix, generated from <see cref="AccessRules"/>: every method of the contract called by every kind of
/// caller. Callers without a valid token are UNAUTHENTICATED; callers with one get PERMISSION_DENIED exactly where
/// the table says so, and anything but those two where it allows them.
/// </summary>
public sealed class AccessMatrixTests(AccessMatrixServer fixture) : IClassFixture<AccessMatrixServer>
{
    private static readonly string[] Unauthenticated = ["none", "bad", "expired", "revoked"];
    private static readonly string[] WithRoles = ["analyst", "adjudicator", "auditor", "admin", "no-role"];

    public static IEnumerable<object[]> Matrix =>
        AccessRules
            .ByMethod.Keys.Order(StringComparer.Ordinal)
            .SelectMany(path => Unauthenticated.Concat(WithRoles).Select(who => new object[] { path, who }));

    private static bool IsServerStreaming(string path) =>
        GrpcTransport.ContractServices.SelectMany(s => s.Methods).Single(m => $"/{m.Service.FullName}/{m.Name}" == path).IsServerStreaming;

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Every_method_answers_every_caller_as_the_access_table_says(string path, string who)
    {
        using var raw = new RawCalls(fixture.Server.Address);
        // An empty request: enough to pass or fail authorization, never enough to change anything.
        var outcome = await raw.CallAsync(path, IsServerStreaming(path), [], fixture.Tokens[who], TimeSpan.FromSeconds(20));

        if (Unauthenticated.Contains(who))
        {
            Assert.True(outcome.Code == NetCode.Unauthenticated, $"{who} calling {path}: expected UNAUTHENTICATED, got {outcome}");
        }
        else if (AccessRules.Allows(path, Caller.Of(who, fixture.Roles[who])))
        {
            Assert.True(outcome.Code is not (NetCode.PermissionDenied or NetCode.Unauthenticated or NetCode.Internal or NetCode.Unknown),
                $"{who} may call {path} by the table, but got {outcome}");
        }
        else
        {
            Assert.True(outcome.Code == NetCode.PermissionDenied, $"{who} may not call {path} by the table, but got {outcome}");
        }
    }

    [Fact]
    public void An_analyst_with_no_roles_may_call_WhoAmI_and_nothing_else()
    {
        var allowed = AccessRules.ByMethod.Keys.Where(path => AccessRules.Allows(path, Caller.Of("x", []))).ToList();

        Assert.Equal(["/annotate.v1.Admin/WhoAmI"], allowed);
    }

    [Fact]
    public async Task RetractHighlight_by_an_auditor_is_permission_denied()
    {
        var server = fixture.Server;
        var (_, author) = await server.NewAnalystAsync("author", Role.Analyst);
        var created = await server
            .Channel.Annotations()
            .CreateHighlightAsync(
                new CreateHighlightRequest
                {
                    RequestId = Rid(),
                    ArticleId = "russia-involvement-kazakhstan-crisis",
                    Selector = At(0, 10),
                },
                author);

        var auditor = AnnotateServer.As(fixture.Tokens["auditor"]!);
        await RefusedAsync(
            StatusCode.PermissionDenied,
            () =>
                server
                    .Channel.Annotations()
                    .RetractHighlightAsync(
                        new RetractHighlightRequest { RequestId = Rid(), HighlightId = created.Highlight.HighlightId },
                        auditor));
    }
}
