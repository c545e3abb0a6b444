using Annotate.Contracts.V1;
using Annotate.Domain;
using Annotate.Domain.Anchoring;
using Annotate.Domain.Articles;
using Annotate.Domain.Claims;
using Annotate.Domain.Consensus;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Annotate.EventStore.Order;
using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using Marten;
using Npgsql;
using static Annotate.Server.Tests.Rpc;
using Role = Annotate.Contracts.V1.Role;
using Stance = Annotate.Contracts.V1.Stance;

namespace Annotate.Server.Tests;

/// <summary>
/// <c>annotate-server rebuild-views</c> as an operator runs it: every view folded again from the log by Marten's daemon
/// leaves every document exactly as the writer's transactions kept it (inline), spans made before a revision included.
/// </summary>
public sealed class ViewRebuildTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    [Fact]
    public async Task Rebuilding_every_view_from_the_log_leaves_every_document_as_the_writer_kept_it()
    {
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, bo) = await server.NewAnalystAsync("bo", Role.Analyst);
        var (_, cy) = await server.NewAnalystAsync("cy", Role.Analyst, Role.Adjudicator);
        var id = await server.ImportAsync("The dam holds forty million cubic metres. The valley below floods each spring. " +
            "Engineers inspect it twice a year.");
        var annotations = server.Channel.Annotations();
        var claims = server.Channel.Claims();
        async Task<string> HighlightAsync(string exact, CallOptions who, string note = "") => (await annotations.CreateHighlightAsync(
            new CreateHighlightRequest { RequestId = Rid(), ArticleId = id, Selector = Quote(exact), Note = note },
            who)).Highlight.HighlightId;
        async Task<string> ClaimAsync(string exact) => (await claims.OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = id, Selector = Quote(exact), Statement = "Checkable." }, ana)).ClaimId;
        async Task StanceAsync(string claim, Stance stance, CallOptions who) => await claims.TakeStanceAsync(
            new TakeStanceRequest { RequestId = Rid(), ClaimId = claim, Stance = stance, Rationale = "Per the operator's report." }, who);

        // Before the revision: spans that it moves and one that it orphans.
        var dam = await ClaimAsync("The dam holds forty million cubic metres.");
        var floods = await ClaimAsync("The valley below floods each spring.");
        var kept = await HighlightAsync("Engineers inspect it twice a year.", bo, "Check the schedule.");
        var orphan = await HighlightAsync("floods each spring", ana);
        var retracted = await HighlightAsync("forty million", cy);
        await annotations.ApplyTagAsync(
            new ApplyTagRequest { RequestId = Rid(), Target = new TagTarget { HighlightId = kept }, Tag = "schedule" }, ana);
        await annotations.ApplyTagAsync(
            new ApplyTagRequest { RequestId = Rid(), Target = new TagTarget { ClaimId = dam }, Tag = "figures" }, bo);
        await StanceAsync(dam, Stance.Supports, ana);
        await claims.TakeStanceAsync(new TakeStanceRequest
        {
            RequestId = Rid(),
            ClaimId = dam,
            Stance = Stance.Refutes,
            Rationale = "The inspection record disagrees.",
            Evidence =
            {
                new ArticleSpan { ArticleId = id, Selector = Quote("Engineers inspect it twice a year.") },
                new ArticleSpan { ArticleId = id, Selector = Quote("The valley below floods each spring.") },
            },
        }, bo);
        await StanceAsync(dam, Stance.Supports, cy);
        await StanceAsync(floods, Stance.NeedsContext, bo);
        await claims.WithdrawStanceAsync(new WithdrawStanceRequest { RequestId = Rid(), ClaimId = floods }, bo);
        await annotations.RetractHighlightAsync(new RetractHighlightRequest { RequestId = Rid(), HighlightId = retracted }, cy);
        await server.Channel.Discussion().PostReplyAsync(
            new PostReplyRequest { RequestId = Rid(), Target = new ReplyTarget { ClaimId = dam }, Body = "Which report?" }, bo);

        await server.Channel.Articles().ReviseArticleAsync(new ReviseArticleRequest
        {
            RequestId = Rid(),
            ArticleId = id,
            Reason = "Flood sentence removed.",
            Text = "Officials revised the figures. The dam holds forty million cubic metres. Engineers inspect it twice a year.",
        }, server.Admin);

        // After it: spans on the second revision, and an orphan attached again by its author.
        await annotations.ReattachSpanAsync(new ReattachSpanRequest
        {
            RequestId = Rid(),
            Target = new TagTarget { HighlightId = orphan },
            Selector = Quote("Engineers inspect it"),
        }, ana);
        var revisedClaim = await ClaimAsync("Officials revised the figures.");
        await HighlightAsync("revised the figures", cy, "New sentence.");
        await StanceAsync(revisedClaim, Stance.Unverifiable, cy);
        var version = (await server.Channel.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = dam }, cy)).Version;
        await claims.AdjudicateAsync(new AdjudicateRequest
        {
            RequestId = Rid(),
            ClaimId = dam,
            Verdict = Stance.Supports,
            Rationale = "Confirmed.",
            ExpectedVersion = version,
        }, cy);

        // The article made blind: claims opened before it stay as they were, one opened after it is blind by its article.
        await claims.MakeBlindAsync(new MakeBlindRequest { RequestId = Rid(), ArticleId = id }, cy);
        var blind = await ClaimAsync("Engineers inspect it twice a year.");

        var inline = await ViewDocumentsAsync();
        Assert.Contains(inline["blindclaimdocument"],
            d => d.Id == blind && d.Data.Contains("\"blindByArticle\": true", StringComparison.Ordinal));
        Assert.DoesNotContain(inline["blindclaimdocument"],
            d => d.Id == dam && d.Data.Contains("\"blind\": true", StringComparison.Ordinal));
        Assert.Contains(inline["claimdocument"], d => d.Id == floods && d.Data.Contains("\"orphanReason\": \"", StringComparison.Ordinal));
        Assert.Contains(inline["claimdocument"], d => d.Id == dam && d.Data.Contains("\"orphanReason\": \"", StringComparison.Ordinal));
        Assert.Contains(inline["highlightview"], d => d.Id == orphan && d.Data.Contains("\"reattachedBy\": \"", StringComparison.Ordinal));

        using var rebuild = ServerProcess.Start(["rebuild-views", $"--ConnectionStrings:Annotate={server.ConnectionString}"]);
        var code = await rebuild.WaitForExitAsync();
        Assert.True(code == 0, rebuild.Output);
        Assert.Contains("rebuilt 10 views in", rebuild.Output, StringComparison.Ordinal);

        var rebuilt = await ViewDocumentsAsync();
        Assert.Equal(inline.Keys.Order(), rebuilt.Keys.Order());
        foreach (var (table, documents) in inline)
        {
            // Every document equal, id by id (jsonb's text is canonical: same keys and values give the same text).
            Assert.Equal(documents, rebuilt[table]);
        }
        // And the server still serves the rebuilt views.
        var listed = await annotations.ListHighlightsAsync(new ListHighlightsRequest { ArticleId = id }, ana);
        Assert.Contains(listed.Highlights, h => h.HighlightId == kept && h.Note == "Check the schedule.");
        Assert.DoesNotContain(listed.Highlights, h => h.HighlightId == retracted);
    }

    [Fact]
    public async Task A_claim_opened_in_the_commit_that_made_its_article_blind_is_hidden_as_the_writer_kept_it_and_after_a_rebuild()
    {
        var (anaId, _) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, bo) = await server.NewAnalystAsync("bo", Role.Analyst);
        var (cyId, cy) = await server.NewAnalystAsync("cy", Role.Analyst, Role.Adjudicator);
        var id = await server.ImportAsync(Text);
        await using var writer = new SecondWriter(server.ConnectionString);
        var claimId = $"c-{Guid.NewGuid():N}";

        // An adjudicator makes the article blind, then an analyst opens a claim on it, in one group commit.
        var (blind, opened) = await writer.InOneCommitAsync(
            (Streams.Article(id), SecondWriter.Decided(cyId, id, Blindness.Decide(false, new MakeArticleBlind(id),
                new CommandContext(cyId, DateTimeOffset.UtcNow, [Domain.Events.Role.Adjudicator])).OrThrow())),
            (Streams.ArticleClaims(id), SecondWriter.Decided(anaId, id, Opening(id, Text, claimId, anaId))),
            Streams.Article(await server.ImportAsync(Text)));
        Assert.Equal(blind.LastPosition + 1, opened.FirstPosition);

        // The adjudicator's stance through the server: hidden from an analyst without one of their own, as the claim is blind.
        await server.Channel.Claims().TakeStanceAsync(
            new TakeStanceRequest { RequestId = Rid(), ClaimId = claimId, Stance = Stance.Refutes, Rationale = "The log says monthly." },
            cy);
        async Task<ClaimView> SeenByBoAsync() =>
            await server.Channel.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claimId }, bo);
        var seen = await SeenByBoAsync();
        Assert.True(seen.Hidden, $"a claim opened after its article was made blind is shown to an analyst without a stance: {seen}");
        Assert.Empty(seen.Stances);

        await RebuildingLeavesEveryDocumentAsync();
        Assert.Equal(seen, await SeenByBoAsync());
    }

    [Fact]
    public async Task A_claim_opened_in_the_commit_that_revised_its_article_is_on_the_new_revision_for_the_writer_and_after_a_rebuild()
    {
        var (anaId, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var id = await server.ImportAsync(Text);
        const string revised = "Officials confirmed the figure. " + Text;
        await using var writer = new SecondWriter(server.ConnectionString);
        var claimId = $"c-{Guid.NewGuid():N}";

        // The admin revises the article, then an analyst opens a claim on the new text, in one group commit.
        var revision = new ArticleRevised(id, 2, ContentHash.Of(revised), revised, "admin", "A sentence added.");
        var (revisedAt, opened) = await writer.InOneCommitAsync(
            (Streams.Article(id), SecondWriter.Decided("admin", id, [revision])),
            (Streams.ArticleClaims(id), SecondWriter.Decided(anaId, id, Opening(id, revised, claimId, anaId))),
            Streams.Article(await server.ImportAsync(Text)));
        Assert.Equal(revisedAt.LastPosition + 1, opened.FirstPosition);

        var view = await server.Channel.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claimId }, ana);
        Assert.Equal(2u, view.Anchor.Revision);
        Assert.Equal(AnchorStatus.Anchored, view.Anchor.Status);
        // As a replay folds it as of the opening.
        var asOf = await server.Channel.Consensus().GetClaimViewAsync(
            new GetClaimViewRequest { ClaimId = claimId, AsOf = new AsOf { Position = (ulong)opened.LastPosition } }, ana);
        Assert.Equal(view.Anchor, asOf.Anchor);

        await RebuildingLeavesEveryDocumentAsync();
        Assert.Equal(view, await server.Channel.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claimId }, ana));
    }

    private const string Text = "The dam holds forty million cubic metres. Engineers inspect it twice a year.";

    /// <summary>The events of an analyst's opening of a claim on the last sentence of <paramref name="text"/>, decided by the domain
    /// as the server decides it.</summary>
    private static IReadOnlyList<IDomainEvent> Opening(string articleId, string text, string claimId, string analyst) =>
        Claim.Decide(ClaimIndex.Empty(articleId),
                new Domain.Claims.OpenClaim(articleId, new TextDocument(text),
                    Mapping.ToDomain(Quote("Engineers inspect it twice a year.")), "Checkable."),
                new CommandContext(analyst, DateTimeOffset.UtcNow, [Domain.Events.Role.Analyst], claimId))
            .OrThrow().Events;

    /// <summary>Runs <c>rebuild-views</c> and checks that every view document is as it was.</summary>
    private async Task RebuildingLeavesEveryDocumentAsync()
    {
        var inline = await ViewDocumentsAsync();
        using var rebuild = ServerProcess.Start(["rebuild-views", $"--ConnectionStrings:Annotate={server.ConnectionString}"]);
        var code = await rebuild.WaitForExitAsync();
        Assert.True(code == 0, rebuild.Output);
        var rebuilt = await ViewDocumentsAsync();
        foreach (var (table, documents) in inline) Assert.Equal(documents, rebuilt[table]);
    }

    /// <summary>Every view document by table (Marten's document tables but the idempotency records), by id.</summary>
    private async Task<Dictionary<string, List<(string Id, string Data)>>> ViewDocumentsAsync()
    {
        var documents = new Dictionary<string, List<(string, string)>>(StringComparer.Ordinal);
        await using var dataSource = NpgsqlDataSource.Create(server.ConnectionString);
        var tables = new List<string>();
        await using (var list = dataSource.CreateCommand(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'annotate' AND table_name LIKE 'mt_doc_%' " +
            "AND table_name <> 'mt_doc_append_record' ORDER BY 1"))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        }
        foreach (var table in tables)
        {
            var rows = new List<(string, string)>();
            await using var select = dataSource.CreateCommand($"SELECT id::text, data::text FROM annotate.{table} ORDER BY id");
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync()) rows.Add((reader.GetString(0), reader.GetString(1)));
            documents[table["mt_doc_".Length..]] = rows;
        }
        return documents;
    }
}
