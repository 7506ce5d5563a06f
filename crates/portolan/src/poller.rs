//! The SLO poll loop: every `prometheus_poll_interval_secs`, reads the SLI data of the SLOs whose source is
//! Prometheus (see `scorecard::sli::prometheus`). A lease in the database makes one process at a time poll when
//! several share one PostgreSQL.

use std::time::Duration;

use actix_web::web;
use scorecard::sli::prometheus::{self, PollReport};
use store::leases;

use crate::AppState;

pub const LEASE: &str = "slo-poll";
const LEASE_TTL: Duration = Duration::from_secs(600);

/// Who this process is, for the lease.
fn holder() -> String {
    format!("{}-{}", std::process::id(), rand::random::<u32>())
}

fn interval(state: &AppState) -> Duration {
    Duration::from_secs(state.settings.prometheus_poll_interval_secs.max(1))
}

pub async fn run(state: web::Data<AppState>) {
    let me = holder();
    loop {
        let (state2, me2) = (state.clone(), me.clone());
        match web::block(move || poll_once(&state2, &me2)).await {
            Ok(Ok(Some(report))) => {
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
            Ok(Ok(None)) => tracing::debug!("another process holds the SLO poll lease"),
            Ok(Err(e)) => tracing::error!(error = %e, "SLO poll failed"),
            Err(e) => tracing::error!(error = %e, "SLO poll could not run"),
        }
        tokio::time::sleep(interval(&state)).await;
    }
}

/// Polls when this process can take the lease; `None` when another process is polling or polled within the
/// interval.
pub fn poll_once(state: &AppState, me: &str) -> anyhow::Result<Option<PollReport>> {
    let now = store::now();
    let until = now + chrono::Duration::from_std(LEASE_TTL)?;
    {
        let mut conn = state.store.conn()?;
        if !leases::try_acquire(&mut conn, LEASE, me, now, until, false)? {
            return Ok(None);
        }
    }
    let result = prometheus::poll_all(&state.store, &state.settings.poll_options(), chrono::Utc::now());
    // Others skip until the next poll is due; a little slack lets this process's own timer win the next round.
    let idle_until = store::now() + chrono::Duration::from_std(interval(state).mul_f64(0.9))?;
    let mut conn = state.store.conn()?;
    match &result {
        Ok(_) => leases::finish(&mut conn, LEASE, me, idle_until)?,
        Err(_) => leases::release(&mut conn, LEASE, me)?,
    }
    Ok(Some(result?))
}
