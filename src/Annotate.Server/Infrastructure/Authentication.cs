using System.Security.Cryptography;
using System.Text;
using Annotate.Contracts;
using Annotate.Domain.Events;
using Annotate.Grpc;

namespace Annotate.Server.Infrastructure;

/// <summary>
/// Bearer tokens. A token reads "&lt;token id&gt;.&lt;secret&gt;"; the store keeps only the SHA-256 of the
/// secret. Every call of the annotate services is authenticated against the access view, which all replicas
/// share, so a revocation holds everywhere as soon as the revoking call has returned. An authenticated caller
/// is then authorized against <see cref="AccessRules"/>.
/// </summary>
public sealed class Authentication(IServiceProvider services, TimeProvider clock) : IServerCallFilter
{
    // Resolved on first use: the transport builds its filters when the routes are mapped, before the database is up.
    private readonly Lazy<Views> _views = new(services.GetRequiredService<Views>);

    private static readonly HashSet<string> Protected = AnnotateApi.Services.Select(s => s.FullName).ToHashSet(StringComparer.Ordinal);

    public async ValueTask OnCallAsync(ServerCallContext context)
    {
        if (!Protected.Contains(context.Method.ServiceName)) return; // health and reflection stay open
        var header = context.RequestHeaders.GetValue("authorization");
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            throw new RpcException(StatusCode.Unauthenticated, "No token: send the metadata 'authorization: Bearer <token>'.");
        }
        Caller? found;
        try
        {
            found = await AuthenticateAsync(header["Bearer ".Length..].Trim(), context.CancellationToken);
        }
        catch (Exception e) when (ErrorMapping.ToRpcException(e) is { } status)
        {
            throw status; // the database unreachable: UNAVAILABLE, not a fault
        }
        var caller = found ?? throw new RpcException(StatusCode.Unauthenticated, "The token is not valid (unknown, revoked or expired); ask an admin for a new one.");
        if (!AccessRules.Allows(context.Method.FullName, caller))
        {
            throw new RpcException(StatusCode.PermissionDenied, AccessRules.Refusal(context.Method.FullName, caller));
        }
        context.Services.GetRequiredService<CallerContext>().Caller = caller;
    }

    public async Task<Caller?> AuthenticateAsync(string token, CancellationToken ct)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == token.Length - 1 || token.Any(c => c is <= ' ' or > '~')) return null; // tokens are printable ASCII
        var (tokenId, secret) = (token[..dot], token[(dot + 1)..]);
        var found = await _views.Value.GetTokenAsync(tokenId, ct);
        if (found is not { } t || t.Revoked) return null;
        if (t.ExpiresAt is { } expiry && expiry <= clock.GetUtcNow()) return null;
        var expected = Encoding.ASCII.GetBytes(t.SecretHash);
        var actual = Encoding.ASCII.GetBytes(HashSecret(secret));
        if (!CryptographicOperations.FixedTimeEquals(expected, actual)) return null;
        return Caller.Of(t.AnalystId, t.Roles);
    }

    /// <summary>What the store keeps of a secret.</summary>
    public static string HashSecret(string secret) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>A new token id and secret (the secret has 256 bits of entropy).</summary>
    public static (string TokenId, string Secret) NewToken() =>
        ("tok" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)), Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_'));
}

/// <summary>A token as authentication needs it, with its analyst's roles.</summary>
public sealed record TokenRecord(string TokenId, string AnalystId, string SecretHash, DateTimeOffset? ExpiresAt, bool Revoked, IReadOnlyList<Role> Roles);
