using Annotate.Domain.Events;

namespace Annotate.Server.Infrastructure;

/// <summary>
/// The one table of who may call what: every RPC of the public contract, by its gRPC path, with the roles
/// of which a caller needs at least one. Authorization reads it, the role-matrix test walks it, and a method
/// of the contract missing from it stops the server at start-up. Adjudicators hold the analyst role too
/// (<see cref="Caller.Of"/>). Health and reflection are not in it: they stay open to anyone.
/// </summary>
public static class AccessRules
{
    /// <summary>Any role at all: an analyst registered with no roles may call only what needs <see cref="Authenticated"/>.</summary>
    public static readonly IReadOnlyList<Role> AnyRole = [Role.Analyst, Role.Adjudicator, Role.Auditor, Role.Admin];

    /// <summary>A valid token and nothing more (no role needed).</summary>
    public static readonly IReadOnlyList<Role> Authenticated = [];

    private static readonly IReadOnlyList<Role> Analyst = [Role.Analyst];
    private static readonly IReadOnlyList<Role> Adjudicator = [Role.Adjudicator];
    private static readonly IReadOnlyList<Role> Auditor = [Role.Auditor, Role.Admin];
    private static readonly IReadOnlyList<Role> Admin = [Role.Admin];
    private static readonly IReadOnlyList<Role> AnalystOrAdmin = [Role.Analyst, Role.Admin];

    /// <summary>gRPC path ("/package.Service/Method") to the roles that may call it.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<Role>> ByMethod { get; } =
        new Dictionary<string, IReadOnlyList<Role>>(StringComparer.Ordinal)
        {
            ["/annotate.v1.Articles/ImportArticle"] = Admin,
            ["/annotate.v1.Articles/ListArticles"] = AnyRole,
            ["/annotate.v1.Articles/GetArticle"] = AnyRole,
            ["/annotate.v1.Articles/ReviseArticle"] = Admin,

            ["/annotate.v1.Annotations/CreateHighlight"] = Analyst,
            ["/annotate.v1.Annotations/ApplyTag"] = Analyst,
            ["/annotate.v1.Annotations/RemoveTag"] = Analyst,
            ["/annotate.v1.Annotations/RetractHighlight"] = Analyst,
            ["/annotate.v1.Annotations/ListHighlights"] = AnyRole,
            // The domain narrows it to the span's author, adjudicators and admins.
            ["/annotate.v1.Annotations/ReattachSpan"] = AnalystOrAdmin,

            ["/annotate.v1.Claims/OpenClaim"] = Analyst,
            ["/annotate.v1.Claims/TakeStance"] = Analyst,
            ["/annotate.v1.Claims/WithdrawStance"] = Analyst,
            ["/annotate.v1.Claims/Adjudicate"] = Adjudicator,
            ["/annotate.v1.Claims/ReopenClaim"] = Adjudicator,
            ["/annotate.v1.Claims/MakeBlind"] = Adjudicator,
            ["/annotate.v1.Claims/RevealClaim"] = Adjudicator,

            ["/annotate.v1.Discussion/PostReply"] = Analyst,
            ["/annotate.v1.Discussion/EditReply"] = Analyst,
            ["/annotate.v1.Discussion/RetractReply"] = Analyst,
            ["/annotate.v1.Discussion/ListThread"] = AnyRole,

            ["/annotate.v1.Search/Search"] = AnyRole,

            ["/annotate.v1.Consensus/GetClaimView"] = AnyRole,
            ["/annotate.v1.Consensus/ListClaims"] = AnyRole,
            ["/annotate.v1.Consensus/GetArticleAgreement"] = AnyRole,
            ["/annotate.v1.Consensus/WatchArticle"] = AnyRole,

            // Subscribe is open to every role, but only auditors and admins receive access events (analysts,
            // roles, tokens); Replay and VerifyAudit show the whole log and are theirs alone.
            ["/annotate.v1.History/Subscribe"] = AnyRole,
            ["/annotate.v1.History/Replay"] = Auditor,
            ["/annotate.v1.History/VerifyAudit"] = Auditor,

            // The head is published by design; the export is the whole log (token data withheld); a timeline shows what the
            // consensus views show.
            ["/annotate.v1.Audit/GetChainHead"] = AnyRole,
            ["/annotate.v1.Audit/ExportLog"] = Auditor,
            ["/annotate.v1.Audit/GetClaimTimeline"] = AnyRole,

            ["/annotate.v1.Admin/CreateAnalyst"] = Admin,
            ["/annotate.v1.Admin/ListAnalysts"] = Admin,
            ["/annotate.v1.Admin/SetRoles"] = Admin,
            ["/annotate.v1.Admin/IssueToken"] = Admin,
            ["/annotate.v1.Admin/ListTokens"] = Admin,
            // Any role: the domain lets an analyst revoke their own tokens and an admin anyone's.
            ["/annotate.v1.Admin/RevokeToken"] = AnyRole,
            ["/annotate.v1.Admin/WhoAmI"] = Authenticated,
            ["/annotate.v1.Admin/EraseAnalyst"] = Admin,
        };

    /// <summary>Whether <paramref name="caller"/> may call the method at <paramref name="path"/>; unknown paths are refused.</summary>
    public static bool Allows(string path, Caller caller) =>
        ByMethod.TryGetValue(path, out var roles) && (roles.Count == 0 || roles.Any(caller.Has));

    /// <summary>The refusal a caller without the role gets, naming the roles that would do.</summary>
    public static string Refusal(string path, Caller caller)
    {
        var roles = ByMethod.TryGetValue(path, out var r) ? r : [];
        var names = string.Join(" or ", roles.Select(x => x.ToString().ToLowerInvariant()));
        return $"{caller.AnalystId} may not call {path}: it needs the {names} role. Ask an admin to grant it.";
    }
}
