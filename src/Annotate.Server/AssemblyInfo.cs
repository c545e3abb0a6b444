// The server drives PostgreSQL's tools and POSIX signals the way Linux and macOS provide them.
[assembly: System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Annotate.Server.Tests")]
