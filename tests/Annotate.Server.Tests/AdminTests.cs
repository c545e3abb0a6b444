using Annotate.Contracts.V1;
using Google.Protobuf.WellKnownTypes;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>The Admin service end to end: analysts, roles, tokens and WhoAmI.</summary>
public sealed class AdminTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private GrpcChannel Ch => server.Channel;

    private Task<Analyst> CreateAsync(string id, params Role[] roles) =>
        Ch.Admin()
            .CreateAnalystAsync(
                new CreateAnalystRequest
                {
                    RequestId = Rid(),
                    AnalystId = id,
                    DisplayName = $"Name of {id}",
                    Roles = { roles },
                },
                server.Admin)
            .ResponseAsync;

    private Task<IssueTokenResponse> IssueAsync(string id, Timestamp? expires = null, string label = "laptop") =>
        Ch.Admin()
            .IssueTokenAsync(
                new IssueTokenRequest
                {
                    RequestId = Rid(),
                    AnalystId = id,
                    Label = label,
                    ExpiresAt = expires,
                },
                server.Admin)
            .ResponseAsync;

    [Fact]
    public async Task A_created_analyst_is_listed_with_their_roles_in_id_order()
    {
        var id = server.Unique("zed");
        var created = await CreateAsync(id, Role.Auditor, Role.Analyst);

        Assert.Equal(id, created.AnalystId);
        Assert.Equal($"Name of {id}", created.DisplayName);
        Assert.Equal([Role.Analyst, Role.Auditor], created.Roles.Order());
        Assert.NotNull(created.CreatedAt);
        var listed = await Ch.Admin().ListAnalystsAsync(new ListAnalystsRequest(), server.Admin);
        Assert.Equal(created, listed.Analysts.Single(a => a.AnalystId == id));
        Assert.Contains(listed.Analysts, a => a.AnalystId == "admin" && a.Roles.Contains(Role.Admin));
        Assert.Equal(listed.Analysts.Select(a => a.AnalystId).Order(StringComparer.Ordinal), listed.Analysts.Select(a => a.AnalystId));
    }

    [Fact]
    public async Task Creating_a_taken_analyst_id_with_other_details_is_already_exists_and_the_same_request_twice_registers_once()
    {
        var id = server.Unique("taken");
        var request = new CreateAnalystRequest { RequestId = Rid(), AnalystId = id, DisplayName = "First", Roles = { Role.Analyst } };
        await Ch.Admin().CreateAnalystAsync(request, server.Admin);
        await Ch.Admin().CreateAnalystAsync(request, server.Admin);

        await RefusedAsync(
            StatusCode.AlreadyExists,
            () =>
                Ch.Admin()
                    .CreateAnalystAsync(
                        new CreateAnalystRequest
                        {
                            RequestId = Rid(),
                            AnalystId = id,
                            DisplayName = "Someone else",
                            Roles = { Role.Admin },
                        },
                        server.Admin));
        Assert.Single(await server.EventsOfRequestAsync(request.RequestId));
        var listed = await Ch.Admin().ListAnalystsAsync(new ListAnalystsRequest(), server.Admin);
        Assert.Equal("First", listed.Analysts.Single(a => a.AnalystId == id).DisplayName);
    }

    [Theory]
    [InlineData("Has Space")]
    [InlineData("")]
    [InlineData("colon:inside")]
    public async Task A_bad_analyst_id_is_invalid(string id)
    {
        await RefusedAsync(StatusCode.InvalidArgument, () => CreateAsync(id, Role.Analyst));
    }

    [Fact]
    public async Task An_unspecified_role_is_invalid()
    {
        await RefusedAsync(StatusCode.InvalidArgument, () => CreateAsync(server.Unique("norole"), Role.Unspecified));
    }

    [Fact]
    public async Task New_roles_take_effect_on_the_analysts_existing_token_at_once()
    {
        var (id, who) = await server.NewAnalystAsync("promoted", Role.Analyst);
        var article = await server.ImportAsync("The well is 40 metres deep. The village has a school.");
        var claim = (
            await Ch.Claims()
                .OpenClaimAsync(
                    new OpenClaimRequest
                    {
                        RequestId = Rid(),
                        ArticleId = article,
                        Selector = Quote("The well is 40 metres deep."),
                    },
                    who)
        ).ClaimId;
        await Ch.Claims()
            .TakeStanceAsync(
                new TakeStanceRequest
                {
                    RequestId = Rid(),
                    ClaimId = claim,
                    Stance = Stance.Supports,
                },
                who);
        var version = (await Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim }, who)).Version;
        await RefusedAsync(
            StatusCode.PermissionDenied,
            () =>
                Ch.Claims()
                    .AdjudicateAsync(
                        new AdjudicateRequest
                        {
                            RequestId = Rid(),
                            ClaimId = claim,
                            Verdict = Stance.Supports,
                            Rationale = "measured",
                            ExpectedVersion = version,
                        },
                        who));

        var changed = await Ch.Admin()
            .SetRolesAsync(
                new SetRolesRequest
                {
                    RequestId = Rid(),
                    AnalystId = id,
                    Roles = { Role.Adjudicator },
                },
                server.Admin);

        Assert.Equal([Role.Adjudicator], changed.Roles);
        await Ch.Claims()
            .AdjudicateAsync(
                new AdjudicateRequest
                {
                    RequestId = Rid(),
                    ClaimId = claim,
                    Verdict = Stance.Supports,
                    Rationale = "measured",
                    ExpectedVersion = version,
                },
                who);

        await Ch.Admin().SetRolesAsync(new SetRolesRequest { RequestId = Rid(), AnalystId = id, Roles = { Role.Auditor } }, server.Admin);
        await RefusedAsync(StatusCode.PermissionDenied, () => Ch.Claims().ReopenClaimAsync(
            new ReopenClaimRequest { RequestId = Rid(), ClaimId = claim, Reason = "demoted" }, who));
        Assert.Equal([Role.Auditor], (await Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), who)).Roles);
    }

    [Fact]
    public async Task Setting_roles_of_an_unknown_analyst_is_not_found()
    {
        await RefusedAsync(StatusCode.NotFound, () => Ch.Admin().SetRolesAsync(
            new SetRolesRequest { RequestId = Rid(), AnalystId = "nobody-here", Roles = { Role.Analyst } }, server.Admin));
    }

    [Fact]
    public async Task An_issued_token_works_is_listed_newest_first_without_its_secret_and_can_carry_an_expiry()
    {
        var id = server.Unique("tokens");
        await CreateAsync(id, Role.Analyst);
        var expires = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(1).Date);
        var first = await IssueAsync(id, label: "laptop");
        var second = await IssueAsync(id, expires, "phone");

        Assert.StartsWith(first.Token.TokenId + ".", first.Secret);
        Assert.Equal(id, (await Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), AnnotateServer.As(second.Secret))).AnalystId);
        Assert.Equal(expires, second.Token.ExpiresAt);
        Assert.Null(first.Token.ExpiresAt);

        var listed = await Ch.Admin().ListTokensAsync(new ListTokensRequest { AnalystId = id }, server.Admin);
        Assert.Equal([second.Token.TokenId, first.Token.TokenId], listed.Tokens.Select(t => t.TokenId));
        Assert.Equal(["phone", "laptop"], listed.Tokens.Select(t => t.Label));
        Assert.All(listed.Tokens, t => Assert.False(t.Revoked));
        Assert.DoesNotContain(first.Secret.Split('.')[1], listed.ToString());
        var all = await Ch.Admin().ListTokensAsync(new ListTokensRequest(), server.Admin);
        Assert.Contains(all.Tokens, t => t.AnalystId == "admin");
        Assert.Contains(all.Tokens, t => t.TokenId == first.Token.TokenId);
    }

    [Fact]
    public async Task A_token_expiring_in_the_past_or_for_an_unknown_analyst_is_refused()
    {
        var id = server.Unique("expired");
        await CreateAsync(id, Role.Analyst);

        await RefusedAsync(StatusCode.InvalidArgument, () => IssueAsync(id, Timestamp.FromDateTime(DateTime.UtcNow.AddMinutes(-1))));
        await RefusedAsync(StatusCode.NotFound, () => IssueAsync("nobody-here"));
    }

    [Fact]
    public async Task Retrying_a_token_issue_is_refused_since_the_secret_was_shown_once()
    {
        var id = server.Unique("retry");
        await CreateAsync(id, Role.Analyst);
        var request = new IssueTokenRequest { RequestId = Rid(), AnalystId = id, Label = "once" };
        await Ch.Admin().IssueTokenAsync(request, server.Admin);

        var e = await RefusedAsync(StatusCode.FailedPrecondition, () => Ch.Admin().IssueTokenAsync(request, server.Admin));

        Assert.Contains("new request id", e.Status.Detail);
        Assert.Single((await Ch.Admin().ListTokensAsync(new ListTokensRequest { AnalystId = id }, server.Admin)).Tokens);
    }

    [Fact]
    public async Task A_revoked_token_is_refused_at_once_and_listed_as_revoked_and_the_retry_revokes_once()
    {
        var id = server.Unique("revoked");
        await CreateAsync(id, Role.Analyst);
        var issued = await IssueAsync(id);
        var who = AnnotateServer.As(issued.Secret);
        Assert.Equal(id, (await Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), who)).AnalystId);
        var request = new RevokeTokenRequest { RequestId = Rid(), TokenId = issued.Token.TokenId };

        var revoked = await Ch.Admin().RevokeTokenAsync(request, server.Admin);
        await RefusedAsync(StatusCode.Unauthenticated, () => Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), who));
        var again = await Ch.Admin().RevokeTokenAsync(request, server.Admin);

        Assert.True(again.Deduplicated);
        Assert.Equal(revoked.Position, again.Position);
        Assert.Single(await server.EventsOfRequestAsync(request.RequestId));
        Assert.True(
            Assert.Single((await Ch.Admin().ListTokensAsync(new ListTokensRequest { AnalystId = id }, server.Admin)).Tokens).Revoked);
        await RefusedAsync(
            StatusCode.NotFound,
            () => Ch.Admin().RevokeTokenAsync(new RevokeTokenRequest { RequestId = Rid(), TokenId = "tok000000000000" }, server.Admin));
    }

    [Fact]
    public async Task An_analyst_may_revoke_their_own_token_but_not_someone_elses()
    {
        var (_, owner) = await server.NewAnalystAsync("owner", Role.Analyst);
        var (otherId, _) = await server.NewAnalystAsync("other", Role.Analyst);
        var others = await IssueAsync(otherId);
        var ownerId = (await Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), owner)).AnalystId;
        var own = await IssueAsync(ownerId);

        await RefusedAsync(
            StatusCode.PermissionDenied,
            () => Ch.Admin().RevokeTokenAsync(new RevokeTokenRequest { RequestId = Rid(), TokenId = others.Token.TokenId }, owner));
        await Ch.Admin().RevokeTokenAsync(new RevokeTokenRequest { RequestId = Rid(), TokenId = own.Token.TokenId }, owner);

        await RefusedAsync(StatusCode.Unauthenticated, () => Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), AnnotateServer.As(own.Secret)));
        Assert.Equal(otherId, (await Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), AnnotateServer.As(others.Secret))).AnalystId);
    }

    [Theory]
    [InlineData(Role.Analyst)]
    [InlineData(Role.Adjudicator)]
    [InlineData(Role.Auditor)]
    public async Task Only_an_admin_may_manage_analysts_and_tokens_but_anyone_may_ask_who_they_are(Role role)
    {
        var (id, who) = await server.NewAnalystAsync("nonadmin", role);

        await RefusedAsync(
            StatusCode.PermissionDenied,
            () =>
                Ch.Admin()
                    .CreateAnalystAsync(
                        new CreateAnalystRequest
                        {
                            RequestId = Rid(),
                            AnalystId = server.Unique("sneaky"),
                            DisplayName = "S",
                            Roles = { Role.Admin },
                        },
                        who));
        await RefusedAsync(StatusCode.PermissionDenied, () => Ch.Admin().ListAnalystsAsync(new ListAnalystsRequest(), who));
        await RefusedAsync(StatusCode.PermissionDenied, () => Ch.Admin().SetRolesAsync(
            new SetRolesRequest { RequestId = Rid(), AnalystId = id, Roles = { Role.Admin } }, who));
        await RefusedAsync(StatusCode.PermissionDenied, () => Ch.Admin().IssueTokenAsync(
            new IssueTokenRequest { RequestId = Rid(), AnalystId = id, Label = "more" }, who));
        await RefusedAsync(StatusCode.PermissionDenied, () => Ch.Admin().ListTokensAsync(new ListTokensRequest(), who));

        var me = await Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), who);
        Assert.Equal(id, me.AnalystId);
        Assert.Equal([role], me.Roles);
    }

    [Fact]
    public async Task Admin_commands_with_an_empty_request_id_are_invalid()
    {
        var (id, _) = await server.NewAnalystAsync("norequest", Role.Analyst);
        var token = await IssueAsync(id);

        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Admin().CreateAnalystAsync(
            new CreateAnalystRequest { AnalystId = server.Unique("x"), DisplayName = "X", Roles = { Role.Analyst } }, server.Admin));
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Admin().SetRolesAsync(
            new SetRolesRequest { AnalystId = id, Roles = { Role.Auditor } }, server.Admin));
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Admin().IssueTokenAsync(
            new IssueTokenRequest { AnalystId = id, Label = "x" }, server.Admin));
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Admin().RevokeTokenAsync(
            new RevokeTokenRequest { TokenId = token.Token.TokenId }, server.Admin));
        Assert.Equal([Role.Analyst], (await Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), AnnotateServer.As(token.Secret))).Roles);
    }
}
