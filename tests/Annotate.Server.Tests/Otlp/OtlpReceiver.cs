using Annotate.Server.Tests.Otlp;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Annotate.Server.Tests;

/// <summary>One span as the server exported it over OTLP, with the instrumentation scope that made it.</summary>
internal sealed record ReceivedSpan(string Scope, Span Span)
{
    public string TraceId => Convert.ToHexStringLower(Span.TraceId.Span);
    public string SpanId => Convert.ToHexStringLower(Span.SpanId.Span);
    public string ParentId => Convert.ToHexStringLower(Span.ParentSpanId.Span);

    /// <summary>The string values of an array attribute (empty when absent).</summary>
    public IReadOnlyList<string> Strings(string key) =>
        Span.Attributes.FirstOrDefault(a => a.Key == key)?.Value?.ArrayValue?.Values.Select(v => v.StringValue).ToList() ?? [];

    public string? Attribute(string key) => Span.Attributes.FirstOrDefault(a => a.Key == key)?.Value switch
    {
        null => null,
        { ValueCase: AnyValue.ValueOneofCase.StringValue } v => v.StringValue,
        { ValueCase: AnyValue.ValueOneofCase.IntValue } v => v.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        var v => v.ToString(),
    };
}

/// <summary>
/// A minimal OTLP/HTTP receiver (protobuf encoding) on a free loopback port, standing in for a collector: it keeps the
/// spans POSTed to /v1/traces and accepts (and drops) metrics and logs, answering each export with an empty success.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<ReceivedSpan> _spans = [];
    private readonly Signal _received = new();

    private OtlpReceiver(int port)
    {
        Address = $"http://127.0.0.1:{port}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(Address);
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/v1/traces", async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var request = ExportTraceServiceRequest.Parser.ParseFrom(body.ToArray());
            lock (_spans)
            {
                foreach (var scope in request.ResourceSpans.SelectMany(r => r.ScopeSpans))
                {
                    _spans.AddRange(scope.Spans.Select(s => new ReceivedSpan(scope.Scope?.Name ?? "", s)));
                }
            }
            _received.Pulse();
            await Success(context);
        });
        _app.MapPost("/v1/{signal}", Success);
    }

    public string Address { get; }

    public IReadOnlyList<ReceivedSpan> Spans
    {
        get { lock (_spans) return [.. _spans]; }
    }

    public static async Task<OtlpReceiver> StartAsync()
    {
        var receiver = new OtlpReceiver(ServerProcess.FreePort());
        await receiver._app.StartAsync();
        return receiver;
    }

    /// <summary>Waits until the spans received so far satisfy <paramref name="condition"/>; false after
    /// <paramref name="timeout"/>.</summary>
    public Task<bool> WaitUntilAsync(Func<IReadOnlyList<ReceivedSpan>, bool> condition, TimeSpan timeout) =>
        _received.WaitUntilAsync(() => condition(Spans), timeout);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static Task Success(HttpContext context)
    {
        context.Response.ContentType = "application/x-protobuf";
        return Task.CompletedTask; // an empty message: the export succeeded in full
    }
}
