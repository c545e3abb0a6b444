using System.Globalization;
using System.Net;
using System.Text.Json;
using Annotate.Contracts.V1;

namespace Annotate.Server.Tests;

/// <summary>
/// What an operator gets from a running server: Prometheus metrics on their own port, traces exported by OTLP to a
/// collector (here a receiver the test runs), and console logs as JSON lines.
/// </summary>
public sealed class TelemetryTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>A fresh database for each server of this class, so each creates its first admin and writes its token.</summary>
    private static async Task<string> NewDatabaseAsync() => await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("telemetry");

    [Fact]
    public async Task Prometheus_endpoint_counts_calls_by_method_and_status_commands_and_appended_events()
    {
        var address = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var metrics = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-admin-{Guid.NewGuid():N}");
        using var server = ServerProcess.Start(["--urls", address, $"--Annotate:MetricsUrls={metrics}",
            $"--ConnectionStrings:Annotate={await NewDatabaseAsync()}", $"--Annotate:AdminTokenFile={tokenFile}"]);
        try
        {
            await server.WaitForOutputAsync($"Prometheus metrics at {metrics}/metrics (HTTP/1.1)");
            using var channel = GrpcChannel.ForAddress(address);
            var admin = AnnotateServer.As((await File.ReadAllTextAsync(tokenFile)).Trim());
            using var http = new HttpClient { DefaultRequestVersion = HttpVersion.Version11 };
            var before = await ScrapeAsync(http, metrics);

            for (var i = 0; i < 3; i++) await channel.Articles().ListArticlesAsync(new ListArticlesRequest(), admin);
            var missing = await Assert.ThrowsAsync<RpcException>(async () =>
                await channel.Articles().GetArticleAsync(new GetArticleRequest { ArticleId = "no-such-article" }, admin));
            Assert.Equal(StatusCode.NotFound, missing.StatusCode);
            await channel.Articles().ImportArticleAsync(
                new ImportArticleRequest
                {
                    RequestId = Guid.NewGuid().ToString(),
                    ArticleId = "metered",
                    Title = "Metered",
                    Text = "Counted once.",
                    Source = "test"
                },
                admin);

            // http.server.request.duration is recorded as each request ends, just after its response went out, so a scrape
            // right after the calls may still miss the last one: scrape until it is there.
            const string calls = "http_server_request_duration_seconds_count";
            (string, string) Route(string method) => ("http_route", $"/annotate.v1.Articles/{method}");
            var after = await ScrapeUntilAsync(http, metrics, s =>
                s.Value(calls, Route("ListArticles"), ("rpc_grpc_status_code", "0")) >= before.Value(calls, Route("ListArticles")) + 3
                && s.Value(calls, Route("GetArticle"), ("rpc_grpc_status_code", "5")) >= 1
                && s.Value(calls, Route("ImportArticle")) >= 1);

            Assert.Equal(
                3, after.Value(calls, Route("ListArticles"), ("rpc_grpc_status_code", "0")) - before.Value(calls, Route("ListArticles")));
            Assert.Equal(1, after.Value(calls, Route("GetArticle"), ("rpc_grpc_status_code", "5")));
            Assert.Equal(0, after.Value(calls, Route("GetArticle"), ("rpc_grpc_status_code", "0")));
            Assert.Equal("histogram", after.Types["http_server_request_duration_seconds"]);
            // The command's own latency (recorded before its answer) and the writer's counters.
            Assert.Equal(1, after.Value("annotate_command_duration_seconds_count", ("annotate_command", "ImportArticle"),
                ("annotate_outcome", "ok")));
            Assert.Equal(
                1, after.Value("annotate_eventstore_events_appended_total") - before.Value("annotate_eventstore_events_appended_total"));
            Assert.True(after.Value("annotate_eventstore_batch_events_count") > before.Value("annotate_eventstore_batch_events_count"));
            Assert.True(after.Value("annotate_eventstore_commit_duration_seconds_sum") > 0);

            // A live subscriber is counted while its stream is open.
            using (var subscribing = new CancellationTokenSource())
            {
                using var subscribe = channel.History().Subscribe(new SubscribeRequest(), admin.WithCancellationToken(subscribing.Token));
                while (await subscribe.ResponseStream.MoveNext(subscribing.Token)
                    && subscribe.ResponseStream.Current.ItemCase != SubscribeResponse.ItemOneofCase.CaughtUpPosition)
                {
                }
                var open = await ScrapeAsync(http, metrics);
                Assert.Equal(1, open.Value("annotate_subscribers_live", ("annotate_feed", "subscribe")));
                Assert.Equal("gauge", open.Types["annotate_subscribers_live"]);
                await subscribing.CancelAsync();
            }
            await ScrapeUntilAsync(http, metrics, s => s.Value("annotate_subscribers_live", ("annotate_feed", "subscribe")) == 0);

            // The metrics port serves /metrics and nothing else.
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"{metrics}/annotate.v1.Articles/ListArticles")).StatusCode);
            Assert.Equal(0, await server.TerminateAsync());
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\nserver stdout:\n{server.Stdout}\nstderr:\n{server.Stderr}", e);
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }

    [Fact]
    public async Task An_invalid_metrics_url_is_named_on_stderr_and_the_server_exits_with_code_2()
    {
        using var server = ServerProcess.Start(
            ["--urls", $"http://127.0.0.1:{ServerProcess.FreePort()}", "--Annotate:MetricsUrls=127.0.0.1:9464",
            $"--ConnectionStrings:Annotate={await NewDatabaseAsync()}"]);

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Equal("Annotate:MetricsUrls: \"127.0.0.1:9464\" is not an http://host:port address.", server.Stderr.Trim());
        Assert.DoesNotContain("   at ", server.Stdout + server.Stderr);
    }

    [Fact]
    public async Task A_command_s_grpc_call_command_and_postgresql_spans_form_one_trace_carrying_its_request_id()
    {
        await using var collector = await OtlpReceiver.StartAsync();
        var address = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-admin-{Guid.NewGuid():N}");
        using var server = ServerProcess.Start(
            ["--urls", address, $"--ConnectionStrings:Annotate={await NewDatabaseAsync()}", $"--Annotate:AdminTokenFile={tokenFile}"],
            new Dictionary<string, string>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Address,
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["OTEL_BSP_SCHEDULE_DELAY"] = "100", // export spans within 0.1 s instead of 5 s
            });
        try
        {
            await server.WaitForOutputAsync($"Annotate listening on {address}");
            using var channel = GrpcChannel.ForAddress(address);
            var token = (await File.ReadAllTextAsync(tokenFile)).Trim();
            var admin = AnnotateServer.As(token);
            var requestId = $"trace-{Guid.NewGuid():N}";
            await channel.Articles().ImportArticleAsync(
                new ImportArticleRequest
                {
                    RequestId = requestId,
                    ArticleId = "traced",
                    Title = "Traced",
                    Text = "One command, one trace.",
                    Source = "test"
                }, admin);

            List<ReceivedSpan> Tagged(IReadOnlyList<ReceivedSpan> spans) =>
                [.. spans.Where(s => s.Attribute("annotate.request_id") == requestId)];
            var complete = await collector.WaitUntilAsync(spans =>
                Tagged(spans) is var tagged
                && tagged.Any(s => s.Scope == "Microsoft.AspNetCore" && s.Attribute("rpc.grpc.status_code") is not null)
                && tagged.Any(s => s.Scope == "Annotate.Server")
                && tagged.Any(s => s.Scope == "Npgsql")
                && spans.Any(s => s.Scope == "Annotate.EventStore" && s.Strings("annotate.request_ids").Contains(requestId)), Patience);
            var all = collector.Spans;
            var ours = Tagged(all);
            Assert.True(complete, "spans of the request: " + string.Join(", ", ours.Select(s => $"{s.Scope}:{s.Span.Name}")));

            var call = Assert.Single(ours, s => s.Scope == "Microsoft.AspNetCore");
            Assert.Equal(2, call.Span.Kind); // server
            Assert.Equal("0", call.Attribute("rpc.grpc.status_code"));
            var command = Assert.Single(ours, s => s.Scope == "Annotate.Server");
            Assert.Equal("command ImportArticle", command.Span.Name);
            Assert.Equal("ok", command.Attribute("annotate.outcome"));
            Assert.Equal(call.SpanId, command.ParentId);
            var queries = ours.Where(s => s.Scope == "Npgsql").ToList();
            Assert.All(ours, s => Assert.Equal(call.TraceId, s.TraceId));
            // Each PostgreSQL span of the request descends from the command span.
            var byId = all.ToDictionary(s => s.SpanId);
            Assert.All(queries, q =>
            {
                var s = q;
                while (s.SpanId != command.SpanId && byId.TryGetValue(s.ParentId, out var parent)) s = parent;
                Assert.Equal(command.SpanId, s.SpanId);
                Assert.Equal(3, q.Span.Kind); // client
            });
            // The bearer token the call carried is in no span.
            var secret = token[(token.IndexOf('.', StringComparison.Ordinal) + 1)..];
            Assert.DoesNotContain(all, s => s.Span.Attributes.Any(
                a => a.Value?.ToString().Contains(secret, StringComparison.Ordinal) == true));
            // The writer's commit is a span of its own (one transaction serves the appends of many commands), naming the
            // request ids it committed.
            var commit = Assert.Single(all, s => s.Scope == "Annotate.EventStore" && s.Strings("annotate.request_ids").Contains(requestId));
            Assert.Equal("annotate.eventstore.commit", commit.Span.Name);
            Assert.Equal("1", commit.Attribute("annotate.batch.events"));
            Assert.Equal(0, await server.TerminateAsync());
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\nserver stdout:\n{server.Stdout}\nstderr:\n{server.Stderr}", e);
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }

    [Fact]
    public async Task Json_console_logs_are_one_object_per_line_and_never_hold_the_admin_token()
    {
        var address = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-admin-{Guid.NewGuid():N}");
        using var server = ServerProcess.Start(["--urls", address, "--Logging:Console:FormatterName=json",
            $"--ConnectionStrings:Annotate={await NewDatabaseAsync()}", $"--Annotate:AdminTokenFile={tokenFile}"]);
        try
        {
            await server.WaitForOutputAsync($"Annotate listening on {address}");
            var token = (await File.ReadAllTextAsync(tokenFile)).Trim();
            var secret = token[(token.IndexOf('.', StringComparison.Ordinal) + 1)..];
            using var channel = GrpcChannel.ForAddress(address);
            Assert.Equal("admin", (await channel.Admin().WhoAmIAsync(new WhoAmIRequest(), AnnotateServer.As(token))).AnalystId);
            await Assert.ThrowsAsync<RpcException>(async () =>
                await channel.Admin().WhoAmIAsync(new WhoAmIRequest(), AnnotateServer.As(token + "x")));
            Assert.Equal(0, await server.TerminateAsync());

            var lines = server.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var entries = lines.Select(line =>
            {
                using var json = JsonDocument.Parse(line);
                Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
                Assert.True(DateTimeOffset.TryParse(
                    json.RootElement.GetProperty("Timestamp").GetString(), CultureInfo.InvariantCulture, out _), line);
                return (
                    Category: json.RootElement.GetProperty("Category").GetString(),
                    EventId: json.RootElement.GetProperty("EventId").GetInt32(),
                    Message: json.RootElement.GetProperty("Message").GetString(),
                    LogLevel: json.RootElement.GetProperty("LogLevel").GetString());
            }).ToList();
            Assert.Contains(entries, e => e.Category == "Annotate.Server"
                && e.Message!.StartsWith($"Annotate listening on {address}", StringComparison.Ordinal));
            var first = Assert.Single(entries, e => e.Category == "Annotate.Server.Hosting.Bootstrap" && e.EventId == 1);
            Assert.Equal("Warning", first.LogLevel);
            Assert.Contains(tokenFile, first.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, server.Stdout + server.Stderr, StringComparison.Ordinal);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\nserver stdout:\n{server.Stdout}\nstderr:\n{server.Stderr}", e);
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }

    [Fact]
    public async Task Prometheus_endpoint_shows_verification_progress_and_how_far_live_subscribers_are_behind()
    {
        var address = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var metrics = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-admin-{Guid.NewGuid():N}");
        using var server = ServerProcess.Start(["--urls", address, $"--Annotate:MetricsUrls={metrics}",
            $"--ConnectionStrings:Annotate={await NewDatabaseAsync()}", $"--Annotate:AdminTokenFile={tokenFile}"]);
        try
        {
            await server.WaitForOutputAsync($"Prometheus metrics at {metrics}/metrics (HTTP/1.1)");
            using var channel = GrpcChannel.ForAddress(address);
            var admin = AnnotateServer.As((await File.ReadAllTextAsync(tokenFile)).Trim());
            using var http = new HttpClient { DefaultRequestVersion = HttpVersion.Version11 };

            // Verification counts the positions it checked: the whole log once.
            var verify = channel.History().VerifyAudit(new VerifyAuditRequest(), admin);
            var result = (await verify.ResponseStream.ReadAllAsync().ToListAsync()).Last().Result;
            Assert.True(result.Ok);
            var verified = await ScrapeAsync(http, metrics);
            Assert.Equal((double)result.HeadPosition, verified.Value("annotate_audit_verify_positions_total"));
            Assert.Equal(0, verified.Value("annotate_audit_verify_running"));

            // Two subscribers: one takes every event, the other stops reading after its first. The stalled one falls
            // behind once more is written than the transport buffers for it; the lag is then at least the positions
            // the reading one has been given past it.
            using var stop = new CancellationTokenSource();
            using var reading = channel.History().Subscribe(new SubscribeRequest(), admin.WithCancellationToken(stop.Token));
            using var stalled = channel.History().Subscribe(new SubscribeRequest(), admin.WithCancellationToken(stop.Token));
            Assert.True(await stalled.ResponseStream.MoveNext(stop.Token));
            long seen = 0;
            while (await reading.ResponseStream.MoveNext(stop.Token)
                && reading.ResponseStream.Current.ItemCase != SubscribeResponse.ItemOneofCase.CaughtUpPosition)
            {
            }
            var caughtUp = await ScrapeAsync(http, metrics);
            Assert.Equal("gauge", caughtUp.Types["annotate_eventstore_subscription_lag"]);
            var note = new string('n', 2000);
            PrometheusText lagging;
            for (var written = 0;
                (lagging = await ScrapeAsync(http, metrics)).Value("annotate_eventstore_subscription_lag") == 0;
                written++)
            {
                Assert.True(written < 5000, "The stalled subscriber never counted as behind.");
                var created = await channel.Annotations().CreateHighlightAsync(new CreateHighlightRequest
                {
                    RequestId = Guid.NewGuid().ToString(),
                    ArticleId = "russia-involvement-kazakhstan-crisis",
                    Selector = new Selector { Position = new TextPosition { Start = 0, End = 20 } },
                    Note = note,
                }, admin);
                while (seen < (long)created.Result.Position && await reading.ResponseStream.MoveNext(stop.Token))
                    seen = (long)reading.ResponseStream.Current.Event.Position;
            }
            Assert.True(lagging.Value("annotate_eventstore_subscription_lag") > 0);
            await stop.CancelAsync();
            await ScrapeUntilAsync(http, metrics, s => s.Value("annotate_subscribers_live", ("annotate_feed", "subscribe")) == 0);
            Assert.Equal(0, (await ScrapeAsync(http, metrics)).Value("annotate_eventstore_subscription_lag"));
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\nserver stdout:\n{server.Stdout}\nstderr:\n{server.Stderr}", e);
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }

    private static async Task<PrometheusText> ScrapeAsync(HttpClient http, string metrics)
    {
        using var response = await http.GetAsync($"{metrics}/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>Scrapes until <paramref name="done"/> holds for a scrape (each scrape collects afresh), failing after the
    /// patience.</summary>
    private static async Task<PrometheusText> ScrapeUntilAsync(HttpClient http, string metrics, Func<PrometheusText, bool> done)
    {
        var until = DateTime.UtcNow + Patience;
        while (true)
        {
            var scrape = await ScrapeAsync(http, metrics);
            if (done(scrape)) return scrape;
            Assert.True(DateTime.UtcNow < until, $"The metrics did not show what was expected in time:\n{scrape.Text}");
        }
    }
}
