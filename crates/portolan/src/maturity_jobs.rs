//! Scorecard upkeep: every scorecard is evaluated over the catalog after each refresh that changed something and
//! every five minutes (SLO budgets move while the catalog stands still), and the day's snapshot is taken once a day
//! from `scorecard_snapshot_hour_utc` (and on demand). One process at a time does each: they are the jobs
//! [`EVALUATION`] and [`SNAPSHOT`].

use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, Timelike, Utc};
use scorecard::maturity::jobs::{self, Report, SnapshotReport};
use store::Store;

use crate::AppState;
use crate::jobs::{Periodic, Worker};

/// Evaluated every five minutes when the catalog does not change.
pub const EVALUATION: Periodic = Periodic { name: "scorecard-evaluation", every: Duration::from_secs(300) };
/// Always taken when asked for (and due only when a day's snapshot is missing, which is checked first).
pub const SNAPSHOT: Periodic = Periodic { name: "scorecard-snapshot", every: Duration::ZERO };
/// How long work that must happen (after a refresh, on demand) waits for the same work under way elsewhere.
const WAIT_FOR_JOB: Duration = Duration::from_secs(60);
const WAIT_STEP: Duration = Duration::from_secs(2);

/// Runs `attempt` until it claims its job; with `wait`, retries while another process holds it, for up to
/// [`WAIT_FOR_JOB`]. `None` when the job was not claimed.
fn claimed<T>(wait: bool, mut attempt: impl FnMut() -> anyhow::Result<Option<T>>) -> anyhow::Result<Option<T>> {
    let mut waited = Duration::ZERO;
    loop {
        if let Some(done) = attempt()? {
            return Ok(Some(done));
        }
        if !wait || waited >= WAIT_FOR_JOB {
            return Ok(None);
        }
        std::thread::sleep(WAIT_STEP);
        waited += WAIT_STEP;
    }
}

/// Evaluates every scorecard when this process claims the job; `None` when another process holds it. With `must`,
/// the work happens even if another process evaluated a moment ago (after a refresh, on demand: the catalog changed
/// since), waiting for an evaluation under way elsewhere.
pub fn evaluate_once(store: &Store, worker: &Worker, now: DateTime<Utc>, must: bool) -> anyhow::Result<Option<Report>> {
    claimed(must, || worker.periodic(store, EVALUATION, must, || Ok(jobs::evaluate_and_store(store, now)?)))
}

/// Takes the day's snapshot of the scorecards that lack one, once `now` is past the configured hour; `None` when
/// nothing was due or another process is taking it.
pub fn snapshot_if_due(
    store: &Store,
    snapshot_hour_utc: u32,
    worker: &Worker,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<SnapshotReport>> {
    if now.hour() < snapshot_hour_utc.min(23) {
        return Ok(None);
    }
    let today = now.naive_utc();
    if jobs::snapshots_missing(&mut *store.conn()?, today)?.is_empty() {
        return Ok(None);
    }
    // Under the claim: another process may have taken it in between.
    worker.periodic(store, SNAPSHOT, true, || {
        let missing = jobs::snapshots_missing(&mut *store.conn()?, today)?;
        Ok(jobs::snapshot(store, today, Some(&missing))?)
    })
}

/// Evaluates now and takes today's snapshot of every scorecard again (what `POST /api/v1/scorecards/snapshot`
/// asks for); `None` when another process held a job for longer than [`WAIT_FOR_JOB`].
pub fn snapshot_now(store: &Store, worker: &Worker, now: DateTime<Utc>) -> anyhow::Result<Option<SnapshotReport>> {
    if let Some(report) = evaluate_once(store, worker, now, true)? {
        log_evaluation(&report);
    }
    claimed(true, || worker.periodic(store, SNAPSHOT, true, || Ok(jobs::snapshot(store, now.naive_utc(), None)?)))
}

/// After a refresh that changed the catalog (and after its SLOs were reconciled): evaluates every scorecard, then
/// takes the day's snapshot if it is due. Failures are logged: the refresh itself went well.
pub fn after_refresh(state: &AppState) {
    match evaluate_once(&state.store, &state.worker, Utc::now(), true) {
        Ok(Some(report)) => log_evaluation(&report),
        Ok(None) => {
            tracing::warn!("another process held the scorecard evaluation; the next evaluation catches up")
        }
        Err(e) => tracing::error!(error = %e, "scorecards could not be evaluated"),
    }
    log_snapshot(snapshot_if_due(&state.store, state.settings.scorecard_snapshot_hour_utc, &state.worker, Utc::now()));
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

/// Every five minutes: evaluates the scorecards (unless another process just did) and takes the day's snapshot
/// when it is due.
pub async fn run(state: web::Data<AppState>) {
    // The boards are built at start, so that the first page after a restart does not pay for reading every result.
    let warming = state.clone();
    if let Err(e) = state
        .worker
        .off_thread(move || {
            warming.scoreboard.warm(&warming.store);
            Ok(())
        })
        .await
    {
        tracing::warn!(error = %e, "the scorecard boards could not be built at start");
    }
    loop {
        tokio::time::sleep(EVALUATION.every).await;
        let state2 = state.clone();
        match state.worker.off_thread(move || evaluate_once(&state2.store, &state2.worker, Utc::now(), false)).await {
            Ok(Some(report)) => log_evaluation(&report),
            Ok(None) => tracing::debug!("another process evaluates the scorecards"),
            Err(e) => tracing::error!(error = %format!("{e:#}"), "scorecards could not be evaluated"),
        }
        let state2 = state.clone();
        let hour = state.settings.scorecard_snapshot_hour_utc;
        let snapshot = state
            .worker
            .off_thread(move || {
                let result = snapshot_if_due(&state2.store, hour, &state2.worker, Utc::now());
                state2.scoreboard.warm(&state2.store);
                result
            })
            .await;
        log_snapshot(snapshot);
    }
}
