using Annotate.ConsoleApp;
using Annotate.Contracts;
using Annotate.Contracts.V1;
using Annotate.Grpc;
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
    Console.Error.WriteLine($"annotate-console: no token; pass --token, set ANNOTATE_TOKEN or run `annotate login` ({Settings.ConfigPath()})");
    return 4;
}

using var connection = new Connection(settings.Server, settings.Token);
using var quit = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; quit.Cancel(); };

try
{
    var articleId = settings.ArticleId ?? await App.PickArticleAsync(connection, quit.Token);
    while (articleId is not null && !quit.IsCancellationRequested)
        articleId = await new App(connection, await connection.CallAsync(AnnotateApi.Articles.GetArticle,
            new GetArticleRequest { ArticleId = articleId }, quit.Token)).RunAsync(quit.Token);
    return 0;
}
catch (OperationCanceledException) when (quit.IsCancellationRequested)
{
    return 0;
}
catch (RpcException e)
{
    Console.Error.WriteLine($"annotate-console: {e.StatusCode}: {e.Detail}");
    return e.StatusCode switch
    {
        StatusCode.NotFound => 3,
        StatusCode.Unauthenticated or StatusCode.PermissionDenied => 4,
        StatusCode.Unavailable or StatusCode.DeadlineExceeded => 5,
        _ => 1,
    };
}
