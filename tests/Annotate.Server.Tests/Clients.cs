using Annotate.Contracts.V1;

namespace Annotate.Server.Tests;

/// <summary>
/// The client stubs generated from protos/annotate/v1, one per service, on a channel:
/// <c>await server.Channel.Claims().OpenClaimAsync(request, server.Admin)</c>. A stub is a thin wrapper of the
/// channel's call invoker, so making one per call costs nothing; the caller's <see cref="CallOptions"/> carry the
/// token and deadline of each call.
/// </summary>
internal static class Clients
{
    public static Articles.ArticlesClient Articles(this GrpcChannel channel) => new(channel);

    public static Annotations.AnnotationsClient Annotations(this GrpcChannel channel) => new(channel);

    public static Claims.ClaimsClient Claims(this GrpcChannel channel) => new(channel);

    public static Consensus.ConsensusClient Consensus(this GrpcChannel channel) => new(channel);

    public static History.HistoryClient History(this GrpcChannel channel) => new(channel);

    public static Admin.AdminClient Admin(this GrpcChannel channel) => new(channel);

    public static Audit.AuditClient Audit(this GrpcChannel channel) => new(channel);
}
