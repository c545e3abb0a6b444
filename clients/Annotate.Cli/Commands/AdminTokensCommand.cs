using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class AdminTokensCommand
{
    public static Command Create()
    {
        var listJson = GlobalOptions.Json();
        var analyst = new Option<string?>("--analyst") { Description = "Only this analyst's tokens" };
        var list = new Command("list", """
            Lists tokens (never their secrets), newest first.

            Examples:
              annotate admin tokens list --analyst aigerim
            """) { analyst, listJson };
        list.Does(async inv =>
        {
            var response = await inv.Client.ListTokensAsync(
                new ListTokensRequest { AnalystId = inv.Get(analyst) ?? "" },
                inv.CancellationToken);
            return inv.Write(
                listJson,
                response,
                () =>
                    response.Tokens.Count == 0
                        ? "No tokens."
                        : string.Join(
                            '\n',
                            response.Tokens.Select(t =>
                                $"{t.TokenId}  {t.AnalystId,-16} {t.Label,-16} issued {Text.Time(t.IssuedAt)}  expires " +
                                    $"{(t.ExpiresAt is null ? "never" : Text.Time(t.ExpiresAt))}{(t.Revoked ? "  REVOKED" : "")}"
                            )));
        });

        var issueJson = GlobalOptions.Json();
        var owner = new Argument<string>("analyst") { Description = "Analyst id" };
        var label = new Option<string?>("--label") { Description = "A label to recognise the token by, e.g. laptop" };
        var expires = new Option<string?>("--expires") { Description = "Expiry time (ISO 8601); default: never" };
        var issue = new Command("issue", """
            Issues a token for an analyst and prints its secret (shown only this once).

            Examples:
              annotate admin tokens issue aigerim --label laptop
              annotate admin tokens issue aigerim --expires 2027-01-01T00:00:00Z --json
            """) { owner, label, expires, issueJson };
        issue.Does(async inv =>
        {
            var request = new IssueTokenRequest { RequestId = inv.RequestId(), AnalystId = inv.Get(owner)!, Label = inv.Get(label) ?? "" };
            if (inv.Get(expires) is { } e) request.ExpiresAt = Parsing.Time(e);
            var response = await inv.Client.IssueTokenAsync(request, inv.CancellationToken);
            return inv.Write(issueJson, response, () =>
                $"Token {response.Token.TokenId} for {response.Token.AnalystId} (shown once; store it now):\n{response.Secret}");
        });

        var revokeJson = GlobalOptions.Json();
        var tokenId = new Argument<string>("token-id") { Description = "Token id (from tokens list)" };
        var revoke = new Command("revoke", """
            Revokes a token; it stops working at once.

            Examples:
              annotate admin tokens revoke <token-id>
            """) { tokenId, revokeJson };
        revoke.Does(async inv =>
        {
            var result = await inv.Client.RevokeTokenAsync(
                new RevokeTokenRequest { RequestId = inv.RequestId(), TokenId = inv.Get(tokenId)! },
                inv.CancellationToken);
            return inv.Write(revokeJson, result, () => $"Revoked {inv.Get(tokenId)}: {Text.Result(result)}");
        });

        return new Command("tokens", "Access tokens.") { list, issue, revoke };
    }
}
