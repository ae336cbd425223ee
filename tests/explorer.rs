//! The explorer's first pages against the demo (the real EU history):
//! the route page gives the right status, in words, for DE -> US on the
//! days that matter (Safe Harbor, Privacy Shield, the Court's
//! invalidation, the Data Privacy Framework), with timelines and legal
//! references; the language follows `?lang=`, then `Accept-Language`; bad
//! questions get an error page that echoes nothing unescaped; the page
//! says plainly that the browser has not verified it; a record's page
//! shows its whole history and status on a day; the log page shows the
//! checkpoint and its signers.

mod common;

use common::*;

fn page(reg: &Registry, path: &str, accept_language: Option<&str>) -> (u16, String, String) {
    let mut req = agent().get(&format!("{}{path}", reg.base));
    if let Some(l) = accept_language {
        req = req.set("Accept-Language", l);
    }
    let r = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{path}: {e}"),
    };
    let status = r.status();
    let lang = r.header("content-language").unwrap_or_default().to_owned();
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{path}"
    );
    (status, lang, r.into_string().unwrap())
}

/// The status badge of `record` on the page.
fn badge(html: &str, record: &str) -> String {
    let at = html
        .find(&format!("data-record=\"{record}\""))
        .unwrap_or_else(|| panic!("{record} is not on the page"));
    let rest = &html[at..];
    let start = rest.find("class=\"badge").unwrap();
    let text = &rest[start..];
    let open = text.find('>').unwrap() + 1;
    let close = text.find("</strong>").unwrap();
    text[open..close].to_string()
}

#[test]
fn route_page_gives_the_right_status_in_words_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    const SH: &str = "eu.ec/eu-adq-us-safeharbor-2000";
    const PS: &str = "eu.ec/eu-adq-us-privacyshield-2016";

    let (s, lang, home) = page(&reg, "/", None);
    assert_eq!((s, lang.as_str()), (200, "en"));
    assert!(home.contains("<form") && home.contains("<label for=\"from\">From</label>"));
    assert!(
        home.contains("href=\"/route?from=DE&amp;to=US&amp;at=2021-01-01&amp;lang=en\""),
        "examples to start from"
    );

    let ask = |at: &str| page(&reg, &format!("/route?from=DE&to=US&at={at}"), None);
    let (s, _, p2014) = ask("2014-01-01");
    assert_eq!(s, 200);
    assert_eq!(badge(&p2014, SH), "In force");
    let (_, _, p2016) = ask("2016-01-01");
    assert!(
        badge(&p2016, SH).starts_with("Ended"),
        "Safe Harbor, invalidated in 2015"
    );
    let (_, _, p2021) = ask("2021-01-01");
    assert!(
        badge(&p2021, PS).starts_with("Ended"),
        "Privacy Shield, invalidated in 2020"
    );
    assert!(p2021.contains("invalidated"));
    let (_, _, p2024) = ask("2024-01-01");
    assert!(
        p2024.contains("In force"),
        "the Data Privacy Framework is in force in 2024"
    );
    // Timelines with dates, legal references linked, and the plain note
    // on what this page does not check, with the way to check it.
    assert!(p2021.contains("<ol class=\"timeline\">") && p2021.contains("<time datetime=\""));
    assert!(p2021.contains("Legal reference") && p2021.contains("<a href=\"http"));
    assert!(p2021.contains("Your browser has not verified this page"));
    assert!(p2021.contains("href=\"/v1/route?from=DE&amp;to=US&amp;at=2021-01-01\""));
    assert!(p2021.contains("dfft route --from DE --to US --at 2021-01-01"));

    // Japanese: by Accept-Language, and the switch wins over it.
    let (_, lang, ja) = page(
        &reg,
        "/route?from=DE&to=US&at=2021-01-01",
        Some("ja,en;q=0.5"),
    );
    assert_eq!(lang, "ja");
    assert!(ja.contains("<html lang=\"ja\">"));
    assert!(badge(&ja, PS).starts_with("終了"), "{}", badge(&ja, PS));
    let (_, lang, en) = page(
        &reg,
        "/route?from=DE&to=US&at=2021-01-01&lang=en",
        Some("ja"),
    );
    assert_eq!(lang, "en");
    assert!(
        en.contains("lang=\"ja\">日本語</a>"),
        "the switch to Japanese"
    );

    // A route with nothing recorded says so, and not that it is allowed.
    let (s, _, none) = page(&reg, "/route?from=BR&to=JP&at=2024-01-01", None);
    assert_eq!(s, 200);
    assert!(none.contains("holds no recognition") && none.contains("not a prohibition"));

    // One record's page: its whole history, its status on the day asked.
    let (s, _, rec) = page(&reg, &format!("/record/{PS}?at=2019-01-01"), None);
    assert_eq!(s, 200);
    assert_eq!(badge(&rec, PS), "In force");
    assert!(
        rec.contains("invalidated"),
        "the whole history, the invalidation too"
    );
    assert!(rec.contains(&format!("dfft record {PS} --log URL")));
    let (_, _, rec_ja) = page(&reg, &format!("/record/{PS}?at=2021-01-01&lang=ja"), None);
    assert!(badge(&rec_ja, PS).starts_with("終了"));
    let (s, _, missing) = page(&reg, "/record/eu.ec/no-such-record", None);
    assert_eq!(s, 404);
    assert!(missing.contains("role=\"alert\""));

    // The log page: the published checkpoint and who signed it.
    let (s, _, log) = page(&reg, "/log", None);
    assert_eq!(s, 200);
    let cp = reg.checkpoint();
    assert!(
        log.contains(&format!("<dd>{}</dd>", cp.checkpoint.size)),
        "{log}"
    );
    assert!(
        log.contains(&format!("<li>{}</li>", cp.checkpoint.origin)),
        "the log's own signature"
    );
    assert!(log.contains("Your browser has not verified these signatures"));

    // Bad input: an error page with the API's status and message, and
    // nothing the request carried is echoed unescaped.
    let (s, _, bad) = page(&reg, "/route?from=%3Cscript%3E&to=US", None);
    assert_eq!(s, 400);
    assert!(bad.contains("role=\"alert\""));
    assert!(!bad.contains("<script>"), "{bad}");
    assert!(bad.contains("&lt;script&gt;"));
}

#[test]
fn feeds_authority_and_matrix_pages_and_the_verifier_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    const PS: &str = "eu.ec/eu-adq-us-privacyshield-2016";

    // Atom feeds: the route's events newest first, the invalidation with
    // its signed time; a record's own feed.
    let r = agent()
        .get(&format!("{}/route.atom?from=DE&to=US", reg.base))
        .call()
        .unwrap();
    assert!(r
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/atom+xml")));
    let feed = r.into_string().unwrap();
    assert!(
        feed.starts_with("<?xml") && feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">")
    );
    assert!(
        feed.contains(&format!("<title>{PS}: invalidated (2020-07-16)</title>")),
        "{feed}"
    );
    let first = feed.find("<entry>").unwrap();
    let grant = feed.find(&format!("<title>{PS}: granted")).unwrap();
    let invalidation = feed.find(&format!("<title>{PS}: invalidated")).unwrap();
    assert!(first < invalidation && invalidation < grant, "newest first");
    let (s, body) = reg.get(&format!("/record/{PS}.atom"));
    assert_eq!(s, 200);
    let rec_feed = String::from_utf8(body).unwrap();
    assert_eq!(rec_feed.matches("<entry>").count(), 2, "{rec_feed}");
    let (s, _) = reg.get("/route.atom?from=DE");
    assert_eq!(s, 400, "a bad question is refused");

    // Authority pages: the list and one, keys and history; records link them.
    let (s, _, list) = page(&reg, "/authorities", None);
    assert_eq!(s, 200);
    assert!(
        list.contains("data-authority=\"eu.ec\"") && list.contains("data-authority=\"eu.cjeu\"")
    );
    let (s, _, ec) = page(&reg, "/authority/eu.ec", None);
    assert_eq!(s, 200);
    assert!(ec.contains("Signing keys") && ec.contains("eu.ec+") && ec.contains("enrolled"));
    assert!(ec.contains("data-kind=\"authority\""));
    let (s, _, _) = page(&reg, "/authority/no.such", None);
    assert_eq!(s, 404);
    let (_, _, route) = page(&reg, "/route?from=DE&to=US&at=2021-01-01", None);
    assert!(route.contains("href=\"/authority/eu.ec\""));
    assert!(route.contains(&format!("href=\"/record/{PS}?at=2021-01-01\"")));

    // The matrix page: a table with headers, a legend, cells linking routes.
    let (s, _, m) = page(&reg, "/matrix?at=2024-01-01&from=DE", None);
    assert_eq!(s, 200);
    assert!(m.contains("<table class=\"matrix\">") && m.contains("<th scope=\"row\">DE</th>"));
    assert!(
        m.contains("<strong>A</strong> = adequacy decision"),
        "legend"
    );
    assert!(m.contains("href=\"/route?from=DE&amp;to=JP&amp;at=2024-01-01&amp;lang=en\""));
    let (s, _, bad) = page(&reg, "/matrix?at=2024-13-01", None);
    assert_eq!(s, 400);
    assert!(bad.contains("role=\"alert\""));

    // Every answer page carries the panel, its words, and the scripts,
    // under a policy that lets only the registry's own scripts run.
    let r = agent()
        .get(&format!("{}/route?from=DE&to=US&at=2021-01-01", reg.base))
        .call()
        .unwrap();
    let csp = r
        .header("content-security-policy")
        .unwrap_or_default()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    let html = r.into_string().unwrap();
    assert!(
        html.contains("id=\"check\"")
            && html.contains("data-api=\"/v1/route?from=DE&amp;to=US&amp;at=2021-01-01\"")
    );
    assert!(html.contains("<script type=\"module\" src=\"/explorer/page.mjs\"></script>"));
    assert!(html.contains("data-status=\"ended\""));
    // "What changed since my last visit" compares the same question: a
    // fixed day, or "today" whatever the day is.
    assert!(html.contains("data-question=\"DE|US|2021-01-01|\""));
    let (_, _, today) = page(&reg, "/route?from=DE&to=US", None);
    assert!(today.contains("data-question=\"DE|US|today|\""));
    for f in ["page.mjs", "verify.mjs"] {
        let r = agent()
            .get(&format!("{}/explorer/{f}", reg.base))
            .call()
            .unwrap();
        assert!(r
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/javascript"));
    }
    let (s, _) = reg.get("/explorer/nope.js");
    assert_eq!(s, 404);
    // Evidence to keep: every event links its c2sp.org/tlog-proof file,
    // which verifies offline against the log's key.
    let at = html.find("/v1/proof/tlog?index=").expect("a proof link");
    let index: u64 = html[at + 21..].split('"').next().unwrap().parse().unwrap();
    let (s, body) = reg.get(&format!("/v1/proof/tlog?index={index}"));
    assert_eq!(s, 200);
    let tp = dfft_core::tlog_proof::TlogProof::parse(&body).unwrap();
    assert_eq!(tp.index, index);
    tp.verify_with_extra(&reg.log_key, &[], 0).unwrap();
    let (s, _) = reg.get("/v1/proof/tlog?index=999999");
    assert_eq!(s, 404);
    let (s, _) = reg.get("/v1/proof/tlog");
    assert_eq!(s, 400);
    // The answer the page links for download is what `dfft route --answer`
    // re-verifies offline, completeness included.
    let api = html
        .split("data-api=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let (s, saved) = reg.get(&api);
    assert_eq!(s, 200);
    let file = dir.path().join("route-DE-US-2021-01-01.json");
    std::fs::write(&file, &saved).unwrap();
    let vkey = reg.log_key.to_string();
    let (code, out, err) = dfft(&[
        "route",
        "--answer",
        file.to_str().unwrap(),
        "--log-key",
        &vkey,
    ]);
    let text = out + &err;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("complete"), "{text}");
    // The record API answers with a status on a day when asked.
    let (s, v) = reg.get_json(&format!("/v1/records/{PS}?at=2021-01-01"));
    assert_eq!((s, v["status"].as_str()), (200, Some("ended")));
    let (s, _) = reg.get_json(&format!("/v1/records/{PS}?at=nope"));
    assert_eq!(s, 400);
}

#[test]
fn pages_and_answers_are_gzipped_when_asked_and_log_bytes_never() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    let gz = |path: &str| {
        let r = agent()
            .get(&format!("{}{path}", reg.base))
            .set("Accept-Encoding", "gzip")
            .call()
            .unwrap();
        let enc = r.header("content-encoding").map(str::to_owned);
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut r.into_reader(), &mut body).unwrap();
        (enc, body)
    };
    for path in [
        "/route?from=DE&to=US&at=2021-01-01",
        "/v1/route?from=DE&to=US&at=2021-01-01",
        "/explorer/verify.mjs",
    ] {
        let (enc, body) = gz(path);
        assert_eq!(enc.as_deref(), Some("gzip"), "{path}");
        assert_eq!(&body[..2], &[0x1f, 0x8b], "{path}: a gzip stream");
    }
    let (enc, body) = gz("/checkpoint");
    assert_eq!(enc, None, "the checkpoint keeps its bytes");
    assert!(body.starts_with(b"demo."));
}

#[test]
fn rules_show_beside_recognitions_with_their_summary_text_and_confidence() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start_cmd(dir.path(), &["demo"]);
    // China's security assessment restricts; its text and the source's
    // confidence (notes) are on the page.
    let (s, _, html) = page(&reg, "/route?from=CN&to=JP&at=2024-06-01&lang=en", None);
    assert_eq!(s, 200);
    assert!(html.contains("class=\"verdict-restricted\""), "{html}");
    assert!(html.contains("rule: prior assessment required"), "{html}");
    assert!(
        html.contains("important data, personal"),
        "applies to: {html}"
    );
    assert!(
        html.contains("A security assessment by the CAC"),
        "the rule's text"
    );
    assert!(
        html.contains("confidence: medium (rule-facts.json)"),
        "notes shown"
    );
    // data= keeps only the rules on that data; recognitions stay.
    let (_, _, html) = page(
        &reg,
        "/route?from=CN&to=JP&at=2024-06-01&data=health&lang=en",
        None,
    );
    assert!(html.contains("class=\"verdict-allowed\""), "{html}");
    assert!(
        !html.contains("data-record=\"cn.cac/security-assessment-2022\""),
        "shown only as left out by the filter"
    );
    // Nothing known: said so, in both languages, never "allowed".
    let (_, _, html) = page(&reg, "/route?from=PE&to=CL&at=2024-06-01&lang=en", None);
    assert!(html.contains("class=\"verdict-no_information\""), "{html}");
    assert!(html.contains("this is not an allowance"));
    let (_, _, html) = page(&reg, "/route?from=PE&to=CL&at=2024-06-01&lang=ja", None);
    assert!(html.contains("要約"), "{html}");
    // The matrix shows rules beside recognitions for China.
    let (s, _, html) = page(&reg, "/matrix?at=2025-01-01&from=CN&lang=en", None);
    assert_eq!(s, 200);
    assert!(html.contains("R:ASSESS"), "{html}");
    assert!(html.contains("td class=\"restr\""), "{html}");
    // A bad data category is the API's error, on a page.
    let (s, _, html) = page(&reg, "/route?from=CN&to=JP&data=biometric&lang=en", None);
    assert_eq!(s, 400, "{html}");
}
