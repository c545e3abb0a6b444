using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Annotate.Contracts.V1;
using Annotate.EventStore;
using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using MediatR;
using Role = Annotate.Domain.Events.Role;
using StoreReceipt = Annotate.EventStore.Receipt;

namespace Annotate.Server.Features.History;

/// <summary>Walks the audit chain and checks the given receipts (auditor or admin), streaming progress, then the result.</summary>
public static class VerifyAudit
{
    public sealed record Query(VerifyAuditRequest Request) : IRequest<IAsyncEnumerable<VerifyAuditResponse>>;

    public sealed class Handler(ReadReplica reads) : IRequestHandler<Query, IAsyncEnumerable<VerifyAuditResponse>>
    {
        public Task<IAsyncEnumerable<VerifyAuditResponse>> Handle(Query query, CancellationToken ct) =>
            Task.FromResult(Stream(query.Request, ct));

        private async IAsyncEnumerable<VerifyAuditResponse> Stream(VerifyAuditRequest r, [EnumeratorCancellation] CancellationToken ct)
        {
            // A copy of the database verifies the log up to its head; receipts beyond it need a copy that has replayed them.
            var needs = r.Receipts.Count == 0 ? 0 : r.Receipts.Max(x => (long)Math.Min(x.Position, long.MaxValue));
            var store = (await reads.ViewsAsync(needs, ct)).Store;
            var total = await store.GetHeadPositionAsync(ct);
            using var running = ServerTelemetry.Verifying();
            var progress = Channel.CreateBounded<long>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
            var receipts = r.Receipts.Select(x => new StoreReceipt((long)x.Position, x.Hash.ToLowerInvariant())).ToList();
            var verify = Task.Run(async () =>
            {
                try { return await store.VerifyAsync(receipts, new Progress(progress.Writer), ct); }
                finally { progress.Writer.TryComplete(); }
            }, ct);
            await foreach (var checkedSoFar in progress.Reader.ReadAllAsync(ct))
            {
                yield return new VerifyAuditResponse
                {
                    Progress = new VerifyProgress { Checked = (ulong)checkedSoFar, Total = (ulong)total },
                };
            }
            var report = await verify;
            var result = new VerifyResult
            {
                Ok = report.IsIntact,
                EventsChecked = (ulong)report.EventsChecked,
                HeadPosition = (ulong)report.LastPosition,
            };
            result.ErasedPositions.AddRange((report.ErasedPositions ?? []).Select(p => (ulong)p));
            result.ErasurePositions.AddRange((report.ErasurePositions ?? []).Select(p => (ulong)p));
            if (report.FirstBrokenLink is { } broken)
            {
                result.FirstBroken = new Contracts.V1.BrokenLink
                {
                    Position = (ulong)broken.Position,
                    Reason = broken.Reason,
                    ExpectedHash = broken.ExpectedHash ?? "",
                    ActualHash = broken.FoundHash ?? "",
                };
            }
            foreach (var check in report.Receipts)
            {
                result.Receipts.Add(new Contracts.V1.ReceiptCheck
                {
                    Receipt = new Contracts.V1.Receipt { Position = (ulong)check.Receipt.Position, Hash = check.Receipt.Hash },
                    Holds = check.Holds,
                    Reason =
                            check.Holds ? ""
                            : check.FoundHash is null ? $"no event at position {check.Receipt.Position}"
                            : $"the event at {check.Receipt.Position} now hashes to {check.FoundHash}",
                });
            }
            await foreach (var e in store.ReadAllAsync(Math.Max(0, report.LastPosition - 1), null, 1, report.LastPosition, null, ct))
            {
                result.HeadHash = e.HashHex;
            }
            yield return new VerifyAuditResponse { Result = result };
        }

        /// <summary>
        /// Reports progress without blocking the walk: only the newest count is kept for the caller; the metric gets every step.
        /// </summary>
        private sealed class Progress(ChannelWriter<long> writer) : IProgress<long>
        {
            private long _reported;

            public void Report(long value)
            {
                ServerTelemetry.RecordVerified(value - Interlocked.Exchange(ref _reported, value));
                writer.TryWrite(value);
            }
        }
    }
}
