//! `GET /v1/organisations?q=TEXT[&programme=P]` (statements v2): find
//! organisations by name, former name, programme id, LEI or register id
//! among the listings of the published tree, to learn the id a
//! counterparty question takes.
//!
//! Names match case-insensitively as substrings (of at least 2
//! characters); ids, LEIs and register ids match exactly. Each listing's
//! names are those of its last event in the tree. A search is a scan of the
//! record heads plus one entry read per listing, on a blocking thread.
//!
//! Leaves out: proofs (a search result is an aid, not an answer; the
//! counterparty answer about one organisation is verified), and an index
//! by name (a scan is enough at the DPF List's size: docs/benchmarks.md).

use crate::error::{ApiError, ApiQuery};
use crate::state::RegistryState;
use crate::App;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use dfft_core::statement::registry::Submission;
use dfft_core::statement::Statement;
use dfft_core::wire::{OrganisationMatch, Organisations, MAX_ORGANISATION_MATCHES};
use std::collections::HashMap;
use std::ops::ControlFlow;

/// The handler.
pub async fn organisations(
    State(app): State<App>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let text = q
        .get("q")
        .map(|s| s.trim().to_owned())
        .filter(|s| s.chars().count() >= 2)
        .ok_or_else(|| {
            ApiError::malformed("q is required: at least 2 characters of a name, or an id")
        })?;
    let programme = q.get("programme").cloned();
    let found = tokio::task::spawn_blocking(move || search(&app, &text, programme.as_deref()))
        .await
        .map_err(|e| ApiError::internal(format!("organisation search: {e}")))??;
    Ok(axum::Json(found).into_response())
}

fn search(app: &App, q: &str, programme: Option<&str>) -> Result<Organisations, ApiError> {
    let published = app.shared.published();
    let store = &*app.shared.store;
    let needle = q.to_lowercase();
    let mut matches = Vec::new();
    let mut truncated = false;
    let mut failed: Option<ApiError> = None;
    RegistryState::new(store).scan_records_at(published.size, |h| {
        let Some(l) = &h.listing else {
            return ControlFlow::Continue(());
        };
        if programme.is_some_and(|p| p != l.programme.as_str()) {
            return ControlFlow::Continue(());
        }
        let Some(last) = h.events.last() else {
            return ControlFlow::Continue(());
        };
        let entry = match store.entry(last.index) {
            Ok(Some(e)) => e,
            Ok(None) => {
                failed = Some(ApiError::internal("a listing's entry is missing"));
                return ControlFlow::Break(());
            }
            Err(e) => {
                failed = Some(e.into());
                return ControlFlow::Break(());
            }
        };
        let Ok(sub) = Submission::parse_entry(&entry) else {
            return ControlFlow::Continue(());
        };
        let Statement::Listing(s) = sub.statement() else {
            return ControlFlow::Continue(());
        };
        let o = &s.organisation;
        let named = std::iter::once(&o.name)
            .chain(&o.former_names)
            .any(|n| n.to_lowercase().contains(&needle));
        let id = o.programme_id == q
            || o.lei.as_deref() == Some(q)
            || o.registers.iter().any(|r| r == q);
        if named || id {
            if matches.len() == MAX_ORGANISATION_MATCHES {
                truncated = true;
                return ControlFlow::Break(());
            }
            matches.push(OrganisationMatch {
                record: h.record.to_string(),
                programme: l.programme.to_string(),
                programme_id: o.programme_id.clone(),
                name: o.name.clone(),
                former_names: o.former_names.clone(),
                lei: o.lei.clone(),
            });
        }
        ControlFlow::Continue(())
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(Organisations {
        size: published.size,
        q: q.to_owned(),
        matches,
        truncated,
    })
}
