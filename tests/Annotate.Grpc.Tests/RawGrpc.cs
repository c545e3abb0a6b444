using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Annotate.Grpc.Tests;

/// <summary>Hand-built gRPC requests over plain HttpMessageInvoker, for testing what our client never sends.</summary>
internal static class RawGrpc
{
    public static byte[] Frame(byte[] payload, bool compressedFlag = false, int? declaredLength = null)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = compressedFlag ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)(declaredLength ?? payload.Length));
        payload.CopyTo(frame, 5);
        return frame;
    }

    public static HttpRequestMessage Request(string address, string path, byte[] body, string contentType = "application/grpc", Version? version = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(address), path))
        {
            Version = version ?? HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        return request;
    }

    /// <summary>Reads the body to its end and returns the gRPC status from trailers (or headers, when trailers-only).</summary>
    public static async Task<(StatusCode Status, string Message)> StatusAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsByteArrayAsync();
        foreach (var headers in new HttpHeaders[] { response.TrailingHeaders, response.Headers })
        {
            if (headers.TryGetValues("grpc-status", out var status))
            {
                var message = headers.TryGetValues("grpc-message", out var m) ? Uri.UnescapeDataString(m.First()) : "";
                return ((StatusCode)int.Parse(status.First(), CultureInfo.InvariantCulture), message);
            }
        }
        throw new Xunit.Sdk.XunitException("no grpc-status in headers or trailers");
    }
}
