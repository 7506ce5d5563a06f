//! `/teams/{name}/tokens`: a team's API tokens — made here (the secret shown once), listed with expiry and last use,
//! revoked. Members of the team, of the teams above it, and admins may manage them.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use askama::Template;
use catalog::entity::{DEFAULT_NAMESPACE, EntityRef, Kind};
use chrono::NaiveDateTime;
use serde_json::json;
use store::DbConnection;
use store::tokens::TokenRow;

use super::{blocking, html};
use crate::AppState;
use crate::auth::permissions::{self, Need};
use crate::auth::tokens::{self, TokenError};
use crate::auth::{Caller, Chrome, audit, csrf};
use crate::errors::AppError;

/// The lifetimes offered, in days; 90 by default.
pub const LIFETIMES: [u32; 4] = [7, 30, 90, 365];

#[derive(Template)]
#[template(path = "teams/tokens.html")]
pub struct TokensPage {
    pub chrome: Chrome,
    pub team: String,
    pub team_ref: String,
    pub tokens: Vec<TokenView>,
    /// The secret of the token just made, shown this once.
    pub created: Option<(String, String)>,
    pub error: Option<String>,
    pub name: String,
    pub lifetimes: [u32; 4],
    pub lifetime: u32,
}

pub struct TokenView {
    pub name: String,
    pub created_at: String,
    pub created_by: String,
    pub expires: String,
    pub last_used: String,
    /// `active`, `expired` or `revoked`.
    pub state: &'static str,
}

impl TokenView {
    fn of(row: &TokenRow, now: NaiveDateTime) -> TokenView {
        let at = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M UTC").to_string();
        let state = match (row.revoked_at, row.expires_at) {
            (Some(_), _) => "revoked",
            (None, Some(expires)) if expires <= now => "expired",
            _ => "active",
        };
        TokenView {
            name: row.name.clone(),
            created_at: at(row.created_at),
            created_by: row.created_by.clone().unwrap_or_else(|| "—".to_owned()),
            expires: row.expires_at.map_or_else(|| "never".to_owned(), at),
            last_used: row.last_used_at.map_or_else(|| "never".to_owned(), at),
            state,
        }
    }
}

fn team_ref(name: &str) -> Result<String, AppError> {
    EntityRef::parse(name, Some(Kind::Group), DEFAULT_NAMESPACE)
        .map(|r| r.to_string())
        .map_err(|e| AppError::not_found(format!("no team `{name}`: {e}")))
}

/// The team exists, and the caller may manage its tokens.
fn managed(
    conn: &mut DbConnection,
    state: &AppState,
    caller: &Caller,
    name: &str,
    action: &str,
) -> Result<String, AppError> {
    let team = team_ref(name)?;
    if store::entities::by_ref(conn, &team).map_err(AppError::internal)?.is_none() {
        return Err(AppError::not_found(format!("no team {team} in the catalog")));
    }
    let doing = format!("manage the API tokens of {team}");
    permissions::authorize(conn, &state.auth.admin_groups, caller, Need::OwnerOf(&team), action, &doing)?;
    Ok(team)
}

fn page_of(conn: &mut DbConnection, chrome: Chrome, name: &str, team: String) -> Result<TokensPage, AppError> {
    let now = store::now();
    let tokens = store::tokens::of_team(conn, &team).map_err(AppError::internal)?;
    Ok(TokensPage {
        chrome,
        team: name.to_owned(),
        team_ref: team,
        tokens: tokens.iter().map(|t| TokenView::of(t, now)).collect(),
        created: None,
        error: None,
        name: String::new(),
        lifetimes: LIFETIMES,
        lifetime: 90,
    })
}

#[get("/teams/{name}/tokens")]
pub async fn list(
    state: web::Data<AppState>,
    name: web::Path<String>,
    caller: Caller,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let page = blocking(move || {
        let mut conn = state.store.conn()?;
        let team = managed(&mut conn, &state, &caller, &name, "token.list")?;
        page_of(&mut conn, caller.chrome(), &name, team)
    })
    .await?;
    html(actix_web::http::StatusCode::OK, &page)
}

#[derive(serde::Deserialize)]
pub struct CreateForm {
    csrf_token: Option<String>,
    name: String,
    expires_in_days: Option<u32>,
}

/// `POST /teams/{name}/tokens`: makes a token and shows its secret once.
#[post("/teams/{name}/tokens")]
pub async fn create(
    state: web::Data<AppState>,
    name: web::Path<String>,
    req: HttpRequest,
    caller: Caller,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, AppError> {
    csrf::check(&req, state.auth.secure_cookies, form.csrf_token.as_deref())?;
    let (name, form) = (name.into_inner(), form.into_inner());
    let (status, page) = blocking(move || {
        let mut conn = state.store.conn()?;
        let team = managed(&mut conn, &state, &caller, &name, "token.create")?;
        let mut page = page_of(&mut conn, caller.chrome(), &name, team.clone())?;
        let days = form.expires_in_days.unwrap_or(90);
        page.name = form.name.trim().to_owned();
        page.lifetime = days;
        if !LIFETIMES.contains(&days) {
            page.error = Some(format!("expires_in_days: {days} is not one of {LIFETIMES:?}"));
            return Ok((actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, page));
        }
        let made = tokens::create(
            &mut conn,
            form.name.trim(),
            Some(&team),
            Some(chrono::Duration::days(i64::from(days))),
            &caller.principal.actor(),
            store::now(),
        );
        match made {
            Ok(created) => {
                let details = json!({"token": created.row.name, "expires_in_days": days});
                audit::record(&mut conn, &caller, "token.create", &team, audit::Outcome::Allowed, &details)
                    .map_err(AppError::internal)?;
                let mut page = page_of(&mut conn, caller.chrome(), &name, team)?;
                page.created = Some((created.row.name, created.secret));
                Ok((actix_web::http::StatusCode::CREATED, page))
            }
            Err(e @ (TokenError::NameTaken(_) | TokenError::BadName(_))) => {
                page.error = Some(format!("name: {e}"));
                Ok((actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, page))
            }
            Err(TokenError::Query(e)) => Err(AppError::internal(e)),
        }
    })
    .await?;
    let mut response = html(status, &page)?;
    // The secret is in this page: no cache keeps it.
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(serde::Deserialize)]
pub struct RevokeForm {
    csrf_token: Option<String>,
}

/// `POST /teams/{name}/tokens/{token}/revoke`.
#[post("/teams/{name}/tokens/{token}/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    caller: Caller,
    form: web::Form<RevokeForm>,
) -> Result<HttpResponse, AppError> {
    csrf::check(&req, state.auth.secure_cookies, form.csrf_token.as_deref())?;
    let (name, token) = path.into_inner();
    let back = format!("/teams/{name}/tokens");
    blocking(move || {
        let mut conn = state.store.conn()?;
        let team = managed(&mut conn, &state, &caller, &name, "token.revoke")?;
        let row = store::tokens::by_name(&mut conn, &token)
            .map_err(AppError::internal)?
            .filter(|row| row.team.as_deref() == Some(team.as_str()))
            .ok_or_else(|| AppError::not_found(format!("{team} has no token named `{token}`")))?;
        store::tokens::revoke(&mut conn, &row.name, store::now()).map_err(AppError::internal)?;
        let details = json!({"token": row.name});
        audit::record(&mut conn, &caller, "token.revoke", &team, audit::Outcome::Allowed, &details)
            .map_err(AppError::internal)
    })
    .await?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, back)).finish())
}
