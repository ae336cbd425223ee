//! Pinned governance: the governance keys and threshold given on the
//! command line (`--governance-vkey`, `--governance-threshold`) must be
//! those of the log's genesis. They are checked against a `--genesis` file
//! before it is logged, and against the stored genesis on every later
//! start, so that a swapped genesis file or a swapped data directory does
//! not install, or keep serving, someone else's governance.
//!
//! Leaves out: governance key files (`--governance-key`), which sign the
//! genesis the server makes itself and so agree with it by construction on
//! a first start, and are not read on later starts.

use crate::{GovernanceConfig, StartError};
use dfft_core::note::VerifierKey;
use dfft_core::statement::Governance;
use std::collections::BTreeSet;

/// Refuses `genesis` (from a `--genesis` file or the store) if its key set
/// or threshold differ from those pinned in `config`; what is not given on
/// the command line is not pinned. Keys compare as a set.
pub(crate) fn check(config: &GovernanceConfig, genesis: &Governance) -> Result<(), StartError> {
    let pinned = config
        .vkeys
        .iter()
        .map(|v| {
            VerifierKey::parse(v.trim())
                .map(|k| k.to_string())
                .map_err(|e| StartError::Config(format!("--governance-vkey {v:?}: {e}")))
        })
        .collect::<Result<BTreeSet<String>, _>>()?;
    let have: BTreeSet<String> = genesis.keys.iter().map(|k| k.to_string()).collect();
    let keys_differ = !pinned.is_empty() && pinned != have;
    let threshold_differs = config.threshold.is_some_and(|t| t != genesis.threshold);
    if !keys_differ && !threshold_differs {
        return Ok(());
    }
    let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
    let given_keys = if pinned.is_empty() {
        "(keys not given)".to_string()
    } else {
        format!("keys [{}]", list(&pinned))
    };
    let given_threshold = match config.threshold {
        Some(t) => format!("threshold {t}"),
        None => "(threshold not given)".to_string(),
    };
    Err(StartError::Config(format!(
        "refusing to start: the genesis has governance keys [{}] with threshold {}, but \
         --governance-vkey/--governance-threshold pin {given_keys} with {given_threshold}",
        list(&have),
        genesis.threshold
    )))
}
