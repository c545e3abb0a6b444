using System.Text.Unicode;
using Google.Protobuf.Reflection;

namespace Annotate.Server.Transport.Decoding;

/// <summary>
/// Checks an encoded request against its message descriptor before Google.Protobuf parses it. It exists because
/// the C# parser replaces invalid UTF-8 in string fields with U+FFFD without a word: two request ids that differ
/// only in an invalid byte would become the same id, and the second request would be answered as a duplicate of
/// the first. Here such a request is refused instead, and so is every malformed encoding (truncated, a wire type
/// that does not fit the field, a length past the end), with a message naming the field.
/// Strings are checked wherever they are: in nested messages, repeated fields, oneofs and map keys and values
/// (a map entry is a nested message with fields 1 and 2). Unknown fields are only checked for their framing.
/// </summary>
public static class WireCheck
{
    /// <summary>Deepest nesting accepted; Google.Protobuf's own default recursion limit.</summary>
    public const int MaxDepth = 100;

    /// <summary>What is wrong with <paramref name="data"/> as a <paramref name="message"/>, or null when nothing is.</summary>
    public static string? Validate(ReadOnlySpan<byte> data, MessageDescriptor message) => Check(data, message, 0, message.Name);

    private static string? Check(ReadOnlySpan<byte> data, MessageDescriptor message, int depth, string path)
    {
        if (depth > MaxDepth) return $"{path}: messages nested deeper than {MaxDepth} levels";
        var at = 0;
        while (at < data.Length)
        {
            if (!ReadVarint(data, ref at, out var tag)) return $"{path}: the message ends inside a field tag";
            var number = tag >> 3;
            var wire = (int)(tag & 7);
            if (number is 0 or > 536_870_911) return $"{path}: field number {number} is not a valid field number";
            var field = message.FindFieldByNumber((int)number);
            var where = field is null ? $"{path}, field {number}" : $"{path}.{field.Name}";
            if (field is not null && !Fits(field, wire)) return $"{where}: wire type {wire} does not fit a {field.FieldType} field";
            switch (wire)
            {
                case 0:
                    if (!ReadVarint(data, ref at, out _)) return $"{where}: the message ends inside a number";
                    break;
                case 1 or 5:
                    var size = wire == 1 ? 8 : 4;
                    if (data.Length - at < size) return $"{where}: the message ends inside a fixed-size number";
                    at += size;
                    break;
                case 2:
                    if (!ReadVarint(data, ref at, out var length)) return $"{where}: the message ends inside a length";
                    if (length > (ulong)(data.Length - at)) return $"{where}: a length of {length} bytes runs past the end of the message";
                    var payload = data.Slice(at, (int)length);
                    at += (int)length;
                    if (field is not null && CheckPayload(payload, field, depth, where) is { } error) return error;
                    break;
                case 3:
                    if (SkipGroup(data, ref at, number, depth + 1) is { } groupError) return $"{where}: {groupError}";
                    break;
                default:
                    return $"{where}: wire type {wire} is not a valid wire type";
            }
        }
        return null;
    }

    private static string? CheckPayload(ReadOnlySpan<byte> payload, FieldDescriptor field, int depth, string where) =>
        field.FieldType switch
        {
            FieldType.String when !Utf8.IsValid(payload) =>
                $"{where}: the text is not valid UTF-8 (send text as UTF-8; invalid bytes are refused, not replaced)",
            FieldType.Message => Check(payload, field.MessageType, depth + 1, where),
            FieldType.String or FieldType.Bytes => null,
            _ => CheckPacked(payload, field, where), // a packed repeated scalar
        };

    private static string? CheckPacked(ReadOnlySpan<byte> payload, FieldDescriptor field, string where)
    {
        switch (ScalarWireType(field.FieldType))
        {
            case 0:
                for (var at = 0; at < payload.Length;)
                {
                    if (!ReadVarint(payload, ref at, out _)) return $"{where}: the packed numbers end inside a number";
                }
                return null;
            case 1 when payload.Length % 8 != 0:
            case 5 when payload.Length % 4 != 0:
                return $"{where}: the packed numbers end inside a fixed-size number";
            default:
                return null;
        }
    }

    /// <summary>Whether a value of <paramref name="wire"/> type may appear for <paramref name="field"/> (repeated scalars also
    /// packed).</summary>
    private static bool Fits(FieldDescriptor field, int wire) => field.FieldType switch
    {
        FieldType.String or FieldType.Bytes or FieldType.Message => wire == 2,
        FieldType.Group => wire == 3,
        var scalar => wire == ScalarWireType(scalar) || (field.IsRepeated && wire == 2),
    };

    private static int ScalarWireType(FieldType type) => type switch
    {
        FieldType.Fixed64 or FieldType.SFixed64 or FieldType.Double => 1,
        FieldType.Fixed32 or FieldType.SFixed32 or FieldType.Float => 5,
        _ => 0,
    };

    /// <summary>Skips an unknown group up to its end tag (groups are proto2; only their framing is checked).</summary>
    private static string? SkipGroup(ReadOnlySpan<byte> data, ref int at, ulong number, int depth)
    {
        if (depth > MaxDepth) return $"groups nested deeper than {MaxDepth} levels";
        while (true)
        {
            if (!ReadVarint(data, ref at, out var tag)) return "the message ends inside a group";
            var wire = (int)(tag & 7);
            switch (wire)
            {
                case 0:
                    if (!ReadVarint(data, ref at, out _)) return "the message ends inside a number";
                    break;
                case 1 or 5:
                    var size = wire == 1 ? 8 : 4;
                    if (data.Length - at < size) return "the message ends inside a fixed-size number";
                    at += size;
                    break;
                case 2:
                    if (!ReadVarint(data, ref at, out var length) || length > (ulong)(data.Length - at))
                        return "a length runs past the end of the message";
                    at += (int)length;
                    break;
                case 3:
                    if (SkipGroup(data, ref at, tag >> 3, depth + 1) is { } error) return error;
                    break;
                case 4:
                    return tag >> 3 == number ? null : "a group ends with the wrong field number";
                default:
                    return $"wire type {wire} is not a valid wire type";
            }
        }
    }

    /// <summary>Reads a base-128 varint of at most 10 bytes; false when the data ends first or the varint is longer.</summary>
    private static bool ReadVarint(ReadOnlySpan<byte> data, ref int at, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 70 && at < data.Length; shift += 7)
        {
            var b = data[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return true;
        }
        return false;
    }
}
