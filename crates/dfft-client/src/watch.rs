//! Watched records and routes: described from an audited [`Registry`]
//! (never from the log's say-so), so a monitor can report how they change.

use crate::error::ClientError;
use dfft_core::statement::registry::Registry;
use dfft_core::statement::{Date, Jurisdiction, RecordId};
use std::collections::BTreeMap;

/// Something to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    /// One record: its status and events.
    Record(RecordId),
    /// A route: every record covering it, with its status.
    Route {
        /// Origin.
        from: Jurisdiction,
        /// Destination.
        to: Jurisdiction,
    },
}

impl Watch {
    /// Watches record `id`.
    pub fn record(id: &str) -> Result<Watch, ClientError> {
        RecordId::new(id)
            .map(Watch::Record)
            .map_err(|e| ClientError::Usage(format!("record id {id:?}: {e}")))
    }

    /// Watches the route `FROM:TO` (e.g. `DE:US`; codes that hold a colon,
    /// like `IO:EPO`, work as long as only one split gives two valid codes).
    pub fn route(spec: &str) -> Result<Watch, ClientError> {
        let splits: Vec<(Jurisdiction, Jurisdiction)> = spec
            .match_indices(':')
            .filter_map(|(i, _)| {
                Some((
                    Jurisdiction::new(&spec[..i]).ok()?,
                    Jurisdiction::new(&spec[i + 1..]).ok()?,
                ))
            })
            .collect();
        match <[_; 1]>::try_from(splits) {
            Ok([(from, to)]) => Ok(Watch::Route { from, to }),
            Err(v) if v.is_empty() => Err(ClientError::Usage(format!(
                "route {spec:?}: write FROM:TO with two jurisdiction codes, e.g. DE:US"
            ))),
            Err(_) => Err(ClientError::Usage(format!(
                "route {spec:?} can be read in more than one way"
            ))),
        }
    }

    /// A stable name, used as the key in the state file.
    pub fn key(&self) -> String {
        match self {
            Watch::Record(id) => format!("record {}", id.as_str()),
            Watch::Route { from, to } => format!("route {from}:{to}"),
        }
    }

    /// Describes the watched thing on `today`, one fact a line.
    pub fn describe(&self, registry: &Registry, today: Date) -> Vec<String> {
        match self {
            Watch::Record(id) => match registry.record(id.as_str()) {
                None => vec!["not in the log".to_string()],
                Some(h) => {
                    let status = h
                        .status_on(today)
                        .map_or("not yet in effect", |s| s.as_str());
                    let mut v = vec![format!(
                        "{} {} -> {}: {status} on {today}",
                        h.mechanism, h.from, h.to
                    )];
                    for e in &h.events {
                        v.push(format!(
                            "#{} {} effective {} by {}",
                            e.index,
                            e.action,
                            e.effective,
                            e.authority.as_str()
                        ));
                    }
                    v
                }
            },
            Watch::Route { from, to } => {
                let matches = registry.route(from, to, today, None);
                if matches.is_empty() {
                    return vec![format!("no record covers {from} -> {to} on {today}")];
                }
                matches
                    .iter()
                    .map(|m| {
                        format!(
                            "{} ({}, {} -> {}): {} on {today}",
                            m.record.record.as_str(),
                            m.record.mechanism,
                            m.record.from,
                            m.record.to,
                            m.status
                        )
                    })
                    .collect()
            }
        }
    }
}

/// How a watched thing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchChange {
    /// The watch's key.
    pub key: String,
    /// Its description before (`None`: first seen).
    pub before: Option<Vec<String>>,
    /// Its description now.
    pub after: Vec<String>,
}

/// Describes every watch, compares with `seen` (updating it), and returns
/// what changed. The first description of a watch counts as a change.
///
/// Only the first line of a description depends on `today` in a way that
/// can differ between calls on the same log (a status can lapse overnight);
/// that is a real change and is reported too.
pub fn watch_changes(
    watches: &[Watch],
    registry: &Registry,
    today: Date,
    seen: &mut BTreeMap<String, Vec<String>>,
) -> Vec<WatchChange> {
    let mut out = Vec::new();
    for w in watches {
        let key = w.key();
        let now = w.describe(registry, today);
        let before = seen.get(&key).cloned();
        if before.as_ref().map(|b| strip_dates(b)) != Some(strip_dates(&now)) {
            seen.insert(key.clone(), now.clone());
            out.push(WatchChange {
                key,
                before,
                after: now,
            });
        }
    }
    out
}

/// A description without its " on YYYY-MM-DD" date stamps, so that a new
/// day alone is no change.
fn strip_dates(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| match l.rfind(" on ") {
            Some(i) if Date::parse(&l[i + 4..]).is_ok() => l[..i].to_string(),
            _ => l.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_specs() {
        assert_eq!(Watch::route("DE:US").unwrap().key(), "route DE:US");
        assert_eq!(Watch::route("IO:EPO:US").unwrap().key(), "route IO:EPO:US");
        assert!(Watch::route("DEUS").is_err());
        assert!(Watch::route("DE:").is_err());
        assert!(Watch::record("Not A Record").is_err());
    }
}
