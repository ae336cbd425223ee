//! The counterparty page, `/counterparty?from=&to=&org=&at=&data=`
//! (statements v2): may data go to this organisation? The form, then the
//! verdict and its reasons, the route's summary, the organisation's
//! listings with their timelines, the route's records, and the panel in
//! which the browser verifies the answer (`verifyCounterparty` in
//! verify.mjs): both layers at one checkpoint, and that the page says what
//! the verified answer says (records, statuses, verdict).
//!
//! Leaves out: the bulk upload (batches are `dfft check --counterparties`),
//! and finding an organisation by name here (the API's
//! `/v1/organisations?q=`).

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use dfft_core::counterparty::{CounterpartyVerdict, VerifiedCounterparty};
use dfft_core::policy::Policy;

use super::html::{attr, esc};
use super::{error_section, html, lang_of, panel, record, respond, Panel};
use crate::error::ApiQuery;
use crate::query::counterparty_typed;
use crate::App;

/// The handler.
pub async fn counterparty_page(
    State(app): State<App>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Response {
    let lang = lang_of(&q, &headers);
    let w = lang.words();
    let v = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>{title}</h1><form method=\"get\" action=\"/counterparty\">\
         <label>{from} <input name=\"from\" value=\"{fv}\" required></label> \
         <label>{to} <input name=\"to\" value=\"{tv}\" required></label> \
         <label>{org} <input name=\"org\" value=\"{ov}\" required></label> \
         <label>{date} <input name=\"at\" type=\"date\" value=\"{av}\"></label> \
         <label>{data} <select name=\"data\"><option value=\"\">–</option>\
         <option value=\"hr\"{hr}>hr</option><option value=\"non_hr\"{nhr}>non_hr</option></select></label> \
         <input type=\"hidden\" name=\"lang\" value=\"{l}\"><button>{ask}</button></form>",
        title = esc(w.counterparty_title),
        from = esc(w.from),
        to = esc(w.to),
        org = esc(w.organisation),
        date = esc(w.date),
        data = esc(w.listing_data),
        ask = esc(w.ask),
        fv = attr(v("from")),
        tv = attr(v("to")),
        ov = attr(v("org")),
        av = attr(v("at")),
        hr = if v("data") == "hr" { " selected" } else { "" },
        nhr = if v("data") == "non_hr" { " selected" } else { "" },
        l = lang.tag(),
    );
    let mut status = StatusCode::OK;
    if !v("org").is_empty() {
        let mut q = q.clone();
        q.retain(|k, v| !(k == "at" || k == "data") || !v.is_empty());
        match counterparty_typed(&app, &q) {
            Ok(a) => {
                // The page shows what the core verifies (the server's own
                // answer, checked as a client would, with its own key).
                let key = &app.shared.log_vkey;
                let verified: Option<VerifiedCounterparty> =
                    Policy::from_keys(key.clone(), vec![], 0)
                        .ok()
                        .and_then(|p| a.verify(&p, key).ok());
                match verified {
                    Some(vc) => render(&mut body, w, lang, &a, &vc),
                    None => {
                        status = StatusCode::INTERNAL_SERVER_ERROR;
                        body.push_str("<p>the answer does not verify</p>");
                    }
                }
            }
            Err(e) => {
                status = e.status;
                error_section(&mut body, w, &e);
            }
        }
    }
    let page = html::page(
        lang,
        w.counterparty_title,
        &body,
        &format!("/counterparty?lang={}", lang.other().tag()),
    );
    respond(status, lang, page)
}

fn render(
    out: &mut String,
    w: &super::Words,
    lang: super::Lang,
    a: &dfft_core::counterparty::CounterpartyAnswer,
    v: &VerifiedCounterparty,
) {
    let r = &a.route;
    let CounterpartyVerdict { verdict, .. } = &v.verdict;
    let _ = write!(
        out,
        "<section aria-labelledby=\"answer\"><h2 id=\"answer\">{} : {} → {} ({}), {}</h2>\
         <p id=\"check-summary\"><a href=\"#check\">{}</a></p>\
         <p id=\"verdict\" class=\"verdict-{verdict}\"><strong>{}</strong> <span lang=\"en\">{}</span></p>\
         <p><strong>{}</strong> <span lang=\"en\">{}</span></p>",
        esc(w.answer_heading),
        esc(&r.from.to_string()),
        esc(&a.org),
        esc(&r.to.to_string()),
        r.at,
        esc(w.verify_link),
        esc(w.counterparty_verdict),
        esc(&v.verdict.words()),
        esc(w.summary),
        esc(&v.route.summary.words()),
    );
    for part in &a.listings {
        let _ = write!(
            out,
            "<h3>{} {}</h3>",
            esc(w.listing_on),
            esc(&part.programme)
        );
        match &part.record {
            Some(l) => record(out, w, l, None),
            None => {
                let _ = write!(out, "<p class=\"none\">{}</p>", esc(w.never_listed));
            }
        }
    }
    let _ = write!(out, "<h3>{}</h3>", esc(w.route_records));
    for rec in &r.records {
        record(out, w, rec, Some(r.at));
    }
    out.push_str("</section>");
    let mut api = format!(
        "/v1/counterparty?from={}&to={}&org={}&at={}",
        super::urlencode(r.from.as_str()),
        super::urlencode(r.to.as_str()),
        super::urlencode(&a.org),
        r.at
    );
    if let Some(d) = a.data {
        api.push_str(&format!("&data={d}"));
    }
    let command = format!(
        "dfft counterparty --from {} --to {} --org {} --at {} --log URL --log-key VKEY",
        r.from, r.to, a.org, r.at
    );
    panel(
        out,
        w,
        lang,
        &Panel {
            kind: "counterparty",
            api: &api,
            checkpoint: &r.checkpoint,
            command: &command,
            extra: &[("verdict", verdict)],
            download: "counterparty.json",
            not_yet: None,
            link: None,
        },
    );
}
