using System.Net;

namespace Annotate.Benchmarks.EndToEnd;

/// <summary>
/// Where a server with OpenTelemetry on sends it during a run: an OTLP/HTTP receiver on a loopback port that reads each
/// export (traces, metrics, logs) and answers 200 with an empty body, an empty protobuf Export*ServiceResponse. It
/// keeps nothing but counts, so the cost measured is the server's, as with a collector on the same host. Point a
/// server at it with <c>--OTEL_EXPORTER_OTLP_ENDPOINT={otlp} --OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf</c>.
/// </summary>
internal sealed class OtlpSink
{
    private static readonly Lazy<Task<OtlpSink>> Shared = new(() => Task.FromResult(Start()));
    private readonly HttpListener _listener;
    private long _exports;
    private long _bytes;

    private OtlpSink(HttpListener listener, string address)
    {
        _listener = listener;
        Address = address;
    }

    public string Address { get; }

    public long Exports => Interlocked.Read(ref _exports);

    public long Bytes => Interlocked.Read(ref _bytes);

    public static Task<OtlpSink> SharedAsync() => Shared.Value;

    private static OtlpSink Start()
    {
        // HttpListener needs a port of its own choosing up front; a port just found free is taken at once.
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                continue;
            }
            var sink = new OtlpSink(listener, $"http://127.0.0.1:{port}");
            _ = Task.Run(sink.ServeAsync);
            return sink;
        }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
            _ = Task.Run(async () =>
            {
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                Interlocked.Increment(ref _exports);
                Interlocked.Add(ref _bytes, body.Length);
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.ContentLength64 = 0;
                context.Response.Close();
            });
        }
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

/// <summary>
/// Scrapes a server's Prometheus endpoint every second while it runs, as a Prometheus server with a (short) 1 s scrape
/// interval would; the exporter collects every instrument on each scrape, so that cost is in the server's figures.
/// </summary>
internal sealed class MetricsScraper(string url) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private Task _loop = Task.CompletedTask;

    public int Scrapes { get; private set; }

    public void Start() => _loop = Task.Run(LoopAsync);

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                using var response = await _http.GetAsync(url, _stop.Token);
                response.EnsureSuccessStatusCode();
                await response.Content.ReadAsByteArrayAsync(_stop.Token);
                Scrapes++;
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _http.Dispose();
        _stop.Dispose();
    }
}
