//! The evaluation of one SLO at one instant.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Serialize, Serializer};

use super::alerts::{AlertState, window_label};
use super::budget::{ErrorBudget, Sli, Slicing, Tally, assess};
use super::burn::{rate_of, sums_since, time_to_exhaustion};
use super::model::{Bucket, SloSpec};
use super::window::{calendar_bounds, offset};

/// Below this fraction of the budget remaining, an SLO is [`Status::AtRisk`].
pub const AT_RISK_REMAINING: f64 = 0.25;

/// The windows of [`Evaluation::burn_rates`].
const BURN_WINDOWS: [Duration; 7] = [
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(1),
    Duration::hours(2),
    Duration::hours(6),
    Duration::days(1),
    Duration::days(3),
];

/// The window of the burn rate that [`Evaluation::time_to_exhaustion`] extrapolates.
const EXHAUSTION_BURN_WINDOW: Duration = Duration::hours(1);

/// The health of an SLO at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Budget left and no alert firing.
    Healthy,
    /// An alert fires, or less than [`AT_RISK_REMAINING`] of the budget is left.
    AtRisk,
    /// The budget of the window is spent (`remaining ≤ 0`).
    Exhausted,
    /// No data in the window.
    NoData,
    /// The SLI data is out of date; never produced by [`evaluate`], set by the caller.
    Stale,
}

/// The SRE Workbook's error-budget policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyState {
    /// Budget left (or no data): releases proceed as usual.
    Normal,
    /// The window's budget is spent: freeze changes other than reliability fixes.
    Freeze,
}

/// The state of one SLO at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The SLI over the window.
    pub sli: Sli,
    /// The error budget of the window.
    pub error_budget: ErrorBudget,
    /// Burn rates over the windows `"5m"`, `"30m"`, `"1h"`, `"2h"`, `"6h"`, `"1d"` and `"3d"` before the
    /// instant, `None` for a window without events.
    pub burn_rates: BTreeMap<String, Option<f64>>,
    /// One state per rule of the SLO's alert policy, in the policy's order.
    pub alerts: Vec<AlertState>,
    /// The health at a glance.
    pub status: Status,
    /// How long the remaining budget lasts at the current 1 h burn rate (see [`time_to_exhaustion`]):
    /// zero when exhausted, `None` without data or when the 1 h burn rate is unknown or zero.
    /// Serialized as `time_to_exhaustion_seconds`, whole seconds.
    #[serde(rename = "time_to_exhaustion_seconds", serialize_with = "serialize_seconds")]
    pub time_to_exhaustion: Option<Duration>,
    /// The error-budget policy in force.
    pub policy: PolicyState,
}

fn serialize_seconds<S: Serializer>(duration: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
    duration.map(|duration| duration.num_seconds()).serialize(serializer)
}

/// Evaluates `slo` at `at` over `buckets`, the SLO's SLI data (in any order, not overlapping).
///
/// * The window is the range given by [`calendar_bounds`], cut at `at`: a rolling window reads
///   `[at − length, at)`, a calendar window `[period start, at)`. A bucket counts when its start lies in the
///   range. The window's length `W` (a calendar window's whole period) sizes the budget.
/// * SLI and budget follow the [`BudgetingMethod`](super::BudgetingMethod): `Occurrences` weighs by events, `consumed =
///   (1 − good/total) / B`; see the other variants for slices. `remaining = 1 − consumed`, unclamped.
///   Without data (no events; for the slice methods, also no slice with data) SLI and budget are `None`,
///   never a full budget.
/// * Burn rates are event-weighted over `[at − w, at)` (see [`burn_rate`](super::burn_rate)).
/// * Status: `no_data` without data, else `exhausted` when `remaining ≤ 0`, else `at_risk` when an alert
///   fires or `remaining <` [`AT_RISK_REMAINING`], else `healthy`. The policy is `Freeze` when exhausted.
pub fn evaluate(slo: &SloSpec, buckets: &[Bucket], at: DateTime<Utc>) -> Evaluation {
    let (from, to) = calendar_bounds(&slo.window, at);
    // Every window read below, each burn rate computed once, in one pass over the buckets.
    let mut windows: Vec<Duration> = BURN_WINDOWS.to_vec();
    windows.push(EXHAUSTION_BURN_WINDOW);
    windows.extend(slo.alerting.rules.iter().flat_map(|rule| [rule.long_window, rule.short_window]));
    windows.sort();
    windows.dedup();
    let mut starts: Vec<DateTime<Utc>> = windows.iter().map(|&over| offset(at, -over)).collect();
    let slicing = Slicing::of(&slo.method);
    // Events counted without slices over a window ending at `at` are sums like the burn rates': the same pass.
    let same_pass = slicing.is_none() && to >= at;
    if same_pass {
        starts.push(from);
    }
    let sums = sums_since(buckets, &starts, at);
    let tally = match sums.get(windows.len()) {
        Some(&(good, total)) if same_pass => Tally { good, total, good_slices: 0, slices: 0, ratio_sum: 0.0 },
        _ => Tally::of(buckets, from, to.min(at), slicing),
    };
    let (sli, error_budget) = assess(&slo.objective, &slo.method, &tally, to - from);
    let rates: Vec<Option<f64>> = sums.iter().take(windows.len()).map(|&sums| rate_of(&slo.objective, sums)).collect();
    let burn = |over: Duration| windows.binary_search(&over).ok().and_then(|i| rates.get(i).copied().flatten());
    let burn_rates = BURN_WINDOWS.iter().map(|&over| (window_label(over), burn(over))).collect();
    let alerts: Vec<AlertState> = slo
        .alerting
        .rules
        .iter()
        .map(|rule| {
            let (long_burn, short_burn) = (burn(rule.long_window), burn(rule.short_window));
            AlertState {
                severity: rule.severity,
                long_window: window_label(rule.long_window),
                short_window: window_label(rule.short_window),
                threshold: rule.threshold,
                firing: rule.is_firing(long_burn, short_burn),
                long_burn,
                short_burn,
            }
        })
        .collect();
    let status = match error_budget.remaining {
        None => Status::NoData,
        Some(remaining) if remaining <= 0.0 => Status::Exhausted,
        Some(remaining) if remaining < AT_RISK_REMAINING || alerts.iter().any(|alert| alert.firing) => Status::AtRisk,
        Some(_) => Status::Healthy,
    };
    let time_to_exhaustion = error_budget
        .remaining
        .and_then(|remaining| time_to_exhaustion(remaining, to - from, burn(EXHAUSTION_BURN_WINDOW)));
    Evaluation {
        sli,
        error_budget,
        burn_rates,
        alerts,
        status,
        time_to_exhaustion,
        policy: if status == Status::Exhausted { PolicyState::Freeze } else { PolicyState::Normal },
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::slo::{AlertPolicy, AlertRule, BudgetingMethod, CalendarLength, Objective, Severity, Window, rollup};

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
            alerting: AlertPolicy::defaults_for(Duration::days(30)),
        }
    }

    fn thirty_days(target: f64) -> SloSpec {
        spec(target, Window::Rolling(Duration::days(30)), BudgetingMethod::Occurrences)
    }

    fn minute(ago_minutes: i64, good: u64, total: u64) -> Bucket {
        Bucket::minute(at() - Duration::minutes(ago_minutes), good, total)
    }

    /// An hourly bucket with events only, for `Occurrences`.
    fn hour(ago_hours: i64, good: u64, total: u64) -> Bucket {
        Bucket { minutes: 60, ..Bucket::minute(at() - Duration::hours(ago_hours), good, total) }
    }

    fn budget(slo: &SloSpec) -> f64 {
        slo.objective.error_budget()
    }

    fn assert_close(actual: Option<f64>, expected: f64) {
        let actual = actual.expect("a value");
        assert!((actual - expected).abs() < 1e-9, "{actual} instead of {expected}");
    }

    #[test]
    fn a_service_exactly_on_a_decimal_budget_has_none_left() {
        let slo = thirty_days(0.99);
        let buckets: Vec<Bucket> = (1..=60).map(|m| minute(m, 99, 100)).collect();
        let evaluation = evaluate(&slo, &buckets, at());
        assert_eq!(evaluation.error_budget.consumed, Some(1.0));
        assert_eq!(evaluation.error_budget.remaining, Some(0.0));
        assert_eq!((evaluation.status, evaluation.policy), (Status::Exhausted, PolicyState::Freeze));
        assert_eq!(evaluation.burn_rates["1h"], Some(1.0));
    }

    #[test]
    fn occurrences_weigh_by_events_not_by_bucket() {
        let slo = thirty_days(0.9);
        let evaluation = evaluate(&slo, &[minute(10, 999, 1000), minute(20, 0, 100)], at());
        assert_eq!(evaluation.sli, Sli { good: 999, total: 1100, ratio: Some(999.0 / 1100.0) });
        let consumed = 101.0 / 1100.0 / budget(&slo);
        assert_eq!(evaluation.error_budget.consumed, Some(consumed));
        assert_close(evaluation.error_budget.consumed, 0.918_181_818_18);
        // The mean of the bucket ratios, (0.999 + 0) / 2, would have spent the budget five times over.
        assert_close(evaluation.error_budget.remaining, 1.0 - consumed);
        assert_eq!(evaluation.status, Status::AtRisk);
    }

    #[test]
    fn no_events_is_no_data_not_a_full_budget() {
        let slo = thirty_days(0.999);
        // A bucket without events, one after `at` and one before the window.
        let buckets = [minute(3, 0, 0), minute(-5, 0, 10), minute(31 * 24 * 60, 0, 10)];
        let evaluation = evaluate(&slo, &buckets, at());
        assert_eq!(evaluation.sli, Sli { good: 0, total: 0, ratio: None });
        assert_eq!(evaluation.error_budget, ErrorBudget { total: budget(&slo), consumed: None, remaining: None });
        assert_eq!(evaluation.status, Status::NoData);
        assert_eq!(evaluation.policy, PolicyState::Normal);
        assert_eq!(evaluation.time_to_exhaustion, None);
        assert!(evaluation.burn_rates.values().all(Option::is_none));
        assert!(evaluation.alerts.iter().all(|alert| !alert.firing && alert.long_burn.is_none()));
    }

    #[test]
    fn slices_without_events_are_no_data() {
        let method = BudgetingMethod::Timeslices { slice: FIVE_MINUTES, slice_target: 0.9 };
        let slo = spec(0.99, Window::Rolling(Duration::days(1)), method);
        // A rollup that claims a bad slice but holds no events.
        let inconsistent = Bucket { slices: 1, ..hour(2, 0, 0) };
        let evaluation = evaluate(&slo, &[inconsistent], at());
        assert_eq!(evaluation.error_budget.remaining, None);
        assert_eq!(evaluation.status, Status::NoData);
    }

    #[test]
    fn overspent_budget_goes_negative_exhausts_and_freezes() {
        let slo = thirty_days(0.999);
        let evaluation = evaluate(&slo, &[hour(48, 990, 1000)], at());
        assert_close(evaluation.error_budget.consumed, 10.0);
        assert_close(evaluation.error_budget.remaining, -9.0);
        assert_eq!(evaluation.status, Status::Exhausted);
        assert_eq!(evaluation.policy, PolicyState::Freeze);
        // No events in the last hour, so no burn rate, but the budget is already spent.
        assert_eq!(evaluation.burn_rates["1h"], None);
        assert_eq!(evaluation.time_to_exhaustion, Some(Duration::zero()));
    }

    #[test]
    fn less_than_a_quarter_left_is_at_risk_without_alerts() {
        let slo = thirty_days(0.9);
        let evaluation = evaluate(&slo, &[hour(24 * 10, 921, 1000)], at());
        assert_close(evaluation.error_budget.remaining, 0.21);
        assert!(evaluation.alerts.iter().all(|alert| !alert.firing));
        assert_eq!(evaluation.status, Status::AtRisk);
        assert_eq!(evaluation.policy, PolicyState::Normal);
        let healthy = evaluate(&slo, &[hour(24 * 10, 930, 1000)], at());
        assert_close(healthy.error_budget.remaining, 0.3);
        assert_eq!(healthy.status, Status::Healthy);
    }

    #[test]
    fn a_firing_page_puts_a_healthy_budget_at_risk() {
        let slo = thirty_days(0.999);
        // Plenty of budget, then 2 % errors (burn 20) over the last hour.
        let buckets: Vec<_> = std::iter::once(hour(24 * 10, 100_000_000, 100_000_000))
            .chain((1..=60).map(|ago| minute(ago, 98, 100)))
            .collect();
        let evaluation = evaluate(&slo, &buckets, at());
        assert!(evaluation.error_budget.remaining.expect("data") > 0.9);
        let fast_page = &evaluation.alerts[0];
        assert_eq!(
            (fast_page.severity, fast_page.long_window.as_str(), fast_page.short_window.as_str()),
            (Severity::Page, "1h", "5m")
        );
        assert_close(fast_page.long_burn, 20.0);
        assert_close(fast_page.short_burn, 20.0);
        assert!(fast_page.firing);
        // The 6h, 1d and 3d windows hold only that hour's events: burn 20 there too, above 6, 3 and 1.
        assert_eq!(evaluation.alerts.iter().filter(|alert| alert.firing).count(), 4);
        assert_eq!(evaluation.status, Status::AtRisk);
        // Without the page's short window agreeing (the errors stopped 10 minutes ago), the page is quiet.
        let stopped: Vec<_> =
            buckets.iter().filter(|bucket| bucket.start < at() - Duration::minutes(10)).cloned().collect();
        let evaluation = evaluate(&slo, &stopped, at());
        assert_eq!(evaluation.alerts[0].short_burn, None);
        assert!(!evaluation.alerts[0].firing);
        assert!(evaluation.alerts[1].firing, "30m still sees the errors");
    }

    #[test]
    fn alerts_fire_strictly_above_the_threshold_of_a_replaced_policy() {
        let mut slo = thirty_days(0.75);
        slo.alerting = AlertPolicy {
            rules: vec![AlertRule {
                severity: Severity::Ticket,
                long_window: Duration::hours(1),
                short_window: FIVE_MINUTES,
                threshold: 2.0,
            }],
        };
        // B = 0.25 exactly, so half the events bad is a burn rate of exactly 2.
        let at_threshold = evaluate(&slo, &[minute(1, 500, 1000), hour(100, 1_000_000, 1_000_000)], at());
        assert_eq!(
            at_threshold.alerts,
            [AlertState {
                severity: Severity::Ticket,
                long_window: "1h".to_owned(),
                short_window: "5m".to_owned(),
                threshold: 2.0,
                firing: false,
                long_burn: Some(2.0),
                short_burn: Some(2.0),
            }]
        );
        assert_eq!(at_threshold.status, Status::Healthy);
        let above = evaluate(&slo, &[minute(1, 499, 1000), hour(100, 1_000_000, 1_000_000)], at());
        assert!(above.alerts[0].firing);
        assert_eq!(above.status, Status::AtRisk);
    }

    #[test]
    fn burn_rates_and_time_to_exhaustion_at_the_hourly_burn() {
        let slo = thirty_days(0.999);
        let buckets = [hour(24 * 10, 1_000_000, 1_000_000), minute(30, 990, 1000)];
        let evaluation = evaluate(&slo, &buckets, at());
        let keys: Vec<_> = evaluation.burn_rates.keys().map(String::as_str).collect();
        assert_eq!(keys, ["1d", "1h", "2h", "30m", "3d", "5m", "6h"]);
        assert_eq!(evaluation.burn_rates["5m"], None);
        for window in ["30m", "1h", "2h", "6h", "1d", "3d"] {
            assert_close(evaluation.burn_rates[window], 10.0);
        }
        let remaining = 1.0 - 10.0 / 1_001_000.0 / budget(&slo);
        assert_close(evaluation.error_budget.remaining, remaining);
        // remaining × 30 d / 10 ≈ 2.997 d.
        let expected = remaining * Duration::days(30).num_milliseconds() as f64 / 10.0;
        let actual = evaluation.time_to_exhaustion.expect("burning").num_milliseconds() as f64;
        assert!((actual - expected).abs() <= 1.0, "{actual} ms instead of {expected} ms");
        assert_eq!(evaluation.time_to_exhaustion.map(|duration| duration.num_hours()), Some(71));
        // Only good events in the last hour: the budget is not being spent.
        let idle = evaluate(&slo, &[hour(24 * 10, 999_999, 1_000_000), minute(30, 1000, 1000)], at());
        assert_eq!(idle.burn_rates["1h"], Some(0.0));
        assert_eq!(idle.time_to_exhaustion, None);
    }

    #[test]
    fn window_boundary_is_half_open() {
        let slo = spec(0.99, Window::Rolling(Duration::days(1)), BudgetingMethod::Occurrences);
        let buckets = [
            // Starts exactly at `at`: excluded.
            minute(0, 0, 100),
            // Starts exactly at `at − window`: included.
            minute(24 * 60, 10, 10),
            // One minute earlier: excluded.
            minute(24 * 60 + 1, 0, 100),
        ];
        let evaluation = evaluate(&slo, &buckets, at());
        assert_eq!(evaluation.sli, Sli { good: 10, total: 10, ratio: Some(1.0) });
        assert_eq!(evaluation.burn_rates["5m"], None);
        assert_eq!(evaluation.burn_rates["1d"], Some(0.0));
    }

    /// Slices of five minutes: one good at exactly the slice target, one bad, one without events, one good.
    fn sliced_buckets() -> Vec<Bucket> {
        vec![minute(60, 10, 10), minute(57, 9, 10), minute(30, 5, 10), minute(20, 0, 0), minute(120, 100, 100)]
    }

    #[test]
    fn timeslices_leave_empty_slices_out_of_the_ratio_but_not_out_of_the_budget() {
        let method = BudgetingMethod::Timeslices { slice: FIVE_MINUTES, slice_target: 0.95 };
        let slo = spec(0.99, Window::Rolling(Duration::days(1)), method);
        let evaluation = evaluate(&slo, &sliced_buckets(), at());
        // Events are reported as they are; the SLI is 2 good slices of the 3 with data.
        assert_eq!(evaluation.sli, Sli { good: 124, total: 130, ratio: Some(2.0 / 3.0) });
        // The budget is B × every slice of the day (288), data or not: one bad slice spends 1 / 2.88.
        let consumed = 1.0 / (budget(&slo) * 288.0);
        assert_eq!(evaluation.error_budget.consumed, Some(consumed));
        assert_close(evaluation.error_budget.consumed, 0.347_222_222_22);
        assert_close(evaluation.error_budget.remaining, 1.0 - consumed);
        assert!((consumed - (1.0 - 2.0 / 3.0) / budget(&slo)).abs() > 1.0, "not (1 − SLI) / B");
        // Burn rates stay event-weighted: 1 + 5 bad of the 30 events of the last hour.
        assert_close(evaluation.burn_rates["1h"], 6.0 / 30.0 / budget(&slo));
    }

    #[test]
    fn timeslices_budget_of_a_calendar_window_is_the_whole_period() {
        let method = BudgetingMethod::Timeslices { slice: FIVE_MINUTES, slice_target: 0.95 };
        let window = Window::Calendar { start: t("2026-01-01T00:00:00Z"), length: CalendarLength::Month };
        let slo = spec(0.99, window, method);
        let at = t("2026-02-15T00:00:00Z");
        let buckets = [
            Bucket::minute(t("2026-02-01T00:00:00Z"), 0, 10),
            Bucket::minute(t("2026-01-31T23:59:00Z"), 0, 10),
            Bucket::minute(t("2026-02-20T00:00:00Z"), 0, 10),
        ];
        let evaluation = evaluate(&slo, &buckets, at);
        assert_eq!(evaluation.sli, Sli { good: 0, total: 10, ratio: Some(0.0) });
        // February 2026: 28 days of 288 slices, 8064 in all, elapsed or not.
        assert_eq!(evaluation.error_budget.consumed, Some(1.0 / (budget(&slo) * 8064.0)));
    }

    #[test]
    fn ratio_timeslices_average_the_slice_ratios() {
        let slo =
            spec(0.99, Window::Rolling(Duration::days(1)), BudgetingMethod::RatioTimeslices { slice: FIVE_MINUTES });
        let evaluation = evaluate(&slo, &sliced_buckets(), at());
        let mean = (0.95 + 0.5 + 1.0) / 3.0;
        assert_close(evaluation.sli.ratio, mean);
        assert_close(evaluation.error_budget.consumed, (1.0 - mean) / budget(&slo));
        assert_eq!((evaluation.sli.good, evaluation.sli.total), (124, 130));
        // The event-weighted ratio would be 124 / 130 ≈ 0.954, not 0.817.
        assert_close(evaluation.sli.ratio, 0.816_666_666_67);
    }

    /// Minute buckets over `hours` whole hours ending 6 h before `at`, with uneven gaps and failures.
    fn minute_history(hours: i64) -> Vec<Bucket> {
        (0..hours * 60)
            .filter(|minute| minute % 7 != 3)
            .map(|offset| {
                let total = (offset * 37 % 11) as u64;
                let bad = if offset % 13 < 2 { total / 2 } else { u64::from(offset % 17 == 0) };
                minute(6 * 60 + offset + 1, total - bad.min(total), total)
            })
            .collect()
    }

    fn rolled_up(buckets: &[Bucket], hours: i64, slice: Duration, slice_target: f64) -> Vec<Bucket> {
        (0..hours).map(|ago| rollup(at() - Duration::hours(7 + ago), buckets, slice, slice_target)).collect()
    }

    #[test]
    fn rollups_evaluate_like_their_minute_buckets() {
        let minutes = minute_history(5);
        let recent = [minute(3, 90, 100), minute(61, 7, 7)];
        let with = |history: &[Bucket]| history.iter().chain(&recent).cloned().collect::<Vec<_>>();
        let window = Window::Rolling(Duration::days(1));
        for method in [
            BudgetingMethod::Occurrences,
            BudgetingMethod::Timeslices { slice: FIVE_MINUTES, slice_target: 0.9 },
            BudgetingMethod::Timeslices { slice: Duration::minutes(20), slice_target: 0.99 },
        ] {
            let slo = spec(0.99, window.clone(), method.clone());
            let (slice, slice_target) = match method {
                BudgetingMethod::Timeslices { slice, slice_target } => (slice, slice_target),
                _ => (FIVE_MINUTES, 1.0),
            };
            let rollups = rolled_up(&minutes, 5, slice, slice_target);
            assert_eq!(
                rollups.iter().map(|bucket| bucket.total).sum::<u64>(),
                minutes.iter().map(|bucket| bucket.total).sum::<u64>()
            );
            let from_minutes = evaluate(&slo, &with(&minutes), at());
            assert_eq!(evaluate(&slo, &with(&rollups), at()), from_minutes, "{method:?}");
            assert!(from_minutes.error_budget.consumed.expect("data") > 0.0, "the history has failures");
        }
        let slo = spec(0.99, window, BudgetingMethod::RatioTimeslices { slice: Duration::minutes(10) });
        let from_minutes = evaluate(&slo, &with(&minutes), at());
        let from_rollups = evaluate(&slo, &with(&rolled_up(&minutes, 5, Duration::minutes(10), 1.0)), at());
        assert_close(from_rollups.sli.ratio, from_minutes.sli.ratio.expect("data"));
        assert_close(from_rollups.error_budget.remaining, from_minutes.error_budget.remaining.expect("data"));
    }

    #[test]
    fn serializes_for_the_json_api() {
        let slo = thirty_days(0.999);
        let exhausted = serde_json::to_value(evaluate(&slo, &[minute(30, 0, 10)], at())).expect("serializable");
        assert_eq!(exhausted["status"], "exhausted");
        assert_eq!(exhausted["policy"], "freeze");
        assert_eq!(exhausted["time_to_exhaustion_seconds"], 0);
        assert_eq!(exhausted["alerts"][0]["severity"], "page");
        assert_eq!(exhausted["alerts"][2]["severity"], "ticket");
        assert_eq!(exhausted["alerts"][0]["long_window"], "1h");
        assert_eq!(exhausted["burn_rates"]["5m"], serde_json::Value::Null);
        assert_eq!(exhausted["sli"]["total"], 10);
        let no_data = serde_json::to_value(evaluate(&slo, &[], at())).expect("serializable");
        assert_eq!(no_data["status"], "no_data");
        assert_eq!(no_data["error_budget"]["remaining"], serde_json::Value::Null);
        assert_eq!(no_data["time_to_exhaustion_seconds"], serde_json::Value::Null);
        assert_eq!(serde_json::to_value(Status::AtRisk).expect("serializable"), "at_risk");
        assert_eq!(serde_json::to_value(Status::Stale).expect("serializable"), "stale");
        assert_eq!(serde_json::to_value(PolicyState::Normal).expect("serializable"), "normal");
    }

    fn arb_bucket() -> impl Strategy<Value = Bucket> {
        let minute_bucket =
            (0..4 * 24 * 60_i64, 0..1000_u64, 0..1000_u64).prop_map(|(ago, a, b)| minute(ago + 1, a.min(b), a.max(b)));
        let hourly = (1..4 * 24_i64, 0..100_000_u64, 0..100_000_u64, 0..=12_u32, 0..=12_u32, 0.0..=1.0_f64).prop_map(
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
            Just(Window::Rolling(Duration::days(3))),
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

    /// The evaluation as it was written before its sums were taken in one pass: one tally for the window and one
    /// per burn-rate window, for each use. [`evaluate`] must give exactly the same.
    fn evaluate_window_by_window(slo: &SloSpec, buckets: &[Bucket], at: DateTime<Utc>) -> Evaluation {
        use crate::slo::burn_rate;
        let (from, to) = calendar_bounds(&slo.window, at);
        let tally = Tally::of(buckets, from, to.min(at), Slicing::of(&slo.method));
        let (sli, error_budget) = assess(&slo.objective, &slo.method, &tally, to - from);
        let burn = |over| burn_rate(&slo.objective, buckets, over, at);
        let burn_rates = BURN_WINDOWS.iter().map(|&over| (window_label(over), burn(over))).collect();
        let alerts: Vec<AlertState> = slo
            .alerting
            .rules
            .iter()
            .map(|rule| {
                let (long_burn, short_burn) = (burn(rule.long_window), burn(rule.short_window));
                AlertState {
                    severity: rule.severity,
                    long_window: window_label(rule.long_window),
                    short_window: window_label(rule.short_window),
                    threshold: rule.threshold,
                    firing: rule.is_firing(long_burn, short_burn),
                    long_burn,
                    short_burn,
                }
            })
            .collect();
        let status = match error_budget.remaining {
            None => Status::NoData,
            Some(remaining) if remaining <= 0.0 => Status::Exhausted,
            Some(remaining) if remaining < AT_RISK_REMAINING || alerts.iter().any(|alert| alert.firing) => {
                Status::AtRisk
            }
            Some(_) => Status::Healthy,
        };
        let time_to_exhaustion = error_budget
            .remaining
            .and_then(|remaining| time_to_exhaustion(remaining, to - from, burn(EXHAUSTION_BURN_WINDOW)));
        Evaluation {
            sli,
            error_budget,
            burn_rates,
            alerts,
            status,
            time_to_exhaustion,
            policy: if status == Status::Exhausted { PolicyState::Freeze } else { PolicyState::Normal },
        }
    }

    proptest! {
        #[test]
        fn one_pass_evaluates_exactly_as_window_by_window(
            slo in arb_spec(),
            buckets in prop::collection::vec(arb_bucket(), 0..120),
            rolling_days in 1..40_i64,
            use_rolling in proptest::bool::ANY,
        ) {
            let mut slo = slo;
            if use_rolling {
                slo.window = Window::Rolling(Duration::days(rolling_days));
            }
            prop_assert_eq!(evaluate(&slo, &buckets, at()), evaluate_window_by_window(&slo, &buckets, at()));
        }

        #[test]
        fn consumed_and_remaining_add_up_and_burn_rates_are_not_negative(
            slo in arb_spec(),
            buckets in prop::collection::vec(arb_bucket(), 0..80),
        ) {
            let evaluation = evaluate(&slo, &buckets, at());
            let budget = &evaluation.error_budget;
            prop_assert_eq!(budget.consumed.is_some(), budget.remaining.is_some());
            prop_assert_eq!(budget.remaining.is_none(), evaluation.status == Status::NoData);
            if evaluation.sli.total == 0 {
                prop_assert_eq!(evaluation.status, Status::NoData, "no events is no data");
            }
            if let (Some(consumed), Some(remaining)) = (budget.consumed, budget.remaining) {
                prop_assert!((consumed + remaining - 1.0).abs() < 1e-9, "{} + {}", consumed, remaining);
            }
            let alert_burns = evaluation.alerts.iter().flat_map(|alert| [alert.long_burn, alert.short_burn]);
            for burn in evaluation.burn_rates.values().copied().chain(alert_burns).flatten() {
                prop_assert!(burn >= 0.0, "burn rate {}", burn);
            }
        }

        #[test]
        fn evaluation_does_not_depend_on_bucket_order(
            (slo, buckets, shuffled) in (arb_spec(), prop::collection::vec(arb_bucket(), 0..80))
                .prop_flat_map(|(slo, buckets)| (Just(slo), Just(buckets.clone()), Just(buckets).prop_shuffle())),
        ) {
            prop_assert_eq!(evaluate(&slo, &buckets, at()), evaluate(&slo, &shuffled, at()));
        }

        #[test]
        fn bad_events_never_increase_the_remaining_budget(
            slo in arb_spec(),
            mut buckets in prop::collection::vec(arb_bucket(), 0..80),
            ago in 1..12 * 60_i64,
            bad in 1..1000_u64,
        ) {
            let before = evaluate(&slo, &buckets, at()).error_budget.remaining;
            buckets.push(minute(ago, 0, bad));
            let after = evaluate(&slo, &buckets, at()).error_budget.remaining;
            let after = after.expect("the new events are in the window");
            if let Some(before) = before {
                prop_assert!(after <= before + 1e-12, "{} → {}", before, after);
            }
        }
    }
}
