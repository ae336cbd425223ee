// dfft explorer: the verification panel of a page. The page is complete
// without it (server-rendered); this checks it.
//
// Covers: the log key (pinned by `#key=<vkey>` or the button, remembered
// in localStorage, else the server's own, said plainly) and witnesses
// (`#witness=<vkey>&quorum=k`, remembered with it), fetching the
// answer the page was built from (the panel's `data-api`), verifying it
// with verify.mjs (signature, every inclusion proof, completeness), the
// page's claims against it (the records shown and their statuses), the
// consistency of the log with the last checkpoint this browser verified
// (a rollback or fork is an alarm, with both signed checkpoints as
// evidence), and what changed on the route since the last visit.
//
// Leaves out: the checks themselves (verify.mjs), the words (the page
// carries them, from the server's i18n, in #check-words).

import * as v from "./verify.mjs";

const panel = document.getElementById("check");
const words = JSON.parse(document.getElementById("check-words")?.textContent ?? "{}");
const fill = (s, vars) => s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
const PIN = "dfft.pin";
const WITNESSES = "dfft.witnesses";

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, val] of Object.entries(attrs)) e.setAttribute(k, val);
  for (const c of children) e.append(c);
  return e;
}

function show(state, headline, lines = [], extra = []) {
  panel.dataset.state = state;
  const status = document.getElementById("check-state");
  status.replaceChildren(el("strong", { class: `state ${state}` }, headline));
  if (state === "failed" || state === "alarm") status.setAttribute("role", "alert");
  const summary = document.querySelector("#check-summary a");
  if (summary) {
    summary.textContent = headline;
    summary.className = `state ${state}`;
  }
  const detail = document.getElementById("check-detail");
  detail.replaceChildren(el("ul", {}, ...lines.map((l) => el("li", {}, l))), ...extra);
}

/** When the verdict came: since the navigation started, and how long the checks took. */
function stamp(t0) {
  panel.dataset.ms = String(Math.round(performance.now()));
  panel.dataset.verifyMs = String(Math.round(performance.now() - t0));
}

/** The values of `name` in the link's #fragment (`#key=...&witness=...&quorum=k`). */
function fromHash(name) {
  return location.hash
    .replace(/^#/, "")
    .split("&")
    .map((kv) => kv.split("="))
    .filter(([k, val]) => k === name && val)
    .map(([, val]) => decodeURIComponent(val));
}

function pinFromHash() {
  return fromHash("key")[0] ?? null;
}

/** Witnesses pinned by the link (remembered) or before: {witnesses, quorum}. */
function witnessPin() {
  const ws = fromHash("witness");
  if (ws.length) {
    const q = fromHash("quorum")[0];
    const pin = { witnesses: ws, quorum: q === undefined ? ws.length : Number(q) };
    localStorage.setItem(WITNESSES, JSON.stringify(pin));
    return pin;
  }
  return JSON.parse(localStorage.getItem(WITNESSES) ?? "null");
}

async function logKey() {
  const r = await logKeyAlone();
  const w = witnessPin();
  if (w) r.key = v.withWitnesses(r.key, await Promise.all(w.witnesses.map(v.parseWitnessKey)), w.quorum);
  return r;
}

async function logKeyAlone() {
  const fromLink = pinFromHash();
  if (fromLink) {
    const k = await v.parseVkey(fromLink); // a bad pin in a link is a failure, not ignored
    localStorage.setItem(PIN, k.text);
    return { key: k, pinned: true };
  }
  const stored = localStorage.getItem(PIN);
  if (stored) return { key: await v.parseVkey(stored), pinned: true };
  const r = await fetch("/v1/info", { cache: "no-store" });
  if (!r.ok) throw new Error(`/v1/info: HTTP ${r.status}`);
  return { key: await v.parseVkey((await r.json()).log_vkey), pinned: false };
}

function keyControls(key, pinned) {
  const box = el("div", { class: "pin" });
  box.append(el("p", {}, pinned ? words.key_pinned : words.key_server, " ", el("code", {}, key.text)));
  const button = el("button", { type: "button", id: "pin-button" }, pinned ? words.unpin : words.pin);
  button.addEventListener("click", () => {
    if (pinned) {
      localStorage.removeItem(PIN);
      localStorage.removeItem(WITNESSES);
    } else localStorage.setItem(PIN, key.text);
    location.reload();
  });
  box.append(button);
  return box;
}

/** The witness line, when witnesses are pinned. */
function cosignedLine(key, cp) {
  if (!key.witnesses?.length) return [];
  return [fill(words.cosigned, { n: cp.cosigned.length, m: key.witnesses.length, k: key.quorum, names: cp.cosigned.join(", ") || "–" })];
}

/** The page's claims: each record shown and its status. */
function claims() {
  const out = new Map();
  for (const a of document.querySelectorAll("[data-record]")) out.set(a.dataset.record, a.dataset.status ?? "");
  return out;
}

function evidence(kind, previous, current, reason) {
  const doc = JSON.stringify({ kind, reason, log_key: current.key, earlier: previous, now: current.checkpoint }, null, 1);
  const href = URL.createObjectURL(new Blob([doc], { type: "application/json" }));
  return [
    el("p", {}, words.evidence),
    el("h3", {}, words.earlier),
    el("pre", { class: "evidence" }, previous),
    el("h3", {}, words.now),
    el("pre", { class: "evidence" }, current.checkpoint),
    el("p", {}, el("a", { href, download: "dfft-evidence.json" }, words.download_evidence)),
  ];
}

/** Consistency with the last checkpoint this browser verified for this log. */
async function consistency(key, cp) {
  const slot = `dfft.last:${key.keyid}`;
  const previousText = localStorage.getItem(slot);
  if (!previousText) {
    localStorage.setItem(slot, cp.text);
    return { line: words.first_visit };
  }
  const prev = await v.verifyCheckpoint(previousText, key);
  if (prev.size > cp.size) {
    return { alarm: "rollback", reason: fill(words.alarm_rollback, { old: prev.size, now: cp.size }), previousText };
  }
  if (prev.size === cp.size) {
    if (!v.equal(prev.root, cp.root)) return { alarm: "fork", reason: words.alarm_fork, previousText };
    return { line: fill(words.consistent_same, { size: cp.size }) };
  }
  const r = await fetch(`/v1/proof/consistency?from=${prev.size}&to=${cp.size}`, { cache: "no-store" });
  if (!r.ok) throw new Error(`/v1/proof/consistency: HTTP ${r.status}`);
  const body = await r.json();
  try {
    await v.verifyConsistency(prev.size, cp.size, body.proof.map((h) => v.b64decode(h)), prev.root, cp.root);
  } catch (e) {
    if (!(e instanceof v.VerifyError)) throw e;
    return { alarm: "fork", reason: `${words.alarm_fork} (${e.message})`, previousText };
  }
  localStorage.setItem(slot, cp.text);
  return { line: fill(words.consistent, { old: prev.size, now: cp.size }) };
}

/** What changed on this route since this browser's last verified visit. */
function changes(question, records) {
  const slot = `dfft.route:${question}`;
  const now = Object.fromEntries(records.map((r) => [r.record, `${r.status}/${r.events.length}`]));
  const before = JSON.parse(localStorage.getItem(slot) ?? "null");
  localStorage.setItem(slot, JSON.stringify({ records: now, seen: new Date().toISOString().slice(0, 10) }));
  if (!before) return null;
  const lines = [];
  for (const [id, s] of Object.entries(now)) {
    if (!(id in before.records)) lines.push(fill(words.change_new, { id }));
    else if (before.records[id] !== s) lines.push(fill(words.change_changed, { id }));
  }
  for (const id of Object.keys(before.records)) if (!(id in now)) lines.push(fill(words.change_gone, { id }));
  const box = el("div", { class: "changes", id: "changes" }, el("h3", {}, fill(words.changes_since, { date: before.seen })));
  box.append(lines.length ? el("ul", {}, ...lines.map((l) => el("li", {}, l))) : el("p", {}, words.no_changes));
  return box;
}

async function run() {
  const t0 = performance.now();
  show("checking", words.checking);
  let key;
  let pinned;
  try {
    ({ key, pinned } = await logKey());
  } catch (e) {
    const failedPin = pinFromHash() !== null && e instanceof v.VerifyError;
    return show(failedPin ? "failed" : "unverifiable", failedPin ? words.failed : words.unverifiable, [e.message]);
  }
  const controls = keyControls(key, pinned);
  let result;
  let body;
  try {
    const r = await fetch(panel.dataset.api, { cache: "no-store" });
    if (panel.dataset.kind === "log") {
      if (!r.ok) throw new Error(`${panel.dataset.api}: HTTP ${r.status}`);
      result = { checkpoint: await v.verifyCheckpoint(await r.text(), key), log: true };
    }
    body = result ? null : await r.json();
    if (result) {
      // the log page: the checkpoint alone
    } else if (panel.dataset.kind === "route") {
      if (!r.ok) throw new Error(`${panel.dataset.api}: HTTP ${r.status}`);
      result = await v.verifyRoute(body, key);
    } else if (panel.dataset.kind === "counterparty") {
      if (!r.ok) throw new Error(`${panel.dataset.api}: HTTP ${r.status}`);
      result = await v.verifyCounterparty(body, key);
    } else if (panel.dataset.kind === "authority") {
      if (!r.ok) throw new Error(`${panel.dataset.api}: HTTP ${r.status}`);
      result = await v.verifyAuthorities(body, key);
    } else if (panel.dataset.kind === "matrix") {
      if (!r.ok) throw new Error(`${panel.dataset.api}: HTTP ${r.status}`);
      result = { checkpoint: await v.verifyCheckpoint(body.checkpoint, key), matrix: true };
    } else if (panel.dataset.kind === "record" && r.status === 404) {
      result = { ...(await v.verifyAbsent(body, key, panel.dataset.id)), absent: true, complete: true };
    } else {
      if (!r.ok) throw new Error(`${panel.dataset.api}: HTTP ${r.status}`);
      result = await v.verifyHistory(body, key, { at: panel.dataset.at });
      result.records = [result.record];
    }
  } catch (e) {
    if (e instanceof v.VerifyError) return show("failed", words.failed, [e.message], [controls]);
    return show("unverifiable", words.unverifiable, [String(e.message ?? e)], [controls]);
  }
  const cp = result.checkpoint;
  // The page must say what the verified answer says.
  let same = true;
  if (result.authorities) {
    const proven = new Map(result.authorities.map((a) => [a.id, `${a.retired}|${a.keys.join(" ")}|${a.competence.join(" ")}`]));
    const shown = [...document.querySelectorAll("[data-authority]")];
    same = shown.every((e) => proven.get(e.dataset.authority) === `${e.dataset.retired}|${e.dataset.keys}|${e.dataset.competence}`);
    if (location.pathname === "/authorities") same &&= shown.length === proven.size;
  } else if (result.log) {
    same = v.hex(result.checkpoint.root) === panel.dataset.root;
  } else if (!result.matrix) {
    const shown = claims();
    const proven = new Map((result.records ?? []).map((r) => [r.record, r.status ?? ""]));
    same = shown.size === proven.size && [...proven].every(([id, s]) => shown.get(id) === s);
    // A counterparty page also shows its verdict.
    if (result.verdict !== undefined) same &&= panel.dataset.verdict === result.verdict;
  }
  if (!same) {
    const pageSize = Number(panel.dataset.size);
    if (pageSize !== cp.size) return show("unverifiable", words.unverifiable, [words.changed_reload], [controls]);
    return show("failed", words.failed, [words.page_differs], [controls]);
  }
  let cons;
  try {
    cons = await consistency(key, cp);
  } catch (e) {
    if (e instanceof v.VerifyError) return show("failed", words.failed, [e.message], [controls]);
    return show("unverifiable", words.unverifiable, [String(e.message ?? e)], [controls]);
  }
  if (cons.alarm) {
    panel.dataset.alarm = cons.alarm;
    return show("alarm", words.alarm, [cons.reason], [...evidence(cons.alarm, cons.previousText, { key: key.text, checkpoint: cp.text }, cons.reason), controls]);
  }
  if (result.log) {
    const lines = [fill(words.signed, { size: cp.size, key: key.keyid }), pinned ? words.trust_pinned : words.trust_server, ...cosignedLine(key, cp), words.cosigners_unchecked, cons.line];
    stamp(t0);
    return show("verified", words.verified, lines, [controls]);
  }
  if (result.matrix) {
    const lines = [fill(words.signed, { size: cp.size, key: key.keyid }), pinned ? words.trust_pinned : words.trust_server, ...cosignedLine(key, cp), words.matrix_unproven, cons.line];
    stamp(t0);
    return show("unverifiable", words.unverifiable, lines, [controls]);
  }
  const events =
    (result.records ?? []).reduce((n, r) => n + r.events.length, 0) +
    (result.filtered ?? []).length +
    (result.authorities ?? []).reduce((n, a) => n + a.statements.length, 0);
  const lines = [
    fill(words.signed, { size: cp.size, key: key.keyid }),
    pinned ? words.trust_pinned : words.trust_server,
    ...cosignedLine(key, cp),
    fill(words.proofs, { n: events }),
    result.complete ? (result.absent ? words.absent_proven : words.complete) : words.incomplete,
    cons.line,
  ];
  const extra = [];
  if (panel.dataset.kind === "route") {
    const c = changes(panel.dataset.question, result.records);
    if (c) extra.push(c);
  }
  extra.push(controls);
  stamp(t0);
  show("verified", words.verified, lines, extra);
}

if (!panel) {
  // A page without an answer still takes a pin from its link.
  const pin = pinFromHash();
  if (pin) v.parseVkey(pin).then((k) => localStorage.setItem(PIN, k.text), () => {});
} else {
  run().catch((e) => show("unverifiable", words.unverifiable ?? "Could not verify", [String(e?.message ?? e)]));
}
