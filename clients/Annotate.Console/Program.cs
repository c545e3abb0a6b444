using Annotate.Client;
using Annotate.ConsoleApp;
using Annotate.Contracts.V1;
using Grpc.Core;
using Spectre.Console;

// annotate-console [--server URL] [--token T] [--article ID]: a live view of one article's claims.
// Exit codes as the CLI's: 0 ok, 1 failure, 2 usage, 3 not found, 4 unauthenticated/denied, 5 unavailable.
Settings settings;
try { settings = Settings.Resolve(args); }
catch (ArgumentException e)
{
    Console.Error.WriteLine($"annotate-console: {e.Message}");
    Console.Error.WriteLine("usage: annotate-console [--server URL] [--token TOKEN] [--article ARTICLE-ID]");
    return 2;
}
if (settings.Token is null)
{
    Console.Error.WriteLine(
        $"annotate-console: no token; pass --token, set ANNOTATE_TOKEN or run `annotate login` ({Settings.ConfigPath()})");
    return 4;
}

if (Console.IsInputRedirected || Console.IsOutputRedirected)
{
    Console.Error.WriteLine("annotate-console: needs a terminal (use `annotate watch` for a stream of events in a pipe)");
    return 2;
}
// A terminal is attached (checked above): prompts read keys. Spectre.Console's own detection also says "not interactive"
// when a CI variable is set, which would make every prompt fail in a terminal that has keys.
AnsiConsole.Profile.Capabilities.Interactive = true;

// Unary calls get 15 s each and a short retry on UNAVAILABLE (someone waits at the keyboard); the watch streams
// reopen without limit.
using var client = new AnnotateClient(new AnnotateClientOptions
{
    Address = settings.Server,
    Token = settings.Token,
    UnaryDeadline = TimeSpan.FromSeconds(15),
    Retry = RetryPolicy.Default with { MaxAttempts = 3 },
});
using var quit = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; quit.Cancel(); };

try
{
    var articleId = settings.ArticleId ?? await App.PickArticleAsync(client, quit.Token);
    while (articleId is not null && !quit.IsCancellationRequested)
    {
        articleId = await new App(client, await client.GetArticleAsync(
            new GetArticleRequest { ArticleId = articleId }, quit.Token)).RunAsync(quit.Token);
    }

    return 0;
}
catch (OperationCanceledException) when (quit.IsCancellationRequested)
{
    return 0;
}
catch (RpcException e)
{
    Console.Error.WriteLine($"annotate-console: {e.StatusCode}: {e.Status.Detail}");
    return e.StatusCode switch
    {
        StatusCode.NotFound => 3,
        StatusCode.Unauthenticated or StatusCode.PermissionDenied => 4,
        StatusCode.Unavailable or StatusCode.DeadlineExceeded => 5,
        _ => 1,
    };
}
