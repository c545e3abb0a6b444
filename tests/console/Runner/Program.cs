using Annotate.Contracts;
using Annotate.Contracts.V1;
using Annotate.Demo;
using Annotate.Grpc;

// annotate-console-runner <command> <server> <token> [args]: one gRPC action per run, result on stdout.
//   analyst    <server> <admin-token> <id> <role>          -> the new analyst's token
//   open-claim <server> <token> <article> <quote>          -> claim id
//   stance     <server> <token> <claim> <stance> <why>     -> global position of the stance
//   demo       <server> <admin-token> [pace-ms]            -> the demo's narration
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: annotate-console-runner analyst|open-claim|stance|demo <server> <token> [args]");
    return 2;
}
var (command, server, token) = (args[0], args[1], args[2]);
if (command == "demo")
    return await DemoScenario.RunAsync(server, token, Console.Out, default, TimeSpan.FromMilliseconds(args.Length > 3 ? int.Parse(args[3]) : 0));

using var channel = GrpcChannel.ForAddress(server);
var options = new CallOptions(new Metadata().Add("authorization", $"Bearer {token}"), DateTime.UtcNow.AddSeconds(60));
var id = Guid.NewGuid().ToString();
try
{
    switch (command)
    {
        case "analyst":
            var role = Enum.Parse<Role>(args[4], ignoreCase: true);
            await channel.UnaryAsync(AnnotateApi.Admin.CreateAnalyst, new CreateAnalystRequest { RequestId = id, AnalystId = args[3], DisplayName = args[3], Roles = { role } }, options);
            var issued = await channel.UnaryAsync(AnnotateApi.Admin.IssueToken, new IssueTokenRequest { RequestId = Guid.NewGuid().ToString(), AnalystId = args[3], Label = "console-test" }, options);
            Console.WriteLine(issued.Secret);
            return 0;
        case "open-claim":
            var opened = await channel.UnaryAsync(AnnotateApi.Claims.OpenClaim, new OpenClaimRequest
            {
                RequestId = id, ArticleId = args[3], Selector = new Selector { Quote = new TextQuote { Exact = args[4] } },
            }, options);
            Console.WriteLine(opened.ClaimId);
            return 0;
        case "stance":
            var result = await channel.UnaryAsync(AnnotateApi.Claims.TakeStance, new TakeStanceRequest
            {
                RequestId = id, ClaimId = args[3], Stance = Enum.Parse<Stance>(args[4], ignoreCase: true), Rationale = args.Length > 5 ? args[5] : "",
            }, options);
            Console.WriteLine(result.Position);
            return 0;
        default:
            Console.Error.WriteLine($"unknown command {command}");
            return 2;
    }
}
catch (RpcException e)
{
    Console.Error.WriteLine($"{command}: {e.StatusCode}: {e.Detail}");
    return 1;
}
