using Annotate.Domain.Analysts;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Tests.Analysts;

public sealed class AnalystTests
{
    private static AnalystState Registered()
    {
        var events = Given.Ok(
            Analyst.Decide(
                AnalystState.Initial,
                new RegisterAnalyst("alice", "Alice", [Role.Analyst, Role.Analyst, Role.Adjudicator]),
                Given.Admin()));
        return Given.Apply(AnalystState.Initial, Analyst.Evolve, events);
    }

    private static AnalystState WithToken(DateTimeOffset? expiry = null)
    {
        var state = Registered();
        return Given.Apply(
            state,
            Analyst.Evolve,
            Given.Ok(Analyst.Decide(state, new IssueToken("alice", "sha256:s", expiry, "laptop"), Given.Admin(newId: "t1"))));
    }

    [Fact]
    public void Registering_an_analyst_stores_distinct_sorted_roles()
    {
        Assert.Equal(ValueList.Of(Role.Analyst, Role.Adjudicator), Registered().Roles);
    }

    [Fact]
    public void Registering_needs_the_admin_role()
    {
        Given.Refused(
            Analyst.Decide(AnalystState.Initial, new RegisterAnalyst("bob", "Bob", [Role.Admin]), Given.Analyst("alice")),
            DomainErrorKind.PermissionDenied);
    }

    [Fact]
    public void Registering_again_identically_decides_nothing_and_differently_is_refused()
    {
        Assert.Empty(
            Given.Ok(Analyst.Decide(Registered(), new RegisterAnalyst("alice", "Alice", [Role.Adjudicator, Role.Analyst]), Given.Admin())));
        Given.Refused(
            Analyst.Decide(Registered(), new RegisterAnalyst("alice", "Alice", [Role.Admin]), Given.Admin()),
            DomainErrorKind.AlreadyExists);
    }

    [Fact]
    public void Changing_roles_replaces_them()
    {
        var state = Given.Apply(
            Registered(),
            Analyst.Evolve,
            Given.Ok(Analyst.Decide(Registered(), new ChangeAnalystRoles("alice", [Role.Auditor]), Given.Admin())));
        Assert.Equal(ValueList.Of(Role.Auditor), state.Roles);
    }

    [Fact]
    public void Issued_token_authenticates_with_its_secret_hash_until_it_expires()
    {
        var expiry = Given.Now.AddHours(1);
        var state = WithToken(expiry);
        Assert.Equal(state.Roles, Given.Ok(Analyst.Authenticate(state, "t1", "sha256:s", Given.Now)));
        Given.Refused(Analyst.Authenticate(state, "t1", "sha256:wrong", Given.Now), DomainErrorKind.Unauthenticated);
        Given.Refused(Analyst.Authenticate(state, "t1", "sha256:s", expiry), DomainErrorKind.Unauthenticated);
        Given.Refused(Analyst.Authenticate(state, "t9", "sha256:s", Given.Now), DomainErrorKind.Unauthenticated);
    }

    [Fact]
    public void Token_expiry_in_the_past_is_refused()
    {
        Given.Refused(
            Analyst.Decide(Registered(), new IssueToken("alice", "h", Given.Now, null), Given.Admin(newId: "t1")),
            DomainErrorKind.Invalid);
    }

    [Fact]
    public void Revoked_token_no_longer_authenticates_and_revoking_again_decides_nothing()
    {
        var state = WithToken();
        state = Given.Apply(state, Analyst.Evolve, Given.Ok(Analyst.Decide(state, new RevokeToken("alice", "t1"), Given.Admin())));
        Given.Refused(Analyst.Authenticate(state, "t1", "sha256:s", Given.Now), DomainErrorKind.Unauthenticated);
        Assert.Empty(Given.Ok(Analyst.Decide(state, new RevokeToken("alice", "t1"), Given.Admin())));
    }

    [Fact]
    public void Analyst_may_revoke_their_own_token_but_not_anothers()
    {
        Assert.Single(Given.Ok(Analyst.Decide(WithToken(), new RevokeToken("alice", "t1"), Given.Analyst("alice"))));
        Given.Refused(Analyst.Decide(WithToken(), new RevokeToken("alice", "t1"), Given.Analyst("bob")), DomainErrorKind.PermissionDenied);
        Given.Refused(Analyst.Decide(WithToken(), new RevokeToken("alice", "t7"), Given.Admin()), DomainErrorKind.NotFound);
    }

    [Fact]
    public void Unknown_role_is_refused()
    {
        Given.Refused(
            Analyst.Decide(AnalystState.Initial, new RegisterAnalyst("bob", "Bob", [(Role)42]), Given.Admin()),
            DomainErrorKind.Invalid);
        Given.Refused(Analyst.Decide(Registered(), new ChangeAnalystRoles("alice", [(Role)42]), Given.Admin()), DomainErrorKind.Invalid);
    }

    [Theory]
    [InlineData("no spaces")]
    [InlineData("Bob:Smith")]
    [InlineData("Upper")]
    [InlineData("a12345678901234567890123456789012345678901")] // 41 characters
    public void Registering_with_an_id_outside_the_documented_shape_is_refused(string id)
    {
        Given.Refused(
            Analyst.Decide(AnalystState.Initial, new RegisterAnalyst(id, "Bob", [Role.Analyst]), Given.Admin()),
            DomainErrorKind.Invalid);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("bob.smith_2-x")]
    [InlineData("a123456789012345678901234567890123456789")] // 40 characters
    public void Registering_with_an_id_of_the_documented_shape_is_accepted(string id)
    {
        Given.Ok(Analyst.Decide(AnalystState.Initial, new RegisterAnalyst(id, "Bob", [Role.Analyst]), Given.Admin()));
    }
}
