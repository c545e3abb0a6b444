using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Annotate.Server.Transport;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Annotate.Server.Infrastructure;

/// <summary>
/// Bearer tokens. A token reads "&lt;token id&gt;.&lt;secret&gt;"; the store keeps only the SHA-256 of the secret.
/// Tokens are checked against the access views, which all replicas share, and kept in-process with the version of the
/// analyst's access stream (<c>analyst-&lt;id&gt;</c>: registration, roles, tokens issued and revoked) they were read at.
/// What holds, on every replica, once a revoking call has returned (its event committed):
/// <list type="bullet">
/// <item>A command (a call with a request id) never appends with that token: the writer checks the access stream's
/// version under the global-order lock, in the command's own transaction (<see cref="Caller.Guard"/>); when it has
/// moved, the token is read again and a revoked one is answered UNAUTHENTICATED with nothing appended. (A command refused
/// before it reaches the writer, e.g. for an unknown id, may still get that refusal until this replica's copy is
/// dropped, within a second: <see cref="KeptTokensFeed"/>.)</item>
/// <item>Any other call reads the access stream's version (one index lookup) and the token again when it moved, so it
/// is refused at once.</item>
/// </list>
/// Kept copies are dropped when this replica answers a change of the analyst's access, and within a second of one
/// answered by another replica (<see cref="KeptTokensFeed"/>).
/// </summary>
public sealed class Authentication(IServiceProvider services, TimeProvider clock)
{
    /// <summary>Tokens kept at most; past it the copies are dropped and read again as calls come.</summary>
    public const int MaxKept = 10_000;

    // Resolved on first use: authentication is composed before the database is up.
    private readonly Lazy<Views> _views = new(services.GetRequiredService<Views>);
    private readonly ConcurrentDictionary<string, Kept> _kept = new(StringComparer.Ordinal);

    /// <summary>A token record and the version of its analyst's access stream it was read at (or before), with what each call
    /// of that token gets made once: the SHA-256 its secret must have (null when the stored hash is not of that form) and the
    /// caller.</summary>
    private sealed record Kept(TokenRecord Token, long AccessVersion)
    {
        public byte[]? SecretDigest { get; } = DigestOf(Token.SecretHash);

        public Caller Caller { get; } = Caller.Of(Token.AnalystId, Token.Roles) with
        {
            TokenId = Token.TokenId,
            Guard = new StreamGuard(Streams.Analyst(Token.AnalystId), AccessVersion),
        };
    }

    private const string HashPrefix = "sha256:";

    /// <summary>The digest a stored secret hash (<see cref="HashSecret"/>) names, or null.</summary>
    private static byte[]? DigestOf(string secretHash)
    {
        if (!secretHash.StartsWith(HashPrefix, StringComparison.Ordinal) || secretHash.Length != HashPrefix.Length + 64) return null;
        try
        {
            return Convert.FromHexString(secretHash.AsSpan(HashPrefix.Length));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Whether <paramref name="secret"/> hashes to the kept digest, in constant time (no hex string per call).</summary>
    private static bool Matches(Kept kept, ReadOnlySpan<char> secret)
    {
        if (kept.SecretDigest is not { } expected) return false;
        var length = Encoding.UTF8.GetByteCount(secret);
        var bytes = length <= 256 ? stackalloc byte[length] : new byte[length];
        Encoding.UTF8.GetBytes(secret, bytes);
        Span<byte> actual = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, actual);
        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }

    /// <summary>The paths of the calls that are commands (their request carries a request id): checked by the writer.</summary>
    private static readonly FrozenSet<string> CommandPaths = GrpcTransport.ContractServices
        .SelectMany(s => s.Methods.Where(m => m.InputType.FindFieldByName("request_id") is not null).Select(m => $"/{s.FullName}/{m.Name}"))
        .ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Whether the call at <paramref name="path"/> is a command, whose token the writer checks with its append.</summary>
    public static bool IsCommand(string? path) => path is not null && CommandPaths.Contains(path);

    public async Task<Caller?> AuthenticateAsync(string token, bool command, CancellationToken ct)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == token.Length - 1) return null;
        var tokenId = token[..dot];
        var kept = _kept.GetValueOrDefault(tokenId);
        if (kept is not null && !command
            && await _views.Value.Store.GetStreamVersionAsync(Streams.Analyst(kept.Token.AnalystId), ct) != kept.AccessVersion)
        {
            kept = null;
        }
        kept ??= await ReadAsync(tokenId, ct);
        if (kept is not { Token: var t } || t.Revoked) return null;
        if (t.ExpiresAt is { } expiry && expiry <= clock.GetUtcNow()) return null;
        return Matches(kept, token.AsSpan(dot + 1)) ? kept.Caller : null;
    }

    /// <summary>
    /// The caller of a command whose access stream moved since its token was checked: the token read again. Refused
    /// (UNAUTHENTICATED) when it is no longer valid, ABORTED when the analyst's roles changed (the call is authorized
    /// again when retried).
    /// </summary>
    public async Task<Caller> RecheckAsync(Caller caller, CancellationToken ct)
    {
        if (caller.TokenId is not { } tokenId) throw new InvalidOperationException("The server's own actor has no token to check.");
        _kept.TryRemove(tokenId, out _);
        var kept = await ReadAsync(tokenId, ct);
        if (kept is not { Token: var t } || t.Revoked || (t.ExpiresAt is { } expiry && expiry <= clock.GetUtcNow()))
            throw new DomainException(DomainError.Unauthenticated(BearerAuthenticationHandler.InvalidToken));
        var now = Caller.Of(t.AnalystId, t.Roles);
        if (!now.Roles.SetEquals(caller.Roles))
            throw new DomainException(DomainError.Conflict("The caller's roles changed while the call ran; send it again."));
        return caller with { Guard = new StreamGuard(Streams.Analyst(t.AnalystId), kept.AccessVersion) };
    }

    /// <summary>Drops the kept tokens of an analyst (an event of its access stream was committed somewhere).</summary>
    public void Forget(string analystId)
    {
        foreach (var (id, kept) in _kept)
        {
            if (kept.Token.AnalystId == analystId) _kept.TryRemove(id, out _);
        }
    }

    /// <summary>Drops every kept token (the live feed that keeps them fresh was interrupted).</summary>
    public void ForgetAll() => _kept.Clear();

    /// <summary>
    /// A token read from the views with the version of its analyst's access stream read BEFORE the token and roles, so
    /// the record is at least as new as that version: a guard at that version can only be stricter than the record.
    /// </summary>
    private async Task<Kept?> ReadAsync(string tokenId, CancellationToken ct)
    {
        var views = _views.Value;
        var first = await views.GetTokenAsync(tokenId, ct);
        if (first is null) return null;
        var version = await views.Store.GetStreamVersionAsync(Streams.Analyst(first.AnalystId), ct);
        var token = await views.GetTokenAsync(tokenId, ct);
        if (token is null) return null;
        var kept = new Kept(token, version);
        if (_kept.Count >= MaxKept) _kept.Clear();
        _kept[tokenId] = kept;
        return kept;
    }

    /// <summary>What the store keeps of a secret.</summary>
    public static string HashSecret(string secret) =>
        HashPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

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
            caller = await tokens.AuthenticateAsync(header["Bearer ".Length..].Trim(),
                Authentication.IsCommand(Context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.FullName),
                Context.RequestAborted);
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
        if (caller is null) return AuthenticateResult.Fail(InvalidToken);
        Context.Features.Set(new AuthenticatedCaller(caller)); // read by UseCallerContext instead of parsing the principal again
        return AuthenticateResult.Success(new AuthenticationTicket(Principals.GetValue(caller, ToPrincipal), SchemeName));
    }

    /// <summary>The principal of each caller a kept token stands for (<see cref="Authentication"/> hands out one caller per kept
    /// token), made on its first call: nothing in the pipeline changes a principal, it builds new ones.</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Caller, ClaimsPrincipal> Principals = [];

    [LoggerMessage(1, LogLevel.Error, "Fault while checking a bearer token")]
    private static partial void LogFault(ILogger logger, Exception exception);

    public static string RoleName(Role role) => role.ToString().ToLowerInvariant();

    /// <summary>Claim types of the token id and of the access stream version it was checked at.</summary>
    private const string TokenClaim = "annotate:token";
    private const string AccessVersionClaim = "annotate:access-version";

    public static ClaimsPrincipal ToPrincipal(Caller caller)
    {
        var identity = new ClaimsIdentity(SchemeName, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(ClaimTypes.Name, caller.AnalystId));
        foreach (var role in caller.Roles) identity.AddClaim(new Claim(ClaimTypes.Role, RoleName(role)));
        if (caller.TokenId is { } tokenId) identity.AddClaim(new Claim(TokenClaim, tokenId));
        if (caller.Guard is { } guard)
            identity.AddClaim(new Claim(AccessVersionClaim, guard.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return new ClaimsPrincipal(identity);
    }

    /// <summary>The caller an authenticated principal of this scheme stands for.</summary>
    public static Caller ToCaller(ClaimsPrincipal principal)
    {
        var caller = Caller.Of(
            principal.Identity?.Name ?? throw new InvalidOperationException("The principal has no name."),
            principal.FindAll(ClaimTypes.Role).Select(c => Enum.Parse<Role>(c.Value, ignoreCase: true)));
        return principal.FindFirst(AccessVersionClaim)?.Value is { } version
            ? caller with
            {
                TokenId = principal.FindFirst(TokenClaim)?.Value,
                Guard = new StreamGuard(
                    Streams.Analyst(caller.AnalystId),
                    long.Parse(version, System.Globalization.CultureInfo.InvariantCulture)),
            }
            : caller;
    }
}

/// <summary>The caller this request's bearer token was checked as (a request feature set by the handler).</summary>
public sealed record AuthenticatedCaller(Caller Caller);

/// <summary>A token as authentication needs it, with its analyst's roles.</summary>
public sealed record TokenRecord(
    string TokenId,
    string AnalystId,
    string SecretHash,
    DateTimeOffset? ExpiresAt,
    bool Revoked,
    IReadOnlyList<Role> Roles);

/// <summary>
/// Keeps <see cref="Authentication"/>'s copies of tokens fresh: once every <see cref="Interval"/> it reads the events of
/// access streams committed since the last look (on any replica) and drops those analysts' copies. A poll rather than a
/// live subscription: a subscriber keeps the live hub reading the log on this process's own commits, a cost per batch,
/// while this is a few short reads a second whatever the load. Nothing depends on it for safety (the writer's guard
/// and the version check of reads do not); it bounds how long a copy can answer what comes before them.
/// </summary>
public sealed partial class KeptTokensFeed(MartenEventStore store, Authentication authentication, ILogger<KeptTokensFeed> logger)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private static readonly EventFilter AccessStreams = new(StreamPrefix: "analyst-");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long? seen = null;
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                // Every position up to the head is committed or rolled back for good (global order): reading to it leaves
                // nothing behind for the next look.
                var head = await store.GetHeadPositionAsync(stoppingToken);
                if (seen is null)
                {
                    authentication.ForgetAll(); // first look (or after a failure): nothing older is kept
                }
                else if (head > seen)
                {
                    await foreach (var e in store.ReadAllAsync(
                        seen.Value, AccessStreams, toPositionInclusive: head, cancellationToken: stoppingToken))
                    {
                        authentication.Forget(e.StreamId["analyst-".Length..]);
                    }
                }
                seen = head;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                seen = null;
                authentication.ForgetAll();
                LogFeedBroken(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(2, LogLevel.Warning, "Could not read the access events that keep cached tokens fresh; cached tokens were dropped")]
    private static partial void LogFeedBroken(ILogger logger, Exception exception);
}
