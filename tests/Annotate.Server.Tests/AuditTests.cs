using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Annotate.Contracts.V1;
using Annotate.EventStore.Chain;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>Audit over gRPC: the head, the exported log the offline verifier recomputes, and timeline refusals.</summary>
public sealed class AuditTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    [Fact]
    public async Task The_exported_texts_hash_to_the_chain_digests_and_recompute_every_link_up_to_the_head()
    {
        var (_, analyst) = await server.NewAnalystAsync("exporter", Role.Analyst);
        var (_, auditor) = await server.NewAnalystAsync("auditor", Role.Auditor);
        var created = await server.Channel.Annotations().CreateHighlightAsync(new CreateHighlightRequest
        {
            RequestId = Rid(),
            ArticleId = "russia-involvement-kazakhstan-crisis",
            Selector = At(0, 10),
            Note = "Kazakhstan — «quoted»\ttab, 中文, emoji 🙂",
        }, analyst);
        var head = await server.Channel.Audit().GetChainHeadAsync(new GetChainHeadRequest(), analyst);
        Assert.True(head.Position >= created.Result.Position);
        Assert.Equal($"annotate-head {head.Position} {head.Link} {EventChain.FormatRecordedAt(head.RecordedAt.ToDateTime())}", head.Text);

        var exported = new List<ExportedEvent>();
        using (var call = server.Channel.Audit().ExportLog(new ExportLogRequest { ToPosition = head.Position }, auditor))
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None)) exported.Add(call.ResponseStream.Current);
        }

        var previous = new byte[32];
        foreach (var e in exported)
        {
            Assert.True(e.HasEvent, $"position {e.Position}");
            var dataDigest = Convert.FromHexString(e.DataDigest);
            var metadataDigest = Convert.FromHexString(e.MetadataDigest);
            if (e.DataWithheld)
            {
                Assert.Equal("token-issued.v1", e.Type);
                Assert.Equal("", e.DataJson);
            }
            else
            {
                Assert.Equal(dataDigest, SHA256.HashData(Encoding.UTF8.GetBytes(e.DataJson)));
            }
            Assert.Equal(metadataDigest, SHA256.HashData(Encoding.UTF8.GetBytes(e.MetadataJson)));
            var recordedAt = DateTime.ParseExact(e.RecordedAt, "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
            var link = EventChain.Compute((long)e.Position, e.StreamId, e.StreamVersion, Guid.Parse(e.EventId), e.Type, dataDigest,
                metadataDigest, recordedAt, previous);
            Assert.Equal(e.Link, Convert.ToHexStringLower(link));
            previous = link;
        }
        Assert.Equal(head.Position, exported[^1].Position);
        Assert.Equal(head.Link, exported[^1].Link);
        Assert.Equal(created.Result.ReceiptHash, exported.Single(e => e.Position == created.Result.Position).Link);
        Assert.Contains(exported, e => e.DataWithheld);
        Assert.Contains("中文, emoji 🙂", exported.Single(e => e.Position == created.Result.Position).DataJson);

        await RefusedAsync(StatusCode.PermissionDenied, async () =>
        {
            using var call = server.Channel.Audit().ExportLog(new ExportLogRequest(), analyst);
            await call.ResponseStream.MoveNext(CancellationToken.None);
        });
        await RefusedAsync(StatusCode.InvalidArgument, async () =>
        {
            using var call = server.Channel.Audit().ExportLog(new ExportLogRequest { AfterPosition = 5, ToPosition = 2 }, auditor);
            await call.ResponseStream.MoveNext(CancellationToken.None);
        });
    }

    [Fact]
    public async Task A_timeline_needs_a_claim_that_exists()
    {
        var (_, analyst) = await server.NewAnalystAsync("reader", Role.Analyst);
        var audit = server.Channel.Audit();

        await RefusedAsync(StatusCode.InvalidArgument, () => audit.GetClaimTimelineAsync(new GetClaimTimelineRequest(), analyst));
        await RefusedAsync(StatusCode.NotFound,
            () => audit.GetClaimTimelineAsync(new GetClaimTimelineRequest { ClaimId = "c0ffee" }, analyst));
        await RefusedAsync(StatusCode.InvalidArgument,
            () => audit.GetClaimTimelineAsync(new GetClaimTimelineRequest { ClaimId = "bad\u0001id" }, analyst));
    }
}
