//! `POST /api/v1/slos/{namespace}/{name}/events`: SLI samples pushed by teams whose SLIs live elsewhere, with an
//! API token of the team that owns the SLO's service (or of a team above it).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use catalog::entity::{EntityRef, Kind};
use scorecard::sli::{self, SliError, StoredSlo};
use serde_json::{Value, json};

use super::blocking;
use crate::AppState;
use crate::auth::permissions::{self, Need};
use crate::auth::{Caller, audit};
use crate::errors::AppError;

/// The most samples one call may carry.
pub const MAX_SAMPLES: usize = 10_000;
/// The largest body accepted: room for [`MAX_SAMPLES`] samples written out generously.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

pub fn resource() -> actix_web::Resource {
    web::resource("/slos/{namespace}/{name}/events")
        .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .route(web::post().to(push_events))
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
    caller: Caller,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
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
        let row = store::slos::by_name(&mut conn, &namespace, &name)
            .map_err(AppError::internal)?
            .ok_or_else(|| AppError::not_found(format!("no SLO {namespace}/{name}")))?;
        let service = EntityRef::new(Kind::Component.as_str(), &row.namespace, &row.service).to_string();
        let owner = store::entities::by_ref(&mut conn, &service).map_err(AppError::internal)?.and_then(|e| e.owner_ref);
        let target = format!("slo:{namespace}/{name}");
        match &owner {
            Some(owner) => {
                let doing = format!("push events to SLO {namespace}/{name} of {service}");
                permissions::authorize(
                    &mut conn,
                    &state.auth.admin_groups,
                    &caller,
                    Need::OwnerOf(owner),
                    "sli.push",
                    &doing,
                )?;
            }
            None => {
                let doing = format!(
                    "push events to SLO {namespace}/{name}, whose service {service} has no owner in the catalog,"
                );
                permissions::authorize(&mut conn, &state.auth.admin_groups, &caller, Need::Admin, "sli.push", &doing)?;
            }
        }
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
        let details = json!({"samples": samples.len(), "minutes": recorded.minutes});
        audit::record(&mut conn, &caller, "sli.push", &target, audit::Outcome::Allowed, &details)
            .map_err(AppError::internal)?;
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
