//! The SLI and the error budget of a window, per budgeting method, and hourly rollups of minute buckets.
//!
//! [`BudgetingMethod`] defines the methods, in particular how slices without data count. Slices are aligned
//! to the Unix epoch (so to whole hours, as a valid slice divides an hour). Only the part of a slice inside
//! the evaluated range counts: at the edge of a rolling window a slice is judged on the buckets of it that
//! the window holds.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::model::{Bucket, BudgetingMethod, Objective};
use super::window::offset;

/// The service level indicator over a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sli {
    /// Good events in the window (whatever the budgeting method).
    pub good: u64,
    /// All events in the window (whatever the budgeting method).
    pub total: u64,
    /// The method's SLI: good / total for `Occurrences`, good slices / slices with data for `Timeslices`,
    /// the mean slice ratio for `RatioTimeslices`; `None` without data.
    pub ratio: Option<f64>,
}

/// The error budget of a window, as fractions of the budget.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorBudget {
    /// The budget `B = 1 − T`, as a fraction of events (or of slices).
    pub total: f64,
    /// The share of the budget spent: 0 untouched, 1 spent, above 1 overspent; `None` without data.
    pub consumed: Option<f64>,
    /// `1 − consumed`, not clamped: negative when overspent; `None` without data.
    pub remaining: Option<f64>,
}

/// The minutes in an hourly rollup.
const ROLLUP_MINUTES: u32 = 60;

/// How to cut buckets into slices.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slicing {
    /// The slice length (see [`slice_minutes`]).
    pub(crate) slice: Duration,
    /// The ratio a slice needs to be good.
    pub(crate) target: f64,
}

impl Slicing {
    /// The slicing of a budgeting method, `None` for `Occurrences`. `RatioTimeslices` has no slice target;
    /// its good-slice count is not used.
    pub(crate) fn of(method: &BudgetingMethod) -> Option<Self> {
        match *method {
            BudgetingMethod::Occurrences => None,
            BudgetingMethod::Timeslices { slice, slice_target } => Some(Self { slice, target: slice_target }),
            BudgetingMethod::RatioTimeslices { slice } => Some(Self { slice, target: 1.0 }),
        }
    }
}

/// A slice length in whole minutes; anything shorter than a minute is read as one minute.
fn slice_minutes(slice: Duration) -> i64 {
    slice.num_minutes().max(1)
}

/// Sums of the buckets whose start lies in a half-open range.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tally {
    /// Good events.
    pub(crate) good: u64,
    /// All events.
    pub(crate) total: u64,
    /// Slices with data that reached the slice target (when slicing).
    pub(crate) good_slices: u64,
    /// Slices with data (when slicing).
    pub(crate) slices: u64,
    /// The sum of the ratios of the slices with data (when slicing).
    pub(crate) ratio_sum: f64,
}

impl Tally {
    /// Sums the buckets starting in `[from, to)`: events always, and slices when `slicing` is given. Minute
    /// buckets are grouped into slices here; rollups contribute their precomputed slice fields. The result
    /// does not depend on the order of `buckets`.
    pub(crate) fn of(buckets: &[Bucket], from: DateTime<Utc>, to: DateTime<Utc>, slicing: Option<Slicing>) -> Self {
        let mut tally = Self { good: 0, total: 0, good_slices: 0, slices: 0, ratio_sum: 0.0 };
        let mut minute_slices: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
        // Summed in sorted order so that the sum is the same for any order of the buckets.
        let mut ratios = Vec::new();
        for bucket in buckets.iter().filter(|bucket| from <= bucket.start && bucket.start < to) {
            let good = bucket.good.min(bucket.total);
            tally.good = tally.good.saturating_add(good);
            tally.total = tally.total.saturating_add(bucket.total);
            let Some(slicing) = slicing else { continue };
            if bucket.minutes == 1 {
                let index = bucket.start.timestamp().div_euclid(60).div_euclid(slice_minutes(slicing.slice));
                let slice = minute_slices.entry(index).or_default();
                *slice = (slice.0.saturating_add(good), slice.1.saturating_add(bucket.total));
            } else {
                tally.good_slices += u64::from(bucket.good_slices.min(bucket.slices));
                tally.slices += u64::from(bucket.slices);
                ratios.push(bucket.ratio_sum);
            }
        }
        if let Some(slicing) = slicing {
            for (good, total) in minute_slices.into_values().filter(|&(_, total)| total > 0) {
                let ratio = good as f64 / total as f64;
                tally.slices += 1;
                if ratio >= slicing.target {
                    tally.good_slices += 1;
                }
                ratios.push(ratio);
            }
        }
        ratios.sort_by(f64::total_cmp);
        tally.ratio_sum = ratios.into_iter().sum();
        tally
    }

    /// The error ratio of the events, `None` without events.
    pub(crate) fn error_ratio(&self) -> Option<f64> {
        (self.total > 0).then(|| (self.total - self.good) as f64 / self.total as f64)
    }
}

/// The SLI and error budget of the tally of a window of length `window` under `method`.
pub(crate) fn assess(
    objective: &Objective,
    method: &BudgetingMethod,
    tally: &Tally,
    window: Duration,
) -> (Sli, ErrorBudget) {
    let budget = objective.error_budget();
    // Without events there is no data whatever the method; the slice methods also need a slice with data.
    let measured = match *method {
        BudgetingMethod::Occurrences => {
            tally.error_ratio().map(|error_ratio| (tally.good as f64 / tally.total as f64, error_ratio / budget))
        }
        _ if tally.total == 0 || tally.slices == 0 => None,
        BudgetingMethod::Timeslices { slice, .. } => {
            let slices_in_window = window.num_milliseconds() as f64 / (slice_minutes(slice) as f64 * 60_000.0);
            let bad_slices = (tally.slices - tally.good_slices) as f64;
            Some((tally.good_slices as f64 / tally.slices as f64, bad_slices / (budget * slices_in_window)))
        }
        BudgetingMethod::RatioTimeslices { .. } => {
            let ratio = tally.ratio_sum / tally.slices as f64;
            Some((ratio, (1.0 - ratio) / budget))
        }
    };
    let (ratio, consumed) = measured.unzip();
    (
        Sli { good: tally.good, total: tally.total, ratio },
        ErrorBudget { total: budget, consumed, remaining: consumed.map(|consumed| 1.0 - consumed) },
    )
}

/// Rolls the one-minute buckets of the hour starting at `hour` up into one hourly bucket.
///
/// Only buckets starting in `[hour, hour + 1 h)` are read; `hour` should be a whole hour and `slice` a
/// whole number of minutes dividing an hour, so that the rollup holds whole slices. The rollup keeps the
/// event sums and, for the given slicing, the per-slice results: `slices` counts the slices with at least one
/// event, `good_slices` those whose ratio is at least `slice_target`, and `ratio_sum` adds up their ratios.
/// A slice without data (no bucket, or buckets without events) counts in none of the three, exactly as
/// when the minute buckets themselves are evaluated. For `Occurrences` the slice fields are unused, and
/// for `RatioTimeslices` so is `good_slices`.
pub fn rollup(hour: DateTime<Utc>, minute_buckets: &[Bucket], slice: Duration, slice_target: f64) -> Bucket {
    let end = offset(hour, Duration::minutes(i64::from(ROLLUP_MINUTES)));
    let tally = Tally::of(minute_buckets, hour, end, Some(Slicing { slice, target: slice_target }));
    Bucket {
        start: hour,
        minutes: ROLLUP_MINUTES,
        good: tally.good,
        total: tally.total,
        good_slices: u32::try_from(tally.good_slices).unwrap_or(u32::MAX),
        slices: u32::try_from(tally.slices).unwrap_or(u32::MAX),
        ratio_sum: tally.ratio_sum,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        text.parse().expect("RFC 3339 instant")
    }

    fn at_minute(hour: DateTime<Utc>, minute: i64, good: u64, total: u64) -> Bucket {
        Bucket::minute(hour + Duration::minutes(minute), good, total)
    }

    #[test]
    fn rollup_counts_only_slices_with_data() {
        let hour = t("2026-03-01T10:00:00Z");
        let buckets = vec![
            // Slice 0 (minutes 0–4): 9/10 good.
            at_minute(hour, 0, 4, 5),
            at_minute(hour, 3, 5, 5),
            // Slice 1 (minutes 5–9): a bucket without events only: no data.
            at_minute(hour, 6, 0, 0),
            // Slice 11 (minutes 55–59): 1/2 good.
            at_minute(hour, 59, 1, 2),
            // The next hour and the previous one are not part of this rollup.
            at_minute(hour, 60, 0, 100),
            at_minute(hour, -1, 0, 100),
        ];
        let rolled = rollup(hour, &buckets, Duration::minutes(5), 0.9);
        assert_eq!(
            rolled,
            Bucket { start: hour, minutes: 60, good: 10, total: 12, good_slices: 1, slices: 2, ratio_sum: 0.9 + 0.5 }
        );
        let empty = rollup(hour, &[], Duration::minutes(5), 0.9);
        assert_eq!((empty.total, empty.slices, empty.good_slices, empty.ratio_sum), (0, 0, 0, 0.0));
    }

    #[test]
    fn good_above_total_reads_as_total() {
        let hour = t("2026-03-01T10:00:00Z");
        let tally = Tally::of(&[at_minute(hour, 0, 7, 5)], hour, hour + Duration::hours(1), None);
        assert_eq!((tally.good, tally.total, tally.error_ratio()), (5, 5, Some(0.0)));
    }
}
