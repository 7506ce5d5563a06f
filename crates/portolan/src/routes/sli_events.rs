//! `POST /api/v1/slos/{namespace}/{name}/events`: SLI samples pushed by teams whose SLIs live elsewhere,
//! authenticated with an API token.

use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, web};
use scorecard::sli::{self, SliError, StoredSlo};
use serde_json::{Value, json};

use super::blocking;
use crate::AppState;
use crate::errors::AppError;
use crate::tokens;

/// The most samples one call may carry.
pub const MAX_SAMPLES: usize = 10_000;
/// The largest body accepted: room for [`MAX_SAMPLES`] samples written out generously.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

pub fn resource() -> actix_web::Resource {
    web::resource("/slos/{namespace}/{name}/events")
        .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .route(web::post().to(push_events))
}

pub(crate) fn bearer(req: &HttpRequest) -> Result<String, AppError> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or_else(|| AppError::unauthorized("an API token is required: Authorization: Bearer <token>"))?;
    let value = header.to_str().unwrap_or_default();
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim().to_owned())
        }
        _ => Err(AppError::unauthorized("the Authorization header must be `Bearer <token>`")),
    }
}

fn refused_samples(errors: &[sli::SampleError]) -> AppError {
    AppError::new(
        StatusCode::BAD_REQUEST,
        "invalid_samples",
        format!("{} of the samples were refused; nothing was written", errors.len()),
        json!({ "samples": errors }),
    )
}

async fn push_events(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let secret = bearer(&req).map_err(AppError::api)?;
    let (namespace, name) = path.into_inner();
    let items: Vec<Value> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => items,
        Ok(_) => return Err(AppError::bad_request("body", "must be a JSON array of samples").api()),
        Err(e) => return Err(AppError::bad_request("body", format!("is not JSON: {e}")).api()),
    };
    if items.len() > MAX_SAMPLES {
        let message = format!("{} samples in one call; the most is {MAX_SAMPLES}", items.len());
        return Err(AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_many_samples", message, Value::Null).api());
    }
    let body = blocking(move || {
        let mut conn = state.store.conn()?;
        let now = store::now();
        tokens::authenticate(&mut conn, &secret, now)
            .map_err(AppError::internal)?
            .map_err(|refused| AppError::unauthorized(refused.reason()))?;
        let row = store::slos::by_name(&mut conn, &namespace, &name)
            .map_err(AppError::internal)?
            .ok_or_else(|| AppError::not_found(format!("no SLO {namespace}/{name}")))?;
        if row.source_kind != "push" {
            let message = format!(
                "SLO {namespace}/{name} reads its data from {}; events cannot be pushed to it",
                row.source_kind
            );
            return Err(AppError::new(StatusCode::CONFLICT, "not_a_push_slo", message, Value::Null));
        }
        let slo = StoredSlo::from_row(row).map_err(AppError::internal)?;
        let samples = sli::check_samples(&items, now.and_utc()).map_err(|errors| refused_samples(&errors))?;
        let recorded = match sli::record(&mut conn, &slo, &samples) {
            Ok(recorded) => recorded,
            Err(SliError::Refused(errors)) => return Err(refused_samples(&errors)),
            Err(e) => return Err(AppError::internal(e)),
        };
        let data_until =
            store::slos::by_id(&mut conn, slo.row.id).map_err(AppError::internal)?.and_then(|r| r.data_until);
        Ok(json!({
            "accepted": samples.len(),
            "minutes": recorded.minutes,
            "data_until": data_until.map(|at| at.and_utc().to_rfc3339()),
        }))
    })
    .await
    .map_err(AppError::api)?;
    Ok(HttpResponse::Ok().json(body))
}
