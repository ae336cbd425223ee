//! What a registry says about itself, read without verification:
//! [`info`] (`GET /v1/info`: origin, log key, governance, tree size) and
//! [`authorities`] (`GET /v1/authorities`).
//!
//! Nothing here is checked against a pinned key: a log key learnt from
//! [`info`] is trust on first use, and callers should say so (the `dfft`
//! commands print a warning). Verifying the authorities' entries against
//! a checkpoint is left to the caller ([`crate::Auditor`] replays them).

use crate::client::error_body;
use crate::error::ClientError;
use crate::transport::Transport;
use dfft_core::wire;
use serde::de::DeserializeOwned;

fn get_json<T: Transport, V: DeserializeOwned>(t: &T, path: &str) -> Result<V, ClientError> {
    let r = t.get(path).map_err(|source| ClientError::Transport {
        path: path.to_string(),
        source,
    })?;
    if r.status != 200 {
        return Err(ClientError::Http {
            path: path.to_string(),
            status: r.status,
            message: error_body(&r.body).1,
        });
    }
    serde_json::from_slice(&r.body).map_err(|e| ClientError::malformed(path, e))
}

/// `GET /v1/info`, unverified.
pub fn info<T: Transport>(t: &T) -> Result<wire::Info, ClientError> {
    get_json(t, "/v1/info")
}

/// `GET /v1/authorities`, unverified.
pub fn authorities<T: Transport>(t: &T) -> Result<wire::Authorities, ClientError> {
    get_json(t, "/v1/authorities")
}
