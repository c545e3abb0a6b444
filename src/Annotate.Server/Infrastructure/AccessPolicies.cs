using System.Globalization;
using System.Text;
using Annotate.Domain.Events;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Annotate.Server.Infrastructure;

/// <summary>
/// ASP.NET Core authorization generated from <see cref="AccessRules"/>, which stays the only place that says who
/// may call what: one policy per role (and one per set of roles the table allows together, any of them
/// sufficing), and on each gRPC method's endpoint the [Authorize] metadata naming the policy of its rule.
/// </summary>
public static class AccessPolicies
{
    /// <summary>The policy of a rule: the role's name, "auditor or admin" for a set, "authenticated" for none.</summary>
    public static string PolicyName(IReadOnlyList<Role> roles) =>
        roles.Count == 0 ? "authenticated" : string.Join(" or ", roles.Select(BearerAuthenticationHandler.RoleName));

    public static IServiceCollection AddAnnotateAuthorization(this IServiceCollection services)
    {
        services.AddSingleton<Authentication>();
        // The authentication core and the bearer scheme, without the data protection that AddAuthentication also registers: no
        // handler here protects anything, and its key ring, loaded at start, would map the XML stack into every process for nothing
        // (bench/README.md, "Server memory: the slim host").
        services.AddAuthenticationCore(o => o.DefaultScheme = BearerAuthenticationHandler.SchemeName);
        services.AddWebEncoders();
        services.TryAddSingleton(TimeProvider.System);
        new AuthenticationBuilder(services)
            .AddScheme<AuthenticationSchemeOptions, BearerAuthenticationHandler>(BearerAuthenticationHandler.SchemeName, null);
        services.AddAuthorization(o =>
        {
            var rules = Enum.GetValues<Role>().Select(r => (IReadOnlyList<Role>)[r]).Concat(AccessRules.ByMethod.Values);
            foreach (var roles in rules.DistinctBy(PolicyName))
            {
                o.AddPolicy(PolicyName(roles), p =>
                {
                    p.AddAuthenticationSchemes(BearerAuthenticationHandler.SchemeName).RequireAuthenticatedUser();
                    if (roles.Count > 0) p.RequireRole(roles.Select(BearerAuthenticationHandler.RoleName));
                });
            }
        });
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, GrpcAuthorizationResults>();
        return services;
    }

    /// <summary>Adds to each method's endpoint the [Authorize] of its access rule. Methods outside the table (health, reflection) stay
    /// open.</summary>
    public static TBuilder RequireAccessRules<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            if (endpoint.Metadata.OfType<GrpcMethodMetadata>().LastOrDefault() is { } grpc
                && AccessRules.ByMethod.TryGetValue(grpc.Method.FullName, out var roles))
            {
                endpoint.Metadata.Add(new AuthorizeAttribute(PolicyName(roles)));
            }
        });
        return builder;
    }

    /// <summary>Puts the authenticated caller of an annotate call where the handlers read it (<see cref="CallerContext"/>).</summary>
    public static IApplicationBuilder UseCallerContext(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.User.Identity is { IsAuthenticated: true, AuthenticationType: BearerAuthenticationHandler.SchemeName })
        {
            context.RequestServices.GetRequiredService<CallerContext>().Caller =
                context.Features.Get<AuthenticatedCaller>()?.Caller ?? BearerAuthenticationHandler.ToCaller(context.User);
        }
        await next(context);
    });
}

/// <summary>
/// Answers refused calls the gRPC way instead of a bare HTTP 401/403 (which clients can only report as
/// UNAUTHENTICATED/PERMISSION_DENIED without a word, or as UNKNOWN): HTTP 200 with a trailers-only response
/// carrying grpc-status and a grpc-message that says what to do.
/// </summary>
public sealed class GrpcAuthorizationResults : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(
        RequestDelegate next,
        HttpContext context,
        AuthorizationPolicy policy,
        PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Challenged)
        {
            var authenticated = await context.AuthenticateAsync(BearerAuthenticationHandler.SchemeName); // the handler's cached result
            var status = authenticated.Failure switch
            {
                null => new Status(StatusCode.Unauthenticated, BearerAuthenticationHandler.NoToken),
                RpcException e => e.Status, // the token could not be checked (e.g. the database is unreachable)
                var e => new Status(StatusCode.Unauthenticated, e.Message),
            };
            WriteStatus(context, status);
        }
        else if (authorizeResult.Forbidden)
        {
            var path = context.Request.Path.Value ?? "";
            WriteStatus(
                context,
                new Status(StatusCode.PermissionDenied, AccessRules.Refusal(path, BearerAuthenticationHandler.ToCaller(context.User))));
        }
        else
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
        }
    }

    /// <summary>A trailers-only gRPC response: the status travels in the only HEADERS frame, which ends the stream.</summary>
    public static void WriteStatus(HttpContext context, Status status)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = ((int)status.StatusCode).ToString(CultureInfo.InvariantCulture);
        context.Response.Headers["grpc-message"] = PercentEncode(status.Detail);
    }

    /// <summary>grpc-message encoding (gRPC over HTTP/2): UTF-8, with '%' and bytes outside printable ASCII as %XX.</summary>
    public static string PercentEncode(string message)
    {
        var text = new StringBuilder(message.Length);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%') text.Append((char)b);
            else text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }
}
