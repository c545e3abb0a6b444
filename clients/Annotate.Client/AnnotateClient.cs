using System.Runtime.CompilerServices;
using Annotate.Contracts;
using Annotate.Contracts.V1;
using Annotate.Grpc;
using Google.Protobuf;

namespace Annotate.Client;

/// <summary>Where and how an <see cref="AnnotateClient"/> talks to the server.</summary>
public sealed record AnnotateClientOptions
{
    /// <summary>The server's default address (the server listens there unless told otherwise).</summary>
    public const string DefaultAddress = "http://127.0.0.1:50051";

    public string Address { get; init; } = DefaultAddress;

    /// <summary>Bearer token sent as <c>authorization: Bearer ...</c>; null sends none.</summary>
    public string? Token { get; init; }

    /// <summary>Deadline of each unary attempt.</summary>
    public TimeSpan UnaryDeadline { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries of unary calls on UNAVAILABLE; also the backoff between reopenings of a dropped subscription.</summary>
    public RetryPolicy Retry { get; init; } = RetryPolicy.Default;

    /// <summary>Told before each retry of a unary call (e.g. to say "server unavailable, retrying").</summary>
    public Action<RetryNotice>? OnRetry { get; init; }

    /// <summary>Backoff of subscriptions (reopened without limit by default: a live feed waits for its server).</summary>
    public RetryPolicy StreamRetry { get; init; } = RetryPolicy.Default with { MaxAttempts = int.MaxValue };
}

/// <summary>
/// Typed client of the Annotate API: one method per RPC, answering the response message as the server sent it.
/// Every unary call is retried on UNAVAILABLE (<see cref="AnnotateClientOptions.Retry"/>): commands keep their request
/// id across attempts (an empty one is filled with <see cref="NewRequestId"/> first, and left in the request so the
/// caller can see it), so the server performs the action once; queries are naturally repeatable.
/// Thread-safe; one instance per server is enough.
/// </summary>
public sealed class AnnotateClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly Metadata _headers = new();

    public AnnotateClient(AnnotateClientOptions? options = null)
    {
        Options = options ?? new AnnotateClientOptions();
        _channel = GrpcChannel.ForAddress(Options.Address);
        if (!string.IsNullOrEmpty(Options.Token)) _headers.Add("authorization", "Bearer " + Options.Token);
    }

    public AnnotateClient(string address, string? token = null)
        : this(new AnnotateClientOptions { Address = address, Token = token })
    {
    }

    public AnnotateClientOptions Options { get; }

    /// <summary>A fresh request id for one intended action (a UUID).</summary>
    public static string NewRequestId() => Guid.NewGuid().ToString();

    // Articles
    public Task<ImportArticleResponse> ImportArticleAsync(ImportArticleRequest request, CancellationToken ct = default) => CommandAsync(AnnotateApi.Articles.ImportArticle, request, ct);
    public Task<ListArticlesResponse> ListArticlesAsync(ListArticlesRequest request, CancellationToken ct = default) => QueryAsync(AnnotateApi.Articles.ListArticles, request, ct);
    public Task<Article> GetArticleAsync(GetArticleRequest request, CancellationToken ct = default) => QueryAsync(AnnotateApi.Articles.GetArticle, request, ct);

    // Annotations
    public Task<CreateHighlightResponse> CreateHighlightAsync(CreateHighlightRequest request, CancellationToken ct = default) => CommandAsync(AnnotateApi.Annotations.CreateHighlight, request, ct);
    public Task<CommandResult> ApplyTagAsync(ApplyTagRequest request, CancellationToken ct = default) => CommandAsync(AnnotateApi.Annotations.ApplyTag, request, ct);
    public Task<CommandResult> RemoveTagAsync(RemoveTagRequest request, CancellationToken ct = default) => CommandAsync(AnnotateApi.Annotations.RemoveTag, request, ct);
    public Task<CommandResult> RetractHighlightAsync(RetractHighlightRequest request, CancellationToken ct = default) => CommandAsync(AnnotateApi.Annotations.RetractHighlight, request, ct);
    public Task<ListHighlightsResponse> ListHighlightsAsync(ListHighlightsRequest request, CancellationToken ct = default) => QueryAsync(AnnotateApi.Annotations.ListHighlights, request, ct);

    // Claims
    public Task<OpenClaimResponse> OpenClaimAsync(OpenClaimRequest request, CancellationToken ct = default) => CommandAsync(AnnotateApi.Claims.OpenClaim, request, ct);
    public Task<CommandResult> TakeStanceAsync(TakeStanceRequest request, CancellationToken ct = default) => CommandAsync(AnnotateApi.Claims.TakeStance, request, ct);
    public Task<CommandResult> WithdrawStanceAsync(WithdrawStanceRequest request, CancellationToken ct = default) => CommandAsync(AnnotateApi.Claims.WithdrawStance, request, ct);
    public Task<CommandResult> AdjudicateAsync(AdjudicateRequest request, CancellationToken ct = default) => CommandAsync(AnnotateApi.Claims.Adjudicate, request, ct);
    public Task<CommandResult> ReopenClaimAsync(ReopenClaimRequest request, CancellationToken ct = default) => CommandAsync(AnnotateApi.Claims.ReopenClaim, request, ct);

    // Consensus
    public Task<ClaimView> GetClaimViewAsync(GetClaimViewRequest request, CancellationToken ct = default) => QueryAsync(AnnotateApi.Consensus.GetClaimView, request, ct);
    public Task<ListClaimsResponse> ListClaimsAsync(ListClaimsRequest request, CancellationToken ct = default) => QueryAsync(AnnotateApi.Consensus.ListClaims, request, ct);
    public Task<ArticleAgreement> GetArticleAgreementAsync(GetArticleAgreementRequest request, CancellationToken ct = default) => QueryAsync(AnnotateApi.Consensus.GetArticleAgreement, request, ct);

    // Admin
    public Task<Analyst> CreateAnalystAsync(CreateAnalystRequest request, CancellationToken ct = default) => CommandAsync(AnnotateApi.Admin.CreateAnalyst, request, ct);
    public Task<ListAnalystsResponse> ListAnalystsAsync(ListAnalystsRequest request, CancellationToken ct = default) => QueryAsync(AnnotateApi.Admin.ListAnalysts, request, ct);
    public Task<Analyst> SetRolesAsync(SetRolesRequest request, CancellationToken ct = default) => CommandAsync(AnnotateApi.Admin.SetRoles, request, ct);
    public Task<IssueTokenResponse> IssueTokenAsync(IssueTokenRequest request, CancellationToken ct = default) => CommandAsync(AnnotateApi.Admin.IssueToken, request, ct);
    public Task<ListTokensResponse> ListTokensAsync(ListTokensRequest request, CancellationToken ct = default) => QueryAsync(AnnotateApi.Admin.ListTokens, request, ct);
    public Task<CommandResult> RevokeTokenAsync(RevokeTokenRequest request, CancellationToken ct = default) => CommandAsync(AnnotateApi.Admin.RevokeToken, request, ct);
    public Task<Analyst> WhoAmIAsync(CancellationToken ct = default) => QueryAsync(AnnotateApi.Admin.WhoAmI, new WhoAmIRequest(), ct);

    // Streams

    /// <summary>
    /// History.Subscribe from <paramref name="afterPosition"/>: the catch-up, a caught-up marker, then live events,
    /// until <paramref name="ct"/> is cancelled. After a dropped connection it resubscribes after the last position
    /// delivered: every event once, in order, none missing (another caught-up marker follows each resubscription).
    /// </summary>
    public IAsyncEnumerable<SubscribeResponse> SubscribeAsync(ulong afterPosition = 0, EventFilter? filter = null, CancellationToken ct = default) =>
        ResumableStream.ReadAsync(
            (after, token) => StreamAsync(AnnotateApi.History.Subscribe, new SubscribeRequest { AfterPosition = after, Filter = filter?.Clone() }, token),
            new EventCursor(afterPosition), Options.StreamRetry, Task.Delay, ct);

    /// <summary>
    /// Consensus.WatchArticle: the current views, a caught-up marker, then each view again when it changes. After a
    /// dropped connection it watches again and passes only views newer than the last delivered for their claim.
    /// </summary>
    public IAsyncEnumerable<WatchArticleResponse> WatchArticleAsync(string articleId, CancellationToken ct = default) =>
        ResumableStream.ReadAsync(
            (_, token) => StreamAsync(AnnotateApi.Consensus.WatchArticle, new WatchArticleRequest { ArticleId = articleId }, token),
            new ViewCursor(), Options.StreamRetry, Task.Delay, ct);

    /// <summary>History.Replay: a finite range of events (no resumption: rerun from the last position seen).</summary>
    public IAsyncEnumerable<HistoryEvent> ReplayAsync(ReplayRequest request, CancellationToken ct = default) =>
        StreamAsync(AnnotateApi.History.Replay, request, ct);

    /// <summary>History.VerifyAudit: progress messages, then the result.</summary>
    public IAsyncEnumerable<VerifyAuditResponse> VerifyAuditAsync(VerifyAuditRequest request, CancellationToken ct = default) =>
        StreamAsync(AnnotateApi.History.VerifyAudit, request, ct);

    private async IAsyncEnumerable<TResponse> StreamAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request,
        [EnumeratorCancellation] CancellationToken ct)
        where TRequest : class, IMessage<TRequest>, new() where TResponse : class, IMessage<TResponse>, new()
    {
        using var call = _channel.ServerStreaming(method, request, new CallOptions(_headers, null, ct));
        while (await call.ResponseStream.MoveNext(ct).ConfigureAwait(false))
            yield return call.ResponseStream.Current;
    }

    private Task<TResponse> QueryAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CancellationToken ct)
        where TRequest : class, IMessage<TRequest>, new() where TResponse : class, IMessage<TResponse>, new() =>
        Options.Retry.ExecuteAsync(
            (_, token) => _channel.UnaryAsync(method, request, new CallOptions(_headers, DateTime.UtcNow + Options.UnaryDeadline, token)),
            Task.Delay, Random.Shared.NextDouble, ct, Options.OnRetry);

    private Task<TResponse> CommandAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CancellationToken ct)
        where TRequest : class, IMessage<TRequest>, new() where TResponse : class, IMessage<TResponse>, new()
    {
        EnsureRequestId(request);
        return QueryAsync(method, request, ct);
    }

    /// <summary>Fills an empty <c>request_id</c> once, before the first attempt, so every attempt sends the same one.</summary>
    internal static void EnsureRequestId(IMessage request)
    {
        var field = request.Descriptor.FindFieldByName("request_id")
            ?? throw new InvalidOperationException($"{request.Descriptor.FullName} is not a command: it has no request_id.");
        if (field.Accessor.GetValue(request) is string { Length: > 0 }) return;
        field.Accessor.SetValue(request, NewRequestId());
    }

    public void Dispose() => _channel.Dispose();
}
