using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Annotate.Domain.Events;
using Annotate.Server.Transport;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Annotate.Server.Infrastructure;

/// <summary>
/// Bearer tokens. A token reads "&lt;token id&gt;.&lt;secret&gt;"; the store keeps only the SHA-256 of the
/// secret. Every call of the annotate services is checked against the access view, which all replicas share,
/// so a revocation holds everywhere as soon as the revoking call has returned (no token is cached).
/// </summary>
public sealed class Authentication(IServiceProvider services, TimeProvider clock)
{
    // Resolved on first use: authentication is composed before the database is up.
    private readonly Lazy<Views> _views = new(services.GetRequiredService<Views>);

    public async Task<Caller?> AuthenticateAsync(string token, CancellationToken ct)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == token.Length - 1) return null;
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
        (
            "tok" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)),
            Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_'));
}

/// <summary>
/// The ASP.NET Core authentication scheme "Bearer" over <see cref="Authentication"/>: the analyst becomes the
/// principal's name and each role a role claim (lower case, as the contract spells them). Only endpoints with
/// an access rule are authenticated, so health and reflection never touch the database.
/// Refusals reach the client as gRPC statuses (<see cref="GrpcAuthorizationResults"/>), with the messages below.
/// </summary>
public sealed partial class BearerAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    Authentication tokens
) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";
    public const string NoToken = "No token: send 'authorization: Bearer <token>' (annotate login stores one).";
    public const string InvalidToken = "The token is not valid (unknown, revoked or expired); ask an admin for a new one.";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // Only endpoints with an access rule carry [Authorize]: health and reflection never cost a token lookup.
        if (Context.GetEndpoint()?.Metadata.GetMetadata<IAuthorizeData>() is null) return AuthenticateResult.NoResult();
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return AuthenticateResult.NoResult();
        Caller? caller;
        try
        {
            caller = await tokens.AuthenticateAsync(header["Bearer ".Length..].Trim(), Context.RequestAborted);
        }
        catch (Exception e) when (ErrorMapping.ToRpcException(e) is { } status)
        {
            return AuthenticateResult.Fail(status); // e.g. UNAVAILABLE while the database is unreachable
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFault(Logger, e);
            return AuthenticateResult.Fail(new RpcException(new Status(StatusCode.Internal, ErrorInterceptor.FaultMessage)));
        }
        return caller is null
            ? AuthenticateResult.Fail(InvalidToken)
            : AuthenticateResult.Success(new AuthenticationTicket(ToPrincipal(caller), SchemeName));
    }

    [LoggerMessage(1, LogLevel.Error, "Fault while checking a bearer token")]
    private static partial void LogFault(ILogger logger, Exception exception);

    public static string RoleName(Role role) => role.ToString().ToLowerInvariant();

    public static ClaimsPrincipal ToPrincipal(Caller caller)
    {
        var identity = new ClaimsIdentity(SchemeName, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(ClaimTypes.Name, caller.AnalystId));
        foreach (var role in caller.Roles) identity.AddClaim(new Claim(ClaimTypes.Role, RoleName(role)));
        return new ClaimsPrincipal(identity);
    }

    /// <summary>The caller an authenticated principal of this scheme stands for.</summary>
    public static Caller ToCaller(ClaimsPrincipal principal) => Caller.Of(
        principal.Identity?.Name ?? throw new InvalidOperationException("The principal has no name."),
        principal.FindAll(ClaimTypes.Role).Select(c => Enum.Parse<Role>(c.Value, ignoreCase: true)));
}

/// <summary>A token as authentication needs it, with its analyst's roles.</summary>
public sealed record TokenRecord(
    string TokenId,
    string AnalystId,
    string SecretHash,
    DateTimeOffset? ExpiresAt,
    bool Revoked,
    IReadOnlyList<Role> Roles);
