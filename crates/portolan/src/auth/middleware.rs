//! The access layer every request passes: it works out who is calling (an API token, a session, or nobody),
//! refuses readers who must sign in first, hands out the browser's CSRF token, and draws error pages with the top
//! bar of the caller.

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, AUTHORIZATION, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

use super::{Caller, Principal, TokenHolder, csrf, sessions, tokens};
use crate::AppState;
use crate::errors::AppError;

/// Paths anyone may reach: assets, health, metrics, and the sign-in pages themselves.
fn is_public(path: &str) -> bool {
    path.starts_with("/static/")
        || matches!(
            path,
            "/healthz" | "/readyz" | "/metrics" | "/login" | "/auth/callback" | "/logout" | "/favicon.ico"
        )
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// The client's address: the peer's, or the first forwarded one when the portal is told to trust its proxy.
pub fn client_addr(req: &HttpRequest, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for {
        req.connection_info().realip_remote_addr().map(str::to_owned)
    } else {
        req.peer_addr().map(|a| a.ip().to_string())
    }
}

pub async fn resolve(req: ServiceRequest, next: Next<BoxBody>) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else { return next.call(req).await };
    let secure = state.auth.secure_cookies;
    let path = req.path().to_owned();
    let api = is_api(&path);
    let addr = client_addr(req.request(), state.settings.trust_forwarded_for);
    // Pages may carry forms; the API and the assets need no CSRF token, so none is drawn for them.
    let page = !api && !path.starts_with("/static/");
    let (csrf_token, new_csrf) = if page { csrf::token(req.request(), secure) } else { (String::new(), false) };
    let sign_in_on = state.auth.oidc.is_some();
    let principal = if is_public(&path) {
        if sign_in_on { Principal::Anonymous } else { Principal::Local }
    } else {
        match identify(&state, req.request(), addr.as_deref()).await {
            Ok(principal) => principal,
            Err(error) => {
                let error = error.naming(state.store.location());
                return Ok(req.error_response(if api { error.api() } else { error }));
            }
        }
    };
    // A browser session reads the API; writing to it takes a token, so no page of another site can make a signed-in
    // browser write (its forms cannot set the Authorization header).
    if api && matches!(principal, Principal::Person(_)) && !matches!(*req.method(), Method::GET | Method::HEAD) {
        let error = AppError::unauthorized("writing through the API takes an API token: Authorization: Bearer <token>");
        return Ok(req.error_response(error.api()));
    }
    let caller = Caller { principal, addr, csrf_token: csrf_token.clone(), sign_in_on };
    if caller.principal == Principal::Anonymous && !is_public(&path) && !state.settings.anonymous_read {
        return Ok(refuse_anonymous(req, api));
    }
    req.extensions_mut().insert(caller.clone());
    let response = next.call(req).await?;
    let (request, mut response) = response.into_parts();
    // Error pages are drawn where the caller is known, with the same top bar as every page; a database fault names
    // the database.
    if let Some(error) = response.error().and_then(|e| e.as_error::<AppError>()) {
        let error = error.clone().naming(state.store.location());
        if !error.api {
            response = crate::errors::page(&error, &caller.chrome());
        } else if error.fault.is_some() {
            response = actix_web::ResponseError::error_response(&error);
        }
    }
    if new_csrf && let Err(e) = response.add_cookie(&csrf::cookie(&csrf_token, secure)) {
        tracing::warn!(error = %e, "CSRF cookie not set");
    }
    Ok(ServiceResponse::new(request, response))
}

/// Nobody signed in where reading needs it: a browser goes to sign in and comes back; the API answers 401.
fn refuse_anonymous(req: ServiceRequest, api: bool) -> ServiceResponse<BoxBody> {
    if api {
        let error = AppError::unauthorized("sign in, or send an API token: Authorization: Bearer <token>").api();
        return req.error_response(error);
    }
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        let here = match req.query_string() {
            "" => req.path().to_owned(),
            query => format!("{}?{query}", req.path()),
        };
        let location = format!("/login?{}", serde_urlencoded::to_string([("return_to", here)]).unwrap_or_default());
        let response = HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish();
        return req.into_response(response);
    }
    req.error_response(AppError::unauthorized("sign in first"))
}

/// Who is calling: an API token when one is sent (a bad one is refused, never ignored), else the session's person,
/// else nobody (or, with sign-in off, the person at this machine).
async fn identify(state: &web::Data<AppState>, req: &HttpRequest, addr: Option<&str>) -> Result<Principal, AppError> {
    if let Some(value) = req.headers().get(AUTHORIZATION) {
        let secret = bearer(value)?;
        if let Err(slow) = state.auth.limits.token(addr.unwrap_or("unknown")) {
            return Err(AppError::too_many_requests("API requests", slow.0));
        }
        let store = state.store.clone();
        let row = crate::routes::blocking(move || {
            let mut conn = store.conn()?;
            tokens::authenticate(&mut conn, &secret, store::now()).map_err(AppError::internal)
        })
        .await?
        .map_err(|refused| AppError::unauthorized(refused.reason()))?;
        return Ok(Principal::Token(TokenHolder { name: row.name, team: row.team }));
    }
    if state.auth.oidc.is_none() {
        return Ok(Principal::Local);
    }
    let Some(cookie) = req.cookie(&sessions::cookie_name(sessions::SESSION, state.auth.secure_cookies)) else {
        return Ok(Principal::Anonymous);
    };
    let (store, secret) = (state.store.clone(), cookie.value().to_owned());
    let person = crate::routes::blocking(move || {
        let mut conn = store.conn()?;
        sessions::person(&mut conn, &secret, store::now()).map_err(AppError::internal)
    })
    .await?;
    Ok(person.map_or(Principal::Anonymous, Principal::Person))
}

fn bearer(value: &HeaderValue) -> Result<String, AppError> {
    match value.to_str().unwrap_or_default().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim().to_owned())
        }
        _ => Err(AppError::unauthorized("the Authorization header must be `Bearer <token>`")),
    }
}
