//! Atom feeds (RFC 4287) for people who follow a route or a record in a
//! feed reader: `/route.atom?from=&to=[&mechanism=]` and
//! `/record/<id>.atom`. One feed entry per logged event, newest log entry
//! first, titled in the page's language, with the event's signed
//! `issued_at` as its time, its legal reference, and a link to the record
//! page on the day it took effect.
//!
//! A route feed follows the records on the route today: those that apply
//! (`records`) and those on the same route keys granted for later
//! (`completeness.filtered`, their grant alone), from the same typed
//! answer as the page. Leaves out: proofs (a feed reader cannot check
//! them; every entry links the page that does).

use std::fmt::Write as _;

use dfft_core::answer::{EventProof, RecordAnswer};

use super::html::{attr, esc};
use super::i18n::Words;

/// One feed entry's facts.
struct Item<'a> {
    record: &'a RecordAnswer,
    event: &'a EventProof,
}

/// The feed of these records' events. `id` is the feed's stable id,
/// `title` its title, `self_href` its own path, `page_href` the page.
pub fn atom(
    w: &Words,
    id: &str,
    title: &str,
    self_href: &str,
    page_href: &str,
    records: &[&RecordAnswer],
) -> String {
    let mut items: Vec<Item<'_>> = records
        .iter()
        .flat_map(|r| {
            r.events.iter().map(move |e| Item {
                record: r,
                event: e,
            })
        })
        .collect();
    items.sort_by_key(|i| std::cmp::Reverse(i.event.index));
    let facts: Vec<(String, Option<dfft_core::statement::LegalReference>)> =
        items.iter().map(|i| facts(&i.event.entry)).collect();
    // The feed's time: its newest entry's (a fixed epoch for an empty one).
    let updated = facts
        .iter()
        .map(|(t, _)| t.as_str())
        .max()
        .unwrap_or("1970-01-01T00:00:00Z")
        .to_owned();
    let mut out = String::new();
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <id>{id}</id><title>{title}</title><updated>{updated}</updated>\
         <link rel=\"self\" href=\"{selfh}\"/><link rel=\"alternate\" type=\"text/html\" href=\"{page}\"/>\
         <author><name>{author}</name></author>",
        id = esc(id),
        title = esc(title),
        updated = esc(&updated),
        selfh = attr(self_href),
        page = attr(page_href),
        author = esc(w.title),
    );
    for (item, (issued, legal)) in items.iter().zip(&facts) {
        let r = item.record;
        let e = item.event;
        let mut summary = format!(
            "{}: {} → {}, {}. {} {}.",
            w.record_kind(r.mechanism, r.rule.as_ref().map(|t| t.requires)),
            r.from,
            r.to.as_str(),
            w.action(e.action),
            w.date,
            e.effective
        );
        if let Some(l) = legal {
            let _ = write!(summary, " {}: {} ({}).", w.legal_reference, l.title, l.id);
        }
        let _ = write!(
            out,
            "<entry><id>{feed}:entry:{index}</id><title>{rec}: {action} ({date})</title>\
             <updated>{issued}</updated>\
             <link rel=\"alternate\" type=\"text/html\" href=\"/record/{path}?at={date}\"/>\
             <summary>{summary}</summary></entry>",
            feed = esc(id),
            index = e.index,
            rec = esc(&r.record),
            action = esc(w.action(e.action)),
            date = e.effective,
            issued = esc(issued),
            path = attr(&super::urlencode_path(&r.record)),
            summary = esc(&summary),
        );
    }
    out.push_str("</feed>\n");
    out
}

/// A logged recognition's or rule's signed `issued_at` and legal reference.
fn facts(entry_b64: &str) -> (String, Option<dfft_core::statement::LegalReference>) {
    match super::entry_facts(entry_b64) {
        Some(f) => (f.issued_at, Some(f.legal_reference)),
        None => ("1970-01-01T00:00:00Z".to_owned(), None),
    }
}
