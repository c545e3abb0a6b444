using System.Buffers;
using System.Data.Common;
using Npgsql;
using Weasel.Core;

namespace Annotate.Server.Infrastructure;

/// <summary>
/// Marten's serializer (its System.Text.Json one, configured in <see cref="Hosting.MartenSetup"/>) with one change: a document
/// or event read from a result row is deserialized from the row as it already stands in memory, by the serializer's
/// synchronous read, instead of through System.Text.Json's asynchronous stream reader. Npgsql has the whole row in its
/// buffer once the row is read (Marten's document reads are not sequential), so the asynchronous reader waits for nothing;
/// it only deserializes in its resumable mode (state kept per property, the stream copied into its own buffers), the slower
/// path, while the synchronous read deserializes the pooled copy of the column in one pass. Every batch of the writer reads
/// the documents its inline views update (bench/README.md, "Server CPU per command at 64 analysts, one level deeper").
/// Everything else is the inner serializer's.
/// </summary>
public sealed class RowBufferedJson(Marten.ISerializer inner) : Marten.ISerializer
{
    public string ToJson(object? document) => inner.ToJson(document);

    public void WriteTo(IBufferWriter<byte> writer, object? document) => inner.WriteTo(writer, document);

    public void WriteToParameter(NpgsqlParameter parameter, object? document) => inner.WriteToParameter(parameter, document);

    public T FromJson<T>(Stream stream) => inner.FromJson<T>(stream);

    public T FromJson<T>(DbDataReader reader, int index) => inner.FromJson<T>(reader, index);

    public ValueTask<T> FromJsonAsync<T>(Stream stream, CancellationToken cancellationToken = default) =>
        inner.FromJsonAsync<T>(stream, cancellationToken);

    public ValueTask<T> FromJsonAsync<T>(DbDataReader reader, int index, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(inner.FromJson<T>(reader, index));

    public object FromJson(Type type, Stream stream) => inner.FromJson(type, stream);

    public object FromJson(Type type, DbDataReader reader, int index) => inner.FromJson(type, reader, index);

    public ValueTask<object> FromJsonAsync(Type type, Stream stream, CancellationToken cancellationToken = default) =>
        inner.FromJsonAsync(type, stream, cancellationToken);

    public ValueTask<object> FromJsonAsync(Type type, DbDataReader reader, int index, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(inner.FromJson(type, reader, index));

    public string ToCleanJson(object? document) => inner.ToCleanJson(document);

    public void WriteToCleanJson(IBufferWriter<byte> writer, object? document) => inner.WriteToCleanJson(writer, document);

    public string ToJsonWithTypes(object document) => inner.ToJsonWithTypes(document);

    public void WriteToJsonWithTypes(IBufferWriter<byte> writer, object document) => inner.WriteToJsonWithTypes(writer, document);

    public Marten.ValueCasting ValueCasting => inner.ValueCasting;

    public EnumStorage EnumStorage => inner.EnumStorage;

    public Casing Casing => inner.Casing;
}
