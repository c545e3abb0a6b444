using System.Reflection;
using Annotate.Contracts.V1;
using Google.Protobuf.Reflection;
using Grpc.Core;

namespace Annotate.Contracts.Tests;

public sealed class ContractTests
{
    /// <summary>The RPCs the contract promises (issue: articles, annotations, claims, consensus, history, admin, audit; then
    /// discussion, blind claims, search and article revisions).</summary>
    private static readonly (string Path, MethodType Type)[] Promised =
    [
        ("/annotate.v1.Articles/ImportArticle", MethodType.Unary),
        ("/annotate.v1.Articles/ListArticles", MethodType.Unary),
        ("/annotate.v1.Articles/GetArticle", MethodType.Unary),
        ("/annotate.v1.Articles/ReviseArticle", MethodType.Unary),
        ("/annotate.v1.Annotations/CreateHighlight", MethodType.Unary),
        ("/annotate.v1.Annotations/ApplyTag", MethodType.Unary),
        ("/annotate.v1.Annotations/RemoveTag", MethodType.Unary),
        ("/annotate.v1.Annotations/RetractHighlight", MethodType.Unary),
        ("/annotate.v1.Annotations/ListHighlights", MethodType.Unary),
        ("/annotate.v1.Annotations/ReattachSpan", MethodType.Unary),
        ("/annotate.v1.Claims/OpenClaim", MethodType.Unary),
        ("/annotate.v1.Claims/TakeStance", MethodType.Unary),
        ("/annotate.v1.Claims/WithdrawStance", MethodType.Unary),
        ("/annotate.v1.Claims/Adjudicate", MethodType.Unary),
        ("/annotate.v1.Claims/ReopenClaim", MethodType.Unary),
        ("/annotate.v1.Claims/MakeBlind", MethodType.Unary),
        ("/annotate.v1.Claims/RevealClaim", MethodType.Unary),
        ("/annotate.v1.Discussion/PostReply", MethodType.Unary),
        ("/annotate.v1.Discussion/EditReply", MethodType.Unary),
        ("/annotate.v1.Discussion/RetractReply", MethodType.Unary),
        ("/annotate.v1.Discussion/ListThread", MethodType.Unary),
        ("/annotate.v1.Search/Search", MethodType.Unary),
        ("/annotate.v1.Consensus/GetClaimView", MethodType.Unary),
        ("/annotate.v1.Consensus/ListClaims", MethodType.Unary),
        ("/annotate.v1.Consensus/GetArticleAgreement", MethodType.Unary),
        ("/annotate.v1.Consensus/WatchArticle", MethodType.ServerStreaming),
        ("/annotate.v1.History/Subscribe", MethodType.ServerStreaming),
        ("/annotate.v1.History/Replay", MethodType.ServerStreaming),
        ("/annotate.v1.History/VerifyAudit", MethodType.ServerStreaming),
        ("/annotate.v1.Admin/CreateAnalyst", MethodType.Unary),
        ("/annotate.v1.Admin/ListAnalysts", MethodType.Unary),
        ("/annotate.v1.Admin/SetRoles", MethodType.Unary),
        ("/annotate.v1.Admin/IssueToken", MethodType.Unary),
        ("/annotate.v1.Admin/ListTokens", MethodType.Unary),
        ("/annotate.v1.Admin/RevokeToken", MethodType.Unary),
        ("/annotate.v1.Admin/WhoAmI", MethodType.Unary),
        ("/annotate.v1.Admin/EraseAnalyst", MethodType.Unary),
        ("/annotate.v1.Audit/GetChainHead", MethodType.Unary),
        ("/annotate.v1.Audit/ExportLog", MethodType.ServerStreaming),
        ("/annotate.v1.Audit/GetClaimTimeline", MethodType.Unary),
    ];

    /// <summary>Every service of the public contract, as generated from protos/annotate/v1.</summary>
    private static readonly ServiceDescriptor[] Services =
    [
        .. ArticlesReflection.Descriptor.Services, .. AnnotationsReflection.Descriptor.Services, .. ClaimsReflection.Descriptor.Services,
        .. ConsensusReflection.Descriptor.Services, .. HistoryReflection.Descriptor.Services, .. AdminReflection.Descriptor.Services,
        .. AuditReflection.Descriptor.Services,
        .. CommonReflection.Descriptor.Services, .. DiscussionReflection.Descriptor.Services, .. SearchReflection.Descriptor.Services,
    ];

    private static IEnumerable<MethodDescriptor> Methods => Services.SelectMany(s => s.Methods);

    [Fact]
    public void The_descriptors_hold_exactly_the_promised_rpcs()
    {
        var described = Methods
            .Select(m => ($"/{m.Service.FullName}/{m.Name}", TypeOf(m)))
            .OrderBy(x => x.Item1, StringComparer.Ordinal);

        Assert.Equal(Promised.OrderBy(x => x.Path, StringComparer.Ordinal), described);
    }

    [Fact]
    public void Every_rpc_has_a_generated_client_method_with_its_message_types()
    {
        foreach (var m in Methods)
        {
            var client = typeof(Article).Assembly.GetType($"{typeof(Article).Namespace}.{m.Service.Name}+{m.Service.Name}Client");
            Assert.True(client is not null, $"no generated client for {m.Service.FullName}");
            var (name, returns) = TypeOf(m) == MethodType.Unary
                ? (m.Name + "Async", typeof(AsyncUnaryCall<>).MakeGenericType(m.OutputType.ClrType))
                : (m.Name, typeof(AsyncServerStreamingCall<>).MakeGenericType(m.OutputType.ClrType));
            var method = client.GetMethod(name, BindingFlags.Public | BindingFlags.Instance, [m.InputType.ClrType, typeof(CallOptions)]);
            Assert.True(method is not null, $"{client.Name} has no {name}({m.InputType.Name}, CallOptions)");
            Assert.Equal(returns, method.ReturnType);
        }
    }

    [Fact]
    public void Every_rpc_has_a_generated_server_method_to_override()
    {
        foreach (var m in Methods)
        {
            var service = typeof(Article).Assembly.GetType($"{typeof(Article).Namespace}.{m.Service.Name}+{m.Service.Name}Base");
            Assert.True(service is not null, $"no generated service base for {m.Service.FullName}");
            var method = service.GetMethod(m.Name, BindingFlags.Public | BindingFlags.Instance);
            Assert.True(method is { IsVirtual: true }, $"{service.Name} has no virtual {m.Name}");
            Assert.Equal(m.InputType.ClrType, method.GetParameters()[0].ParameterType);
        }
    }

    [Fact]
    public void Every_command_request_carries_a_request_id()
    {
        var commands = Methods.Where(m => m.InputType.Name is var n
            && !n.StartsWith("List", StringComparison.Ordinal) && !n.StartsWith("Get", StringComparison.Ordinal)
            && n is not ("WatchArticleRequest" or "SubscribeRequest" or "ReplayRequest" or "VerifyAuditRequest" or "WhoAmIRequest"
                or "ExportLogRequest" or "SearchRequest"));

        Assert.All(commands, m => Assert.NotNull(m.InputType.FindFieldByName("request_id")));
        Assert.Equal(22, commands.Count());
    }

    [Fact]
    public void Every_rpc_of_the_contract_is_documented()
    {
        var protos = Path.Combine(RepoRoot(), "protos", "annotate", "v1");
        foreach (var file in Directory.GetFiles(protos, "*.proto"))
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                var line = lines[i].Trim();
                if (!line.StartsWith("rpc ", StringComparison.Ordinal))
                    continue;
                Assert.True(
                    lines[i - 1].Trim().StartsWith("//", StringComparison.Ordinal),
                    $"{Path.GetFileName(file)}:{i + 1} rpc without a comment: {line}");
            }
        }
    }

    private static MethodType TypeOf(MethodDescriptor m) => (m.IsClientStreaming, m.IsServerStreaming) switch
    {
        (false, false) => MethodType.Unary,
        (false, true) => MethodType.ServerStreaming,
        (true, false) => MethodType.ClientStreaming,
        _ => MethodType.DuplexStreaming,
    };

    private static string RepoRoot()
    {
        for (var dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "Annotate.sln"))) return dir;
        }
        throw new InvalidOperationException("Annotate.sln not found above " + AppContext.BaseDirectory);
    }
}
