using Weasel.Postgresql.Functions;

namespace Annotate.EventStore.Chain;

/// <summary>
/// The writer's last step inside its transaction, as one PostgreSQL function: for the batch's events (positions
/// first..last, which must hold exactly the expected event ids in that order) it computes the digests and links by
/// <see cref="EventChain"/>'s serialization, stores them in chain_links, moves chain_head and sends the batch's one
/// NOTIFY; it returns each position's link (the receipts). Done in the database because the digests are over
/// PostgreSQL's own jsonb text: computing them where the rows are saves a read-back round trip under the
/// global-order lock. <see cref="AuditVerifier"/> recomputes every link with <see cref="EventChain.Compute"/>, so the
/// two implementations check each other on every verification.
/// </summary>
internal static class ChainFunction
{
    public const string Name = "chain_append";

    public static Function For(string schema, string notifyChannel) => Function.ForSql($$"""
        CREATE OR REPLACE FUNCTION {{schema}}.{{Name}}(first_position bigint, last_position bigint, expected_ids uuid[])
        RETURNS TABLE(out_position bigint, out_link bytea) LANGUAGE plpgsql AS $fn$
        DECLARE
            previous bytea;
            e record;
            i int := 0;
            data_digest bytea;
            metadata_digest bytea;
            this_link bytea;
            last_time timestamptz;
        BEGIN
            SELECT h.link INTO previous FROM {{schema}}.{{MartenConventions.ChainHeadTable}} h WHERE h.id = 1;
            IF previous IS NULL THEN previous := decode(repeat('00', 32), 'hex'); END IF;
            FOR e IN SELECT * FROM {{schema}}.mt_events ev
                WHERE ev.seq_id >= first_position AND ev.seq_id <= last_position ORDER BY ev.seq_id
            LOOP
                i := i + 1;
                IF i > coalesce(array_length(expected_ids, 1), 0) OR e.id <> expected_ids[i] THEN
                    RAISE EXCEPTION 'event % is stored at position %, not where the writer placed it', e.id, e.seq_id;
                END IF;
                data_digest := {{EventChain.DataDigestSql}};
                metadata_digest := {{EventChain.MetadataDigestSql}};
                this_link := sha256(
                    {{Field("convert_to('annotate-chain-v2', 'UTF8')")}} ||
                    {{Field("convert_to(e.seq_id::text, 'UTF8')")}} ||
                    {{Field("convert_to(e.stream_id, 'UTF8')")}} ||
                    {{Field("convert_to(e.version::text, 'UTF8')")}} ||
                    {{Field("convert_to(e.id::text, 'UTF8')")}} ||
                    {{Field("convert_to(e.type, 'UTF8')")}} ||
                    {{Field("data_digest")}} ||
                    {{Field("metadata_digest")}} ||
                    {{Field("convert_to(to_char(e.timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'UTF8')")}} ||
                    {{Field("previous")}});
                INSERT INTO {{schema}}.{{MartenConventions.ChainLinksTable}} (position, data_digest, metadata_digest, link)
                    VALUES (e.seq_id, data_digest, metadata_digest, this_link);
                previous := this_link;
                last_time := e.timestamp;
                out_position := e.seq_id;
                out_link := this_link;
                RETURN NEXT;
            END LOOP;
            IF i <> coalesce(array_length(expected_ids, 1), 0) THEN
                RAISE EXCEPTION 'the batch stored % events, the writer appended %', i, coalesce(array_length(expected_ids, 1), 0);
            END IF;
            INSERT INTO {{schema}}.{{MartenConventions.ChainHeadTable}} (id, position, link, recorded_at)
                VALUES (1, last_position, previous, last_time)
                ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position, link = EXCLUDED.link, recorded_at = EXCLUDED.recorded_at;
            PERFORM pg_notify('{{notifyChannel}}', last_position::text);
        END
        $fn$;
        """);

    /// <summary>A field of the serialization: its length as 4 bytes, big-endian, then its bytes.</summary>
    private static string Field(string bytes) => $"int4send(octet_length({bytes})) || {bytes}";
}
