using Grpc.Core;
using Grpc.Net.Client;

namespace Annotate.Server.Tests;

/// <summary>
/// Calls with the request as raw bytes through Grpc.Net.Client, for what a typed client cannot send (invalid
/// UTF-8, truncated or malformed messages) and for the standard services whose few fields are easy to read by hand.
/// </summary>
internal static class RawGrpc
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    public static Method<byte[], byte[]> Method(MethodType type, string service, string name) => new(type, service, name, Bytes, Bytes);

    public static Metadata Bearer(string token) => new() { { "authorization", $"Bearer {token}" } };

    public static CallOptions Options(string? token = null) => new(token is null ? null : Bearer(token), DateTime.UtcNow.AddSeconds(30));

    public static Task<byte[]> UnaryAsync(GrpcChannel channel, string service, string name, byte[] request, string? token = null) =>
        channel.CreateCallInvoker().AsyncUnaryCall(Method(MethodType.Unary, service, name), null, Options(token), request).ResponseAsync;

    /// <summary>grpc.health.v1.Health/Check: the status of <paramref name="service"/> (1 SERVING, 2 NOT_SERVING).</summary>
    public static async Task<int> HealthAsync(GrpcChannel channel, string service = "") =>
        Status(await UnaryAsync(channel, "grpc.health.v1.Health", "Check", HealthRequest(service)));

    /// <summary>HealthCheckRequest { service = <paramref name="service"/> } (an ASCII name).</summary>
    public static byte[] HealthRequest(string service) =>
        service.Length == 0 ? [] : [0x0A, (byte)service.Length, .. System.Text.Encoding.ASCII.GetBytes(service)];

    /// <summary>The status field (1) of a HealthCheckResponse; 0 (UNKNOWN) when absent.</summary>
    public static int Status(byte[] response) => response.Length >= 2 && response[0] == 0x08 ? response[1] : 0;
}
