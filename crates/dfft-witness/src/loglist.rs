//! The list of logs a witness cosigns, in the public witness network's
//! `logs/v0` format (witness-network.org/log-list-format):
//!
//! ```text
//! # comments and blank lines are ignored
//! logs/v0
//! vkey example.org/log+1234abcd+AU...
//! origin example.org/log        (optional; `none` or absent: the vkey's name)
//! qpd 86400                      (optional, ignored here)
//! contact ops@example.org        (optional, ignored here)
//! ```
//!
//! Lines are trimmed of surrounding white space (and a final CR); a line
//! whose first character is `#` is a comment. After the header, each log
//! starts with `vkey`; `origin` may only follow its `vkey`; `qpd`,
//! `bastion` and `contact` may follow in any order, each at most once per
//! log (parsed, not used). Any other keyword is an error, as is a second
//! entry for the same origin with the same key, or an origin longer than
//! 255 bytes (the ML-DSA-44 `subtree/v1` message's limit). An origin may have several
//! entries with different keys (a key rotation): a checkpoint signed by any
//! of them is accepted.
//!
//! Reloading ([`LogList::extend`]): logs are only ever added. A new list
//! that drops an origin or changes an origin's keys is refused as a whole
//! and the old list stays.
//!
//! Leaves out: reading the file and the signal (the server), and checking
//! signatures (`verdict`).

use dfft_core::note::{KeyKind, VerifierKey};
use std::collections::BTreeMap;

/// Why a log list is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogListError {
    /// The file does not follow the format.
    #[error("line {line}: {message}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A reload that removes a log or changes its keys.
    #[error("log {origin:?}: {message}; logs are only ever added, so the new list is refused and the old one stays")]
    NotAnExtension {
        /// The origin.
        origin: String,
        /// What changed.
        message: String,
    },
}

/// The logs a witness cosigns: origin -> the log keys trusted for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogList {
    logs: BTreeMap<String, Vec<VerifierKey>>,
}

fn syntax(line: usize, message: impl Into<String>) -> LogListError {
    LogListError::Syntax {
        line,
        message: message.into(),
    }
}

impl LogList {
    /// Parses a `logs/v0` list.
    pub fn parse(text: &str) -> Result<LogList, LogListError> {
        let mut list = LogList::default();
        let mut header = false;
        // The log being read: its key, origin, and the optional keywords seen.
        let mut current: Option<(VerifierKey, Option<String>, Vec<&str>)> = None;
        let mut finish = |cur: Option<(VerifierKey, Option<String>, Vec<&str>)>,
                          line: usize|
         -> Result<(), LogListError> {
            if let Some((key, origin, _)) = cur {
                let origin = origin.unwrap_or_else(|| key.name().to_string());
                if origin.len() > 255 {
                    // The ML-DSA-44 subtree/v1 message holds at most 255 bytes.
                    return Err(syntax(
                        line,
                        format!("origin {origin:?} is longer than 255 bytes"),
                    ));
                }
                let keys = list.logs.entry(origin.clone()).or_default();
                if keys.contains(&key) {
                    return Err(syntax(
                        line,
                        format!("log {origin:?} is listed twice with the same key"),
                    ));
                }
                keys.push(key);
            }
            Ok(())
        };
        let mut n = 0;
        for raw in text.split('\n') {
            n += 1;
            let l = raw.strip_suffix('\r').unwrap_or(raw).trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            if !header {
                if l != "logs/v0" {
                    return Err(syntax(
                        n,
                        format!("expected the header logs/v0, found {l:?}"),
                    ));
                }
                header = true;
                continue;
            }
            let (word, arg) = match l.split_once(' ') {
                Some((w, a)) => (w, a.trim()),
                None => (l, ""),
            };
            match word {
                "vkey" => {
                    finish(current.take(), n)?;
                    if arg.is_empty() || arg.contains(char::is_whitespace) {
                        return Err(syntax(n, "vkey takes one verifier key"));
                    }
                    let key = VerifierKey::parse(arg)
                        .map_err(|e| syntax(n, format!("invalid vkey: {e}")))?;
                    if key.kind() != KeyKind::Ed25519 {
                        return Err(syntax(
                            n,
                            "a log's vkey must be an Ed25519 note key (signature type 0x01)",
                        ));
                    }
                    current = Some((key, None, Vec::new()));
                }
                "origin" => {
                    let Some((_, origin, seen)) = current.as_mut() else {
                        return Err(syntax(n, "origin before any vkey"));
                    };
                    if origin.is_some() || !seen.is_empty() {
                        return Err(syntax(n, "origin must directly follow its vkey line"));
                    }
                    if arg.is_empty() {
                        return Err(syntax(n, "origin takes the log's origin line, or none"));
                    }
                    if arg != "none" {
                        *origin = Some(arg.to_string());
                    } else {
                        seen.push("origin");
                    }
                }
                "qpd" | "bastion" | "contact" => {
                    let Some((_, _, seen)) = current.as_mut() else {
                        return Err(syntax(n, format!("{word} before any vkey")));
                    };
                    if seen.contains(&word) {
                        return Err(syntax(n, format!("{word} given twice for one log")));
                    }
                    if arg.is_empty() {
                        return Err(syntax(n, format!("{word} takes a value")));
                    }
                    if word == "qpd" && !matches!(arg.parse::<u64>(), Ok(q) if q > 0) {
                        return Err(syntax(n, "qpd must be a positive integer"));
                    }
                    seen.push(word);
                }
                _ => return Err(syntax(n, format!("unknown keyword {word:?}"))),
            }
        }
        if !header {
            return Err(syntax(n, "no logs/v0 header"));
        }
        finish(current.take(), n)?;
        Ok(list)
    }

    /// The keys trusted for `origin`, if it is listed.
    pub fn keys(&self, origin: &str) -> Option<&[VerifierKey]> {
        self.logs.get(origin).map(Vec::as_slice)
    }

    /// Number of logs (origins).
    pub fn len(&self) -> usize {
        self.logs.len()
    }

    /// Whether no log is listed.
    pub fn is_empty(&self) -> bool {
        self.logs.is_empty()
    }

    /// The origins, sorted.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.logs.keys().map(String::as_str)
    }

    /// Checks that `new` keeps every log of `self` with the same keys, and
    /// returns the origins it adds.
    pub fn extend(&self, new: &LogList) -> Result<Vec<String>, LogListError> {
        for (origin, keys) in &self.logs {
            let Some(nk) = new.logs.get(origin) else {
                return Err(LogListError::NotAnExtension {
                    origin: origin.clone(),
                    message: "the new list removes it".into(),
                });
            };
            if nk.len() != keys.len() || !keys.iter().all(|k| nk.contains(k)) {
                return Err(LogListError::NotAnExtension {
                    origin: origin.clone(),
                    message: "the new list changes its keys".into(),
                });
            }
        }
        Ok(new
            .logs
            .keys()
            .filter(|o| !self.logs.contains_key(*o))
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfft_core::note::{KeyName, SignerKey};

    fn vkey(name: &str, seed: u8) -> String {
        SignerKey::from_seed(KeyName::new(name).unwrap(), [seed; 32])
            .verifier()
            .to_string()
    }

    #[test]
    fn parses_the_network_format() {
        let text = format!(
            "#\n# List: test\n#\nlogs/v0\n\n# first\nvkey {}\nqpd 86400\ncontact a@b.c (at) d\n\n  vkey {}  \r\norigin other.example/log\nqpd 24\nbastion none\ncontact x\nvkey {}\norigin none\n",
            vkey("a.example/log", 1),
            vkey("b.example/log", 2),
            vkey("c.example/log", 3)
        );
        let l = LogList::parse(&text).unwrap();
        assert_eq!(
            l.origins().collect::<Vec<_>>(),
            vec!["a.example/log", "c.example/log", "other.example/log"]
        );
        assert_eq!(
            l.keys("other.example/log").unwrap()[0].name(),
            "b.example/log"
        );
        assert!(l.keys("b.example/log").is_none());
        assert!(LogList::parse("logs/v0\n").unwrap().is_empty());
    }

    #[test]
    fn refuses_bad_lists() {
        let a = vkey("a.example/log", 1);
        let witness_key = SignerKey::from_seed_kind(
            KeyName::new("w.example").unwrap(),
            KeyKind::CosignatureV1,
            [5; 32],
        )
        .verifier()
        .to_string();
        for bad in [
            String::new(),
            "# only a comment\n".to_string(),
            format!("vkey {a}\n"),
            "logs/v1\n".to_string(),
            format!("logs/v0\nlogs/v0\nvkey {a}\n"),
            format!("logs/v0\norigin x\nvkey {a}\n"),
            format!("logs/v0\nvkey {a}\nqpd 1\norigin x\n"),
            format!("logs/v0\nvkey {a}\norigin x\norigin y\n"),
            format!("logs/v0\nvkey {a}\norigin\n"),
            format!("logs/v0\nvkey {a}\nqpd 0\n"),
            format!("logs/v0\nvkey {a}\nqpd x\n"),
            format!("logs/v0\nvkey {a}\nqpd 1\nqpd 2\n"),
            format!("logs/v0\nvkey {a}\nfoo bar\n"),
            format!("logs/v0\nvkey {a} extra\n"),
            "logs/v0\nvkey nonsense\n".to_string(),
            format!("logs/v0\nvkey {witness_key}\n"),
            format!("logs/v0\nvkey {a}\nvkey {a}\n"),
            format!("logs/v0\nvkey {a}\norigin {}\n", "o".repeat(256)),
        ] {
            assert!(LogList::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_extensions_are_accepted() {
        let a = vkey("a.example/log", 1);
        let b = vkey("b.example/log", 2);
        let a2 = vkey("a.example/log", 9);
        let old = LogList::parse(&format!("logs/v0\nvkey {a}\n")).unwrap();
        let added = LogList::parse(&format!("logs/v0\nvkey {b}\nvkey {a}\n")).unwrap();
        assert_eq!(
            old.extend(&added).unwrap(),
            vec!["b.example/log".to_string()]
        );
        assert_eq!(old.extend(&old).unwrap(), Vec::<String>::new());
        let removed = LogList::parse(&format!("logs/v0\nvkey {b}\n")).unwrap();
        assert!(matches!(
            old.extend(&removed),
            Err(LogListError::NotAnExtension { .. })
        ));
        let changed = LogList::parse(&format!("logs/v0\nvkey {a2}\n")).unwrap();
        assert!(old.extend(&changed).is_err());
        let rotated = LogList::parse(&format!("logs/v0\nvkey {a}\nvkey {a2}\n")).unwrap();
        assert_eq!(rotated.keys("a.example/log").unwrap().len(), 2);
        assert!(old.extend(&rotated).is_err());
    }
}
