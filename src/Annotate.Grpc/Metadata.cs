using System.Collections;
using System.Globalization;
using System.Text;

namespace Annotate.Grpc;

/// <summary>
/// gRPC custom metadata (request headers, response headers, trailers). Keys are lower-case; a key
/// ending in "-bin" holds bytes (base64 on the wire), any other key an ASCII string.
/// </summary>
public sealed class Metadata : IEnumerable<Metadata.Entry>
{
    public const string BinarySuffix = "-bin";
    private readonly List<Entry> _entries = [];

    public sealed class Entry
    {
        private readonly string? _value;
        private readonly byte[]? _bytes;

        internal Entry(string key, string? value, byte[]? bytes)
        {
            Key = key;
            _value = value;
            _bytes = bytes;
        }

        public string Key { get; }
        public bool IsBinary => _bytes is not null;
        /// <summary>The ASCII value; throws for a "-bin" entry.</summary>
        public string Value => _value ?? throw new InvalidOperationException($"Metadata '{Key}' is binary; use ValueBytes.");
        /// <summary>The bytes of a "-bin" entry; throws for an ASCII entry.</summary>
        public byte[] ValueBytes => _bytes ?? throw new InvalidOperationException($"Metadata '{Key}' is ASCII; use Value.");
        public override string ToString() => IsBinary ? $"{Key}: <{_bytes!.Length} bytes>" : $"{Key}: {_value}";
    }

    public int Count => _entries.Count;

    public Metadata Add(string key, string value)
    {
        key = NormalizeKey(key);
        if (IsBinaryKey(key)) throw new ArgumentException($"Metadata key '{key}' ends in -bin and takes bytes.", nameof(key));
        ArgumentNullException.ThrowIfNull(value);
        foreach (var c in value)
            if (c < 0x20 || c > 0x7E) throw new ArgumentException($"Metadata '{key}' value must be printable ASCII.", nameof(value));
        _entries.Add(new Entry(key, value, null));
        return this;
    }

    public Metadata Add(string key, byte[] value)
    {
        key = NormalizeKey(key);
        if (!IsBinaryKey(key)) throw new ArgumentException($"Binary metadata key '{key}' must end in -bin.", nameof(key));
        ArgumentNullException.ThrowIfNull(value);
        _entries.Add(new Entry(key, null, value));
        return this;
    }

    /// <summary>The last entry with this key, or null.</summary>
    public Entry? Get(string key)
    {
        for (var i = _entries.Count - 1; i >= 0; i--)
            if (string.Equals(_entries[i].Key, key, StringComparison.OrdinalIgnoreCase)) return _entries[i];
        return null;
    }

    public string? GetValue(string key) => Get(key) is { IsBinary: false } e ? e.Value : null;
    public byte[]? GetValueBytes(string key) => Get(key) is { IsBinary: true } e ? e.ValueBytes : null;

    public IEnumerable<Entry> GetAll(string key) =>
        _entries.Where(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase));

    public bool Remove(Entry entry) => _entries.Remove(entry);

    public IEnumerator<Entry> GetEnumerator() => _entries.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public static bool IsBinaryKey(string key) => key.EndsWith(BinarySuffix, StringComparison.OrdinalIgnoreCase);

    private static string NormalizeKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        key = key.ToLowerInvariant();
        foreach (var c in key)
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_' or '.'))
                throw new ArgumentException($"Metadata key '{key}' has a character outside [a-z0-9-_.].", nameof(key));
        return key;
    }

    /// <summary>Whether a header is part of the protocol rather than custom metadata.</summary>
    internal static bool IsReserved(string key) =>
        key.StartsWith(':') || key.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase) && !key.Equals("grpc-status-details-bin", StringComparison.OrdinalIgnoreCase)
        || key.Equals("content-type", StringComparison.OrdinalIgnoreCase) || key.Equals("te", StringComparison.OrdinalIgnoreCase)
        || key.Equals("host", StringComparison.OrdinalIgnoreCase) || key.Equals("content-length", StringComparison.OrdinalIgnoreCase)
        || key.Equals("accept-encoding", StringComparison.OrdinalIgnoreCase) || key.Equals("connection", StringComparison.OrdinalIgnoreCase);

    /// <summary>Adds a header received from the wire; a malformed one is skipped rather than failing the call.</summary>
    internal void AddFromWire(string key, string value)
    {
        if (IsReserved(key)) return;
        var lower = key.ToLowerInvariant();
        if (IsBinaryKey(lower))
        {
            // One header may carry several comma-separated values; an empty value is empty bytes.
            foreach (var part in value.Split(',', StringSplitOptions.TrimEntries))
                if (HeaderCodec.TryDecodeBase64(part, out var bytes)) _entries.Add(new Entry(lower, null, bytes));
        }
        else
        {
            _entries.Add(new Entry(lower, value, null));
        }
    }

    internal static string ToWire(Entry entry) =>
        entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes).TrimEnd('=') : entry.Value;
}

/// <summary>Encodings the gRPC spec gives some headers.</summary>
internal static class HeaderCodec
{
    // grpc-message: percent-encoded UTF-8; the unreserved set is printable ASCII except '%'.
    public static string EncodeMessage(string message)
    {
        var needs = false;
        foreach (var c in message)
            if (c < 0x20 || c > 0x7E || c == '%') { needs = true; break; }
        if (!needs) return message;
        var bytes = Encoding.UTF8.GetBytes(message);
        var sb = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b >= 0x20 && b <= 0x7E && b != (byte)'%') sb.Append((char)b);
            else sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    // Decoding accepts any %XX (including ones that did not need encoding, like %20) and leaves
    // a malformed escape as it is, as the spec asks.
    public static string DecodeMessage(string? value)
    {
        if (string.IsNullOrEmpty(value) || !value.Contains('%')) return value ?? "";
        var bytes = new List<byte>(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '%' && i + 2 < value.Length &&
                byte.TryParse(value.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                i += 2;
            }
            else if (c < 0x80) bytes.Add((byte)c);
            else bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    public static bool TryDecodeBase64(string value, out byte[] bytes)
    {
        // Senders should omit padding; receivers must accept both.
        var padded = (value.Length % 4) switch { 2 => value + "==", 3 => value + "=", _ => value };
        try
        {
            bytes = Convert.FromBase64String(padded);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }

    // grpc-timeout: at most 8 digits and a unit (H, M, S, m, u, n).
    public static bool TryParseTimeout(string? value, out TimeSpan timeout)
    {
        timeout = default;
        if (value is null || value.Length < 2 || value.Length > 9) return false;
        if (!long.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return false;
        long? ticks = value[^1] switch
        {
            'H' => n * TimeSpan.TicksPerHour,
            'M' => n * TimeSpan.TicksPerMinute,
            'S' => n * TimeSpan.TicksPerSecond,
            'm' => n * TimeSpan.TicksPerMillisecond,
            'u' => n * 10,
            'n' => n / 100,
            _ => null,
        };
        if (ticks is null) return false;
        timeout = TimeSpan.FromTicks(ticks.Value);
        return true;
    }

    public static string FormatTimeout(TimeSpan timeout)
    {
        var ms = Math.Max(1L, (long)Math.Ceiling(timeout.TotalMilliseconds));
        if (ms < 100_000_000) return ms.ToString(CultureInfo.InvariantCulture) + "m";
        var s = (long)Math.Ceiling(timeout.TotalSeconds);
        if (s < 100_000_000) return s.ToString(CultureInfo.InvariantCulture) + "S";
        return Math.Min(99_999_999L, (long)Math.Ceiling(timeout.TotalHours)).ToString(CultureInfo.InvariantCulture) + "H";
    }
}
