using Annotate.Server.Hosting;

// Composition only. Each feature adds its services before Build and its endpoints after it, one line each.
var builder = WebApplication.CreateBuilder(args);
builder.AddAnnotateHosting(args); // listen address (HTTP/2), logging, database (configured or embedded PostgreSQL)

var app = builder.Build();

return await app.RunAnnotateAsync(); // starts the database, serves until Ctrl+C/SIGTERM, then stops the database
