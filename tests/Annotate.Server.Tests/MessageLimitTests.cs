using Annotate.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Annotate.Server.Tests;

/// <summary>The message size limit (its own server: the large article would exceed the replays other classes read).</summary>
public sealed class MessageLimitTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    [Fact]
    public async Task Messages_up_to_8_MiB_pass_both_ways_and_larger_requests_are_resource_exhausted()
    {
        // 1,500,000 characters of three UTF-8 bytes each: 4.5 MB, over gRPC's customary 4 MiB, under the server's 8 MiB.
        var text = string.Concat(Enumerable.Repeat("\u6587\u7AE0\u3002", 500_000));
        var id = server.Unique("large");
        using var channel = GrpcChannel.ForAddress(
            server.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 16 << 20, MaxSendMessageSize = 16 << 20 });
        var articles = new Articles.ArticlesClient(channel);
        await articles.ImportArticleAsync(
            new ImportArticleRequest
            {
                RequestId = Guid.NewGuid().ToString(),
                ArticleId = id,
                Title = "Large",
                Text = text,
                Source = "test",
            },
            RawCalls.Options(server.AdminToken));
        var read = await articles.GetArticleAsync(new GetArticleRequest { ArticleId = id }, RawCalls.Options(server.AdminToken));
        Assert.Equal(text, read.Text);

        var tooLarge = new byte[(8 << 20) + 1];
        using var raw = new RawCalls(channel);
        var e = await Assert.ThrowsAsync<RpcException>(
            () => raw.UnaryAsync("/annotate.v1.Articles/ImportArticle", tooLarge, server.AdminToken));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
    }
}
