#!/usr/bin/env python3
"""Offline verifier of an Annotate audit bundle (Python 3 standard library only).

Usage: python3 verify.py [BUNDLE_DIR] [--receipt POSITION:LINK ...]

BUNDLE_DIR defaults to this file's directory. It holds events.jsonl (the event log in position order),
chain.jsonl (each position's data digest, metadata digest and link), head.json (the chain head) and
optionally receipts.txt (one POSITION:LINK per line). For every position this recomputes the SHA-256 of the
event's data and metadata texts, compares them with the chain's digests, recomputes the link by the
"annotate-chain-v2" serialization and compares it with the stored one; then it checks that the chain ends
at the head and that every receipt holds. It prints OK, or the first broken link, and exits 0 or 1.

Link serialization (docs/event-store.md, "Audit chain"): SHA-256 over these fields, each written as a 4-byte
big-endian length followed by its bytes: "annotate-chain-v2", position (decimal), stream id, stream
version (decimal), event id (lower-case 8-4-4-4-12), type, data digest (32 bytes), metadata digest
(32 bytes), recorded-at ("YYYY-MM-DDTHH:MM:SS.ffffffZ"), previous link (32 zero bytes before the first).

Moved positions: a database moved from the store's previous version keeps "annotate-chain-v1" links up to
the last moved position. Such an event's line carries "legacy", that version's record: the v1 link is SHA-256
over "annotate-chain-v1", position, stream, version, id, type, then the exact data and metadata texts (not
digests), time and previous link, framed as above; and the event must still be that record (same fields, equal
data, the metadata mapped: actor, correlationId, causationId, articleId as the "tag" header, requestId). A
token's issue has its data withheld there too: its v1 link is taken as stored, and counted.

Erasure (docs/audit.md, "Erasure"): an "analyst-erased.v1" event lists, under "erased", earlier positions whose
data was replaced by its masked form, each with the SHA-256 of the masked data ("dataDigest"). Such an event's
data verifies by that digest instead of the one its link covers; any other change to it is still a break.
"""
import hashlib
import json
import os
import re
import struct
import sys

TAG = b"annotate-chain-v2"
TAG_V1 = b"annotate-chain-v1"
ERASURE_TYPE = "analyst-erased.v1"
GENESIS = bytes(32)


def field(h, data):
    h.update(struct.pack(">I", len(data)))
    h.update(data)


def link_v2(e, data_digest, metadata_digest, previous):
    h = hashlib.sha256()
    field(h, TAG)
    field(h, str(e["position"]).encode("utf-8"))
    field(h, e["stream"].encode("utf-8"))
    field(h, str(e["version"]).encode("utf-8"))
    field(h, e["id"].encode("utf-8"))
    field(h, e["type"].encode("utf-8"))
    field(h, data_digest)
    field(h, metadata_digest)
    field(h, e["time"].encode("utf-8"))
    field(h, previous)
    return h.digest()


def link_v1(position, l, previous):
    h = hashlib.sha256()
    field(h, TAG_V1)
    field(h, str(position).encode("utf-8"))
    field(h, l["stream"].encode("utf-8"))
    field(h, str(l["version"]).encode("utf-8"))
    field(h, l["id"].encode("utf-8"))
    field(h, l["type"].encode("utf-8"))
    field(h, l["data"].encode("utf-8"))
    field(h, l["metadata"].encode("utf-8"))
    field(h, l["time"].encode("utf-8"))
    field(h, previous)
    return h.digest()


def same_as_legacy(e, l, erased):
    """Whether the event is still the previous version's record (the server checks the same, in SQL); the data of an
    erased event differs from the record by the erasure."""
    if (e["stream"], e["version"], e["id"], e["type"], e["time"]) != (l["stream"], l["version"], l["id"], l["type"], l["time"]):
        return False
    try:
        if not erased and e.get("data") is not None and l.get("data") is not None and json.loads(e["data"]) != json.loads(l["data"]):
            return False
        m, lm = json.loads(e["metadata"]), json.loads(l["metadata"])
    except ValueError:
        return False
    headers = m.get("headers") or {}
    return (m.get("user") == lm.get("actor") and m.get("correlation") == lm.get("correlationId")
            and m.get("causation") == lm.get("causationId") and headers.get("tag") == lm.get("articleId")
            and (headers.get("requestId") or m.get("correlation")) == (lm.get("requestId") or lm.get("correlationId")))


class Broken(Exception):
    pass


def read_lines(path, what):
    """The objects of a JSON Lines file, in file order; a line that is not JSON is itself a break."""
    rows = []
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                rows.append(json.loads(raw.decode("utf-8")))
            except (UnicodeDecodeError, ValueError) as error:
                m = re.search(rb'"position"\s*:\s*(\d+)', raw)
                where = " (position %s)" % m.group(1).decode() if m else ""
                raise Broken("%s line %d%s is not valid JSON: %s" % (what, number, where, error))
    return rows


def recorded_erasures(events):
    """Erased position -> (digest of its masked data, position of the erasure), from the log's erasure events.
    An erasure counts only for positions before its own; an entry that is not well formed is ignored (a change
    that made it so breaks the erasure event's own digest)."""
    erased = {}
    for e in events:
        if e.get("type") != ERASURE_TYPE or not isinstance(e.get("data"), str):
            continue
        try:
            listed = json.loads(e["data"]).get("erased")
        except (ValueError, AttributeError):
            continue
        for x in listed if isinstance(listed, list) else []:
            if not isinstance(x, dict):
                continue
            position, digest = x.get("position"), x.get("dataDigest")
            if isinstance(position, int) and 0 < position < e["position"] and isinstance(digest, str) \
                    and re.fullmatch(r"[0-9a-f]{64}", digest):
                erased[position] = (digest, e["position"])
    return erased


def describe(e):
    return "event %d (%s, %s version %d, id %s)" % (e["position"], e["type"], e["stream"], e["version"], e["id"])


def main(argv):
    args = argv[1:]
    receipts = []
    bundle = os.path.dirname(os.path.abspath(__file__))
    i = 0
    while i < len(args):
        if args[i] == "--receipt" and i + 1 < len(args):
            receipts.append(args[i + 1])
            i += 2
        elif args[i] in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            bundle = args[i]
            i += 1
    receipts_file = os.path.join(bundle, "receipts.txt")
    if os.path.exists(receipts_file):
        with open(receipts_file, encoding="utf-8") as f:
            receipts.extend(line.strip() for line in f if line.strip())
    try:
        return verify(bundle, receipts)
    except Broken as b:
        print("BROKEN: %s" % b)
        return 1


def verify(bundle, receipts):
    events = read_lines(os.path.join(bundle, "events.jsonl"), "events.jsonl")
    chain = read_lines(os.path.join(bundle, "chain.jsonl"), "chain.jsonl")
    with open(os.path.join(bundle, "head.json"), encoding="utf-8") as f:
        head = json.load(f)

    by_position = {}
    last = 0
    for e in events:
        if e["position"] <= last:
            raise Broken("events.jsonl is out of order at position %d (after %d)" % (e["position"], last))
        last = e["position"]
        by_position[e["position"]] = e
    links = {}
    for c in chain:
        links[c["position"]] = c

    erasures = recorded_erasures(events)
    erased, erased_by = 0, set()
    previous = GENESIS
    checked = withheld = moved = moved_unchecked = 0
    last = 0
    first_broken = None
    for position in sorted(set(by_position) | set(links)):
        e = by_position.get(position)
        c = links.get(position)
        if c is None:
            first_broken = first_broken or "event %d has no chain link: it was not written by the store" % position
            continue
        link = bytes.fromhex(c["link"])
        if e is None:
            first_broken = first_broken or "event %d is missing (its chain link %s remains)" % (position, c["link"])
        else:
            data_digest = bytes.fromhex(c["data_digest"])
            metadata_digest = bytes.fromhex(c["metadata_digest"])
            if e.get("data") is None:
                withheld += 1
            elif hashlib.sha256(e["data"].encode("utf-8")).digest() != data_digest:
                now = hashlib.sha256(e["data"].encode("utf-8")).hexdigest()
                if position in erasures and now == erasures[position][0]:
                    erased += 1
                    erased_by.add(erasures[position][1])
                elif position in erasures:
                    first_broken = first_broken or "the data of %s matches neither its digest %s nor the digest %s the erasure at %d recorded (it hashes to %s)" % (
                        describe(e), c["data_digest"], erasures[position][0], erasures[position][1], now)
                else:
                    first_broken = first_broken or "the data of %s does not match its digest %s (it hashes to %s)" % (
                        describe(e), c["data_digest"], now)
            if hashlib.sha256(e["metadata"].encode("utf-8")).digest() != metadata_digest:
                first_broken = first_broken or "the metadata of %s does not match its digest %s" % (describe(e), c["metadata_digest"])
            legacy = e.get("legacy")
            if legacy is None:
                computed = link_v2(e, data_digest, metadata_digest, previous)
            elif legacy.get("data") is None:
                computed = link
                moved_unchecked += 1
            else:
                computed = link_v1(position, legacy, previous)
                moved += 1
            if computed != link:
                first_broken = first_broken or "the link of %s is %s, but its fields and the previous link give %s" % (
                    describe(e), c["link"], computed.hex())
            if legacy is not None and not same_as_legacy(e, legacy, position in erasures and e.get("data") is not None
                                                         and hashlib.sha256(e["data"].encode("utf-8")).hexdigest() == erasures[position][0]):
                first_broken = first_broken or "%s no longer matches its record from the previous version" % describe(e)
            checked += 1
        # Continue from the stored link, so one altered event is reported once, not for the whole tail.
        previous = link
        last = position
        if first_broken:
            break

    if first_broken is None:
        if last != head["position"]:
            first_broken = "the head says the chain ends at position %d, but the last link is at %d" % (head["position"], last)
        elif head["position"] > 0 and previous.hex() != head["link"]:
            first_broken = "the head's link %s differs from the link at position %d (%s)" % (head["link"], last, previous.hex())

    failed_receipts = []
    for r in receipts:
        position, _, expected = r.partition(":")
        c = links.get(int(position)) if position.isdigit() else None
        if c is None or int(position) not in by_position:
            failed_receipts.append("receipt %s: no event at position %s" % (r, position))
        elif c["link"] != expected.lower():
            failed_receipts.append("receipt %s: the event at %s now has link %s" % (r, position, c["link"]))

    if first_broken:
        print("BROKEN: " + first_broken)
    for line in failed_receipts:
        print(line)
    if first_broken or failed_receipts:
        return 1
    print("OK: %d events, head %d %s %s; %d receipt(s) hold; %d event(s) with data withheld, linked by their digests" % (
        checked, head["position"], head["link"], head.get("time", ""), len(receipts), withheld))
    if moved or moved_unchecked:
        print("moved: %d event(s) from the previous version verified by their v1 links; %d token issue(s) among them linked as stored" % (
            moved + moved_unchecked, moved_unchecked))
    if erased:
        print("erased: %d event(s) verified by the masked digests recorded by the erasure(s) at %s" % (
            erased, ", ".join(str(p) for p in sorted(erased_by))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
