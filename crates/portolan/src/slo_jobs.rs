//! SLO upkeep: after every ingest the SLO files are reconciled into the `slos` table; every minute, in one process
//! at a time (the job [`JOB`]), old minute blocks are compacted into the hourly rollups and every SLO's status is
//! refreshed for the catalog's SLO-status facet.

use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, Utc};
use scorecard::sli::{self, Reconciled};
use store::Store;

use crate::AppState;
use crate::jobs::{Periodic, Worker};

pub const JOB: Periodic = Periodic { name: "slo-maintenance", every: Duration::from_secs(60) };

/// Brings the SLOs in line with what was just ingested, and their statuses with the SLOs.
pub fn after_ingest(store: &Store, now: DateTime<Utc>) -> anyhow::Result<Reconciled> {
    let reconciled = store.transaction::<_, sli::SliError>(sli::reconcile)?;
    sli::refresh_statuses(&mut *store.conn()?, now)?;
    Ok(reconciled)
}

/// Compacts and refreshes statuses when this process claims the job; `false` when another process did it within
/// the interval.
pub fn maintain_once(store: &Store, worker: &Worker, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let done = worker.periodic(store, JOB, false, || {
        let mut conn = store.conn()?;
        sli::compact(&mut conn, now)?;
        sli::refresh_statuses(&mut conn, now)?;
        Ok(())
    })?;
    Ok(done.is_some())
}

pub async fn run(state: web::Data<AppState>) {
    loop {
        tokio::time::sleep(JOB.every).await;
        let state2 = state.clone();
        match state.worker.off_thread(move || maintain_once(&state2.store, &state2.worker, Utc::now())).await {
            Ok(true) => tracing::debug!("SLO statuses refreshed"),
            Ok(false) => tracing::debug!("another process does the SLO upkeep"),
            Err(e) => tracing::error!(error = %format!("{e:#}"), "SLO maintenance failed"),
        }
    }
}
