using Annotate.Contracts.V1;
using Annotate.Grpc;
using Google.Protobuf.Reflection;

namespace Annotate.Contracts;

/// <summary>
/// Typed methods of the public contract, each built from the generated descriptor of its service
/// (so paths and message types come from the .proto files; a name that does not exist there fails
/// at type initialization, and a test checks that every method of the contract is listed here).
/// </summary>
public static class AnnotateApi
{
    /// <summary>Every service of the public contract (protos/annotate/v1).</summary>
    public static IReadOnlyList<ServiceDescriptor> Services { get; } =
    [
        Articles.Service, Annotations.Service, Claims.Service, Consensus.Service, History.Service, Admin.Service,
    ];

    /// <summary>Every typed method below, for registration checks.</summary>
    public static IReadOnlyList<IMethod> Methods { get; } =
    [
        Articles.ImportArticle, Articles.ListArticles, Articles.GetArticle,
        Annotations.CreateHighlight, Annotations.ApplyTag, Annotations.RemoveTag, Annotations.RetractHighlight, Annotations.ListHighlights,
        Claims.OpenClaim, Claims.TakeStance, Claims.WithdrawStance, Claims.Adjudicate, Claims.ReopenClaim,
        Consensus.GetClaimView, Consensus.ListClaims, Consensus.GetArticleAgreement, Consensus.WatchArticle,
        History.Subscribe, History.Replay, History.VerifyAudit,
        Admin.CreateAnalyst, Admin.ListAnalysts, Admin.SetRoles, Admin.IssueToken, Admin.ListTokens, Admin.RevokeToken, Admin.WhoAmI,
    ];

    private static Method<TRequest, TResponse> M<TRequest, TResponse>(ServiceDescriptor service, string name)
        where TRequest : class, Google.Protobuf.IMessage<TRequest>, new()
        where TResponse : class, Google.Protobuf.IMessage<TResponse>, new() =>
        Method<TRequest, TResponse>.FromDescriptor(service.FindMethodByName(name)
            ?? throw new InvalidOperationException($"{service.FullName} has no method {name}."));

    private static ServiceDescriptor Find(FileDescriptor file, string name) =>
        file.Services.SingleOrDefault(s => s.Name == name) ?? throw new InvalidOperationException($"{file.Name} has no service {name}.");

    public static class Articles
    {
        public static ServiceDescriptor Service { get; } = Find(ArticlesReflection.Descriptor, "Articles");
        public static readonly Method<ImportArticleRequest, ImportArticleResponse> ImportArticle = M<ImportArticleRequest, ImportArticleResponse>(Service, "ImportArticle");
        public static readonly Method<ListArticlesRequest, ListArticlesResponse> ListArticles = M<ListArticlesRequest, ListArticlesResponse>(Service, "ListArticles");
        public static readonly Method<GetArticleRequest, Article> GetArticle = M<GetArticleRequest, Article>(Service, "GetArticle");
    }

    public static class Annotations
    {
        public static ServiceDescriptor Service { get; } = Find(AnnotationsReflection.Descriptor, "Annotations");
        public static readonly Method<CreateHighlightRequest, CreateHighlightResponse> CreateHighlight = M<CreateHighlightRequest, CreateHighlightResponse>(Service, "CreateHighlight");
        public static readonly Method<ApplyTagRequest, CommandResult> ApplyTag = M<ApplyTagRequest, CommandResult>(Service, "ApplyTag");
        public static readonly Method<RemoveTagRequest, CommandResult> RemoveTag = M<RemoveTagRequest, CommandResult>(Service, "RemoveTag");
        public static readonly Method<RetractHighlightRequest, CommandResult> RetractHighlight = M<RetractHighlightRequest, CommandResult>(Service, "RetractHighlight");
        public static readonly Method<ListHighlightsRequest, ListHighlightsResponse> ListHighlights = M<ListHighlightsRequest, ListHighlightsResponse>(Service, "ListHighlights");
    }

    public static class Claims
    {
        public static ServiceDescriptor Service { get; } = Find(ClaimsReflection.Descriptor, "Claims");
        public static readonly Method<OpenClaimRequest, OpenClaimResponse> OpenClaim = M<OpenClaimRequest, OpenClaimResponse>(Service, "OpenClaim");
        public static readonly Method<TakeStanceRequest, CommandResult> TakeStance = M<TakeStanceRequest, CommandResult>(Service, "TakeStance");
        public static readonly Method<WithdrawStanceRequest, CommandResult> WithdrawStance = M<WithdrawStanceRequest, CommandResult>(Service, "WithdrawStance");
        public static readonly Method<AdjudicateRequest, CommandResult> Adjudicate = M<AdjudicateRequest, CommandResult>(Service, "Adjudicate");
        public static readonly Method<ReopenClaimRequest, CommandResult> ReopenClaim = M<ReopenClaimRequest, CommandResult>(Service, "ReopenClaim");
    }

    public static class Consensus
    {
        public static ServiceDescriptor Service { get; } = Find(ConsensusReflection.Descriptor, "Consensus");
        public static readonly Method<GetClaimViewRequest, ClaimView> GetClaimView = M<GetClaimViewRequest, ClaimView>(Service, "GetClaimView");
        public static readonly Method<ListClaimsRequest, ListClaimsResponse> ListClaims = M<ListClaimsRequest, ListClaimsResponse>(Service, "ListClaims");
        public static readonly Method<GetArticleAgreementRequest, ArticleAgreement> GetArticleAgreement = M<GetArticleAgreementRequest, ArticleAgreement>(Service, "GetArticleAgreement");
        public static readonly Method<WatchArticleRequest, WatchArticleResponse> WatchArticle = M<WatchArticleRequest, WatchArticleResponse>(Service, "WatchArticle");
    }

    public static class History
    {
        public static ServiceDescriptor Service { get; } = Find(HistoryReflection.Descriptor, "History");
        public static readonly Method<SubscribeRequest, SubscribeResponse> Subscribe = M<SubscribeRequest, SubscribeResponse>(Service, "Subscribe");
        public static readonly Method<ReplayRequest, HistoryEvent> Replay = M<ReplayRequest, HistoryEvent>(Service, "Replay");
        public static readonly Method<VerifyAuditRequest, VerifyAuditResponse> VerifyAudit = M<VerifyAuditRequest, VerifyAuditResponse>(Service, "VerifyAudit");
    }

    public static class Admin
    {
        public static ServiceDescriptor Service { get; } = Find(AdminReflection.Descriptor, "Admin");
        public static readonly Method<CreateAnalystRequest, Analyst> CreateAnalyst = M<CreateAnalystRequest, Analyst>(Service, "CreateAnalyst");
        public static readonly Method<ListAnalystsRequest, ListAnalystsResponse> ListAnalysts = M<ListAnalystsRequest, ListAnalystsResponse>(Service, "ListAnalysts");
        public static readonly Method<SetRolesRequest, Analyst> SetRoles = M<SetRolesRequest, Analyst>(Service, "SetRoles");
        public static readonly Method<IssueTokenRequest, IssueTokenResponse> IssueToken = M<IssueTokenRequest, IssueTokenResponse>(Service, "IssueToken");
        public static readonly Method<ListTokensRequest, ListTokensResponse> ListTokens = M<ListTokensRequest, ListTokensResponse>(Service, "ListTokens");
        public static readonly Method<RevokeTokenRequest, CommandResult> RevokeToken = M<RevokeTokenRequest, CommandResult>(Service, "RevokeToken");
        public static readonly Method<WhoAmIRequest, Analyst> WhoAmI = M<WhoAmIRequest, Analyst>(Service, "WhoAmI");
    }
}
