//! The JSON API under `/api/v1`: entities in Backstage's shape, and refresh.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use catalog::browse::{self, ListQuery};
use serde_json::json;

use super::blocking;
use crate::AppState;
use crate::errors::AppError;

fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, AppError> {
    serde_urlencoded::from_str(req.query_string()).map_err(|e| AppError::bad_request("query", e.to_string()))
}

/// Blocking work whose errors answer in JSON.
async fn api<T, F>(work: F) -> Result<T, AppError>
where
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    blocking(work).await.map_err(AppError::api)
}

/// `GET /api/v1/entities?kind=&owner=&lifecycle=&type=&tag=&slo_status=&q=&limit=&cursor=` (`slo_status`: a
/// Component's worst SLO status, `exhausted`, `at_risk`, `stale`, `no_data`, `healthy`, or `none` for no SLOs)
#[get("/entities")]
pub async fn list_entities(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let query = query_pairs(&req).and_then(|pairs| Ok(ListQuery::parse(&pairs)?)).map_err(AppError::api)?;
    let body = api(move || {
        let mut conn = state.store.conn()?;
        let index = state.index.get(&mut conn)?;
        let (items, page) = browse::list_backstage(&mut conn, &index, &query)?;
        Ok(json!({ "items": items, "next_cursor": page.next_cursor, "total": page.total }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/entities/{kind}/{namespace}/{name}`
#[get("/entities/{kind}/{namespace}/{name}")]
pub async fn get_entity(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    let (kind, namespace, name) = path.into_inner();
    let body = api(move || {
        let mut conn = state.store.conn()?;
        browse::entity_detail(&mut conn, &kind, &namespace, &name)?
            .map(|d| d.to_backstage_json())
            .ok_or_else(|| AppError::not_found(format!("no entity {kind}:{namespace}/{name}")))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/v1/refresh`: re-reads the configured locations now (in whichever process holds the lease).
#[post("/refresh")]
pub async fn refresh(state: web::Data<AppState>) -> HttpResponse {
    state.refresh_now.notify_one();
    HttpResponse::Accepted().json(json!({ "status": "scheduled", "locations": state.locations.len() }))
}

pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::not_found("there is no API endpoint at this address").api())
}
