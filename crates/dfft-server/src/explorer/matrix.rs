//! The explorer's matrix page, `/matrix?at=D[&from=X]`: one accessible
//! table from the typed matrix (`crate::matrix::matrix_typed`).
//!
//! Leaves out: proofs (the matrix carries none; each cell links the route
//! page that verifies it).

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use dfft_core::statement::{Jurisdiction, Mechanism, Requirement};

use super::html::{self, attr, esc};
use super::i18n::{Lang, Words};
use super::{error_page, lang_of, panel, respond, urlencode, Panel};
use crate::error::{ApiError, ApiQuery};
use crate::query::date_param;
use crate::App;

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
        Err(e) => return error_page(body, lang, &e, &switch),
    };
    let answer = match crate::matrix::matrix_typed(&app, at, from.clone()).await {
        Ok(a) => a,
        Err(e) => return error_page(body, lang, &e, &switch),
    };
    let m = match answer.typed() {
        Ok(m) => m,
        Err(e) => return error_page(body, lang, &e, &switch),
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

/// What a matrix row is: a recognition's mechanism or a rule's requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Recognition(Mechanism),
    Rule(Requirement),
}

impl Kind {
    fn of(r: &dfft_core::wire::MatrixRecord) -> Option<Kind> {
        match (r.requires, r.mechanism) {
            (Some(q), _) => Some(Kind::Rule(q)),
            (None, Some(m)) => Some(Kind::Recognition(m)),
            (None, None) => None,
        }
    }

    fn letters(self) -> &'static str {
        match self {
            Kind::Recognition(m) => letters(m),
            Kind::Rule(q) => rule_letters(q),
        }
    }

    fn words(self, w: &Words) -> String {
        match self {
            Kind::Recognition(m) => w.record_kind(Some(m), None),
            Kind::Rule(q) => w.record_kind(None, Some(q)),
        }
    }
}

fn rule_letters(q: Requirement) -> &'static str {
    match q {
        Requirement::Prohibited => "R:PROH",
        Requirement::PriorAssessment => "R:ASSESS",
        Requirement::PriorApproval => "R:APPROV",
        Requirement::StandardContract => "R:SC",
        Requirement::Certification => "R:CERT",
        Requirement::Registration => "R:REG",
        Requirement::Notification => "R:NOTIF",
        Requirement::Consent => "R:CONSENT",
        Requirement::LocalCopy => "R:COPY",
        Requirement::LocalStorage => "R:LOCAL",
        Requirement::Recognition => "R:BASIS",
    }
}

fn matrix_table(out: &mut String, w: &Words, lang: Lang, m: &dfft_core::wire::Matrix) {
    use std::collections::{BTreeMap, BTreeSet};
    let mut cells: BTreeMap<(&str, &str), BTreeSet<Kind>> = BTreeMap::new();
    let mut froms = BTreeSet::new();
    let mut tos = BTreeSet::new();
    for p in &m.pairs {
        froms.insert(p.from.as_str());
        tos.insert(p.to.as_str());
        let e = cells.entry((p.from.as_str(), p.to.as_str())).or_default();
        for &i in &p.records {
            if let Some(k) = m.records.get(i as usize).and_then(Kind::of) {
                e.insert(k);
            }
        }
    }
    let used: BTreeSet<Kind> = cells.values().flatten().copied().collect();
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
            mech.letters(),
            esc(&mech.words(w))
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
                    let text: Vec<&str> = ms.iter().map(|x| x.letters()).collect();
                    let restricted = ms
                        .iter()
                        .any(|x| matches!(x, Kind::Rule(q) if q.restricts()));
                    let class = if restricted {
                        "restr"
                    } else if ms.iter().any(|x| {
                        matches!(x, Kind::Recognition(m) if *m != Mechanism::Scc && *m != Mechanism::Bcr)
                    }) {
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
