//! CSRF protection for every form: a double-submitted token. The access middleware gives each browser a random token
//! in an `HttpOnly`, `SameSite=Strict` cookie (`__Host-` prefixed behind TLS, so no sibling site can plant one) and
//! pages write the same token into their forms; a state-changing POST is accepted only when both are present and
//! equal. A site that cannot read the cookie cannot forge the field.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use serde_json::Value;

use super::sessions::cookie_name;
use crate::errors::AppError;

pub const COOKIE: &str = "portolan_csrf";
/// The form field that carries the token.
pub const FIELD: &str = "csrf_token";

/// This browser's token, and whether it is new (the response must then set the cookie).
pub fn token(req: &HttpRequest, secure: bool) -> (String, bool) {
    let existing = req.cookie(&cookie_name(COOKIE, secure)).map(|c| c.value().to_owned());
    match existing.filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit())) {
        Some(token) => (token, false),
        None => (super::random_secret(), true),
    }
}

pub fn cookie(token: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(cookie_name(COOKIE, secure), token.to_owned())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish()
}

/// Checks a submitted token against the browser's cookie; a 403 that says why otherwise.
pub fn check(req: &HttpRequest, secure: bool, submitted: Option<&str>) -> Result<(), AppError> {
    let refuse = |why: &str| {
        AppError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            format!("{why}: reload the page and submit the form again"),
            Value::Null,
        )
    };
    let cookie =
        req.cookie(&cookie_name(COOKIE, secure)).ok_or_else(|| refuse("the form's security cookie is missing"))?;
    let submitted = submitted.filter(|s| !s.is_empty()).ok_or_else(|| refuse("the form carries no security token"))?;
    if !super::same_secret(cookie.value(), submitted) {
        return Err(refuse("the form's security token does not match this browser's"));
    }
    Ok(())
}
