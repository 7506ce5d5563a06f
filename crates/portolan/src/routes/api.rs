//! The JSON API under `/api/v1`: entities in Backstage's shape, and refresh.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use catalog::browse::{self, ListQuery};
use catalog::entity::{DEFAULT_NAMESPACE, EntityRef};
use serde_json::json;

use super::{blocking, slos};
use crate::AppState;
use crate::auth::{Caller, permissions};
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

/// `GET /api/v1/entities?kind=&owner=&lifecycle=&type=&tag=&slo_status=&golden_path=&q=&limit=&cursor=` (`slo_status`:
/// a Component's worst SLO status, `exhausted`, `at_risk`, `stale`, `no_data`, `healthy`, or `none` for no SLOs;
/// `golden_path`: where a Component stands against its template, `behind`, `unknown`, `up_to_date`, or `none`)
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

/// `GET /api/v1/services/{namespace}/{name}?at=RFC3339`: a Component side by side: its owner, golden-path template,
/// SLOs (each evaluated at `at`, default now, as `GET /api/v1/slos/…` gives it) and scorecards (its level on each
/// and every rule's result, as last evaluated).
#[get("/services/{namespace}/{name}")]
pub async fn get_service(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (namespace, name) = path.into_inner();
    let at = slos::parse_at(&req).map_err(AppError::api)?;
    let body = api(move || {
        let mut conn = state.store.conn()?;
        let d = browse::entity_detail(&mut conn, "component", &namespace, &name)?
            .ok_or_else(|| AppError::not_found(format!("no service (Component) {namespace}/{name}")))?;
        let slos = scorecard::sli::overview::slos_of_service(&mut conn, &d.row.namespace, &d.row.name, at)
            .map_err(slos::sli_error)?;
        let template = super::catalog::golden_path_status(&mut conn, &d)?.map(|g| {
            json!({
                "ref": g.template_ref.unwrap_or(g.template),
                "version": g.version,
                "latest_version": g.latest_version,
                "drift": g.drift.facet(),
                "behind": match g.drift { scaffolding::versions::Drift::Behind { behind, .. } => behind, _ => 0 },
                "changes": match g.drift {
                    scaffolding::versions::Drift::Behind { .. } => Some(format!("/api/v1/services/{}/{}/golden-path", d.row.namespace, d.row.name)),
                    _ => None,
                },
            })
        });
        let scorecards = super::scorecards::service_json(&mut conn, &d.row.entity_ref)?;
        Ok(json!({
            "ref": d.row.entity_ref,
            "name": d.row.name,
            "namespace": d.row.namespace,
            "owner": d.owner.as_ref().map(|owner| json!({
                "ref": owner.entity_ref,
                "display_name": owner.display_name,
                "in_catalog": owner.path.is_some(),
            })),
            "template": template,
            "slos": slos,
            "scorecards": scorecards,
        }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(serde::Deserialize)]
pub struct RefreshQuery {
    /// The entity whose file should be read again now (its owners may ask); without it, admins only.
    entity: Option<String>,
}

/// `POST /api/v1/refresh[?entity=component:default/checkout]`: re-reads the catalog's locations now (in whichever
/// process holds the lease; files that did not change are skipped by their hash). The owners of an entity may ask
/// for it to be read again; a refresh with no entity named is for admins.
#[post("/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<RefreshQuery>,
) -> Result<HttpResponse, AppError> {
    let (owner, target, doing) = match query.into_inner().entity {
        Some(entity) => {
            let entity_ref = EntityRef::parse(&entity, None, DEFAULT_NAMESPACE)
                .map_err(|e| AppError::bad_request("entity", e.to_string()).api())?
                .to_string();
            let store = state.store.clone();
            let lookup = entity_ref.clone();
            let row = api(move || store::entities::by_ref(&mut *store.conn()?, &lookup).map_err(AppError::internal))
                .await?
                .ok_or_else(|| AppError::not_found(format!("no entity {entity_ref} in the catalog")).api())?;
            let doing = format!("refresh {entity_ref}");
            (row.owner_ref, entity_ref, doing)
        }
        None => (None, "catalog".to_owned(), "refresh the whole catalog".to_owned()),
    };
    permissions::permit(&state, &caller, owner, "catalog.refresh", target, doing).await.map_err(AppError::api)?;
    state.refresh_now.notify_one();
    Ok(HttpResponse::Accepted().json(json!({ "status": "scheduled", "locations": state.locations.len() })))
}

pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::not_found("there is no API endpoint at this address").api())
}
