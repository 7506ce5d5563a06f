//! Scorecard jobs on demand: `POST /api/v1/scorecards/snapshot`.

use actix_web::{HttpResponse, post, web};
use serde_json::json;

use crate::AppState;
use crate::auth::Caller;
use crate::auth::permissions;
use crate::errors::AppError;

/// `POST /api/v1/scorecards/snapshot`: evaluates every scorecard now and takes today's snapshot again, in the
/// background (in whichever process claims the jobs); answers 202 at once. Admins only.
#[post("/scorecards/snapshot")]
pub async fn snapshot(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, AppError> {
    let doing = "take a scorecard snapshot".to_owned();
    permissions::permit(&state, &caller, None, "scorecards.snapshot", "scorecards".to_owned(), doing)
        .await
        .map_err(AppError::api)?;
    actix_web::rt::spawn(async move {
        let state2 = state.clone();
        let taking = move || crate::maturity_jobs::snapshot_now(&state2.store, &state2.worker, chrono::Utc::now());
        match state.worker.off_thread(taking).await {
            Ok(Some(taken)) => tracing::info!(
                day = %taken.day.date(),
                scorecards = taken.scorecards,
                rows = taken.rows,
                "scorecard snapshot taken on demand"
            ),
            Ok(None) => tracing::warn!("another process held the scorecard jobs; no snapshot was taken"),
            Err(e) => tracing::error!(error = %format!("{e:#}"), "the scorecard snapshot could not be taken"),
        }
    });
    Ok(HttpResponse::Accepted().json(json!({ "status": "scheduled" })))
}
