//! SLI data and the SLOs it belongs to, as stored: SLOs resolved from the ingested files ([`reconcile`]), samples
//! written by the push API and the Prometheus poller ([`record`]), packed into minute and hour blocks, and
//! evaluations read back from them ([`evaluate_stored`], [`evaluate_all`]).
//!
//! Minute blocks are kept for at least [`MINUTE_RETENTION`]; [`compact`] drops older ones, whose hours live on as
//! rollups (events, and the good and total slices of the SLO's slicing) in the hour blocks.

mod blocks;
pub mod history;
pub mod import;
pub mod overview;
pub mod prometheus;
mod push;
mod reconcile;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use store::sli::{self as sli_store, Block, HOURS, MINUTES};
use store::slos::{self, SloRow};
use store::{DbConnection, stats};

pub use blocks::{CorruptBlock, day_of, hour_of, minute_of};
use blocks::{HourRollup, MinuteCount};
pub use push::{PushedSample, SampleError, check_samples};
pub use reconcile::{Reconciled, reconcile};

use crate::slo::{
    Bucket, BudgetingMethod, Evaluation, Indicator, SloSpec, Status, Window, calendar_bounds, evaluate, rollup,
};

/// How long minute blocks are kept; older data is read from the hourly rollups.
pub const MINUTE_RETENTION: Duration = Duration::hours(24);

/// The longest burn-rate window an evaluation reads (the 3-day window of the ticket alert).
const LONGEST_BURN_WINDOW: Duration = Duration::days(3);

/// The events of one whole minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// The start of the minute.
    pub minute: DateTime<Utc>,
    pub good: u64,
    pub total: u64,
}

/// What an SLO's stored definition holds besides its columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDefinition {
    pub spec: SloSpec,
    pub indicator: Indicator,
}

/// An SLO as stored, with its definition read back.
#[derive(Debug, Clone)]
pub struct StoredSlo {
    pub row: SloRow,
    pub definition: StoredDefinition,
}

impl StoredSlo {
    pub fn from_row(row: SloRow) -> Result<StoredSlo, SliError> {
        let definition = serde_json::from_str(&row.definition)
            .map_err(|e| SliError::Definition { slo: row.name.clone(), reason: e.to_string() })?;
        Ok(StoredSlo { row, definition })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SliError {
    #[error(transparent)]
    Query(#[from] store::QueryError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Corrupt(#[from] CorruptBlock),
    #[error("the stored definition of SLO `{slo}` cannot be read: {reason}")]
    Definition { slo: String, reason: String },
    /// Samples refused, each with its index in what was given.
    #[error("{} samples were refused", .0.len())]
    Refused(Vec<SampleError>),
}

/// What [`record`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recorded {
    /// Minutes written (a minute given twice counts once; the last one wins).
    pub minutes: usize,
    /// Blocks written.
    pub blocks: usize,
}

/// The slicing the hourly rollups of an SLO keep: its slice length and slice target.
fn slicing(spec: &SloSpec) -> (Duration, f64) {
    match spec.method {
        BudgetingMethod::Occurrences => (Duration::minutes(1), 1.0),
        BudgetingMethod::Timeslices { slice, slice_target } => (slice, slice_target),
        BudgetingMethod::RatioTimeslices { slice } => (slice, 1.0),
    }
}

fn naive(at: DateTime<Utc>) -> chrono::NaiveDateTime {
    at.naive_utc()
}

fn utc(at: chrono::NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

/// Writes minute samples of one SLO: a minute written again replaces the earlier count, never adds to it. The hour
/// blocks are updated with the rollups of the touched hours, and the SLO's `data_until` moves forward.
///
/// A minute whose hour was rolled up and whose minutes were dropped cannot be replaced exactly: such samples are
/// refused (with their indexes) and nothing is written.
pub fn record(conn: &mut DbConnection, slo: &StoredSlo, samples: &[Sample]) -> Result<Recorded, SliError> {
    if samples.is_empty() {
        return Ok(Recorded::default());
    }
    let id = slo.row.id;
    // The last sample given for a minute wins.
    let mut by_hour: BTreeMap<DateTime<Utc>, BTreeMap<u8, (usize, Sample)>> = BTreeMap::new();
    for (index, sample) in samples.iter().enumerate() {
        let minute = minute_of(sample.minute);
        let of_hour = u8::try_from((minute - hour_of(minute)).num_minutes()).unwrap_or(0);
        by_hour.entry(hour_of(minute)).or_default().insert(of_hour, (index, Sample { minute, ..*sample }));
    }
    let (Some(first), Some(last)) = (by_hour.keys().next().copied(), by_hour.keys().next_back().copied()) else {
        return Ok(Recorded::default());
    };
    let stored = sli_store::blocks(conn, &[id], naive(day_of(first)), naive(last + Duration::hours(1)))?;
    let mut minute_blocks: HashMap<DateTime<Utc>, Vec<MinuteCount>> = HashMap::new();
    let mut hour_blocks: BTreeMap<DateTime<Utc>, Vec<HourRollup>> = BTreeMap::new();
    for block in stored {
        let start = utc(block.start);
        if block.resolution == MINUTES {
            minute_blocks.insert(start, blocks::decode_minutes(start, &block.data)?);
        } else if block.resolution == HOURS {
            hour_blocks.insert(start, blocks::decode_hours(start, &block.data)?);
        }
    }

    let rolled_up = |hour: DateTime<Utc>| {
        hour_blocks.get(&day_of(hour)).is_some_and(|rollups| {
            rollups.iter().any(|r| day_of(hour) + Duration::hours(i64::from(r.hour)) == hour && r.total > 0)
        })
    };
    let refused: Vec<SampleError> = by_hour
        .iter()
        .filter(|(hour, _)| !minute_blocks.contains_key(hour) && rolled_up(**hour))
        .flat_map(|(hour, minutes)| {
            minutes.values().map(move |(index, _)| SampleError {
                index: *index,
                message: format!(
                    "the hour starting {} is already rolled up (minutes are kept for {} hours); it cannot be rewritten",
                    hour.to_rfc3339(),
                    MINUTE_RETENTION.num_hours()
                ),
            })
        })
        .collect();
    if !refused.is_empty() {
        let mut refused = refused;
        refused.sort_by_key(|e| e.index);
        return Err(SliError::Refused(refused));
    }

    let (slice, slice_target) = slicing(&slo.definition.spec);
    let mut writes = Vec::new();
    let mut minutes_written = 0;
    for (hour, given) in &by_hour {
        let mut counts: BTreeMap<u8, MinuteCount> =
            minute_blocks.remove(hour).unwrap_or_default().into_iter().map(|m| (m.minute, m)).collect();
        for (minute, (_, sample)) in given {
            counts.insert(
                *minute,
                MinuteCount { minute: *minute, good: sample.good.min(sample.total), total: sample.total },
            );
            minutes_written += 1;
        }
        let counts: Vec<MinuteCount> = counts.into_values().collect();
        let buckets: Vec<Bucket> = blocks::minute_buckets(*hour, &counts).collect();
        let entry = blocks::rollup_entry(&rollup(*hour, &buckets, slice, slice_target));
        let day = hour_blocks.entry(day_of(*hour)).or_default();
        day.retain(|r| r.hour != entry.hour);
        day.push(entry);
        day.sort_by_key(|r| r.hour);
        writes.push(Block {
            slo_id: id,
            resolution: MINUTES.to_owned(),
            start: naive(*hour),
            data: blocks::encode_minutes(&counts),
        });
    }
    let touched_days: HashSet<DateTime<Utc>> = by_hour.keys().map(|hour| day_of(*hour)).collect();
    for (day, rollups) in &hour_blocks {
        if touched_days.contains(day) {
            writes.push(Block {
                slo_id: id,
                resolution: HOURS.to_owned(),
                start: naive(*day),
                data: blocks::encode_hours(rollups),
            });
        }
    }
    sli_store::put(conn, &writes)?;
    if let Some(newest) = by_hour.values().flat_map(|m| m.values()).map(|(_, s)| s.minute).max() {
        slos::mark_data(conn, id, naive(newest + Duration::minutes(1)))?;
    }
    Ok(Recorded { minutes: minutes_written, blocks: writes.len() })
}

/// The SLI data of the given SLOs in blocks starting from `from`'s day up to `to`, as buckets that do not
/// overlap: minutes where the minute block is kept, hourly rollups elsewhere.
pub fn load_buckets(
    conn: &mut DbConnection,
    ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<HashMap<i64, Vec<Bucket>>, SliError> {
    let stored = sli_store::blocks(conn, ids, naive(day_of(from)), naive(to))?;
    let mut by_slo: HashMap<i64, Vec<Block>> = HashMap::new();
    for block in stored {
        by_slo.entry(block.slo_id).or_default().push(block);
    }
    by_slo.into_iter().map(|(id, blocks)| Ok((id, buckets_of(&blocks)?))).collect()
}

fn buckets_of(stored: &[Block]) -> Result<Vec<Bucket>, CorruptBlock> {
    let minute_blocks = stored.iter().filter(|b| b.resolution == MINUTES).count();
    let mut buckets = Vec::with_capacity(minute_blocks * 60 + (stored.len() - minute_blocks) * 24);
    // Sorted, for a binary search per rollup (a hashed set cost more than the decoding).
    let mut minute_hours = Vec::with_capacity(minute_blocks);
    for block in stored.iter().filter(|b| b.resolution == MINUTES) {
        let hour = utc(block.start);
        minute_hours.push(hour);
        buckets.extend(blocks::minute_buckets(hour, &blocks::decode_minutes(hour, &block.data)?));
    }
    minute_hours.sort_unstable();
    for block in stored.iter().filter(|b| b.resolution == HOURS) {
        let day = utc(block.start);
        for rollup in blocks::decode_hours(day, &block.data)? {
            let bucket = blocks::hour_bucket(day, &rollup);
            // Minutes are kept for the last day only: most rollups are older than the first minute block.
            let has_minutes = minute_hours.first().is_some_and(|first| *first <= bucket.start)
                && minute_hours.binary_search(&bucket.start).is_ok();
            if !has_minutes {
                buckets.push(bucket);
            }
        }
    }
    Ok(buckets)
}

/// The earliest instant an evaluation of `spec` at `at` reads.
fn reads_from(spec: &SloSpec, at: DateTime<Utc>) -> DateTime<Utc> {
    let window_start = match spec.window {
        Window::Rolling(length) => at - length,
        Window::Calendar { .. } => calendar_bounds(&spec.window, at).0,
    };
    window_start.min(at - LONGEST_BURN_WINDOW)
}

/// An SLO evaluated, with the state of its data.
#[derive(Debug, Clone)]
pub struct SloState {
    pub slo: StoredSlo,
    pub evaluation: Evaluation,
    pub buckets: Vec<Bucket>,
}

/// Evaluates one stored SLO at `at`. An SLO whose source is failing is `stale` whatever its numbers say.
pub fn evaluate_stored(conn: &mut DbConnection, slo: StoredSlo, at: DateTime<Utc>) -> Result<SloState, SliError> {
    let mut buckets = load_buckets(conn, &[slo.row.id], reads_from(&slo.definition.spec, at), at)?;
    let buckets = buckets.remove(&slo.row.id).unwrap_or_default();
    let evaluation = mark_stale(&slo, evaluate(&slo.definition.spec, &buckets, at));
    Ok(SloState { slo, evaluation, buckets })
}

fn mark_stale(slo: &StoredSlo, mut evaluation: Evaluation) -> Evaluation {
    if slo.row.stale_since.is_some() {
        evaluation.status = Status::Stale;
    }
    evaluation
}

/// How many SLOs [`evaluate_all`] reads the blocks of in one query.
const EVALUATION_CHUNK: usize = 500;

/// Evaluates every SLO at `at`, reading their data in a few large queries; the results are in the order of the
/// SLOs (namespace, name).
///
/// The SLOs are taken [`EVALUATION_CHUNK`] at a time: their blocks are read in one query, and each SLO's blocks are
/// decoded, evaluated and dropped in turn, so memory stays bounded (the buckets of 10,000 SLOs over 30 days would
/// take over a gigabyte) and the buckets are evaluated while they are in the cache. Reading and evaluating overlap:
/// a second thread evaluates one chunk while this one reads the next (the connection stays on this thread).
pub fn evaluate_all(conn: &mut DbConnection, at: DateTime<Utc>) -> Result<Vec<(StoredSlo, Evaluation)>, SliError> {
    let stored: Vec<StoredSlo> = slos::all(conn)?.into_iter().map(StoredSlo::from_row).collect::<Result<_, _>>()?;
    let count = stored.len();
    let mut stored = stored.into_iter();
    std::thread::scope(|scope| {
        let (chunks, to_evaluate) = std::sync::mpsc::sync_channel::<(Vec<StoredSlo>, HashMap<i64, Vec<Block>>)>(1);
        let evaluator = scope.spawn(move || -> Result<Vec<(StoredSlo, Evaluation)>, SliError> {
            let mut evaluated = Vec::with_capacity(count);
            for (chunk, mut by_slo) in to_evaluate {
                for slo in chunk {
                    let data = buckets_of(&by_slo.remove(&slo.row.id).unwrap_or_default())?;
                    let evaluation = mark_stale(&slo, evaluate(&slo.definition.spec, &data, at));
                    evaluated.push((slo, evaluation));
                }
            }
            Ok(evaluated)
        });
        let read = (|| -> Result<(), SliError> {
            loop {
                let chunk: Vec<StoredSlo> = stored.by_ref().take(EVALUATION_CHUNK).collect();
                let Some(from) = chunk.iter().map(|slo| reads_from(&slo.definition.spec, at)).min() else {
                    return Ok(());
                };
                let ids: Vec<i64> = chunk.iter().map(|slo| slo.row.id).collect();
                let mut by_slo: HashMap<i64, Vec<Block>> = HashMap::with_capacity(ids.len());
                for block in sli_store::blocks(conn, &ids, naive(day_of(from)), naive(at))? {
                    by_slo.entry(block.slo_id).or_default().push(block);
                }
                // The evaluator only hangs up on an error, which it returns below.
                if chunks.send((chunk, by_slo)).is_err() {
                    return Ok(());
                }
            }
        })();
        drop(chunks);
        let evaluated = evaluator.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        read?;
        evaluated
    })
}

/// Evaluates every SLO at `at` and stores each one's status (for the catalog's SLO-status facet); returns how
/// many were evaluated.
pub fn refresh_statuses(conn: &mut DbConnection, at: DateTime<Utc>) -> Result<usize, SliError> {
    let evaluated = evaluate_all(conn, at)?;
    let statuses: Vec<(i64, &str)> =
        evaluated.iter().map(|(slo, evaluation)| (slo.row.id, status_name(evaluation.status))).collect();
    let changed: Vec<(i64, &str)> = statuses
        .into_iter()
        .zip(&evaluated)
        .filter(|((_, status), (slo, _))| slo.row.status.as_deref() != Some(*status))
        .map(|(status, _)| status)
        .collect();
    slos::set_statuses(conn, &changed, naive(at))?;
    stats::set(
        conn,
        stats::SLO_STATUSES,
        stats::fingerprint(
            evaluated.iter().map(|(slo, e)| (&slo.row.namespace, &slo.row.service, status_name(e.status))),
        ),
    )?;
    Ok(evaluated.len())
}

/// The name of a status as the API and the database write it.
pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Healthy => "healthy",
        Status::AtRisk => "at_risk",
        Status::Exhausted => "exhausted",
        Status::NoData => "no_data",
        Status::Stale => "stale",
    }
}

/// Drops minute blocks older than [`MINUTE_RETENTION`] before `now`; returns how many.
pub fn compact(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, SliError> {
    Ok(sli_store::drop_minutes_before(conn, naive(hour_of(now - MINUTE_RETENTION)))?)
}

#[cfg(test)]
mod tests;
