// The explorer's verifier against real answers of the demo registry, saved
// by tests/explorer_verify.rs into DIR: each honest answer verifies (with
// completeness) and gives the statuses the core gives; each lie (a proof
// byte flipped, the checkpoint changed, an invalidation hidden, a record
// dropped, the completeness part dropped, another key pinned) is refused
// with the check that catches it. Usage: node tests/js/answers.mjs DIR
import { readFileSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";
import * as v from "../../crates/dfft-server/src/explorer/assets/verify.mjs";

const dir = process.argv[2];
const read = (name) => JSON.parse(readFileSync(join(dir, name), "utf8"));
const key = await v.parseVkey(readFileSync(join(dir, "log.vkey"), "utf8"));
const expected = read("expected.json");
let checks = 0;

async function refused(what, f, code) {
  try {
    await f();
  } catch (e) {
    if (!(e instanceof v.VerifyError)) throw e;
    if (code) assert.equal(e.code, code, `${what}: ${e.message}`);
    checks++;
    return e;
  }
  assert.fail(`${what}: accepted`);
}
const clone = (x) => structuredClone(x);

for (const [at, statuses] of Object.entries(expected.route)) {
  const a = read(`route-${at}.json`);
  const ok = await v.verifyRoute(a, key);
  assert.ok(ok.complete, at);
  const got = Object.fromEntries(ok.records.map((r) => [r.record, r.status]));
  assert.deepEqual(got, statuses, `DE -> US on ${at}`);
  checks++;

  if (a.records.length > 0) {
    const t = clone(a);
    const p = v.b64decode(t.records[0].events[0].inclusion_proof[0]);
    p[0] ^= 1;
    t.records[0].events[0].inclusion_proof[0] = v.b64encode(p);
    await refused(`${at}: a proof byte flipped`, () => v.verifyRoute(t, key), "inclusion");

    const d = clone(a);
    d.records.shift();
    // With the summary of the whole answer, the summary check may see it
    // first; a liar who also drops the summary is caught by completeness.
    await refused(`${at}: a record dropped`, () => v.verifyRoute(d, key));
    delete d.summary;
    await refused(`${at}: a record and the summary dropped`, () => v.verifyRoute(d, key), "omitted");
  }
  const cpt = clone(a);
  cpt.checkpoint = cpt.checkpoint.replace(/\n(\d+)\n/, (_, n) => `\n${Number(n) + 1}\n`);
  await refused(`${at}: the checkpoint's size changed`, () => v.verifyRoute(cpt, key), "signature");

  const inc = clone(a);
  delete inc.completeness;
  await refused(`${at}: no completeness`, () => v.verifyRoute(inc, key), "missing");
  assert.equal((await v.verifyRoute(inc, key, { acceptIncomplete: true })).complete, false);
}

// Hiding the Court's invalidation of Privacy Shield in 2021: with the status
// left as the entries give it is caught by the status check; with the status
// changed to match, by the map (the record's event chain).
{
  const a = read("route-2021-01-01.json");
  const ps = a.records.findIndex((r) => r.record === expected.privacy_shield);
  assert.ok(ps >= 0, "Privacy Shield is in the 2021 answer");
  const hidden = clone(a);
  hidden.records[ps].events = hidden.records[ps].events.filter((e) => e.action !== "invalidated");
  await refused("invalidation hidden", () => v.verifyRoute(hidden, key), "record");
  hidden.records[ps].status = "in_force";
  delete hidden.summary; // a liar drops the summary it would give away
  await refused("invalidation hidden, status changed", () => v.verifyRoute(hidden, key), "events");
}

// Rules beside recognitions: each summary as the core computed it, a rule
// hidden (with the summary recomputed to match) caught by completeness, a
// verdict changed caught by the summary check.
for (const [name, want] of Object.entries(expected.rules)) {
  const a = read(name);
  const ok = await v.verifyRoute(a, key);
  assert.ok(ok.complete, name);
  assert.deepEqual(ok.summary, want, `${name}: the summary the core gives`);
  checks++;
  const ruleAt = a.records.findIndex((r) => r.rule);
  if (ruleAt >= 0) {
    const hidden = clone(a);
    hidden.records.splice(ruleAt, 1);
    delete hidden.summary;
    hidden.summary = v.summaryOf((await v.verifyRoute({ ...hidden, completeness: undefined }, key, { acceptIncomplete: true })).records);
    await refused(`${name}: a rule hidden`, () => v.verifyRoute(hidden, key), "omitted");
  }
  const lie = clone(a);
  lie.summary = { verdict: "allowed" };
  if (want.verdict !== "allowed") await refused(`${name}: the verdict changed`, () => v.verifyRoute(lie, key), "summary");
}

// Counterparty answers: the verdict the core gives; a listing dropped, its
// events dropped, or the verdict's part missing are refused.
for (const [name, want] of Object.entries(expected.parties)) {
  const a = read(name);
  const ok = await v.verifyCounterparty(a, key);
  assert.equal(ok.verdict, want, name);
  checks++;
  if (a.listings.length) {
    const gone = clone(a);
    gone.listings = [];
    await refused(`${name}: the listing part dropped`, () => v.verifyCounterparty(gone, key), "inconsistent");
    if (a.listings[0].record) {
      const ev = clone(a);
      ev.listings[0].record.events.pop();
      await refused(`${name}: the listing's event dropped`, () => v.verifyCounterparty(ev, key));
      const absent = clone(a);
      delete absent.listings[0].record;
      await refused(`${name}: a listing claimed absent`, () => v.verifyCounterparty(absent, key), "present");
    }
  }
}

// A record history, and a proven absence.
{
  const h = read("record.json");
  const ok = await v.verifyHistory(h, key, { at: expected.record_at });
  assert.equal(ok.record.status, expected.record_status);
  assert.ok(ok.complete);
  const t = clone(h);
  t.events.pop();
  await refused("history with its last event dropped", () => v.verifyHistory(t, key, { at: expected.record_at }));
  checks++;

  const absent = read("absent.json");
  await v.verifyAbsent(absent, key, expected.absent);
  await refused("absence claimed for a record the log holds", () => v.verifyAbsent(absent, key, expected.privacy_shield));
  checks++;
}

// The authority listing: every authority with its state rebuilt from its
// statements; one dropped, or one of its statements, is caught.
{
  const l = read("authorities.json");
  const ok = await v.verifyAuthorities(l, key);
  assert.ok(ok.complete);
  assert.deepEqual(ok.authorities.map((a) => a.id).sort(), expected.authorities);
  const gone = clone(l);
  gone.authorities.pop();
  await refused("an authority dropped", () => v.verifyAuthorities(gone, key), "ids");
  const st = clone(l);
  const two = st.authorities.find((a) => a.statements.length > 1);
  if (two) {
    two.statements.shift();
    await refused("an enrolment dropped", () => v.verifyAuthorities(st, key));
  }
  const comp = clone(l);
  comp.authorities[0].competence = ["ZZ"];
  await refused("a competence changed", () => v.verifyAuthorities(comp, key), "authority");
  checks++;
}

// Another key pinned.
{
  const other = await v.parseVkey(readFileSync(join(dir, "other.vkey"), "utf8"));
  await refused("another log key", () => v.verifyRoute(read("route-2024-01-01.json"), other));
}

console.log(`answers: ${checks} checks passed`);
