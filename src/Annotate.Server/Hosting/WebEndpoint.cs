using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Annotate.Server.Hosting;

/// <summary>
/// The optional gRPC-Web endpoint for browsers: HTTP/1.1 on the addresses of <c>Annotate:WebUrls</c> (semicolon
/// separated, http only), off when that is empty. gRPC-Web is answered on those ports only; every other endpoint
/// speaks gRPC over HTTP/2.
/// </summary>
public sealed class WebEndpoint
{
    public const string ConfigurationKey = "Annotate:WebUrls";

    private WebEndpoint(IReadOnlyList<Uri> urls, string? error)
    {
        Urls = urls;
        Error = error;
    }

    public IReadOnlyList<Uri> Urls { get; }

    /// <summary>
    /// Why <c>Annotate:WebUrls</c> cannot be used, or null. With an error the endpoint is off (no URLs), and
    /// <see cref="HostingExtensions.RunAnnotateAsync"/> prints it and exits with code 2 before serving.
    /// </summary>
    public string? Error { get; }

    public bool IsEnabled => Urls.Count > 0;

    private HashSet<int> Ports => Urls.Select(u => u.Port).ToHashSet();

    public static WebEndpoint From(IConfiguration configuration)
    {
        var (urls, error) = HttpUrls(configuration, ConfigurationKey);
        return new WebEndpoint(urls, error);
    }

    /// <summary>
    /// The http addresses of the setting <paramref name="key"/> (semicolon separated), or why it cannot be used (then no addresses).
    /// </summary>
    internal static (IReadOnlyList<Uri> Urls, string? Error) HttpUrls(IConfiguration configuration, string key)
    {
        var urls = new List<Uri>();
        foreach (var text in (configuration[key] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttp)
            {
                return ([], $"{key}: \"{text}\" is not an http://host:port address.");
            }
            urls.Add(url);
        }
        return (urls, null);
    }

    /// <summary>Whether Kestrel's endpoint <paramref name="listen"/> is one of the web endpoints.</summary>
    public bool Serves(ListenOptions listen) => listen.EndPoint is IPEndPoint ip && Ports.Contains(ip.Port);

    /// <summary>Whether the request came in on a web endpoint.</summary>
    public bool Serves(HttpContext context) => IsEnabled && Ports.Contains(context.Connection.LocalPort);

    /// <summary>Binds the web endpoints in code (used when Kestrel:Endpoints configures the others, which replaces --urls).</summary>
    public void Listen(KestrelServerOptions kestrel) => Listen(kestrel, Urls);

    internal static void Listen(KestrelServerOptions kestrel, IEnumerable<Uri> urls)
    {
        foreach (var url in urls)
        {
            if (url.Host == "localhost") kestrel.ListenLocalhost(url.Port);
            else if (url.Host is "*" or "+" || !IPAddress.TryParse(url.Host.Trim('[', ']'), out var address)) kestrel.ListenAnyIP(url.Port);
            else kestrel.Listen(address, url.Port);
        }
    }

    /// <summary>gRPC-Web (Grpc.AspNetCore.Web) for requests on the web endpoints.</summary>
    public void UseOn(IApplicationBuilder app)
    {
        if (IsEnabled) app.UseWhen(Serves, web => web.UseGrpcWeb(new GrpcWebOptions { DefaultEnabled = true }));
    }
}
