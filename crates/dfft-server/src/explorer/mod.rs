//! The explorer (issue 15), first slice: HTML pages for people, rendered by
//! the registry from the typed query layer (`crate::query`), working
//! without JavaScript, in English and Japanese ([`i18n`]).
//!
//! Covers: `/` (the question "may data go from X to Y on D?" as a form,
//! with the answer below it when asked), `/route` (the same page for a
//! question), `/record/<id>` (one record's whole history, its status on
//! `at=`, default today) and `/log` (the published checkpoint and who
//! signed it), each record with its status in words, its timeline and its
//! legal references linked, the records shown to be left out, the signed
//! checkpoint, and how to verify the answer offline; the language switch
//! (`?lang=`, else `Accept-Language`); HTML escaping ([`html`]).
//!
//! Leaves out, for the next slices: verification in the browser (until it
//! exists every page says plainly that the browser has not verified it,
//! and links the JSON answer with its proofs and the `dfft` command that
//! does), the matrix and authority pages, feeds, and evidence downloads.

mod html;
pub mod i18n;

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use dfft_core::answer::{RecordAnswer, RouteAnswer};
use dfft_core::statement::registry::Submission;
use dfft_core::statement::{Date, Jurisdiction, Mechanism, Statement};

use crate::error::ApiPath;
use crate::error::{ApiError, ApiQuery};
use crate::query::{date_param, record_typed, route_typed};
use crate::App;
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
            Ok(ans) => render_answer(&mut body, w, lang, &question, &ans),
            Err(e) => {
                status = e.status;
                error_section(&mut body, w, &e);
            }
        }
    }
    let page = html::page(lang, w.title, &body, &switch_href(&question, lang));
    respond(status, lang, page)
}

fn lang_of(q: &HashMap<String, String>, headers: &HeaderMap) -> Lang {
    Lang::choose(
        q.get("lang").map(String::as_str),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn respond(status: StatusCode, lang: Lang, page: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_LANGUAGE, lang.tag()),
            (header::VARY, "Accept-Language"),
        ],
        page,
    )
        .into_response()
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
    let mut body = format!("<h1>{}</h1>", esc(&id));
    let mut status = StatusCode::OK;
    let shown = date_param(&q).and_then(|at| Ok((record_typed(&app, &id, Some(at))?, at)));
    match shown {
        Ok((h, at)) => {
            let _ = write!(body, "<p>{} {at}</p>", esc(w.date));
            record(&mut body, w, &h.record);
            let api = format!("/v1/records/{}", h.record.record);
            let command = format!("dfft record {} --log URL --log-key VKEY", h.record.record);
            checkpoint_section(&mut body, w, &h.checkpoint, &api, &command);
        }
        Err(e) => {
            status = e.status;
            error_section(&mut body, w, &e);
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
    let _ = write!(
        body,
        "</ul><pre>{}</pre><p>{}</p>",
        esc(&p.text),
        esc(w.not_verified_log)
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
    route_typed(app, &from, &to, at, mechanism)
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

fn render_answer(out: &mut String, w: &Words, lang: Lang, q: &Question, a: &RouteAnswer) {
    let _ = write!(
        out,
        "<section aria-labelledby=\"answer\"><h2 id=\"answer\">{} : {} → {}, {}</h2>",
        esc(w.answer_heading),
        esc(&a.from.to_string()),
        esc(&a.to.to_string()),
        a.at
    );
    if a.records.is_empty() {
        let _ = write!(
            out,
            "<p class=\"none\">{}</p><p>{}</p>",
            esc(w.none),
            esc(w.none_means)
        );
    }
    for r in &a.records {
        record(out, w, r);
    }
    if let Some(c) = a.completeness.as_ref().filter(|c| !c.filtered.is_empty()) {
        let _ = write!(out, "<h3>{}</h3><ul>", esc(w.left_out));
        for r in &c.filtered {
            let _ = write!(
                out,
                "<li>{} ({}, {} → {})</li>",
                esc(&r.record),
                esc(w.mechanism(r.mechanism)),
                esc(&r.from.to_string()),
                esc(r.to.as_str())
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
    // What was and was not checked, and how to check it.
    let api = format!(
        "/v1/route?{}",
        q.query(lang).replace(&format!("&lang={}", lang.tag()), "")
    );
    let command = format!(
        "dfft route --from {} --to {} --at {} --log URL --log-key VKEY",
        a.from, a.to, a.at
    );
    checkpoint_section(out, w, &a.checkpoint, &api, &command);
}

/// What the page did not check, how to check it, and the checkpoint.
fn checkpoint_section(out: &mut String, w: &Words, checkpoint: &str, api: &str, command: &str) {
    let size = dfft_core::checkpoint::SignedCheckpoint::parse(checkpoint.as_bytes())
        .map(|c| c.checkpoint.size)
        .unwrap_or(0);
    let _ = write!(
        out,
        "<section aria-labelledby=\"verify\" class=\"verify\"><h2 id=\"verify\">{cp}</h2>\
         <p>{not}</p><p>{how}</p>\
         <pre>{command}</pre>\
         <p><a href=\"{api}\">{json}</a> ({size})</p>\
         <details><summary>{cp}</summary><pre>{text}</pre></details></section>",
        cp = esc(w.checkpoint),
        not = esc(w.not_verified_here),
        how = esc(w.verify_offline),
        command = esc(command),
        api = attr(api),
        json = esc(w.json),
        text = esc(checkpoint),
    );
}

fn record(out: &mut String, w: &Words, r: &RecordAnswer) {
    let class = match r.status {
        Some(dfft_core::statement::Status::InForce) => "in-force",
        Some(dfft_core::statement::Status::Suspended) => "suspended",
        _ => "ended",
    };
    let _ = write!(
        out,
        "<article class=\"record\"><h3>{id}</h3>\
         <p><strong class=\"badge {class}\">{status}</strong></p>\
         <dl><dt>{mech_l}</dt><dd>{mech}</dd><dt>{from_l} → {to_l}</dt><dd>{from} → {to}</dd>\
         <dt>{auth_l}</dt><dd>{auth}</dd></dl>\
         <h4>{timeline}</h4><ol class=\"timeline\">",
        id = esc(&r.record),
        status = esc(w.status(r.status)),
        mech_l = esc(w.mechanism),
        mech = esc(w.mechanism(r.mechanism)),
        from_l = esc(w.from),
        to_l = esc(w.to),
        from = esc(&r.from.to_string()),
        to = esc(r.to.as_str()),
        auth_l = esc(w.authority),
        auth = esc(&r.authority),
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
        if let Some(l) = legal_reference(&e.entry) {
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
        out.push_str("</li>");
    }
    out.push_str("</ol></article>");
}

/// The legal reference of a logged recognition entry (base64).
fn legal_reference(entry_b64: &str) -> Option<dfft_core::statement::LegalReference> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(entry_b64)
        .ok()?;
    match Submission::parse_entry(&bytes).ok()?.statement() {
        Statement::Recognition(r) => Some(r.legal_reference.clone()),
        _ => None,
    }
}
