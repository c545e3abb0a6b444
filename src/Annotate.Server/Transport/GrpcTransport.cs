using System.IO.Compression;
using System.Reflection;
using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using Annotate.Server.Services;
using Annotate.Server.Transport.Decoding;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;

namespace Annotate.Server.Transport;

/// <summary>
/// gRPC on Grpc.AspNetCore: the annotate.v1 services (Services/), the error interceptor, authentication and
/// authorization from <see cref="AccessRules"/>, the validating request decoder, standard health and reflection,
/// and gRPC-Web on the web endpoint when one is configured.
/// </summary>
public static class GrpcTransport
{
    /// <summary>
    /// Largest message either way: the largest article the domain accepts (2,000,000 UTF-16 units, at most 6 MB in
    /// UTF-8) fits.
    /// </summary>
    public const int MaxMessageSize = 8 * 1024 * 1024;

    /// <summary>How often the health checks run for grpc.health.v1 Watch streams.</summary>
    public static readonly TimeSpan HealthCheckPeriod = TimeSpan.FromSeconds(5);

    /// <summary>Every service of the public contract (protos/annotate/v1) with the class that implements it.</summary>
    private static readonly (ServiceDescriptor Contract, Type Implementation)[] Implementations =
    [
        (Contracts.V1.Articles.Descriptor, typeof(ArticlesService)),
        (Contracts.V1.Annotations.Descriptor, typeof(AnnotationsService)),
        (Contracts.V1.Claims.Descriptor, typeof(ClaimsService)),
        (Contracts.V1.Consensus.Descriptor, typeof(ConsensusService)),
        (Contracts.V1.Discussion.Descriptor, typeof(DiscussionService)),
        (Contracts.V1.Search.Descriptor, typeof(SearchService)),
        (Contracts.V1.History.Descriptor, typeof(HistoryService)),
        (Contracts.V1.Audit.Descriptor, typeof(AuditService)),
        (Contracts.V1.Admin.Descriptor, typeof(AdminService)),
    ];

    /// <summary>The services of the public contract (protos/annotate/v1): what is validated, served and reported on.</summary>
    public static IReadOnlyList<ServiceDescriptor> ContractServices { get; } = [.. Implementations.Select(s => s.Contract)];

    /// <summary>Every name grpc.health.v1 answers for (any other is NOT_FOUND): the whole server (""), the probes' names and
    /// each service of the contract.</summary>
    public static IReadOnlyList<string> HealthServiceNames { get; } =
        ["", Health.Liveness, Health.Readiness, .. ContractServices.Select(s => s.FullName)];

    public static IServiceCollection AddAnnotateTransport(this IServiceCollection services)
    {
        services.AddGrpc(o =>
        {
            o.Interceptors.Add<ErrorInterceptor>();
            o.Interceptors.Add<SmallResponses>();
            o.MaxReceiveMessageSize = MaxMessageSize;
            o.MaxSendMessageSize = MaxMessageSize;
            // Requests may come gzip-compressed; responses are gzip-compressed (fastest level) for every client that
            // accepts gzip, identity for the others; unary responses under 1 KiB go uncompressed (SmallResponses).
            o.ResponseCompressionAlgorithm = "gzip";
            o.ResponseCompressionLevel = CompressionLevel.Fastest;
            o.EnableDetailedErrors = false; // exception text never leaves the server
        });
        ValidatingServiceMethodProvider.ReplaceDefault(services);
        services.AddGrpcReflection();
        services.AddGrpcHealthChecks(o =>
        {
            // Which checks each name reports: Health.Concerns ("" and each service: untagged checks and those tagged with
            // the service; liveness and readiness for probes).
            foreach (var name in HealthServiceNames) o.Services.Map(name, r => Health.Concerns(name, r.Tags));
        }).AddAnnotateChecks();
        // Check runs the checks when called; Watch sends what the periodic run finds, so a change shows within a period.
        services.Configure<HealthCheckPublisherOptions>(o =>
        {
            o.Delay = TimeSpan.FromSeconds(1);
            o.Period = HealthCheckPeriod;
        });
        services.AddAnnotateAuthorization();
        return services;
    }

    /// <summary>
    /// Maps the annotate.v1 services with their access rules, health and reflection (open to anyone). Stops the
    /// server, naming the method, when a method of the contract has no access rule or no implementation (which
    /// would answer UNIMPLEMENTED).
    /// </summary>
    public static WebApplication MapAnnotateApi(this WebApplication app, WebEndpoint web)
    {
        CheckContract();
        app.UseRouting();
        web.UseOn(app);
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseCallerContext();
        app.MapGrpcService<ArticlesService>().RequireAccessRules();
        app.MapGrpcService<AnnotationsService>().RequireAccessRules();
        app.MapGrpcService<ClaimsService>().RequireAccessRules();
        app.MapGrpcService<ConsensusService>().RequireAccessRules();
        app.MapGrpcService<DiscussionService>().RequireAccessRules();
        app.MapGrpcService<SearchService>().RequireAccessRules();
        app.MapGrpcService<HistoryService>().RequireAccessRules();
        app.MapGrpcService<AuditService>().RequireAccessRules();
        app.MapGrpcService<AdminService>().RequireAccessRules();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        return app;
    }

    private static void CheckContract()
    {
        var problems = new List<string>();
        foreach (var (contract, implementation) in Implementations)
        {
            foreach (var method in contract.Methods)
            {
                var path = $"/{contract.FullName}/{method.Name}";
                if (!AccessRules.ByMethod.ContainsKey(path)) problems.Add($"{path} has no access rule (AccessRules)");
                var declared = implementation.GetMethod(method.Name, BindingFlags.Public | BindingFlags.Instance)?.DeclaringType;
                if (declared != implementation) problems.Add($"{path} is not implemented by {implementation.Name}");
            }
        }
        var known = ContractServices.SelectMany(s => s.Methods.Select(m => $"/{s.FullName}/{m.Name}")).ToHashSet(StringComparer.Ordinal);
        problems.AddRange(AccessRules.ByMethod.Keys
            .Where(path => !known.Contains(path))
            .Select(path => $"{path} has an access rule but is not in the contract"));
        if (problems.Count > 0)
        {
            throw new InvalidOperationException("The server does not match its contract: " + string.Join("; ", problems) + ".");
        }
    }
}
