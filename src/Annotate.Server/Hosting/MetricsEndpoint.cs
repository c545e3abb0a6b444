using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Annotate.Server.Hosting;

/// <summary>
/// The optional Prometheus endpoint: HTTP/1.1 on the addresses of <c>Annotate:MetricsUrls</c> (semicolon separated,
/// http only), off when that is empty. Those ports answer <c>GET /metrics</c> (Prometheus text format) and 404 for
/// anything else; no other port answers <c>/metrics</c>. Keep it on loopback or a network only the scraper reaches:
/// it has no authentication.
/// </summary>
public sealed class MetricsEndpoint
{
    public const string ConfigurationKey = "Annotate:MetricsUrls";
    public const string Path = "/metrics";

    private MetricsEndpoint(IReadOnlyList<Uri> urls, string? error)
    {
        Urls = urls;
        Error = error;
    }

    public IReadOnlyList<Uri> Urls { get; }

    /// <summary>
    /// Why <c>Annotate:MetricsUrls</c> cannot be used, or null. With an error the endpoint is off, and
    /// <see cref="HostingExtensions.RunAnnotateAsync"/> prints it and exits with code 2 before serving.
    /// </summary>
    public string? Error { get; }

    public bool IsEnabled => Urls.Count > 0;

    private HashSet<int> Ports => Urls.Select(u => u.Port).ToHashSet();

    public static MetricsEndpoint From(IConfiguration configuration)
    {
        var (urls, error) = WebEndpoint.HttpUrls(configuration, ConfigurationKey);
        return new MetricsEndpoint(urls, error);
    }

    /// <summary>Whether Kestrel's endpoint <paramref name="listen"/> is one of the metrics endpoints.</summary>
    public bool Serves(ListenOptions listen) => listen.EndPoint is IPEndPoint ip && Ports.Contains(ip.Port);

    /// <summary>Whether the request came in on a metrics endpoint.</summary>
    public bool Serves(HttpContext context) => IsEnabled && Ports.Contains(context.Connection.LocalPort);

    /// <summary>Binds the metrics endpoints in code (used when Kestrel:Endpoints configures the others, which replaces --urls).</summary>
    public void Listen(KestrelServerOptions kestrel) => WebEndpoint.Listen(kestrel, Urls);
}
