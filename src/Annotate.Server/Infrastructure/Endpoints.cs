using Annotate.Contracts;
using Annotate.Grpc;
using Annotate.Server.Features.Admin;
using Annotate.Server.Features.Annotations;
using Annotate.Server.Features.Articles;
using Annotate.Server.Features.Claims;
using Annotate.Server.Features.Consensus;
using Annotate.Server.Features.History;
using MediatR;

namespace Annotate.Server.Infrastructure;

/// <summary>
/// The contract's RPCs, one line each: decode (the transport), send (MediatR), encode. A method of the
/// contract without a line here stops the server at start-up, naming it.
/// </summary>
public static class Endpoints
{
    public static WebApplication MapAnnotateApi(this WebApplication app)
    {
        var unruled = AnnotateApi.Methods.Select(m => m.FullName).Where(path => !AccessRules.ByMethod.ContainsKey(path)).ToList();
        if (unruled.Count > 0) throw new InvalidOperationException($"No access rule for {string.Join(", ", unruled)} (AccessRules).");
        app.MapGrpcService(AnnotateApi.Articles.Service, b => b
            .Unary(AnnotateApi.Articles.ImportArticle, (r, c) => c.Send(new ImportArticle.Command(r)))
            .Unary(AnnotateApi.Articles.ListArticles, (r, c) => c.Send(new ListArticles.Query(r)))
            .Unary(AnnotateApi.Articles.GetArticle, (r, c) => c.Send(new GetArticle.Query(r))));
        app.MapGrpcService(AnnotateApi.Annotations.Service, b => b
            .Unary(AnnotateApi.Annotations.CreateHighlight, (r, c) => c.Send(new CreateHighlight.Command(r)))
            .Unary(AnnotateApi.Annotations.ApplyTag, (r, c) => c.Send(new Tagging.Apply(r)))
            .Unary(AnnotateApi.Annotations.RemoveTag, (r, c) => c.Send(new Tagging.Remove(r)))
            .Unary(AnnotateApi.Annotations.RetractHighlight, (r, c) => c.Send(new RetractHighlight.Command(r)))
            .Unary(AnnotateApi.Annotations.ListHighlights, (r, c) => c.Send(new ListHighlights.Query(r))));
        app.MapGrpcService(AnnotateApi.Claims.Service, b => b
            .Unary(AnnotateApi.Claims.OpenClaim, (r, c) => c.Send(new OpenClaim.Command(r)))
            .Unary(AnnotateApi.Claims.TakeStance, (r, c) => c.Send(new TakeStance.Command(r)))
            .Unary(AnnotateApi.Claims.WithdrawStance, (r, c) => c.Send(new WithdrawStance.Command(r)))
            .Unary(AnnotateApi.Claims.Adjudicate, (r, c) => c.Send(new Adjudicate.Command(r)))
            .Unary(AnnotateApi.Claims.ReopenClaim, (r, c) => c.Send(new ReopenClaim.Command(r))));
        app.MapGrpcService(AnnotateApi.Consensus.Service, b => b
            .Unary(AnnotateApi.Consensus.GetClaimView, (r, c) => c.Send(new GetClaimView.Query(r)))
            .Unary(AnnotateApi.Consensus.ListClaims, (r, c) => c.Send(new ListClaims.Query(r)))
            .Unary(AnnotateApi.Consensus.GetArticleAgreement, (r, c) => c.Send(new GetArticleAgreement.Query(r)))
            .ServerStreaming(AnnotateApi.Consensus.WatchArticle, (r, w, c) => c.Stream(new WatchArticle.Query(r), w)));
        app.MapGrpcService(AnnotateApi.History.Service, b => b
            .ServerStreaming(AnnotateApi.History.Subscribe, (r, w, c) => c.Stream(new Subscribe.Query(r), w))
            .ServerStreaming(AnnotateApi.History.Replay, (r, w, c) => c.Stream(new Replay.Query(r), w))
            .ServerStreaming(AnnotateApi.History.VerifyAudit, (r, w, c) => c.Stream(new VerifyAudit.Query(r), w)));
        app.MapGrpcService(AnnotateApi.Admin.Service, b => b
            .Unary(AnnotateApi.Admin.CreateAnalyst, (r, c) => c.Send(new CreateAnalyst.Command(r)))
            .Unary(AnnotateApi.Admin.ListAnalysts, (r, c) => c.Send(new ListAnalysts.Query(r)))
            .Unary(AnnotateApi.Admin.SetRoles, (r, c) => c.Send(new SetRoles.Command(r)))
            .Unary(AnnotateApi.Admin.IssueToken, (r, c) => c.Send(new IssueToken.Command(r)))
            .Unary(AnnotateApi.Admin.ListTokens, (r, c) => c.Send(new ListTokens.Query(r)))
            .Unary(AnnotateApi.Admin.RevokeToken, (r, c) => c.Send(new RevokeToken.Command(r)))
            .Unary(AnnotateApi.Admin.WhoAmI, (r, c) => c.Send(new WhoAmI.Query(r))));
        app.MapGrpcHealth();
        app.MapGrpcReflection();
        return app;
    }

    /// <summary>Sends a request through the mediator of the call's scope; refusals become their gRPC status.</summary>
    private static async Task<TResponse> Send<TResponse>(this ServerCallContext context, IRequest<TResponse> request)
    {
        try
        {
            return await context.Services.GetRequiredService<IMediator>().Send(request, context.CancellationToken);
        }
        catch (Exception e) when (ErrorMapping.ToRpcException(e) is { } status)
        {
            throw status;
        }
    }

    /// <summary>
    /// Sends a streaming request and writes each item as it comes; refusals mid-stream become the call's status.
    /// Streams end when the server stops (UNAVAILABLE, so clients reconnect elsewhere or later) instead of holding
    /// the shutdown until Kestrel's grace period runs out.
    /// </summary>
    private static async Task Stream<TItem>(this ServerCallContext context, IRequest<IAsyncEnumerable<TItem>> request, IServerStreamWriter<TItem> writer)
    {
        var stopping = context.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var call = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, stopping);
        try
        {
            var items = await context.Services.GetRequiredService<IMediator>().Send(request, call.Token);
            await foreach (var item in items.WithCancellation(call.Token))
            {
                await writer.WriteAsync(item, call.Token);
            }
        }
        catch (Exception e) when (ErrorMapping.ToRpcException(e) is { } status)
        {
            throw status;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(StatusCode.Unavailable, "The server is shutting down; reconnect and resume from the last position seen.");
        }
    }
}
