using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

/// <summary>
/// <c>annotate audit export --output DIR</c>: a directory anyone can verify without Annotate: events.jsonl (the log in position
/// order: position, stream, version, id, type, time, and data and metadata as PostgreSQL's jsonb text, the bytes the digests
/// cover), chain.jsonl (each position's digests and link), head.json, receipts.txt (the --receipt values), verify.py (Python 3
/// standard library only) and README.md. A directory rather than an archive, so each file can be read and checked as it is.
/// </summary>
public static class AuditExportCommand
{
    private static readonly JsonWriterOptions Lines = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var output = new Option<string>("--output", "-o")
        {
            Description = "Directory to write the bundle to (created; must be empty)",
            Required = true,
        };
        var receipts = new Option<string[]>("--receipt")
        {
            Description = "A receipt POSITION:HASH to include in receipts.txt, checked by verify.py (repeatable)",
        };
        var export = new Command(
            "export",
            """
            Writes an offline verification bundle (auditor or admin role) to a directory: events.jsonl,
            chain.jsonl, head.json, receipts.txt, README.md and verify.py, a verifier that needs Python 3 and
            nothing else. `python3 <dir>/verify.py` recomputes every digest and link and checks the receipts;
            it prints OK or the first broken link. A token's data is withheld (only its digest is exported).

            Examples:
              annotate audit export --output audit-2026-11-29
              python3 audit-2026-11-29/verify.py
            """) { output, receipts };
        return export.Does(async inv =>
        {
            var dir = inv.Get(output)!;
            if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
                throw new UsageException($"{dir} is not empty; give a new or empty directory");
            var given = (inv.Get(receipts) ?? []).Select(Parsing.Receipt).ToList();
            Directory.CreateDirectory(dir);
            var head = await inv.Client.GetChainHeadAsync(inv.CancellationToken);
            long events = 0;
            await using (var eventsFile = File.Create(Path.Combine(dir, "events.jsonl")))
            await using (var chainFile = File.Create(Path.Combine(dir, "chain.jsonl")))
            {
                var request = new ExportLogRequest { ToPosition = head.Position };
                await foreach (var e in inv.Client.ExportLogAsync(request, inv.CancellationToken))
                {
                    if (e.HasEvent)
                    {
                        WriteEvent(eventsFile, e);
                        events++;
                    }
                    if (e.Link.Length > 0) WriteLink(chainFile, e);
                }
            }
            await File.WriteAllTextAsync(Path.Combine(dir, "head.json"), JsonSerializer.Serialize(new
            {
                position = head.Position,
                link = head.Link,
                time = head.Text.Split(' ')[^1],
                text = head.Text,
            }) + "\n", inv.CancellationToken);
            await File.WriteAllTextAsync(Path.Combine(dir, "receipts.txt"),
                string.Concat(given.Select(r => $"{r.Position}:{r.Hash}\n")), inv.CancellationToken);
            await File.WriteAllTextAsync(Path.Combine(dir, "verify.py"), Resource("verify.py"), inv.CancellationToken);
            await File.WriteAllTextAsync(Path.Combine(dir, "README.md"), Resource("bundle-README.md"), inv.CancellationToken);
            inv.Out.WriteLine($"wrote {events} events through {head.Text} to {dir}; check with: python3 {Path.Combine(dir, "verify.py")}");
            return ExitCodes.Ok;
        });
    }

    private static void WriteEvent(Stream file, ExportedEvent e)
    {
        using (var w = new Utf8JsonWriter(file, Lines))
        {
            w.WriteStartObject();
            w.WriteNumber("position", e.Position);
            w.WriteString("stream", e.StreamId);
            w.WriteNumber("version", e.StreamVersion);
            w.WriteString("id", e.EventId);
            w.WriteString("type", e.Type);
            w.WriteString("time", e.RecordedAt);
            if (e.DataWithheld) w.WriteNull("data");
            else w.WriteString("data", e.DataJson);
            w.WriteString("metadata", e.MetadataJson);
            if (e.Legacy is { } l)
            {
                // A position moved from the previous version: its v1 link covers these exact texts.
                w.WriteStartObject("legacy");
                w.WriteString("stream", l.StreamId);
                w.WriteNumber("version", l.StreamVersion);
                w.WriteString("id", l.EventId);
                w.WriteString("type", l.Type);
                w.WriteString("time", l.RecordedAt);
                if (l.DataWithheld) w.WriteNull("data");
                else w.WriteString("data", l.DataText);
                w.WriteString("metadata", l.MetadataText);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        file.WriteByte((byte)'\n');
    }

    private static void WriteLink(Stream file, ExportedEvent e)
    {
        using (var w = new Utf8JsonWriter(file, Lines))
        {
            w.WriteStartObject();
            w.WriteNumber("position", e.Position);
            w.WriteString("data_digest", e.DataDigest);
            w.WriteString("metadata_digest", e.MetadataDigest);
            w.WriteString("link", e.Link);
            w.WriteEndObject();
        }
        file.WriteByte((byte)'\n');
    }

    private static string Resource(string name)
    {
        using var stream = typeof(AuditExportCommand).Assembly.GetManifestResourceStream($"Annotate.Cli.Audit.{name}")
            ?? throw new InvalidOperationException($"the bundle file {name} is missing from the build");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
