//! The audit log for admins: `/admin/audit` and `GET /api/v1/audit`, newest first, filtered by actor, action and
//! outcome, 100 a page.

use actix_web::{HttpResponse, get, web};
use askama::Template;
use askama_web::WebTemplate;
use serde_json::{Value, json};
use store::audit::{AuditFilter, AuditRow};

use super::blocking;
use crate::AppState;
use crate::auth::permissions::{self, Need};
use crate::auth::{Caller, Chrome};
use crate::errors::AppError;

const PAGE: i64 = 100;

#[derive(serde::Deserialize, Default)]
pub struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    before: Option<i64>,
}

impl AuditQuery {
    fn filter(&self) -> AuditFilter {
        let some = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        AuditFilter {
            actor: some(&self.actor),
            action: some(&self.action),
            outcome: some(&self.outcome),
            before_id: self.before,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub chrome: Chrome,
    pub events: Vec<AuditRow>,
    pub actor: String,
    pub action: String,
    pub outcome: String,
    pub next_href: Option<String>,
}

impl AuditPage {
    pub fn at(event: &AuditRow) -> String {
        event.at.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

fn load(state: &AppState, caller: &Caller, filter: &AuditFilter) -> Result<(Vec<AuditRow>, Option<i64>), AppError> {
    let mut conn = state.store.conn()?;
    let doing = "read the audit log";
    permissions::authorize(&mut conn, &state.auth.admin_groups, caller, Need::Admin, "audit.read", doing)?;
    let mut events = store::audit::newest(&mut conn, filter, PAGE + 1).map_err(AppError::internal)?;
    let more = events.len() > usize::try_from(PAGE).unwrap_or(usize::MAX);
    events.truncate(usize::try_from(PAGE).unwrap_or(usize::MAX));
    let next = if more { events.last().map(|e| e.id) } else { None };
    Ok((events, next))
}

#[get("/admin/audit")]
pub async fn page(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<AuditQuery>,
) -> Result<AuditPage, AppError> {
    let query = query.into_inner();
    blocking(move || {
        let filter = query.filter();
        let (events, next) = load(&state, &caller, &filter)?;
        let text = |v: Option<String>| v.unwrap_or_default();
        let next_href = next.map(|before| {
            let mut params: Vec<(&str, String)> = Vec::new();
            for (key, value) in [("actor", &filter.actor), ("action", &filter.action), ("outcome", &filter.outcome)] {
                if let Some(value) = value {
                    params.push((key, value.clone()));
                }
            }
            params.push(("before", before.to_string()));
            format!("/admin/audit?{}", serde_urlencoded::to_string(params).unwrap_or_default())
        });
        Ok(AuditPage {
            chrome: caller.chrome(),
            events,
            actor: text(filter.actor),
            action: text(filter.action),
            outcome: text(filter.outcome),
            next_href,
        })
    })
    .await
}

#[get("/audit")]
pub async fn api(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let body = blocking(move || {
        let (events, next) = load(&state, &caller, &query.filter())?;
        let items: Vec<Value> = events
            .iter()
            .map(|e| {
                json!({
                    "id": e.id,
                    "at": e.at.and_utc().to_rfc3339(),
                    "actor": e.actor,
                    "action": e.action,
                    "target": e.target,
                    "outcome": e.outcome,
                    "client_addr": e.client_addr,
                    "details": serde_json::from_str::<Value>(&e.details).unwrap_or(Value::Null),
                })
            })
            .collect();
        Ok(json!({ "items": items, "next_before": next }))
    })
    .await
    .map_err(AppError::api)?;
    Ok(HttpResponse::Ok().json(body))
}
