// The explorer's verifier on witness cosignatures: a checkpoint cosigned by
// one of two Ed25519 cosignature/v1 witnesses (written by the core, in
// tests/explorer_verify.rs, into DIR) meets a quorum of one and not of
// two; a changed cosignature is refused; an ML-DSA subtree/v1 witness (the
// core's vector) never counts. Usage: node tests/js/cosign.mjs DIR
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import * as v from "../../crates/dfft-server/src/explorer/assets/verify.mjs";

const dir = process.argv[2];
const core = join(dirname(fileURLToPath(import.meta.url)), "../../crates/dfft-core/testdata/cosignature");
const read = (d, f) => readFileSync(join(d, f), "utf8");
let checks = 0;
async function code(f) {
  try {
    await f();
    return null;
  } catch (e) {
    if (!(e instanceof v.VerifyError)) throw e;
    return e.code;
  }
}

const log = await v.parseVkey(read(dir, "log.vkey"));
const w1 = await v.parseWitnessKey(read(dir, "w1.vkey"));
const w2 = await v.parseWitnessKey(read(dir, "w2.vkey"));
const cp = read(dir, "checkpoint");

const one = await v.verifyCheckpoint(cp, v.withWitnesses(log, [w1, w2], 1));
assert.deepEqual(one.cosigned, [w1.name]);
checks++;
assert.equal(await code(() => v.verifyCheckpoint(cp, v.withWitnesses(log, [w1, w2], 2))), "quorum");
assert.equal(await code(() => v.verifyCheckpoint(cp, v.withWitnesses(log, [w2], 1))), "quorum");
checks += 2;
// Flip a byte of the cosignature itself (past the key ID and timestamp).
const lines = cp.split("\n");
const i = lines.findIndex((l) => l.startsWith(`\u2014 ${w1.name} `));
const sig = v.b64decode(lines[i].split(" ")[2]);
sig[20] ^= 1;
lines[i] = `\u2014 ${w1.name} ${v.b64encode(sig)}`;
assert.equal(await code(() => v.verifyCheckpoint(lines.join("\n"), v.withWitnesses(log, [w1], 0))), "signature");
checks++;
assert.equal(await code(() => v.withWitnesses(log, [w1], 2)), "key");
assert.equal(await code(() => v.parseWitnessKey(read(dir, "log.vkey"))), "key", "a log key is not a witness key");
checks += 2;

// ML-DSA: parsed, shown, never counted.
const clog = await v.parseVkey(read(core, "log.vkey"));
const mldsa = await v.parseWitnessKey(read(core, "witness-mldsa.vkey"));
const ccp = read(core, "checkpoint");
assert.deepEqual((await v.verifyCheckpoint(ccp, v.withWitnesses(clog, [mldsa], 0))).cosigned, []);
assert.equal(await code(() => v.verifyCheckpoint(ccp, v.withWitnesses(clog, [mldsa], 1))), "quorum");
checks += 2;
console.log(`cosign: ${checks} checks passed`);
