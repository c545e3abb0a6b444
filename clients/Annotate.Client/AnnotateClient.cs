using System.Net;
using System.Runtime.CompilerServices;
using Annotate.Contracts.V1;
using Google.Protobuf;
using Grpc.Net.Client;

namespace Annotate.Client;

/// <summary>Where and how an <see cref="AnnotateClient"/> talks to the server.</summary>
public sealed record AnnotateClientOptions
{
    /// <summary>The server's default address (the server listens there unless told otherwise).</summary>
    public const string DefaultAddress = "http://127.0.0.1:50051";

    /// <summary>"http://host:port" (HTTP/2 without TLS) or "https://host:port" (TLS, checked against the system's trust).</summary>
    public string Address { get; init; } = DefaultAddress;

    /// <summary>Bearer token sent as <c>authorization: Bearer ...</c> on every call; null sends none.</summary>
    public string? Token { get; init; }

    /// <summary>Deadline of each unary attempt (a retry gets a fresh one).</summary>
    public TimeSpan UnaryDeadline { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries of unary calls on UNAVAILABLE; also the backoff between reopenings of a dropped subscription.</summary>
    public RetryPolicy Retry { get; init; } = RetryPolicy.Default;

    /// <summary>Told before each retry of a unary call (e.g. to say "server unavailable, retrying").</summary>
    public Action<RetryNotice>? OnRetry { get; init; }

    /// <summary>Backoff of subscriptions (reopened without limit by default: a live feed waits for its server).</summary>
    public RetryPolicy StreamRetry { get; init; } = RetryPolicy.Default with { MaxAttempts = int.MaxValue };
}

/// <summary>
/// Typed client of the Annotate API over Grpc.Net.Client and the client stubs generated from protos/annotate/v1: one
/// method per RPC, answering the response message as the server sent it. Failures surface as
/// <see cref="RpcException"/> with the server's status.
/// <para>
/// Every unary call is retried on UNAVAILABLE by <see cref="RetryPolicy"/> (see there why not by the channel's retry
/// policy): commands keep their request id across attempts (an empty one is filled with <see cref="NewRequestId"/>
/// before the first, and left in the request so the caller can see it), so the server performs the action once;
/// queries are naturally repeatable. Server streams are not retried, except Subscribe and WatchArticle, which resume
/// after the last position delivered (<see cref="ResumableStream"/>).
/// </para>
/// Thread-safe; one instance per server and token is enough (it holds one HTTP/2 connection pool).
/// </summary>
public sealed class AnnotateClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly Articles.ArticlesClient _articles;
    private readonly Annotations.AnnotationsClient _annotations;
    private readonly Claims.ClaimsClient _claims;
    private readonly Consensus.ConsensusClient _consensus;
    private readonly Discussion.DiscussionClient _discussion;
    private readonly Search.SearchClient _search;
    private readonly History.HistoryClient _history;
    private readonly Admin.AdminClient _admin;
    private readonly Audit.AuditClient _audit;

    public AnnotateClient(AnnotateClientOptions? options = null)
    {
        Options = options ?? new AnnotateClientOptions();
        _channel = CreateChannel(Options);
        _articles = new Articles.ArticlesClient(_channel);
        _annotations = new Annotations.AnnotationsClient(_channel);
        _claims = new Claims.ClaimsClient(_channel);
        _consensus = new Consensus.ConsensusClient(_channel);
        _discussion = new Discussion.DiscussionClient(_channel);
        _search = new Search.SearchClient(_channel);
        _history = new History.HistoryClient(_channel);
        _admin = new Admin.AdminClient(_channel);
        _audit = new Audit.AuditClient(_channel);
    }

    public AnnotateClient(string address, string? token = null)
        : this(new AnnotateClientOptions { Address = address, Token = token })
    {
    }

    public AnnotateClientOptions Options { get; }

    /// <summary>The largest message the client accepts from the server: 8 MiB, as the server's limit.</summary>
    public const int MaxMessageSize = 8 * 1024 * 1024;

    /// <summary>A fresh request id for one intended action (a UUID).</summary>
    public static string NewRequestId() => Guid.NewGuid().ToString();

    /// <summary>
    /// The channel: one SocketsHttpHandler (several HTTP/2 connections once one's stream limit is reached; keep-alive
    /// pings so a live stream notices a dead peer), the token as call credentials. The channel has no retry policy of
    /// its own: retries are <see cref="RetryPolicy"/>'s.
    /// </summary>
    private static GrpcChannel CreateChannel(AnnotateClientOptions options)
    {
        if (!Uri.TryCreate(options.Address, UriKind.Absolute, out var address)
            || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"The server address must be http:// or https://, not {options.Address}.", nameof(options));
        }

        var channelOptions = new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                KeepAlivePingDelay = TimeSpan.FromSeconds(60),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
            },
            DisposeHttpClient = true,
            // An article may hold 2,000,000 characters (up to 8 MB of UTF-8); Grpc.Net.Client's default of 4 MB per
            // received message would refuse reading it back.
            MaxReceiveMessageSize = MaxMessageSize,
        };
        if (!string.IsNullOrEmpty(options.Token))
        {
            var bearer = "Bearer " + options.Token;
            var token = CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", bearer);
                return Task.CompletedTask;
            });
            var tls = address.Scheme == Uri.UriSchemeHttps;
            channelOptions.Credentials = ChannelCredentials.Create(tls ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, token);
            // The server's default endpoint is cleartext HTTP/2 on loopback; a token must still reach it there.
            channelOptions.UnsafeUseInsecureChannelCallCredentials = !tls;
        }
        return GrpcChannel.ForAddress(address, channelOptions);
    }

    // Articles
    public Task<ImportArticleResponse> ImportArticleAsync(ImportArticleRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _articles.ImportArticleAsync, ct);

    public Task<ListArticlesResponse> ListArticlesAsync(ListArticlesRequest request, CancellationToken ct = default) =>
        QueryAsync(request, _articles.ListArticlesAsync, ct);

    public Task<Article> GetArticleAsync(GetArticleRequest request, CancellationToken ct = default) =>
        QueryAsync(request, _articles.GetArticleAsync, ct);

    public Task<ReviseArticleResponse> ReviseArticleAsync(ReviseArticleRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _articles.ReviseArticleAsync, ct);

    // Annotations
    public Task<CreateHighlightResponse> CreateHighlightAsync(CreateHighlightRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _annotations.CreateHighlightAsync, ct);

    public Task<CommandResult> ApplyTagAsync(ApplyTagRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _annotations.ApplyTagAsync, ct);

    public Task<CommandResult> RemoveTagAsync(RemoveTagRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _annotations.RemoveTagAsync, ct);

    public Task<CommandResult> RetractHighlightAsync(RetractHighlightRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _annotations.RetractHighlightAsync, ct);

    public Task<ReattachSpanResponse> ReattachSpanAsync(ReattachSpanRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _annotations.ReattachSpanAsync, ct);

    public Task<ListHighlightsResponse> ListHighlightsAsync(ListHighlightsRequest request, CancellationToken ct = default) =>
        QueryAsync(request, _annotations.ListHighlightsAsync, ct);

    // Claims
    public Task<OpenClaimResponse> OpenClaimAsync(OpenClaimRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _claims.OpenClaimAsync, ct);

    public Task<CommandResult> TakeStanceAsync(TakeStanceRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _claims.TakeStanceAsync, ct);

    public Task<CommandResult> WithdrawStanceAsync(WithdrawStanceRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _claims.WithdrawStanceAsync, ct);

    public Task<CommandResult> AdjudicateAsync(AdjudicateRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _claims.AdjudicateAsync, ct);

    public Task<CommandResult> ReopenClaimAsync(ReopenClaimRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _claims.ReopenClaimAsync, ct);

    // Consensus
    public Task<CommandResult> MakeBlindAsync(MakeBlindRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _claims.MakeBlindAsync, ct);

    public Task<CommandResult> RevealClaimAsync(RevealClaimRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _claims.RevealClaimAsync, ct);

    // Search
    public Task<SearchResponse> SearchAsync(SearchRequest request, CancellationToken ct = default) =>
        QueryAsync(request, _search.SearchAsync, ct);

    // Discussion
    public Task<PostReplyResponse> PostReplyAsync(PostReplyRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _discussion.PostReplyAsync, ct);

    public Task<CommandResult> EditReplyAsync(EditReplyRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _discussion.EditReplyAsync, ct);

    public Task<CommandResult> RetractReplyAsync(RetractReplyRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _discussion.RetractReplyAsync, ct);

    public Task<ListThreadResponse> ListThreadAsync(ListThreadRequest request, CancellationToken ct = default) =>
        QueryAsync(request, _discussion.ListThreadAsync, ct);

    public Task<ClaimView> GetClaimViewAsync(GetClaimViewRequest request, CancellationToken ct = default) =>
        QueryAsync(request, _consensus.GetClaimViewAsync, ct);

    public Task<ListClaimsResponse> ListClaimsAsync(ListClaimsRequest request, CancellationToken ct = default) =>
        QueryAsync(request, _consensus.ListClaimsAsync, ct);

    public Task<ArticleAgreement> GetArticleAgreementAsync(GetArticleAgreementRequest request, CancellationToken ct = default) =>
        QueryAsync(request, _consensus.GetArticleAgreementAsync, ct);

    // Admin
    public Task<Analyst> CreateAnalystAsync(CreateAnalystRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _admin.CreateAnalystAsync, ct);

    public Task<ListAnalystsResponse> ListAnalystsAsync(ListAnalystsRequest request, CancellationToken ct = default) =>
        QueryAsync(request, _admin.ListAnalystsAsync, ct);

    public Task<Analyst> SetRolesAsync(SetRolesRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _admin.SetRolesAsync, ct);

    public Task<IssueTokenResponse> IssueTokenAsync(IssueTokenRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _admin.IssueTokenAsync, ct);

    public Task<ListTokensResponse> ListTokensAsync(ListTokensRequest request, CancellationToken ct = default) =>
        QueryAsync(request, _admin.ListTokensAsync, ct);

    public Task<CommandResult> RevokeTokenAsync(RevokeTokenRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _admin.RevokeTokenAsync, ct);

    public Task<EraseAnalystResponse> EraseAnalystAsync(EraseAnalystRequest request, CancellationToken ct = default) =>
        CommandAsync(request, _admin.EraseAnalystAsync, ct);

    public Task<Analyst> WhoAmIAsync(CancellationToken ct = default) => QueryAsync(new WhoAmIRequest(), _admin.WhoAmIAsync, ct);

    // Audit
    public Task<ChainHead> GetChainHeadAsync(CancellationToken ct = default) =>
        QueryAsync(new GetChainHeadRequest(), _audit.GetChainHeadAsync, ct);

    public Task<ClaimTimeline> GetClaimTimelineAsync(GetClaimTimelineRequest request, CancellationToken ct = default) =>
        QueryAsync(request, _audit.GetClaimTimelineAsync, ct);

    // Streams

    /// <summary>
    /// History.Subscribe from <paramref name="afterPosition"/>: the catch-up, a caught-up marker, then live events,
    /// until <paramref name="ct"/> is cancelled. After a dropped connection it resubscribes after the last position
    /// delivered: every event once, in order, none missing (another caught-up marker follows each resubscription).
    /// <paramref name="onReconnect"/> is told before each wait for a reopening.
    /// </summary>
    public IAsyncEnumerable<SubscribeResponse> SubscribeAsync(
        ulong afterPosition = 0,
        EventFilter? filter = null,
        CancellationToken ct = default,
        Action<RetryNotice>? onReconnect = null) =>
        ResumableStream.ReadAsync(
            (after, token) =>
                StreamAsync(
                    _history.Subscribe(new SubscribeRequest { AfterPosition = after, Filter = filter?.Clone() }, Streaming(token)),
                    token),
            new EventCursor(afterPosition),
            Options.StreamRetry,
            Task.Delay,
            ct,
            onReconnect);

    /// <summary>
    /// Consensus.WatchArticle: the current views, a caught-up marker, then each view again when it changes. After a
    /// dropped connection it watches again and passes only views newer than the last delivered for their claim (then
    /// another caught-up marker). <paramref name="onReconnect"/> is told before each wait for a reopening.
    /// </summary>
    public IAsyncEnumerable<WatchArticleResponse> WatchArticleAsync(
        string articleId,
        CancellationToken ct = default,
        Action<RetryNotice>? onReconnect = null) =>
        ResumableStream.ReadAsync(
            (_, token) => StreamAsync(_consensus.WatchArticle(new WatchArticleRequest { ArticleId = articleId }, Streaming(token)), token),
            new ViewCursor(), Options.StreamRetry, Task.Delay, ct, onReconnect);

    /// <summary>History.Replay: a finite range of events (no resumption: rerun from the last position seen).</summary>
    public IAsyncEnumerable<HistoryEvent> ReplayAsync(ReplayRequest request, CancellationToken ct = default) =>
        StreamAsync(_history.Replay(request, Streaming(ct)), ct);

    /// <summary>History.VerifyAudit: progress messages, then the result.</summary>
    public IAsyncEnumerable<VerifyAuditResponse> VerifyAuditAsync(VerifyAuditRequest request, CancellationToken ct = default) =>
        StreamAsync(_history.VerifyAudit(request, Streaming(ct)), ct);

    /// <summary>Audit.ExportLog: the stored log with its chain, in position order (no resumption: rerun after the last position
    /// seen).</summary>
    public IAsyncEnumerable<ExportedEvent> ExportLogAsync(ExportLogRequest request, CancellationToken ct = default) =>
        StreamAsync(_audit.ExportLog(request, Streaming(ct)), ct);

    /// <summary>Streams run until they end or are cancelled: no deadline.</summary>
    private static CallOptions Streaming(CancellationToken ct) => new(cancellationToken: ct);

    private static async IAsyncEnumerable<TResponse> StreamAsync<TResponse>(
        AsyncServerStreamingCall<TResponse> call,
        [EnumeratorCancellation] CancellationToken ct)
    {
        using (call)
        {
            await foreach (var item in call.ResponseStream.ReadAllAsync(ct).ConfigureAwait(false))
                yield return item;
        }
    }

    private Task<TResponse> QueryAsync<TRequest, TResponse>(
        TRequest request,
        Func<TRequest, CallOptions, AsyncUnaryCall<TResponse>> call,
        CancellationToken ct) =>
        Options.Retry.ExecuteAsync(
            async (_, token) =>
            {
                using var attempt = call(
                    request,
                    new CallOptions(deadline: DateTime.UtcNow + Options.UnaryDeadline, cancellationToken: token));
                return await attempt.ResponseAsync.ConfigureAwait(false);
            },
            Task.Delay, Random.Shared.NextDouble, ct, Options.OnRetry);

    private Task<TResponse> CommandAsync<TRequest, TResponse>(
        TRequest request,
        Func<TRequest, CallOptions, AsyncUnaryCall<TResponse>> call,
        CancellationToken ct)
        where TRequest : IMessage
    {
        EnsureRequestId(request);
        return QueryAsync(request, call, ct);
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
