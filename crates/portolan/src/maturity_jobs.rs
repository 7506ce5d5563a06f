//! Scorecard upkeep: every scorecard is evaluated over the catalog after each refresh that changed something and
//! every five minutes (SLO budgets move while the catalog stands still), and the day's snapshot is taken once a day
//! from `scorecard_snapshot_hour_utc` (and on demand). One process at a time does each, under the leases
//! [`EVALUATION_LEASE`] and [`SNAPSHOT_LEASE`].

use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, Timelike, Utc};
use scorecard::maturity::jobs::{self, Report, SnapshotReport};
use store::{Store, leases};

use crate::AppState;

pub const EVALUATION_LEASE: &str = "scorecard-evaluation";
pub const SNAPSHOT_LEASE: &str = "scorecard-snapshot";
/// How often the scorecards are evaluated when the catalog does not change.
const INTERVAL: Duration = Duration::from_secs(300);
const LEASE_TTL: Duration = Duration::from_secs(600);
/// How long work that must happen (after a refresh, on demand) waits for the same work under way elsewhere.
const WAIT_FOR_LEASE: Duration = Duration::from_secs(60);
const WAIT_STEP: Duration = Duration::from_secs(2);

/// Takes a lease: at once when free, expired or (with `take_idle`) idle; with `wait`, also after the holder is done
/// with work under way, for up to [`WAIT_FOR_LEASE`]. `false` when it was not taken.
fn acquire(store: &Store, name: &str, me: &str, take_idle: bool, wait: bool) -> anyhow::Result<bool> {
    let mut waited = Duration::ZERO;
    loop {
        let now = store::now();
        let until = now + chrono::Duration::from_std(LEASE_TTL)?;
        if leases::try_acquire(&mut *store.conn()?, name, me, now, until, take_idle)? {
            return Ok(true);
        }
        if !wait || waited >= WAIT_FOR_LEASE {
            return Ok(false);
        }
        std::thread::sleep(WAIT_STEP);
        waited += WAIT_STEP;
    }
}

/// Evaluates every scorecard when this process takes the lease; `None` when another process holds it. With
/// `must`, the work happens even if another process evaluated a moment ago (after a refresh, on demand: the
/// catalog changed since), waiting for an evaluation under way elsewhere.
pub fn evaluate_once(store: &Store, me: &str, now: DateTime<Utc>, must: bool) -> anyhow::Result<Option<Report>> {
    if !acquire(store, EVALUATION_LEASE, me, must, must)? {
        return Ok(None);
    }
    let result = jobs::evaluate_and_store(store, now);
    let mut conn = store.conn()?;
    match &result {
        Ok(_) => {
            // Others skip until the next evaluation is due; a little slack lets this process's own timer win.
            let idle_until = store::now() + chrono::Duration::from_std(INTERVAL.mul_f64(0.9))?;
            leases::finish(&mut conn, EVALUATION_LEASE, me, idle_until)?;
        }
        Err(_) => leases::release(&mut conn, EVALUATION_LEASE, me)?,
    }
    Ok(Some(result?))
}

/// Takes the day's snapshot of the scorecards that lack one, once `now` is past the configured hour; `None` when
/// nothing was due or another process is taking it.
pub fn snapshot_if_due(
    store: &Store,
    snapshot_hour_utc: u32,
    me: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<SnapshotReport>> {
    if now.hour() < snapshot_hour_utc.min(23) {
        return Ok(None);
    }
    let today = now.naive_utc();
    if jobs::snapshots_missing(&mut *store.conn()?, today)?.is_empty() {
        return Ok(None);
    }
    if !acquire(store, SNAPSHOT_LEASE, me, true, false)? {
        return Ok(None);
    }
    // Under the lease: another process may have taken it in between.
    let result = jobs::snapshots_missing(&mut *store.conn()?, today)
        .and_then(|missing| jobs::snapshot(store, today, Some(&missing)));
    leases::release(&mut *store.conn()?, SNAPSHOT_LEASE, me)?;
    Ok(Some(result?))
}

/// Evaluates now and takes today's snapshot of every scorecard again (what `POST /api/v1/scorecards/snapshot`
/// asks for); `None` when another process held a lease for longer than [`WAIT_FOR_LEASE`].
pub fn snapshot_now(store: &Store, me: &str, now: DateTime<Utc>) -> anyhow::Result<Option<SnapshotReport>> {
    if let Some(report) = evaluate_once(store, me, now, true)? {
        log_evaluation(&report);
    }
    if !acquire(store, SNAPSHOT_LEASE, me, true, true)? {
        return Ok(None);
    }
    let result = jobs::snapshot(store, now.naive_utc(), None);
    leases::release(&mut *store.conn()?, SNAPSHOT_LEASE, me)?;
    Ok(Some(result?))
}

/// After a refresh that changed the catalog (and after its SLOs were reconciled): evaluates every scorecard, then
/// takes the day's snapshot if it is due. Failures are logged: the refresh itself went well.
pub fn after_refresh(state: &AppState, me: &str) {
    match evaluate_once(&state.store, me, Utc::now(), true) {
        Ok(Some(report)) => log_evaluation(&report),
        Ok(None) => {
            tracing::warn!("another process held the scorecard evaluation lease; the next evaluation catches up")
        }
        Err(e) => tracing::error!(error = %e, "scorecards could not be evaluated"),
    }
    log_snapshot(snapshot_if_due(&state.store, state.settings.scorecard_snapshot_hour_utc, me, Utc::now()));
    // The boards are built now, so that no page request pays for reading every result.
    state.scoreboard.warm(&state.store);
}

fn log_evaluation(report: &Report) {
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if let Some(error) = &report.slo_error {
        tracing::warn!(error = %error, "SLOs could not be evaluated: the scorecards' SLO checks are unknown");
    }
    if report.kept > 0 {
        tracing::warn!(kept = report.kept, "scorecard files with errors: their last good definitions are evaluated");
    }
    tracing::info!(
        scorecards = report.scorecards,
        entities = report.entities,
        results = report.results,
        level_changes = report.level_changes,
        ms = ms(report.elapsed.total),
        slos_ms = ms(report.elapsed.slos),
        facts_ms = ms(report.elapsed.facts),
        evaluation_ms = ms(report.elapsed.evaluation),
        storing_ms = ms(report.elapsed.storing),
        "scorecards evaluated"
    );
}

fn log_snapshot(result: anyhow::Result<Option<SnapshotReport>>) {
    match result {
        Ok(Some(snapshot)) => tracing::info!(
            day = %snapshot.day.date(),
            scorecards = snapshot.scorecards,
            rows = snapshot.rows,
            "scorecard snapshot taken"
        ),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "the scorecard snapshot could not be taken"),
    }
}

/// Every [`INTERVAL`]: evaluates the scorecards (unless another process just did) and takes the day's snapshot
/// when it is due.
pub async fn run(state: web::Data<AppState>, me: String) {
    // The boards are built at start, so that the first page after a restart does not pay for reading every result.
    let warming = state.clone();
    if let Err(e) = web::block(move || warming.scoreboard.warm(&warming.store)).await {
        tracing::warn!(error = %e, "the scorecard boards could not be built at start");
    }
    loop {
        tokio::time::sleep(INTERVAL).await;
        let (store, me2) = (state.store.clone(), me.clone());
        match web::block(move || evaluate_once(&store, &me2, Utc::now(), false)).await {
            Ok(Ok(Some(report))) => log_evaluation(&report),
            Ok(Ok(None)) => tracing::debug!("another process holds the scorecard evaluation lease"),
            Ok(Err(e)) => tracing::error!(error = %e, "scorecards could not be evaluated"),
            Err(e) => tracing::error!(error = %e, "the scorecard evaluation could not run"),
        }
        let (state2, me2) = (state.clone(), me.clone());
        let hour = state.settings.scorecard_snapshot_hour_utc;
        match web::block(move || {
            let result = snapshot_if_due(&state2.store, hour, &me2, Utc::now());
            state2.scoreboard.warm(&state2.store);
            result
        })
        .await
        {
            Ok(result) => log_snapshot(result),
            Err(e) => tracing::error!(error = %e, "the scorecard snapshot could not run"),
        }
    }
}
