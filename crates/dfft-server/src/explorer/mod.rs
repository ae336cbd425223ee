//! The explorer (issue 15): HTML pages for people, rendered by the
//! registry from the typed query layer (`crate::query`), working without
//! JavaScript, in English and Japanese ([`i18n`]).
//!
//! Covers, here: `/` (the question "may data go from X to Y on D?" as a
//! form, with examples, and the answer below it when asked), `/route` (the
//! same page for a question), `/record/<id>` (one record's whole history,
//! its status on `at=`, default today), `/log` (the published checkpoint
//! and who signed it), each record with its status in words, its timeline
//! and its legal references and proof files linked, the records shown to
//! be left out, and how to verify the answer offline; the language switch
//! (`?lang=`, else `Accept-Language`); the scripts (`/explorer/<file>`).
//! In submodules: the matrix page ([`matrix`]), the authority pages
//! ([`authority`]), the Atom feeds ([`feed`]), escaping and the page around
//! a body ([`html`]).
//!
//! Each answer page carries a verification panel (`Panel`): the scripts
//! in `assets/` (`/explorer/verify.mjs`, `/explorer/page.mjs`) fetch the
//! JSON answer the page was built from, verify it in the browser and
//! check the page's claims against it; without JavaScript the panel says
//! the browser has not verified the page, and how to do it offline.
//!
//! Leaves out: the checks themselves (`dfft_core` on the server side,
//! `assets/verify.mjs` in the browser).

mod authority;
mod counterparty;
mod feed;
mod html;
pub mod i18n;
mod matrix;

pub use authority::{authorities_page, authority_page};
pub use matrix::matrix_page;

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use dfft_core::answer::{RecordAnswer, RouteAnswer};
use dfft_core::statement::registry::{RouteFilter, Submission};
use dfft_core::statement::{DataCategory, Date, Jurisdiction, Mechanism, Statement};

use crate::error::ApiPath;
use crate::error::{ApiError, ApiQuery};
use crate::query::{date_param, record_typed, route_typed};
use crate::App;
pub use counterparty::counterparty_page;
use html::{attr, esc};
use i18n::{Lang, Words};

/// The question of a page, as asked (kept as typed, for the form).
struct Question {
    from: String,
    to: String,
    at: String,
    mechanism: Option<String>,
}

impl Question {
    fn of(q: &HashMap<String, String>) -> Question {
        let get = |k: &str| q.get(k).map(|s| s.trim().to_owned()).unwrap_or_default();
        Question {
            from: get("from"),
            to: get("to"),
            at: get("at"),
            mechanism: q.get("mechanism").filter(|m| !m.is_empty()).cloned(),
        }
    }

    fn asked(&self) -> bool {
        !self.from.is_empty() || !self.to.is_empty()
    }

    /// The query string of this question (for links), with `lang`.
    fn query(&self, lang: Lang) -> String {
        let mut s = format!("from={}&to={}", urlencode(&self.from), urlencode(&self.to));
        if !self.at.is_empty() {
            let _ = write!(s, "&at={}", urlencode(&self.at));
        }
        if let Some(m) = &self.mechanism {
            let _ = write!(s, "&mechanism={}", urlencode(m));
        }
        let _ = write!(s, "&lang={}", lang.tag());
        s
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// `GET /` and `GET /route`: the form, and the answer when asked.
pub async fn route_page(
    State(app): State<App>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Response {
    let lang = lang_of(&q, &headers);
    let w = lang.words();
    let question = Question::of(&q);
    let mut body = String::new();
    form(&mut body, w, lang, &question);
    let mut status = StatusCode::OK;
    if question.asked() {
        match answer(&app, &q) {
            Ok(ans) => render_answer(&mut body, w, lang, &ans, question.at.is_empty()),
            Err(e) => {
                status = e.status;
                error_section(&mut body, w, &e);
            }
        }
    } else {
        examples(&mut body, w, lang);
    }
    let page = html::page(lang, w.title, &body, &switch_href(&question, lang));
    respond(status, lang, page)
}

/// Questions to start from: the history of transfers to the US, in four
/// days (Safe Harbor, its invalidation, Privacy Shield's, the DPF).
const EXAMPLES: &[(&str, &str, &str)] = &[
    ("DE", "US", "2014-01-01"),
    ("DE", "US", "2016-01-01"),
    ("DE", "US", "2021-01-01"),
    ("DE", "US", "2024-01-01"),
    ("GB", "US", "2024-01-01"),
    ("JP", "GB", "2021-01-01"),
];

fn examples(out: &mut String, w: &Words, lang: Lang) {
    let _ = write!(
        out,
        "<section aria-labelledby=\"ex\"><h2 id=\"ex\">{}</h2><ul>",
        esc(w.examples)
    );
    for (from, to, at) in EXAMPLES {
        let _ = write!(
            out,
            "<li><a href=\"/route?from={from}&amp;to={to}&amp;at={at}&amp;lang={l}\">{from} → {to}, {at}</a></li>",
            l = lang.tag()
        );
    }
    out.push_str("</ul></section>");
}

fn lang_of(q: &HashMap<String, String>, headers: &HeaderMap) -> Lang {
    Lang::choose(
        q.get("lang").map(String::as_str),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// What a page may load: its own scripts and the API, nothing else (the
/// style is inline).
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn respond(status: StatusCode, lang: Lang, page: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_LANGUAGE, lang.tag()),
            (header::VARY, "Accept-Language"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        page,
    )
        .into_response()
}

/// `GET /route.atom?from=&to=[&mechanism=]`: the route's events as a feed.
pub async fn route_feed(
    State(app): State<App>,
    headers: HeaderMap,
    ApiQuery(mut q): ApiQuery<HashMap<String, String>>,
) -> Response {
    let lang = lang_of(&q, &headers);
    let w = lang.words();
    // A feed follows the route today.
    q.remove("at");
    let a = match answer(&app, &q) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let mut records: Vec<&RecordAnswer> = a.records.iter().collect();
    if let Some(c) = &a.completeness {
        records.extend(c.filtered.iter());
    }
    let mech = a.mechanism.map(|m| m.to_string()).unwrap_or_default();
    let mut query = format!("from={}&to={}", a.from, a.to);
    if !mech.is_empty() {
        let _ = write!(query, "&mechanism={mech}");
    }
    let origin = &app.shared.published().signed.checkpoint.origin;
    let feed = feed::atom(
        w,
        &format!("urn:dfft:{origin}:route:{}:{}:{mech}", a.from, a.to),
        &format!("{} → {} — {}", a.from, a.to, w.title),
        &format!("/route.atom?{query}"),
        &format!("/route?{query}"),
        &records,
    );
    respond_feed(lang, feed)
}

fn respond_feed(lang: Lang, feed: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/atom+xml; charset=utf-8"),
            (header::CONTENT_LANGUAGE, lang.tag()),
            (header::VARY, "Accept-Language"),
        ],
        feed,
    )
        .into_response()
}

/// `GET /explorer/<file>`: the scripts, written here and compiled in.
pub async fn asset(ApiPath(name): ApiPath<String>) -> Response {
    let body = match name.as_str() {
        "verify.mjs" => include_str!("assets/verify.mjs"),
        "page.mjs" => include_str!("assets/page.mjs"),
        _ => return (StatusCode::NOT_FOUND, "no such file\n").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The page that answers a refused question: `body` so far, then the
/// error, with the error's status.
fn error_page(mut body: String, lang: Lang, e: &ApiError, switch: &str) -> Response {
    let w = lang.words();
    error_section(&mut body, w, e);
    respond(e.status, lang, html::page(lang, w.title, &body, switch))
}

fn error_section(out: &mut String, w: &Words, e: &ApiError) {
    let _ = write!(
        out,
        "<section aria-labelledby=\"err\"><h2 id=\"err\">{}</h2><p role=\"alert\">{}</p></section>",
        esc(w.error),
        esc(&e.message)
    );
}

/// `GET /record/<id>[?at=D]`: one record's whole history.
pub async fn record_page(
    State(app): State<App>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Response {
    let lang = lang_of(&q, &headers);
    let w = lang.words();
    if let Some(rid) = id.strip_suffix(".atom") {
        // A record whose id itself ends in ".atom" keeps its page.
        if let Ok(h) = record_typed(&app, rid, None) {
            let origin = app.shared.published().signed.checkpoint.origin.clone();
            let feed = feed::atom(
                w,
                &format!("urn:dfft:{origin}:record:{rid}"),
                &format!("{} — {}", rid, w.title),
                &format!("/record/{}.atom", urlencode_path(rid)),
                &format!("/record/{}", urlencode_path(rid)),
                &[&h.record],
            );
            return respond_feed(lang, feed);
        }
    }
    let mut body = format!("<h1>{}</h1>", esc(&id));
    let mut status = StatusCode::OK;
    let shown = date_param(&q).and_then(|at| Ok((record_typed(&app, &id, Some(at))?, at)));
    match shown {
        Ok((h, at)) => {
            let _ = write!(body, "<p>{} {at}</p>", esc(w.date));
            record(&mut body, w, &h.record, None);
            let _ = write!(
                body,
                "<p><a href=\"/record/{}.atom?lang={}\" type=\"application/atom+xml\">{}</a></p>",
                attr(&urlencode_path(&h.record.record)),
                lang.tag(),
                esc(w.feed)
            );
            let api = format!("/v1/records/{}?at={at}", urlencode_path(&h.record.record));
            let command = format!("dfft record {} --log URL --log-key VKEY", h.record.record);
            let at = at.to_string();
            panel(
                &mut body,
                w,
                lang,
                &Panel {
                    kind: "record",
                    api: &api,
                    checkpoint: &h.checkpoint,
                    command: &command,
                    extra: &[("id", &h.record.record), ("at", &at)],
                    download: "record.json",
                    not_yet: None,
                    link: None,
                },
            );
        }
        Err(e) => {
            status = e.status;
            error_section(&mut body, w, &e);
            // A proven absence: the browser checks the proof too.
            if let Some((checkpoint, _)) = e.absence.as_deref() {
                let api = format!("/v1/records/{}", urlencode_path(&id));
                let command = format!("dfft record {id} --log URL --log-key VKEY");
                panel(
                    &mut body,
                    w,
                    lang,
                    &Panel {
                        kind: "record",
                        api: &api,
                        checkpoint,
                        command: &command,
                        extra: &[("id", &id)],
                        download: "absence.json",
                        not_yet: None,
                        link: None,
                    },
                );
            }
        }
    }
    let switch = format!(
        "/record/{}?lang={}",
        urlencode_path(&id),
        lang.other().tag()
    );
    respond(status, lang, html::page(lang, w.title, &body, &switch))
}

/// A record id in a path: its `/` separators kept, the rest encoded.
fn urlencode_path(id: &str) -> String {
    id.split('/').map(urlencode).collect::<Vec<_>>().join("/")
}

/// `GET /log`: the published checkpoint and who signed it.
pub async fn log_page(
    State(app): State<App>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Response {
    let lang = lang_of(&q, &headers);
    let w = lang.words();
    let p = app.shared.published();
    let mut body = format!(
        "<h1>{}</h1><dl><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd><code>{}</code></dd></dl><h2>{}</h2><ul>",
        esc(w.log),
        esc(w.origin),
        esc(&p.signed.checkpoint.origin),
        esc(w.size),
        p.size,
        esc(w.root),
        dfft_core::hex::encode(&p.root),
        esc(w.signed_by),
    );
    // The note's signature lines: "\u{2014} <name> <base64>".
    for line in p.text.lines().filter(|l| l.starts_with('\u{2014}')) {
        if let Some(name) = line.split(' ').nth(1) {
            let _ = write!(body, "<li>{}</li>", esc(name));
        }
    }
    let _ = write!(body, "</ul><pre>{}</pre>", esc(&p.text));
    let root = dfft_core::hex::encode(&p.root);
    panel(
        &mut body,
        w,
        lang,
        &Panel {
            kind: "log",
            api: "/checkpoint",
            checkpoint: &p.text,
            command: "dfft audit --log URL --log-key VKEY",
            extra: &[("root", &root)],
            download: "checkpoint.txt",
            not_yet: Some(w.not_verified_log),
            link: Some(w.checkpoint),
        },
    );
    let switch = format!("/log?lang={}", lang.other().tag());
    respond(
        StatusCode::OK,
        lang,
        html::page(lang, w.title, &body, &switch),
    )
}

fn switch_href(q: &Question, lang: Lang) -> String {
    if q.asked() {
        format!("/route?{}", q.query(lang.other()))
    } else {
        format!("/?lang={}", lang.other().tag())
    }
}

/// The typed answer to the page's question, with the API's own checks of
/// its parameters (the same errors as `/v1/route`).
fn answer(app: &App, q: &HashMap<String, String>) -> Result<RouteAnswer, ApiError> {
    let code = |k: &str| -> Result<Jurisdiction, ApiError> {
        let v = q
            .get(k)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::malformed(format!("{k} is required")))?;
        Jurisdiction::new(&v.to_ascii_uppercase())
            .map_err(|e| ApiError::malformed(format!("{k}: {e}")))
    };
    let from = code("from")?;
    let to = code("to")?;
    let mut q2 = q.clone();
    q2.retain(|k, v| k != "at" || !v.is_empty());
    let at: Date = date_param(&q2)?;
    let mechanism = match q.get("mechanism").filter(|m| !m.is_empty()) {
        Some(m) => {
            Some(Mechanism::new(m).map_err(|e| ApiError::malformed(format!("mechanism: {e}")))?)
        }
        None => None,
    };
    let data = match q.get("data").filter(|d| !d.is_empty()) {
        Some(d) => {
            Some(DataCategory::new(d).map_err(|e| ApiError::malformed(format!("data: {e}")))?)
        }
        None => None,
    };
    route_typed(app, &from, &to, at, RouteFilter { mechanism, data })
}

fn form(out: &mut String, w: &Words, lang: Lang, q: &Question) {
    let _ = write!(
        out,
        "<form method=\"get\" action=\"/route\" class=\"ask\">\
         <h1>{question}</h1>\
         <input type=\"hidden\" name=\"lang\" value=\"{lang}\">\
         <p><label for=\"from\">{from}</label> <input id=\"from\" name=\"from\" value=\"{fv}\" required size=\"8\" autocomplete=\"off\" aria-describedby=\"codes\">\
         <label for=\"to\">{to}</label> <input id=\"to\" name=\"to\" value=\"{tv}\" required size=\"8\" autocomplete=\"off\" aria-describedby=\"codes\">\
         <label for=\"at\">{date}</label> <input id=\"at\" name=\"at\" type=\"date\" value=\"{av}\">\
         <button type=\"submit\">{ask}</button></p>\
         <p id=\"codes\" class=\"hint\">{hint}</p></form>",
        question = esc(w.question),
        lang = lang.tag(),
        from = esc(w.from),
        to = esc(w.to),
        date = esc(w.date),
        ask = esc(w.ask),
        hint = esc(w.codes_hint),
        fv = attr(&q.from),
        tv = attr(&q.to),
        av = attr(&q.at),
    );
}

/// `today`: the question named no day, so "what changed since my last
/// visit" compares today's answer with the last visit's.
fn render_answer(out: &mut String, w: &Words, lang: Lang, a: &RouteAnswer, today: bool) {
    let _ = write!(
        out,
        "<section aria-labelledby=\"answer\"><h2 id=\"answer\">{} : {} → {}, {}</h2>",
        esc(w.answer_heading),
        esc(&a.from.to_string()),
        esc(&a.to.to_string()),
        a.at
    );
    // The verdict of the panel below, repeated where the answer starts.
    let _ = write!(
        out,
        "<p id=\"check-summary\"><a href=\"#check\">{}</a></p>",
        esc(w.verify_link)
    );
    if let Some(sum) = &a.summary {
        let _ = write!(
            out,
            "<p id=\"summary\" class=\"verdict-{}\"><strong>{}</strong> <span lang=\"en\">{}</span></p>",
            sum.verdict.as_str(),
            esc(w.summary),
            esc(&sum.words())
        );
    }
    if a.records.is_empty() {
        let _ = write!(
            out,
            "<p class=\"none\">{}</p><p>{}</p>",
            esc(w.none),
            esc(w.none_means)
        );
    }
    for r in &a.records {
        record(out, w, r, Some(a.at));
    }
    if let Some(c) = a.completeness.as_ref().filter(|c| !c.filtered.is_empty()) {
        let _ = write!(out, "<h3>{}</h3><ul>", esc(w.left_out));
        for r in &c.filtered {
            let _ = write!(
                out,
                "<li>{} ({}, {} → {})</li>",
                esc(&r.record),
                esc(&w.record_kind(r.mechanism, r.rule.as_ref().map(|t| t.requires))),
                esc(&r.from.to_string()),
                esc(r.to.as_str())
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
    let mut feed = format!("/route.atom?from={}&to={}", a.from, a.to);
    if let Some(m) = a.mechanism {
        let _ = write!(feed, "&mechanism={m}");
    }
    let _ = write!(
        out,
        "<p><a href=\"{}&amp;lang={}\" type=\"application/atom+xml\">{}</a></p>",
        attr(&feed),
        lang.tag(),
        esc(w.feed)
    );
    // What the browser checks, and how to check it offline.
    let mut api = format!("/v1/route?from={}&to={}&at={}", a.from, a.to, a.at);
    if let Some(m) = a.mechanism {
        let _ = write!(api, "&mechanism={m}");
    }
    let command = format!(
        "dfft route --from {} --to {} --at {} --log URL --log-key VKEY",
        a.from, a.to, a.at
    );
    let question = format!(
        "{}|{}|{}|{}",
        a.from,
        a.to,
        if today {
            "today".to_owned()
        } else {
            a.at.to_string()
        },
        a.mechanism.map(|m| m.to_string()).unwrap_or_default()
    );
    panel(
        out,
        w,
        lang,
        &Panel {
            kind: "route",
            api: &api,
            checkpoint: &a.checkpoint,
            command: &command,
            extra: &[("question", &question)],
            download: &format!("route-{}-{}-{}.json", a.from, a.to, a.at),
            not_yet: None,
            link: None,
        },
    );
}

/// The verification panel of a page: what `assets/page.mjs` checks (the
/// answer at `api`, against the page's claims), its words, and, for a
/// browser without JavaScript, what was not checked and how to check it.
struct Panel<'a> {
    kind: &'static str,
    api: &'a str,
    checkpoint: &'a str,
    command: &'a str,
    extra: &'a [(&'static str, &'a str)],
    download: &'a str,
    /// What the panel says before (or without) the script; default: that
    /// the browser has not verified the answer.
    not_yet: Option<&'a str>,
    /// The words of the link to `api`; default: the answer with its proofs.
    link: Option<&'a str>,
}

fn panel(out: &mut String, w: &Words, lang: Lang, p: &Panel<'_>) {
    let size = dfft_core::checkpoint::SignedCheckpoint::parse(p.checkpoint.as_bytes())
        .map(|c| c.checkpoint.size)
        .unwrap_or(0);
    let words: serde_json::Map<String, serde_json::Value> = i18n::check_words(lang)
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
        .collect();
    // Inside <script>: no "<" may end it early.
    let words = serde_json::Value::Object(words)
        .to_string()
        .replace('<', "\\u003c");
    let mut data = String::new();
    for (k, v) in p.extra {
        let _ = write!(data, " data-{k}=\"{}\"", attr(v));
    }
    let heading = i18n::check_words(lang)
        .iter()
        .find(|(k, _)| *k == "heading")
        .map_or("", |(_, v)| v);
    let _ = write!(
        out,
        "<section id=\"check\" class=\"verify\" aria-labelledby=\"check-h\" data-kind=\"{kind}\" data-api=\"{api}\" data-size=\"{size}\"{data}>\
         <h2 id=\"check-h\">{heading}</h2>\
         <div id=\"check-state\" aria-live=\"polite\"><p>{not}</p></div><div id=\"check-detail\"></div>\
         <p>{how}</p><pre>{command}</pre>\
         <p><a href=\"{api}\" download=\"{download}\">{json}</a> ({size})</p>\
         <details><summary>{cp}</summary><pre>{text}</pre></details>\
         <script type=\"application/json\" id=\"check-words\">{words}</script></section>",
        kind = p.kind,
        api = attr(p.api),
        heading = esc(heading),
        not = esc(p.not_yet.unwrap_or(w.not_verified_here)),
        how = esc(w.verify_offline),
        command = esc(p.command),
        download = attr(p.download),
        json = esc(p.link.unwrap_or(w.json)),
        cp = esc(w.checkpoint),
        text = esc(p.checkpoint),
    );
}

fn record(out: &mut String, w: &Words, r: &RecordAnswer, link_at: Option<Date>) {
    // Under the answer's h2 on a route page; under the h1 on its own page.
    let (h, h_sub) = if link_at.is_some() { (3, 4) } else { (2, 3) };
    let class = match r.status {
        Some(dfft_core::statement::Status::InForce) => "in-force",
        Some(dfft_core::statement::Status::Suspended) => "suspended",
        _ => "ended",
    };
    let _ = write!(
        out,
        "<article class=\"record\" data-record=\"{rid}\" data-status=\"{code}\"><h{h}>{heading}</h{h}>\
         <p><strong class=\"badge {class}\">{status}</strong></p>\
         <dl><dt>{mech_l}</dt><dd>{mech}</dd>{applies}<dt>{from_l} → {to_l}</dt><dd>{from} → {to}</dd>\
         <dt>{auth_l}</dt><dd><a href=\"/authority/{auth_path}\">{auth}</a></dd></dl>\
         <h{h_sub}>{timeline}</h{h_sub}><ol class=\"timeline\">",
        heading = match link_at {
            Some(d) => format!(
                "<a href=\"/record/{}?at={d}\">{}</a>",
                attr(&urlencode_path(&r.record)),
                esc(&r.record)
            ),
            None => esc(&r.record),
        },
        rid = attr(&r.record),
        code = r.status.map_or("", |s| s.as_str()),
        status = esc(w.status(r.status)),
        mech_l = esc(w.mechanism),
        mech = esc(&w.record_kind(r.mechanism, r.rule.as_ref().map(|t| t.requires))),
        applies = match &r.rule {
            Some(t) => format!(
                "<dt>{}</dt><dd lang=\"en\">{}</dd>",
                esc(w.applies_to),
                esc(&t
                    .categories
                    .iter()
                    .map(|c| c.as_str().replace('_', " "))
                    .collect::<Vec<_>>()
                    .join(", "))
            ),
            None => String::new(),
        },
        from_l = esc(w.from),
        to_l = esc(w.to),
        from = esc(&r.from.to_string()),
        to = esc(r.to.as_str()),
        auth_l = esc(w.authority),
        auth = esc(&r.authority),
        auth_path = attr(&urlencode_path(&r.authority)),
        timeline = esc(w.timeline),
    );
    for e in &r.events {
        let _ = write!(
            out,
            "<li><time datetime=\"{d}\">{d}</time> {action} ({auth}, {idx} {i})",
            d = e.effective,
            action = esc(w.action(e.action)),
            auth = esc(&e.authority),
            idx = esc(w.index),
            i = e.index,
        );
        let facts = entry_facts(&e.entry);
        if let Some(t) = facts.as_ref().and_then(|f| f.text.as_deref()) {
            let _ = write!(out, " — <q lang=\"en\">{}</q>", esc(t));
        }
        if let Some(n) = facts.as_ref().and_then(|f| f.notes.as_deref()) {
            let _ = write!(
                out,
                " <span class=\"notes\">({}: <span lang=\"en\">{}</span>)</span>",
                esc(w.notes),
                esc(n)
            );
        }
        if let Some(l) = facts.map(|f| f.legal_reference) {
            let _ = write!(out, " — {}: ", esc(w.legal_reference));
            match l
                .url
                .as_deref()
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            {
                Some(u) => {
                    let _ = write!(
                        out,
                        "<a href=\"{}\">{}</a> ({})",
                        attr(u),
                        esc(&l.title),
                        esc(&l.id)
                    );
                }
                None => {
                    let _ = write!(out, "{} ({})", esc(&l.title), esc(&l.id));
                }
            }
        }
        let _ = write!(
            out,
            " <a href=\"/v1/proof/tlog?index={i}\" download=\"entry-{i}.tlog-proof\">{}</a>",
            esc(w.proof_download),
            i = e.index
        );
        out.push_str("</li>");
    }
    out.push_str("</ol></article>");
}

/// What the explorer shows of a logged recognition or rule entry
/// (base64): its signed `issued_at`, its legal reference, and a rule's text.
struct EntryFacts {
    issued_at: String,
    legal_reference: dfft_core::statement::LegalReference,
    text: Option<String>,
    /// The statement's `notes` (where the demo's data keeps a source's
    /// confidence: shown, never dropped).
    notes: Option<String>,
}

fn entry_facts(entry_b64: &str) -> Option<EntryFacts> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(entry_b64)
        .ok()?;
    match Submission::parse_entry(&bytes).ok()?.statement() {
        Statement::Recognition(r) => Some(EntryFacts {
            issued_at: r.issued_at.as_str().to_owned(),
            legal_reference: r.legal_reference.clone(),
            text: None,
            notes: r.notes.clone(),
        }),
        Statement::Rule(r) => Some(EntryFacts {
            issued_at: r.issued_at.as_str().to_owned(),
            legal_reference: r.legal_reference.clone(),
            text: Some(r.text.clone()),
            notes: r.notes.clone(),
        }),
        _ => None,
    }
}
