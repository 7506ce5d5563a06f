//! The error-budget burn-down of a window: how much of the window's budget was left at each instant from the
//! window's start to the evaluation instant, for a chart.
//!
//! The budget spent up to an instant `t` is counted with the SLO's budgeting method over `[from, t)`, but always
//! against the budget of the whole evaluation `[from, at)`, so the line starts at 1 (all of it left) and ends at
//! exactly the `remaining` of [`evaluate`](super::evaluate) at `at`:
//!
//! * `Occurrences`: bad events in `[from, t)` / (`B` × all events in `[from, at)`);
//! * `Timeslices`: bad slices in `[from, t)` / (`B` × the slices of the window, as for the evaluation);
//! * `RatioTimeslices`: Σ (1 − slice ratio) over the slices in `[from, t)` / (`B` × slices with data in
//!   `[from, at)`).
//!
//! For the slice methods each intermediate instant is moved back to the start of its slice, so a slice is counted
//! once it is whole (as the evaluation judges it) and never judged on part of its data: the line never goes back up.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::budget::{Slicing, Tally, assess};
use super::model::{Bucket, BudgetingMethod, SloSpec};
use super::window::{calendar_bounds, offset};

/// How many points [`burn_down`] is usually asked for: one every 7.5 hours of a 30-day window.
pub const BURN_DOWN_POINTS: usize = 96;

/// The budget left at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BurnDownPoint {
    /// The instant: the budget spent is counted over `[window start, at)`.
    pub at: DateTime<Utc>,
    /// The fraction of the evaluation's budget left at `at`: 1 untouched, negative when overspent.
    pub remaining: f64,
}

/// The burn-down of `slo`'s window at `at` in about `points` instants (at least 2) from the window's start to `at`,
/// oldest first, over `buckets` (in any order).
///
/// The first point is the window's start with the whole budget left, the last is `at` with the `remaining` of
/// [`evaluate`](super::evaluate) at `at` (bit for bit), and `remaining` never increases in between. Instants that
/// fall in the same slice are given once, so there may be fewer points. Without data in the window there are no
/// points: a chart must not show a full budget that nothing measured.
pub fn burn_down(slo: &SloSpec, buckets: &[Bucket], at: DateTime<Utc>, points: usize) -> Vec<BurnDownPoint> {
    let (from, to) = calendar_bounds(&slo.window, at);
    let end = to.min(at);
    let slicing = Slicing::of(&slo.method);
    let whole = Tally::of(buckets, from, end, slicing);
    let (_, budget) = assess(&slo.objective, &slo.method, &whole, to - from);
    let Some(final_remaining) = budget.remaining else {
        return Vec::new();
    };
    if end <= from {
        return Vec::new();
    }
    let error_budget = slo.objective.error_budget();
    // The share of the evaluation's budget that `[from, t)` spends.
    let consumed_until = |t: DateTime<Utc>| -> f64 {
        let tally = Tally::of(buckets, from, t, slicing);
        match slo.method {
            BudgetingMethod::Occurrences => (tally.total - tally.good) as f64 / whole.total as f64 / error_budget,
            // Its budget is the window's slices whatever the data: the evaluation's own formula, over `[from, t)`.
            BudgetingMethod::Timeslices { .. } => {
                assess(&slo.objective, &slo.method, &tally, to - from).1.consumed.unwrap_or(0.0)
            }
            BudgetingMethod::RatioTimeslices { .. } => {
                (tally.slices as f64 - tally.ratio_sum) / whole.slices as f64 / error_budget
            }
        }
    };

    let count = points.max(2);
    let span = (end - from).num_milliseconds();
    let mut instants: Vec<DateTime<Utc>> = (0..count)
        .map(|i| {
            if i + 1 == count {
                return end;
            }
            // i / (count − 1) of the way, in whole milliseconds (no overflow: the span of a window is far below
            // i64::MAX / 100 ms).
            let step = span.saturating_mul(i as i64) / (count as i64 - 1);
            let t = offset(from, Duration::milliseconds(step));
            match slicing {
                Some(slicing) => slice_start(t, slicing.slice).max(from),
                None => t,
            }
        })
        .collect();
    instants.dedup();

    let mut line: Vec<BurnDownPoint> = instants
        .into_iter()
        .map(|t| {
            let remaining = if t == from {
                1.0
            } else if t == end {
                final_remaining
            } else {
                1.0 - consumed_until(t)
            };
            BurnDownPoint { at: t, remaining }
        })
        .collect();
    // The counts only grow with `t`; rounding alone could make an earlier point a hair lower than a later one.
    let mut floor = f64::NEG_INFINITY;
    for point in line.iter_mut().rev() {
        point.remaining = point.remaining.max(floor);
        floor = point.remaining;
    }
    line
}

/// The start of the slice (aligned to the Unix epoch) holding `t`.
fn slice_start(t: DateTime<Utc>, slice: Duration) -> DateTime<Utc> {
    let slice_ms = slice.num_milliseconds().max(60_000);
    let ms = t.timestamp_millis();
    DateTime::from_timestamp_millis(ms - ms.rem_euclid(slice_ms)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::slo::{AlertPolicy, CalendarLength, Objective, Window, evaluate, rollup};

    const FIVE_MINUTES: Duration = Duration::minutes(5);

    fn t(text: &str) -> DateTime<Utc> {
        text.parse().expect("RFC 3339 instant")
    }

    fn at() -> DateTime<Utc> {
        t("2026-03-04T12:00:00Z")
    }

    fn spec(target: f64, window: Window, method: BudgetingMethod) -> SloSpec {
        SloSpec {
            objective: Objective::new(target).expect("valid target"),
            window,
            method,
            alerting: AlertPolicy::defaults_for(Duration::days(1)),
        }
    }

    fn day(method: BudgetingMethod) -> SloSpec {
        spec(0.75, Window::Rolling(Duration::days(1)), method)
    }

    fn minute(ago_minutes: i64, good: u64, total: u64) -> Bucket {
        Bucket::minute(at() - Duration::minutes(ago_minutes), good, total)
    }

    fn remaining_at(line: &[BurnDownPoint], instant: DateTime<Utc>) -> f64 {
        line.iter().find(|point| point.at == instant).map(|point| point.remaining).expect("a point at that instant")
    }

    fn assert_ends_at_the_evaluation(slo: &SloSpec, buckets: &[Bucket], at: DateTime<Utc>, line: &[BurnDownPoint]) {
        let evaluation = evaluate(slo, buckets, at);
        let last = line.last().expect("points");
        assert_eq!(last.at, at.min(calendar_bounds(&slo.window, at).1));
        assert_eq!(Some(last.remaining), evaluation.error_budget.remaining);
    }

    #[test]
    fn occurrences_spend_the_budget_of_all_the_events_as_the_bad_ones_arrive() {
        let slo = day(BudgetingMethod::Occurrences);
        // 200 events: 25 bad 12 h ago, 25 bad 2 h ago. B = 0.25, so the budget is 50 bad events: all spent.
        let buckets = [minute(12 * 60, 75, 100), minute(2 * 60, 75, 100)];
        let line = burn_down(&slo, &buckets, at(), 25);
        assert_eq!(line.len(), 25);
        assert_eq!(line[0], BurnDownPoint { at: at() - Duration::days(1), remaining: 1.0 });
        // One point an hour: the first bucket counts from the point after it, half the budget.
        assert_eq!(remaining_at(&line, at() - Duration::hours(12)), 1.0);
        assert_eq!(remaining_at(&line, at() - Duration::hours(11)), 0.5);
        assert_eq!(remaining_at(&line, at() - Duration::hours(2)), 0.5);
        assert_eq!(remaining_at(&line, at() - Duration::hours(1)), 0.0);
        assert_eq!(line[24], BurnDownPoint { at: at(), remaining: 0.0 });
        assert_ends_at_the_evaluation(&slo, &buckets, at(), &line);
    }

    #[test]
    fn an_overspent_budget_ends_below_zero() {
        let slo = day(BudgetingMethod::Occurrences);
        let buckets = [minute(30, 0, 100), minute(20, 100, 100)];
        let line = burn_down(&slo, &buckets, at(), 48);
        // Half of the events bad against a budget of a quarter: spent twice over.
        assert_eq!(line.last().map(|point| point.remaining), Some(-1.0));
        assert_ends_at_the_evaluation(&slo, &buckets, at(), &line);
    }

    #[test]
    fn no_data_gives_no_points() {
        let slo = day(BudgetingMethod::Occurrences);
        assert!(burn_down(&slo, &[], at(), 48).is_empty());
        // Buckets without events, or outside the window, are no data either.
        let outside = [minute(3, 0, 0), minute(-5, 0, 10), minute(2 * 24 * 60, 0, 10)];
        assert!(burn_down(&slo, &outside, at(), 48).is_empty());
        let sliced = day(BudgetingMethod::Timeslices { slice: FIVE_MINUTES, slice_target: 0.9 });
        assert!(burn_down(&sliced, &outside, at(), 48).is_empty());
    }

    #[test]
    fn timeslices_count_a_bad_slice_once_it_is_whole() {
        let slo = day(BudgetingMethod::Timeslices { slice: FIVE_MINUTES, slice_target: 0.9 });
        // The slice of 10:00–10:05 (two hours ago): bad in its first minute, good over all five.
        let hour = at() - Duration::hours(2);
        let buckets: Vec<Bucket> = std::iter::once(Bucket::minute(hour, 0, 1))
            .chain((1..5).map(|m| Bucket::minute(hour + Duration::minutes(m), 100, 100)))
            .chain([Bucket::minute(hour + Duration::minutes(30), 0, 10)])
            .collect();
        // A point every 3 minutes or so would cut that slice; points are moved back to slice starts instead.
        let line = burn_down(&slo, &buckets, at(), 481);
        assert!(line.iter().all(|point| point.at == at() || point.at.timestamp() % 300 == 0));
        assert_eq!(remaining_at(&line, hour + FIVE_MINUTES), 1.0, "the first slice is good when whole");
        // One bad slice of the 288 of the day spends 1 / (0.25 × 288).
        let one_bad = 1.0 - 1.0 / (0.25 * 288.0);
        assert!((remaining_at(&line, hour + Duration::minutes(35)) - one_bad).abs() < 1e-12);
        assert_ends_at_the_evaluation(&slo, &buckets, at(), &line);
        for pair in line.windows(2) {
            assert!(pair[0].at < pair[1].at, "instants increase and are given once");
        }
    }

    #[test]
    fn ratio_timeslices_add_up_the_missing_part_of_each_slice() {
        let slo = day(BudgetingMethod::RatioTimeslices { slice: FIVE_MINUTES });
        // Three slices with data: ratios 1, 0.5 and 0.5; the budget is B × 3 slices.
        let buckets = [minute(60, 10, 10), minute(40, 5, 10), minute(20, 1, 2)];
        let line = burn_down(&slo, &buckets, at(), 24 * 12 + 1);
        assert_eq!(remaining_at(&line, at() - Duration::minutes(35)), 1.0 - 0.5 / (0.25 * 3.0));
        assert_ends_at_the_evaluation(&slo, &buckets, at(), &line);
        assert!((line.last().expect("points").remaining - (1.0 - (1.0 - 2.0 / 3.0) / 0.25)).abs() < 1e-12);
    }

    #[test]
    fn a_calendar_window_runs_from_its_start_to_at() {
        let window = Window::Calendar { start: t("2026-03-01T00:00:00Z"), length: CalendarLength::Month };
        let slo = spec(0.9, window, BudgetingMethod::Timeslices { slice: FIVE_MINUTES, slice_target: 1.0 });
        let buckets = [Bucket::minute(t("2026-03-02T00:00:00Z"), 9, 10), minute(10, 10, 10)];
        let line = burn_down(&slo, &buckets, at(), 64);
        assert_eq!(line.first().map(|point| point.at), Some(t("2026-03-01T00:00:00Z")));
        assert_eq!(line.last().map(|point| point.at), Some(at()));
        assert_ends_at_the_evaluation(&slo, &buckets, at(), &line);
        // One bad slice of March's 8,928: the budget of the whole month, not of the days elapsed.
        assert_eq!(line.last().map(|point| point.remaining), Some(1.0 - 1.0 / (0.1 * 8928.0)));
    }

    #[test]
    fn rollups_count_from_their_hour() {
        let slo = day(BudgetingMethod::Timeslices { slice: FIVE_MINUTES, slice_target: 0.9 });
        let hour = at() - Duration::hours(10);
        let minutes: Vec<Bucket> =
            (0..60).map(|m| Bucket::minute(hour + Duration::minutes(m), m as u64 % 2, 1)).collect();
        let buckets = [rollup(hour, &minutes, FIVE_MINUTES, 0.9), minute(3, 1, 1)];
        let line = burn_down(&slo, &buckets, at(), 97);
        assert_eq!(remaining_at(&line, hour), 1.0);
        // The rollup's twelve bad slices count from the first point after its start.
        let after = line.iter().find(|point| point.at > hour).expect("a later point");
        assert!((after.remaining - (1.0 - 12.0 / (0.25 * 288.0))).abs() < 1e-12);
        assert_ends_at_the_evaluation(&slo, &buckets, at(), &line);
    }

    fn arb_bucket() -> impl Strategy<Value = Bucket> {
        let minute_bucket =
            (0..2 * 24 * 60_i64, 0..1000_u64, 0..1000_u64).prop_map(|(ago, a, b)| minute(ago + 1, a.min(b), a.max(b)));
        let hourly = (1..2 * 24_i64, 0..100_000_u64, 0..100_000_u64, 0..=12_u32, 0..=12_u32, 0.0..=1.0_f64).prop_map(
            |(ago, a, b, c, d, mean)| Bucket {
                start: at() - Duration::hours(ago),
                minutes: 60,
                good: a.min(b),
                total: a.max(b),
                good_slices: c.min(d),
                slices: c.max(d),
                ratio_sum: mean * f64::from(c.max(d)),
            },
        );
        prop_oneof![4 => minute_bucket, 1 => hourly]
    }

    fn arb_spec() -> impl Strategy<Value = SloSpec> {
        let window = prop_oneof![
            Just(Window::Rolling(Duration::days(1))),
            Just(Window::Rolling(Duration::hours(7) + Duration::minutes(3))),
            Just(Window::Calendar { start: t("2026-01-01T00:00:00Z"), length: CalendarLength::Day }),
            Just(Window::Calendar { start: t("2026-03-02T00:00:00Z"), length: CalendarLength::Week }),
        ];
        let method = prop_oneof![
            Just(BudgetingMethod::Occurrences),
            (0.5..=1.0_f64).prop_map(|slice_target| BudgetingMethod::Timeslices { slice: FIVE_MINUTES, slice_target }),
            Just(BudgetingMethod::RatioTimeslices { slice: Duration::minutes(10) }),
        ];
        (0.5..0.9999_f64, window, method).prop_map(|(target, window, method)| spec(target, window, method))
    }

    proptest! {
        #[test]
        fn starts_full_ends_at_the_evaluation_and_never_rises(
            slo in arb_spec(),
            buckets in prop::collection::vec(arb_bucket(), 0..60),
            points in 2..120_usize,
            seconds in 0..3600_i64,
        ) {
            let at = at() + Duration::seconds(seconds);
            let line = burn_down(&slo, &buckets, at, points);
            let evaluation = evaluate(&slo, &buckets, at);
            prop_assert_eq!(line.is_empty(), evaluation.error_budget.remaining.is_none());
            if let (Some(first), Some(last)) = (line.first(), line.last()) {
                prop_assert_eq!(first.remaining, 1.0);
                prop_assert_eq!(first.at, calendar_bounds(&slo.window, at).0);
                prop_assert_eq!(Some(last.remaining), evaluation.error_budget.remaining);
                prop_assert!(line.len() <= points);
            }
            for pair in line.windows(2) {
                prop_assert!(pair[0].at < pair[1].at);
                prop_assert!(pair[1].remaining <= pair[0].remaining, "{:?}", pair);
            }
        }
    }
}
