using Annotate.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Annotate.Benchmarks.EndToEnd;

/// <summary>The client stubs of every service on one channel (generated here from protos/annotate/v1).</summary>
internal sealed class Api : IDisposable
{
    private readonly GrpcChannel _channel;

    public Api(string address)
    {
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                // Kestrel allows 100 streams per HTTP/2 connection; hundreds of subscribers need more connections.
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            },
        });
        Admin = new Admin.AdminClient(_channel);
        Articles = new Articles.ArticlesClient(_channel);
        Annotations = new Annotations.AnnotationsClient(_channel);
        Claims = new Claims.ClaimsClient(_channel);
        Consensus = new Consensus.ConsensusClient(_channel);
        History = new History.HistoryClient(_channel);
    }

    public Admin.AdminClient Admin { get; }
    public Articles.ArticlesClient Articles { get; }
    public Annotations.AnnotationsClient Annotations { get; }
    public Claims.ClaimsClient Claims { get; }
    public Consensus.ConsensusClient Consensus { get; }
    public History.HistoryClient History { get; }

    public static Metadata Bearer(string token) => new() { { "authorization", $"Bearer {token}" } };

    /// <summary>A unary call's options: the caller's token and a deadline no healthy server comes near.</summary>
    public static CallOptions As(Metadata auth) => new(auth, DateTime.UtcNow.AddSeconds(60));

    public void Dispose() => _channel.Dispose();
}
