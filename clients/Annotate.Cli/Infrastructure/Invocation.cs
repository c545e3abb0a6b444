using System.Collections;
using System.CommandLine;
using Annotate.Client;
using Google.Protobuf;
using Grpc.Core;

namespace Annotate.Cli.Infrastructure;

/// <summary>What a command's action works with: its parsed values, the client, the output streams and their abilities.</summary>
public sealed class Invocation : IDisposable
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));
    private AnnotateClient? _client;

    private Invocation(ParseResult parse, CancellationToken cancellationToken)
    {
        Parse = parse;
        CancellationToken = cancellationToken;
        Environment = System.Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal);
        ConfigPath = CliConfig.FilePath(Environment);
        (Server, Token) = CliConfig.Resolve(
            parse.GetValue(GlobalOptions.Server),
            parse.GetValue(GlobalOptions.Token),
            Environment,
            CliConfig.Load(ConfigPath));
        var noColor = Environment.GetValueOrDefault("NO_COLOR") is { Length: > 0 };
        Color = !noColor && !Console.IsOutputRedirected;
        StderrIsTerminal = !Console.IsErrorRedirected;
    }

    public ParseResult Parse { get; }
    public CancellationToken CancellationToken { get; }
    public IReadOnlyDictionary<string, string?> Environment { get; }
    public string ConfigPath { get; }
    public string Server { get; }
    public string? Token { get; }

    /// <summary>ANSI colour on stdout: only on a terminal, and never with NO_COLOR set.</summary>
    public bool Color { get; }

    /// <summary>Progress bars go to stderr, and only when it is a terminal.</summary>
    public bool StderrIsTerminal { get; }

    public TextWriter Out => Console.Out;
    public TextWriter Err => Console.Error;

    public AnnotateClient Client => _client ??= Connect();

    private AnnotateClient Connect()
    {
        try
        {
            return new AnnotateClient(ClientOptions);
        }
        catch (ArgumentException)
        {
            throw new UsageException($"the server address must be http://host:port or https://host:port, not {Server}");
        }
    }

    /// <summary>The client's settings: server, token, --retries, and a line on stderr before each retry.</summary>
    public AnnotateClientOptions ClientOptions => new()
    {
        Address = Server,
        Token = Token,
        Retry = Parse.GetValue(GlobalOptions.Retries) is { } attempts
                ? RetryPolicy.Default with
                {
                    MaxAttempts = Math.Max(1, attempts),
                }
                : RetryPolicy.Default,
        // Said on stderr so a waiting user (or script log) sees why nothing happens yet; stdout stays clean.
        OnRetry = n => Err.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"annotate: server unavailable at {Server} ({Unreachable(n.Error)}); retrying in {n.Delay.TotalSeconds:0.0} s (attempt " +
                $"{n.FailedAttempt + 1} of {n.MaxAttempts})")),
    };

    public T? Get<T>(Option<T> option) => Parse.GetValue(option);
    public T? Get<T>(Argument<T> argument) => Parse.GetValue(argument);

    /// <summary>The request id to send: --request-id when given (to repeat an action safely), else a fresh one.</summary>
    public string RequestId() => Parse.GetValue(GlobalOptions.RequestId) is { Length: > 0 } id ? id : AnnotateClient.NewRequestId();

    public static string Json(IMessage message) => Formatter.Format(message);

    public void WriteJson(IMessage message) => Out.WriteLine(Json(message));

    /// <summary>Writes <paramref name="message"/> as JSON when --json was given, else the human text; returns 0.</summary>
    public int Write(Option<bool> json, IMessage message, Func<string> human)
    {
        if (Get(json)) WriteJson(message);
        else Out.WriteLine(human());
        return ExitCodes.Ok;
    }

    /// <summary>
    /// The server's messages name the request's fields; the CLI says which option or command fits instead.
    /// </summary>
    internal static string InCliTerms(string detail)
    {
        var text = detail.Replace("quote.prefix/quote.suffix", "--prefix/--suffix", StringComparison.Ordinal);
        string? hint = null;
        if (text.Contains("names no article", StringComparison.Ordinal))
            hint = "`annotate articles list` shows the ids";
        else if (text.Contains("names no claim", StringComparison.Ordinal))
            hint = "`annotate claim list <article>` shows an article's claims";
        else if (text.Contains("names no analyst", StringComparison.Ordinal))
            hint = "`annotate admin analysts list` shows them";
        else if (text.Contains("names no token", StringComparison.Ordinal))
            hint = "`annotate admin tokens list` shows token ids";
        return hint is null ? text : $"{text.TrimEnd('.')}; {hint}.";
    }

    /// <summary>
    /// Why the server could not be reached: Grpc.Net.Client's status says only "Error connecting to subchannel.", the
    /// socket's error it keeps aside says what happened (e.g. "Connection refused").
    /// </summary>
    private static string Unreachable(RpcException e) =>
        e.Status.DebugException?.GetBaseException().Message is { Length: > 0 } cause ? $"{e.Status.Detail} {cause}" : e.Status.Detail;

    /// <summary>Runs <paramref name="action"/>, turning failures into one line on stderr and an exit code.</summary>
    public static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken, Func<Invocation, Task<int>> action)
    {
        Invocation? invocation = null;
        try
        {
            invocation = new Invocation(parse, cancellationToken);
            return await action(invocation);
        }
        catch (RpcException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Interrupted; // Ctrl+C (or SIGTERM): what the user asked for, so no error line
        }
        catch (RpcException e)
        {
            var message = e.StatusCode switch
            {
                StatusCode.Unavailable => $"server unavailable at {invocation?.Server}: {Unreachable(e)}",
                StatusCode.Unauthenticated => $"{e.Status.Detail} (log in with `annotate login --token <token>`, or pass --token)",
                _ => string.IsNullOrEmpty(e.Status.Detail) ? e.StatusCode.ToString() : InCliTerms(e.Status.Detail),
            };
            return Fail(ExitCodes.For(e.StatusCode), message);
        }
        catch (UsageException e)
        {
            return Fail(ExitCodes.Usage, e.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }
        catch (IOException e)
        {
            return Fail(ExitCodes.Failure, e.Message);
        }
        catch (UnauthorizedAccessException e)
        {
            return Fail(ExitCodes.Failure, e.Message);
        }
#pragma warning disable CA1031 // the last resort of a command line: one line and exit code 1, not a stack trace
        catch (Exception e)
        {
            return Fail(ExitCodes.Failure, $"unexpected error ({e.GetType().Name}): {e.Message}");
        }
#pragma warning restore CA1031
        finally
        {
            invocation?.Dispose();
        }
    }

    public static int Fail(int code, string message)
    {
        // One line: a multi-line server message is folded so scripts can read stderr line by line.
        Console.Error.WriteLine("annotate: " + message.ReplaceLineEndings(" "));
        return code;
    }

    public void Dispose() => _client?.Dispose();
}

/// <summary>Options every command understands.</summary>
public static class GlobalOptions
{
    public static readonly Option<string?> Server = new("--server")
    {
        Description = "Server address (default: $ANNOTATE_SERVER, the login config, then http://127.0.0.1:50051)",
        Recursive = true,
    };

    public static readonly Option<string?> Token = new("--token")
    {
        Description = "Bearer token (default: $ANNOTATE_TOKEN, then the login config)",
        Recursive = true,
    };

    public static readonly Option<string?> RequestId = new("--request-id")
    {
        Description = "Request id of a command; sending the same id again performs the action once (default: a fresh UUID)",
        Recursive = true,
    };

    public static readonly Option<int?> Retries = new("--retries")
    {
        Description = "Attempts when the server is unavailable (default 8, about 15 s; 1: no retry)",
        Recursive = true,
    };

    public static Option<bool> Json() =>
        new("--json") { Description = "Print JSON (protobuf JSON mapping): one object, or one object per line for streams" };

    /// <summary>Sets the action of <paramref name="command"/>, run through <see cref="Invocation.RunAsync"/>.</summary>
    public static Command Does(this Command command, Func<Invocation, Task<int>> action)
    {
        command.SetAction((parse, ct) => Invocation.RunAsync(parse, ct, action));
        return command;
    }
}
