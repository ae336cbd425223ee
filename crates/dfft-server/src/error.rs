//! API errors, and the one place where HTTP status codes are chosen.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use dfft_core::statement::registry::{ErrorClass, RuleError};

/// An error answered to an HTTP client as
/// `{"error": "<code>", "message": "..."}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    /// 400: the request is malformed.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", message)
    }
    /// 404: no such thing (yet).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// 413: body or entry too large.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }
    /// 415: wrong content type.
    pub fn unsupported_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }
    /// 408: the client sent its body too slowly.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(StatusCode::REQUEST_TIMEOUT, "timeout", message)
    }
    /// 429: this signer is over its rate.
    pub fn rate_limited(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many submissions from this signer; retry later",
            )
        }
    }
    /// 503: the sequencer queue is full or the log is not writable.
    pub fn overloaded(message: impl Into<String>) -> Self {
        ApiError {
            retry_after: Some(1),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", message)
        }
    }
    /// 507: the store is full; writing resumes by itself once space is
    /// freed.
    pub fn insufficient_storage(message: impl Into<String>) -> Self {
        ApiError {
            retry_after: Some(30),
            ..Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "insufficient_storage",
                message,
            )
        }
    }
    /// 503: the sequencer stopped signing for good (a failed self-check);
    /// an operator must look. No `Retry-After`: retrying will not help.
    pub fn log_stopped(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "log_stopped", message)
    }
    /// 500: our fault.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl From<RuleError> for ApiError {
    fn from(e: RuleError) -> Self {
        let (status, code) = match e.class() {
            ErrorClass::Malformed => (StatusCode::BAD_REQUEST, "malformed"),
            ErrorClass::Unauthorized => (StatusCode::FORBIDDEN, "unauthorized"),
            ErrorClass::Rejected => (StatusCode::UNPROCESSABLE_ENTITY, "rule_violated"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<dfft_store::StoreError> for ApiError {
    fn from(e: dfft_store::StoreError) -> Self {
        tracing::error!(error = %e, "storage error");
        ApiError::internal("storage error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.code, "message": self.message});
        let mut r = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        r
    }
}
