using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;
using Annotate.Server.Transport;
using MediatR;

namespace Annotate.Server.Hosting;

/// <summary>MediatR 5 wiring: the mediator, every handler of this assembly, and the pipeline behaviours.</summary>
public static class Mediation
{
    public static IServiceCollection AddFeatures(this IServiceCollection services)
    {
        var unruled = EdgeValidation.Unruled();
        if (unruled.Count > 0)
            throw new InvalidOperationException($"No validation rule for {string.Join(", ", unruled)} (EdgeValidation).");
        services.AddScoped<ServiceFactory>(sp => sp.GetService!);
        services.AddScoped<IMediator, Mediator>();
        var handlerInterfaces = new[] { typeof(IRequestHandler<,>) };
        foreach (var type in typeof(Mediation).Assembly.GetTypes().Where(t => t is { IsAbstract: false, IsInterface: false }))
        {
            foreach (
                var contract in type.GetInterfaces().Where(i => i.IsGenericType && handlerInterfaces.Contains(i.GetGenericTypeDefinition()))
            )
            {
                services.AddScoped(contract, type);
            }
        }
        // Outermost, so a command's span and latency include its validation and refusal.
#if !ANNOTATE_NO_TELEMETRY
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(CommandTelemetry<,>));
#endif
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(LoggingBehavior<,>));
        // Inside the logging, so its refusals are logged too.
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(ValidationBehavior<,>));
        return services;
    }
}

/// <summary>Logs refusals at debug level and faults as errors, with the request's type and caller.</summary>
public sealed partial class LoggingBehavior<TRequest, TResponse>(CallerContext caller, ILogger<TRequest> logger)
    : IPipelineBehavior<TRequest, TResponse>
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
