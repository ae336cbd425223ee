//! C2SP tlog-policy (<https://c2sp.org/tlog-policy>): which logs and
//! witnesses are trusted and which subsets of witnesses (the quorum) must
//! have cosigned a checkpoint for it to be valid. The one home of the
//! quorum rule: clients, the log (asking witnesses) and the offline
//! verifiers all evaluate it here.
//!
//! Covers: parsing a policy file strictly (every error names its line),
//! the policy equivalent to a log key and k of n witness keys
//! ([`Policy::from_keys`]), evaluating the quorum on a set of witness names,
//! and verifying a signed checkpoint against the policy (log signature,
//! every cosignature by a policy witness of either type, then the quorum).
//!
//! The file format: lines `log <vkey> [<url>]`, `witness <name> <vkey>
//! [<url>]`, `group <name> all|any|<k> <name>...` and exactly one
//! `quorum <name>` (`none` is predefined: no cosignature needed); fields
//! separated by spaces and tabs; blank lines and `#` comments ignored;
//! only tab, newline, 0x20-0x7E and bytes >= 0x80 allowed. Names are
//! compared as opaque bytes; a group or the quorum names only witnesses and
//! groups defined on earlier lines; a name is a group member at most once
//! in the whole file (each witness counts towards the quorum in one way
//! only); two logs or two witnesses with the same public key are refused;
//! log keys are Ed25519 (type 0x01), witness keys `cosignature/v1` (0x04) or
//! `subtree/v1` (0x06).
//!
//! Choices where the spec leaves room: the text must be UTF-8 (vkeys are,
//! and a Rust string is; the byte rules are checked all the same); the last
//! line may lack its newline; a log key's name is its origin, so two logs
//! with one origin are refused. Limits ([`MAX_LOGS`], [`MAX_WITNESSES`],
//! [`MAX_GROUPS`], [`MAX_POLICY_BYTES`], [`MAX_LINE_BYTES`]) are well above
//! the 32 logs, 32 witnesses and 32 groups the spec recommends supporting.
//!
//! Leaves out: reading the file, and talking to logs or witnesses (the URLs
//! are only carried).

use crate::checkpoint::{CheckpointError, SignedCheckpoint};
use crate::note::{KeyKind, NoteError, VerifierKey};
use std::collections::HashMap;
use std::fmt;

/// At most this many `log` lines.
pub const MAX_LOGS: usize = 64;
/// At most this many `witness` lines.
pub const MAX_WITNESSES: usize = 256;
/// At most this many `group` lines.
pub const MAX_GROUPS: usize = 256;
/// A policy file is at most this many bytes.
pub const MAX_POLICY_BYTES: usize = 1 << 20;
/// A line is at most this many bytes (an ML-DSA-44 vkey is about 1,800).
pub const MAX_LINE_BYTES: usize = 8192;

/// What is wrong with a policy file (or with the keys given for one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A line of the file is wrong.
    #[error("policy line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The file as a whole is wrong (no quorum line, too large).
    #[error("policy: {0}")]
    File(String),
}

fn line_err(line: usize, message: impl Into<String>) -> PolicyError {
    PolicyError::Line {
        line,
        message: message.into(),
    }
}

/// A witness of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWitness {
    /// Its name in the policy (not necessarily its key's name).
    pub name: String,
    /// Its cosigning key (type 0x04 or 0x06).
    pub key: VerifierKey,
    /// Its tlog-witness submission prefix, if given.
    pub url: Option<String>,
}

/// A witness group: it has witnessed a checkpoint when at least
/// `threshold` of its members have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyGroup {
    /// Its name.
    pub name: String,
    /// k, 1 <= k <= members.len().
    pub threshold: usize,
    /// Names of its members (witnesses and groups defined before it).
    pub members: Vec<String>,
}

/// A name of the shared witness and group namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    Witness(usize),
    Group(usize),
}

/// A parsed, validated trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    logs: Vec<VerifierKey>,
    log_urls: Vec<Option<String>>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<PolicyGroup>,
    /// Group members resolved, parallel to `groups`.
    group_members: Vec<Vec<Entity>>,
    /// `None` for `quorum none`.
    quorum: Option<Entity>,
}

/// The predefined quorum name meaning no cosignature is required.
const NONE: &str = "none";

impl Policy {
    /// Parses a tlog-policy file (see the module documentation).
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::File(format!(
                "the file is {} bytes; at most {MAX_POLICY_BYTES} are allowed",
                text.len()
            )));
        }
        let mut b = Builder::default();
        let mut quorum_line: Option<usize> = None;
        for (i, raw) in text.split_terminator('\n').enumerate() {
            let n = i + 1;
            if raw.len() > MAX_LINE_BYTES {
                return Err(line_err(
                    n,
                    format!(
                        "line of {} bytes; at most {MAX_LINE_BYTES} are allowed",
                        raw.len()
                    ),
                ));
            }
            if let Some(c) = raw.bytes().find(|&c| c != b'\t' && (c < 0x20 || c == 0x7f)) {
                return Err(line_err(
                    n,
                    if c == b'\r' {
                        "carriage return (0x0d); lines end in a newline only".to_string()
                    } else {
                        format!("control character 0x{c:02x}; only tab and newline are allowed")
                    },
                ));
            }
            let fields: Vec<&str> = raw.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
            let Some(&keyword) = fields.first() else {
                continue;
            };
            if keyword.starts_with('#') {
                continue;
            }
            if let Some(q) = quorum_line {
                if keyword == "quorum" {
                    return Err(line_err(
                        n,
                        format!(
                            "a second quorum line (the first is line {q}); exactly one is allowed"
                        ),
                    ));
                }
            }
            match keyword {
                "log" => {
                    if !(2..=3).contains(&fields.len()) {
                        return Err(line_err(n, "expected `log <vkey> [<url>]`"));
                    }
                    b.log(n, fields[1], fields.get(2).copied())?;
                }
                "witness" => {
                    if !(3..=4).contains(&fields.len()) {
                        return Err(line_err(n, "expected `witness <name> <vkey> [<url>]`"));
                    }
                    b.witness(n, fields[1], fields[2], fields.get(3).copied())?;
                }
                "group" => {
                    if fields.len() < 4 {
                        return Err(line_err(
                            n,
                            "expected `group <name> all|any|<k> <name>...` with at least one member",
                        ));
                    }
                    b.group(n, fields[1], fields[2], &fields[3..])?;
                }
                "quorum" => {
                    if fields.len() != 2 {
                        return Err(line_err(n, "expected `quorum <name>`"));
                    }
                    b.quorum = Some(b.quorum_entity(n, fields[1])?);
                    quorum_line = Some(n);
                }
                other => {
                    return Err(line_err(
                        n,
                        format!(
                            "unknown keyword {other:?}; expected log, witness, group, quorum or a # comment"
                        ),
                    ))
                }
            }
        }
        let Some(quorum) = b.quorum else {
            return Err(PolicyError::File(
                "no quorum line; exactly one is required (`quorum none` for no witnesses)"
                    .to_string(),
            ));
        };
        Ok(b.finish(quorum))
    }

    /// The policy equivalent to a pinned log key and k of n witness keys
    /// (today's `--log-key`, `--witness` and `--min-witnesses` flags): the
    /// witnesses are named after their keys (by `name+hexid` where two share
    /// a name), and the quorum is a group "k of n witnesses", or `none`
    /// for k = 0.
    pub fn from_keys(
        log: VerifierKey,
        witnesses: Vec<VerifierKey>,
        k: usize,
    ) -> Result<Policy, PolicyError> {
        let arg = |message: String| PolicyError::File(message);
        let mut b = Builder::default();
        b.add_log(log, None).map_err(arg)?;
        let mut names: HashMap<&str, usize> = HashMap::new();
        for w in &witnesses {
            *names.entry(w.name()).or_default() += 1;
        }
        for w in &witnesses {
            let name = if names[w.name()] > 1 {
                w.keyid()
            } else {
                w.name().to_string()
            };
            b.add_witness(name, w.clone(), None).map_err(arg)?;
        }
        let n = witnesses.len();
        if k > n {
            return Err(arg(format!(
                "the policy asks for {k} witness cosignatures but only {n} witness keys are given"
            )));
        }
        let quorum = if k == 0 {
            None
        } else {
            let members: Vec<String> = b.witnesses.iter().map(|w| w.name.clone()).collect();
            let entities = (0..n).map(Entity::Witness).collect();
            b.group_members.push(entities);
            b.groups.push(PolicyGroup {
                // Spaces: no name of a policy file or a key can clash with it.
                name: format!("{k} of {n} witnesses"),
                threshold: k,
                members,
            });
            Some(Entity::Group(0))
        };
        Ok(b.finish(quorum))
    }

    /// Adds a log (for a policy that lists none, the log known from
    /// elsewhere): refused like a second `log` line would be.
    pub fn add_log(&mut self, key: VerifierKey, url: Option<String>) -> Result<(), PolicyError> {
        check_log(&self.logs, &key).map_err(PolicyError::File)?;
        self.logs.push(key);
        self.log_urls.push(url);
        Ok(())
    }

    /// The trusted log keys (their names are the logs' origins).
    pub fn logs(&self) -> &[VerifierKey] {
        &self.logs
    }

    /// The URL given for each log, parallel to [`Policy::logs`].
    pub fn log_urls(&self) -> &[Option<String>] {
        &self.log_urls
    }

    /// The log key whose name is `origin`, if the policy lists one.
    pub fn log_for_origin(&self, origin: &str) -> Option<&VerifierKey> {
        self.logs.iter().find(|k| k.name() == origin)
    }

    /// The witnesses, in file order.
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// The groups, in file order.
    pub fn groups(&self) -> &[PolicyGroup] {
        &self.groups
    }

    /// The name of the quorum (a witness or a group), `None` for
    /// `quorum none`.
    pub fn quorum(&self) -> Option<&str> {
        self.quorum.map(|e| self.name_of(e))
    }

    /// Whether the quorum is not `none`.
    pub fn requires_cosignatures(&self) -> bool {
        self.quorum.is_some()
    }

    /// Whether the witnesses named in `cosigned` (names of this policy;
    /// other names are ignored) meet the quorum.
    pub fn quorum_met(&self, cosigned: &[&str]) -> bool {
        match self.quorum {
            None => true,
            Some(q) => self.eval(cosigned)[self.slot(q)],
        }
    }

    /// Names of the witnesses and groups still missing for the quorum, for
    /// error messages: each group on the way that has not witnessed, as
    /// `group NAME (k of n, has m)`, and each witness under it that has not
    /// cosigned. Empty when the quorum is met.
    pub fn missing(&self, cosigned: &[&str]) -> Vec<String> {
        let Some(q) = self.quorum else {
            return Vec::new();
        };
        let ok = self.eval(cosigned);
        let mut out = Vec::new();
        let mut seen = vec![false; ok.len()];
        self.collect_missing(q, &ok, &mut seen, &mut out);
        out
    }

    /// A one-line description of the quorum for people, such as
    /// `2 of (X1, X2, X3)` or `none`.
    pub fn describe_quorum(&self) -> String {
        match self.quorum {
            None => "none (no witness cosignature required)".to_string(),
            Some(e) => self.describe(e),
        }
    }

    /// Verifies a signed checkpoint: its origin names a log of the policy,
    /// that log signed it, every cosignature by a policy witness (either
    /// type) is valid (a bad signature by a known key is an error;
    /// signatures by unknown keys are ignored), and the witnesses that
    /// cosigned meet the quorum. Returns the names of those witnesses.
    pub fn verify_checkpoint(&self, cp: &SignedCheckpoint) -> Result<Vec<String>, CheckpointError> {
        let origin = &cp.checkpoint.origin;
        let Some(log) = self.log_for_origin(origin) else {
            return Err(CheckpointError::UnknownLog {
                origin: origin.clone(),
                known: self.logs.iter().map(|k| k.name().to_string()).collect(),
            });
        };
        let mut known = Vec::with_capacity(1 + self.witnesses.len());
        known.push(log.clone());
        known.extend(self.witnesses.iter().map(|w| w.key.clone()));
        let ok = match cp.note.verify(&known) {
            Ok(ok) => ok,
            Err(NoteError::NoKnownSignature) => {
                return Err(CheckpointError::NotSignedByLog(log.to_string()))
            }
            Err(e) => return Err(e.into()),
        };
        if !ok.iter().any(|v| &v.key == log) {
            return Err(CheckpointError::NotSignedByLog(log.to_string()));
        }
        let cosigned: Vec<String> = self
            .witnesses
            .iter()
            .filter(|w| ok.iter().any(|v| v.key == w.key))
            .map(|w| w.name.clone())
            .collect();
        let names: Vec<&str> = cosigned.iter().map(String::as_str).collect();
        if !self.quorum_met(&names) {
            return Err(CheckpointError::QuorumNotMet {
                quorum: self.quorum().unwrap_or(NONE).to_string(),
                missing: self.missing(&names),
                cosigned,
            });
        }
        Ok(cosigned)
    }

    fn name_of(&self, e: Entity) -> &str {
        match e {
            Entity::Witness(i) => &self.witnesses[i].name,
            Entity::Group(i) => &self.groups[i].name,
        }
    }

    /// Index of an entity in the evaluation vector: witnesses, then groups.
    fn slot(&self, e: Entity) -> usize {
        match e {
            Entity::Witness(i) => i,
            Entity::Group(i) => self.witnesses.len() + i,
        }
    }

    /// Whether each witness and group has witnessed; groups in definition
    /// order, so members are evaluated before the groups that hold them.
    fn eval(&self, cosigned: &[&str]) -> Vec<bool> {
        let mut ok: Vec<bool> = self
            .witnesses
            .iter()
            .map(|w| cosigned.contains(&w.name.as_str()))
            .collect();
        for (g, members) in self.groups.iter().zip(&self.group_members) {
            let have = members.iter().filter(|&&m| ok[self.slot(m)]).count();
            ok.push(have >= g.threshold);
        }
        ok
    }

    fn collect_missing(&self, e: Entity, ok: &[bool], seen: &mut [bool], out: &mut Vec<String>) {
        let s = self.slot(e);
        if ok[s] || seen[s] {
            return;
        }
        seen[s] = true;
        match e {
            Entity::Witness(i) => out.push(self.witnesses[i].name.clone()),
            Entity::Group(i) => {
                let g = &self.groups[i];
                let members = &self.group_members[i];
                let have = members.iter().filter(|&&m| ok[self.slot(m)]).count();
                out.push(format!(
                    "group {} ({} of {}, has {have})",
                    g.name,
                    g.threshold,
                    members.len()
                ));
                for &m in members {
                    self.collect_missing(m, ok, seen, out);
                }
            }
        }
    }

    fn describe(&self, e: Entity) -> String {
        match e {
            Entity::Witness(i) => self.witnesses[i].name.clone(),
            Entity::Group(i) => {
                let g = &self.groups[i];
                let members = &self.group_members[i];
                let inner: Vec<String> = members.iter().map(|&m| self.describe(m)).collect();
                let k = if g.threshold == members.len() && members.len() > 1 {
                    "all".to_string()
                } else {
                    g.threshold.to_string()
                };
                format!("{} = {k} of ({})", g.name, inner.join(", "))
            }
        }
    }
}

impl fmt::Display for Policy {
    /// The policy as a tlog-policy file (which [`Policy::parse`] reads
    /// back to an equal policy, except for [`Policy::from_keys`] group
    /// names, which hold spaces).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, u) in self.logs.iter().zip(&self.log_urls) {
            match u {
                Some(u) => writeln!(f, "log {k} {u}")?,
                None => writeln!(f, "log {k}")?,
            }
        }
        for w in &self.witnesses {
            match &w.url {
                Some(u) => writeln!(f, "witness {} {} {u}", w.name, w.key)?,
                None => writeln!(f, "witness {} {}", w.name, w.key)?,
            }
        }
        for g in &self.groups {
            writeln!(
                f,
                "group {} {} {}",
                g.name,
                g.threshold,
                g.members.join(" ")
            )?;
        }
        writeln!(f, "quorum {}", self.quorum().unwrap_or(NONE))
    }
}

/// Whether `key` may join `logs`: an Ed25519 key, within the limit, not the
/// public key or the origin of a log already there.
fn check_log(logs: &[VerifierKey], key: &VerifierKey) -> Result<(), String> {
    if key.kind() != KeyKind::Ed25519 {
        return Err(format!(
            "log key {key} is of type 0x{:02x}; a log key is an Ed25519 signed-note key (type 0x01)",
            key.kind().sig_type()
        ));
    }
    if logs.len() >= MAX_LOGS {
        return Err(format!("more than {MAX_LOGS} logs"));
    }
    if let Some(o) = logs
        .iter()
        .find(|k| k.public_key_bytes() == key.public_key_bytes())
    {
        return Err(format!("log key {key} has the same public key as log {o}"));
    }
    if logs.iter().any(|k| k.name() == key.name()) {
        return Err(format!(
            "a second log key for origin {:?}; each log is listed once",
            key.name()
        ));
    }
    Ok(())
}

/// The state of a policy being read.
#[derive(Default)]
struct Builder {
    logs: Vec<VerifierKey>,
    log_urls: Vec<Option<String>>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<PolicyGroup>,
    group_members: Vec<Vec<Entity>>,
    names: HashMap<String, Entity>,
    /// Names already listed as a group member.
    used: HashMap<String, usize>,
    quorum: Option<Option<Entity>>,
}

impl Builder {
    fn finish(self, quorum: Option<Entity>) -> Policy {
        Policy {
            logs: self.logs,
            log_urls: self.log_urls,
            witnesses: self.witnesses,
            groups: self.groups,
            group_members: self.group_members,
            quorum,
        }
    }

    fn parse_key(n: usize, what: &str, vkey: &str) -> Result<VerifierKey, PolicyError> {
        VerifierKey::parse(vkey).map_err(|e| line_err(n, format!("{what} key {vkey:?}: {e}")))
    }

    fn log(&mut self, n: usize, vkey: &str, url: Option<&str>) -> Result<(), PolicyError> {
        let key = Self::parse_key(n, "log", vkey)?;
        self.add_log(key, url.map(str::to_string))
            .map_err(|m| line_err(n, m))
    }

    fn add_log(&mut self, key: VerifierKey, url: Option<String>) -> Result<(), String> {
        check_log(&self.logs, &key)?;
        self.logs.push(key);
        self.log_urls.push(url);
        Ok(())
    }

    fn witness(
        &mut self,
        n: usize,
        name: &str,
        vkey: &str,
        url: Option<&str>,
    ) -> Result<(), PolicyError> {
        let key = Self::parse_key(n, "witness", vkey)?;
        self.add_witness(name.to_string(), key, url.map(str::to_string))
            .map_err(|m| line_err(n, m))
    }

    fn new_name(&self, name: &str) -> Result<(), String> {
        if name == NONE {
            return Err("`none` is predefined and cannot name a witness or group".to_string());
        }
        if self.names.contains_key(name) {
            return Err(format!(
                "name {name:?} is already defined; witnesses and groups share one namespace"
            ));
        }
        Ok(())
    }

    fn add_witness(
        &mut self,
        name: String,
        key: VerifierKey,
        url: Option<String>,
    ) -> Result<(), String> {
        self.new_name(&name)?;
        if !key.kind().is_cosigner() {
            return Err(format!(
                "witness {name:?} key {key} is of type 0x{:02x}; a witness key is cosignature/v1 (0x04) or subtree/v1 (0x06)",
                key.kind().sig_type()
            ));
        }
        if self.witnesses.len() >= MAX_WITNESSES {
            return Err(format!("more than {MAX_WITNESSES} witnesses"));
        }
        if let Some(o) = self
            .witnesses
            .iter()
            .find(|w| w.key.public_key_bytes() == key.public_key_bytes())
        {
            return Err(format!(
                "witness {name:?} has the same public key as witness {:?}",
                o.name
            ));
        }
        self.names
            .insert(name.clone(), Entity::Witness(self.witnesses.len()));
        self.witnesses.push(PolicyWitness { name, key, url });
        Ok(())
    }

    fn group(
        &mut self,
        n: usize,
        name: &str,
        threshold: &str,
        members: &[&str],
    ) -> Result<(), PolicyError> {
        self.new_name(name).map_err(|m| line_err(n, m))?;
        if self.groups.len() >= MAX_GROUPS {
            return Err(line_err(n, format!("more than {MAX_GROUPS} groups")));
        }
        let count = members.len();
        let k = match threshold {
            "all" => count,
            "any" => 1,
            t if !t.is_empty() && t.len() <= 20 && t.bytes().all(|c| c.is_ascii_digit()) => {
                let k: u64 = t
                    .parse()
                    .map_err(|_| line_err(n, format!("threshold {t} out of range")))?;
                if k == 0 || k > count as u64 {
                    return Err(line_err(
                        n,
                        format!(
                            "threshold {k} for group {name:?} must be between 1 and its {count} members"
                        ),
                    ));
                }
                k as usize
            }
            t => {
                return Err(line_err(
                    n,
                    format!("threshold {t:?} is not all, any or a decimal number"),
                ))
            }
        };
        let mut resolved = Vec::with_capacity(count);
        for (j, &m) in members.iter().enumerate() {
            if m == NONE {
                return Err(line_err(n, "`none` cannot be a group member"));
            }
            if members[..j].contains(&m) {
                return Err(line_err(
                    n,
                    format!("member {m:?} is listed twice in group {name:?}"),
                ));
            }
            let Some(&e) = self.names.get(m) else {
                return Err(line_err(
                    n,
                    format!("member {m:?} is not a witness or group defined on an earlier line"),
                ));
            };
            if let Some(l) = self.used.get(m) {
                return Err(line_err(
                    n,
                    format!("{m:?} is already a member of a group on line {l}; a name is a group member at most once"),
                ));
            }
            resolved.push(e);
        }
        for &m in members {
            self.used.insert(m.to_string(), n);
        }
        self.names
            .insert(name.to_string(), Entity::Group(self.groups.len()));
        self.groups.push(PolicyGroup {
            name: name.to_string(),
            threshold: k,
            members: members.iter().map(|m| m.to_string()).collect(),
        });
        self.group_members.push(resolved);
        Ok(())
    }

    fn quorum_entity(&self, n: usize, name: &str) -> Result<Option<Entity>, PolicyError> {
        if name == NONE {
            return Ok(None);
        }
        self.names.get(name).map(|&e| Some(e)).ok_or_else(|| {
            line_err(
                n,
                format!("quorum {name:?} is not `none` or a witness or group defined on an earlier line"),
            )
        })
    }
}
