"""The explorer in a real browser (Debian's Chromium, headless, through
Selenium and chromedriver), driven by tests/browser.rs, which starts the
registries and passes their addresses.

Between the browser and the registry sits a proxy of this script, so that
the test can lie on the wire: flip a byte of an inclusion proof, change the
signed checkpoint, change what the page says, or switch the upstream to a
copy of the log rolled back to an older size. Checked:
- DE -> US on 2014-01-01, 2016-01-01, 2021-01-01 and 2024-01-01: the
  statuses read from the page are the ones the core computes (passed in by
  the harness), and the panel says verified, under a key pinned by a link;
- each lie on the wire: the panel says verification failed, as an alert;
- the rollback: the panel raises the alarm, with both checkpoints;
- a second visit says what changed since the first;
- keyboard only: every control of the form and the route page is reached
  with Tab, in order, with a visible focus, and Enter asks the question;
- axe-core (4.12) finds no serious or critical violation on each page;
- the Japanese page verifies too.
Writes screenshots (desktop and phone widths) and a JSON of measurements
(page weight, time to a verified verdict) into --out.
"""

import argparse
import base64
import gzip
import http.server
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

MODE = {"upstream": None, "tamper": None}
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


def tamper(path, ctype, body):
    t = MODE["tamper"]
    if t is None:
        return body
    if path.startswith("/v1/route") and "json" in ctype:
        a = json.loads(body)
        if t == "proof":
            for r in a["records"]:
                for e in r["events"]:
                    if e["inclusion_proof"]:
                        h = bytearray(base64.b64decode(e["inclusion_proof"][0]))
                        h[0] ^= 1
                        e["inclusion_proof"][0] = base64.b64encode(bytes(h)).decode()
                        return json.dumps(a).encode()
        if t == "checkpoint":
            lines = a["checkpoint"].split("\n")
            lines[1] = str(int(lines[1]) + 1)
            a["checkpoint"] = "\n".join(lines)
            return json.dumps(a).encode()
        if t == "drop_record":
            a["records"] = a["records"][1:]
            return json.dumps(a).encode()
    if t == "page_status" and path.startswith("/route") and "html" in ctype:
        # The page claims Privacy Shield is still in force in 2021.
        return body.replace(b'data-status="ended"', b'data-status="in_force"', 1)
    return body


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = MODE["upstream"] + self.path
        req = urllib.request.Request(url, headers={k: v for k, v in self.headers.items() if k.lower() not in HOP | {"host"}})
        try:
            r = urllib.request.urlopen(req, timeout=30)
            status, headers, body = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers, e.read()
        # The registry gzips for a browser that asks; lies are told in
        # the clear, then gzipped again, so the page weight stays real.
        gz = headers.get("content-encoding", "") == "gzip"
        if gz:
            body = gzip.decompress(body)
        body = tamper(self.path, headers.get("content-type", ""), body)
        if gz:
            body = gzip.compress(body)
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in HOP:
                self.send_header(k, v)
        if gz:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def start_proxy():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{srv.server_address[1]}"


def browser(width=1280, height=900):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}", "--lang=en-US"]:
        o.add_argument(a)
    o.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


class Check:
    def __init__(self):
        self.n = 0

    def __call__(self, cond, what):
        if not cond:
            raise AssertionError(what)
        self.n += 1


check = Check()


def verdict(d, timeout=30):
    try:
        WebDriverWait(d, timeout).until(lambda d: d.find_element(By.ID, "check").get_attribute("data-state") not in (None, "", "checking"))
    except Exception as e:
        logs = [l["message"] for l in d.get_log("browser")]
        text = d.find_element(By.ID, "check").text if d.find_elements(By.ID, "check") else "(no panel)"
        raise AssertionError(f"{d.current_url}: no verdict in {timeout} s ({type(e).__name__}): {text}; console: {logs}")
    p = d.find_element(By.ID, "check")
    return p.get_attribute("data-state"), p.text


def statuses(d):
    return {a.get_attribute("data-record"): a.get_attribute("data-status") for a in d.find_elements(By.CSS_SELECTOR, "article[data-record]")}


def weight(d):
    """Bytes over the wire for the page, its scripts and its fetches."""
    return d.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return [n, ...performance.getEntriesByType('resource')]"
        ".reduce((s, e) => s + (e.transferSize || e.encodedBodySize || 0), 0);"
    )


def axe(d, js, page):
    d.execute_script(js)
    res = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => [v.id, v.impact, v.nodes.length])));"
    )
    bad = [v for v in res if v[1] in ("serious", "critical")]
    check(not bad, f"axe on {page}: {bad}")
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--good", required=True, help="the registry")
    ap.add_argument("--old", required=True, help="a copy of it rolled back to an older size")
    ap.add_argument("--vkey", required=True)
    ap.add_argument("--witness-vkey", required=True, help="a cosignature/v1 key that signs nothing")
    ap.add_argument("--expected", required=True, help="JSON: date -> {record: status}")
    ap.add_argument("--axe", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    expected = json.load(open(a.expected))
    axe_js = open(a.axe).read()
    MODE["upstream"] = a.good
    base = start_proxy()
    pin = "#key=" + urllib.request.quote(a.vkey, safe="")
    report = {"pages": {}}
    d = browser()
    try:
        # 1. The four days, verified under the pinned key.
        for at, want in expected.items():
            d.get(f"{base}/route?from=DE&to=US&at={at}{pin if at == '2014-01-01' else ''}")
            state, text = verdict(d)
            check(state == "verified", f"{at}: panel says {state}: {text}")
            check(statuses(d) == want, f"{at}: page shows {statuses(d)}, core says {want}")
            check("pinned in this browser" in text, f"{at}: the pinned key is not said: {text}")
            report["pages"][f"route {at}"] = {
                "bytes": weight(d),
                # From navigation start to the verified verdict, and the checks alone.
                "ms_to_verified": int(d.find_element(By.ID, "check").get_attribute("data-ms")),
                "ms_checks": int(d.find_element(By.ID, "check").get_attribute("data-verify-ms")),
                # For scale: the page's own load, same run (navigation start to load end).
                "ms_page_load": int(d.execute_script("const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime;")),
            }
        # A second visit says what changed since the first.
        d.get(f"{base}/route?from=DE&to=US&at=2021-01-01")
        state, text = verdict(d)
        check(state == "verified" and "since your last visit" in text and "Nothing changed." in text, f"second visit: {text}")

        # 2. Lies on the wire.
        for t, why in [("proof", "inclusion proof"), ("checkpoint", "signature"), ("drop_record", "leaves it out"), ("page_status", "other records or statuses")]:
            MODE["tamper"] = t
            d.get(f"{base}/route?from=DE&to=US&at=2021-01-01")
            state, text = verdict(d)
            role = d.find_element(By.ID, "check-state").get_attribute("role")
            check(state == "failed" and role == "alert", f"tamper {t}: panel says {state} ({role}): {text}")
            check(why in text, f"tamper {t}: the reason is not named: {text}")
        MODE["tamper"] = None

        # 2b. A witness pinned by a link: the demo's checkpoints carry no
        # cosignature, so the quorum is not met; the pin is remembered,
        # and forgotten with the button.
        wpin = "&witness=" + urllib.request.quote(a.witness_vkey, safe="") + "&quorum=1"
        d.get(f"{base}/route?from=DE&to=US&at=2024-01-01{pin}{wpin}")
        state, text = verdict(d)
        check(state == "failed" and "witness cosignatures required" in text, f"witness quorum: {state}: {text}")
        d.get(f"{base}/route?from=DE&to=US&at=2016-01-01")
        state, text = verdict(d)
        check(state == "failed" and "witness cosignatures required" in text, f"witness pin remembered: {state}: {text}")
        d.find_element(By.ID, "pin-button").click()
        WebDriverWait(d, 30).until(lambda d: d.find_element(By.ID, "check").get_attribute("data-state") not in (None, "", "checking", "failed"))
        state, text = verdict(d)
        check(state == "verified" and "No key is pinned" in text, f"pins forgotten: {state}: {text}")
        d.get(f"{base}/route?from=DE&to=US&at=2014-01-01{pin}")
        state, text = verdict(d)
        check(state == "verified" and "pinned in this browser" in text, f"pinned again: {state}: {text}")

        # 3. Japanese.
        d.get(f"{base}/route?from=DE&to=US&at=2024-01-01&lang=ja")
        state, text = verdict(d)
        check(state == "verified" and "ブラウザで検証済み" in text, f"ja: {state}: {text}")

        # 4. Accessibility, and screenshots at two widths.
        pages = {
            "home": "/",
            "route": "/route?from=DE&to=US&at=2021-01-01",
            "route-ja": "/route?from=DE&to=US&at=2021-01-01&lang=ja",
            "record": "/record/eu.ec/eu-adq-us-privacyshield-2016?at=2021-01-01",
            "absent": "/record/eu.ec/no-such-record",
            "log": "/log",
            "authorities": "/authorities",
            "authority": "/authority/eu.ec",
            "matrix": "/matrix?at=2024-01-01&from=DE",
            # Statements v2: rules beside recognitions, and a counterparty
            # (a never-listed organisation: the map proves the absence).
            "rules": "/route?from=CN&to=JP&at=2024-06-01",
            "counterparty": "/counterparty?from=DE&to=US&org=initech&at=2024-01-01",
        }
        for name, path in pages.items():
            d.get(base + path)
            if name != "home":
                state, text = verdict(d)
                # The matrix carries no proofs: its panel says so, and that
                # each cell's route page verifies it.
                want = "unverifiable" if name == "matrix" else "verified"
                check(state == want, f"{name}: {state}: {text}")
                if name == "matrix":
                    check("not proven" in text and "signed by the log key" in text, f"matrix: {text}")
                    cell = d.find_element(By.CSS_SELECTOR, "table.matrix td a")
                    check("/route?" in cell.get_attribute("href"), "matrix cell links its route")
            report["pages"].setdefault(name, {})["axe_violations"] = axe(d, axe_js, name)
        for width, height, tag in [(1280, 900, "desktop"), (390, 844, "phone")]:
            d.set_window_size(width, height)
            for name, path in pages.items():
                d.get(base + path)
                if name != "home":
                    verdict(d)
                h = d.execute_script("return document.documentElement.scrollHeight")
                d.set_window_size(width, min(max(h + 140, height), 4000))
                d.save_screenshot(f"{a.out}/{name}-{tag}.png")
                d.set_window_size(width, height)
        d.set_window_size(1280, 900)

        # 5. Keyboard only.
        def tab():
            ActionChains(d).send_keys(Keys.TAB).perform()
            return d.switch_to.active_element

        d.get(base + "/?lang=en")
        order = []
        for _ in range(12):
            e = tab()
            name = e.get_attribute("id") or e.tag_name
            if not order or order[-1] != name:  # a date input has a stop per field
                order.append(name)
            outline = d.execute_script("const s = getComputedStyle(arguments[0]); return s.outlineStyle + ' ' + s.outlineWidth;", e)
            check(not outline.startswith("none"), f"no visible focus on {name}: {outline}")
        check(order[0] == "a" and [x for x in order if x != "a"][:4] == ["from", "to", "at", "button"], f"tab order on /: {order}")
        d.get(base + "/?lang=en")
        for _ in range(10):
            if tab().get_attribute("id") == "from":
                break
        d.switch_to.active_element.send_keys("DE")
        tab().send_keys("US", Keys.ENTER)
        state, text = verdict(d)
        check(state == "verified" and "/route?" in d.current_url, f"asked by keyboard: {d.current_url}: {state}")
        focusable = d.execute_script(
            "return [...document.querySelectorAll('a[href], button, input:not([type=hidden]), summary, [tabindex]')]"
            ".filter(e => e.offsetParent !== null).length;"
        )
        seen = set()
        for _ in range(3 * focusable):
            e = tab()
            if e.tag_name != "body":
                seen.add(e.id)
        check(len(seen) >= focusable, f"route page: {len(seen)} of {focusable} controls reached with Tab")
        report["keyboard_tab_stops_route"] = focusable

        # 6. The log rolled back: the alarm, with the evidence.
        MODE["upstream"] = a.old
        d.get(f"{base}/route?from=DE&to=US&at=2021-01-01")
        state, text = verdict(d)
        p = d.find_element(By.ID, "check")
        check(state == "alarm" and p.get_attribute("data-alarm") == "rollback", f"rollback: {state}: {text}")
        check(len(d.find_elements(By.CSS_SELECTOR, "#check pre.evidence")) == 2, "rollback: both checkpoints shown")
        check(d.find_element(By.ID, "check-state").get_attribute("role") == "alert", "rollback: an alert")
        d.save_screenshot(f"{a.out}/alarm-desktop.png")
    finally:
        d.quit()
    report["checks"] = check.n
    json.dump(report, open(f"{a.out}/report.json", "w"), indent=1)
    print(f"browser: {check.n} checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"browser: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
