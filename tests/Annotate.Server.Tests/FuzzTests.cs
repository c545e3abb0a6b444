using Annotate.Contracts;
using Annotate.Contracts.V1;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using static Annotate.Server.Tests.Rpc;
using NetCode = global::Grpc.Core.StatusCode;
using ServingStatus = global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Annotate.Server.Tests;

/// <summary>
/// Malformed messages for every method the server lists through reflection, built from the descriptors it serves:
/// random bytes, truncations, wrong wire types, huge declared lengths, control characters and invalid UTF-8 in every
/// string field, numbers and timestamps out of range. No answer may be INTERNAL or UNKNOWN (a message that does not
/// parse is INVALID_ARGUMENT, the documented code); the ones the edge must refuse are INVALID_ARGUMENT and write nothing;
/// afterwards the server is healthy, logged no fault, and a normal command completes at once.
/// </summary>
public sealed class FuzzTests(AnnotateServer server, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<AnnotateServer>
{
    private const string Seed = "russia-involvement-kazakhstan-crisis";

    /// <summary>One malformed request: what it is, its bytes, and whether the edge must refuse it (INVALID_ARGUMENT).</summary>
    private sealed record Case(string What, byte[] Bytes, bool MustBeInvalid);

    /// <summary>A change to one field of an otherwise plausible message, at a dotted path ("selector.quote.exact").</summary>
    private sealed record Mutation(string Path, Action<CodedOutputStream, FieldDescriptor> Write);

    [Fact]
    public async Task Malformed_requests_to_every_method_found_by_reflection_answer_no_internal_error_and_leave_the_server_healthy()
    {
        using var raw = new RawCalls(server.Address);
        var services = (await raw.ReflectServicesAsync()).Where(s => s.FullName.StartsWith("annotate.", StringComparison.Ordinal)).ToList();
        var methods = services.SelectMany(s => s.Methods).ToList();
        Assert.Equal(Annotate.Server.Infrastructure.AccessRules.ByMethod.Count, methods.Count);

        var random = new Random(20260929); // fixed: a failure is reproducible
        var failures = new List<string>();
        var calls = 0;
        async Task RunAsync(IEnumerable<(MethodDescriptor Method, Case Case)> cases)
        {
            foreach (var (method, c) in cases)
            {
                var path = $"/{method.Service.FullName}/{method.Name}";
                var outcome = await raw.CallAsync(path, method.IsServerStreaming, c.Bytes, server.AdminToken, TimeSpan.FromSeconds(10));
                calls++;
                if (outcome.Code is NetCode.Internal or NetCode.Unknown || (c.MustBeInvalid && outcome.Code != NetCode.InvalidArgument))
                {
                    failures.Add($"{path} {c.What}: {outcome}");
                }
            }
        }

        // The edge's refusals first, with the head of the log before and after: none of them may write anything.
        var headBefore = await HeadAsync();
        await RunAsync(methods.SelectMany(m => StrictCases(m.InputType).Select(c => (m, c))));
        var headAfter = await HeadAsync();
        Assert.True(headAfter == headBefore, $"Requests the edge must refuse wrote {headAfter - headBefore} events; wrong answers:\n{string.Join("\n", failures.Take(50))}");
        // Then what may parse or not: random bytes, truncations, wrong wire types, huge declared lengths.
        await RunAsync(methods.SelectMany(m => LooseCases(m.InputType, random).Select(c => (m, c))));

        output.WriteLine($"{calls} malformed calls to {methods.Count} methods");
        Assert.True(failures.Count == 0, $"{failures.Count} of {calls} malformed calls were answered wrongly:\n{string.Join("\n", failures.Take(50))}");
        Assert.Equal(ServingStatus.Serving, await raw.HealthAsync(""));
        foreach (var service in services) Assert.Equal(ServingStatus.Serving, await raw.HealthAsync(service.FullName));
        var log = server.Process.Stdout;
        Assert.DoesNotContain(" fail: ", log);
        Assert.DoesNotContain(" crit: ", log);
        Assert.DoesNotContain("Exception", log);
        // No view stuck: a command and a read right after are answered within a deadline far below the views' wait.
        var who = new CallOptions(AnnotateServer.As(server.AdminToken).Headers, DateTime.UtcNow.AddSeconds(5));
        var (_, analyst) = await server.NewAnalystAsync("after-fuzz", Role.Analyst);
        var quick = new CallOptions(analyst.Headers, DateTime.UtcNow.AddSeconds(5));
        var created = await server.Channel.Annotations().CreateHighlightAsync(new CreateHighlightRequest { RequestId = Rid(), ArticleId = Seed, Selector = At(1, 7), Note = "after the fuzz" }, quick);
        var listed = await server.Channel.Annotations().ListHighlightsAsync(new ListHighlightsRequest { ArticleId = Seed }, who);
        Assert.Contains(listed.Highlights, h => h.HighlightId == created.Highlight.HighlightId);
    }

    private async Task<int> HeadAsync() => (await server.ReplayAsync(new ReplayRequest { FromPosition = 1 })).Count;

    /// <summary>Control characters and invalid UTF-8 in every string, numbers and timestamps out of range: the edge must refuse
    /// each.</summary>
    private static IEnumerable<Case> StrictCases(MessageDescriptor message)
    {
        foreach (var (path, field) in Fields(message, ""))
        {
            switch (field.FieldType)
            {
                case FieldType.String:
                    foreach (var control in new[] { "\u0000", "a\u0000b", "\u0001", "x\u001b[2J", "\u001f", "\u0008" })
                    {
                        yield return new Case($"{path} = {Escape(control)}", Build(message, new Mutation(path, (o, f) => WriteString(o, f, control))), true);
                    }
                    // Refused, never replaced by U+FFFD: two texts differing only in an invalid byte would otherwise be one.
                    foreach (var invalid in new byte[][] { [0x61, 0xFF, 0x62], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82] })
                    {
                        yield return new Case($"{path} = invalid UTF-8 {Convert.ToHexString(invalid)}", Build(message, new Mutation(path, (o, f) =>
                        {
                            o.WriteTag(f.FieldNumber, WireFormat.WireType.LengthDelimited);
                            o.WriteBytes(ByteString.CopyFrom(invalid));
                        })), true);
                    }
                    break;
                case FieldType.UInt64:
                    foreach (var n in new[] { ulong.MaxValue, 1UL << 63 })
                        yield return new Case($"{path} = {n}", Build(message, new Mutation(path, (o, f) => WriteVarint(o, f, n))), true);
                    break;
                case FieldType.UInt32:
                    foreach (var n in new[] { (ulong)uint.MaxValue, 1UL << 31 })
                        yield return new Case($"{path} = {n}", Build(message, new Mutation(path, (o, f) => WriteVarint(o, f, n))), true);
                    break;
                case FieldType.Int64:
                    yield return new Case($"{path} = -1", Build(message, new Mutation(path, (o, f) => WriteVarint(o, f, ulong.MaxValue))), true);
                    break;
                case FieldType.Enum:
                    yield return new Case($"{path} = 999", Build(message, new Mutation(path, (o, f) => WriteVarint(o, f, 999))), true);
                    break;
                case FieldType.Message when field.MessageType.FullName == "google.protobuf.Timestamp":
                    foreach (var (seconds, nanos) in new[] { (9_999_999_999_999L, 0), (1_700_000_000L, -1), (-70_000_000_000L, 0), (0L, 1_000_000_000) })
                    {
                        var bytes = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = seconds, Nanos = nanos }.ToByteString();
                        yield return new Case($"{path} = {seconds}s {nanos}ns", Build(message, new Mutation(path, (o, f) =>
                        {
                            o.WriteTag(f.FieldNumber, WireFormat.WireType.LengthDelimited);
                            o.WriteBytes(bytes);
                        })), true);
                    }
                    break;
            }
        }
    }

    /// <summary>Random bytes, truncations, wrong wire types, huge declared lengths: not INTERNAL, not UNKNOWN.</summary>
    private static IEnumerable<Case> LooseCases(MessageDescriptor message, Random random)
    {
        for (var i = 0; i < 8; i++)
        {
            var bytes = new byte[random.Next(1, 64)];
            random.NextBytes(bytes);
            yield return new Case($"random {Convert.ToHexString(bytes)}", bytes, false);
        }
        var full = Build(message, null);
        for (var cut = 1; cut < full.Length; cut += Math.Max(1, full.Length / 10))
        {
            yield return new Case($"truncated to {cut} of {full.Length} bytes", full[..cut], false);
        }
        foreach (var field in message.Fields.InFieldNumberOrder())
        {
            var n = field.FieldNumber;
            foreach (var wire in new[] { WireFormat.WireType.Varint, WireFormat.WireType.LengthDelimited, WireFormat.WireType.Fixed32, WireFormat.WireType.StartGroup, WireFormat.WireType.EndGroup, (WireFormat.WireType)6, (WireFormat.WireType)7 })
            {
                yield return new Case($"field {n} as wire type {(int)wire}", Raw(o => { o.WriteTag(n, wire); o.WriteRawTag(1, 2, 3); }), false);
            }
            foreach (var length in new uint[] { int.MaxValue, uint.MaxValue, int.MaxValue - 3 })
            {
                yield return new Case($"field {n} declaring {length} bytes", Raw(o =>
                {
                    o.WriteTag(n, WireFormat.WireType.LengthDelimited);
                    o.WriteUInt32(length);
                    o.WriteRawTag(0x0A, 0x01, 0x61);
                }), false);
                // The same inside a nested message of exactly the declared outer length.
                var inner = Raw(o => { o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteUInt32(length); o.WriteRawTag(0x61); });
                yield return new Case($"field {n} holding a nested field declaring {length} bytes", Raw(o =>
                {
                    o.WriteTag(n, WireFormat.WireType.LengthDelimited);
                    o.WriteBytes(ByteString.CopyFrom(inner));
                }), false);
            }
        }
    }

    /// <summary>Every field reachable from <paramref name="message"/> (through nested messages, not into timestamps), by dotted
    /// path.</summary>
    private static IEnumerable<(string Path, FieldDescriptor Field)> Fields(MessageDescriptor message, string prefix)
    {
        foreach (var field in message.Fields.InFieldNumberOrder())
        {
            var path = prefix + field.Name;
            yield return (path, field);
            if (field.FieldType == FieldType.Message && field.MessageType.FullName != "google.protobuf.Timestamp")
            {
                foreach (var nested in Fields(field.MessageType, path + ".")) yield return nested;
            }
        }
    }

    /// <summary>
    /// A message with a plausible value in every top-level string (so that only the mutation can be wrong), the mutated
    /// field, and the nested messages on the way to it. Other members of a oneof are left out: the last one sent wins.
    /// </summary>
    private static byte[] Build(MessageDescriptor message, Mutation? mutation, string prefix = "")
    {
        return Raw(o =>
        {
            foreach (var field in message.Fields.InFieldNumberOrder())
            {
                var path = prefix + field.Name;
                var onPath = mutation is not null && mutation.Path.StartsWith(path + ".", StringComparison.Ordinal);
                if (mutation?.Path == path)
                {
                    mutation.Write(o, field);
                }
                else if (onPath)
                {
                    o.WriteTag(field.FieldNumber, WireFormat.WireType.LengthDelimited);
                    o.WriteBytes(ByteString.CopyFrom(Build(field.MessageType, mutation, path + ".")));
                }
                else if (field.FieldType == FieldType.String && field.ContainingOneof is null)
                {
                    WriteString(o, field, Plausible(field.Name));
                }
            }
        });
    }

    private static string Plausible(string field) => field switch
    {
        "request_id" => Guid.NewGuid().ToString(),
        "article_id" => Seed,
        "analyst_id" => "admin",
        "claim_id" => "c000000000000",
        "highlight_id" => "h000000000000",
        "token_id" => "tok000000000000",
        "event_types" => "stance-taken.v1",
        _ => "plain text",
    };

    private static void WriteString(CodedOutputStream o, FieldDescriptor f, string value)
    {
        o.WriteTag(f.FieldNumber, WireFormat.WireType.LengthDelimited);
        o.WriteString(value);
    }

    private static void WriteVarint(CodedOutputStream o, FieldDescriptor f, ulong value)
    {
        o.WriteTag(f.FieldNumber, WireFormat.WireType.Varint);
        o.WriteUInt64(value);
    }

    private static byte[] Raw(Action<CodedOutputStream> write)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        write(output);
        output.Flush();
        return stream.ToArray();
    }

    private static string Escape(string s) => string.Concat(s.Select(c => c < 0x20 ? $"\\u{(int)c:x4}" : c.ToString()));
}
