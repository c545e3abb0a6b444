# The Annotate server: published with the .NET 10 SDK, run on the ASP.NET Core 10 runtime.
# Used by docker-compose.yml, which gives it ConnectionStrings__Annotate (no embedded PostgreSQL in a container).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Annotate.Server/Annotate.Server.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# The image's default ASPNETCORE_HTTP_PORTS=8080 would compete with --urls; the server's address is --urls alone.
ENV ASPNETCORE_HTTP_PORTS=
USER $APP_UID
EXPOSE 50051
ENTRYPOINT ["dotnet", "Annotate.Server.dll"]
CMD ["--urls", "http://0.0.0.0:50051"]
