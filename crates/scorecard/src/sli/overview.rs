//! One SLO as people and tools see it: its definition, its evaluation at an instant, the state of its data and its
//! burn-down. [`SloView`] is what `GET /api/v1/slos/{namespace}/{name}` answers and what the service page draws;
//! [`slo_view`] and [`slos_of_service`] are the only ways to build one.

use catalog::descriptor::Problem;
use chrono::{DateTime, Utc};
use serde::Serialize;
use store::DbConnection;
use store::slos::{self, SloRow};

use super::{SliError, StoredSlo, evaluate_stored, utc};
use crate::slo::{
    BURN_DOWN_POINTS, BudgetingMethod, BurnDownPoint, CalendarLength, Evaluation, Window, burn_down, calendar_bounds,
    window_label,
};

/// Whether a window follows the evaluation instant or is a calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowType {
    Rolling,
    Calendar,
}

/// The period an evaluation covers, as a half-open range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    /// Its first instant: `at − window` for a rolling window, the start of the calendar period otherwise.
    pub start: DateTime<Utc>,
    /// Its end: `at` for a rolling window; the end of the calendar period, which may lie after `at` (data is
    /// counted up to `at`, the budget is the whole period's).
    pub end: DateTime<Utc>,
}

/// One SLO evaluated at one instant, in the shape of the JSON API (numbers as numbers, ratios as fractions of 1).
///
/// Besides the evaluation's own fields (`sli`, `error_budget`, `burn_rates`, `alerts`, `status`,
/// `time_to_exhaustion_seconds`, `policy`, flattened in), it says how the SLO is defined and where its data stands:
///
/// * `window` is the compliance window as OpenSLO writes a duration: `"28d"`, `"30d"`, `"6h"` for a rolling window
///   (`window_type: "rolling"`); `"1d"`, `"1w"`, `"1M"`, `"1Q"` or `"1Y"` for a calendar one
///   (`window_type: "calendar"`, anchored at `window_anchor`); `period` is the range evaluated;
/// * `budgeting_method` is `occurrences`, `timeslices` or `ratio_timeslices`; `slice` (like `"5m"`) is given for the
///   last two, `slice_target` for `timeslices`;
/// * `source` is where SLI data comes from (`push`, `prometheus`, `other`); `data_until` the end of the newest data
///   received; `stale_since` and `stale_reason` say when and why the source started failing (both `null` when it
///   answers);
/// * `defined_at` is `path:line:col` of the definition, `problems` the warnings about it;
/// * `burn_down` is the remaining budget from the window's start to `at` (see [`burn_down`]), empty without data.
#[derive(Debug, Clone, Serialize)]
pub struct SloView {
    pub namespace: String,
    pub name: String,
    pub display_name: String,
    pub description: String,
    /// The Component it belongs to, by name, in `namespace`.
    pub service: String,
    /// The instant evaluated.
    pub at: DateTime<Utc>,
    /// The target, `0 < target < 1`.
    pub target: f64,
    pub window: String,
    pub window_type: WindowType,
    /// The start that calendar periods are counted from; `None` for a rolling window.
    pub window_anchor: Option<DateTime<Utc>>,
    pub period: Period,
    pub budgeting_method: &'static str,
    pub slice: Option<String>,
    pub slice_target: Option<f64>,
    #[serde(flatten)]
    pub evaluation: Evaluation,
    pub source: String,
    pub data_until: Option<DateTime<Utc>>,
    pub stale_since: Option<DateTime<Utc>>,
    pub stale_reason: Option<String>,
    pub defined_at: String,
    pub problems: Vec<Problem>,
    pub burn_down: Vec<BurnDownPoint>,
}

/// The SLO `namespace`/`name` evaluated at `at`; `None` when there is no such SLO.
pub fn slo_view(
    conn: &mut DbConnection,
    namespace: &str,
    name: &str,
    at: DateTime<Utc>,
) -> Result<Option<SloView>, SliError> {
    slos::by_name(conn, namespace, name)?.map(|row| view_of(conn, row, at)).transpose()
}

/// The SLOs of the Component `namespace`/`service` evaluated at `at`, by name.
pub fn slos_of_service(
    conn: &mut DbConnection,
    namespace: &str,
    service: &str,
    at: DateTime<Utc>,
) -> Result<Vec<SloView>, SliError> {
    slos::of_service(conn, namespace, service)?.into_iter().map(|row| view_of(conn, row, at)).collect()
}

fn view_of(conn: &mut DbConnection, row: SloRow, at: DateTime<Utc>) -> Result<SloView, SliError> {
    let problems: Vec<Problem> = serde_json::from_str(&row.problems)
        .map_err(|e| SliError::Definition { slo: row.name.clone(), reason: format!("its problems: {e}") })?;
    let state = evaluate_stored(conn, StoredSlo::from_row(row)?, at)?;
    let spec = &state.slo.definition.spec;
    let burn_down = burn_down(spec, &state.buckets, at, BURN_DOWN_POINTS);
    let (start, end) = calendar_bounds(&spec.window, at);
    let (window, window_type, window_anchor) = match spec.window {
        Window::Rolling(length) => (window_label(length), WindowType::Rolling, None),
        Window::Calendar { start, length } => (calendar_label(length).to_owned(), WindowType::Calendar, Some(start)),
    };
    let (budgeting_method, slice, slice_target) = match spec.method {
        BudgetingMethod::Occurrences => ("occurrences", None, None),
        BudgetingMethod::Timeslices { slice, slice_target } => {
            ("timeslices", Some(window_label(slice)), Some(slice_target))
        }
        BudgetingMethod::RatioTimeslices { slice } => ("ratio_timeslices", Some(window_label(slice)), None),
    };
    let target = spec.objective.target();
    let row = state.slo.row;
    Ok(SloView {
        defined_at: format!("{}:{}:{}", catalog::ingest::display(std::path::Path::new(&row.path)), row.line, row.col),
        namespace: row.namespace,
        name: row.name,
        display_name: row.display_name,
        description: row.description,
        service: row.service,
        at,
        target,
        window,
        window_type,
        window_anchor,
        period: Period { start, end },
        budgeting_method,
        slice,
        slice_target,
        evaluation: state.evaluation,
        source: row.source_kind,
        data_until: row.data_until.map(utc),
        stale_since: row.stale_since.map(utc),
        stale_reason: row.stale_reason,
        problems,
        burn_down,
    })
}

/// A calendar period as OpenSLO writes its duration.
fn calendar_label(length: CalendarLength) -> &'static str {
    match length {
        CalendarLength::Day => "1d",
        CalendarLength::Week => "1w",
        CalendarLength::Month => "1M",
        CalendarLength::Quarter => "1Q",
        CalendarLength::Year => "1Y",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use catalog::ingest::{Formats, IngestOptions, NoProgress, ingest};
    use chrono::Duration;
    use store::test_support::TestDb;

    use super::*;
    use crate::sli::{Sample, reconcile, record};
    use crate::slo::SloFormat;

    const FILES: [(&str, &str); 2] = [
        (
            "catalog-info.yaml",
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: checkout}\n\
             spec: {type: service, lifecycle: production, owner: payments}\n",
        ),
        (
            "slo.yaml",
            "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: checkout-latency, displayName: Checkout latency}\n\
             spec:\n  service: checkout\n  indicator:\n    metadata: {name: fast}\n    spec:\n      ratioMetric:\n        \
             counter: true\n        good: {metricSource: {type: Push}}\n        total: {metricSource: {type: Push}}\n  \
             timeWindow:\n    - duration: 1M\n      isRolling: false\n      calendar: {startTime: '2026-01-01 00:00:00', timeZone: UTC}\n  \
             budgetingMethod: Timeslices\n  objectives:\n    - target: 0.9\n      timeSliceTarget: 0.95\n      \
             timeSliceWindow: 5m\n",
        ),
    ];

    #[test]
    fn a_calendar_timeslices_slo_reads_back_in_the_api_shape() {
        let dir = tempfile::tempdir().expect("tmp");
        for (file, text) in FILES {
            std::fs::write(dir.path().join(file), text).expect("write");
        }
        let options = IngestOptions { formats: Formats(vec![Arc::new(SloFormat)]), ..IngestOptions::default() };
        for db in TestDb::all() {
            let report = ingest(&db.store, &[dir.path().to_path_buf()], &options, &NoProgress).expect("ingest");
            assert_eq!(report.error_count(), 0, "{:?}", report.problems);
            let mut conn = db.store.conn().expect("connection");
            reconcile(&mut conn).expect("reconcile");
            let at: DateTime<Utc> = "2026-03-04T12:00:00Z".parse().expect("instant");
            assert!(slo_view(&mut conn, "default", "nope", at).expect("query").is_none());
            let row = slos::by_name(&mut conn, "default", "checkout-latency").expect("query").expect("stored");
            let stored = StoredSlo::from_row(row).expect("definition");
            // One bad five-minute slice out of March's 8,928.
            let samples = [Sample { minute: at - Duration::minutes(30), good: 1, total: 2 }];
            record(&mut conn, &stored, &samples).expect("record");

            let views = slos_of_service(&mut conn, "default", "checkout", at).expect("views");
            assert_eq!(views.len(), 1);
            let json = serde_json::to_value(&views[0]).expect("serializable");
            assert_eq!(json["name"], "checkout-latency");
            assert_eq!(json["display_name"], "Checkout latency");
            assert_eq!(json["service"], "checkout");
            assert_eq!(json["target"], 0.9);
            assert_eq!((json["window"].as_str(), json["window_type"].as_str()), (Some("1M"), Some("calendar")));
            assert_eq!(json["window_anchor"], "2026-01-01T00:00:00Z");
            assert_eq!(json["period"]["start"], "2026-03-01T00:00:00Z");
            assert_eq!(json["period"]["end"], "2026-04-01T00:00:00Z");
            assert_eq!(json["budgeting_method"], "timeslices");
            assert_eq!((json["slice"].as_str(), json["slice_target"].as_f64()), (Some("5m"), Some(0.95)));
            assert_eq!(json["sli"]["ratio"], 0.0);
            let remaining = 1.0 - 1.0 / ((1.0 - 0.9) * 8928.0);
            assert_eq!(json["error_budget"]["remaining"].as_f64(), Some(remaining));
            // A burn rate of 5 over the last day fires the ticket for 10 % of the month's budget in a day (3.1).
            assert_eq!(json["status"], "at_risk");
            assert_eq!(json["alerts"][2]["firing"], true);
            assert_eq!(json["policy"], "normal");
            assert_eq!(json["source"], "push");
            assert_eq!(json["data_until"], "2026-03-04T11:31:00Z");
            assert_eq!(json["stale_since"], serde_json::Value::Null);
            assert!(json["defined_at"].as_str().is_some_and(|at| at.ends_with("slo.yaml:3:18")), "{json}");
            assert_eq!(json["problems"], serde_json::json!([]));
            let line = json["burn_down"].as_array().expect("burn-down points");
            assert_eq!(line.first().map(|point| &point["at"]), Some(&json["period"]["start"]));
            assert_eq!(line.last().map(|point| point["remaining"].as_f64()), Some(Some(remaining)));
            assert!(json["burn_rates"]["1h"].as_f64().is_some_and(|burn| (burn - 5.0).abs() < 1e-9));
        }
    }
}
