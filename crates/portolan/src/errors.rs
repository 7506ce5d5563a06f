//! One error type for the web layer: JSON in the SPEC's shape under `/api`, an HTML page elsewhere. Internal errors
//! are logged and shown opaquely.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use serde_json::{Value, json};

use crate::auth::Chrome;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    /// Whether the caller wants JSON (an `/api` route).
    pub api: bool,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>, details: Value) -> AppError {
        AppError { status, code, message: message.into(), details, api: false }
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
        }
    }

    pub fn internal(error: impl fmt::Display) -> AppError {
        tracing::error!(error = %error, "request failed");
        AppError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "something went wrong on our side; it has been logged".to_owned(),
            details: Value::Null,
            api: false,
        }
    }

    pub fn unavailable(error: impl fmt::Display) -> AppError {
        tracing::warn!(error = %error, "database unavailable");
        AppError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: "the database is not answering; try again shortly".to_owned(),
            details: Value::Null,
            api: false,
        }
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

impl From<store::StoreError> for AppError {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::Pool(_) => AppError::unavailable(e),
            _ => AppError::internal(e),
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
