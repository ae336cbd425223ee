// The explorer's verifier against the core's test vectors, in node:
// RFC 6962 proofs (transparency-dev/merkle's files), the map (keys, chains,
// trees, named bad proofs: docs/index.md), the status rule, and a signed
// checkpoint. Run by tests/explorer_verify.rs; by hand: node tests/js/vectors.mjs
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import * as v from "../../crates/dfft-server/src/explorer/assets/verify.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const core = join(root, "crates/dfft-core");
let checks = 0;

function jsonFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...jsonFiles(p));
    else if (p.endsWith(".json")) out.push(p);
  }
  return out;
}

const rawB64 = (s) => Uint8Array.from(Buffer.from(s ?? "", "base64"));

async function outcome(f) {
  try {
    await f();
    return null;
  } catch (e) {
    if (!(e instanceof v.VerifyError)) throw e;
    return e.code;
  }
}

// RFC 6962 inclusion and consistency.
const td = join(core, "tests/vectors/transparency-dev-merkle/testdata");
for (const f of jsonFiles(join(td, "inclusion"))) {
  const c = JSON.parse(readFileSync(f, "utf8"));
  const err = await outcome(() =>
    v.verifyInclusion(c.leafIdx, c.treeSize, rawB64(c.leafHash), (c.proof ?? []).map(rawB64), rawB64(c.root)),
  );
  assert.equal(err !== null, c.wantErr, `${f}: ${c.desc}: got ${err}`);
  checks++;
}
for (const f of jsonFiles(join(td, "consistency"))) {
  const c = JSON.parse(readFileSync(f, "utf8"));
  const err = await outcome(() =>
    v.verifyConsistency(c.size1, c.size2, (c.proof ?? []).map(rawB64), rawB64(c.root1), rawB64(c.root2)),
  );
  assert.equal(err !== null, c.wantErr, `${f}: ${c.desc}: got ${err}`);
  checks++;
}

// The map.
const mv = JSON.parse(readFileSync(join(core, "testdata/map/vectors.json"), "utf8"));
for (const k of mv.keys) {
  assert.equal(v.hex(await v.mapKey(k.parts)), k.hash, `key ${k.parts}`);
  checks++;
}
for (const c of mv.chains) {
  assert.equal(v.hex(await v.chainAll(c.items.map((i) => v.unhex(i)))), c.value, c.desc);
  checks++;
}
for (const t of mv.trees) {
  for (const p of t.proofs) {
    const proof = v.parseMapProof(v.unhex(p.proof));
    await v.verifyMapProof(proof, v.unhex(t.root), v.unhex(p.key), p.value === null ? null : v.unhex(p.value));
    checks++;
  }
}
for (const b of mv.bad_proofs) {
  const err = await outcome(async () => {
    const proof = v.parseMapProof(v.unhex(b.proof));
    await v.verifyMapProof(proof, v.unhex(b.root), v.unhex(b.key), b.value === null ? null : v.unhex(b.value));
  });
  assert.equal(err, b.want_err, b.desc);
  checks++;
}

// The status rule.
const sv = JSON.parse(readFileSync(join(core, "testdata/status/vectors.json"), "utf8"));
for (const c of sv.cases) {
  for (const [day, want] of Object.entries(c.on)) {
    assert.equal(v.statusOn(c.events, day), want, `${c.desc}: on ${day}`);
    checks++;
  }
}

// Coverage: DE -> US has 3 x 3 route keys in 2024; GB left the EU.
assert.equal(v.routeKeys("DE", "US", "2024-01-01").length, 3 * 2);
assert.deepEqual(v.routeKeys("GB", "JP", "2021-01-01"), [["route", "*", "GB"], ["route", "JP", "GB"]]);
assert.equal(v.routeKeys("GB", "JP", "2020-12-31").length, 2 * 3);
assert.ok(v.routeKeys("US", "NO", "2024-01-01").some((k) => k[1] === "EEA"));
assert.ok(!v.routeKeys("US", "NO", "2024-01-01").some((k) => k[1] === "EU"));
checks += 5;

// A signed checkpoint (with a witness's cosignature beside the log's).
const cpText = readFileSync(join(core, "testdata/cosignature/checkpoint"), "utf8");
const key = await v.parseVkey(readFileSync(join(core, "testdata/cosignature/log.vkey"), "utf8"));
const cp = await v.verifyCheckpoint(cpText, key);
assert.deepEqual([cp.origin, cp.size], ["example.org/log", 12345]);
assert.deepEqual(cp.signers, ["example.org/log", "witness.example/w1"]);
assert.equal(await outcome(() => v.verifyCheckpoint(cpText.replace("12345", "12346"), key)), "signature");
const other = await outcome(async () => v.verifyCheckpoint(cpText, await v.parseVkey(key.text.replace(/\+[0-9a-f]{8}\+/, "+00000000+"))));
assert.equal(other, "key");
checks += 4;

// Strict base64.
assert.equal(await outcome(() => v.b64decode("AAA")), "encoding");
assert.equal(await outcome(() => v.b64decode("AAB=")), "encoding");
assert.deepEqual(v.b64decode("AAE="), new Uint8Array([0, 1]));
checks += 3;

console.log(`vectors: ${checks} checks passed`);
