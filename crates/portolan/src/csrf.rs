//! CSRF protection for the portal's forms: a double-submitted token. Every page with a form sets a random token in a
//! `SameSite=Strict`, `HttpOnly` cookie and writes the same token into the form; a state-changing POST is accepted
//! only when both are present and equal. A site that cannot read the cookie cannot forge the field.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::errors::AppError;

pub const COOKIE: &str = "portolan_csrf";
/// The form field that carries the token.
pub const FIELD: &str = "csrf_token";

/// The token of this browser, and whether it is new (the response must then set the cookie).
pub fn token(req: &HttpRequest) -> (String, bool) {
    match req.cookie(COOKIE).map(|c| c.value().to_owned()).filter(|v| v.len() == 64) {
        Some(token) => (token, false),
        None => (hex::encode(rand::random::<[u8; 32]>()), true),
    }
}

/// Sets the cookie on a response when the token is new.
pub fn set_cookie(response: &mut HttpResponse, token: &str, new: bool) {
    if !new {
        return;
    }
    let cookie = Cookie::build(COOKIE, token.to_owned()).path("/").http_only(true).same_site(SameSite::Strict).finish();
    if let Err(e) = response.add_cookie(&cookie) {
        tracing::warn!(error = %e, "CSRF cookie not set");
    }
}

/// Checks a submitted token against the browser's cookie; a 403 that says why otherwise.
pub fn check(req: &HttpRequest, submitted: Option<&str>) -> Result<(), AppError> {
    let refuse = |why: &str| {
        AppError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            format!("{why}: reload the page and submit the form again"),
            Value::Null,
        )
    };
    let cookie = req.cookie(COOKIE).ok_or_else(|| refuse("the form's security cookie is missing"))?;
    let submitted = submitted.filter(|s| !s.is_empty()).ok_or_else(|| refuse("the form carries no security token"))?;
    // Digests are compared, so the time taken says nothing about how much of the token matched.
    if Sha256::digest(cookie.value().as_bytes()) != Sha256::digest(submitted.as_bytes()) {
        return Err(refuse("the form's security token does not match this browser's"));
    }
    Ok(())
}
