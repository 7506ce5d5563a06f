//! Signing in and out: `GET /login` sends the browser to the OpenID provider, `GET /auth/callback` comes back with
//! a code, `POST /logout` ends the session and `GET /logout` says so.

use actix_web::cookie::SameSite;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use askama_web::WebTemplate;
use serde_json::{Value, json};
use store::sessions::LoginAttemptRow;

use super::blocking;
use crate::AppState;
use crate::auth::audit::{self, Outcome};
use crate::auth::sessions::{self, LOGIN, SESSION, cookie, cookie_name};
use crate::auth::{Caller, Chrome, Principal, csrf, oidc::OidcError, safe_return_path, same_secret, secret_hash};
use crate::errors::AppError;

/// How long a sign-in may take from leaving for the provider to coming back.
const LOGIN_WINDOW: chrono::Duration = chrono::Duration::minutes(10);

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
}

/// `GET /login?return_to=/path`: starts a sign-in (state, nonce and PKCE verifier kept server-side under a cookie of
/// this browser) and redirects to the provider.
#[get("/login")]
pub async fn login(state: web::Data<AppState>, req: HttpRequest, caller: Caller) -> Result<HttpResponse, AppError> {
    let return_to = safe_return_path(
        web::Query::<LoginQuery>::from_query(req.query_string()).ok().and_then(|q| q.into_inner().return_to).as_deref(),
    );
    let Some(oidc) = state.auth.oidc.as_ref() else {
        // Sign-in is off: there is nobody to be.
        return Ok(see_other(&return_to));
    };
    if let Err(slow) = state.auth.limits.login(caller.addr.as_deref().unwrap_or("unknown")) {
        return Err(AppError::too_many_requests("sign-ins", slow.0));
    }
    let begun = oidc.begin().await.map_err(provider_error)?;
    let secret = crate::auth::random_secret();
    let now = store::now();
    let row = LoginAttemptRow {
        id_hash: secret_hash(&secret),
        state: begun.state,
        nonce: begun.nonce,
        pkce_verifier: begun.pkce_verifier,
        return_to,
        created_at: now,
        expires_at: now + LOGIN_WINDOW,
    };
    let store = state.store.clone();
    blocking(move || store::sessions::start_login(&mut *store.conn()?, &row).map_err(AppError::internal)).await?;
    let secure = state.auth.secure_cookies;
    // Lax: the provider's redirect back is a top-level navigation from another site, which must carry it.
    let login_cookie = cookie(cookie_name(LOGIN, secure), secret, secure, SameSite::Lax, Some(LOGIN_WINDOW));
    Ok(HttpResponse::SeeOther().cookie(login_cookie).insert_header((header::LOCATION, begun.url.to_string())).finish())
}

#[derive(serde::Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/callback?code=&state=`: checks the state against this browser's sign-in, trades the code, checks the
/// ID token, matches the person to a catalog User, and opens a session.
#[get("/auth/callback")]
pub async fn callback(state: web::Data<AppState>, req: HttpRequest, caller: Caller) -> Result<HttpResponse, AppError> {
    let oidc = state.auth.oidc.as_ref().ok_or_else(|| AppError::not_found("sign-in is off"))?;
    let addr = caller.addr.clone();
    if let Err(slow) = state.auth.limits.login(addr.as_deref().unwrap_or("unknown")) {
        return Err(AppError::too_many_requests("sign-ins", slow.0));
    }
    let query = web::Query::<CallbackQuery>::from_query(req.query_string())
        .map_err(|e| AppError::bad_request("query", e.to_string()))?
        .into_inner();
    let secure = state.auth.secure_cookies;
    let refuse = |why: String| AppError::new(StatusCode::BAD_REQUEST, "sign_in_failed", why, Value::Null);
    let secret = req.cookie(&cookie_name(LOGIN, secure)).map(|c| c.value().to_owned()).ok_or_else(|| {
        refuse("this browser started no sign-in (its sign-in cookie is missing): sign in again".into())
    })?;
    let store = state.store.clone();
    let attempt = blocking(move || {
        store::sessions::take_login(&mut *store.conn()?, &secret_hash(&secret), store::now())
            .map_err(AppError::internal)
    })
    .await?
    .ok_or_else(|| refuse("this sign-in has expired or was finished already: sign in again".into()))?;
    let clear_login = cookie(cookie_name(LOGIN, secure), String::new(), secure, SameSite::Lax, None);
    // The attempt is used up whatever happens next; a cookie left behind points at nothing.
    if let Some(error) = &query.error {
        let description = query.error_description.as_deref().unwrap_or("");
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "sign_in_refused",
            format!("the sign-in provider answered `{error}` {description}").trim_end().to_owned(),
            Value::Null,
        ));
    }
    let returned_state = query.state.as_deref().unwrap_or_default();
    if !same_secret(returned_state, &attempt.state) {
        return Err(refuse("the sign-in's state does not match this browser's: sign in again".into()));
    }
    let code =
        query.code.as_deref().filter(|c| !c.is_empty()).ok_or_else(|| refuse("the provider sent no code".into()))?;
    let identity = oidc.finish(code, &attempt.nonce, &attempt.pkce_verifier).await.map_err(provider_error)?;

    let (store, allow_unknown, lifetime) =
        (state.store.clone(), state.settings.allow_unknown_users, state.auth.session_lifetime);
    let outcome = blocking(move || {
        let mut conn = store.conn()?;
        let user = catalog::people::match_user(&mut conn, identity.email.as_deref(), identity.name.as_deref())
            .map_err(AppError::internal)?;
        let who = identity.email.clone().unwrap_or_else(|| identity.display_name.clone());
        let login_caller =
            |principal| Caller { principal, addr: addr.clone(), csrf_token: String::new(), sign_in_on: true };
        if user.is_none() && !allow_unknown {
            let caller = login_caller(Principal::Anonymous);
            let details =
                json!({"email": identity.email, "subject": identity.subject, "reason": "unknown to the catalog"});
            audit::record(&mut conn, &caller, "session.login", &who, Outcome::Denied, &details)
                .map_err(AppError::internal)?;
            return Ok(Err(who));
        }
        let secret =
            sessions::open(&mut conn, &identity, user.as_ref(), lifetime, store::now()).map_err(AppError::internal)?;
        let person = sessions::person(&mut conn, &secret, store::now()).map_err(AppError::internal)?;
        if let Some(person) = person {
            let caller = login_caller(Principal::Person(person));
            let details = json!({"email": identity.email, "subject": identity.subject, "issuer": identity.issuer});
            audit::record(&mut conn, &caller, "session.login", &who, Outcome::Allowed, &details)
                .map_err(AppError::internal)?;
        }
        Ok(Ok(secret))
    })
    .await?;
    let secret = match outcome {
        Ok(secret) => secret,
        Err(who) => {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "unknown_user",
                format!(
                    "{who} signed in, but the catalog has no User with that email or name, and this portal admits only people it knows"
                ),
                Value::Null,
            ));
        }
    };
    let max_age = Some(state.auth.session_lifetime);
    let session_cookie = cookie(cookie_name(SESSION, secure), secret, secure, SameSite::Lax, max_age);
    let mut response = see_other(&attempt.return_to);
    response.add_cookie(&session_cookie).map_err(AppError::internal)?;
    response.add_cookie(&clear_login).map_err(AppError::internal)?;
    Ok(response)
}

#[derive(serde::Deserialize)]
pub struct LogoutForm {
    csrf_token: Option<String>,
}

/// `POST /logout` (with the form's CSRF token): deletes the session and its cookie.
#[post("/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse, AppError> {
    let secure = state.auth.secure_cookies;
    csrf::check(&req, secure, form.csrf_token.as_deref())?;
    if let Some(session) = req.cookie(&cookie_name(SESSION, secure)).map(|c| c.value().to_owned()) {
        let store = state.store.clone();
        blocking(move || {
            let mut conn = store.conn()?;
            let person = sessions::person(&mut conn, &session, store::now()).map_err(AppError::internal)?;
            store::sessions::delete(&mut conn, &secret_hash(&session)).map_err(AppError::internal)?;
            if let Some(person) = person {
                let caller = Caller { principal: Principal::Person(person), ..caller };
                let who = caller.principal.actor();
                audit::record(&mut conn, &caller, "session.logout", &who, Outcome::Allowed, &Value::Null)
                    .map_err(AppError::internal)?;
            }
            Ok(())
        })
        .await?;
    }
    let mut response = see_other("/logout");
    response
        .add_cookie(&cookie(cookie_name(SESSION, secure), String::new(), secure, SameSite::Lax, None))
        .map_err(AppError::internal)?;
    Ok(response)
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/signed_out.html")]
pub struct SignedOutPage {
    pub chrome: Chrome,
}

/// `GET /logout`: signed out.
#[get("/logout")]
pub async fn signed_out(caller: Caller) -> SignedOutPage {
    let mut chrome = caller.chrome();
    chrome.signed_in_as = None;
    SignedOutPage { chrome }
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location.to_owned())).finish()
}

fn provider_error(error: OidcError) -> AppError {
    match error {
        OidcError::Discovery { .. } => {
            tracing::warn!(error = %error, "sign-in provider unavailable");
            AppError::new(StatusCode::SERVICE_UNAVAILABLE, "provider_unavailable", error.to_string(), Value::Null)
        }
        other => {
            tracing::warn!(error = %other, "sign-in refused");
            AppError::new(StatusCode::FORBIDDEN, "sign_in_failed", other.to_string(), Value::Null)
        }
    }
}
