using System.Reflection;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using MediatR;

namespace Annotate.Server.Infrastructure;

/// <summary>Roles that may send a request; a caller needs one of them. Requests without it are open to any authenticated caller.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RequiresAttribute(params Role[] roles) : Attribute
{
    public IReadOnlyList<Role> Roles { get; } = roles;
}

/// <summary>MediatR 5 wiring: the mediator, every handler of this assembly, and the pipeline behaviours.</summary>
public static class Mediation
{
    public static IServiceCollection AddFeatures(this IServiceCollection services)
    {
        services.AddScoped<ServiceFactory>(sp => sp.GetService!);
        services.AddScoped<IMediator, Mediator>();
        var handlerInterfaces = new[] { typeof(IRequestHandler<,>) };
        foreach (var type in typeof(Mediation).Assembly.GetTypes().Where(t => t is { IsAbstract: false, IsInterface: false }))
        {
            foreach (var contract in type.GetInterfaces().Where(i => i.IsGenericType && handlerInterfaces.Contains(i.GetGenericTypeDefinition())))
            {
                services.AddScoped(contract, type);
            }
        }
        // Order matters: log around everything, then refuse callers without the role, then run the handler.
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(LoggingBehavior<,>));
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(AuthorizationBehavior<,>));
        return services;
    }
}

/// <summary>Refuses a request whose type names roles the caller holds none of.</summary>
public sealed class AuthorizationBehavior<TRequest, TResponse>(CallerContext caller) : IPipelineBehavior<TRequest, TResponse>
{
    private static readonly IReadOnlyList<Role>? Required = typeof(TRequest).GetCustomAttribute<RequiresAttribute>()?.Roles;

    public Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        if (Required is { Count: > 0 } roles && !roles.Any(caller.Caller.Has))
        {
            var names = string.Join(" or ", roles.Select(r => r.ToString().ToLowerInvariant()));
            throw new DomainException(DomainError.PermissionDenied(
                $"{caller.Caller.AnalystId} may not do this: it needs the {names} role. Ask an admin to grant it."));
        }
        return next();
    }
}

/// <summary>Logs refusals at debug level and faults as errors, with the request's type and caller.</summary>
public sealed partial class LoggingBehavior<TRequest, TResponse>(CallerContext caller, ILogger<TRequest> logger) : IPipelineBehavior<TRequest, TResponse>
{
    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        try
        {
            return await next();
        }
        catch (DomainException e)
        {
            LogRefused(logger, typeof(TRequest).Name, caller.IsSet ? caller.Caller.AnalystId : "-", e.Error.Kind, e.Message);
            throw;
        }
    }

    [LoggerMessage(1, LogLevel.Debug, "{Request} by {Caller} refused ({Kind}): {Message}")]
    private static partial void LogRefused(ILogger logger, string request, string caller, DomainErrorKind kind, string message);
}
