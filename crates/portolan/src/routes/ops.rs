//! Operations: health, readiness, metrics, the stylesheet.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde_json::json;

use super::blocking;
use crate::AppState;
use crate::errors::AppError;

const STYLESHEET: &str = include_str!("../../../../static/portolan.css");
const TASK_SCRIPT: &str = include_str!("../../../../static/tasks.js");

#[get("/")]
pub async fn index() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, "/catalog")).finish()
}

#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready when the database answers (within the pool's timeout); 503 with `Retry-After` when it does not.
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    let reason = match web::block(move || store.ping()).await {
        Ok(Ok(())) => {
            return HttpResponse::Ok().json(json!({ "status": "ready", "database": state.store.backend().name() }));
        }
        Ok(Err(e)) => e.to_string(),
        Err(e) => e.to_string(),
    };
    HttpResponse::ServiceUnavailable().insert_header((header::RETRY_AFTER, crate::errors::RETRY_AFTER_SECS)).json(
        json!({
            "status": "unavailable",
            "database": state.store.backend().name(),
            "location": state.store.location(),
            "reason": reason,
        }),
    )
}

#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let text = blocking(move || state.metrics.render(&state.store).map_err(AppError::unavailable)).await?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(text))
}

#[get("/static/portolan.css")]
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLESHEET)
}

/// The one script: it follows a running task's log live (`/tasks/{id}`); the page works without it.
#[get("/static/tasks.js")]
pub async fn task_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(TASK_SCRIPT)
}

pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::not_found("there is no page at this address"))
}
