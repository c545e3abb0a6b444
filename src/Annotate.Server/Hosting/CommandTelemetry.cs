using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using Annotate.Server.Infrastructure;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using MediatR;
using OpenTelemetry;

namespace Annotate.Server.Hosting;

/// <summary>
/// The server's own spans and instruments, named <see cref="Name"/>: a span per command carrying its request id, the
/// command latency histogram and the live subscriber count. Unobserved (telemetry off) they cost a few branches.
/// </summary>
public static class ServerTelemetry
{
    public const string Name = "Annotate.Server";

    /// <summary>The attribute that ties a command's gRPC call, command span and PostgreSQL spans together.</summary>
    public const string RequestIdTag = "annotate.request_id";

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    private static readonly Histogram<double> CommandDuration = Meter.CreateHistogram(
        "annotate.command.duration",
        "s",
        "Time a command takes from its request to its result, including waiting until the views include its write.",
        advice: new InstrumentAdvice<double>
        {
            HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        });

    private static readonly UpDownCounter<long> LiveSubscribers = Meter.CreateUpDownCounter<long>(
        "annotate.subscribers.live", "{subscriber}", "Open live streams (History.Subscribe, Consensus.WatchArticle).");

    private static readonly Counter<long> Reads = Meter.CreateCounter<long>(
        "annotate.reads", "{read}",
        "Reads that could go to the read replica, by where they went (replica, primary) and why (caught_up, behind, unreachable).");

    private static readonly Counter<long> PositionsVerified = Meter.CreateCounter<long>(
        "annotate.audit.verify.positions",
        "{position}",
        "Positions of the log whose chain links audit verification (VerifyAudit) has checked, as it goes.");

    private static readonly UpDownCounter<long> VerificationsRunning = Meter.CreateUpDownCounter<long>(
        "annotate.audit.verify.running", "{verification}", "Audit verifications (VerifyAudit) in progress.");

    /// <summary>Verification progress: <paramref name="positions"/> more positions checked.</summary>
    public static void RecordVerified(long positions) => PositionsVerified.Add(positions);

    /// <summary>Counts one running verification until disposed.</summary>
    public static Verification Verifying()
    {
        VerificationsRunning.Add(1);
        return default;
    }

    public readonly struct Verification : IDisposable
    {
        public void Dispose() => VerificationsRunning.Add(-1);
    }

    /// <summary>One read routed by <see cref="ReadReplica"/> to <paramref name="source"/> for <paramref name="reason"/>.</summary>
    public static void RecordRead(string source, string reason) =>
        Reads.Add(1, new("annotate.read.source", source), new("annotate.read.reason", reason));

    public static void RecordCommand(string command, string outcome, TimeSpan duration) =>
        CommandDuration.Record(duration.TotalSeconds, new("annotate.command", command), new("annotate.outcome", outcome));

    /// <summary>Counts one live stream of <paramref name="feed"/> until disposed.</summary>
    public static LiveSubscriber Subscriber(string feed)
    {
        LiveSubscribers.Add(1, new KeyValuePair<string, object?>("annotate.feed", feed));
        return new LiveSubscriber(feed);
    }

    public readonly struct LiveSubscriber(string feed) : IDisposable
    {
        public void Dispose() => LiveSubscribers.Add(-1, new KeyValuePair<string, object?>("annotate.feed", feed));
    }
}

/// <summary>
/// Outermost MediatR behaviour: for a command (a request whose message has <c>request_id</c>) a span named after it,
/// tagged with the request id (also on the gRPC call's span above it), and its latency with the outcome (ok, refused,
/// unavailable, cancelled, error). Queries pass through untouched; their gRPC span and call metrics cover them.
/// </summary>
public sealed class CommandTelemetry<TRequest, TResponse> : IPipelineBehavior<TRequest, TResponse>
{
    /// <summary>The command's name, its message and that message's request-id field; null for queries. Found once per request
    /// type: every feature's request record wraps the protobuf message of its call in a property named Request.</summary>
    private static readonly (string Name, PropertyInfo Message, FieldDescriptor RequestId)? Shape = ShapeOf();

    /// <summary>The command's span name, made once per request type.</summary>
    private static readonly string? SpanName = Shape is var (name, _, _) ? $"command {name}" : null;

    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        if (Shape is not var (name, message, requestIdField)) return await next();
        using var span = ServerTelemetry.Source.StartActivity(SpanName!);
        if (span is not null)
        {
            var requestId = requestIdField.Accessor.GetValue((IMessage)message.GetValue(request)!) as string;
            for (var s = span; s is not null; s = s.Parent) s.SetTag(ServerTelemetry.RequestIdTag, requestId);
        }
        var started = Stopwatch.GetTimestamp();
        var outcome = "error";
        try
        {
            var response = await next();
            outcome = "ok";
            return response;
        }
        catch (Exception e)
        {
            outcome = e switch
            {
                DomainException => "refused",
                UnavailableException => "unavailable",
                OperationCanceledException => "cancelled",
                _ => "error",
            };
            if (outcome != "refused") span?.SetStatus(ActivityStatusCode.Error, outcome);
            throw;
        }
        finally
        {
            span?.SetTag("annotate.outcome", outcome);
            ServerTelemetry.RecordCommand(name, outcome, Stopwatch.GetElapsedTime(started));
        }
    }

    private static (string, PropertyInfo, FieldDescriptor)? ShapeOf()
    {
        var message = typeof(TRequest).GetProperty("Request");
        if (message is null || !typeof(IMessage).IsAssignableFrom(message.PropertyType)) return null;
        var descriptor = (MessageDescriptor)message.PropertyType.GetProperty("Descriptor")!.GetValue(null)!;
        if (descriptor.FindFieldByName("request_id") is not { } field) return null;
        return (descriptor.Name.Replace("Request", "", StringComparison.Ordinal), message, field);
    }
}

/// <summary>
/// Gives every span started under a span with a request id the same attribute (PostgreSQL spans under a command), so
/// a search by request id finds them without walking the trace.
/// </summary>
public sealed class RequestIdSpanProcessor : BaseProcessor<Activity>
{
    public override void OnStart(Activity data)
    {
        if (data.Parent?.GetTagItem(ServerTelemetry.RequestIdTag) is string requestId) data.SetTag(ServerTelemetry.RequestIdTag, requestId);
    }
}
