using System.Text.Json;
using System.Text.Json.Serialization;
using Annotate.Domain.Analysts;
using Annotate.Domain.Consensus;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Annotate.Server.Features.Admin;
using Annotate.Server.Features.Annotations;
using Annotate.Server.Features.Articles;
using Annotate.Server.Features.Claims;
using Annotate.Server.Features.Consensus;
using Annotate.Server.Features.Discussion;
using Annotate.Server.Features.Search;
using JasperFx;
using JasperFx.Events.Projections;
using Marten;
using Npgsql;
using Weasel.Core;

namespace Annotate.Server.Hosting;

/// <summary>
/// The server's Marten configuration: the store's conventions (<see cref="MartenConventions"/>), the domain's event
/// types under their stored names (<see cref="EventTypes"/>), the domain's JSON form for events and documents, and the
/// views (inline projections, each in its feature's folder).
/// </summary>
public static class MartenSetup
{
    /// <summary>The views, one projection each in its feature's folder: the article view first (the claim and highlight views
    /// read it), the blind-article view before the blind-claim view (which reads it).</summary>
    public static IReadOnlyList<IProjectionSource<IDocumentOperations, IQuerySession>> Views(ConsensusPolicy policy) =>
    [
        new ArticleViewProjection(), new BlindArticleProjection(), new ClaimViewProjection(policy), new HighlightViewProjection(),
        new AnalystAccessProjection(), new TokenAccessProjection(), new ReplyProjection(), new BlindClaimProjection(),
        new SearchEntryProjection(), new TargetTagsProjection(),
    ];

    /// <summary>The server's store options.</summary>
    /// <param name="inlineViews">Whether the <see cref="Views"/> run inline (the server's writer); false leaves them out (the
    /// rebuild command registers them itself).</param>
    /// <param name="searchIndex">Whether <see cref="SearchEntry.Text"/> carries its full-text index; false drops it at the next
    /// migration (the rebuild command fills the table first and builds the index after).</param>
    public static StoreOptions Options(NpgsqlDataSource dataSource, string schema, ConsensusPolicy policy, bool inlineViews = true,
        bool searchIndex = true)
    {
        var options = new StoreOptions();
        options.Connection(dataSource);
        MartenConventions.Apply(options, schema);
        // Marten's serializer sets its own naming and enum handling; the configure step restores the domain's
        // (camelCase, enums as SNAKE_CASE names) on every options set it keeps, so stored events keep their shape.
        options.UseSystemTextJsonForSerialization(new JsonSerializerOptions(EventTypes.JsonOptions), EnumStorage.AsString, Casing.CamelCase,
            json =>
            {
                foreach (var converter in json.Converters.OfType<JsonStringEnumConverter>().ToList()) json.Converters.Remove(converter);
                json.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseUpper, allowIntegerValues: false));
            });
        options.Serializer(new Infrastructure.RowBufferedJson(options.Serializer()));
        for (var i = 0; i < EventTypes.Names.Count; i++) options.Events.MapEventType(EventTypes.Types[i], EventTypes.Names[i]);
        // Erasure (Features/Admin/EraseAnalyst): how Marten's event data masking rewrites an event holding personal data.
        options.Events.AddMaskingRuleForProtectedInformation<AnalystRegistered>(e => (AnalystRegistered)Erasure.Masked(e));
        options.Events.AddMaskingRuleForProtectedInformation<TokenIssued>(e => (TokenIssued)Erasure.Masked(e));
        options.Events.AddMaskingRuleForProtectedInformation<HighlightCreated>(e => (HighlightCreated)Erasure.Masked(e));
        options.Events.AddMaskingRuleForProtectedInformation<ClaimOpened>(e => (ClaimOpened)Erasure.Masked(e));
        options.Events.AddMaskingRuleForProtectedInformation<StanceTaken>(e => (StanceTaken)Erasure.Masked(e));
        options.Events.AddMaskingRuleForProtectedInformation<ClaimAdjudicated>(e => (ClaimAdjudicated)Erasure.Masked(e));
        options.Events.AddMaskingRuleForProtectedInformation<ClaimReopened>(e => (ClaimReopened)Erasure.Masked(e));
        options.Events.AddMaskingRuleForProtectedInformation<ReplyPosted>(e => (ReplyPosted)Erasure.Masked(e));
        options.Events.AddMaskingRuleForProtectedInformation<ReplyEdited>(e => (ReplyEdited)Erasure.Masked(e));
        options.Events.AddMaskingRuleForProtectedInformation<ArticleRevised>(e => (ArticleRevised)Erasure.Masked(e));
        // The views, each kept by its feature's projection in the writer's transaction (the rebuild command registers them its
        // own way: ViewRebuild).
        if (inlineViews)
        {
            foreach (var view in Views(policy)) options.Projections.Add(view, ProjectionLifecycle.Inline);
        }
        if (searchIndex) options.Schema.For<SearchEntry>().FullTextIndex(x => x.Text);
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
        return options;
    }
}
