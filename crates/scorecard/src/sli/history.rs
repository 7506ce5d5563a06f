//! SLI history files, read by `portolan slo import` to backfill SLOs from another system: JSON Lines, one SLO per
//! line, its counts as the store keeps them (one per hour for older days, one per minute for recent ones):
//!
//! ```json
//! {"slo": "default/checkout-availability",
//!  "hours": {"start": "2026-10-25T06:00:00Z", "good": [11697, …], "total": [11702, …]},
//!  "minutes": {"start": "2026-11-23T06:00:00Z", "good": […], "total": […]}}
//! ```
//!
//! `hours` and `minutes` are both optional; each holds consecutive counts from `start` (a whole hour for `hours`, a
//! whole minute for `minutes`), `good` and `total` of the same length with `good ≤ total`, none in the future.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::{Sample, hour_of, minute_of};
use crate::slo::{Bucket, BudgetingMethod, SloSpec};

/// Counts from `start`, one per step.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Series {
    start: DateTime<Utc>,
    good: Vec<u64>,
    total: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    slo: String,
    #[serde(default)]
    hours: Option<Series>,
    #[serde(default)]
    minutes: Option<Series>,
}

/// One SLO's history, read from a line and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub namespace: String,
    pub name: String,
    /// `(hour, good, total)`.
    pub hours: Vec<(DateTime<Utc>, u64, u64)>,
    pub minutes: Vec<Sample>,
}

impl History {
    /// The hours as hourly rollups of `spec`'s slicing. Hourly counts say nothing of the slices inside an hour, so
    /// only an SLO counting events (`Occurrences`) can take them; give minutes for the others.
    pub fn hour_buckets(&self, spec: &SloSpec) -> Result<Vec<Bucket>, String> {
        if self.hours.is_empty() {
            return Ok(Vec::new());
        }
        if spec.method != BudgetingMethod::Occurrences {
            return Err(format!(
                "SLO {}/{} budgets by time slices: hourly counts cannot say which slices were good; give its \
                 history as minutes",
                self.namespace, self.name
            ));
        }
        Ok(self
            .hours
            .iter()
            .map(|(hour, good, total)| {
                let tally = [Bucket::minute(*hour, *good, *total)];
                crate::slo::rollup(*hour, &tally, Duration::minutes(1), 1.0)
            })
            .collect())
    }
}

fn checked(
    series: Option<Series>,
    what: &str,
    step: Duration,
    aligned: fn(DateTime<Utc>) -> DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, u64, u64)>, String> {
    let Some(series) = series else { return Ok(Vec::new()) };
    if aligned(series.start) != series.start {
        return Err(format!(
            "{what}.start {} is not on a whole {}",
            series.start.to_rfc3339(),
            &what[..what.len() - 1]
        ));
    }
    if series.good.len() != series.total.len() {
        return Err(format!(
            "{what}: good has {} counts and total {}; they must be as long",
            series.good.len(),
            series.total.len()
        ));
    }
    let mut out = Vec::with_capacity(series.total.len());
    for (index, (good, total)) in series.good.iter().zip(&series.total).enumerate() {
        let at = series.start + step * i32::try_from(index).map_err(|_| format!("{what}: too many counts"))?;
        if good > total {
            return Err(format!(
                "{what}[{index}] ({}): good ({good}) is greater than total ({total})",
                at.to_rfc3339()
            ));
        }
        if at + step > now {
            return Err(format!("{what}[{index}] ({}) is not over yet", at.to_rfc3339()));
        }
        out.push((at, *good, *total));
    }
    Ok(out)
}

/// Reads one line of a history file; `now` bounds the data (no count for a period not over yet).
pub fn parse_line(text: &str, now: DateTime<Utc>) -> Result<History, String> {
    let line: Line = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let (namespace, name) =
        line.slo.split_once('/').filter(|(ns, name)| !ns.is_empty() && !name.is_empty()).ok_or_else(|| {
            format!("slo `{}` must be written NAMESPACE/NAME, e.g. default/checkout-availability", line.slo)
        })?;
    let hours = checked(line.hours, "hours", Duration::hours(1), hour_of, now)?;
    let minutes = checked(line.minutes, "minutes", Duration::minutes(1), minute_of, now)?
        .into_iter()
        .map(|(minute, good, total)| Sample { minute, good, total })
        .collect();
    Ok(History { namespace: namespace.to_owned(), name: name.to_owned(), hours, minutes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slo::{AlertPolicy, Objective, Window};

    fn now() -> DateTime<Utc> {
        "2026-11-24T06:30:00Z".parse().expect("instant")
    }

    fn spec(method: BudgetingMethod) -> SloSpec {
        SloSpec {
            objective: Objective::new(0.99).expect("target"),
            window: Window::Rolling(Duration::days(30)),
            method,
            alerting: AlertPolicy::defaults_for(Duration::days(30)),
        }
    }

    #[test]
    fn a_line_gives_hours_and_minutes() {
        let history = parse_line(
            r#"{"slo":"default/a","hours":{"start":"2026-11-24T04:00:00Z","good":[9,10],"total":[10,10]},
                "minutes":{"start":"2026-11-24T06:28:00Z","good":[1,2],"total":[1,3]}}"#,
            now(),
        )
        .expect("valid");
        assert_eq!((history.namespace.as_str(), history.name.as_str()), ("default", "a"));
        assert_eq!(history.hours[1], ("2026-11-24T05:00:00Z".parse().expect("instant"), 10, 10));
        assert_eq!(history.minutes[1].minute, "2026-11-24T06:29:00Z".parse::<DateTime<Utc>>().expect("instant"));
        let buckets = history.hour_buckets(&spec(BudgetingMethod::Occurrences)).expect("occurrences");
        assert_eq!((buckets[0].minutes, buckets[0].good, buckets[0].total), (60, 9, 10));
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        let cases = [
            (r#"{"slo":"a"}"#, "NAMESPACE/NAME"),
            (r#"{"slo":"default/a","extra":1}"#, "unknown field `extra`"),
            (r#"{"slo":"default/a","hours":{"start":"2026-11-24T04:30:00Z","good":[],"total":[]}}"#, "whole hour"),
            (r#"{"slo":"default/a","minutes":{"start":"2026-11-24T06:00:00Z","good":[1],"total":[1,2]}}"#, "as long"),
            (r#"{"slo":"default/a","minutes":{"start":"2026-11-24T06:00:00Z","good":[3],"total":[2]}}"#, "greater"),
            (
                r#"{"slo":"default/a","minutes":{"start":"2026-11-24T06:29:00Z","good":[1,1],"total":[1,1]}}"#,
                "not over",
            ),
            (r#"{"slo":"default/a","hours":{"start":"2026-11-24T06:00:00Z","good":[1],"total":[1]}}"#, "not over"),
            ("not json", "expected"),
        ];
        for (line, expected) in cases {
            let error = parse_line(line, now()).expect_err(line);
            assert!(error.contains(expected), "{line}: {error}");
        }
    }

    #[test]
    fn hours_need_an_slo_counting_events() {
        let history = parse_line(
            r#"{"slo":"default/a","hours":{"start":"2026-11-24T04:00:00Z","good":[9],"total":[10]}}"#,
            now(),
        )
        .expect("valid");
        let slices = BudgetingMethod::Timeslices { slice: Duration::minutes(5), slice_target: 0.9 };
        assert!(history.hour_buckets(&spec(slices)).expect_err("timeslices").contains("minutes"));
    }
}
