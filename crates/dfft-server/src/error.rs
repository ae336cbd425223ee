//! API errors, and the one place where HTTP status codes are chosen.
//!
//! Every error answer is `{"error": "<code>", "message": "..."}`, also
//! those axum would otherwise answer in plain text: the path and query
//! extractors ([`ApiPath`], [`ApiQuery`]: a path segment or query that is
//! not percent-encoded UTF-8 or does not deserialize) and a method a route
//! does not serve ([`method_not_allowed`]; axum adds the `Allow` header).
//! Unknown paths are answered by the router's fallback in `api`.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use dfft_core::statement::registry::{ErrorClass, RuleError};
use serde::de::DeserializeOwned;

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
    /// A 404's proof of absence: the checkpoint and the completeness part.
    pub absence: Option<Box<(String, dfft_core::map::complete::Completeness)>>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            absence: None,
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
    /// This error with a proof of absence (a 404 for a record history).
    pub fn with_absence(
        mut self,
        checkpoint: String,
        completeness: dfft_core::map::complete::Completeness,
    ) -> Self {
        self.absence = Some(Box::new((checkpoint, completeness)));
        self
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
    /// 503: the entry is logged (or the log is too far ahead of its
    /// witnesses) but no checkpoint cosigned by the witness quorum covers
    /// it yet; retrying gets the receipt once the quorum is back.
    pub fn awaiting_witnesses(message: impl Into<String>) -> Self {
        ApiError {
            retry_after: Some(5),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "awaiting_witnesses",
                message,
            )
        }
    }
    /// 500: our fault.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
    /// 405: the route exists but not for this method.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            message,
        )
    }
}

/// An extractor rejection: 400 `malformed` when the client's request is at
/// fault (axum says 4xx), 500 `internal` when the route is (a handler
/// expecting parameters its route does not have).
fn rejection(what: &str, status: StatusCode, text: String) -> ApiError {
    if status.is_client_error() {
        ApiError::malformed(format!("{what}: {text}"))
    } else {
        tracing::error!(%status, "{what}: {text}");
        ApiError::internal(format!("{what}: {text}"))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        rejection("path", r.status(), r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        rejection("query string", r.status(), r.body_text())
    }
}

/// axum's [`Path`], refusing with an [`ApiError`].
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(t) = Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(t))
    }
}

/// axum's [`Query`], refusing with an [`ApiError`].
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(t) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(t))
    }
}

/// The method-not-allowed fallback of every route: JSON 405.
pub async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::method_not_allowed(format!("{method} is not allowed here"))
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
        let (checkpoint, completeness) = match self.absence {
            Some(a) => (Some(a.0), Some(a.1)),
            None => (None, None),
        };
        let body = dfft_core::wire::ErrorBody {
            error: self.code.to_owned(),
            message: self.message,
            checkpoint,
            completeness,
        };
        let mut r = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        r
    }
}
