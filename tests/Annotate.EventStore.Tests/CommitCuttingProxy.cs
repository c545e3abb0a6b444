using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Annotate.EventStore.Tests;

/// <summary>
/// A TCP relay between a store and PostgreSQL that, when armed, loses the answer to a COMMIT: it lets the COMMIT
/// reach the server, waits for the server's reply (so the transaction is committed), then closes both sides without
/// passing the reply on. The client sees a broken connection after a commit that succeeded: the one failure whose
/// outcome a writer cannot know. (PostgreSQL alone offers no way to make exactly that happen on demand.)
/// </summary>
internal sealed class CommitCuttingProxy : IAsyncDisposable
{
    /// <summary>A simple-protocol Query message carrying exactly "COMMIT" (what NpgsqlTransaction.Commit sends).</summary>
    private static readonly byte[] Commit = [(byte)'Q', 0, 0, 0, 11, .. Encoding.ASCII.GetBytes("COMMIT"), 0];
    /// <summary>An extended-protocol Parse of exactly "COMMIT", unnamed, no parameters (a COMMIT inside an NpgsqlBatch,
    /// as the writer sends it after the chain function).</summary>
    private static readonly byte[] ParsedCommit = [(byte)'P', 0, 0, 0, 14, 0, .. Encoding.ASCII.GetBytes("COMMIT"), 0, 0, 0];
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _host;
    private readonly int _port;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<TcpClient> _open = [];
    private readonly Task _accepting;
    private int _armed;
    private int _cuts;

    public CommitCuttingProxy(string host, int port)
    {
        _host = host;
        _port = port;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Commits whose answer was lost so far.</summary>
    public int Cuts => Volatile.Read(ref _cuts);

    /// <summary>Lose the answer of the next <paramref name="commits"/> COMMITs that pass through.</summary>
    public void Arm(int commits) => Volatile.Write(ref _armed, commits);

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stopping.Token); }
            catch (Exception) when (_stopping.IsCancellationRequested) { return; }
            var server = new TcpClient();
            await server.ConnectAsync(_host, _port, _stopping.Token);
            lock (_open) _open.AddRange([client, server]);
            var cut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _ = Task.Run(() => RelayAsync(client, server, toServer: true, cut));
            _ = Task.Run(() => RelayAsync(server, client, toServer: false, cut));
        }
    }

    private async Task RelayAsync(TcpClient from, TcpClient to, bool toServer, TaskCompletionSource cut)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            var input = from.GetStream();
            var output = to.GetStream();
            while (true)
            {
                var n = await input.ReadAsync(buffer, _stopping.Token);
                if (n == 0) break;
                if (!toServer && cut.Task.IsCompleted)
                {
                    // The server has answered the COMMIT: it is committed. The client never hears of it.
                    Interlocked.Increment(ref _cuts);
                    break;
                }
                if (toServer && IsCommit(buffer.AsSpan(0, n)) && TryDisarm()) cut.TrySetResult();
                await output.WriteAsync(buffer.AsMemory(0, n), _stopping.Token);
            }
        }
        catch (Exception) { } // a side closed: the relay ends
        from.Close();
        to.Close();
    }

    private static bool IsCommit(ReadOnlySpan<byte> sent) => sent.IndexOf(Commit) >= 0 || sent.IndexOf(ParsedCommit) >= 0;

    private bool TryDisarm()
    {
        while (true)
        {
            var armed = Volatile.Read(ref _armed);
            if (armed <= 0) return false;
            if (Interlocked.CompareExchange(ref _armed, armed - 1, armed) == armed) return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        await _accepting;
        lock (_open) foreach (var c in _open) c.Dispose();
        _stopping.Dispose();
    }
}
