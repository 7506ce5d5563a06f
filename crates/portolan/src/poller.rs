//! The SLO poll loop: every `prometheus_poll_interval_secs`, reads the SLI data of the SLOs whose source is
//! Prometheus (see `scorecard::sli::prometheus`). It is the job [`JOB`]: one process at a time polls when several
//! share one PostgreSQL.

use std::time::Duration;

use actix_web::web;
use scorecard::sli::prometheus::{self, PollReport};

use crate::AppState;
use crate::jobs::Periodic;

pub const JOB: &str = "slo-poll";

fn job(state: &AppState) -> Periodic {
    Periodic { name: JOB, every: Duration::from_secs(state.settings.prometheus_poll_interval_secs.max(1)) }
}

pub async fn run(state: web::Data<AppState>) {
    loop {
        let state2 = state.clone();
        match state.worker.off_thread(move || poll_once(&state2)).await {
            Ok(Some(report)) => {
                for (slo, reason) in &report.stale {
                    tracing::warn!(slo = %slo, reason = %reason, "SLO data source failing; the SLO is stale");
                }
                for (slo, error) in &report.failed {
                    tracing::error!(slo = %slo, error = %error, "SLO could not be polled");
                }
                if report.slos > 0 {
                    tracing::info!(
                        slos = report.slos,
                        fresh = report.fresh,
                        stale = report.stale.len(),
                        failed = report.failed.len(),
                        samples = report.samples,
                        "Prometheus SLOs polled"
                    );
                }
            }
            Ok(None) => tracing::debug!("another process polls the SLOs"),
            Err(e) => tracing::error!(error = %format!("{e:#}"), "SLO poll failed"),
        }
        tokio::time::sleep(job(&state).every).await;
    }
}

/// Polls when this process claims the job; `None` when another process is polling or polled within the interval.
pub fn poll_once(state: &AppState) -> anyhow::Result<Option<PollReport>> {
    state.worker.periodic(&state.store, job(state), false, || {
        Ok(prometheus::poll_all(&state.store, &state.settings.poll_options(), chrono::Utc::now())?)
    })
}
