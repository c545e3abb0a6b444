using Annotate.Contracts.V1;
using Npgsql;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>
/// Admin.EraseAnalyst end to end: the analyst's personal texts leave every read, the log, its export and every table of the
/// database; the chain and receipts issued before still verify and name the erasure; tampering is still caught.
/// </summary>
public sealed class ErasureTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private GrpcChannel Ch => server.Channel;

    /// <summary>What one analyst wrote before being erased, and what others wrote beside it.</summary>
    private sealed record Written(
        string Analyst,
        CallOptions Token,
        string ArticleId,
        string ClaimId,
        string HighlightId,
        string ReplyId,
        IReadOnlyList<string> Secrets,
        string OthersRationale,
        List<CommandResult> Receipts);

    private static string Secret(string what) => $"{what}{Guid.NewGuid():N}"[..24].ToLowerInvariant().Replace('-', 'x');

    private async Task<Written> WriteAsync()
    {
        var article = await server.ImportAsync("Alpha beta gamma delta. Epsilon zeta eta theta. Iota kappa lambda mu.");
        var id = server.Unique("eve");
        string name = Secret("name"), label = Secret("label"), note = Secret("note"), statement = Secret("statement"),
            rationale = Secret("rationale"), verdict = Secret("verdict"), reason = Secret("reason"), reply = Secret("reply"),
            edit = Secret("edit");
        var create = new CreateAnalystRequest { RequestId = Rid(), AnalystId = id, DisplayName = $"Eve {name}" };
        create.Roles.AddRange([Role.Analyst, Role.Adjudicator]);
        await Ch.Admin().CreateAnalystAsync(create, server.Admin);
        var issued = await Ch.Admin().IssueTokenAsync(
            new IssueTokenRequest { RequestId = Rid(), AnalystId = id, Label = label }, server.Admin);
        var eve = AnnotateServer.As(issued.Secret);
        var (_, bob) = await server.NewAnalystAsync("bob", Role.Analyst);
        var receipts = new List<CommandResult> { issued.Result };

        var highlight = await Ch.Annotations().CreateHighlightAsync(
            new CreateHighlightRequest { RequestId = Rid(), ArticleId = article, Selector = Quote("Alpha beta"), Note = $"Note {note}" },
            eve);
        receipts.Add(highlight.Result);
        var claim = await Ch.Claims().OpenClaimAsync(
            new OpenClaimRequest
            {
                RequestId = Rid(),
                ArticleId = article,
                Selector = Quote("Epsilon zeta eta theta"),
                Statement = $"Eve says {statement}",
            },
            eve);
        receipts.Add(claim.Result);
        receipts.Add(await Ch.Claims().TakeStanceAsync(
            new TakeStanceRequest
            {
                RequestId = Rid(),
                ClaimId = claim.ClaimId,
                Stance = Stance.Refutes,
                Rationale = $"Because {rationale}",
            },
            eve));
        var othersRationale = Secret("bobkeeps");
        receipts.Add(await Ch.Claims().TakeStanceAsync(
            new TakeStanceRequest
            {
                RequestId = Rid(),
                ClaimId = claim.ClaimId,
                Stance = Stance.Supports,
                Rationale = othersRationale,
                Evidence = { new ArticleSpan { ArticleId = article, Selector = Quote("Iota kappa") } },
            },
            bob));
        var view = await Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim.ClaimId }, eve);
        receipts.Add(await Ch.Claims().AdjudicateAsync(new AdjudicateRequest
        {
            RequestId = Rid(),
            ClaimId = claim.ClaimId,
            Verdict = Stance.Refutes,
            Rationale = $"Verdict {verdict}",
            ExpectedVersion = view.Version,
        }, eve));
        receipts.Add(await Ch.Claims().ReopenClaimAsync(
            new ReopenClaimRequest { RequestId = Rid(), ClaimId = claim.ClaimId, Reason = $"Reopened {reason}" }, eve));
        var posted = await Ch.Discussion().PostReplyAsync(
            new PostReplyRequest { RequestId = Rid(), Target = new ReplyTarget { ClaimId = claim.ClaimId }, Body = $"Reply {reply}" }, eve);
        receipts.Add(posted.Result);
        receipts.Add(await Ch.Discussion().EditReplyAsync(
            new EditReplyRequest { RequestId = Rid(), ReplyId = posted.Reply.ReplyId, Body = $"Edited {edit}" }, eve));
        return new Written(id, eve, article, claim.ClaimId, highlight.Highlight.HighlightId, posted.Reply.ReplyId,
            [name, label, note, statement, rationale, verdict, reason, reply, edit], othersRationale, receipts);
    }

    private async Task<EraseAnalystResponse> EraseAsync(string analyst, string reason = "Erasure request 42 under GDPR art. 17") =>
        await Ch.Admin().EraseAnalystAsync(
            new EraseAnalystRequest { RequestId = Rid(), AnalystId = analyst, Reason = reason }, server.Admin);

    [Fact]
    public async Task An_erased_analysts_texts_are_gone_from_every_read_the_log_and_every_table_while_the_chain_and_old_receipts_verify()
    {
        var w = await WriteAsync();
        foreach (var secret in w.Secrets) Assert.NotEmpty(await TablesHoldingAsync(secret));

        var erased = await EraseAsync(w.Analyst);

        Assert.False(erased.Result.Deduplicated);
        Assert.Equal(9, erased.ErasedPositions.Count); // registration, token, note, statement, stance, verdict, reason, reply, edit
        var reads = string.Join("\n", await EveryReadAsync(w));
        var log = await server.ReplayAsync(new ReplayRequest { FromPosition = 1 });
        var exported = await ExportAsync();
        foreach (var secret in w.Secrets)
        {
            Assert.DoesNotContain(secret, reads);
            Assert.DoesNotContain(log, e => e.DataJson.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(exported, e => e.DataJson.Contains(secret, StringComparison.Ordinal));
            Assert.Empty(await TablesHoldingAsync(secret));
        }
        // What stays: ids, the votes, the other analysts' texts; the analyst shows as their id.
        Assert.Contains(w.OthersRationale, reads);
        var analysts = await Ch.Admin().ListAnalystsAsync(new ListAnalystsRequest(), server.Admin);
        Assert.Equal(w.Analyst, analysts.Analysts.Single(a => a.AnalystId == w.Analyst).DisplayName);
        var claim = await Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = w.ClaimId }, server.Admin);
        Assert.Equal("Epsilon zeta eta theta", claim.Statement);
        Assert.Equal(Stance.Refutes, claim.Stances.Single(s => s.Analyst == w.Analyst).Stance);
        Assert.Equal("", claim.Stances.Single(s => s.Analyst == w.Analyst).Rationale);
        // The refolded claim keeps the revision its span and the other analyst's evidence are on.
        Assert.Equal(1u, claim.Anchor.Revision);
        Assert.Equal(1u, Assert.Single(claim.Evidence).Anchor.Revision);
        var thread = await Ch.Discussion().ListThreadAsync(
            new ListThreadRequest { Target = new ReplyTarget { ClaimId = w.ClaimId } }, server.Admin);
        Assert.Equal(w.Analyst, thread.Replies.Single().Author);

        // The erasure is an event: who, whom, why, what; the analyst's tokens are revoked with it.
        var erasure = log.Single(e => e.Type == "analyst-erased.v1" && e.StreamId == $"analyst-{w.Analyst}");
        Assert.Equal(erased.ErasurePosition, erasure.Position);
        Assert.Equal(erased.Result.Position - 1, erasure.Position); // then the token's revocation
        Assert.Equal("admin", erasure.Actor);
        Assert.Contains("Erasure request 42", erasure.DataJson);
        Assert.Contains($"\"position\":{w.Receipts[1].Position}", erasure.DataJson.Replace(" ", ""));
        await RefusedAsync(StatusCode.Unauthenticated, () => Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), w.Token));

        var verify = await VerifyAsync(w.Receipts);
        Assert.True(verify.Ok, verify.FirstBroken?.Reason);
        Assert.All(verify.Receipts, r => Assert.True(r.Holds, r.Reason));
        Assert.Equal(erased.ErasedPositions, verify.ErasedPositions.Intersect(erased.ErasedPositions));
        Assert.Contains(erasure.Position, verify.ErasurePositions);
    }

    [Fact]
    public async Task Erasing_twice_records_nothing_new_and_answers_the_same_positions()
    {
        var w = await WriteAsync();
        var first = await EraseAsync(w.Analyst);
        var head = await Ch.Audit().GetChainHeadAsync(new GetChainHeadRequest(), server.Admin);

        var second = await EraseAsync(w.Analyst, "Asked again");

        Assert.True(second.Result.Deduplicated);
        Assert.Equal(first.ErasedPositions, second.ErasedPositions);
        Assert.Equal(head.Position, (await Ch.Audit().GetChainHeadAsync(new GetChainHeadRequest(), server.Admin)).Position);
        Assert.True((await VerifyAsync(w.Receipts)).Ok);
    }

    [Fact]
    public async Task Changing_an_erased_events_remaining_fields_or_another_event_still_breaks_the_chain_there()
    {
        var w = await WriteAsync();
        var erased = await EraseAsync(w.Analyst);
        var stance = (long)w.Receipts[3].Position; // eve's stance, erased: its rationale is gone, its vote stays
        var others = (long)w.Receipts[4].Position; // bob's stance, not erased
        Assert.Contains((ulong)stance, erased.ErasedPositions);

        foreach (var (position, from, to) in new[] { (stance, "REFUTES", "SUPPORTS"), (others, "SUPPORTS", "REFUTES") })
        {
            var original = await DataAsync(position);
            Assert.Contains(from, original);
            await SetDataAsync(position, original.Replace(from, to));
            try
            {
                var broken = await VerifyAsync([]);
                Assert.False(broken.Ok);
                Assert.Equal((ulong)position, broken.FirstBroken.Position);
            }
            finally
            {
                await SetDataAsync(position, original);
            }
        }
        // The erasure's own list is covered by its link: forging a digest in it is caught at the erasure.
        var erasure = (long)erased.ErasurePosition;
        var list = await DataAsync(erasure);
        var at = list.IndexOf("\"dataDigest\": \"", StringComparison.Ordinal) + "\"dataDigest\": \"".Length;
        await SetDataAsync(erasure, list[..at] + (list[at] == '0' ? '1' : '0') + list[(at + 1)..]);
        try
        {
            var broken = await VerifyAsync([]);
            Assert.False(broken.Ok);
        }
        finally
        {
            await SetDataAsync(erasure, list);
        }
        Assert.True((await VerifyAsync(w.Receipts)).Ok);
    }

    [Fact]
    public async Task Hostile_or_unauthorised_erasures_are_refused_and_record_nothing()
    {
        var (victim, victimToken) = await server.NewAnalystAsync("victim", Role.Analyst);
        var (_, auditor) = await server.NewAnalystAsync("auditor", Role.Auditor, Role.Adjudicator);
        var head = (await Ch.Audit().GetChainHeadAsync(new GetChainHeadRequest(), server.Admin)).Position;
        var admin = Ch.Admin();

        await RefusedAsync(StatusCode.PermissionDenied, () => admin.EraseAnalystAsync(
            new EraseAnalystRequest { RequestId = Rid(), AnalystId = victim, Reason = "x" }, auditor));
        await RefusedAsync(StatusCode.PermissionDenied, () => admin.EraseAnalystAsync(
            new EraseAnalystRequest { RequestId = Rid(), AnalystId = victim, Reason = "x" }, victimToken));
        await RefusedAsync(StatusCode.InvalidArgument, () => admin.EraseAnalystAsync(
            new EraseAnalystRequest { AnalystId = victim, Reason = "no request id" }, server.Admin));
        await RefusedAsync(StatusCode.InvalidArgument, () => admin.EraseAnalystAsync(
            new EraseAnalystRequest { RequestId = Rid(), AnalystId = "Not An Id", Reason = "x" }, server.Admin));
        await RefusedAsync(StatusCode.InvalidArgument, () => admin.EraseAnalystAsync(
            new EraseAnalystRequest { RequestId = Rid(), Reason = "no analyst" }, server.Admin));
        await RefusedAsync(StatusCode.InvalidArgument, () => admin.EraseAnalystAsync(
            new EraseAnalystRequest { RequestId = Rid(), AnalystId = victim, Reason = "  " }, server.Admin));
        await RefusedAsync(StatusCode.InvalidArgument, () => admin.EraseAnalystAsync(
            new EraseAnalystRequest { RequestId = Rid(), AnalystId = victim, Reason = "bell\u0007" }, server.Admin));
        await RefusedAsync(StatusCode.InvalidArgument, () => admin.EraseAnalystAsync(
            new EraseAnalystRequest { RequestId = Rid(), AnalystId = victim, Reason = new string('r', 2001) }, server.Admin));
        await RefusedAsync(StatusCode.NotFound, () => admin.EraseAnalystAsync(
            new EraseAnalystRequest { RequestId = Rid(), AnalystId = "nobody-here", Reason = "x" }, server.Admin));
        await RefusedAsync(StatusCode.FailedPrecondition, () => admin.EraseAnalystAsync(
            new EraseAnalystRequest { RequestId = Rid(), AnalystId = "admin", Reason = "myself" }, server.Admin));

        Assert.Equal(head, (await Ch.Audit().GetChainHeadAsync(new GetChainHeadRequest(), server.Admin)).Position);
        Assert.Equal(victim, (await admin.WhoAmIAsync(new WhoAmIRequest(), victimToken)).AnalystId);
    }

    /// <summary>The text of every read RPC an auditor or admin can make about what the analyst touched.</summary>
    private async Task<List<string>> EveryReadAsync(Written w)
    {
        var admin = server.Admin;
        var reads = new List<string>
        {
            (await Ch.Admin().ListAnalystsAsync(new ListAnalystsRequest(), admin)).ToString(),
            (await Ch.Admin().ListTokensAsync(new ListTokensRequest { AnalystId = w.Analyst }, admin)).ToString(),
            (await Ch.Annotations().ListHighlightsAsync(new ListHighlightsRequest { ArticleId = w.ArticleId }, admin)).ToString(),
            (await Ch.Annotations().ListHighlightsAsync(
                new ListHighlightsRequest { ArticleId = w.ArticleId, AsOf = new AsOf { Position = w.Receipts[^1].Position } },
                admin)).ToString(),
            (await Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = w.ClaimId }, admin)).ToString(),
            (await Ch.Consensus().GetClaimViewAsync(
                new GetClaimViewRequest { ClaimId = w.ClaimId, AsOf = new AsOf { Position = w.Receipts[^3].Position } },
                admin)).ToString(),
            (await Ch.Consensus().ListClaimsAsync(new ListClaimsRequest { ArticleId = w.ArticleId }, admin)).ToString(),
            (await Ch.Discussion().ListThreadAsync(
                new ListThreadRequest { Target = new ReplyTarget { ClaimId = w.ClaimId } }, admin)).ToString(),
            (await Ch.Audit().GetClaimTimelineAsync(new GetClaimTimelineRequest { ClaimId = w.ClaimId }, admin)).ToString(),
        };
        foreach (var secret in w.Secrets.Append(w.OthersRationale))
            reads.Add((await Ch.Search().SearchAsync(new SearchRequest { Query = secret }, admin)).ToString());
        return reads;
    }

    private async Task<List<ExportedEvent>> ExportAsync()
    {
        using var call = Ch.Audit().ExportLog(new ExportLogRequest(), server.Admin);
        var list = new List<ExportedEvent>();
        await foreach (var e in call.ResponseStream.ReadAllAsync()) list.Add(e);
        return list;
    }

    private async Task<VerifyResult> VerifyAsync(IEnumerable<CommandResult> receipts)
    {
        var request = new VerifyAuditRequest();
        request.Receipts.AddRange(receipts.Select(r => new Receipt { Position = r.Position, Hash = r.ReceiptHash }));
        using var call = Ch.History().VerifyAudit(request, server.Admin);
        VerifyResult? result = null;
        await foreach (var m in call.ResponseStream.ReadAllAsync()) result = m.Result ?? result;
        return result!;
    }

    /// <summary>"schema.table" of every table of the database (Marten's, the chain's, the views', PostgreSQL's catalogs
    /// aside) with a row whose text holds <paramref name="text"/>.</summary>
    private async Task<List<string>> TablesHoldingAsync(string text)
    {
        await using var conn = new NpgsqlConnection(server.ConnectionString);
        await conn.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables " +
            "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')", conn))
        await using (var r = await list.ExecuteReaderAsync())
        {
            while (await r.ReadAsync()) tables.Add(r.GetString(0));
        }
        Assert.Contains("annotate.mt_events", tables);
        var holding = new List<string>();
        foreach (var table in tables)
        {
            await using var cmd = new NpgsqlCommand($"SELECT EXISTS (SELECT 1 FROM {table} t WHERE strpos(t::text, $1) > 0)", conn);
            cmd.Parameters.AddWithValue(text);
            if ((bool)(await cmd.ExecuteScalarAsync())!) holding.Add(table);
        }
        return holding;
    }

    private async Task<string> DataAsync(long position)
    {
        await using var conn = new NpgsqlConnection(server.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT data::text FROM annotate.mt_events WHERE seq_id = $1", conn);
        cmd.Parameters.AddWithValue(position);
        return (string)(await cmd.ExecuteScalarAsync())!;
    }

    private async Task SetDataAsync(long position, string data)
    {
        await using var conn = new NpgsqlConnection(server.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("UPDATE annotate.mt_events SET data = $2::jsonb WHERE seq_id = $1", conn);
        cmd.Parameters.AddWithValue(position);
        cmd.Parameters.AddWithValue(data);
        Assert.Equal(1, await cmd.ExecuteNonQueryAsync());
    }
}
