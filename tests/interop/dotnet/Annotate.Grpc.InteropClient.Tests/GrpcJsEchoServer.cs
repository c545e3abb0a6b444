using System.Diagnostics;
using System.Text;
using Google.Protobuf.Reflection;
using Interop.V1;

namespace Annotate.Grpc.InteropClient.Tests;

/// <summary>
/// The grpc-js implementation of interop.v1.Echo (tests/interop/node/echo-server.js) as a
/// child process on a free port, for the lifetime of a test class. It stops when its stdin
/// closes, so a test run that dies does not leave it behind.
/// </summary>
public sealed class GrpcJsEchoServer : IAsyncLifetime
{
    /// <summary>The server's maximum message size in both directions (given on its command line).</summary>
    public const int MaxMessageSize = 1024 * 1024;
    private const string ReadyPrefix = "listening on ";
    private readonly StringBuilder _stderr = new();
    private Process? _process;

    public string Address { get; private set; } = "";
    public GrpcChannel Channel { get; private set; } = null!;

    public GrpcChannel NewChannel(GrpcChannelOptions options) => GrpcChannel.ForAddress(Address, options);

    public async Task InitializeAsync()
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
        foreach (var a in new[] { "echo-server.js", "--port", "0", "--max-message-size", MaxMessageSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "--exit-on-stdin-close" })
            info.ArgumentList.Add(a);
        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start node");
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stderr) _stderr.AppendLine(e.Data);
        };
        _process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var line = await _process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line is null)
            {
                lock (_stderr) throw new InvalidOperationException($"the grpc-js echo server exited before it was ready: {_stderr}");
            }
            if (!line.StartsWith(ReadyPrefix, StringComparison.Ordinal)) continue;
            Address = line[ReadyPrefix.Length..].Trim();
            break;
        }
        Channel = GrpcChannel.ForAddress(Address);
    }

    public async Task DisposeAsync()
    {
        Channel?.Dispose();
        if (_process is null) return;
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

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Annotate.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Annotate.sln not found above " + AppContext.BaseDirectory);
    }

    // A fresh clone has no node_modules: install exactly the locked versions.
    private static async Task EnsureNodeModulesAsync(string nodeDir)
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
