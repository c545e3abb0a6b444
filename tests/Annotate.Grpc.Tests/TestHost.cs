using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Annotate.Grpc.Tests;

/// <summary>A real Kestrel server on a loopback port chosen by the OS, speaking real HTTP/2.</summary>
public sealed class TestHost : IAsyncDisposable
{
    private TestHost(WebApplication app, string address, LogSink logs)
    {
        App = app;
        Address = address;
        Logs = logs;
    }

    public WebApplication App { get; }
    public string Address { get; }
    public LogSink Logs { get; }

    /// <summary>Starts a server; by default it maps Echo, health and reflection.</summary>
    public static async Task<TestHost> StartAsync(
        Action<GrpcServerOptions>? options = null,
        Action<WebApplication>? map = null,
        X509Certificate2? certificate = null,
        Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        var logs = new LogSink();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.WebHost.ConfigureKestrel(k => k.ListenGrpc(new IPEndPoint(IPAddress.Loopback, 0), certificate));
        builder.Services.AddGrpcTransport(options);
        services?.Invoke(builder.Services);
        var app = builder.Build();
        if (map is null)
        {
            app.MapGrpcService(EchoService.Service, EchoService.Bind);
            app.MapGrpcHealth();
            app.MapGrpcReflection();
        }
        else
        {
            map(app);
        }
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestHost(app, address, logs);
    }

    public GrpcChannel Channel(GrpcChannelOptions? options = null) => GrpcChannel.ForAddress(Address, options);

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>Collects log messages (with exception text) so tests can see what the server logged.</summary>
public sealed class LogSink : ILoggerProvider
{
    public ConcurrentQueue<string> Messages { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(LogSink sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Messages.Enqueue($"{logLevel}: {formatter(state, exception)} {exception}");
    }
}

/// <summary>One Echo server shared by the tests of a class.</summary>
public sealed class EchoServerFixture : IAsyncLifetime
{
    public TestHost Host { get; private set; } = null!;
    public GrpcChannel Channel { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await TestHost.StartAsync(o => o.ResponseCompression = "gzip");
        Channel = Host.Channel();
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        await Host.DisposeAsync();
    }
}
