//! SLO upkeep: after every ingest the SLO files are reconciled into the `slos` table; every minute, in one process
//! at a time (a lease), old minute blocks are compacted into the hourly rollups and every SLO's status is refreshed
//! for the catalog's SLO-status facet.

use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, Utc};
use scorecard::sli::{self, Reconciled};
use store::{Store, leases};

use crate::AppState;

pub const LEASE: &str = "slo-maintenance";
const INTERVAL: Duration = Duration::from_secs(60);
const LEASE_TTL: Duration = Duration::from_secs(300);

/// Brings the SLOs in line with what was just ingested, and their statuses with the SLOs.
pub fn after_ingest(store: &Store, now: DateTime<Utc>) -> anyhow::Result<Reconciled> {
    let reconciled = store.transaction::<_, sli::SliError>(sli::reconcile)?;
    sli::refresh_statuses(&mut *store.conn()?, now)?;
    Ok(reconciled)
}

/// Compacts and refreshes statuses when this process takes the lease; `false` when another process did it within
/// the interval.
pub fn maintain_once(store: &Store, me: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let mut conn = store.conn()?;
    let stored_now = now.naive_utc();
    if !leases::try_acquire(
        &mut conn,
        LEASE,
        me,
        stored_now,
        stored_now + chrono::Duration::from_std(LEASE_TTL)?,
        false,
    )? {
        return Ok(false);
    }
    let result = sli::compact(&mut conn, now).and_then(|_| sli::refresh_statuses(&mut conn, now));
    match result {
        Ok(_) => {
            let idle_until = store::now() + chrono::Duration::from_std(INTERVAL.mul_f64(0.9))?;
            leases::finish(&mut conn, LEASE, me, idle_until)?;
            Ok(true)
        }
        Err(e) => {
            leases::release(&mut conn, LEASE, me)?;
            Err(e.into())
        }
    }
}

pub async fn run(state: web::Data<AppState>, me: String) {
    loop {
        tokio::time::sleep(INTERVAL).await;
        let (store, me) = (state.store.clone(), me.clone());
        match web::block(move || maintain_once(&store, &me, Utc::now())).await {
            Ok(Ok(true)) => tracing::debug!("SLO statuses refreshed"),
            Ok(Ok(false)) => tracing::debug!("another process holds the SLO maintenance lease"),
            Ok(Err(e)) => tracing::error!(error = %e, "SLO maintenance failed"),
            Err(e) => tracing::error!(error = %e, "SLO maintenance could not run"),
        }
    }
}
