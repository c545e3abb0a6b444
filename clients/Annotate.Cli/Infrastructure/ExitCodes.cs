using Grpc.Core;

namespace Annotate.Cli.Infrastructure;

/// <summary>The process exit codes of <c>annotate</c> (documented in --help and README.md; scripts rely on them).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int NotFound = 3;
    public const int Denied = 4;
    public const int Unavailable = 5;
    public const int Conflict = 6;

    /// <summary>Ctrl+C or SIGTERM (128 + SIGINT, the shell convention; what System.CommandLine answers too).</summary>
    public const int Interrupted = 130;

    public const string Help = """
        Exit codes:
          0  ok
          1  other failure (including a broken audit chain)
          2  usage: bad arguments, or input the server refused as invalid
          3  not found
          4  unauthenticated or permission denied
          5  server unavailable
          6  conflict: stale version, closed claim, already exists
          130  interrupted (Ctrl+C), e.g. to end a watch
        """;

    /// <summary>The exit code of a call that ended with <paramref name="code"/>.</summary>
    public static int For(StatusCode code) => code switch
    {
        StatusCode.OK => Ok,
        StatusCode.InvalidArgument or StatusCode.OutOfRange => Usage,
        StatusCode.NotFound => NotFound,
        StatusCode.Unauthenticated or StatusCode.PermissionDenied => Denied,
        StatusCode.Unavailable or StatusCode.DeadlineExceeded => Unavailable,
        StatusCode.Aborted or StatusCode.FailedPrecondition or StatusCode.AlreadyExists => Conflict,
        _ => Failure,
    };
}

/// <summary>A mistake in the command line that the parser cannot see (e.g. neither a quote nor a position): exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
