using System.Buffers;
using System.Collections;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Annotate.Domain;

/// <summary>
/// An immutable list with value equality, so that records holding lists (events, views) compare by content.
/// Serialized as a plain JSON array. Invariant: the backing array is never exposed or mutated after construction.
/// </summary>
[JsonConverter(typeof(ValueListJsonConverterFactory))]
public sealed class ValueList<T> : IReadOnlyList<T>, IEquatable<ValueList<T>>
{
    private readonly T[] _items;

    public static ValueList<T> Empty { get; } = new([]);

    public ValueList(IEnumerable<T> items) => _items = [.. items];

    /// <summary>Takes <paramref name="owned"/> as the backing array: the caller made it for this list and keeps no reference.</summary>
    private ValueList(T[] owned, bool _) => _items = owned;

    /// <summary>A list over an array nobody else holds (the JSON converter's).</summary>
    internal static ValueList<T> Owning(T[] owned) => owned.Length == 0 ? Empty : new(owned, true);

    internal ReadOnlySpan<T> AsSpan() => _items;

    public int Count => _items.Length;

    public T this[int index] => _items[index];

    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public bool Equals(ValueList<T>? other) =>
        other is not null && (ReferenceEquals(this, other) || _items.AsSpan().SequenceEqual(other._items, EqualityComparer<T>.Default));

    public override bool Equals(object? obj) => obj is ValueList<T> other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var item in _items)
        {
            hash.Add(item);
        }

        return hash.ToHashCode();
    }

    public override string ToString() => "[" + string.Join(", ", _items) + "]";

    public static bool operator ==(ValueList<T>? left, ValueList<T>? right) => Equals(left, right);

    public static bool operator !=(ValueList<T>? left, ValueList<T>? right) => !Equals(left, right);
}

/// <summary>Helpers to build <see cref="ValueList{T}"/> from sequences.</summary>
public static class ValueList
{
    public static ValueList<T> Of<T>(params T[] items) => new(items);

    public static ValueList<T> ToValueList<T>(this IEnumerable<T> items) => new(items);
}

internal sealed class ValueListJsonConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(ValueList<>);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(ValueListJsonConverter<>).MakeGenericType(typeToConvert.GetGenericArguments()[0]))!;

    /// <summary>
    /// A JSON array, read and written element by element with the element type's own contract (what a <c>T[]</c> would use):
    /// no list or array in between, one array of the exact length per list read (none for an empty one). JSON <c>null</c> reads
    /// as the empty list (no list property is nullable). Anything but an array or null, or an element the element contract
    /// refuses, is a <see cref="JsonException"/>. Written by hand rather than through <c>JsonSerializer.Deserialize&lt;T[]&gt;</c>
    /// because that path built a growing buffer, an array and then a copy per list: about half of the cost of reading events.
    /// </summary>
    private sealed class ValueListJsonConverter<T> : JsonConverter<ValueList<T>>
    {
        private const int FirstBuffer = 8;

        // The element's contract; a converter instance belongs to one (then read-only) options instance.
        private JsonTypeInfo<T>? _item;

        public override bool HandleNull => true;

        private JsonTypeInfo<T> Item(JsonSerializerOptions options) => _item ??= (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));

        public override ValueList<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Null) return ValueList<T>.Empty;
            if (reader.TokenType != JsonTokenType.StartArray)
                throw new JsonException($"A list must be a JSON array, not {reader.TokenType}.");
            var item = Item(options);
            T[]? rented = null;
            var count = 0;
            try
            {
                // The serializer hands a custom converter the whole value, so every Read here succeeds or throws.
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    var value = JsonSerializer.Deserialize(ref reader, item)!;
                    if (rented is null || count == rented.Length)
                    {
                        var larger = ArrayPool<T>.Shared.Rent(rented is null ? FirstBuffer : rented.Length * 2);
                        if (rented is not null)
                        {
                            rented.AsSpan(0, count).CopyTo(larger);
                            ArrayPool<T>.Shared.Return(rented, RuntimeHelpers.IsReferenceOrContainsReferences<T>());
                        }
                        rented = larger;
                    }
                    rented[count++] = value;
                }
                if (reader.TokenType != JsonTokenType.EndArray) throw new JsonException("A list's JSON array is not closed.");
                return count == 0 ? ValueList<T>.Empty : ValueList<T>.Owning(rented.AsSpan(0, count).ToArray());
            }
            finally
            {
                if (rented is not null) ArrayPool<T>.Shared.Return(rented, RuntimeHelpers.IsReferenceOrContainsReferences<T>());
            }
        }

        public override void Write(Utf8JsonWriter writer, ValueList<T> value, JsonSerializerOptions options)
        {
            if (value is null)
            {
                writer.WriteStartArray();
                writer.WriteEndArray();
                return;
            }
            var item = Item(options);
            writer.WriteStartArray();
            foreach (var x in value.AsSpan()) JsonSerializer.Serialize(writer, x, item);
            writer.WriteEndArray();
        }
    }
}
