using Annotate.Contracts;
using Annotate.Contracts.V1;
using Annotate.EventStore;
using Annotate.Server.Infrastructure;
using Marten;
using Npgsql;
using static Annotate.Server.Tests.Rpc;
using HighlightCreated = Annotate.Domain.Events.HighlightCreated;
using ServingStatus = global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Annotate.Server.Tests;

/// <summary>
/// A view that cannot apply an event stops, says so once, and the health service reports NOT_SERVING for the services
/// that read it, while everything else keeps serving. No client can cause it (the edge refuses what a view cannot store):
/// the event here is written straight into the store, as a bug or a hand-edited database would.
/// </summary>
public sealed class ProjectionFaultTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Seed = "russia-involvement-kazakhstan-crisis";

    private static CallOptions Quick(CallOptions who) => new(who.Headers, DateTime.UtcNow.AddSeconds(5));

    [Fact]
    public async Task A_highlight_the_view_cannot_store_stops_that_view_only_and_health_says_so()
    {
        var (_, analyst) = await server.NewAnalystAsync("ana", Role.Analyst);
        using var raw = new RawCalls(server.Address);
        Assert.Equal(ServingStatus.Serving, await raw.HealthAsync("annotate.v1.Annotations"));

        // The database refuses the view's document for this one highlight (a constraint added by hand): the event is
        // stored, its view row cannot be.
        var eventId = Guid.NewGuid();
        await using (var dataSource = NpgsqlDataSource.Create(server.ConnectionString))
        {
            await using (var constraint = dataSource.CreateCommand(
                "ALTER TABLE annotate.projection_documents ADD CONSTRAINT no_poison CHECK (document->>'note' IS DISTINCT FROM 'poison')"))
            {
                await constraint.ExecuteNonQueryAsync();
            }
            using var documents = new DocumentStore(MartenSetup.Options(dataSource, "annotate"));
            await using var store = new MartenEventStore(new EventStoreOptions { Documents = documents, DataSource = dataSource, Schema = "annotate" });
            var poisoned = new HighlightCreated("hpoisoned0000", Seed, "intruder", 0, 5, "Russi", "", "ia", "poison");
            await store.AppendAsync(Streams.Highlight("hpoisoned0000"), ExpectedVersion.NoStream,
                [EventCodec.ToEventData(poisoned, eventId, new EventMetadata(Actor: "intruder", CorrelationId: "poison", Tag: Seed))]);
        }
        await server.Process.WaitForOutputAsync($"Projection highlights stopped: it cannot apply event {eventId}");

        Assert.Equal(ServingStatus.NotServing, await raw.HealthAsync("annotate.v1.Annotations"));
        Assert.Equal(ServingStatus.Serving, await raw.HealthAsync(""));
        Assert.Equal(ServingStatus.Serving, await raw.HealthAsync("annotate.v1.Consensus"));
        // Everything that does not read the highlights view keeps serving, without waiting for it.
        var opened = await server
            .Channel.Claims()
            .OpenClaimAsync(
                new OpenClaimRequest
                {
                    RequestId = Rid(),
                    ArticleId = Seed,
                    Selector = At(30, 70),
                },
                Quick(analyst));
        var taken = await server
            .Channel.Claims()
            .TakeStanceAsync(
                new TakeStanceRequest
                {
                    RequestId = Rid(),
                    ClaimId = opened.ClaimId,
                    Stance = Stance.Supports,
                },
                Quick(analyst));
        var view = await server.Channel.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = opened.ClaimId }, Quick(analyst));
        Assert.Equal(taken.Position, view.LastPosition);
        // What reads it answers UNAVAILABLE at once instead of a wrong NOT_FOUND after a long wait; the write itself is kept.
        var rid = Rid();
        await RefusedAsync(
            StatusCode.Unavailable,
            () =>
                server
                    .Channel.Annotations()
                    .CreateHighlightAsync(
                        new CreateHighlightRequest
                        {
                            RequestId = rid,
                            ArticleId = Seed,
                            Selector = At(0, 5),
                        },
                        Quick(analyst)));
        Assert.Single(await server.EventsOfRequestAsync(rid));
        // One error, naming the event, and no retry loop behind it.
        var naming = server.Process.Stdout.Split('\n').Where(line => line.Contains(eventId.ToString(), StringComparison.Ordinal)).ToList();
        Assert.True(naming.Count == 1, string.Join("\n", naming));
        Assert.DoesNotContain("Projection highlights failed; retrying", server.Process.Stdout);
    }
}
