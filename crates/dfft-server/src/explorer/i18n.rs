//! The explorer's words in English and Japanese, and the choice between
//! them: `?lang=` first (the page's switch), then the `Accept-Language`
//! header's preferences (RFC 9110 quality values), then English.
//!
//! Covers: every string a page shows, per language; negotiation. Leaves
//! out: markup (`super::html`).

use dfft_core::statement::{Action, Mechanism, Status};

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Japanese.
    Ja,
}

impl Lang {
    /// The BCP 47 tag (`lang` attribute, `?lang=`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.trim();
        if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else if primary.eq_ignore_ascii_case("ja") {
            Some(Lang::Ja)
        } else {
            None
        }
    }

    /// The language for a request: `query` (`?lang=`) if it names one we
    /// have, else the most preferred of `accept` (an `Accept-Language`
    /// value) that we have, else English.
    pub fn choose(query: Option<&str>, accept: Option<&str>) -> Lang {
        if let Some(l) = query.and_then(Lang::from_tag) {
            return l;
        }
        let mut best: Option<(u16, Lang)> = None;
        for item in accept.unwrap_or("").split(',') {
            let mut parts = item.split(';');
            let Some(l) = parts.next().and_then(Lang::from_tag) else {
                continue;
            };
            // q in thousandths; a bad or missing q counts as 1 (q=0: not wanted).
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), |v| {
                    v.trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))
                        .map(|q| (q * 1000.0) as u16)
                })
                .unwrap_or(1000);
            if q > 0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, l));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    /// The other language (the switch).
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Ja,
            Lang::Ja => Lang::En,
        }
    }

    /// The words of this language.
    pub fn words(self) -> &'static Words {
        match self {
            Lang::En => &EN,
            Lang::Ja => &JA,
        }
    }
}

/// Every fixed string of the pages.
pub struct Words {
    pub title: &'static str,
    pub question: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub date: &'static str,
    pub ask: &'static str,
    pub codes_hint: &'static str,
    pub switch: &'static str,
    pub answer_heading: &'static str,
    pub none: &'static str,
    pub none_means: &'static str,
    pub mechanism: &'static str,
    pub authority: &'static str,
    pub timeline: &'static str,
    pub index: &'static str,
    pub legal_reference: &'static str,
    pub left_out: &'static str,
    pub checkpoint: &'static str,
    pub not_verified_here: &'static str,
    pub verify_offline: &'static str,
    pub json: &'static str,
    pub error: &'static str,
    pub log: &'static str,
    pub origin: &'static str,
    pub size: &'static str,
    pub root: &'static str,
    pub signed_by: &'static str,
    pub not_verified_log: &'static str,
}

const EN: Words = Words {
    title: "Data transfer registry",
    question: "May data go from one jurisdiction to another on a given day?",
    from: "From",
    to: "To",
    date: "On",
    ask: "Ask",
    codes_hint: "Jurisdiction codes: ISO 3166 (DE, JP, US), EU or EEA.",
    switch: "日本語",
    answer_heading: "Recognitions that apply",
    none: "The registry holds no recognition that covers this route on this day.",
    none_means: "This is not a prohibition, and not a permission: the registry records recognitions, and has none here.",
    mechanism: "Mechanism",
    authority: "Granted by",
    timeline: "Timeline",
    index: "log entry",
    legal_reference: "Legal reference",
    left_out: "On the same routes but not matching (another mechanism, or granted later)",
    checkpoint: "Signed checkpoint",
    not_verified_here: "Your browser has not verified this page: the registry built it from the answer below, which carries every proof (inclusion of each entry, completeness through the map) under the signed checkpoint.",
    verify_offline: "Verify it yourself, offline, with the log's key:",
    json: "The answer with its proofs (JSON)",
    error: "The question could not be answered",
    log: "The log",
    origin: "Origin",
    size: "Entries",
    root: "Root hash",
    signed_by: "Signed by",
    not_verified_log: "Your browser has not verified these signatures: check them with dfft verify or any C2SP tlog-checkpoint verifier, with the log's key (and the witnesses' keys).",
};

const JA: Words = Words {
    title: "データ移転レジストリ",
    question: "ある日に、ある法域から別の法域へデータを移転できますか？",
    from: "移転元",
    to: "移転先",
    date: "日付",
    ask: "照会",
    codes_hint: "法域コード：ISO 3166（DE、JP、US）、EU または EEA。",
    switch: "English",
    answer_heading: "適用される認定",
    none: "この日のこの経路を対象とする認定は、レジストリにありません。",
    none_means: "これは禁止でも許可でもありません。レジストリは認定を記録しており、ここには該当するものがないということです。",
    mechanism: "移転の仕組み",
    authority: "認定した当局",
    timeline: "経過",
    index: "ログ項目",
    legal_reference: "法的根拠",
    left_out: "同じ経路上にあるが該当しないもの（別の仕組み、または後日の認定）",
    checkpoint: "署名付きチェックポイント",
    not_verified_here: "このページはお使いのブラウザでは検証されていません。レジストリが下記の回答から作成したもので、回答には署名付きチェックポイントの下でのすべての証明（各項目の包含、マップによる完全性）が含まれています。",
    verify_offline: "ログの公開鍵を使って、ご自身でオフライン検証できます：",
    json: "証明付きの回答（JSON）",
    error: "照会に回答できませんでした",
    log: "ログ",
    origin: "オリジン",
    size: "項目数",
    root: "ルートハッシュ",
    signed_by: "署名者",
    not_verified_log: "これらの署名はお使いのブラウザでは検証されていません。ログの公開鍵（および証人の公開鍵）を使い、dfft verify または C2SP tlog-checkpoint の検証ツールで確認してください。",
};

impl Words {
    /// A status in words (never colour alone).
    pub fn status(&self, s: Option<Status>) -> &'static str {
        let en = std::ptr::eq(self, &EN);
        match (s, en) {
            (Some(Status::InForce), true) => "In force",
            (Some(Status::Suspended), true) => "Suspended",
            (Some(Status::Ended), true) => "Ended (invalidated or revoked)",
            (Some(Status::Expired), true) => "Expired",
            (None, true) => "Not yet in effect",
            (Some(Status::InForce), false) => "有効",
            (Some(Status::Suspended), false) => "停止中",
            (Some(Status::Ended), false) => "終了（無効化または撤回）",
            (Some(Status::Expired), false) => "失効",
            (None, false) => "未発効",
        }
    }

    /// An event's action in words.
    pub fn action(&self, a: Action) -> &'static str {
        let en = std::ptr::eq(self, &EN);
        match (a, en) {
            (Action::Granted, true) => "granted",
            (Action::Amended, true) => "amended",
            (Action::Renewed, true) => "renewed",
            (Action::Suspended, true) => "suspended",
            (Action::Reinstated, true) => "reinstated",
            (Action::Invalidated, true) => "invalidated",
            (Action::Revoked, true) => "revoked",
            (Action::Expired, true) => "expired",
            (Action::Granted, false) => "認定",
            (Action::Amended, false) => "改正",
            (Action::Renewed, false) => "更新",
            (Action::Suspended, false) => "停止",
            (Action::Reinstated, false) => "再開",
            (Action::Invalidated, false) => "無効化",
            (Action::Revoked, false) => "撤回",
            (Action::Expired, false) => "失効",
        }
    }

    /// A mechanism in words.
    pub fn mechanism(&self, m: Mechanism) -> &'static str {
        let en = std::ptr::eq(self, &EN);
        match (m, en) {
            (Mechanism::Adequacy, true) => "adequacy decision",
            (Mechanism::DataBridge, true) => "data bridge",
            (Mechanism::Designation, true) => "designation",
            (Mechanism::Scc, true) => "standard contractual clauses",
            (Mechanism::Bcr, true) => "binding corporate rules",
            (Mechanism::Certification, true) => "certification",
            (Mechanism::CodeOfConduct, true) => "code of conduct",
            (Mechanism::Cbpr, true) => "APEC Cross-Border Privacy Rules",
            (Mechanism::Dpf, true) => "data privacy framework",
            (Mechanism::Other, true) => "other",
            (Mechanism::Adequacy, false) => "十分性認定",
            (Mechanism::DataBridge, false) => "データブリッジ",
            (Mechanism::Designation, false) => "指定",
            (Mechanism::Scc, false) => "標準契約条項",
            (Mechanism::Bcr, false) => "拘束的企業準則",
            (Mechanism::Certification, false) => "認証",
            (Mechanism::CodeOfConduct, false) => "行動規範",
            (Mechanism::Cbpr, false) => "APEC越境プライバシールール",
            (Mechanism::Dpf, false) => "データプライバシーフレームワーク",
            (Mechanism::Other, false) => "その他",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_wins_then_the_preferences_then_english() {
        assert_eq!(Lang::choose(Some("ja"), Some("en")), Lang::Ja);
        assert_eq!(Lang::choose(Some("fr"), Some("ja-JP,en;q=0.5")), Lang::Ja);
        assert_eq!(Lang::choose(None, Some("en;q=0.4, ja;q=0.8")), Lang::Ja);
        assert_eq!(Lang::choose(None, Some("ja;q=0, en")), Lang::En);
        assert_eq!(Lang::choose(None, Some("fr, de")), Lang::En);
        assert_eq!(Lang::choose(None, Some("ja;q=bad")), Lang::Ja);
        assert_eq!(Lang::choose(None, None), Lang::En);
    }

    #[test]
    fn every_word_is_there_in_both() {
        for l in [Lang::En, Lang::Ja] {
            let w = l.words();
            assert!(!w.status(Some(Status::Ended)).is_empty());
            assert_ne!(
                w.status(Some(Status::InForce)),
                l.other().words().status(Some(Status::InForce))
            );
        }
    }
}
