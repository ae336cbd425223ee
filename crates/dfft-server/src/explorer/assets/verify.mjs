// dfft explorer: the verifier that runs in the browser (and in node, for the
// tests). Written here, no dependencies: WebCrypto for SHA-256 and Ed25519.
//
// Covers: signed-note checkpoints signed by a pinned Ed25519 log key
// (C2SP signed-note, tlog-checkpoint), RFC 6962 inclusion and consistency
// proofs, DSSE entries, the sparse Merkle map of docs/index.md (keys,
// chains, compact proofs), the status rule of statements-v1 and the
// coverage of groups, and from those the checks of a route answer, a
// record history and a proven absence, completeness included: the same
// checks as dfft_core::answer and dfft_core::map::complete, in the same
// order, with the same test vectors (tests/js).
//
// Witness cosignatures: Ed25519 cosignature/v1 under witness keys the
// user pins, with a quorum; ML-DSA subtree/v1 is not in WebCrypto, so such
// witnesses never count here (`dfft route --witness-policy` checks them).
//
// Leaves out: the signers' entitlement to each
// entry (`dfft audit`), and the full statements-v1 schema (the entries are
// read for the fields the checks need). WebCrypto's Ed25519 is not
// `verify_strict`: it may accept a signature with a small-order key or R
// that the registry's own clients refuse; a key the user pins is not one.

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** A check that failed; `code` names it for the tests and the page. */
export class VerifyError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}
const fail = (code, message) => {
  throw new VerifyError(code, message);
};

// ---- bytes ----------------------------------------------------------------

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 with padding, strictly: one encoding per byte string. */
export function b64decode(s, what = "base64") {
  if (typeof s !== "string" || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    fail("encoding", `${what} is not base64`);
  }
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  if (b64encode(out) !== s) fail("encoding", `${what} is not canonical base64`);
  return out;
}

export function b64encode(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=";
    out += i + 2 < bytes.length ? B64[n & 63] : "=";
  }
  return out;
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function unhex(s, what = "hex") {
  if (typeof s !== "string" || !/^([0-9a-f]{2})*$/.test(s)) fail("encoding", `${what} is not lowercase hex`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function concat(...parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

function u16be(n) {
  return new Uint8Array([(n >> 8) & 0xff, n & 0xff]);
}

function u64be(n) {
  if (!Number.isSafeInteger(n) || n < 0) fail("encoding", `index ${n} out of range`);
  const out = new Uint8Array(8);
  const hi = Math.floor(n / 2 ** 32);
  const lo = n % 2 ** 32;
  new DataView(out.buffer).setUint32(0, hi);
  new DataView(out.buffer).setUint32(4, lo);
  return out;
}

export async function sha256(...parts) {
  return new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", concat(...parts)));
}

async function ed25519Verify(pub, sig, msg) {
  const key = await globalThis.crypto.subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
  return globalThis.crypto.subtle.verify({ name: "Ed25519" }, key, sig, msg);
}

// ---- signed notes and checkpoints -------------------------------------------

/** The key ID: SHA-256(name || 0x0A || type || public key)[0..4], as a number. */
export async function keyId(name, type, pub) {
  const d = await sha256(enc.encode(name), new Uint8Array([0x0a, type]), pub);
  return ((d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3]) >>> 0;
}

/** Parses an Ed25519 (type 0x01) verifier key `name+hexid+base64`. */
export async function parseVkey(vkey) {
  // The name has no '+'; the base64 may.
  const m = typeof vkey === "string" ? /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/.exec(vkey.trim()) : null;
  if (!m) fail("key", "not a verifier key (name+hexid+base64)");
  const [, name, idHex, b64] = m;
  const raw = b64decode(b64, "the key");
  if (raw.length !== 33 || raw[0] !== 0x01) fail("key", "not an Ed25519 (type 0x01) key");
  const pub = raw.slice(1);
  const id = parseInt(idHex, 16) >>> 0;
  if ((await keyId(name, 0x01, pub)) !== id) fail("key", "the key ID does not match the key");
  return { name, id, idHex, pub, text: vkey.trim(), keyid: `${name}+${idHex}` };
}

/**
 * Parses a witness key: Ed25519 `cosignature/v1` (type 0x04), which the
 * browser checks, or ML-DSA-44 `subtree/v1` (type 0x06), which WebCrypto
 * cannot (it never counts towards a quorum here).
 */
export async function parseWitnessKey(vkey) {
  const m = typeof vkey === "string" ? /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/.exec(vkey.trim()) : null;
  if (!m) fail("key", "not a witness key (name+hexid+base64)");
  const [, name, idHex, b64] = m;
  const raw = b64decode(b64, "the witness key");
  if (raw.length < 2 || (raw[0] !== 0x04 && raw[0] !== 0x06)) fail("key", `${name}: not a witness key (type 0x04 or 0x06)`);
  if (raw[0] === 0x04 && raw.length !== 33) fail("key", `${name}: an Ed25519 key is 32 bytes`);
  const id = parseInt(idHex, 16) >>> 0;
  if ((await keyId(name, raw[0], raw.slice(1))) !== id) fail("key", `${name}: the key ID does not match the key`);
  return { name, id, pub: raw.slice(1), type: raw[0], text: vkey.trim() };
}

/** The log key with witnesses whose cosignatures every checkpoint needs, `quorum` of them. */
export function withWitnesses(key, witnesses, quorum) {
  if (!Number.isSafeInteger(quorum) || quorum < 0 || quorum > witnesses.length) {
    fail("key", `a quorum of ${quorum} out of ${witnesses.length} witnesses`);
  }
  return { ...key, witnesses, quorum };
}

/**
 * Checks a checkpoint's signature by `key` (from parseVkey) and, if the
 * key carries witnesses (withWitnesses), their cosignature/v1 lines and
 * quorum; parses it: {origin, size, root, text, signers, cosigned}.
 */
export async function verifyCheckpoint(text, key) {
  if (typeof text !== "string") fail("checkpoint", "no checkpoint");
  const sep = text.indexOf("\n\n");
  if (sep < 0 || !text.endsWith("\n")) fail("checkpoint", "the checkpoint is not a signed note");
  const body = text.slice(0, sep + 1);
  const sigLines = text.slice(sep + 2, -1).split("\n");
  const lines = body.slice(0, -1).split("\n");
  const [origin, sizeText, rootText, ...ext] = lines;
  if (!origin || rootText === undefined) fail("checkpoint", "the checkpoint lacks origin, size or root");
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) {
    fail("checkpoint", "the checkpoint size is not a decimal number");
  }
  if (ext.some((l) => l === "")) fail("checkpoint", "empty extension line");
  const root = b64decode(rootText, "the root hash");
  if (root.length !== 32) fail("checkpoint", "the root hash is not 32 bytes");
  if (origin !== key.name) fail("checkpoint", `the checkpoint is for the log "${origin}", not "${key.name}"`);
  const signers = [];
  let ok = false;
  for (const line of sigLines) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) fail("checkpoint", "a signature line is malformed");
    signers.push(m[1]);
    const sig = b64decode(m[2], "a signature");
    if (m[1] !== key.name || sig.length < 4) continue;
    const id = ((sig[0] << 24) | (sig[1] << 16) | (sig[2] << 8) | sig[3]) >>> 0;
    if (id !== key.id) continue;
    if (sig.length !== 68 || !(await ed25519Verify(key.pub, sig.slice(4), enc.encode(body)))) {
      fail("signature", "the checkpoint's signature by the log key does not verify");
    }
    ok = true;
  }
  if (!ok) fail("signature", `the checkpoint is not signed by the key ${key.keyid}`);
  const cosigned = [];
  for (const w of key.witnesses ?? []) {
    for (const line of sigLines) {
      const [, name, b64] = /^\u2014 (\S+) (\S+)$/.exec(line);
      const sig = b64decode(b64, "a signature");
      if (name !== w.name || sig.length < 4) continue;
      if ((((sig[0] << 24) | (sig[1] << 16) | (sig[2] << 8) | sig[3]) >>> 0) !== w.id) continue;
      if (w.type !== 0x04) continue; // subtree/v1: not checkable here
      // tlog-cosignature: key ID, u64 timestamp, Ed25519 over
      // "cosignature/v1\ntime <t>\n" and the checkpoint body.
      if (sig.length !== 76) fail("signature", `the cosignature of witness ${w.name} is malformed`);
      const t = new DataView(sig.buffer, sig.byteOffset + 4, 8).getBigUint64(0);
      const msg = enc.encode(`cosignature/v1\ntime ${t}\n${body}`);
      if (!(await ed25519Verify(w.pub, sig.slice(12), msg))) {
        fail("signature", `the cosignature of witness ${w.name} does not verify`);
      }
      if (!cosigned.includes(w.name)) cosigned.push(w.name);
    }
  }
  const quorum = key.quorum ?? 0;
  if (cosigned.length < quorum) {
    const missing = (key.witnesses ?? []).map((w) => w.name).filter((n) => !cosigned.includes(n));
    fail("quorum", `${cosigned.length} of the ${quorum} witness cosignatures required (not cosigned by: ${missing.join(", ")})`);
  }
  return { origin, size: Number(sizeText), root, text, signers, cosigned };
}

// ---- RFC 6962 -------------------------------------------------------------

export const leafHash = (entry) => sha256(new Uint8Array([0]), entry);
const nodeHash = (l, r) => sha256(new Uint8Array([1]), l, r);
const half = (n) => Math.floor(n / 2);
const odd = (n) => n % 2 === 1;

/** RFC 9162 2.1.3.2: does `proof` show `leaf` at `index` in the tree `size`, `root`? */
export async function verifyInclusion(index, size, leaf, proof, root) {
  if (!(index < size)) fail("inclusion", `index ${index} is beyond the tree size ${size}`);
  if (leaf.length !== 32 || root.length !== 32) fail("inclusion", "a leaf or root hash is not 32 bytes");
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (p.length !== 32) fail("inclusion", "a proof hash is not 32 bytes");
    if (sn === 0) fail("inclusion", "the inclusion proof is too long");
    if (odd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail("inclusion", "the inclusion proof is too short");
  if (!equal(r, root)) fail("inclusion", "the inclusion proof does not lead to the checkpoint's root");
}

/** RFC 9162 2.1.4.2: is the tree (size2, root2) an extension of (size1, root1)? */
export async function verifyConsistency(size1, size2, proof, root1, root2) {
  if (size1 === 0) fail("consistency", "no consistency proof from the empty tree");
  if (size2 < size1) fail("consistency", `the new tree (${size2}) is smaller than the old (${size1})`);
  if (size1 === size2) {
    if (proof.length !== 0) fail("consistency", "a proof between equal sizes must be empty");
    if (!equal(root1, root2)) fail("consistency", "the same size with another root");
    return;
  }
  if (root1.length !== 32 || root2.length !== 32) fail("consistency", "a root hash is not 32 bytes");
  if (proof.length === 0) fail("consistency", "the consistency proof is empty");
  for (const p of proof) if (p.length !== 32) fail("consistency", "a proof hash is not 32 bytes");
  let path = proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  if (fn === 0) path = [root1, ...proof]; // size1 is a power of two
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) fail("consistency", "the consistency proof is too long");
    if (odd(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) fail("consistency", "the consistency proof is too short");
  if (!equal(fr, root1)) fail("consistency", "the proof does not lead to the old root: the log forked");
  if (!equal(sr, root2)) fail("consistency", "the proof does not lead to the new root");
}

// ---- DSSE entries -------------------------------------------------------------

/** What every entry carries (dsse::PAYLOAD_TYPE). */
export const PAYLOAD_TYPE = "application/vnd.dfft.statement.v1+json";

/** An entry (canonical DSSE envelope bytes): {payloadType, payload, signatures}. */
export function parseEnvelope(bytes) {
  let text;
  let env;
  try {
    text = dec.decode(bytes);
    env = JSON.parse(text);
  } catch {
    fail("entry", "the entry is not JSON");
  }
  const shape =
    env && typeof env === "object" && typeof env.payload === "string" && typeof env.payloadType === "string" &&
    Array.isArray(env.signatures) &&
    env.signatures.every((s) => s && typeof s.keyid === "string" && typeof s.sig === "string" && Object.keys(s).length === 2) &&
    Object.keys(env).length === 3;
  if (!shape) fail("entry", "the entry is not a DSSE envelope");
  // RFC 8785 for an object of strings: members in order, strings as JSON.stringify.
  const canonical =
    `{"payload":${JSON.stringify(env.payload)},"payloadType":${JSON.stringify(env.payloadType)},"signatures":[` +
    env.signatures.map((s) => `{"keyid":${JSON.stringify(s.keyid)},"sig":${JSON.stringify(s.sig)}}`).join(",") +
    "]}";
  if (canonical !== text) fail("entry", "the entry is not in canonical form");
  if (env.payloadType !== PAYLOAD_TYPE) fail("entry", `the entry's payload type is not ${PAYLOAD_TYPE}`);
  const payload = b64decode(env.payload, "the payload");
  return { payloadType: env.payloadType, payload, signatures: env.signatures };
}

export function pae(type, payload) {
  const t = enc.encode(type);
  return concat(enc.encode(`DSSEv1 ${t.length} `), t, enc.encode(` ${payload.length} `), payload);
}

function statementOf(env) {
  try {
    return JSON.parse(dec.decode(env.payload));
  } catch {
    return fail("entry", "the statement is not JSON");
  }
}

// ---- the map (docs/index.md) --------------------------------------------------

const MAP_TAG = enc.encode("dfft-map/v1");
const CHAIN_TAG = enc.encode("dfft-map/v1 chain");
export const EMPTY = new Uint8Array(32);

/** The key of a list of parts, e.g. ["route", "US", "DE"]. */
export function mapKey(parts) {
  const bytes = [MAP_TAG, new Uint8Array([0])];
  for (const p of parts) {
    const b = enc.encode(p);
    bytes.push(u16be(b.length), b);
  }
  return sha256(...bytes);
}

export const chain = (prev, item) => sha256(CHAIN_TAG, new Uint8Array([0]), prev, item);

/** The value after `items`, or null for none. */
export async function chainAll(items) {
  let v = null;
  for (const item of items) v = await chain(v ?? EMPTY, item);
  return v;
}

export const entryItem = (index, leaf) => concat(u64be(index), leaf);
export const idItem = (id) => {
  const b = enc.encode(id);
  return concat(u16be(b.length), b);
};

const bit = (key, i) => (key[i >> 3] >> (7 - (i & 7))) & 1;

/** The strict parser of the compact map proof encoding. */
export function parseMapProof(b) {
  let o = 0;
  const take = (n) => {
    if (o + n > b.length) fail("encoding", "map proof encoding: truncated");
    const s = b.slice(o, o + n);
    o += n;
    return s;
  };
  const tag = take(1)[0];
  let terminal;
  if (tag === 0) terminal = { kind: "leaf" };
  else if (tag === 1) terminal = { kind: "empty" };
  else if (tag === 2) terminal = { kind: "other", key: take(32), value: take(32) };
  else fail("encoding", "map proof encoding: unknown terminal tag");
  const dd = take(2);
  const depth = (dd[0] << 8) | dd[1];
  if (depth > 256) fail("encoding", "map proof encoding: depth over 256");
  const bitmap = take(Math.ceil(depth / 8));
  if (depth % 8 !== 0 && (bitmap[depth >> 3] & (0xff >> depth % 8)) !== 0) {
    fail("encoding", "map proof encoding: a bitmap bit past the depth is set");
  }
  const siblings = [];
  for (let i = 0; i < depth; i++) {
    if (bitmap[i >> 3] & (0x80 >> (i & 7))) {
      const s = take(32);
      if (equal(s, EMPTY)) fail("encoding", "map proof encoding: a listed sibling is the empty hash");
      siblings.push(s);
    } else siblings.push(EMPTY);
  }
  if (o !== b.length) fail("encoding", "map proof encoding: trailing bytes");
  return { terminal, siblings };
}

/** Does `proof` show `key` with `value` (null: absent) under `root`? */
export async function verifyMapProof(proof, root, key, value) {
  const depth = proof.siblings.length;
  const t = proof.terminal;
  let h;
  if (t.kind === "leaf") {
    if (value === null) fail("present", "the map proof shows the key present, but the answer says it is absent");
    h = await sha256(new Uint8Array([0]), key, value);
  } else if (value !== null) {
    fail("absent", "the map proof shows the key absent, but the answer gives it a value");
  } else if (t.kind === "empty") {
    h = EMPTY;
  } else {
    if (equal(t.key, key)) fail("other_leaf", "the absence proof's other leaf is the key itself");
    for (let i = 0; i < depth; i++) {
      if (bit(t.key, i) !== bit(key, i)) fail("other_leaf", "the absence proof's other leaf is not on the key's path");
    }
    h = await sha256(new Uint8Array([0]), t.key, t.value);
  }
  if (depth > 0 && equal(proof.siblings[depth - 1], EMPTY)) {
    fail("not_canonical", "the map proof is not in the tree's canonical shape");
  }
  for (let i = depth - 1; i >= 0; i--) {
    const s = proof.siblings[i];
    h = bit(key, i) === 0 ? await sha256(new Uint8Array([1]), h, s) : await sha256(new Uint8Array([1]), s, h);
  }
  if (!equal(h, root)) fail("root", `the map proof gives root ${hex(h)}, not the map root ${hex(root)}`);
}

// ---- statements-v1: groups, coverage, status ------------------------------------

// Group memberships, a copy of dfft_core's tables (jurisdiction.rs): a test
// there checks this block against them. [code, first day, last day or null].
// BEGIN MEMBERSHIPS
export const MEMBERSHIPS = {
  "EU": [["BE","1958-01-01",null],["DE","1958-01-01",null],["FR","1958-01-01",null],["IT","1958-01-01",null],["LU","1958-01-01",null],["NL","1958-01-01",null],["DK","1973-01-01",null],["IE","1973-01-01",null],["GB","1973-01-01","2020-12-31"],["GR","1981-01-01",null],["ES","1986-01-01",null],["PT","1986-01-01",null],["AT","1995-01-01",null],["FI","1995-01-01",null],["SE","1995-01-01",null],["CY","2004-05-01",null],["CZ","2004-05-01",null],["EE","2004-05-01",null],["HU","2004-05-01",null],["LV","2004-05-01",null],["LT","2004-05-01",null],["MT","2004-05-01",null],["PL","2004-05-01",null],["SK","2004-05-01",null],["SI","2004-05-01",null],["BG","2007-01-01",null],["RO","2007-01-01",null],["HR","2013-07-01",null]],
  "EEA_ONLY": [["IS","1994-01-01",null],["NO","1994-01-01",null],["LI","1995-05-01",null]]
};
// END MEMBERSHIPS

const inTable = (table, code, date) =>
  table.some(([c, from, until]) => c === code && from <= date && (until === null || date <= until));

function hasMember(group, code, date) {
  if (group === "EU") return inTable(MEMBERSHIPS.EU, code, date);
  return inTable(MEMBERSHIPS.EU, code, date) || inTable(MEMBERSHIPS.EEA_ONLY, code, date);
}

/** Jurisdiction::covers: equal codes; a group over a member that day; EEA over EU. */
export function covers(j, other, date) {
  if (j === other) return true;
  if (j === "EEA" && other === "EU") return true;
  return (j === "EU" || j === "EEA") && /^[A-Z]{2}$/.test(other) && hasMember(j, other, date);
}

const destCovers = (d, other, date) => d === "*" || covers(d, other, date);

/** map::route_keys: every (to, from) key a route question depends on. */
export function routeKeys(from, to, at) {
  const froms = [...new Set([from, "EU", "EEA"])].filter((j) => covers(j, from, at)).sort();
  const tos = [...new Set(["*", to, "EU", "EEA"])].filter((d) => destCovers(d, to, at)).sort();
  const out = [];
  for (const t of tos) for (const f of froms) out.push(["route", t, f]);
  return out;
}

const KEEPS_IN_FORCE = new Set(["granted", "amended", "renewed", "reinstated", "listed", "recertified", "scope_changed"]);

/**
 * The status rule (statement::status): events {index, action, effective,
 * expires} where expires is undefined (absent), null or a date.
 */
export function statusOn(events, date) {
  const eff = events.filter((e) => e.effective <= date);
  const later = (a, b) => (a.effective > b.effective || (a.effective === b.effective && a.index > b.index) ? a : b);
  if (eff.length === 0) return null;
  const last = eff.reduce(later);
  switch (last.action) {
    case "suspended":
      return "suspended";
    case "invalidated":
    case "revoked":
    case "withdrawn":
    case "removed":
      return "ended";
    case "expired":
      return "expired";
    case "lapsed":
      return "inactive";
    default: {
      const setters = eff.filter((e) => KEEPS_IN_FORCE.has(e.action) && e.expires !== undefined);
      const expiry = setters.length ? setters.reduce(later).expires : null;
      return expiry !== null && expiry < date ? "expired" : "in_force";
    }
  }
}

// ---- answers --------------------------------------------------------------------

const hashes = (list, what) => {
  if (!Array.isArray(list)) fail("encoding", `${what} is not a list`);
  return list.map((h) => {
    const b = b64decode(h, what);
    if (b.length !== 32) fail("encoding", `${what}: a hash is not 32 bytes`);
    return b;
  });
};

/** Rule::terms: what a rule's grant fixes, in the record head's JSON order (undefined for a recognition). */
function ruleTerms(st) {
  if (st.kind !== "rule") return undefined;
  const t = { requires: st.requires, categories: st.applies_to?.categories };
  if (st.satisfied_by !== undefined) t.satisfied_by = st.satisfied_by;
  return t;
}

/** DataCategory::covers: a rule on `c` applies to data of category `asked`. */
export function categoryCovers(c, asked) {
  return c === asked || (c === "personal" && asked === "sensitive_personal") || (c === "important_data" && asked === "core_data");
}

/** RouteFilter::passes: mechanism= filters recognitions, data= filters rules. */
function passes(a, head) {
  if (head.rule) return !a.data || head.rule.categories.some((c) => categoryCovers(c, a.data));
  return !a.mechanism || a.mechanism === head.mechanism;
}

const RESTRICTS = new Set(["prohibited", "prior_assessment", "prior_approval"]);

/** Summary::of: the route summary over the verified records (statement/summary.rs), in its JSON order. */
export function summaryOf(records) {
  const all = [...records].sort((x, y) => (x.record < y.record ? -1 : x.record > y.record ? 1 : 0));
  const inForce = all.filter((h) => h.status === "in_force");
  const recognised = inForce.filter((h) => !h.rule).map((h) => h.record);
  const restrictions = [], conditions = [], met = [];
  for (const h of inForce) {
    if (!h.rule) continue;
    const by = h.rule.satisfied_by ?? [];
    const metBy = by.length === 0 && h.rule.requires === "recognition"
      ? recognised.slice()
      : by.filter((id) => inForce.some((r) => r.record === id));
    const note = { record: h.record, requires: h.rule.requires };
    if (metBy.length) note.met_by = metBy;
    if (metBy.length) met.push(note);
    else if (RESTRICTS.has(h.rule.requires)) restrictions.push(note);
    else conditions.push(note);
  }
  const verdict = restrictions.length ? "restricted"
    : conditions.length ? "conditions"
    : recognised.length || met.length ? "allowed"
    : all.length ? "none_in_force" : "no_information";
  const out = { verdict };
  if (recognised.length) out.recognised = recognised;
  if (restrictions.length) out.restrictions = restrictions;
  if (conditions.length) out.conditions = conditions;
  if (met.length) out.met = met;
  return out;
}

/** RecordAnswer::verify: every event included and really that event; the status recomputed. */
export async function verifyRecord(r, cp, at) {
  const bad = (reason) => fail("record", `record ${r.record}: ${reason}`);
  const events = [];
  let last = -1;
  for (const ev of r.events ?? []) {
    const entErr = (reason) => fail("entry", `event at index ${ev.index}: ${reason}`);
    if (!(ev.index > last)) bad("events are not in log order");
    last = ev.index;
    const entry = b64decode(ev.entry, "an entry");
    const leaf = await leafHash(entry);
    try {
      await verifyInclusion(ev.index, cp.size, leaf, hashes(ev.inclusion_proof, "an inclusion proof"), cp.root);
    } catch (e) {
      fail(e.code ?? "inclusion", `event at index ${ev.index}: ${e.message}`);
    }
    const st = statementOf(parseEnvelope(entry));
    if (st.kind !== "recognition" && st.kind !== "rule" && st.kind !== "listing") entErr("entry is not a recognition, rule or listing statement");
    if (st.record !== r.record) entErr("entry belongs to another record");
    if (st.action !== ev.action || st.effective !== ev.effective || st.authority !== ev.authority) {
      entErr("entry's action, effective date or authority differ from the answer's");
    }
    if (st.kind === "listing") {
      // A listing's from and to are its programme's (the administrator's enrolment).
      const terms = { programme: st.programme, programme_id: st.organisation?.programme_id };
      if (JSON.stringify(terms) !== JSON.stringify(r.listing) || r.mechanism !== undefined || r.rule !== undefined) {
        entErr("entry's kind, programme or organisation differ from the record's");
      }
    } else {
      if (st.mechanism !== r.mechanism || st.from !== r.from || st.to !== r.to) {
        entErr("entry's mechanism, from or to differ from the record's");
      }
      if (JSON.stringify(ruleTerms(st)) !== JSON.stringify(r.rule) || r.listing !== undefined) {
        entErr("entry's kind or rule terms (requires, categories, satisfied_by) differ from the record's");
      }
      const rl = st.requires_listing && { programme: st.requires_listing.programme, data: st.requires_listing.data };
      // Fixed by the grant: later events may leave it out.
      if ((events.length === 0 || rl !== undefined) && JSON.stringify(rl) !== JSON.stringify(r.requires_listing)) {
        entErr("entry's requires_listing differs from the record's");
      }
    }
    events.push({
      index: ev.index,
      action: st.action,
      effective: st.effective,
      expires: Object.hasOwn(st, "expires") ? st.expires : undefined,
      authority: st.authority,
      leaf,
      legal: st.legal_reference,
      data: st.kind === "listing" ? st.data : undefined,
    });
  }
  if (events.length === 0) bad("no events");
  const opener = r.listing ? "listed" : "granted";
  if (events[0].action !== opener) bad(`first event is not \`${opener}\``);
  if (events[0].authority !== r.authority) bad("authority is not the granting authority");
  const head = { record: r.record, mechanism: r.mechanism, rule: r.rule, listing: r.listing, requires_listing: r.requires_listing, from: r.from, to: r.to, events };
  if (at !== undefined) {
    const status = statusOn(events, at);
    if (status !== (r.status ?? null)) bad(`claimed status ${r.status ?? "none"} but the entries give ${status ?? "none"} on ${at}`);
    head.status = status;
  }
  return head;
}

/** Completeness::verify_index: the index entry is the checkpoint's last leaf, signed by the log. */
async function verifyIndex(c, cp, key) {
  const entry = b64decode(c.index_entry, "index_entry");
  const env = parseEnvelope(entry);
  if (env.signatures.length !== 1 || env.signatures[0].keyid !== key.keyid) {
    fail("index_entry", `index entry: not signed by the log key ${key.keyid} alone`);
  }
  const sig = b64decode(env.signatures[0].sig, "the index signature");
  if (sig.length !== 64 || !(await ed25519Verify(key.pub, sig, pae(env.payloadType, env.payload)))) {
    fail("index_entry", `index entry: not signed by the log key ${key.keyid} alone`);
  }
  const ix = statementOf(env);
  const keys = Object.keys(ix).sort().join(",");
  if (ix.kind !== "index" || keys !== "first,kind,last,log,map_root,previous") fail("index_entry", "index entry: not an index payload");
  const canonical = `{"first":${ix.first},"kind":"index","last":${ix.last},"log":${JSON.stringify(ix.log)},"map_root":${JSON.stringify(ix.map_root)},"previous":${ix.previous === null ? "null" : ix.previous}}`;
  if (dec.decode(env.payload) !== canonical) fail("index_entry", "index entry: the payload is not canonical");
  if (cp.size === 0) fail("encoding", "completeness: the checkpoint is empty");
  const want = cp.size - 1;
  if (ix.last !== want) fail("stale", `stale map: the index entry covers entries up to ${ix.last}, but the checkpoint's last leaf is entry ${want}`);
  if (ix.log !== cp.origin) fail("wrong_log", `the index entry is for the log \`${ix.log}\`, not \`${cp.origin}\``);
  try {
    await verifyInclusion(want, cp.size, await leafHash(entry), hashes(c.index_proof, "index_proof"), cp.root);
  } catch (e) {
    fail("index_inclusion", `the index entry is not the checkpoint's last leaf: ${e.message}`);
  }
  const root = b64decode(ix.map_root, "map_root");
  if (root.length !== 32) fail("index_entry", "index entry: map_root is not 32 bytes");
  return { ...ix, root };
}

const keyName = (parts) => parts.join(" ");

/** Completeness::proven: every listed key's proof, by key name. */
async function proven(c, root) {
  const out = new Map();
  for (const kp of c.keys ?? []) {
    const name = keyName(kp.key);
    const value = kp.value === undefined ? null : unhex(kp.value, `value of \`${name}\``);
    if (value !== null && value.length !== 32) fail("encoding", `value of \`${name}\` is not 32 bytes of hex`);
    const k = await mapKey(kp.key);
    try {
      await verifyMapProof(parseMapProof(b64decode(kp.proof, `proof of \`${name}\``)), root, k, value);
    } catch (e) {
      fail(e.code, `map proof for key \`${name}\`: ${e.message}`);
    }
    if (kp.ids !== undefined) {
      const chained = await chainAll(kp.ids.map(idItem));
      if (!(chained === null ? value === null : value !== null && equal(chained, value))) {
        fail("ids", `key \`${name}\`: the ids listed are not the ones the map holds`);
      }
    }
    out.set(name, { value, ids: kp.ids });
  }
  return out;
}

async function checkRecordValue(p, head) {
  const name = keyName(["record", head.record]);
  const got = p.get(name);
  if (!got) fail("no_proof", `no map proof for key \`${name}\``);
  const chained = await chainAll(head.events.map((e) => entryItem(e.index, e.leaf)));
  if (!(chained === null ? got.value === null : got.value !== null && equal(chained, got.value))) {
    fail("events", `record ${head.record}: the map holds another event history than the answer's ${head.events.length} event(s) (an event was dropped or added)`);
  }
}

/**
 * RouteAnswer::verify then Completeness::verify_route. Returns
 * {checkpoint, records: [head with status], filtered: [head], complete, mapRoot}.
 * Without a completeness part the answer is refused unless `acceptIncomplete`.
 */
export async function verifyRoute(a, key, { acceptIncomplete = false } = {}) {
  const cp = await verifyCheckpoint(a.checkpoint, key);
  const records = [];
  const seen = new Set();
  for (const r of a.records ?? []) {
    if (seen.has(r.record)) fail("record", `record ${r.record}: listed twice`);
    seen.add(r.record);
    const head = await verifyRecord(r, cp, a.at);
    if (head.status === null) fail("record", `record ${r.record}: no status on the date`);
    if (!passes(a, head) || !covers(head.from, a.from, a.at) || !destCovers(head.to, a.to, a.at)) {
      fail("record", `record ${r.record}: does not cover the route asked about`);
    }
    records.push(head);
  }
  const summary = summaryOf(records);
  if (a.summary !== undefined && JSON.stringify(a.summary) !== JSON.stringify(summary)) {
    fail("summary", `the answer's summary is not the one its records give: it says ${JSON.stringify(a.summary)}, they give ${JSON.stringify(summary)}`);
  }
  const c = a.completeness;
  if (!c) {
    if (!acceptIncomplete) fail("missing", "the answer carries no completeness proof (an older server?); it proves only that the cited entries are in the log");
    return { checkpoint: cp, records, filtered: [], complete: false, summary };
  }
  const ix = await verifyIndex(c, cp, key);
  const p = await proven(c, ix.root);
  const onKeys = new Map();
  for (const k of routeKeys(a.from, a.to, a.at)) {
    const name = keyName(k);
    const got = p.get(name);
    if (!got) fail("no_proof", `no map proof for key \`${name}\``);
    if (got.value !== null && got.ids === undefined) fail("ids", `key \`${name}\`: the ids listed are not the ones the map holds`);
    for (const id of got.ids ?? []) {
      if (onKeys.has(id)) fail("record", `record ${id}: listed on two route keys`);
      onKeys.set(id, name);
    }
  }
  const done = new Set();
  for (const head of records) {
    if (!onKeys.has(head.record)) fail("record", `record ${head.record}: is on none of the question's route keys`);
    await checkRecordValue(p, head);
    done.add(head.record);
  }
  const filtered = [];
  for (const r of c.filtered ?? []) {
    if (!onKeys.has(r.record) || done.has(r.record)) {
      fail("record", `record ${r.record}: filtered but not on a route key, or listed twice`);
    }
    done.add(r.record);
    const head = await verifyRecord(r, cp, a.at);
    if (head.events.length !== 1) fail("record", `record ${r.record}: a record left out must carry its granted event alone`);
    const filteredOut = !passes(a, head);
    const notYet = head.events[0].effective > a.at;
    if (!filteredOut && !notYet) fail("filtered_matches", `record ${r.record} was filtered out but matches the question`);
    filtered.push(head);
  }
  for (const [id, name] of onKeys) {
    if (!done.has(id)) fail("omitted", `record ${id} is on route key \`${name}\` but the answer leaves it out`);
  }
  return { checkpoint: cp, records, filtered, complete: true, mapRoot: ix.root, summary };
}

/** RecordHistory::verify then Completeness::verify_record. */
export async function verifyHistory(h, key, { at, acceptIncomplete = false } = {}) {
  const cp = await verifyCheckpoint(h.checkpoint, key);
  const head = await verifyRecord(h, cp, at);
  if (!h.completeness) {
    if (!acceptIncomplete) fail("missing", "the answer carries no completeness proof (an older server?); it proves only that the cited entries are in the log");
    return { checkpoint: cp, record: head, complete: false };
  }
  const ix = await verifyIndex(h.completeness, cp, key);
  await checkRecordValue(await proven(h.completeness, ix.root), head);
  return { checkpoint: cp, record: head, complete: true };
}

/** Completeness::verify_absent for a 404 body: the record has no value in the map. */
export async function verifyAbsent(body, key, recordId) {
  if (!body.checkpoint || !body.completeness) fail("missing", "the 404 carries no proof of absence");
  const cp = await verifyCheckpoint(body.checkpoint, key);
  const ix = await verifyIndex(body.completeness, cp, key);
  const p = await proven(body.completeness, ix.root);
  const name = keyName(["record", recordId]);
  const got = p.get(name);
  if (!got) fail("no_proof", `no map proof for key \`${name}\``);
  if (got.value !== null) fail("present", `the log says there is nothing under \`${name}\`, but the map holds a value for it`);
  return { checkpoint: cp };
}

/**
 * wire::Authorities::verify then Completeness::verify_authorities: every
 * statement included and about that authority, in log order; the state
 * shown is the one they give (AuthorityState::after: enroll and update set
 * name, competence and keys; retire keeps them); the listing names exactly
 * the authorities the map lists, each with every statement about it.
 * Returns {checkpoint, authorities: [state with statements], complete}.
 */
export async function verifyAuthorities(l, key, { acceptIncomplete = false } = {}) {
  const cp = await verifyCheckpoint(l.checkpoint, key);
  const out = [];
  const seen = new Set();
  for (const item of l.authorities ?? []) {
    const err = (reason) => fail("authority", `authority ${item.authority}: ${reason}`);
    if (seen.has(item.authority)) err("listed twice");
    seen.add(item.authority);
    if (!item.statements?.length) err("the listing carries none of its statements, so its state cannot be checked");
    let state = null;
    const statements = [];
    for (const st of item.statements) {
      if (state && !(st.index > state.set_at_index)) err("its statements are not in log order");
      const entry = b64decode(st.entry, "an entry");
      const leaf = await leafHash(entry);
      try {
        await verifyInclusion(st.index, cp.size, leaf, hashes(st.inclusion_proof, "an inclusion proof"), cp.root);
      } catch (e) {
        fail(e.code ?? "inclusion", `statement at index ${st.index}: ${e.message}`);
      }
      const s = statementOf(parseEnvelope(entry));
      if (s.kind !== "authority") fail("entry", `statement at index ${st.index}: entry is not an authority statement`);
      if (s.authority !== item.authority) fail("entry", `statement at index ${st.index}: entry is about authority ${s.authority}`);
      state =
        s.action === "retire" && state
          ? { ...state, retired: true, set_at_index: st.index }
          : { id: s.authority, name: s.name ?? "", competence: s.competence ?? [], keys: s.keys ?? [], programmes: s.programmes ?? [], retired: false, set_at_index: st.index };
      statements.push({ index: st.index, action: s.action, issued_at: s.issued_at, leaf });
    }
    const last = item.statements[item.statements.length - 1];
    const sameList = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
    const match =
      state.name === item.name && state.retired === item.retired && state.set_at_index === item.set_at_index &&
      last.entry === item.entry && last.index === item.set_at_index &&
      sameList(state.competence, item.competence ?? []) && sameList(state.keys, item.keys ?? []) &&
      JSON.stringify(state.programmes ?? []) === JSON.stringify(item.programmes ?? []);
    if (!match) err("the state listed (name, competence, keys, retired or the statement that set it) is not the one its statements give");
    out.push({ ...state, statements });
  }
  const c = l.completeness;
  if (!c) {
    if (!acceptIncomplete) fail("missing", "the answer carries no completeness proof (an older server?); it proves only that the cited entries are in the log");
    return { checkpoint: cp, authorities: out, complete: false };
  }
  const ix = await verifyIndex(c, cp, key);
  const p = await proven(c, ix.root);
  const all = p.get("authorities");
  if (!all) fail("no_proof", "no map proof for key `authorities`");
  const listed = new Set(all.ids ?? []);
  if ((all.value !== null && all.ids === undefined) || listed.size !== seen.size || [...seen].some((id) => !listed.has(id))) {
    fail("ids", "key `authorities`: the ids listed are not the ones the map holds");
  }
  for (const a of out) {
    const name = keyName(["authority", a.id]);
    const got = p.get(name);
    if (!got) fail("no_proof", `no map proof for key \`${name}\``);
    const chained = await chainAll(a.statements.map((s) => entryItem(s.index, s.leaf)));
    if (!(chained === null ? got.value === null : got.value !== null && equal(chained, got.value))) {
      fail("authority_statements", `authority ${a.id}: the map holds other statements about it than the listing's ${a.statements.length} (one was dropped or added)`);
    }
  }
  return { checkpoint: cp, authorities: out, complete: true };
}

/** ListingData kinds a listing record covers on `at` (RecordHead::listing_data_on). */
function listingDataOn(head, at) {
  const later = (a, b) => (a.effective > b.effective || (a.effective === b.effective && a.index > b.index) ? a : b);
  const stated = head.events.filter((e) => e.effective <= at && e.data !== undefined);
  return stated.length ? stated.reduce(later).data : [];
}

/**
 * CounterpartyAnswer::verify (dfft_core::counterparty): the route part,
 * complete; exactly the programmes its recognitions require; each listing's
 * history complete, or its absence proven; then the verdict. Returns
 * {checkpoint, records (route and listing heads), complete, summary, verdict}.
 */
export async function verifyCounterparty(a, key) {
  const route = await verifyRoute(a.route, key);
  const cp = route.checkpoint;
  const wanted = [...new Set(route.records.filter((h) => h.requires_listing).map((h) => h.requires_listing.programme))].sort();
  const given = (a.listings ?? []).map((l) => l.programme).sort();
  if (JSON.stringify(wanted) !== JSON.stringify(given)) {
    fail("inconsistent", `counterparty answer: the answer gives listings for [${given.join(", ")}], the route's recognitions require [${wanted.join(", ")}]`);
  }
  const at = a.route.at;
  const listings = new Map();
  for (const l of a.listings ?? []) {
    const id = `${l.programme}/${a.org}`;
    if (l.record) {
      if (l.record.record !== id) fail("inconsistent", `counterparty answer: the listing under ${l.programme} is record ${l.record.record}, not ${id}`);
      const h = await verifyHistory({ checkpoint: a.route.checkpoint, ...l.record, completeness: l.completeness }, key, { at });
      if (!h.record.listing) fail("inconsistent", `counterparty answer: record ${id} is not a listing`);
      listings.set(l.programme, h.record);
    } else {
      await verifyAbsent({ checkpoint: a.route.checkpoint, completeness: l.completeness }, key, id);
      listings.set(l.programme, null);
    }
  }
  // CounterpartyVerdict::of.
  const bases = [];
  const other = [];
  for (const h of route.records) {
    if (h.rule) continue;
    if (!h.requires_listing) {
      if (h.status === "in_force") other.push(h.record);
      continue;
    }
    const l = listings.get(h.requires_listing.programme) ?? null;
    const ls = l ? l.status ?? null : null;
    const data = l ? listingDataOn(l, at) : [];
    const covers = a.data ? data.includes(a.data) && h.requires_listing.data.includes(a.data) : data.length > 0;
    bases.push({ recognition: h.record, applies: h.status === "in_force" && ls === "in_force" && covers, listing_status: ls });
  }
  const verdict = bases.some((b) => b.applies) ? "listed" : other.length ? "other_basis" : "none";
  const records = [...route.records, ...[...listings.values()].filter((h) => h)];
  return { checkpoint: cp, records, filtered: route.filtered, complete: true, summary: route.summary, verdict, bases, other };
}
