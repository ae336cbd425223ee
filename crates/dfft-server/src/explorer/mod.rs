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
//! Each answer page carries a verification panel ([`Panel`]): the scripts
//! in `assets/` (`/explorer/verify.mjs`, `/explorer/page.mjs`) fetch the
//! JSON answer the page was built from, verify it in the browser and
//! check the page's claims against it; without JavaScript the panel says
//! the browser has not verified the page, and how to do it offline.
//!
//! Leaves out, for the next slices: the matrix and authority pages, and
//! feeds.

mod feed;
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
use crate::query::{self, date_param, record_typed, route_typed};
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

/// `GET /matrix?at=D[&from=X]`: the jurisdiction matrix on a day, as one
/// table (origins by row, destinations by column; each cell names the
/// mechanisms in force, in letters with a legend, coloured too, and links
/// the route page that proves it), from the typed matrix (`matrix_typed`).
pub async fn matrix_page(
    State(app): State<App>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Response {
    let lang = lang_of(&q, &headers);
    let w = lang.words();
    let at_text = q.get("at").map(|s| s.trim().to_owned()).unwrap_or_default();
    let from_text = q
        .get("from")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let mut body = String::new();
    let _ = write!(
        body,
        "<form method=\"get\" action=\"/matrix\" class=\"ask\"><h1>{title}</h1>\
         <input type=\"hidden\" name=\"lang\" value=\"{lang}\">\
         <p><label for=\"at\">{date}</label> <input id=\"at\" name=\"at\" type=\"date\" value=\"{av}\">\
         <label for=\"from\">{from}</label> <input id=\"from\" name=\"from\" value=\"{fv}\" size=\"8\" autocomplete=\"off\" aria-describedby=\"codes\">\
         <button type=\"submit\">{show}</button></p><p id=\"codes\" class=\"hint\">{hint}</p></form>",
        title = esc(w.matrix_title),
        lang = lang.tag(),
        date = esc(w.date),
        av = attr(&at_text),
        from = esc(w.from),
        fv = attr(&from_text),
        show = esc(w.show),
        hint = esc(w.matrix_hint),
    );
    let mut q2 = q.clone();
    q2.retain(|k, v| (k != "at" && k != "from") || !v.trim().is_empty());
    let asked = date_param(&q2).and_then(|at| {
        let from = q2
            .get("from")
            .map(|s| Jurisdiction::new(&s.trim().to_ascii_uppercase()))
            .transpose()
            .map_err(|e| ApiError::malformed(format!("from: {e}")))?;
        Ok((at, from))
    });
    let switch = format!(
        "/matrix?at={}&from={}&lang={}",
        urlencode(&at_text),
        urlencode(&from_text),
        lang.other().tag()
    );
    let (at, from) = match asked {
        Ok(x) => x,
        Err(e) => {
            error_section(&mut body, w, &e);
            return respond(e.status, lang, html::page(lang, w.title, &body, &switch));
        }
    };
    let answer = match crate::matrix::matrix_typed(&app, at, from.clone()).await {
        Ok(a) => a,
        Err(e) => {
            error_section(&mut body, w, &e);
            return respond(e.status, lang, html::page(lang, w.title, &body, &switch));
        }
    };
    let m = match answer.typed() {
        Ok(m) => m,
        Err(e) => {
            error_section(&mut body, w, &e);
            return respond(e.status, lang, html::page(lang, w.title, &body, &switch));
        }
    };
    matrix_table(&mut body, w, lang, m);
    let mut api = format!("/v1/matrix?at={at}");
    if let Some(f) = &from {
        let _ = write!(api, "&from={f}");
    }
    panel(
        &mut body,
        w,
        lang,
        &Panel {
            kind: "matrix",
            api: &api,
            checkpoint: &m.checkpoint,
            command: &format!("dfft route --from X --to Y --at {at} --log URL --log-key VKEY"),
            extra: &[],
            download: &format!("matrix-{at}.json"),
            not_yet: None,
            link: None,
        },
    );
    respond(
        StatusCode::OK,
        lang,
        html::page(lang, w.title, &body, &switch),
    )
}

/// A mechanism's letters in the matrix (the legend says them in words).
fn letters(m: Mechanism) -> &'static str {
    match m {
        Mechanism::Adequacy => "A",
        Mechanism::DataBridge => "DB",
        Mechanism::Designation => "D",
        Mechanism::Scc => "SCC",
        Mechanism::Bcr => "BCR",
        Mechanism::Certification => "C",
        Mechanism::CodeOfConduct => "CoC",
        Mechanism::Cbpr => "CBPR",
        Mechanism::Dpf => "DPF",
        Mechanism::Other => "O",
    }
}

fn matrix_table(out: &mut String, w: &Words, lang: Lang, m: &dfft_core::wire::Matrix) {
    use std::collections::{BTreeMap, BTreeSet};
    let mut cells: BTreeMap<(&str, &str), BTreeSet<Mechanism>> = BTreeMap::new();
    let mut froms = BTreeSet::new();
    let mut tos = BTreeSet::new();
    for p in &m.pairs {
        froms.insert(p.from.as_str());
        tos.insert(p.to.as_str());
        let e = cells.entry((p.from.as_str(), p.to.as_str())).or_default();
        for &i in &p.records {
            if let Some(r) = m.records.get(i as usize) {
                e.insert(r.mechanism);
            }
        }
    }
    let used: BTreeSet<Mechanism> = cells.values().flatten().copied().collect();
    let _ = write!(
        out,
        "<section><h2 id=\"mx\">{} {}</h2><p class=\"legend\">",
        esc(w.matrix_on),
        m.at
    );
    for mech in &used {
        let _ = write!(
            out,
            "<span><strong>{}</strong> = {}</span>",
            letters(*mech),
            esc(w.mechanism(*mech))
        );
    }
    let _ = write!(out, "</p><p>{}</p>", esc(w.matrix_explain));
    if cells.is_empty() {
        let _ = write!(out, "<p class=\"none\">{}</p></section>", esc(w.none));
        return;
    }
    let _ = write!(
        out,
        "<div class=\"wide\" tabindex=\"0\" role=\"region\" aria-labelledby=\"mx-cap\"><table class=\"matrix\"><caption id=\"mx-cap\">{} {}</caption><thead><tr><th scope=\"col\">{} \\ {}</th>",
        esc(w.matrix_on),
        m.at,
        esc(w.from),
        esc(w.to)
    );
    for t in &tos {
        let _ = write!(
            out,
            "<th scope=\"col\">{}</th>",
            esc(if *t == "*" { w.any_destination } else { t })
        );
    }
    out.push_str("</tr></thead><tbody>");
    for f in &froms {
        let _ = write!(out, "<tr><th scope=\"row\">{}</th>", esc(f));
        for t in &tos {
            match cells.get(&(*f, *t)) {
                Some(ms) => {
                    let text: Vec<&str> = ms.iter().map(|x| letters(*x)).collect();
                    let class = if ms
                        .iter()
                        .any(|x| *x != Mechanism::Scc && *x != Mechanism::Bcr)
                    {
                        "on"
                    } else {
                        "some"
                    };
                    let href = if *t == "*" {
                        String::new()
                    } else {
                        format!(
                            "/route?from={}&to={}&at={}&lang={}",
                            urlencode(f),
                            urlencode(t),
                            m.at,
                            lang.tag()
                        )
                    };
                    if href.is_empty() {
                        let _ = write!(out, "<td class=\"{class}\">{}</td>", esc(&text.join(" ")));
                    } else {
                        let _ = write!(
                            out,
                            "<td class=\"{class}\"><a href=\"{}\">{}</a></td>",
                            attr(&href),
                            esc(&text.join(" "))
                        );
                    }
                }
                None => out.push_str("<td>–</td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div></section>");
}

/// `GET /authorities`: every authority ever enrolled; `GET
/// /authority/<id>`: one, with its keys, competence and enrolment history.
/// Both from the typed listing (`query::authorities_typed`), which the
/// panel verifies whole.
pub async fn authorities_page(
    State(app): State<App>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Response {
    authority_pages(&app, &headers, &q, None)
}

/// `GET /authority/<id>` (see [`authorities_page`]).
pub async fn authority_page(
    State(app): State<App>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Response {
    authority_pages(&app, &headers, &q, Some(&id))
}

fn authority_pages(
    app: &App,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    one: Option<&str>,
) -> Response {
    let lang = lang_of(q, headers);
    let w = lang.words();
    let switch = match one {
        Some(id) => format!(
            "/authority/{}?lang={}",
            urlencode_path(id),
            lang.other().tag()
        ),
        None => format!("/authorities?lang={}", lang.other().tag()),
    };
    let listing = match query::authorities_typed(app) {
        Ok(l) => l,
        Err(e) => {
            let mut body = String::new();
            error_section(&mut body, w, &e);
            return respond(e.status, lang, html::page(lang, w.title, &body, &switch));
        }
    };
    let mut body = String::new();
    let shown: Vec<&dfft_core::wire::AuthorityItem> = match one {
        Some(id) => {
            let found: Vec<_> = listing
                .authorities
                .iter()
                .filter(|a| a.authority == id)
                .collect();
            if found.is_empty() {
                let e = ApiError::not_found(format!("no authority {id:?}"));
                let _ = write!(body, "<h1>{}</h1>", esc(id));
                error_section(&mut body, w, &e);
                return respond(e.status, lang, html::page(lang, w.title, &body, &switch));
            }
            let _ = write!(body, "<h1>{}</h1>", esc(&found[0].name));
            found
        }
        None => {
            let _ = write!(body, "<h1>{}</h1>", esc(w.authorities));
            listing.authorities.iter().collect()
        }
    };
    for a in &shown {
        authority(&mut body, w, a, one.is_some());
    }
    let command = "dfft authorities --log URL --log-key VKEY".to_owned();
    panel(
        &mut body,
        w,
        lang,
        &Panel {
            kind: "authority",
            api: "/v1/authorities",
            checkpoint: &listing.checkpoint,
            command: &command,
            extra: &[],
            download: "authorities.json",
            not_yet: None,
            link: None,
        },
    );
    respond(
        StatusCode::OK,
        lang,
        html::page(lang, w.title, &body, &switch),
    )
}

fn authority(out: &mut String, w: &Words, a: &dfft_core::wire::AuthorityItem, full: bool) {
    let _ = write!(
        out,
        "<article class=\"record\" data-authority=\"{id}\" data-retired=\"{retired}\" data-keys=\"{keys}\" data-competence=\"{comp}\">\
         <h2><a href=\"/authority/{path}\">{id_t}</a></h2><dl><dt>{name_l}</dt><dd>{name}</dd>\
         <dt>{comp_l}</dt><dd>{comp_t}</dd><dt>{state_l}</dt><dd><strong>{state}</strong></dd>",
        id = attr(&a.authority),
        retired = a.retired,
        keys = attr(&a.keys.join(" ")),
        comp = attr(&a.competence.join(" ")),
        path = attr(&urlencode_path(&a.authority)),
        id_t = esc(&a.authority),
        name_l = esc(w.authority),
        name = esc(&a.name),
        comp_l = esc(w.competence),
        comp_t = esc(&a.competence.join(", ")),
        state_l = esc(w.state),
        state = esc(if a.retired { w.retired } else { w.active }),
    );
    if full {
        let _ = write!(out, "<dt>{}</dt><dd><ul>", esc(w.keys));
        for k in &a.keys {
            let _ = write!(out, "<li><code>{}</code></li>", esc(k));
        }
        let _ = write!(
            out,
            "</ul></dd></dl><h3>{}</h3><ol class=\"timeline\">",
            esc(w.history)
        );
        for st in &a.statements {
            let parsed = base64::engine::general_purpose::STANDARD
                .decode(&st.entry)
                .ok()
                .and_then(|b| Submission::parse_entry(&b).ok());
            if let Some(Statement::Authority(s)) = parsed.as_ref().map(|p| p.statement()) {
                let _ = write!(
                    out,
                    "<li>{action} ({issued_l} <time datetime=\"{t}\">{t}</time>, {idx} {i})</li>",
                    action = esc(w.authority_action(s.action)),
                    issued_l = esc(w.issued),
                    t = esc(s.issued_at.as_str()),
                    idx = esc(w.index),
                    i = st.index,
                );
            }
        }
        out.push_str("</ol></article>");
    } else {
        out.push_str("</dl></article>");
    }
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
                esc(w.mechanism(r.mechanism)),
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
         <dl><dt>{mech_l}</dt><dd>{mech}</dd><dt>{from_l} → {to_l}</dt><dd>{from} → {to}</dd>\
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
        mech = esc(w.mechanism(r.mechanism)),
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
        if let Some(l) = recognition_of(&e.entry).map(|r| r.legal_reference) {
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

/// The recognition a logged entry (base64) carries.
fn recognition_of(entry_b64: &str) -> Option<dfft_core::statement::Recognition> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(entry_b64)
        .ok()?;
    match Submission::parse_entry(&bytes).ok()?.statement() {
        Statement::Recognition(r) => Some(r.clone()),
        _ => None,
    }
}
