using Annotate.Contracts.V1;

namespace Annotate.Server.Tests;

/// <summary>Small helpers shared by the end-to-end tests of the gRPC services.</summary>
internal static class Rpc
{
    public static string Rid() => Guid.NewGuid().ToString();

    /// <summary>Runs <paramref name="call"/>, which must fail with <paramref name="code"/>; returns the exception for its
    /// message.</summary>
    public static async Task<RpcException> RefusedAsync(StatusCode code, Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(code == e.StatusCode, $"expected {code}, got {e.StatusCode}: {e.Status.Detail}");
        Assert.False(string.IsNullOrWhiteSpace(e.Status.Detail), "the refusal carries no message");
        return e;
    }

    /// <summary>As above, for a unary call of a generated client: <c>RefusedAsync(code, () =>
    /// ch.Claims().OpenClaimAsync(...))</c>.</summary>
    public static Task<RpcException> RefusedAsync<T>(StatusCode code, Func<AsyncUnaryCall<T>> call) =>
        RefusedAsync(code, () => call().ResponseAsync);

    public static Selector Quote(string exact, string prefix = "", string suffix = "") =>
        new() { Quote = new TextQuote { Exact = exact, Prefix = prefix, Suffix = suffix } };

    public static Selector At(int start, int end) => new() { Position = new TextPosition { Start = (uint)start, End = (uint)end } };

    /// <summary>Code-point offset of <paramref name="part"/> in <paramref name="text"/> (what the contract counts).</summary>
    public static int CodePoint(string text, string part, int occurrence = 1)
    {
        var at = -1;
        for (var i = 0; i < occurrence; i++)
        {
            at = text.IndexOf(part, at + 1, StringComparison.Ordinal);
            Assert.True(at >= 0, $"\"{part}\" does not occur {occurrence} times");
        }
        return CountCodePoints(text[..at]);
    }

    public static int CountCodePoints(string s)
    {
        var n = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
            n++;
        }
        return n;
    }

    /// <summary>Reads a stream's messages until <paramref name="until"/> holds for the list read so far, or fails after a
    /// deadline.</summary>
    public static async Task<List<T>> ReadUntilAsync<T>(IAsyncStreamReader<T> reader, Func<List<T>, bool> until, int seconds = 30)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var seen = new List<T>();
        try
        {
            while (!until(seen))
            {
                if (!await reader.MoveNext(cts.Token))
                    Assert.Fail($"The stream ended after {seen.Count} messages before the expected one arrived.");
                seen.Add(reader.Current);
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail(
                $"The expected message did not arrive within {seconds} s; {seen.Count} messages arrived:\n{string.Join("\n", seen)}");
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Cancelled or StatusCode.DeadlineExceeded)
        {
            Assert.Fail($"The expected message did not arrive within {seconds} s ({e.StatusCode}); {seen.Count} messages " +
                $"arrived:\n{string.Join("\n", seen)}");
        }
        return seen;
    }

    /// <summary>Call options for a long-lived stream: the token and a cancellation the test controls, no deadline.</summary>
    public static CallOptions Streaming(CallOptions who, CancellationToken ct) => new(who.Headers, null, ct);
}
