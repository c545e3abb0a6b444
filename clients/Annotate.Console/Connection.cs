using Annotate.Grpc;
using Google.Protobuf;

namespace Annotate.ConsoleApp;

/// <summary>A channel to the server plus the caller's bearer token; every call carries both.</summary>
public sealed class Connection(string server, string? token) : IDisposable
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(15);

    public GrpcChannel Channel { get; } = GrpcChannel.ForAddress(server);
    public string Server { get; } = server;

    /// <summary>Call options with the token; unary calls get a deadline, streams none.</summary>
    public CallOptions Options(CancellationToken ct, bool stream = false)
    {
        var headers = new Metadata();
        if (token is not null) headers.Add("authorization", $"Bearer {token}");
        return new CallOptions(headers, stream ? null : DateTime.UtcNow + CallTimeout, ct);
    }

    public Task<TResponse> CallAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CancellationToken ct = default)
        where TRequest : class, IMessage<TRequest>, new() where TResponse : class, IMessage<TResponse>, new() =>
        Channel.UnaryAsync(method, request, Options(ct));

    public static string NewRequestId() => Guid.NewGuid().ToString();

    public void Dispose() => Channel.Dispose();
}
