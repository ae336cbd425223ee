//! The explorer's words in English and Japanese, and the choice between
//! them: `?lang=` first (the page's switch), then the `Accept-Language`
//! header's preferences (RFC 9110 quality values), then English.
//!
//! Covers: every string a page shows, per language; negotiation. Leaves
//! out: markup (`super::html`).

use dfft_core::statement::{Action, Mechanism, Requirement, Status};

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
    /// Which language these are (chooses the words of the methods below).
    pub lang: Lang,
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
    /// Label of the route answer's summary.
    pub summary: &'static str,
    /// Label of a rule's data categories.
    pub applies_to: &'static str,
    /// Label of a statement's notes.
    pub notes: &'static str,
    /// The counterparty page's title.
    pub counterparty_title: &'static str,
    /// Label of the organisation field.
    pub organisation: &'static str,
    /// Label of the listing data field.
    pub listing_data: &'static str,
    /// Label of the counterparty verdict.
    pub counterparty_verdict: &'static str,
    /// Heading of a listing part.
    pub listing_on: &'static str,
    /// A programme never listed the organisation (proven).
    pub never_listed: &'static str,
    /// Heading of the route's records on the counterparty page.
    pub route_records: &'static str,
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
    pub feed: &'static str,
    pub authorities: &'static str,
    pub competence: &'static str,
    pub keys: &'static str,
    pub state: &'static str,
    pub active: &'static str,
    pub retired: &'static str,
    pub history: &'static str,
    pub issued: &'static str,
    pub nav: &'static str,
    pub nav_ask: &'static str,
    pub nav_matrix: &'static str,
    pub nav_authorities: &'static str,
    pub matrix_title: &'static str,
    pub matrix_hint: &'static str,
    pub matrix_on: &'static str,
    pub matrix_explain: &'static str,
    pub any_destination: &'static str,
    pub show: &'static str,
    pub verify_link: &'static str,
    pub proof_download: &'static str,
    pub examples: &'static str,
}

static EN: Words = Words {
    lang: Lang::En,
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
    none_means: "This is not a prohibition, and not a permission: the registry records recognitions and rules, and has none here.",
    summary: "Summary:",
    applies_to: "Applies to data",
    notes: "notes",
    counterparty_title: "dfft registry: may data go to this organisation?",
    organisation: "Organisation (programme id)",
    listing_data: "Kind of data",
    counterparty_verdict: "Verdict:",
    listing_on: "Listing on",
    never_listed: "Never listed: the map proves the programme holds no listing for this organisation.",
    route_records: "The route's recognitions and rules",
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
    feed: "Follow changes in a feed reader (Atom)",
    authorities: "Authorities enrolled in this registry",
    competence: "Competent for",
    keys: "Signing keys",
    state: "State",
    active: "Active",
    retired: "Retired (no further statements accepted)",
    history: "Enrolment history",
    issued: "signed",
    nav: "Pages",
    nav_ask: "Ask",
    nav_matrix: "Matrix",
    nav_authorities: "Authorities",
    matrix_title: "Which recognitions are in force between jurisdictions on a day?",
    matrix_hint: "Leave From empty for every origin, or give a country (DE) or a group (EU).",
    matrix_on: "Recognitions in force on",
    matrix_explain: "Each cell lists the mechanisms recognised for that origin and destination, in letters; the column “any destination” holds those that cover every destination (clauses). A dash means the registry holds none: not a prohibition. The matrix carries no proofs: each cell links its route page, which verifies it in your browser.",
    any_destination: "any destination",
    show: "Show",
    verify_link: "Not yet verified by your browser: see Verification below",
    proof_download: "[proof file]",
    examples: "For example",
};

static JA: Words = Words {
    lang: Lang::Ja,
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
    none_means: "これは禁止でも許可でもありません。レジストリは認定と規則を記録しており、ここには該当するものがないということです。",
    summary: "要約:",
    applies_to: "対象データ",
    notes: "注記",
    counterparty_title: "dfftレジストリ: この組織へのデータ移転は可能か",
    organisation: "組織（プログラムID）",
    listing_data: "データの種類",
    counterparty_verdict: "判定:",
    listing_on: "掲載プログラム",
    never_listed: "掲載なし: このプログラムにこの組織の掲載がないことをマップが証明しています。",
    route_records: "経路の認定と規則",
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
    feed: "フィードリーダーで変更を購読（Atom）",
    authorities: "このレジストリに登録された当局",
    competence: "管轄",
    keys: "署名鍵",
    state: "状態",
    active: "有効",
    retired: "退任（以後の声明は受け付けられません）",
    history: "登録の経過",
    issued: "署名日時",
    nav: "ページ",
    nav_ask: "照会",
    nav_matrix: "一覧表",
    nav_authorities: "当局",
    matrix_title: "ある日に法域間で有効な認定は何ですか？",
    matrix_hint: "移転元を空欄にするとすべての移転元を表示します。国（DE）またはグループ（EU）を指定できます。",
    matrix_on: "有効な認定：",
    matrix_explain: "各セルは、その移転元と移転先について認められた仕組みを略号で示します。「すべての移転先」の列は、すべての移転先を対象とするもの（契約条項）です。ダッシュはレジストリに該当がないことを示し、禁止を意味しません。この一覧表には証明が含まれません。各セルから経路のページを開くと、ブラウザで検証されます。",
    any_destination: "すべての移転先",
    show: "表示",
    verify_link: "ブラウザではまだ検証されていません：下記の「検証」を参照",
    proof_download: "［証明ファイル］",
    examples: "例",
};

/// The verification panel's words (`assets/page.mjs` reads them from the
/// page as JSON; `{name}` is filled in by the script). A test checks that
/// both languages have the same keys and every key the script uses.
pub fn check_words(lang: Lang) -> &'static [(&'static str, &'static str)] {
    match lang {
        Lang::En => CHECK_EN,
        Lang::Ja => CHECK_JA,
    }
}

const CHECK_EN: &[(&str, &str)] = &[
    ("heading", "Verification"),
    ("checking", "Checking the proofs in your browser…"),
    ("verified", "Verified in your browser"),
    ("failed", "Verification FAILED: do not rely on this page"),
    ("unverifiable", "Could not verify"),
    ("alarm", "ALARM: this registry has shown your browser two different histories"),
    ("signed", "The checkpoint (entries: {size}) is signed by the log key {key}."),
    ("trust_pinned", "That key is the one pinned in this browser."),
    ("trust_server", "No key is pinned: this trusts the key the server itself announces. Pin a key you got from the authority that runs this registry (a link with #key=...) to check the server too."),
    ("proofs", "{n} entries checked: each is included in the signed tree and is the event it is shown as; each status recomputed from the entries."),
    ("complete", "Complete: the map bound into the checkpoint proves that no record on this question was left out."),
    ("absent_proven", "The map bound into the checkpoint proves that the log holds no record with this id."),
    ("incomplete", "NOT proven complete: the answer carries no completeness proof."),
    ("first_visit", "This browser had not verified this log before; it now remembers this checkpoint, and checks the next one against it."),
    ("consistent", "The log only grew since your last visit: the checkpoint is consistent with the one verified before (entries: {old} then {now})."),
    ("consistent_same", "Same checkpoint as your last visit (entries: {size})."),
    ("alarm_rollback", "The log now shows {now} entries, but this browser verified a checkpoint of {old} entries signed by the same key: the log was rolled back, or you are shown another copy of its history."),
    ("alarm_fork", "The signed checkpoint is not consistent with the one this browser verified before: the log forked."),
    ("evidence", "Evidence: both checkpoints are signed by the log's key. Keep them and report them to the registry's operator and its witnesses."),
    ("earlier", "Verified before"),
    ("now", "Shown now"),
    ("download_evidence", "Download the evidence (JSON)"),
    ("page_differs", "The page shows other records or statuses than the verified answer says."),
    ("changed_reload", "The registry changed since this page was built; reload it to verify."),
    ("key_pinned", "Log key (pinned in this browser):"),
    ("key_server", "Log key (the server's own, not pinned):"),
    ("pin", "Pin this key"),
    ("unpin", "Forget the pinned key"),
    ("changes_since", "Changes on this route since your last visit ({date})"),
    ("no_changes", "Nothing changed."),
    ("change_new", "New: {id}"),
    ("change_changed", "Changed: {id}"),
    ("change_gone", "No longer listed: {id}"),
    ("cosigners_unchecked", "Witnesses not pinned in this browser are not checked (pin them with #witness=<vkey>&quorum=k in a link); dfft verify --witness-policy checks every kind."),
    ("cosigned", "Cosigned by {n} of the {m} witnesses pinned in this browser (quorum {k}): {names}."),
    ("matrix_unproven", "The cells themselves are not proven: the matrix carries no proofs. Open a cell: its route page verifies it, completeness included."),
];

const CHECK_JA: &[(&str, &str)] = &[
    ("heading", "検証"),
    ("checking", "ブラウザで証明を確認しています…"),
    ("verified", "ブラウザで検証済み"),
    ("failed", "検証に失敗しました：このページを信頼しないでください"),
    ("unverifiable", "検証できませんでした"),
    ("alarm", "警告：このレジストリはお使いのブラウザに異なる二つの履歴を示しました"),
    ("signed", "チェックポイント（項目数：{size}）はログの鍵 {key} で署名されています。"),
    ("trust_pinned", "この鍵は、このブラウザに固定された鍵です。"),
    ("trust_server", "鍵が固定されていません：サーバー自身が示す鍵を信頼しています。サーバーも確認するには、このレジストリを運営する当局から入手した鍵（#key=... 付きのリンク）を固定してください。"),
    ("proofs", "{n} 件の項目を確認しました：各項目が署名付きツリーに含まれ、表示どおりの事象であること、各状態を項目から再計算しました。"),
    ("complete", "完全：チェックポイントに結び付けられたマップにより、この照会に関する記録が一つも省かれていないことが証明されています。"),
    ("absent_proven", "チェックポイントに結び付けられたマップにより、この ID の記録がログにないことが証明されています。"),
    ("incomplete", "完全性は証明されていません：回答に完全性の証明がありません。"),
    ("first_visit", "このブラウザはこのログを初めて検証しました。このチェックポイントを記憶し、次回はこれと照合します。"),
    ("consistent", "前回の訪問以降、ログは追加のみです：チェックポイントは前回検証したものと整合しています（項目数：{old} から {now}）。"),
    ("consistent_same", "前回の訪問と同じチェックポイントです（項目数：{size}）。"),
    ("alarm_rollback", "ログは現在 {now} 項目を示していますが、このブラウザは同じ鍵で署名された {old} 項目のチェックポイントを検証済みです：ログが巻き戻されたか、別の履歴が示されています。"),
    ("alarm_fork", "署名付きチェックポイントが、このブラウザが以前に検証したものと整合しません：ログが分岐しました。"),
    ("evidence", "証拠：両方のチェックポイントはログの鍵で署名されています。保存し、レジストリの運営者と証人に報告してください。"),
    ("earlier", "以前に検証したもの"),
    ("now", "現在示されているもの"),
    ("download_evidence", "証拠をダウンロード（JSON）"),
    ("page_differs", "このページは、検証済みの回答とは異なる記録または状態を表示しています。"),
    ("changed_reload", "このページの作成後にレジストリが更新されました。検証するには再読み込みしてください。"),
    ("key_pinned", "ログの鍵（このブラウザに固定）："),
    ("key_server", "ログの鍵（サーバー自身のもの、未固定）："),
    ("pin", "この鍵を固定する"),
    ("unpin", "固定した鍵を解除する"),
    ("changes_since", "前回の訪問（{date}）以降のこの経路の変更"),
    ("no_changes", "変更はありません。"),
    ("change_new", "新規：{id}"),
    ("change_changed", "変更：{id}"),
    ("change_gone", "掲載なし：{id}"),
    ("cosigners_unchecked", "このブラウザに固定されていない証人は確認されません（リンクに #witness=<vkey>&quorum=k を付けて固定できます）。dfft verify --witness-policy ですべての種類を確認できます。"),
    ("cosigned", "このブラウザに固定された {m} 人の証人のうち {n} 人が連署しています（必要数 {k}）：{names}。"),
    ("matrix_unproven", "セル自体は証明されていません：一覧表には証明が含まれません。セルを開くと、経路のページが完全性を含めて検証します。"),
];

impl Words {
    /// A status in words (never colour alone).
    pub fn status(&self, s: Option<Status>) -> &'static str {
        let en = self.lang == Lang::En;
        match (s, en) {
            (Some(Status::InForce), true) => "In force",
            (Some(Status::Suspended), true) => "Suspended",
            (Some(Status::Ended), true) => "Ended (invalidated or revoked)",
            (Some(Status::Expired), true) => "Expired",
            (Some(Status::Inactive), true) => {
                "Inactive (lapsed: no new transfers; obligations remain)"
            }
            (None, true) => "Not yet in effect",
            (Some(Status::InForce), false) => "有効",
            (Some(Status::Suspended), false) => "停止中",
            (Some(Status::Ended), false) => "終了（無効化または撤回）",
            (Some(Status::Expired), false) => "失効",
            (Some(Status::Inactive), false) => {
                "非アクティブ（失効: 新たな移転は不可、既存の義務は継続）"
            }
            (None, false) => "未発効",
        }
    }

    /// An event's action in words.
    pub fn action(&self, a: Action) -> &'static str {
        let en = self.lang == Lang::En;
        match (a, en) {
            (Action::Granted, true) => "granted",
            (Action::Amended, true) => "amended",
            (Action::Renewed, true) => "renewed",
            (Action::Suspended, true) => "suspended",
            (Action::Reinstated, true) => "reinstated",
            (Action::Invalidated, true) => "invalidated",
            (Action::Revoked, true) => "revoked",
            (Action::Expired, true) => "expired",
            (Action::Listed, true) => "listed",
            (Action::Recertified, true) => "recertified",
            (Action::ScopeChanged, true) => "scope changed",
            (Action::Lapsed, true) => "lapsed",
            (Action::Withdrawn, true) => "withdrawn",
            (Action::Removed, true) => "removed",
            (Action::Granted, false) => "認定",
            (Action::Amended, false) => "改正",
            (Action::Renewed, false) => "更新",
            (Action::Suspended, false) => "停止",
            (Action::Reinstated, false) => "再開",
            (Action::Invalidated, false) => "無効化",
            (Action::Revoked, false) => "撤回",
            (Action::Expired, false) => "失効",
            (Action::Listed, false) => "掲載",
            (Action::Recertified, false) => "再認証",
            (Action::ScopeChanged, false) => "範囲変更",
            (Action::Lapsed, false) => "失効（非アクティブ）",
            (Action::Withdrawn, false) => "脱退",
            (Action::Removed, false) => "削除",
        }
    }

    /// An authority statement's action in words.
    pub fn authority_action(&self, a: dfft_core::statement::AuthorityAction) -> &'static str {
        use dfft_core::statement::AuthorityAction as A;
        let en = self.lang == Lang::En;
        match (a, en) {
            (A::Enroll, true) => "enrolled",
            (A::Update, true) => "updated (name, competence and keys replaced)",
            (A::Retire, true) => "retired",
            (A::Enroll, false) => "登録",
            (A::Update, false) => "更新（名称、管轄、鍵を置換）",
            (A::Retire, false) => "退任",
        }
    }

    /// A mechanism in words.
    pub fn mechanism(&self, m: Mechanism) -> &'static str {
        let en = self.lang == Lang::En;
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

    /// A rule's requirement in words (statements v2).
    pub fn requirement(&self, r: Requirement) -> &'static str {
        let en = self.lang == Lang::En;
        match (r, en) {
            (Requirement::Prohibited, true) => "prohibited",
            (Requirement::PriorAssessment, true) => "prior assessment required",
            (Requirement::PriorApproval, true) => "prior approval required",
            (Requirement::StandardContract, true) => "standard contract required",
            (Requirement::Certification, true) => "certification required",
            (Requirement::Registration, true) => "registration or filing required",
            (Requirement::Notification, true) => "notification required",
            (Requirement::Consent, true) => "consent required",
            (Requirement::LocalCopy, true) => "a local copy required",
            (Requirement::LocalStorage, true) => "local storage required",
            (Requirement::Recognition, true) => "a recognised basis required",
            (Requirement::Prohibited, false) => "禁止",
            (Requirement::PriorAssessment, false) => "事前評価が必要",
            (Requirement::PriorApproval, false) => "事前承認が必要",
            (Requirement::StandardContract, false) => "標準契約が必要",
            (Requirement::Certification, false) => "認証が必要",
            (Requirement::Registration, false) => "登録・届出が必要",
            (Requirement::Notification, false) => "通知が必要",
            (Requirement::Consent, false) => "本人の同意が必要",
            (Requirement::LocalCopy, false) => "国内での複製保存が必要",
            (Requirement::LocalStorage, false) => "国内保存が必要",
            (Requirement::Recognition, false) => "承認された移転根拠が必要",
        }
    }

    /// What a record is, in words: a recognition's mechanism, or a rule
    /// and its requirement.
    pub fn record_kind(
        &self,
        mechanism: Option<Mechanism>,
        requires: Option<Requirement>,
    ) -> String {
        match (requires, mechanism) {
            (Some(r), _) => {
                let rule = if self.lang == Lang::En {
                    "rule"
                } else {
                    "規則"
                };
                format!("{rule}: {}", self.requirement(r))
            }
            (None, Some(m)) => self.mechanism(m).to_owned(),
            (None, None) => String::new(),
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
    fn the_panel_has_every_word_the_script_uses_in_both_languages() {
        let keys = |l: Lang| check_words(l).iter().map(|(k, _)| *k).collect::<Vec<_>>();
        assert_eq!(keys(Lang::En), keys(Lang::Ja));
        let script = include_str!("assets/page.mjs");
        let mut used = 0;
        for (i, _) in script.match_indices("words.") {
            let name: String = script[i + 6..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                keys(Lang::En).contains(&name.as_str()),
                "page.mjs uses words.{name}"
            );
            used += 1;
        }
        assert!(used > 20);
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
