// The server and these tests drive PostgreSQL's tools, /proc and POSIX signals.
[assembly: System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
