using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;

// Composition only. Each feature adds its services before Build and its endpoints after it, one line each.
var builder = WebApplication.CreateBuilder(args);
builder.AddAnnotateHosting(args); // listen address (HTTP/2), logging, database (configured or embedded PostgreSQL)
builder.Services.AddAnnotateServer(builder.Configuration); // event store, projections, auth, features

var app = builder.Build();
app.MapAnnotateApi(); // annotate.v1 services, health, reflection

return await app.RunAnnotateAsync(); // starts the database, serves until Ctrl+C/SIGTERM, then stops the database
