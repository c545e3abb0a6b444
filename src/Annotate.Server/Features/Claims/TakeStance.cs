using Annotate.Contracts.V1;
using Annotate.Domain.Claims;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;
using MediatR;

using Role = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.Claims;

/// <summary>Takes or replaces the caller's stance on a claim, with rationale and evidence spans in any article (analyst).</summary>
public static class TakeStance
{
    public const int MaxEvidence = 20;
    public sealed record Command(TakeStanceRequest Request) : IRequest<CommandResult>;

    public sealed class Handler(Commands commands, Views views, Facts facts) : IRequestHandler<Command, CommandResult>
    {
        public Task<CommandResult> Handle(Command command, CancellationToken ct) =>
            views.ResolvingAsync(texts => HandleAsync(command.Request, texts, ct));

        private async Task<CommandResult> HandleAsync(TakeStanceRequest r, ArticleTexts texts, CancellationToken ct)
        {
            Commands.RequireRequestId(r.RequestId);
            var stance = Mapping.ToDomain(r.Stance);
            if (r.Evidence.Count > MaxEvidence) throw ErrorMapping.Invalid($"A stance cites at most {MaxEvidence} evidence spans.");
            var evidence = new List<EvidenceInput>();
            var resolved = new Dictionary<string, ResolvedText>(StringComparer.Ordinal);
            foreach (var (span, i) in r.Evidence.Select((s, i) => (s, i)))
            {
                if (string.IsNullOrEmpty(span.ArticleId))
                    throw ErrorMapping.Invalid($"evidence[{i}] needs an article_id.");
                if (!resolved.TryGetValue(span.ArticleId, out var text))
                    resolved[span.ArticleId] = text = await texts.GetAsync(span.ArticleId, ct);
                text.Expecting(span.Revision);
                evidence.Add(new EvidenceInput(span.ArticleId, text.Document, Mapping.ToDomain(span.Selector, $"evidence[{i}].selector")));
            }
            return await ClaimLoading.RunAsync(
                facts,
                commands,
                r.RequestId,
                r.ClaimId,
                state => Claim.Decide(state, new Domain.Claims.TakeStance(r.ClaimId, stance, r.Rationale, evidence), commands.Context()),
                ct, [.. resolved.Values]);
        }
    }
}
