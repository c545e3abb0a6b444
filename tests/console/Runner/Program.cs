using Annotate.Client;
using Annotate.Contracts.V1;
using Annotate.Demo;
using Grpc.Core;

// annotate-console-runner <command> <server> <token> [args]: one gRPC action per run, result on stdout.
//   analyst    <server> <admin-token> <id> <role>          -> the new analyst's token
//   open-claim <server> <token> <article> <quote>          -> claim id
//   highlight  <server> <token> <article> <quote>          -> highlight id
//   stance     <server> <token> <claim> <stance> <why>     -> global position of the stance
//   revise     <server> <admin-token> <article> <file> <why> -> the article's revision after recording <file> as its text
//   demo       <server> <admin-token> [pace-ms]            -> the demo's narration
//   create-db  <connection-string> <name>                  -> connection string of a new database <name>
//   drop-db    <connection-string> <name>                  -> drops database <name>
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: annotate-console-runner analyst|open-claim|highlight|stance|revise|demo <server> <token> [args]");
    return 2;
}
var (command, server, token) = (args[0], args[1], args[2]);
if (command is "create-db" or "drop-db")
{
    // Here "server" is an admin connection string (ANNOTATE_TEST_PG) and "token" the database name.
    await using var admin = new Npgsql.NpgsqlConnection(server);
    await admin.OpenAsync();
    var name = new Npgsql.NpgsqlCommandBuilder().QuoteIdentifier(token);
    await using var sql = new Npgsql.NpgsqlCommand(
        command == "create-db" ? $"CREATE DATABASE {name}" : $"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
        admin);
    await sql.ExecuteNonQueryAsync();
    if (command == "create-db") Console.WriteLine(new Npgsql.NpgsqlConnectionStringBuilder(server) { Database = token }.ConnectionString);
    return 0;
}
if (command == "demo")
{
    return await DemoScenario.RunAsync(
        server,
        token,
        Console.Out,
        default,
        TimeSpan.FromMilliseconds(args.Length > 3 ? int.Parse(args[3]) : 0));
}

using var client = new AnnotateClient(
    new AnnotateClientOptions
    {
        Address = server,
        Token = token,
        UnaryDeadline = TimeSpan.FromSeconds(60),
    });
var id = Guid.NewGuid().ToString();
try
{
    switch (command)
    {
        case "analyst":
            var role = Enum.Parse<Role>(args[4], ignoreCase: true);
            await client.CreateAnalystAsync(
                new CreateAnalystRequest
                {
                    RequestId = id,
                    AnalystId = args[3],
                    DisplayName = args[3],
                    Roles = { role },
                });
            var issued = await client.IssueTokenAsync(
                new IssueTokenRequest
                {
                    RequestId = Guid.NewGuid().ToString(),
                    AnalystId = args[3],
                    Label = "console-test",
                });
            Console.WriteLine(issued.Secret);
            return 0;
        case "open-claim":
            var opened = await client.OpenClaimAsync(new OpenClaimRequest
            {
                RequestId = id,
                ArticleId = args[3],
                Selector = new Selector { Quote = new TextQuote { Exact = args[4] } },
            });
            Console.WriteLine(opened.ClaimId);
            return 0;
        case "highlight":
            var created = await client.CreateHighlightAsync(new CreateHighlightRequest
            {
                RequestId = id,
                ArticleId = args[3],
                Selector = new Selector { Quote = new TextQuote { Exact = args[4] } },
                Tags = { "console-test" },
            });
            Console.WriteLine(created.Highlight.HighlightId);
            return 0;
        case "stance":
            var result = await client.TakeStanceAsync(new TakeStanceRequest
            {
                RequestId = id,
                ClaimId = args[3],
                Stance = Enum.Parse<Stance>(args[4], ignoreCase: true),
                Rationale = args.Length > 5 ? args[5] : "",
            });
            Console.WriteLine(result.Position);
            return 0;
        case "revise":
            var revised = await client.ReviseArticleAsync(new ReviseArticleRequest
            {
                RequestId = id,
                ArticleId = args[3],
                Text = await File.ReadAllTextAsync(args[4]),
                Reason = args.Length > 5 ? args[5] : "",
            });
            Console.WriteLine(revised.Article.Revision);
            return 0;
        default:
            Console.Error.WriteLine($"unknown command {command}");
            return 2;
    }
}
catch (RpcException e)
{
    Console.Error.WriteLine($"{command}: {e.StatusCode}: {e.Status.Detail}");
    return 1;
}
