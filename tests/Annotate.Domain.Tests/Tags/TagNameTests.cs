using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using Annotate.Domain.Tags;

namespace Annotate.Domain.Tests.Tags;

public sealed class TagNameTests
{
    [Theory]
    [InlineData("needs-source", "needs-source")]
    [InlineData("  Needs Source ", "needs-source")]
    [InlineData("NEEDS\t\n  SOURCE", "needs-source")]
    [InlineData("topic:Energy_Policy", "topic:energy_policy")]
    [InlineData("a", "a")]
    public void Tag_names_are_trimmed_lower_cased_and_inner_whitespace_becomes_a_hyphen(string raw, string expected)
    {
        Assert.Equal(expected, Given.Ok(TagName.Normalize(raw)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public void Empty_tag_is_refused(string? raw)
    {
        Given.Refused(TagName.Normalize(raw), DomainErrorKind.Invalid);
    }

    [Theory]
    [InlineData("needs/source", '/')]
    [InlineData("café", 'é')]
    [InlineData("#tag", '#')]
    public void Tag_with_characters_outside_the_alphabet_is_refused_naming_the_character(string raw, char bad)
    {
        var e = Given.Refused(TagName.Normalize(raw), DomainErrorKind.Invalid);
        Assert.Contains($"'{bad}'", e.Message);
    }

    [Fact]
    public void Tag_of_64_characters_is_accepted_and_65_refused()
    {
        Assert.Equal(64, Given.Ok(TagName.Normalize(new string('x', 64))).Length);
        Given.Refused(TagName.Normalize(new string('x', 65)), DomainErrorKind.Invalid);
    }

    [Fact]
    public void Applying_a_tag_already_applied_by_the_same_analyst_decides_nothing()
    {
        var tags = TagSet.Empty.Apply("needs-source", "alice");
        Assert.Empty(Given.Ok(Tagging.Decide(tags, new ApplyTag(TagTargetKind.Claim, "c1", "Needs Source"), Given.Analyst("alice"))));
        Assert.Single(Given.Ok(Tagging.Decide(tags, new ApplyTag(TagTargetKind.Claim, "c1", "Needs Source"), Given.Analyst("bob"))));
    }

    [Fact]
    public void Removing_a_tag_removes_only_the_actors_application()
    {
        var tags = TagSet.Empty.Apply("x", "alice").Apply("x", "bob");
        var events = Given.Ok(Tagging.Decide(tags, new RemoveTag(TagTargetKind.Claim, "c1", "X"), Given.Analyst("bob")));
        var after = events.Aggregate(tags, Tagging.Evolve);
        var support = Assert.Single(after.Supports());
        Assert.Equal(new TagSupport("x", 1, ValueList.Of("alice")), support);
        Assert.Empty(Given.Ok(Tagging.Decide(after, new RemoveTag(TagTargetKind.Claim, "c1", "x"), Given.Analyst("bob"))));
    }

    [Fact]
    public void Tag_support_lists_most_supported_first_then_by_name()
    {
        var tags = TagSet.Empty.Apply("b", "u1").Apply("a", "u1").Apply("c", "u1").Apply("c", "u2");
        Assert.Equal(["c", "a", "b"], tags.Supports().Select(t => t.Tag));
    }

    [Fact]
    public void Tagging_needs_the_analyst_role()
    {
        Given.Refused(
            Tagging.Decide(TagSet.Empty, new ApplyTag(TagTargetKind.Claim, "c1", "x"), Given.WithRoles("aud", Role.Auditor)),
            DomainErrorKind.PermissionDenied);
    }
}
