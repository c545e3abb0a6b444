using Microsoft.Extensions.FileProviders;

namespace Annotate.Server.Hosting;

/// <summary>
/// The browser reader (web/ in the repository): static files from the <c>web</c> folder beside the server, which
/// the build fills (WebReader.targets), served on the gRPC-Web endpoints only (<see cref="WebEndpoint"/>; off
/// unless <c>Annotate:WebUrls</c> is set) at their root, e.g. http://127.0.0.1:50052/. The page calls the same
/// services over gRPC-Web on the same origin, so no CORS is involved.
/// </summary>
public static partial class WebReader
{
    /// <summary>The page's own origin only: scripts, styles and gRPC-Web calls; nothing from elsewhere.</summary>
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action " +
            "'none'; frame-ancestors 'none'";

    public static WebApplication UseWebReader(this WebApplication app, WebEndpoint web)
    {
        if (!web.IsEnabled) return app;
        var folder = Path.Combine(AppContext.BaseDirectory, "web");
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Annotate.Server");
        if (!File.Exists(Path.Combine(folder, "index.html")))
        {
            // The build leaves the reader out when Node.js is missing; gRPC-Web itself still answers.
            Log.Missing(logger, folder);
            return app;
        }
        var files = new PhysicalFileProvider(folder);
        app.UseWhen(web.Serves, page =>
        {
            page.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
            page.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = files,
                OnPrepareResponse = context =>
                {
                    var headers = context.Context.Response.Headers;
                    headers.ContentSecurityPolicy = ContentSecurityPolicy;
                    headers.XContentTypeOptions = "nosniff";
                    headers.CacheControl = "no-cache"; // revalidated (ETag) so a rebuilt reader is picked up at once
                    headers["Referrer-Policy"] = "no-referrer";
                },
            });
        });
        app.Lifetime.ApplicationStarted.Register(() =>
            Log.Serving(logger, string.Join(", ", web.Urls.Select(u => u.GetLeftPart(UriPartial.Authority) + "/"))));
        return app;
    }

    private static partial class Log
    {
        [LoggerMessage(3, LogLevel.Information, "Browser reader at {Urls}")]
        public static partial void Serving(ILogger logger, string urls);

        [LoggerMessage(4, LogLevel.Warning, "The web endpoint is on but the browser reader is not in {Folder}: the server was built " +
            "without Node.js (apt-get install nodejs npm, then build again). Only gRPC-Web is served there.")]
        public static partial void Missing(ILogger logger, string folder);
    }
}
