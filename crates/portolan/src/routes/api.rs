//! The JSON API under `/api/v1`: entities in Backstage's shape, and refresh.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use catalog::browse::{self, ListQuery};
use serde_json::{Value, json};
use store::entities;

use super::blocking;
use crate::AppState;
use crate::errors::AppError;

fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, AppError> {
    serde_urlencoded::from_str(req.query_string()).map_err(|e| AppError::bad_request("query", e.to_string()).api())
}

/// `GET /api/v1/entities?kind=&owner=&lifecycle=&type=&tag=&q=&limit=&cursor=`
#[get("/entities")]
pub async fn list_entities(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let query = ListQuery::parse(&query_pairs(&req)?).map_err(|e| AppError::from(e).api())?;
    let body = blocking(move || {
        let mut conn = state.store.conn().map_err(|e| AppError::from(e).api())?;
        let page = browse::list(&mut conn, &query).map_err(|e| AppError::from(e).api())?;
        let refs: Vec<String> = page.items.iter().map(|i| i.entity_ref.clone()).collect();
        let mut rows: HashMap<String, entities::EntityRow> = entities::rows_by_refs(&mut conn, &refs)
            .map_err(|e| AppError::internal(e).api())?
            .into_iter()
            .map(|r| (r.entity_ref.clone(), r))
            .collect();
        let mut relations: HashMap<String, Vec<Value>> = HashMap::new();
        for r in entities::relations_from_refs(&mut conn, &refs).map_err(|e| AppError::internal(e).api())? {
            relations
                .entry(r.source_ref)
                .or_default()
                .push(json!({ "type": r.relation_type, "targetRef": r.target_ref }));
        }
        let items: Vec<Value> = refs
            .iter()
            .filter_map(|r| rows.remove(r))
            .map(|row| {
                let mut body: Value = serde_json::from_str(&row.body).unwrap_or(Value::Null);
                if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.insert("etag".to_owned(), Value::String(row.etag));
                }
                if let Some(obj) = body.as_object_mut() {
                    obj.insert(
                        "relations".to_owned(),
                        Value::Array(relations.remove(&row.entity_ref).unwrap_or_default()),
                    );
                }
                body
            })
            .collect();
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
    let body = blocking(move || {
        let mut conn = state.store.conn().map_err(|e| AppError::from(e).api())?;
        let detail = browse::entity_detail(&mut conn, &kind, &namespace, &name).map_err(|e| AppError::from(e).api())?;
        detail
            .map(|d| d.to_backstage_json())
            .ok_or_else(|| AppError::not_found(format!("no entity {kind}:{namespace}/{name}")).api())
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
