using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Annotate.Contracts.V1;
using Annotate.Server.Transport;
using Google.Protobuf;

namespace Annotate.Server.Tests;

/// <summary>Which unary responses go gzip-compressed to a client that accepts gzip, read from the gRPC message frame's
/// compressed flag over raw HTTP/2.</summary>
public sealed class SmallResponsesTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    [Fact]
    public async Task A_client_that_accepts_gzip_gets_small_answers_uncompressed_and_an_article_of_kilobytes_compressed()
    {
        var large = await server.ImportAsync(string.Concat(Enumerable.Repeat("The minister resigned on Tuesday. ", 100)));
        var small = await server.ImportAsync("Short.");

        var (largeFlag, largeArticle) = await GetArticleAsync(large);
        var (smallFlag, smallArticle) = await GetArticleAsync(small);

        Assert.True(largeArticle.CalculateSize() >= SmallResponses.CompressFrom);
        Assert.Equal(1, largeFlag);
        Assert.StartsWith("The minister resigned", largeArticle.Text, StringComparison.Ordinal);
        Assert.True(smallArticle.CalculateSize() < SmallResponses.CompressFrom);
        Assert.Equal(0, smallFlag);
        Assert.Equal("Short.", smallArticle.Text);
    }

    /// <summary>GetArticle as a gRPC client that accepts gzip sends it: the response message's compressed flag and the message.</summary>
    private async Task<(byte Flag, Article Article)> GetArticleAsync(string articleId)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        var payload = new GetArticleRequest { ArticleId = articleId }.ToByteArray();
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{server.Address}/annotate.v1.Articles/GetArticle")
        {
            Version = HttpVersion.Version20, // cleartext HTTP/2 with prior knowledge, as gRPC clients speak it
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.TryAddWithoutValidation("grpc-accept-encoding", "gzip");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminToken);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(body.Length >= 5, $"no message in the response: {response.StatusCode} {response.Headers} {response.TrailingHeaders}");
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1));
        var message = body.AsSpan(5, length).ToArray();
        if (body[0] == 1)
        {
            using var gzip = new GZipStream(new MemoryStream(message), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            await gzip.CopyToAsync(plain);
            message = plain.ToArray();
        }
        return (body[0], Article.Parser.ParseFrom(message));
    }
}
