using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Annotate.Grpc;
using Annotate.Grpc.InteropServer;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

// Interop and benchmark server: interop.v1.Echo + health + reflection.
// Usage: Annotate.Grpc.InteropServer [--urls http://127.0.0.1:<port>] [--tls-cert <pfx> --tls-password <pw>]
//        [--max-message-size <bytes>] [--response-compression gzip]
// Responses are gzip-compressed when the request was (or always, for clients that accept it,
// with --response-compression gzip).
// Prints exactly one line to stdout once listening ("listening on <url>"); logs go to stderr.
string urls = "http://127.0.0.1:50051";
string? certPath = null, certPassword = null;
var maxMessageSize = 4 * 1024 * 1024;
string? responseCompression = null;
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--urls": urls = Next(); break;
        case "--tls-cert": certPath = Next(); break;
        case "--tls-password": certPassword = Next(); break;
        case "--max-message-size": maxMessageSize = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--response-compression": responseCompression = Next(); break;
        default:
            await Console.Error.WriteLineAsync($"unknown argument {args[i]}");
            return 2;
    }
}

var url = new Uri(urls.Split(';')[0]);
var ip = url.Host is "localhost" ? IPAddress.Loopback : IPAddress.Parse(url.Host);
var certificate = certPath is null ? null : X509CertificateLoader.LoadPkcs12FromFile(certPath, certPassword);

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
builder.Logging.ClearProviders();
builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(k => k.ListenGrpc(new IPEndPoint(ip, url.Port), certificate));
builder.Services.AddGrpcTransport(o =>
{
    o.MaxReceiveMessageSize = maxMessageSize;
    o.MaxSendMessageSize = maxMessageSize;
    o.ResponseCompression = responseCompression;
});

var app = builder.Build();
app.MapGrpcService(EchoService.Service, EchoService.Bind);
app.MapGrpcHealth();
app.MapGrpcReflection();
await app.StartAsync();

var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
Console.Out.WriteLine($"listening on {address}");
Console.Out.Flush();

// A parent that holds our stdin as a pipe stops us by closing it (as well as by SIGTERM).
if (IsPipe(0))
{
    _ = Task.Run(async () =>
    {
        var stdin = Console.OpenStandardInput();
        var buffer = new byte[256];
        while (await stdin.ReadAsync(buffer) > 0) { }
        app.Lifetime.StopApplication();
    });
}
await app.WaitForShutdownAsync();
return 0;

static bool IsPipe(int fd)
{
    try
    {
        var target = new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? "";
        return target.StartsWith("pipe:", StringComparison.Ordinal) || target.StartsWith("socket:", StringComparison.Ordinal);
    }
    catch (IOException)
    {
        return false;
    }
}
