using System.Net;
using Annotate.Testing;

namespace Annotate.Server.Tests;

/// <summary>The browser reader's files: served by the server on its gRPC-Web endpoint, and nowhere else.</summary>
public sealed class WebReaderTests
{
    [Fact]
    public async Task The_reader_page_is_served_on_the_web_endpoint_with_a_same_origin_policy_and_not_on_the_grpc_endpoint()
    {
        // The server's build makes the reader with Node.js; a build without Node leaves it out and the server says so.
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "web", "index.html")),
            "the reader was not built beside the server (web/index.html): Node.js and npm are needed at build time");
        var address = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var web = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("webreader");
        var tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-admin-{Guid.NewGuid():N}");
        using var server = ServerProcess.Start(["--urls", address, $"--Annotate:WebUrls={web}",
            $"--ConnectionStrings:Annotate={database}", $"--Annotate:AdminTokenFile={tokenFile}"]);
        try
        {
            await server.WaitForOutputAsync($"Browser reader at {web}/");
            await server.WaitForOutputAsync($"gRPC-Web listening on {web}");

            using var http1 = new HttpClient { DefaultRequestVersion = HttpVersion.Version11 };
            using var page = await http1.GetAsync($"{web}/");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Contains("<script type=\"module\" src=\"app.js\">", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            var policy = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("connect-src 'self'", policy, StringComparison.Ordinal);
            Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);

            using var script = await http1.GetAsync($"{web}/app.js");
            Assert.Equal(HttpStatusCode.OK, script.StatusCode);
            Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);

            // Only the reader's folder: not the server's own files beside it.
            using var dll = await http1.GetAsync($"{web}/Annotate.Server.dll");
            Assert.Equal(HttpStatusCode.NotFound, dll.StatusCode);

            // The gRPC endpoint (HTTP/2) serves no files.
            using var http2 = new HttpClient
            {
                DefaultRequestVersion = HttpVersion.Version20,
                DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            using var none = await http2.GetAsync($"{address}/index.html");
            Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
            Assert.Equal(0, await server.TerminateAsync());
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }
}
