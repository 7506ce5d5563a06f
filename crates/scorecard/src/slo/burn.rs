//! Burn rates: how fast the error budget is being spent.

use chrono::{DateTime, Duration, Utc};

use super::budget::Tally;
use super::model::{Bucket, Objective};
use super::window::offset;

/// The burn rate over the `over` before `at`: the error ratio of the events starting in `[at − over, at)`
/// divided by the error budget `B`. It is weighted by events whatever the SLO's budgeting method (as in
/// Sloth and Pyrra), so 1 spends the budget exactly over the SLO window and 0 means no bad events.
/// `None` when the range holds no events.
pub fn burn_rate(objective: &Objective, buckets: &[Bucket], over: Duration, at: DateTime<Utc>) -> Option<f64> {
    let tally = Tally::of(buckets, offset(at, -over), at, None);
    rate_of(objective, (tally.good, tally.total))
}

/// The burn rate of the given good and all events: their error ratio over the budget, `None` without events.
pub(crate) fn rate_of(objective: &Objective, (good, total): (u64, u64)) -> Option<f64> {
    let tally = Tally { good, total, good_slices: 0, slices: 0, ratio_sum: 0.0 };
    tally.error_ratio().map(|error_ratio| error_ratio / objective.error_budget())
}

/// The good and all events of the buckets starting in `[start, at)`, for each of `starts` in their order, from one
/// pass over the buckets: a bucket is added to the range that starts last among those holding it, and each range's
/// sums are its own plus those of the ranges starting after it (a bucket in a range is in every range starting
/// earlier). Good events above total count as total, and sums saturate, as in `Tally::of`: sums of counts that
/// are not negative saturate to the same value in any order, so the results are exactly `Tally::of`'s.
pub(crate) fn sums_since(buckets: &[Bucket], starts: &[DateTime<Utc>], at: DateTime<Utc>) -> Vec<(u64, u64)> {
    let mut order: Vec<usize> = (0..starts.len()).collect();
    // Latest start first.
    order.sort_by(|&a, &b| starts[b].cmp(&starts[a]));
    let sorted: Vec<DateTime<Utc>> = order.iter().map(|&i| starts[i]).collect();
    let Some(&earliest) = sorted.last() else {
        return Vec::new();
    };
    let mut own = vec![(0_u64, 0_u64); sorted.len()];
    for bucket in buckets.iter().filter(|bucket| earliest <= bucket.start && bucket.start < at) {
        // The range starting last that holds the bucket: the first start not after it.
        let k = sorted.partition_point(|start| *start > bucket.start);
        if let Some((good, total)) = own.get_mut(k) {
            *good = good.saturating_add(bucket.good.min(bucket.total));
            *total = total.saturating_add(bucket.total);
        }
    }
    let mut sums = vec![(0, 0); starts.len()];
    let (mut good, mut total) = (0_u64, 0_u64);
    for (k, &i) in order.iter().enumerate() {
        good = good.saturating_add(own[k].0);
        total = total.saturating_add(own[k].1);
        sums[i] = (good, total);
    }
    sums
}

/// The fraction of a period's error budget spent by burning at `burn` for `over`: `burn × over / period`.
///
/// For a 30-day period, 14.4 for one hour spends 2 %, 6 for six hours 5 %, and 1 for three days 10 %.
pub fn budget_consumed(burn: f64, over: Duration, period: Duration) -> f64 {
    burn * over.num_milliseconds() as f64 / period.num_milliseconds() as f64
}

/// How long the `remaining` fraction of the budget of a window of length `window` lasts at burn rate `burn`.
///
/// At burn rate `r` errors arrive `r` times as fast as the budget allows, so the whole budget of the window
/// (the share `B` of its events) is spent in `window / r`, and the fraction `remaining` of it in
/// `remaining × window / r`. This assumes events keep arriving at the window's average rate.
///
/// Zero when the budget is already spent (`remaining ≤ 0`), whatever the burn rate; otherwise `None` when
/// the burn rate is unknown or not positive (the budget is not being spent). Rounded to the millisecond and
/// saturating at `Duration::MAX`.
pub fn time_to_exhaustion(remaining: f64, window: Duration, burn: Option<f64>) -> Option<Duration> {
    if remaining <= 0.0 {
        return Some(Duration::zero());
    }
    let burn = burn.filter(|&burn| burn > 0.0)?;
    let milliseconds = (remaining * window.num_milliseconds() as f64 / burn).round();
    // `as` saturates, and `Duration::MAX` is `i64::MAX` milliseconds.
    Duration::try_milliseconds(milliseconds as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const THIRTY_DAYS: Duration = Duration::days(30);

    fn t(text: &str) -> DateTime<Utc> {
        text.parse().expect("RFC 3339 instant")
    }

    /// SRE Workbook, table 5-4: burn rate and time to exhaust the whole budget of 99.9 % over 30 days.
    #[test]
    fn sre_workbook_time_to_exhaustion_table() {
        let whole = |burn: f64| time_to_exhaustion(1.0, THIRTY_DAYS, Some(burn)).expect("positive burn");
        assert_eq!(whole(1.0), Duration::days(30));
        assert_eq!(whole(2.0), Duration::days(15));
        assert_eq!(whole(10.0), Duration::days(3));
        assert_eq!(whole(1000.0), Duration::seconds(2592));
        assert_eq!(whole(1000.0).num_minutes(), 43);
    }

    /// SRE Workbook, table 5-8: the budget spent by each default alert before it fires.
    #[test]
    fn sre_workbook_budget_consumed_table() {
        let cases = [(14.4, Duration::hours(1), 0.02), (6.0, Duration::hours(6), 0.05), (3.0, Duration::days(1), 0.10)];
        for (burn, over, expected) in cases.into_iter().chain([(1.0, Duration::days(3), 0.10)]) {
            let consumed = budget_consumed(burn, over, THIRTY_DAYS);
            assert!((consumed - expected).abs() < 1e-12, "{burn} over {over}: {consumed}");
        }
    }

    #[test]
    fn time_to_exhaustion_edge_cases() {
        assert_eq!(time_to_exhaustion(0.5, THIRTY_DAYS, Some(2.0)), Some(Duration::days(7) + Duration::hours(12)));
        assert_eq!(time_to_exhaustion(0.0, THIRTY_DAYS, Some(2.0)), Some(Duration::zero()));
        assert_eq!(time_to_exhaustion(-0.5, THIRTY_DAYS, None), Some(Duration::zero()));
        assert_eq!(time_to_exhaustion(0.5, THIRTY_DAYS, Some(0.0)), None);
        assert_eq!(time_to_exhaustion(0.5, THIRTY_DAYS, None), None);
        assert_eq!(time_to_exhaustion(0.5, THIRTY_DAYS, Some(f64::MIN_POSITIVE)), Some(Duration::MAX));
    }

    proptest::proptest! {
        #[test]
        fn sums_since_in_one_pass_equal_one_tally_per_range(
            buckets in proptest::collection::vec(
                (-10..5 * 24 * 60_i64, 0..1_000_u64, 0..1_000_u64, proptest::bool::ANY, 0..3_000_000_000_i64),
                0..200,
            ),
            starts in proptest::collection::vec((-60..4 * 24 * 60_i64, 0..3_000_000_000_i64), 0..12),
            at_nanos in 0..1_000_000_000_i64,
        ) {
            // Instants off whole minutes and seconds too.
            let at = t("2026-03-01T12:00:00Z") + Duration::nanoseconds(at_nanos);
            let buckets: Vec<Bucket> = buckets
                .into_iter()
                .map(|(ago, a, b, hourly, nanos)| Bucket {
                    minutes: if hourly { 60 } else { 1 },
                    ..Bucket::minute(at - Duration::minutes(ago) + Duration::nanoseconds(nanos), a, b)
                })
                .collect();
            let starts: Vec<DateTime<Utc>> = starts
                .into_iter()
                .map(|(ago, nanos)| at - Duration::minutes(ago) + Duration::nanoseconds(nanos))
                .collect();
            let one_by_one: Vec<(u64, u64)> = starts
                .iter()
                .map(|&start| {
                    let tally = Tally::of(&buckets, start, at, None);
                    (tally.good, tally.total)
                })
                .collect();
            proptest::prop_assert_eq!(sums_since(&buckets, &starts, at), one_by_one);
        }
    }

    #[test]
    fn sums_since_saturate_like_a_tally() {
        let at = t("2026-03-01T12:00:00Z");
        let huge = [
            Bucket::minute(at - Duration::minutes(1), u64::MAX, u64::MAX),
            Bucket::minute(at - Duration::minutes(50), 1, u64::MAX),
            Bucket::minute(at - Duration::minutes(70), 5, 3),
        ];
        let starts = [at - Duration::hours(2), at - Duration::minutes(5), at - Duration::hours(1)];
        let expected: Vec<(u64, u64)> = starts
            .iter()
            .map(|&start| {
                let tally = Tally::of(&huge, start, at, None);
                (tally.good, tally.total)
            })
            .collect();
        assert_eq!(sums_since(&huge, &starts, at), expected);
        assert_eq!(expected[0], (u64::MAX, u64::MAX));
    }

    #[test]
    fn burn_rate_is_the_event_weighted_error_ratio_over_the_budget() {
        let at = t("2026-03-01T12:00:00Z");
        let objective = Objective::new(0.75).expect("valid target");
        let buckets = [
            Bucket::minute(at - Duration::minutes(3), 1, 4),
            Bucket::minute(at - Duration::minutes(1), 99, 100),
            Bucket::minute(at - Duration::minutes(10), 0, 100),
        ];
        // Over 5m: 4 bad of 104 events, against a budget of 0.25.
        assert_eq!(burn_rate(&objective, &buckets, Duration::minutes(5), at), Some(4.0 / 104.0 / 0.25));
        // Over 30m: 104 bad of 204.
        assert_eq!(burn_rate(&objective, &buckets, Duration::minutes(30), at), Some(104.0 / 204.0 / 0.25));
        assert_eq!(burn_rate(&objective, &buckets, Duration::minutes(5), at - Duration::minutes(20)), None);
    }
}
