//! The one error type: every layer returns it, and it renders as JSON for the API or as a page for the browser.

use axum::{
    extract::{
        FromRequest, FromRequestParts,
        rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection},
    },
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde_json::json;

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong, in terms a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that does not parse; `field` names the form field when there is one.
    #[error("{message}")]
    Validation { field: &'static str, message: String },
    /// The request body is not what the endpoint takes (malformed JSON, missing field).
    #[error("{0}")]
    BadRequest(String),
    /// A pattern or channel name outside the declared set (the JSON socket's code too).
    #[error("{0}")]
    InvalidPattern(String),
    /// No signed-in user.
    #[error("sign in first")]
    Unauthorized,
    /// Signed in, but not allowed (not a member of the board, cross-site request).
    #[error("{0}")]
    Forbidden(&'static str),
    /// No such record, or one the user may not know exists.
    #[error("not found")]
    NotFound,
    /// [`Error::NotFound`] with a word on why (an event no longer in the log, perhaps pruned).
    #[error("{0}")]
    Missing(String),
    /// Too late: what was asked for had a time limit, now past (an undo after its window).
    #[error("{0}")]
    Expired(String),
    /// The route exists, but not for this method (the response keeps axum's `Allow` header).
    #[error("method not allowed here")]
    MethodNotAllowed,
    /// The write is based on a stale version, or clashes with existing data.
    #[error("{0}")]
    Conflict(String),
    /// A cap on connections or requests is reached.
    #[error("{0}")]
    TooMany(&'static str),
    /// This client is going too fast; it may try again after `retry_after` seconds (429).
    #[error("{message}")]
    Throttled { message: &'static str, retry_after: u64 },
    /// The server is at capacity for this kind of work; try again after `retry_after` seconds (503).
    #[error("{message}")]
    Busy { message: &'static str, retry_after: u64 },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// From the writer thread's connection (see [`crate::db::writer`]).
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Error {
    /// A validation error on `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Validation { field, message: message.into() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation { .. } | Self::BadRequest(_) | Self::InvalidPattern(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound | Self::Missing(_) => StatusCode::NOT_FOUND,
            Self::Expired(_) => StatusCode::GONE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooMany(_) | Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            e if e.is_storage_full() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Sqlx(_) | Self::Sqlite(_) | Self::Other(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code, shared with the WebSocket protocols.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "VALIDATION",
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::InvalidPattern(_) => "INVALID_PATTERN",
            Self::Unauthorized => "AUTH_REQUIRED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound | Self::Missing(_) => "NOT_FOUND",
            Self::Expired(_) => "EXPIRED",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Conflict(_) => "CONFLICT",
            Self::TooMany(_) => "LIMIT_REACHED",
            Self::Throttled { .. } => "TOO_MANY_REQUESTS",
            Self::Busy { .. } => "BUSY",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            e if e.is_storage_full() => "STORAGE_FULL",
            Self::Sqlx(_) | Self::Sqlite(_) | Self::Other(_) => "INTERNAL",
        }
    }

    /// Seconds a client should wait before trying again, sent as `Retry-After`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Throttled { retry_after, .. } | Self::Busy { retry_after, .. } => Some(*retry_after),
            e if e.is_storage_full() => Some(60),
            _ => None,
        }
    }

    /// SQLite said the database or the disk is full (SQLITE_FULL): not a bug, and the client may
    /// retry once an operator has made room, so it gets 503 and a message that says so.
    pub fn is_storage_full(&self) -> bool {
        self.sqlite_code() == Some(13)
    }

    /// A UNIQUE constraint refused the write (a name that is taken).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Self::Sqlx(sqlx::Error::Database(d)) => d.is_unique_violation(),
            Self::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => {
                f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            _ => false,
        }
    }

    /// SQLite's primary result code, when SQLite (through either driver) refused the statement.
    pub fn sqlite_code(&self) -> Option<i32> {
        // Extended result codes keep the primary code in the low byte.
        match self {
            Self::Sqlx(sqlx::Error::Database(d)) => d.code().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff),
            Self::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => Some(f.extended_code & 0xff),
            _ => None,
        }
    }

    /// The message shown to the client: 5xx details are logged, never shown.
    pub fn public_message(&self) -> String {
        if self.is_storage_full() {
            tracing::error!(error = ?self, "storage full");
            "the server is out of storage space; try again later".to_owned()
        } else if matches!(self, Self::Busy { .. }) {
            self.to_string()
        } else if self.status().is_server_error() {
            tracing::error!(error = ?self, "internal error");
            "something went wrong on our side".to_owned()
        } else {
            self.to_string()
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = json!({ "error": { "code": self.code(), "message": self.public_message() } });
        if let Self::Validation { field, .. } = &self {
            body["error"]["field"] = json!(field);
        }
        with_retry_after(&self, (status, axum::Json(body)).into_response())
    }
}

/// Adds `Retry-After` when the error says when to come back.
pub fn with_retry_after(e: &Error, mut res: Response) -> Response {
    if let Some(secs) = e.retry_after() {
        res.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
    }
    res
}

/// An [`Error`] rendered for a browser: a redirect to the login page, or a small error page.
#[derive(Debug)]
pub struct PageError(pub Error);

impl<E: Into<Error>> From<E> for PageError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self.0 {
            Error::Unauthorized => Redirect::to("/login").into_response(),
            e => {
                let status = e.status();
                let page = liveboard_templates::error_page(status.as_u16(), &e.public_message());
                with_retry_after(&e, (status, page).into_response())
            }
        }
    }
}

impl Error {
    /// An extractor's rejection in our terms, by its status; its text says what was wrong.
    fn rejected(status: StatusCode, text: String) -> Self {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            // A route that names a path parameter its handler does not have: our bug, not the client's.
            s if s.is_server_error() => Self::Other(anyhow::anyhow!(text)),
            _ => Self::BadRequest(text),
        }
    }
}

impl From<JsonRejection> for Error {
    fn from(r: JsonRejection) -> Self {
        Self::rejected(r.status(), r.body_text())
    }
}

impl From<FormRejection> for Error {
    fn from(r: FormRejection) -> Self {
        Self::rejected(r.status(), r.body_text())
    }
}

impl From<PathRejection> for Error {
    fn from(r: PathRejection) -> Self {
        Self::rejected(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for Error {
    fn from(r: QueryRejection) -> Self {
        Self::rejected(r.status(), r.body_text())
    }
}

/// `axum::Json` whose rejections are our JSON errors.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::Form` whose rejections are our errors.
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(Error))]
pub struct Form<T>(pub T);

/// `axum::extract::Path` whose rejections (`/api/boards/abc`) are our JSON errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub struct Path<T>(pub T);

/// `axum::extract::Query` whose rejections (`?version=abc`) are our JSON errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct Query<T>(pub T);

/// `axum::extract::Path` for pages: a value that does not parse (`/boards/abc`) answers the HTML
/// error page (400), as every other page error does.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(PageError))]
pub struct PagePath<T>(pub T);

/// `axum::extract::Query` for pages: a value that does not parse (`?before=abc`) answers the HTML
/// error page (400).
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(PageError))]
pub struct PageQuery<T>(pub T);
