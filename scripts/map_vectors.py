#!/usr/bin/env python3
"""Independent implementation of the dfft-map/v1 format (docs/index.md), written
from the document only, that writes the known-answer vectors of
crates/dfft-core/testdata/map/. The Rust tests check the core against them.

Usage: python3 scripts/map_vectors.py crates/dfft-core/testdata/map
"""
import hashlib, json, os, sys, base64

EMPTY = bytes(32)

def sha(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()

def lp(s):
    b = s.encode()
    return len(b).to_bytes(2, 'big') + b

def key_hash(parts):
    return sha(b"dfft-map/v1\x00", *[lp(p) for p in parts])

def chain(prev, item):
    return sha(b"dfft-map/v1 chain\x00", prev if prev is not None else EMPTY, item)

def entry_item(index, leaf):
    return index.to_bytes(8, 'big') + leaf

def leaf_h(k, v):
    return sha(b"\x00", k, v)

def node_h(l, r):
    return sha(b"\x01", l, r)

def bit(k, i):
    return (k[i // 8] >> (7 - i % 8)) & 1

def root(kv, depth=0):
    if not kv:
        return EMPTY
    if len(kv) == 1:
        return leaf_h(*kv[0])
    l = [x for x in kv if bit(x[0], depth) == 0]
    r = [x for x in kv if bit(x[0], depth) == 1]
    return node_h(root(l, depth + 1), root(r, depth + 1))

def prove(kv, key):
    sibs = []
    depth = 0
    s = kv
    while True:
        if not s:
            term = b"\x01"; break
        if len(s) == 1:
            k, v = s[0]
            term = b"\x00" if k == key else b"\x02" + k + v
            break
        b = bit(key, depth)
        same = [x for x in s if bit(x[0], depth) == b]
        other = [x for x in s if bit(x[0], depth) != b]
        sibs.append(root(other, depth + 1))
        s = same
        depth += 1
    d = len(sibs)
    bitmap = bytearray((d + 7) // 8)
    for i, h in enumerate(sibs):
        if h != EMPTY:
            bitmap[i // 8] |= 0x80 >> (i % 8)
    return term + d.to_bytes(2, 'big') + bytes(bitmap) + b"".join(h for h in sibs if h != EMPTY)

def hx(b):
    return b.hex()

def main(out):
    keys = [
        ["record", "eu.ec/adequacy-jp"],
        ["route", "US", "DE"],
        ["route", "*", "EEA"],
        ["authority", "de.bfdi"],
        ["authorities"],
    ]
    key_vectors = [{"parts": p, "hash": hx(key_hash(p))} for p in keys]
    leaf = sha(b"\x00", b"an entry")
    chains = [
        {"desc": "one event", "items": [hx(entry_item(7, leaf))]},
        {"desc": "two events", "items": [hx(entry_item(7, leaf)), hx(entry_item(12, sha(b"x")))]},
        {"desc": "a route: two record ids", "items": [hx(lp("eu.ec/a")), hx(lp("eu.ec/b"))]},
    ]
    for c in chains:
        v = None
        for it in c["items"]:
            v = chain(v, bytes.fromhex(it))
        c["value"] = hx(v)
    trees = []
    def tree(desc, kv, probes):
        kv = sorted(kv)
        t = {"desc": desc, "entries": [[hx(k), hx(v)] for k, v in kv], "root": hx(root(kv)), "proofs": []}
        d = dict(kv)
        for p in probes:
            t["proofs"].append({"key": hx(p), "value": hx(d[p]) if p in d else None, "proof": hx(prove(kv, p))})
        trees.append(t)
    def k1(b0, b31=0):
        return bytes([b0]) + bytes(30) + bytes([b31])
    val = lambda i: sha(b"value", bytes([i]))
    tree("empty map", [], [k1(0)])
    tree("one leaf at the root", [(k1(0x10), val(1))], [k1(0x10), k1(0x90), k1(0x11)])
    tree("split at bit 2", [(k1(0x00), val(1)), (k1(0x20), val(2))], [k1(0x00), k1(0x20), k1(0x80), k1(0x40), k1(0x10)])
    tree("keys differing in the last bit only (leaves at depth 256)", [(k1(0x55, 0), val(1)), (k1(0x55, 1), val(2))], [k1(0x55, 0), k1(0x55, 1), k1(0x55, 2)])
    typed = [(key_hash(p), sha(b"v", "/".join(p).encode())) for p in keys]
    tree("the typed keys above", typed, [k for k, _ in typed] + [key_hash(["record", "absent/x"])])
    many = [(sha(b"k", bytes([i])), val(i)) for i in range(40)]
    tree("40 pseudo-random keys", many, [many[0][0], many[17][0], sha(b"absent")])
    # Bad proofs, each named after its corruption, against tree 2.
    base = trees[2]
    r = bytes.fromhex(base["root"])
    good = bytes.fromhex(base["proofs"][0]["proof"])
    k = base["proofs"][0]["key"]; v = base["proofs"][0]["value"]
    bad = [
        {"desc": "trailing-garbage", "proof": hx(good + b"\x00"), "want_err": "encoding"},
        {"desc": "truncated", "proof": hx(good[:-1]), "want_err": "encoding"},
        {"desc": "unknown-terminal-tag", "proof": hx(b"\x03" + good[1:]), "want_err": "encoding"},
        {"desc": "bitmap-bit-past-depth", "proof": hx(good[:3] + bytes([good[3] | 0x01]) + good[4:]), "want_err": "encoding"},
        {"desc": "depth-over-256", "proof": hx(b"\x01" + (257).to_bytes(2, 'big') + bytes(33)), "want_err": "encoding"},
        {"desc": "listed-sibling-is-empty", "proof": hx(b"\x01\x00\x01\x80" + bytes(32)), "want_err": "encoding"},
        {"desc": "modified-sibling[0]-bit", "proof": hx(good[:-1] + bytes([good[-1] ^ 1])), "want_err": "root"},
        {"desc": "presence-claimed-absent", "proof": hx(good), "value": None, "want_err": "present"},
        {"desc": "absence-claimed-present", "proof": base["proofs"][2]["proof"], "key": base["proofs"][2]["key"], "value": hx(val(9)), "want_err": "absent"},
        {"desc": "proof-for-another-key", "proof": base["proofs"][1]["proof"], "want_err": "root"},
    ]
    for b in bad:
        b.setdefault("key", k)
        if "value" not in b:
            b["value"] = v
        b["root"] = hx(r)
    # Index entry payloads.
    index = [
        {"desc": "first index entry", "first": 0, "last": 5, "log": "registry.example.org/log", "map_root": base64.b64encode(bytes.fromhex(trees[4]["root"])).decode(), "previous": None},
        {"desc": "a later one", "first": 6, "last": 9, "log": "registry.example.org/log", "map_root": base64.b64encode(EMPTY).decode(), "previous": 5},
    ]
    for ix in index:
        payload = '{"first":%d,"kind":"index","last":%d,"log":%s,"map_root":"%s","previous":%s}' % (
            ix["first"], ix["last"], json.dumps(ix["log"]), ix["map_root"], "null" if ix["previous"] is None else ix["previous"])
        ix["payload"] = payload
    doc = {"keys": key_vectors, "chains": chains, "trees": trees, "bad_proofs": bad, "index_payloads": index}
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "vectors.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")

main(sys.argv[1] if len(sys.argv) > 1 else "crates/dfft-core/testdata/map")
