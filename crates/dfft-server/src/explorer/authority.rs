//! The explorer's authority pages: `/authorities` (every authority ever
//! enrolled) and `/authority/<id>` (one, with its keys, competence and
//! enrolment history), from the typed listing (`query::authorities_typed`).
//!
//! Leaves out: the checks (the panel verifies the whole listing).

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use dfft_core::statement::registry::Submission;
use dfft_core::statement::Statement;

use super::html::{self, attr, esc};
use super::i18n::Words;
use super::{error_page, lang_of, panel, respond, urlencode_path, Panel};
use crate::error::{ApiError, ApiPath, ApiQuery};
use crate::query;
use crate::App;

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
        Err(e) => return error_page(String::new(), lang, &e, &switch),
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
                return error_page(body, lang, &e, &switch);
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
