//! Watched records and routes, and how they change. A watch is described
//! one fact a line, from one of two verified sources, with the same
//! functions (`record_lines`, `route_lines`: the one home of the text
//! format, so a monitor switching sources reports no spurious change):
//!
//! - an audited [`Registry`] ([`Watch::describe`]), after a replay of every
//!   entry;
//! - the log's answers, verified with their completeness proofs required
//!   ([`Watch::ask`], then [`Watch::describe_answer`]): the map proofs
//!   under the checkpoint's index entry show the answer leaves no record
//!   of the route, and no event of the record, out.
//!
//! Never from the log's say-so, with one exception that
//! [`answer_changes`] bounds: the log answers "no such record" (HTTP 404)
//! without a proof of absence, so a watched record never seen before is
//! described as absent on its word; one seen before that the log now
//! denies is [`ClientError::Withheld`].
//!
//! Leaves out: what only a full replay checks (each signer's entitlement,
//! entries no watch depends on; see [`crate::Auditor`]), and checking the
//! answers' checkpoints against the client's state (the caller does that,
//! with [`Client::observe`], on [`Answer::checkpoint`]).

use crate::client::{Client, RouteQuery};
use crate::error::ClientError;
use crate::offline::VerifiedRecord;
use crate::transport::Transport;
use dfft_core::answer::VerifiedRoute;
use dfft_core::checkpoint::SignedCheckpoint;
use dfft_core::map::complete::CompletenessError;
use dfft_core::statement::registry::{RecordHead, Registry, RouteFilter};
use dfft_core::statement::{Date, Jurisdiction, RecordId, Status};
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

/// What the log's verified answers say about one watch: the input of
/// [`Watch::describe_answer`], as [`Watch::ask`] gets it.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A record's history, verified and proven complete; `None` when the
    /// log answered that it has no such record (not proven: see the module
    /// docs).
    Record {
        /// The record asked about.
        id: RecordId,
        /// Its verified history.
        history: Option<VerifiedRecord>,
        /// Without a history: the checkpoint under which the log proved
        /// the record absent.
        absent_under: Option<Box<SignedCheckpoint>>,
    },
    /// A route answer, verified and proven complete.
    Route {
        /// Origin asked about.
        from: Jurisdiction,
        /// Destination asked about.
        to: Jurisdiction,
        /// The day asked about.
        at: Date,
        /// The verified answer.
        verified: VerifiedRoute,
    },
}

impl Answer {
    /// The checkpoint the answer was verified against (for a record the log
    /// proved absent, the one the proof is under): the caller must check it
    /// against its state ([`Client::observe`]).
    pub fn checkpoint(&self) -> Option<&SignedCheckpoint> {
        match self {
            Answer::Record {
                history,
                absent_under,
                ..
            } => history
                .as_ref()
                .map(|h| &h.checkpoint)
                .or(absent_under.as_deref()),
            Answer::Route { verified, .. } => Some(&verified.checkpoint),
        }
    }
}

/// The description of a record: its facts and status on `today`, then one
/// line an event; or that the log has no such record.
fn record_lines(head: Option<&RecordHead>, today: Date) -> Vec<String> {
    let Some(h) = head else {
        return vec!["not in the log".to_string()];
    };
    let status = h
        .status_on(today)
        .map_or("not yet in effect", |s| s.as_str());
    let mut v = vec![format!(
        "{} {} -> {}: {status} on {today}",
        h.label(),
        h.from,
        h.to
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

/// The description of a route on `today`: one line a record covering it,
/// by record id, with its status.
fn route_lines(
    from: &Jurisdiction,
    to: &Jurisdiction,
    today: Date,
    mut matches: Vec<(&RecordHead, Status)>,
) -> Vec<String> {
    if matches.is_empty() {
        return vec![format!("no record covers {from} -> {to} on {today}")];
    }
    matches.sort_by(|a, b| a.0.record.cmp(&b.0.record));
    matches
        .iter()
        .map(|(h, status)| {
            format!(
                "{} ({}, {} -> {}): {status} on {today}",
                h.record.as_str(),
                h.label(),
                h.from,
                h.to,
            )
        })
        .collect()
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

    /// Describes the watched thing on `today`, one fact a line, from an
    /// audited registry.
    pub fn describe(&self, registry: &Registry, today: Date) -> Vec<String> {
        match self {
            Watch::Record(id) => record_lines(registry.record(id.as_str()), today),
            Watch::Route { from, to } => {
                let matches = registry
                    .route(from, to, today, RouteFilter::NONE)
                    .into_iter()
                    .map(|m| (m.record, m.status))
                    .collect();
                route_lines(from, to, today, matches)
            }
        }
    }

    /// Asks the log about the watched thing on `today` and verifies the
    /// answer, its completeness proof required whatever the client's
    /// setting: a record's history (`GET /v1/records/<id>`), or the route
    /// question for `today` (`GET /v1/route`). Downloads no other entry
    /// than those the answer cites. The answer's checkpoint is verified
    /// against the policy but not against any state: see
    /// [`Answer::checkpoint`].
    pub fn ask<T: Transport>(
        &self,
        client: &Client<T>,
        today: Date,
    ) -> Result<Answer, ClientError> {
        match self {
            Watch::Record(id) => match client.record(id.as_str()) {
                Ok((history, verified)) => {
                    if history.completeness.is_none() {
                        return Err(CompletenessError::Missing.into());
                    }
                    Ok(Answer::Record {
                        id: id.clone(),
                        history: Some(verified),
                        absent_under: None,
                    })
                }
                // Absent, proven by the map (the answer's checkpoint is
                // the caller's to check against its state).
                Err(ClientError::Absent { checkpoint, .. }) => Ok(Answer::Record {
                    id: id.clone(),
                    history: None,
                    absent_under: Some(checkpoint),
                }),
                // A 404 without a proof of absence: not taken on the log's word.
                Err(ClientError::Http { status: 404, .. }) => {
                    Err(CompletenessError::Missing.into())
                }
                Err(e) => Err(e),
            },
            Watch::Route { from, to } => {
                let q = RouteQuery {
                    from: from.clone(),
                    to: to.clone(),
                    at: today,
                    mechanism: None,
                    data: None,
                };
                let (answer, verified) = client.route(&q)?;
                if answer.completeness.is_none() {
                    return Err(CompletenessError::Missing.into());
                }
                Ok(Answer::Route {
                    from: from.clone(),
                    to: to.clone(),
                    at: today,
                    verified,
                })
            }
        }
    }

    /// Describes the watched thing on `today` from a verified answer, in
    /// the same lines as [`Watch::describe`] gives from a registry that
    /// holds the same entries. An answer to another question (another
    /// record, route or day) is [`ClientError::WrongAnswer`].
    pub fn describe_answer(
        &self,
        answer: &Answer,
        today: Date,
    ) -> Result<Vec<String>, ClientError> {
        match (self, answer) {
            (
                Watch::Record(id),
                Answer::Record {
                    id: got, history, ..
                },
            ) if id == got => {
                if let Some(h) = history {
                    if h.head.record != *id {
                        return Err(ClientError::WrongAnswer(format!(
                            "asked for record {}, got {}",
                            id.as_str(),
                            h.head.record.as_str()
                        )));
                    }
                }
                Ok(record_lines(history.as_ref().map(|h| &h.head), today))
            }
            (
                Watch::Route { from, to },
                Answer::Route {
                    from: f,
                    to: t,
                    at,
                    verified,
                },
            ) if from == f && to == t && *at == today => {
                let matches = verified.records.iter().map(|(h, s)| (h, *s)).collect();
                Ok(route_lines(from, to, today, matches))
            }
            _ => Err(ClientError::WrongAnswer(format!(
                "an answer about {} on {} does not describe {}",
                answer_subject(answer),
                match answer {
                    Answer::Route { at, .. } => *at,
                    Answer::Record { .. } => today,
                },
                self.key()
            ))),
        }
    }
}

fn answer_subject(a: &Answer) -> String {
    match a {
        Answer::Record { id, .. } => format!("record {}", id.as_str()),
        Answer::Route { from, to, .. } => format!("route {from}:{to}"),
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

/// Describes every watch from `registry`, compares with `seen` (updating
/// it), and returns what changed. The first description of a watch counts
/// as a change.
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
    changes(
        watches
            .iter()
            .map(|w| (w.key(), w.describe(registry, today)))
            .collect(),
        seen,
    )
}

/// [`watch_changes`] from verified answers, `answers[i]` answering
/// `watches[i]` ([`Watch::ask`]). Refuses, changing nothing, an answer to
/// another question, and a record that `seen` describes as logged but
/// the log now says it does not have ([`ClientError::Withheld`]: records
/// never leave an append-only log).
pub fn answer_changes(
    watches: &[Watch],
    answers: &[Answer],
    today: Date,
    seen: &mut BTreeMap<String, Vec<String>>,
) -> Result<Vec<WatchChange>, ClientError> {
    if watches.len() != answers.len() {
        return Err(ClientError::Usage(format!(
            "{} answers for {} watches",
            answers.len(),
            watches.len()
        )));
    }
    let absent = strip_dates(&record_lines(None, today));
    let mut described = Vec::with_capacity(watches.len());
    for (w, a) in watches.iter().zip(answers) {
        let key = w.key();
        let now = w.describe_answer(a, today)?;
        if let Answer::Record {
            id, history: None, ..
        } = a
        {
            if seen.get(&key).is_some_and(|b| strip_dates(b) != absent) {
                return Err(ClientError::Withheld {
                    record: id.as_str().to_string(),
                });
            }
        }
        described.push((key, now));
    }
    Ok(changes(described, seen))
}

/// Compares each (key, description) with `seen`, updating it; returns what
/// changed (a first description included).
fn changes(
    described: Vec<(String, Vec<String>)>,
    seen: &mut BTreeMap<String, Vec<String>>,
) -> Vec<WatchChange> {
    let mut out = Vec::new();
    for (key, now) in described {
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
    use dfft_core::checkpoint::Checkpoint;
    use dfft_core::note::{KeyName, SignerKey};
    use dfft_core::statement::registry::EventRef;
    use dfft_core::statement::{Action, AuthorityId, Destination, Mechanism};

    #[test]
    fn route_specs() {
        assert_eq!(Watch::route("DE:US").unwrap().key(), "route DE:US");
        assert_eq!(Watch::route("IO:EPO:US").unwrap().key(), "route IO:EPO:US");
        assert!(Watch::route("DEUS").is_err());
        assert!(Watch::route("DE:").is_err());
        assert!(Watch::record("Not A Record").is_err());
    }

    fn day(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn head(id: &str, events: &[(u64, Action, &str)]) -> RecordHead {
        RecordHead {
            record: RecordId::new(id).unwrap(),
            mechanism: Some(Mechanism::new("adequacy").unwrap()),
            rule: None,
            listing: None,
            requires_listing: None,
            from: Jurisdiction::new("EEA").unwrap(),
            to: Destination::new("US").unwrap(),
            events: events
                .iter()
                .map(|&(index, action, effective)| EventRef {
                    index,
                    action,
                    effective: day(effective),
                    expires: None,
                    authority: AuthorityId::new("eu.ec").unwrap(),
                    data: None,
                })
                .collect(),
        }
    }

    fn checkpoint() -> SignedCheckpoint {
        let key = SignerKey::from_seed(KeyName::new("example.org/log").unwrap(), [1; 32]);
        Checkpoint {
            origin: "example.org/log".into(),
            size: 9,
            root: [7; 32],
            extensions: vec![],
        }
        .sign(&[&key], 0)
        .unwrap()
    }

    fn record_answer(h: Option<RecordHead>) -> Answer {
        Answer::Record {
            id: RecordId::new("eu.ec/dpf").unwrap(),
            history: h.map(|head| VerifiedRecord {
                checkpoint: checkpoint(),
                head,
            }),
            absent_under: None,
        }
    }

    #[test]
    fn answers_are_described_line_by_line() {
        let today = day("2026-01-01");
        let w = Watch::record("eu.ec/dpf").unwrap();
        let dpf = head(
            "eu.ec/dpf",
            &[
                (4, Action::Granted, "2023-07-10"),
                (9, Action::Suspended, "2025-06-01"),
            ],
        );
        assert_eq!(
            w.describe_answer(&record_answer(Some(dpf.clone())), today)
                .unwrap(),
            vec![
                "adequacy EEA -> US: suspended on 2026-01-01",
                "#4 granted effective 2023-07-10 by eu.ec",
                "#9 suspended effective 2025-06-01 by eu.ec",
            ]
        );
        assert_eq!(
            w.describe_answer(&record_answer(None), today).unwrap(),
            vec!["not in the log"]
        );

        // A route: by record id, whatever order the answer lists them in.
        let route = Watch::route("DE:US").unwrap();
        let ps = head("eu.ec/ps", &[(2, Action::Granted, "2016-07-12")]);
        let answer = |at: &str, records: Vec<(RecordHead, Status)>| Answer::Route {
            from: Jurisdiction::new("DE").unwrap(),
            to: Jurisdiction::new("US").unwrap(),
            at: day(at),
            verified: VerifiedRoute {
                checkpoint: checkpoint(),
                summary: dfft_core::statement::Summary::of(records.iter().map(|(h, s)| (h, *s))),
                records,
            },
        };
        let a = answer(
            "2026-01-01",
            vec![(ps.clone(), Status::Ended), (dpf, Status::Suspended)],
        );
        assert_eq!(
            route.describe_answer(&a, today).unwrap(),
            vec![
                "eu.ec/dpf (adequacy, EEA -> US): suspended on 2026-01-01",
                "eu.ec/ps (adequacy, EEA -> US): ended on 2026-01-01",
            ]
        );
        assert_eq!(
            route
                .describe_answer(&answer("2026-01-01", vec![]), today)
                .unwrap(),
            vec!["no record covers DE -> US on 2026-01-01"]
        );
        // Answers to other questions are refused.
        for (w, a) in [
            (&route, answer("2025-12-31", vec![])),
            (&Watch::route("FR:US").unwrap(), a.clone()),
            (&route, record_answer(None)),
            (&Watch::record("eu.ec/other").unwrap(), record_answer(None)),
        ] {
            assert!(
                matches!(
                    w.describe_answer(&a, today),
                    Err(ClientError::WrongAnswer(_))
                ),
                "{} {a:?}",
                w.key()
            );
        }
    }

    #[test]
    fn a_record_seen_before_cannot_vanish() {
        let today = day("2026-01-01");
        let w = vec![Watch::record("eu.ec/dpf").unwrap()];
        let mut seen = BTreeMap::new();
        // Never seen: absent on the log's word, reported once.
        let c = answer_changes(&w, &[record_answer(None)], today, &mut seen).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].after, vec!["not in the log"]);
        assert!(answer_changes(&w, &[record_answer(None)], today, &mut seen)
            .unwrap()
            .is_empty());
        // Then logged, then denied: withheld, and `seen` keeps the record.
        let dpf = head("eu.ec/dpf", &[(4, Action::Granted, "2023-07-10")]);
        let c = answer_changes(&w, &[record_answer(Some(dpf))], today, &mut seen).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0].before.as_deref(),
            Some(&["not in the log".to_string()][..])
        );
        let kept = seen.clone();
        let e = answer_changes(&w, &[record_answer(None)], today, &mut seen).unwrap_err();
        assert!(
            matches!(&e, ClientError::Withheld { record } if record == "eu.ec/dpf"),
            "{e}"
        );
        assert_eq!(seen, kept);
        // A date alone is no change.
        let next = day("2026-01-02");
        let dpf = head("eu.ec/dpf", &[(4, Action::Granted, "2023-07-10")]);
        assert!(
            answer_changes(&w, &[record_answer(Some(dpf))], next, &mut seen)
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            answer_changes(&w, &[], today, &mut seen),
            Err(ClientError::Usage(_))
        ));
    }
}
