//! The refresh loop: re-reads the configured locations on an interval and when asked. A lease in the database makes
//! one process at a time do it when several share one PostgreSQL.

use std::time::Duration;

use actix_web::web;
use catalog::ingest::{self, NoProgress};
use store::leases;

use crate::AppState;

pub const LEASE: &str = "catalog-refresh";
const LEASE_TTL: Duration = Duration::from_secs(600);

/// Who this process is, for leases.
pub(crate) fn holder() -> String {
    format!("{}-{}", std::process::id(), rand::random::<u32>())
}

pub async fn run(state: web::Data<AppState>) {
    let me = holder();
    let interval = Duration::from_secs(state.settings.refresh_interval_secs.max(1));
    let mut requested = false;
    loop {
        let (state2, me2) = (state.clone(), me.clone());
        match web::block(move || refresh_once(&state2, &me2, requested)).await {
            Ok(Ok(Some(report))) => tracing::info!(
                added = report.added,
                updated = report.updated,
                removed = report.removed,
                unchanged = report.unchanged,
                errors = report.error_count(),
                ms = u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
                "catalog refreshed"
            ),
            Ok(Ok(None)) => tracing::debug!("another process holds the refresh lease"),
            Ok(Err(e)) => tracing::error!(error = %e, "catalog refresh failed"),
            Err(e) => tracing::error!(error = %e, "catalog refresh could not run"),
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

/// Refreshes when this process can take the lease; `None` when another process is refreshing or refreshed within
/// the interval (a `requested` refresh only waits for one under way).
pub fn refresh_once(state: &AppState, me: &str, requested: bool) -> anyhow::Result<Option<ingest::Report>> {
    let locations = all_locations(state)?;
    if locations.is_empty() {
        return Ok(None);
    }
    let now = store::now();
    let until = now + chrono::Duration::from_std(LEASE_TTL)?;
    {
        let mut conn = state.store.conn()?;
        if !leases::try_acquire(&mut conn, LEASE, me, now, until, requested)? {
            return Ok(None);
        }
    }
    // A location that cannot be read now is reported, and its files count as vanished (kept for the grace period):
    // one unmounted share must not stop the others from being read.
    let options = ingest::IngestOptions { missing_location_is_error: false, ..state.settings.ingest_options() };
    let result = ingest::ingest(&state.store, &locations, &options, &NoProgress);
    if let Ok(report) = &result
        && report.files_missing > 0
    {
        tracing::warn!(
            files = report.files_missing,
            grace_secs = state.settings.vanished_grace_secs,
            "descriptor files can no longer be read; their entities are kept for the grace period"
        );
    }
    if result.is_ok() {
        crate::scaffold_jobs::sync_templates(&state.store);
    }
    if let Ok(report) = &result
        && report.changed()
    {
        // A failure here is logged, never kept from the lease's release below: the catalog itself was refreshed.
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
        crate::maturity_jobs::after_refresh(state, me);
    }
    // Sessions and sign-ins that ran out are of no use to anyone: the lease holder clears them.
    match store::sessions::purge_expired(&mut *state.store.conn()?, store::now()) {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "expired sessions and sign-ins removed"),
        Err(e) => tracing::warn!(error = %e, "expired sessions could not be removed"),
    }
    // Others skip until the next refresh is due; a little slack lets this process's own timer win the next round.
    let interval = Duration::from_secs(state.settings.refresh_interval_secs.max(1));
    let idle_until = store::now() + chrono::Duration::from_std(interval.mul_f64(0.9))?;
    let mut conn = state.store.conn()?;
    match &result {
        Ok(_) => leases::finish(&mut conn, LEASE, me, idle_until)?,
        Err(_) => leases::release(&mut conn, LEASE, me)?,
    }
    Ok(Some(result?))
}
