//! The refresh loop: re-reads the configured locations on an interval and when asked. It is the job
//! [`JOB`]: one process at a time does it when several share one PostgreSQL, and another takes it over when that
//! process dies midway.

use std::time::Duration;

use actix_web::web;
use catalog::ingest::{self, NoProgress};

use crate::AppState;
use crate::jobs::Periodic;

pub const JOB: &str = "catalog-refresh";

fn job(state: &AppState) -> Periodic {
    Periodic { name: JOB, every: Duration::from_secs(state.settings.refresh_interval_secs.max(1)) }
}

pub async fn run(state: web::Data<AppState>) {
    let interval = job(&state).every;
    let mut requested = false;
    loop {
        let state2 = state.clone();
        match state.worker.off_thread(move || refresh_once(&state2, requested)).await {
            Ok(Some(report)) => tracing::info!(
                added = report.added,
                updated = report.updated,
                removed = report.removed,
                unchanged = report.unchanged,
                errors = report.error_count(),
                ms = u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
                "catalog refreshed"
            ),
            Ok(None) => tracing::debug!("another process refreshes the catalog"),
            Err(e) => tracing::error!(error = %format!("{e:#}"), "catalog refresh failed"),
        }
        requested = tokio::select! {
            () = tokio::time::sleep(interval) => false,
            () = state.refresh_now.notified() => true,
        };
    }
}

/// What a refresh reads: the configured locations (the demo's among them), the templates folder, and the
/// descriptors scaffolder runs registered.
pub fn all_locations(state: &AppState) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut locations = state.locations.clone();
    locations.extend(state.settings.templates_folder.clone());
    locations.extend(crate::scaffold_jobs::registered_locations(&state.store)?);
    Ok(locations)
}

/// Refreshes when this process claims the job; `None` when another process is refreshing or refreshed within the
/// interval (a `requested` refresh only waits for one under way).
pub fn refresh_once(state: &AppState, requested: bool) -> anyhow::Result<Option<ingest::Report>> {
    let locations = all_locations(state)?;
    if locations.is_empty() {
        return Ok(None);
    }
    state.worker.periodic(&state.store, job(state), requested, || refresh(state, &locations))
}

fn refresh(state: &AppState, locations: &[std::path::PathBuf]) -> anyhow::Result<ingest::Report> {
    // A location that cannot be read now is reported, and its files count as vanished (kept for the grace period):
    // one unmounted share must not stop the others from being read.
    let options = ingest::IngestOptions { missing_location_is_error: false, ..state.settings.ingest_options() };
    let report = ingest::ingest(&state.store, locations, &options, &NoProgress)?;
    if report.files_missing > 0 {
        tracing::warn!(
            files = report.files_missing,
            grace_secs = state.settings.vanished_grace_secs,
            "descriptor files can no longer be read; their entities are kept for the grace period"
        );
    }
    crate::scaffold_jobs::sync_templates(&state.store);
    if report.changed() {
        // A failure here is logged, not returned: the catalog itself was refreshed.
        match crate::slo_jobs::after_ingest(&state.store, chrono::Utc::now()) {
            Ok(slos) => {
                for problem in slos.problems.iter().filter(|p| p.problem.is_error() && !report.problems.contains(p)) {
                    tracing::warn!(problem = %problem, "SLO definition refused");
                }
                tracing::info!(
                    slos = slos.slos,
                    added = slos.added,
                    updated = slos.updated,
                    removed = slos.removed,
                    "SLOs reconciled"
                );
                crate::demo::after_ingest(&state.settings, &state.store, chrono::Utc::now());
            }
            Err(e) => tracing::error!(error = %e, "SLOs could not be reconciled"),
        }
        // After the SLOs and the demo's history, which the scorecards' SLO checks read.
        crate::maturity_jobs::after_refresh(state);
    }
    // Sessions and sign-ins that ran out are of no use to anyone: the refreshing process clears them.
    match store::sessions::purge_expired(&mut *state.store.conn()?, store::now()) {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "expired sessions and sign-ins removed"),
        Err(e) => tracing::warn!(error = %e, "expired sessions could not be removed"),
    }
    Ok(report)
}
