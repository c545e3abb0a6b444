using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Google.Protobuf.Reflection;
using Interop.V1;

namespace Annotate.Grpc.InteropClient.Tests;

/// <summary>
/// The grpc-js implementation of interop.v1.Echo (tests/interop/node/echo-server.js) on
/// cleartext HTTP/2, as a child process on a free port for the lifetime of a test class.
/// </summary>
public sealed class GrpcJsEchoServer : IAsyncLifetime
{
    /// <summary>The server's maximum message size in both directions (given on its command line).</summary>
    public const int MaxMessageSize = 1024 * 1024;
    private NodeEchoProcess? _process;

    public string Address => _process!.Address;
    public GrpcChannel Channel { get; private set; } = null!;

    public GrpcChannel NewChannel(GrpcChannelOptions options) => GrpcChannel.ForAddress(Address, options);

    public async Task InitializeAsync()
    {
        _process = await NodeEchoProcess.StartAsync("--max-message-size", MaxMessageSize.ToString(CultureInfo.InvariantCulture));
        Channel = GrpcChannel.ForAddress(Address);
    }

    public async Task DisposeAsync()
    {
        Channel?.Dispose();
        if (_process is not null) await _process.DisposeAsync();
    }
}

/// <summary>
/// The grpc-js echo server over TLS with a self-signed certificate for "localhost" and
/// 127.0.0.1 made for this run; <see cref="Certificate"/> is the only one the channel trusts.
/// </summary>
public sealed class GrpcJsTlsEchoServer : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("interop-tls-").FullName;
    private NodeEchoProcess? _process;

    public X509Certificate2 Certificate { get; private set; } = null!;
    public string Address => _process!.Address;

    public async Task InitializeAsync()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        Certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certPath = Path.Combine(_dir, "cert.pem");
        var keyPath = Path.Combine(_dir, "key.pem");
        await File.WriteAllTextAsync(certPath, Certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
        _process = await NodeEchoProcess.StartAsync("--tls-cert", certPath, "--tls-key", keyPath);
    }

    public async Task DisposeAsync()
    {
        if (_process is not null) await _process.DisposeAsync();
        Certificate?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>
/// echo-server.js as a child process. It prints "listening on &lt;url&gt;" once ready and stops
/// when its stdin closes, so a test run that dies does not leave it behind.
/// </summary>
internal sealed class NodeEchoProcess : IAsyncDisposable
{
    private const string ReadyPrefix = "listening on ";
    private readonly Process _process;
    private readonly StringBuilder _stderr;

    private NodeEchoProcess(Process process, StringBuilder stderr, string address)
    {
        _process = process;
        _stderr = stderr;
        Address = address;
    }

    public string Address { get; }

    public static async Task<NodeEchoProcess> StartAsync(params string[] arguments)
    {
        var nodeDir = Path.Combine(FindRepoRoot(), "tests", "interop", "node");
        await EnsureNodeModulesAsync(nodeDir);
        var info = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = nodeDir,
        };
        foreach (var a in new[] { "echo-server.js", "--port", "0", "--exit-on-stdin-close" }.Concat(arguments))
            info.ArgumentList.Add(a);
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start node");
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
        };
        process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line is null)
            {
                lock (stderr) throw new InvalidOperationException($"the grpc-js echo server exited before it was ready: {stderr}");
            }
            if (line.StartsWith(ReadyPrefix, StringComparison.Ordinal))
                return new NodeEchoProcess(process, stderr, line[ReadyPrefix.Length..].Trim());
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.StandardInput.Close();
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
    }

    public override string ToString()
    {
        lock (_stderr) return $"echo-server.js at {Address}; stderr: {_stderr}";
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Annotate.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Annotate.sln not found above " + AppContext.BaseDirectory);
    }

    // A fresh clone has no node_modules: install exactly the locked versions. Two fixtures
    // may start at once, so only one installs.
    private static readonly SemaphoreSlim InstallGate = new(1, 1);

    private static async Task EnsureNodeModulesAsync(string nodeDir)
    {
        await InstallGate.WaitAsync();
        try
        {
            if (Directory.Exists(Path.Combine(nodeDir, "node_modules", "@grpc", "grpc-js"))) return;
            var info = new ProcessStartInfo("npm") { WorkingDirectory = nodeDir, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "ci", "--no-audit", "--no-fund", "--loglevel=error" }) info.ArgumentList.Add(a);
            using var npm = Process.Start(info) ?? throw new InvalidOperationException("could not start npm");
            var output = npm.StandardOutput.ReadToEndAsync();
            var errors = npm.StandardError.ReadToEndAsync();
            await npm.WaitForExitAsync();
            if (npm.ExitCode != 0) throw new InvalidOperationException($"npm ci failed ({npm.ExitCode}): {await output}{await errors}");
        }
        finally
        {
            InstallGate.Release();
        }
    }
}

/// <summary>Typed methods of interop.v1.Echo, built from the generated descriptors.</summary>
internal static class Echo
{
    private static readonly ServiceDescriptor Service = EchoReflection.Descriptor.Services.Single(s => s.Name == "Echo");

    public static readonly Method<EchoRequest, EchoResponse> Unary = Method<EchoRequest, EchoResponse>.FromDescriptor(Service.FindMethodByName("Unary"));
    public static readonly Method<StreamRequest, EchoResponse> ServerStream = Method<StreamRequest, EchoResponse>.FromDescriptor(Service.FindMethodByName("ServerStream"));
    public static readonly Method<EchoRequest, EchoResponse> ClientStream = Method<EchoRequest, EchoResponse>.FromDescriptor(Service.FindMethodByName("ClientStream"));
    public static readonly Method<EchoRequest, EchoResponse> Bidi = Method<EchoRequest, EchoResponse>.FromDescriptor(Service.FindMethodByName("Bidi"));
}
