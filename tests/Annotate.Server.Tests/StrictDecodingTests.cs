using System.Text;
using Annotate.Contracts.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Annotate.Server.Tests;

/// <summary>Requests are decoded strictly at the edge: invalid UTF-8 and malformed encodings are refused, never repaired.</summary>
public sealed class StrictDecodingTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Text = "The council approved the budget on Tuesday after a long debate.";

    [Fact]
    public async Task Request_ids_differing_only_in_an_invalid_byte_are_both_refused_and_nothing_is_stored()
    {
        var article = await server.ImportAsync(Text);
        var token = await server.AnalystAsync(server.Unique("utf8"), Role.Analyst);
        using var channel = GrpcChannel.ForAddress(server.Address);
        using var raw = new RawCalls(channel);
        var prefix = $"rid-{Guid.NewGuid():N}-";
        var valid = new CreateHighlightRequest
        {
            RequestId = prefix + "X",
            ArticleId = article,
            Selector = new Selector { Quote = new TextQuote { Exact = "approved" } },
        };

        // The parser would turn either byte into U+FFFD, making the two ids equal.
        foreach (var invalid in new byte[] { 0xFF, 0xC3 })
        {
            var bytes = valid.ToByteArray();
            var at = bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(valid.RequestId)) + prefix.Length;
            bytes[at] = invalid;
            var e = await Assert.ThrowsAsync<RpcException>(() => raw.UnaryAsync("/annotate.v1.Annotations/CreateHighlight", bytes, token));
            Assert.True(e.StatusCode == StatusCode.InvalidArgument, $"expected INVALID_ARGUMENT, got {e.StatusCode}: {e.Status.Detail}");
            Assert.Contains("request_id", e.Status.Detail, StringComparison.Ordinal);
            Assert.Contains("UTF-8", e.Status.Detail, StringComparison.Ordinal);
        }

        var events = await server.ReplayAsync(new ReplayRequest { FromPosition = 1 });
        Assert.DoesNotContain(events, e => e.RequestId.StartsWith(prefix, StringComparison.Ordinal));
        var highlights = await new Annotations.AnnotationsClient(channel).ListHighlightsAsync(
            new ListHighlightsRequest { ArticleId = article }, RawCalls.Options(token));
        Assert.Empty(highlights.Highlights);

        // The same request with a valid byte there is stored, once: the refusals were about the byte.
        await raw.UnaryAsync("/annotate.v1.Annotations/CreateHighlight", valid.ToByteArray(), token);
        Assert.Single(await server.EventsOfRequestAsync(valid.RequestId));
    }

    [Fact]
    public async Task Malformed_requests_are_invalid_argument_with_a_message_and_no_stack_trace_in_the_log()
    {
        var article = await server.ImportAsync(Text);
        var token = await server.AnalystAsync(server.Unique("parse"), Role.Analyst);
        using var channel = GrpcChannel.ForAddress(server.Address);
        using var raw = new RawCalls(channel);
        var whole = new CreateHighlightRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            ArticleId = article,
            Note = "a note",
            Selector = new Selector { Quote = new TextQuote { Exact = "budget" } },
        }.ToByteArray();
        var malformed = new Dictionary<string, byte[]>
        {
            ["truncated"] = whole[..^3],
            ["request_id as a varint"] = [0x08, 0x01],
            ["selector with a length of 2^31-1"] = [0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x0A, 0x00],
            ["wire type 7"] = [0x0F, 0x00],
            ["field number 0"] = [0x02, 0x00],
            ["a varint of eleven bytes"] = [0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            ["a note holding an encoded surrogate"] = [0x22, 0x02, 0xED, 0xA0],
            ["selector.quote.exact of invalid UTF-8"] = [0x1A, 0x05, 0x12, 0x03, 0x0A, 0x01, 0xFF],
            ["a tag of invalid UTF-8"] = [0x2A, 0x01, 0xFF],
        };
        foreach (var (what, bytes) in malformed)
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => raw.UnaryAsync("/annotate.v1.Annotations/CreateHighlight", bytes, token));
            Assert.True(e.StatusCode == StatusCode.InvalidArgument,
                $"{what}: expected INVALID_ARGUMENT, got {e.StatusCode}: {e.Status.Detail}");
            Assert.Contains("annotate.v1.CreateHighlightRequest", e.Status.Detail, StringComparison.Ordinal);
        }

        // The server still answers, and logged no fault for any of them.
        await raw.UnaryAsync("/annotate.v1.Annotations/CreateHighlight", whole, token);
        var log = server.Process.Stdout + "\n" + server.Process.Stderr;
        Assert.DoesNotContain("   at ", log, StringComparison.Ordinal);
        Assert.DoesNotContain("fail:", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_and_both_reflection_versions_answer_without_a_token()
    {
        using var channel = GrpcChannel.ForAddress(server.Address);
        using var raw = new RawCalls(channel);
        Assert.Equal(ServingStatus.Serving, await raw.HealthAsync());
        Assert.Equal(ServingStatus.Serving, await raw.HealthAsync("annotate.v1.Claims"));

        foreach (var version in new[] { "v1", "v1alpha" })
        {
            var method = RawCalls.Method(MethodType.DuplexStreaming, $"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo");
            using var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(method, null, RawCalls.Options());
            await call.RequestStream.WriteAsync([0x3A, 0x00]); // list_services = ""
            await call.RequestStream.CompleteAsync();
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            var listed = Encoding.ASCII.GetString(call.ResponseStream.Current);
            foreach (var service in new[] { "annotate.v1.Articles", "annotate.v1.Annotations", "annotate.v1.Claims",
                "annotate.v1.Consensus", "annotate.v1.History", "annotate.v1.Audit", "annotate.v1.Admin", "grpc.health.v1.Health" })
            {
                Assert.Contains(service, listed, StringComparison.Ordinal);
            }
        }
    }
}
