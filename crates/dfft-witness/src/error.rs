//! The one place the witness chooses HTTP status codes: every answer that
//! is not a cosignature is a [`WitnessError`], and [`WitnessError::status`]
//! says what the client sees.
//!
//! | error | status |
//! |---|---|
//! | malformed body, old size > checkpoint size | 400 |
//! | no valid signature by a trusted log key | 403 |
//! | unknown origin; no checkpoint for an origin hash | 404 |
//! | body not received in time | 408 |
//! | old size is not the latest (`text/x.tlog.size`, body `<size>\n`) | 409 |
//! | body too large | 413 |
//! | inconsistent checkpoint or proof | 422 |
//! | state cannot be written (the witness stops cosigning), or a write took over 30 s | 503 |

use crate::request::RequestError;
use crate::verdict::Refusal;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Everything a witness can answer instead of a cosignature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The body is not an add-checkpoint request.
    #[error("malformed request: {0}")]
    Malformed(#[from] RequestError),
    /// The checks of the spec refused it.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The body exceeds the limit.
    #[error("body exceeds the limit of {0} bytes")]
    TooLarge(usize),
    /// The body was not received in time.
    #[error("body not received within {0} s")]
    Timeout(u64),
    /// The body could not be read.
    #[error("reading the body failed: {0}")]
    Body(String),
    /// No cosigned checkpoint for that origin hash.
    #[error("no checkpoint cosigned for that origin")]
    NoCheckpoint,
    /// Not a lowercase hex SHA-256.
    #[error("the origin hash must be 64 lowercase hex digits")]
    BadOriginHash,
    /// The state cannot be written.
    #[error("{0}")]
    Unavailable(String),
}

impl WitnessError {
    /// The status code of this answer.
    pub fn status(&self) -> StatusCode {
        match self {
            WitnessError::Malformed(_) | WitnessError::Body(_) => StatusCode::BAD_REQUEST,
            WitnessError::Refused(r) => match r {
                Refusal::UnknownOrigin(_) => StatusCode::NOT_FOUND,
                Refusal::NotSigned(_) => StatusCode::FORBIDDEN,
                Refusal::OldTooLarge { .. } => StatusCode::BAD_REQUEST,
                Refusal::Conflict { .. } => StatusCode::CONFLICT,
                Refusal::Inconsistent(_) => StatusCode::UNPROCESSABLE_ENTITY,
            },
            WitnessError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            WitnessError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            WitnessError::NoCheckpoint | WitnessError::BadOriginHash => StatusCode::NOT_FOUND,
            WitnessError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A short name of the outcome, for logs.
    pub fn outcome(&self) -> &'static str {
        match self {
            WitnessError::Malformed(_) | WitnessError::Body(_) => "malformed",
            WitnessError::Refused(r) => match r {
                Refusal::UnknownOrigin(_) => "unknown_origin",
                Refusal::NotSigned(_) => "not_signed",
                Refusal::OldTooLarge { .. } => "old_too_large",
                Refusal::Conflict { .. } => "conflict",
                Refusal::Inconsistent(_) => "inconsistent",
            },
            WitnessError::TooLarge(_) => "too_large",
            WitnessError::Timeout(_) => "timeout",
            WitnessError::NoCheckpoint | WitnessError::BadOriginHash => "not_found",
            WitnessError::Unavailable(_) => "unavailable",
        }
    }
}

impl IntoResponse for WitnessError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let WitnessError::Refused(Refusal::Conflict { latest, .. }) = self {
            let mut r = (status, format!("{latest}\n")).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/x.tlog.size"),
            );
            return r;
        }
        let mut r = (status, format!("{self}\n")).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        r
    }
}
