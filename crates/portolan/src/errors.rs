//! One error type for the web layer: JSON in the SPEC's shape under `/api`, an HTML page elsewhere. Internal errors
//! are logged and shown opaquely.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use serde_json::{Value, json};

use store::Fault;

use crate::auth::Chrome;

#[derive(Debug, Clone)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    /// Whether the caller wants JSON (an `/api` route).
    pub api: bool,
    /// The database fault behind it, whose message [`AppError::naming`] completes with the database's name.
    pub fault: Option<Fault>,
}

/// How long a client is told to wait before trying again while the database is unavailable.
pub const RETRY_AFTER_SECS: u64 = 5;

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>, details: Value) -> AppError {
        AppError { status, code, message: message.into(), details, api: false, fault: None }
    }

    /// No credentials, or ones that are not valid: answered with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", message, Value::Null)
    }

    pub fn not_found(what: impl Into<String>) -> AppError {
        AppError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: what.into(),
            details: Value::Null,
            api: false,
            fault: None,
        }
    }

    pub fn bad_request(field: &str, message: impl Into<String>) -> AppError {
        let message = message.into();
        AppError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            details: json!({ "field": field }),
            message: format!("{field}: {message}"),
            api: false,
            fault: None,
        }
    }

    /// An error of ours, logged and shown opaquely; unless its text shows a database fault (a lost connection, a full
    /// disk, a read-only file), which is answered as [`AppError::database`] says.
    pub fn internal(error: impl fmt::Display) -> AppError {
        let text = error.to_string();
        if let Some(fault) = Fault::in_message(&text) {
            return AppError::database(fault, &text);
        }
        tracing::error!(error = %text, "request failed");
        AppError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "something went wrong on our side; it has been logged".to_owned(),
            details: Value::Null,
            api: false,
            fault: None,
        }
    }

    /// The database is not answering (down, restarting, or every connection busy): 503 with `Retry-After`.
    pub fn unavailable(error: impl fmt::Display) -> AppError {
        AppError::database(Fault::Unavailable, &error.to_string())
    }

    /// A database fault: 503 with `Retry-After` while the database is unavailable or cannot be written, 507 when its
    /// disk is full. Reads keep working in the last two cases, which the message says.
    pub fn database(fault: Fault, cause: &str) -> AppError {
        tracing::warn!(error = %cause, fault = ?fault, "database fault");
        let (status, code) = match fault {
            Fault::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable"),
            Fault::DiskFull => (StatusCode::INSUFFICIENT_STORAGE, "disk_full"),
            Fault::ReadOnly => (StatusCode::SERVICE_UNAVAILABLE, "database_read_only"),
            Fault::Io => (StatusCode::SERVICE_UNAVAILABLE, "database_io_error"),
        };
        AppError {
            status,
            code,
            message: fault_message(fault, "the database"),
            details: json!({ "retry_after_secs": RETRY_AFTER_SECS }),
            api: false,
            fault: Some(fault),
        }
    }

    /// The same error with the database named in its message (`the SQLite database /srv/portolan.db …`).
    pub fn naming(mut self, database: &str) -> AppError {
        if let Some(fault) = self.fault {
            self.message = fault_message(fault, database);
            if let Value::Object(details) = &mut self.details {
                details.insert("database".to_owned(), Value::String(database.to_owned()));
            }
        }
        self
    }

    /// Too many requests from one client: answered with `Retry-After`.
    pub fn too_many_requests(what: &str, wait: std::time::Duration) -> AppError {
        let secs = wait.as_secs().max(1);
        AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many {what} from this address; try again in {secs} s"),
            json!({ "retry_after_secs": secs }),
        )
    }

    pub fn api(mut self) -> AppError {
        self.api = true;
        self
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// A command's error as the command line prints it: when it comes from a database fault, what that means first,
/// naming the database of `database_url`, then the error itself.
pub fn explain(database_url: &str, error: &anyhow::Error) -> String {
    let text = format!("{error:#}");
    match Fault::in_message(&text) {
        Some(fault) => format!("{} ({text})", fault_message(fault, &store::location_of(database_url))),
        None => text,
    }
}

/// What a person is told about a database fault; `database` names it.
fn fault_message(fault: Fault, database: &str) -> String {
    match fault {
        Fault::Unavailable => format!("{database} is not answering; try again shortly"),
        Fault::DiskFull => format!(
            "{database} cannot be written: the disk holding it is full. Nothing was changed; reading still works. \
             Free some space there and try again"
        ),
        Fault::ReadOnly => format!(
            "{database} cannot be written: its file or file system is read-only. Nothing was changed; reading still \
             works"
        ),
        Fault::Io => format!("{database} could not be read or written: the storage under it reported an I/O error"),
    }
}

impl From<store::StoreError> for AppError {
    fn from(e: store::StoreError) -> Self {
        match e.fault() {
            Some(fault) => AppError::database(fault, &e.to_string()),
            None => AppError::internal(e),
        }
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::internal(e)
    }
}

impl From<catalog::browse::QueryError> for AppError {
    fn from(e: catalog::browse::QueryError) -> Self {
        AppError::bad_request(e.field, e.message)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
    chrome: &'a Chrome,
}

/// The HTML page of an error, with the caller's top bar.
pub fn page(error: &AppError, chrome: &Chrome) -> HttpResponse {
    let page = ErrorPage {
        status: error.status.as_u16(),
        reason: error.status.canonical_reason().unwrap_or("Error"),
        message: &error.message,
        chrome,
    };
    let mut response = match page.render() {
        Ok(html) => HttpResponse::build(error.status).content_type("text/html; charset=utf-8").body(html),
        Err(_) => HttpResponse::build(error.status).body(error.message.clone()),
    };
    error.add_headers(&mut response);
    response
}

impl AppError {
    fn add_headers(&self, response: &mut HttpResponse) {
        use actix_web::http::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
        if self.status == StatusCode::UNAUTHORIZED && self.api {
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"portolan\""));
        }
        if let Some(secs) = self.details.get("retry_after_secs").and_then(Value::as_u64) {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.api {
            let mut response = HttpResponse::build(self.status).json(json!({
                "error": { "code": self.code, "message": self.message, "details": self.details }
            }));
            self.add_headers(&mut response);
            return response;
        }
        page(self, &Chrome::default())
    }
}

fn wants_json(req: &HttpRequest) -> bool {
    req.path().starts_with("/api/")
}

pub fn query_error(err: actix_web::error::QueryPayloadError, req: &HttpRequest) -> actix_web::Error {
    let e = AppError::bad_request("query", err.to_string());
    if wants_json(req) { e.api().into() } else { e.into() }
}

pub fn path_error(err: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    let e = AppError::not_found(err.to_string());
    if wants_json(req) { e.api().into() } else { e.into() }
}

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind, Error};

    use super::*;

    fn lost(message: &str) -> Error {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, Box::new(message.to_owned()))
    }

    #[test]
    fn database_faults_are_503_or_507_and_name_the_database() {
        // A query whose connection was lost, however it reaches the handler.
        let from_store = AppError::from(store::StoreError::Query(lost("server closed the connection unexpectedly")));
        assert_eq!((from_store.status, from_store.code), (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable"));
        let wrapped = AppError::internal(format!("loading the page: {}", lost("no connection to the server")));
        assert_eq!(wrapped.status, StatusCode::SERVICE_UNAVAILABLE);
        let full = AppError::internal(Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("database or disk is full".to_owned()),
        ))
        .naming("the SQLite database /srv/portolan.db");
        assert_eq!((full.status, full.code), (StatusCode::INSUFFICIENT_STORAGE, "disk_full"));
        assert!(full.message.starts_with("the SQLite database /srv/portolan.db cannot be written"), "{}", full.message);
        let read_only = AppError::internal("attempt to write a readonly database");
        assert_eq!((read_only.status, read_only.code), (StatusCode::SERVICE_UNAVAILABLE, "database_read_only"));
        // Anything else stays an opaque 500.
        let bug = AppError::internal(Error::NotFound);
        assert_eq!((bug.status, bug.code, bug.fault), (StatusCode::INTERNAL_SERVER_ERROR, "internal", None));
        let explained =
            explain("sqlite:///srv/portolan.db", &anyhow::anyhow!("database query failed: database or disk is full"));
        assert!(
            explained.starts_with("the SQLite database /srv/portolan.db cannot be written: the disk"),
            "{explained}"
        );
    }
}
