using Annotate.Contracts.V1;

namespace Annotate.Server.Tests;

/// <summary>
/// A server with <c>ConnectionStrings:AnnotateReadOnly</c> on a real streaming replica of its database: reads that may
/// lag come from the replica (seen by pausing its replay), reads that name a position see it, and reads go on from the
/// primary while the replica is stopped.
/// </summary>
public sealed class ReadReplicaTests : IAsyncLifetime
{
    private const string Article = "russia-involvement-kazakhstan-crisis";
    private StreamingReplica _pair = null!;
    private ReplicaReadingServer _reading = null!;
    private ServerProcess _server = null!;
    private GrpcChannel _channel = null!;
    private CallOptions _admin;

    public async Task InitializeAsync()
    {
        _pair = await StreamingReplica.StartAsync();
        _reading = await ReplicaReadingServer.StartAsync(_pair);
        (_server, _channel, _admin) = (_reading.Process, _reading.Channel, _reading.Admin);
    }

    public async Task DisposeAsync()
    {
        if (_reading is not null) await _reading.DisposeAsync();
        if (_pair is not null) await _pair.DisposeAsync();
    }

    private Task<CreateHighlightResponse> HighlightAsync(uint start, string note = "") =>
        _channel.Annotations().CreateHighlightAsync(new CreateHighlightRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            ArticleId = Article,
            Selector = new Selector { Position = new TextPosition { Start = start, End = start + 20 } },
            Note = note,
        }, _admin).ResponseAsync;

    private Task<ListHighlightsResponse> HighlightsAsync(AsOf? asOf = null) =>
        _channel.Annotations().ListHighlightsAsync(new ListHighlightsRequest { ArticleId = Article, AsOf = asOf }, _admin).ResponseAsync;

    private Task<double> ReadsAsync(string source) => _reading.ReadsAsync(source);

    [Fact]
    public async Task Reads_come_from_the_replica_and_lag_with_it_while_reads_after_a_command_see_the_command()
    {
        var before = await HighlightAsync(10);
        await _pair.CaughtUpAsync();
        Assert.Contains(before.Highlight.HighlightId, (await HighlightsAsync()).Highlights.Select(h => h.HighlightId));

        await _pair.PauseReplayAsync();
        var replicaHead = (long)(await HighlightsAsync()).AsOfPosition;
        var created = await HighlightAsync(40, "quokka sighting");
        var claim = await _channel.Claims().OpenClaimAsync(new OpenClaimRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            ArticleId = Article,
            Selector = new Selector { Position = new TextPosition { Start = 100, End = 160 } },
        }, _admin);
        Assert.True((long)created.Result.Position > replicaHead);

        // Lag allowed: the list is the paused replica's, without the new highlight and as of the replica's head.
        var lagging = await HighlightsAsync();
        Assert.Equal(replicaHead, (long)lagging.AsOfPosition);
        Assert.DoesNotContain(created.Highlight.HighlightId, lagging.Highlights.Select(h => h.HighlightId));
        var replay = _channel.History().Replay(new ReplayRequest { FromPosition = (ulong)replicaHead + 1 }, _admin);
        Assert.Empty(await replay.ResponseStream.ReadAllAsync().ToListAsync());
        var claims = await _channel.Consensus().ListClaimsAsync(new ListClaimsRequest { ArticleId = Article }, _admin);
        Assert.Equal(replicaHead, (long)claims.AsOfPosition);
        Assert.DoesNotContain(claim.ClaimId, claims.Claims.Select(c => c.ClaimId));
        Assert.Empty((await _channel.Search().SearchAsync(new SearchRequest { Query = "quokka" }, _admin)).Hits);
        var export = _channel.Audit().ExportLog(new ExportLogRequest(), _admin);
        Assert.Equal(replicaHead, (long)(await export.ResponseStream.ReadAllAsync().ToListAsync()).Max(e => e.Position));
        var verify = _channel.History().VerifyAudit(new VerifyAuditRequest(), _admin);
        var verified = (await verify.ResponseStream.ReadAllAsync().ToListAsync()).Last().Result;
        Assert.True(verified.Ok);
        Assert.Equal(replicaHead, (long)verified.HeadPosition);
        var replicaReads = await ReadsAsync("replica");
        Assert.True(replicaReads >= 7, $"{replicaReads} reads served by the replica");

        // A read that names the command's position waits for the replica, then reads the primary.
        var fresh = await HighlightsAsync(new AsOf { Position = created.Result.Position });
        Assert.Contains(created.Highlight.HighlightId, fresh.Highlights.Select(h => h.HighlightId));
        var view = await _channel.Consensus().GetClaimViewAsync(
            new GetClaimViewRequest { ClaimId = claim.ClaimId, MinPosition = claim.Result.Position }, _admin);
        Assert.Equal(claim.ClaimId, view.ClaimId);
        var replayed = _channel.History().Replay(
            new ReplayRequest { FromPosition = (ulong)replicaHead + 1, ToPosition = claim.Result.Position }, _admin);
        Assert.Contains(created.Result.Position, (await replayed.ResponseStream.ReadAllAsync().ToListAsync()).Select(e => e.Position));
        Assert.True(await ReadsAsync("primary") >= 3);

        // Replay resumed: the replica catches up and its lists show the new highlight.
        await _pair.ResumeReplayAsync();
        await _pair.CaughtUpAsync();
        var caughtUp = await HighlightsAsync();
        Assert.Contains(created.Highlight.HighlightId, caughtUp.Highlights.Select(h => h.HighlightId));
        Assert.Single((await _channel.Search().SearchAsync(new SearchRequest { Query = "quokka" }, _admin)).Hits);
        Assert.True(await ReadsAsync("replica") > replicaReads);
    }

    [Fact]
    public async Task With_the_replica_stopped_reads_come_from_the_primary_and_none_fails()
    {
        await HighlightsAsync(); // leaves a pooled connection to the replica, which the stop breaks
        await _pair.StopReplicaAsync();

        var created = await HighlightAsync(70);
        var list = await HighlightsAsync();
        Assert.Contains(created.Highlight.HighlightId, list.Highlights.Select(h => h.HighlightId));
        Assert.True((long)list.AsOfPosition >= (long)created.Result.Position);
        var found = await _channel.Search().SearchAsync(new SearchRequest { Query = "Kazakhstan" }, _admin);
        Assert.NotEmpty(found.Hits);
        var replay = _channel.History().Replay(new ReplayRequest { FromPosition = created.Result.Position }, _admin);
        Assert.Equal(created.Result.Position, (await replay.ResponseStream.ReadAllAsync().ToListAsync())[0].Position);
        var verify = _channel.History().VerifyAudit(new VerifyAuditRequest(), _admin);
        var result = (await verify.ResponseStream.ReadAllAsync().ToListAsync()).Last().Result;
        Assert.True(result.Ok);
        Assert.True((long)result.HeadPosition >= (long)created.Result.Position);
        Assert.True(await ReadsAsync("primary") >= 4);
        Assert.Contains("The read replica", _server.Stdout, StringComparison.Ordinal);
    }
}
