//! Each validation rule, with its message and position, and references resolved across files.

use catalog::yaml::{Limits, Node, parse_documents};
use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::slo::alerts::Severity;
use crate::slo::model::{BudgetingMethod, CalendarLength};

fn docs(text: &str) -> Vec<Node> {
    parse_documents(text, Limits::default()).expect("valid YAML")
}

/// Reads and resolves files given as `(path, text)`.
fn resolve_texts(files: &[(&str, &str)]) -> Resolved {
    let parsed: Vec<(String, SloFile)> =
        files.iter().map(|(path, text)| ((*path).to_owned(), read_slo_documents(&docs(text)))).collect();
    resolve(&parsed)
}

/// The problems of one file named `slo.yaml`, as `line:col: message`.
fn problems_of(text: &str) -> Vec<String> {
    problems(&resolve_texts(&[("slo.yaml", text)])).into_iter().map(|p| p.replacen("slo.yaml:", "", 1)).collect()
}

fn problems(resolved: &Resolved) -> Vec<String> {
    resolved.problems.iter().map(ToString::to_string).collect()
}

/// The one SLO of a file that must have no errors (warnings are allowed).
fn only_slo(text: &str) -> SloDefinition {
    let resolved = resolve_texts(&[("slo.yaml", text)]);
    assert!(resolved.problems.iter().all(|p| !p.problem.is_error()), "{:#?}", problems(&resolved));
    assert_eq!(resolved.slos.len(), 1, "{:#?}", resolved.slos);
    resolved.slos.into_iter().next().expect("one SLO")
}

fn t(text: &str) -> DateTime<Utc> {
    text.parse().expect("RFC 3339 instant")
}

/// A complete OpenSLO v1 SLO with its indicator inline. Positions used below: the duration's value is at
/// 17:17, the budgeting method's at 19:20, the objective at 21:7 and its target's value at 23:15.
const INLINE: &str = "\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-latency
spec:
  service: checkout
  indicator:
    metadata:
      name: checkout-latency
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket[{{.window}}])) by (le))
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - op: lt
      value: 0.3
      target: 0.99
";

fn inline_with(from: &str, to: &str) -> String {
    assert!(INLINE.contains(from), "{from}");
    INLINE.replacen(from, to, 1)
}

#[test]
fn inline_threshold_slo() {
    let slo = only_slo(INLINE);
    assert_eq!(
        (slo.name.as_str(), slo.display_name.as_str(), slo.service.as_str()),
        ("checkout-latency", "checkout-latency", "checkout")
    );
    assert_eq!((slo.path.as_str(), slo.pos), ("slo.yaml", Pos::new(4, 9)));
    assert_eq!(slo.spec.objective.target(), 0.99);
    assert_eq!(slo.spec.window, Window::Rolling(Duration::days(28)));
    assert_eq!(slo.spec.method, BudgetingMethod::Occurrences);
    assert_eq!(slo.spec.alerting, AlertPolicy::defaults_for(Duration::days(28)));
    assert_eq!(
        slo.indicator,
        Indicator::Threshold {
            query: MetricQuery {
                source: Source::Prometheus { url: None },
                query: "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket[{{.window}}])) by (le))"
                    .to_owned(),
            },
            operator: Operator::Lt,
            value: 0.3,
        }
    );
}

#[test]
fn target_outside_the_unit_interval() {
    assert_eq!(
        problems_of(&inline_with("target: 0.99", "target: 1.5")),
        ["23:15: spec.objectives[0].target 1.5 must be between 0 and 1 (exclusive)"]
    );
    assert_eq!(
        problems_of(&inline_with("target: 0.99", "target: 0")),
        ["23:15: spec.objectives[0].target 0 must be between 0 and 1 (exclusive)"]
    );
}

#[test]
fn target_percent_outside_zero_to_hundred() {
    assert_eq!(
        problems_of(&inline_with("target: 0.99", "targetPercent: 150")),
        ["23:22: spec.objectives[0].targetPercent 150 must be between 0 and 100 (exclusive)"]
    );
    assert_eq!(
        problems_of(&inline_with("target: 0.99", "targetPercent: 100")),
        ["23:22: spec.objectives[0].targetPercent 100 must be between 0 and 100 (exclusive)"]
    );
    let slo = only_slo(&inline_with("target: 0.99", "targetPercent: 99.95"));
    assert!((slo.spec.objective.target() - 0.9995).abs() < 1e-12);
}

#[test]
fn target_and_target_percent_together_or_neither() {
    assert_eq!(
        problems_of(&inline_with("target: 0.99", "target: 0.99\n      targetPercent: 99")),
        ["24:22: spec.objectives[0].target and spec.objectives[0].targetPercent cannot both be given"]
    );
    assert_eq!(
        problems_of(&inline_with("      target: 0.99\n", "")),
        ["21:7: spec.objectives[0].target or spec.objectives[0].targetPercent is required"]
    );
    assert_eq!(
        problems_of(&inline_with("target: 0.99", "target: high")),
        ["23:15: spec.objectives[0].target must be a number, found a string"]
    );
}

#[test]
fn zero_and_malformed_windows() {
    assert_eq!(
        problems_of(&inline_with("duration: 28d", "duration: 0d")),
        ["17:17: spec.timeWindow[0].duration `0d` must be longer than zero"]
    );
    assert_eq!(
        problems_of(&inline_with("duration: 28d", "duration: 2s")),
        ["17:17: spec.timeWindow[0].duration `2s` has an unknown unit `s`; the units are m (minutes), h, d, w, M \
         (months), Q and Y"]
    );
    assert_eq!(
        problems_of(&inline_with("duration: 28d", "duration: 1.5d")),
        ["17:17: spec.timeWindow[0].duration `1.5d` is not a duration: write a whole number and a unit, as in 5m, 4w \
         or 1M"]
    );
    assert_eq!(
        problems_of(&inline_with("duration: 28d", "duration: 28")),
        ["17:17: spec.timeWindow[0].duration must be a duration such as 5m, 28d or 1M, found a number"]
    );
}

#[test]
fn months_and_minutes_are_told_apart() {
    assert_eq!(
        only_slo(&inline_with("duration: 28d", "duration: 1M")).spec.window,
        Window::Rolling(Duration::days(30))
    );
    assert_eq!(
        only_slo(&inline_with("duration: 28d", "duration: 90m")).spec.window,
        Window::Rolling(Duration::minutes(90))
    );
}

#[test]
fn unknown_budgeting_method_lists_the_known_ones() {
    assert_eq!(
        problems_of(&inline_with("budgetingMethod: Occurrences", "budgetingMethod: Events")),
        ["19:20: spec.budgetingMethod `Events` is not known; use Occurrences, Timeslices, RatioTimeslices"]
    );
    // The spec itself writes `TimeSlices` in places; a bare number of minutes is a slice too.
    let slo = only_slo(
        &inline_with("budgetingMethod: Occurrences", "budgetingMethod: TimeSlices")
            .replace("target: 0.99", "target: 0.99\n      timeSliceTarget: 0.95\n      timeSliceWindow: 5"),
    );
    assert_eq!(slo.spec.method, BudgetingMethod::Timeslices { slice: Duration::minutes(5), slice_target: 0.95 });
}

#[test]
fn missing_required_fields() {
    assert_eq!(problems_of(&inline_with("  service: checkout\n", "")), ["6:3: spec.service is required"]);
    assert_eq!(
        problems_of(&inline_with("  name: checkout-latency\nspec:", "  displayName: x\nspec:")),
        ["4:3: metadata.name is required"]
    );
    assert_eq!(
        problems_of(&inline_with("  budgetingMethod: Occurrences\n", "")),
        ["6:3: spec.budgetingMethod is required"]
    );
    let without_objectives = INLINE.split("  objectives:").next().expect("head");
    assert_eq!(problems_of(without_objectives), ["6:3: spec.objectives is required"]);
    let without_indicator = INLINE.replace(
        &INLINE[INLINE.find("  indicator:").expect("indicator")..INLINE.find("  timeWindow").expect("window")],
        "",
    );
    assert_eq!(
        problems_of(&without_indicator),
        ["6:3: spec.indicator or spec.indicatorRef is required (or one in each objective)"]
    );
}

#[test]
fn timeslices_need_a_slice_and_a_slice_target() {
    assert_eq!(
        problems_of(&inline_with("budgetingMethod: Occurrences", "budgetingMethod: Timeslices")),
        [
            "21:7: spec.objectives[0].timeSliceWindow is required with budgetingMethod Timeslices",
            "21:7: spec.objectives[0].timeSliceTarget is required with budgetingMethod Timeslices",
        ]
    );
    assert_eq!(
        problems_of(&inline_with("budgetingMethod: Occurrences", "budgetingMethod: RatioTimeslices")),
        ["21:7: spec.objectives[0].timeSliceWindow is required with budgetingMethod RatioTimeslices"]
    );
}

#[test]
fn slices_must_divide_an_hour_and_slice_targets_be_at_most_one() {
    let timeslices = |window: &str, target: &str| {
        inline_with("budgetingMethod: Occurrences", "budgetingMethod: Timeslices").replacen(
            "      target: 0.99\n",
            &format!("      target: 0.99\n      timeSliceWindow: {window}\n      timeSliceTarget: {target}\n"),
            1,
        )
    };
    assert_eq!(
        problems_of(&timeslices("7m", "0.95")),
        ["24:24: spec.objectives[0].timeSliceWindow: time slice of 420 s must be a whole number of minutes that \
         divides an hour"]
    );
    assert_eq!(
        problems_of(&timeslices("1m", "1.5")),
        ["25:24: spec.objectives[0].timeSliceTarget: slice target 1.5 must be greater than 0 and at most 1"]
    );
    let slo = only_slo(&timeslices("15m", "1"));
    assert_eq!(slo.spec.method, BudgetingMethod::Timeslices { slice: Duration::minutes(15), slice_target: 1.0 });
}

#[test]
fn calendar_windows() {
    let calendar = |duration: &str, zone: &str| {
        inline_with(
            "    - duration: 28d\n      isRolling: true\n",
            &format!(
                "    - duration: {duration}\n      calendar:\n        startTime: 2026-01-01 06:00:00\n        \
                 timeZone: {zone}\n"
            ),
        )
    };
    let slo = only_slo(&calendar("1M", "Etc/UTC"));
    assert_eq!(slo.spec.window, Window::Calendar { start: t("2026-01-01T06:00:00Z"), length: CalendarLength::Month });
    assert_eq!(slo.spec.alerting, AlertPolicy::defaults_for(Duration::days(30)));
    assert_eq!(
        only_slo(&calendar("1Q", "UTC")).spec.window,
        Window::Calendar { start: t("2026-01-01T06:00:00Z"), length: CalendarLength::Quarter }
    );
    assert_eq!(
        problems_of(&calendar("1M", "Europe/Paris")),
        ["20:19: warning: spec.timeWindow[0].calendar.timeZone `Europe/Paris` is not supported: Portolan counts \
         calendar periods in UTC, so startTime is read as UTC"]
    );
    assert_eq!(
        problems_of(&calendar("2M", "UTC")),
        ["17:17: spec.timeWindow[0].duration `2M` is not a calendar period: a calendar window is 1d, 1w, 1M, 1Q or 1Y"]
    );
    assert_eq!(
        problems_of(&calendar("1m", "UTC")),
        ["17:17: spec.timeWindow[0].duration `1m` is not a calendar period: a calendar window is 1d, 1w, 1M, 1Q or \
         1Y (`m` is minutes; a month is `1M`)"]
    );
    assert_eq!(
        problems_of(&calendar("1M", "UTC").replace("2026-01-01 06:00:00", "January 1st")),
        ["19:20: spec.timeWindow[0].calendar.startTime `January 1st` is not a date and time such as 2022-01-01 \
         12:00:00"]
    );
    assert_eq!(
        problems_of(&calendar("1M", "UTC").replace("      calendar:", "      isRolling: true\n      calendar:")),
        ["20:9: spec.timeWindow[0].calendar cannot be given with isRolling: true"]
    );
    assert_eq!(
        problems_of(&inline_with("isRolling: true", "isRolling: false")),
        ["17:7: spec.timeWindow[0].calendar is required when isRolling is false"]
    );
}

#[test]
fn window_list_must_hold_one_window_and_defaults_to_thirty_days() {
    assert_eq!(
        problems_of(&inline_with("      isRolling: true\n", "      isRolling: true\n    - duration: 7d\n")),
        ["17:5: spec.timeWindow must hold exactly one window, found 2"]
    );
    let without = inline_with("  timeWindow:\n    - duration: 28d\n      isRolling: true\n", "");
    assert_eq!(
        problems_of(&without),
        ["6:3: warning: spec.timeWindow is not given; the SLO is read over a rolling 30d window"]
    );
    assert_eq!(only_slo(&without).spec.window, Window::Rolling(Duration::days(30)));
}

#[test]
fn threshold_metrics_need_op_and_value() {
    assert_eq!(
        problems_of(&inline_with("    - op: lt\n      value: 0.3\n", "    - value: 0.3\n")),
        ["21:7: spec.objectives[0].op is required with a thresholdMetric"]
    );
    assert_eq!(
        problems_of(&inline_with("op: lt", "op: eq")),
        ["21:11: spec.objectives[0].op `eq` is not known; use lt, lte, gt or gte"]
    );
}

#[test]
fn prometheus_sources_need_a_query_and_push_sources_none() {
    let without_query = inline_with("          spec:\n            query: ", "          x: ");
    assert_eq!(
        problems_of(&without_query),
        [
            "13:11: spec.indicator.spec.thresholdMetric.metricSource.spec.query (PromQL) is required for a Prometheus source"
        ]
    );
    let push = only_slo(&without_query.replace("type: Prometheus", "type: Push"));
    assert_eq!(
        push.indicator,
        Indicator::Threshold {
            query: MetricQuery { source: Source::Push, query: String::new() },
            operator: Operator::Lt,
            value: 0.3
        }
    );
    let promql = only_slo(&inline_with("            query: ", "            promql: "));
    assert!(
        matches!(promql.indicator, Indicator::Threshold { query: MetricQuery { ref query, .. }, .. } if query.starts_with("histogram_quantile"))
    );
    let no_type = problems_of(&inline_with("          type: Prometheus\n", ""));
    assert_eq!(
        no_type,
        ["13:11: spec.indicator.spec.thresholdMetric.metricSource.type is required when no metricSourceRef is given"]
    );
}

#[test]
fn other_sources_keep_their_spec() {
    let cloudwatch = inline_with(
        "          type: Prometheus\n          spec:\n            query: ",
        "          type: CloudWatch\n          spec:\n            namespace: AWS/ELB\n            metricName: ",
    );
    let slo = only_slo(&cloudwatch);
    let Indicator::Threshold { query, .. } = slo.indicator else { panic!("threshold") };
    assert_eq!(query.source, Source::Other("CloudWatch".to_owned()));
    let spec: serde_json::Value = serde_json::from_str(&query.query).expect("JSON");
    assert_eq!(spec["namespace"], "AWS/ELB");
}

#[test]
fn several_objectives_give_one_slo_each() {
    let text = inline_with(
        "    - op: lt\n      value: 0.3\n      target: 0.99\n",
        "    - op: lt\n      value: 0.3\n      target: 0.99\n    - displayName: Slow\n      op: lt\n      value: 1\n      \
         targetPercent: 99.9\n",
    )
    .replace("  name: checkout-latency\nspec:", "  name: checkout-latency\n  displayName: Checkout latency\nspec:");
    let resolved = resolve_texts(&[("slo.yaml", &text)]);
    assert_eq!(problems(&resolved), Vec::<String>::new());
    let slos: Vec<(&str, &str, Pos, f64)> = resolved
        .slos
        .iter()
        .map(|s| (s.name.as_str(), s.display_name.as_str(), s.pos, s.spec.objective.target()))
        .collect();
    assert_eq!(slos.len(), 2);
    assert_eq!(slos[0], ("checkout-latency-0", "Checkout latency: objective 0", Pos::new(22, 7), 0.99));
    assert_eq!((slos[1].0, slos[1].1, slos[1].2), ("checkout-latency-1", "Checkout latency: Slow", Pos::new(25, 7)));
    assert!((slos[1].3 - 0.999).abs() < 1e-12);
    assert!(matches!(resolved.slos[1].indicator, Indicator::Threshold { value, .. } if value == 1.0));
}

#[test]
fn documents_that_are_not_slos_are_skipped_and_versions_checked() {
    let backstage = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}\nspec: {}\n";
    assert!(!is_slo_document(&docs(backstage)[0]));
    assert!(!is_slo_document(&docs("version: 3\nservices: {}\n")[0]));
    assert!(!is_slo_document(&docs("- a\n")[0]));
    assert!(is_slo_document(&docs(INLINE)[0]));
    assert!(is_slo_document(&docs(SLOTH)[0]));
    assert!(is_slo_document(&docs(SLOTH_K8S)[0]));
    let mixed = format!("{backstage}---\n{INLINE}");
    assert_eq!(resolve_texts(&[("slo.yaml", &mixed)]).slos.len(), 1);

    assert_eq!(
        problems_of(&INLINE.replace("openslo/v1", "openslo/v2alpha")),
        ["1:13: unsupported apiVersion `openslo/v2alpha`; Portolan reads openslo/v1 and openslo/v1alpha"]
    );
    assert_eq!(
        problems_of(&INLINE.replace("kind: SLO", "kind: Slo")),
        ["2:7: unknown kind `Slo`; the openslo/v1 kinds are SLO, SLI, DataSource, AlertPolicy, AlertCondition, \
         AlertNotificationTarget, Service"]
    );
    assert_eq!(
        problems_of(&SLOTH.replace("prometheus/v1", "prometheus/v2")),
        ["1:10: unsupported version `prometheus/v2`; Portolan reads Sloth's prometheus/v1"]
    );
}

/// An SLO in one file whose indicator, data source, alert policy and condition are in others.
const SLO_WITH_REFS: &str = "\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
  displayName: Checkout availability
spec:
  service: checkout
  indicatorRef: checkout-requests
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.999
  alertPolicies:
    - alertPolicyRef: fast-burn
";

const SLI: &str = "\
apiVersion: openslo/v1
kind: SLI
metadata:
  name: checkout-requests
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource:
        metricSourceRef: prometheus
        spec:
          query: sum(rate(http_requests_total{job=\"checkout\",code=~\"5..\"}[{{.window}}]))
    total:
      metricSource:
        metricSourceRef: prometheus
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total{job=\"checkout\"}[{{.window}}]))
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata:
  name: fast-burn
spec:
  alertWhenBreaching: true
  conditions:
    - conditionRef: burn-14x
  notificationTargets:
    - targetRef: on-call
";

const SOURCES: &str = "\
apiVersion: openslo/v1
kind: DataSource
metadata:
  name: prometheus
spec:
  type: Prometheus
  connectionDetails:
    url: http://prometheus.monitoring:9090
---
apiVersion: openslo/v1
kind: AlertCondition
metadata:
  name: burn-14x
spec:
  severity: page
  condition:
    kind: burnrate
    op: gt
    threshold: 14.4
    lookbackWindow: 1h
    alertAfter: 0m
---
apiVersion: openslo/v1
kind: AlertNotificationTarget
metadata:
  name: on-call
spec:
  target: pager
";

#[test]
fn references_are_resolved_across_files() {
    let resolved = resolve_texts(&[("slo.yaml", SLO_WITH_REFS), ("sli.yaml", SLI), ("sources.yaml", SOURCES)]);
    assert_eq!(problems(&resolved), Vec::<String>::new());
    let [slo] = &resolved.slos[..] else { panic!("one SLO: {:#?}", resolved.slos) };
    let prometheus = Source::Prometheus { url: Some("http://prometheus.monitoring:9090".to_owned()) };
    assert_eq!(
        slo.indicator,
        Indicator::RatioBad {
            bad: MetricQuery {
                source: prometheus.clone(),
                query: "sum(rate(http_requests_total{job=\"checkout\",code=~\"5..\"}[{{.window}}]))".to_owned()
            },
            total: MetricQuery {
                source: prometheus,
                query: "sum(rate(http_requests_total{job=\"checkout\"}[{{.window}}]))".to_owned()
            },
        }
    );
    assert_eq!(
        slo.spec.alerting.rules,
        [AlertRule {
            severity: Severity::Page,
            long_window: Duration::hours(1),
            short_window: Duration::minutes(5),
            threshold: 14.4
        }]
    );
    assert_eq!(
        (slo.display_name.as_str(), slo.path.as_str(), slo.pos),
        ("Checkout availability", "slo.yaml", Pos::new(4, 9))
    );
}

#[test]
fn unresolved_references_are_errors_where_they_are_written() {
    let resolved = resolve_texts(&[("slo.yaml", SLO_WITH_REFS), ("sli.yaml", SLI)]);
    assert!(resolved.slos.is_empty());
    assert_eq!(
        problems(&resolved),
        [
            "slo.yaml:8:17: spec.indicatorRef: SLI `checkout-requests` (sli.yaml:4:9) has errors",
            "slo.yaml:16:23: spec.alertPolicies[0].alertPolicyRef: AlertPolicy `fast-burn` (sli.yaml:23:9) has errors",
            "sli.yaml:10:26: spec.ratioMetric.bad.metricSource.metricSourceRef: no DataSource named `prometheus` in the \
         files read",
            "sli.yaml:15:26: spec.ratioMetric.total.metricSource.metricSourceRef: no DataSource named `prometheus` in the \
         files read",
            "sli.yaml:27:21: spec.conditions[0].conditionRef: no AlertCondition named `burn-14x` in the files read",
        ]
    );
    let resolved = resolve_texts(&[("slo.yaml", SLO_WITH_REFS)]);
    assert_eq!(
        problems(&resolved),
        [
            "slo.yaml:8:17: spec.indicatorRef: no SLI named `checkout-requests` in the files read",
            "slo.yaml:16:23: spec.alertPolicies[0].alertPolicyRef: no AlertPolicy named `fast-burn` in the files read",
        ]
    );
}

#[test]
fn a_source_type_must_match_its_data_source() {
    let sli = SLI.replacen("        type: Prometheus", "        type: Datadog", 1);
    let resolved = resolve_texts(&[("slo.yaml", SLO_WITH_REFS), ("sli.yaml", &sli), ("sources.yaml", SOURCES)]);
    assert_eq!(
        problems(&resolved),
        [
            "slo.yaml:8:17: spec.indicatorRef: SLI `checkout-requests` (sli.yaml:4:9) has errors",
            "sli.yaml:16:15: spec.ratioMetric.total.metricSource.type `Datadog` is not the type `Prometheus` of \
         DataSource `prometheus` (sources.yaml:4:9)",
        ]
    );
    assert_eq!(resolved.slos.len(), 0);
}

#[test]
fn duplicate_names_are_errors_on_the_second_definition() {
    let resolved = resolve_texts(&[("a.yaml", INLINE), ("b.yaml", INLINE)]);
    assert_eq!(resolved.slos.len(), 1);
    assert_eq!(resolved.slos[0].path, "a.yaml");
    assert_eq!(
        problems(&resolved),
        ["b.yaml:4:9: SLO `checkout-latency` is defined twice; the first definition is at a.yaml:4:9"]
    );
    // Names are unique across services too: the API addresses an SLO by its name.
    let other_service = INLINE.replace("service: checkout", "service: payments");
    assert_eq!(resolve_texts(&[("a.yaml", INLINE), ("b.yaml", &other_service)]).slos.len(), 1);

    let both = format!("{SLI}---\n{SLI}");
    let resolved = resolve_texts(&[("slo.yaml", SLO_WITH_REFS), ("sli.yaml", &both), ("sources.yaml", SOURCES)]);
    assert_eq!(resolved.slos.len(), 1);
    assert_eq!(
        problems(&resolved),
        [
            "sli.yaml:34:9: SLI `checkout-requests` is defined twice; the first definition is at sli.yaml:4:9",
            "sli.yaml:53:9: AlertPolicy `fast-burn` is defined twice; the first definition is at sli.yaml:23:9",
        ]
    );
}

#[test]
fn alert_conditions() {
    let condition = |severity: &str, op: &str, after: &str| {
        SOURCES
            .replace("severity: page", &format!("severity: {severity}"))
            .replace("op: gt", &format!("op: {op}"))
            .replace("alertAfter: 0m", &format!("alertAfter: {after}"))
    };
    let file = |text: &str| read_slo_documents(&docs(text));
    assert_eq!(file(&condition("critical", "gte", "0m")).alert_conditions[0].rule.severity, Severity::Page);
    let sev1 = file(&condition("sev1", "gt", "0m"));
    assert_eq!(sev1.alert_conditions[0].rule.severity, Severity::Ticket);
    assert_eq!(
        sev1.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "15:13: warning: spec.severity `sev1` is read as a ticket; page and critical page, ticket and warning open a \
         ticket"
        ]
    );
    let lte = file(&condition("page", "lte", "0m"));
    assert!(lte.alert_conditions.is_empty());
    assert_eq!(
        lte.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["18:9: spec.condition.op `lte` would alert while the budget burns slowly; a burn-rate alert fires above its \
         threshold: use gt or gte"]
    );
    let after = file(&condition("page", "gt", "5m"));
    assert_eq!(after.alert_conditions.len(), 1);
    assert_eq!(
        after.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "21:17: warning: spec.condition.alertAfter is not applied: a rule fires as soon as the burn rate is above its \
         threshold over both its windows"
        ]
    );
    let not_breaching = SLI.replace("alertWhenBreaching: true", "alertWhenBreaching: false");
    let resolved =
        resolve_texts(&[("slo.yaml", SLO_WITH_REFS), ("sli.yaml", &not_breaching), ("sources.yaml", SOURCES)]);
    assert!(resolved.slos[0].spec.alerting.rules.is_empty());
}

#[test]
fn ratio_metrics_take_good_or_bad_and_raw_alone() {
    let both = SLI.replacen("    total:", "    good:\n      metricSource: {type: Push}\n    total:", 1);
    assert_eq!(problems_of(&both)[0], "9:7: spec.ratioMetric.good and spec.ratioMetric.bad cannot both be given");
    let raw = SLI.replacen("    bad:", "    raw:", 1);
    assert_eq!(problems_of(&raw)[0], "9:7: spec.ratioMetric.raw cannot be given with spec.ratioMetric.total");
    let raw_alone = "apiVersion: openslo/v1\nkind: SLI\nmetadata:\n  name: errors\nspec:\n  ratioMetric:\n    rawType: \
                     failure\n    raw:\n      metricSource:\n        type: Prometheus\n        spec:\n          query: \
                     job:error_ratio:rate5m\n";
    let slo = SLO_WITH_REFS
        .replace("indicatorRef: checkout-requests", "indicatorRef: errors")
        .replace("  alertPolicies:\n    - alertPolicyRef: fast-burn\n", "");
    let slo = only_slo(&format!("{raw_alone}---\n{slo}"));
    assert_eq!(
        slo.indicator,
        Indicator::Raw {
            query: MetricQuery { source: Source::Prometheus { url: None }, query: "job:error_ratio:rate5m".to_owned() },
            raw_type: RawType::Failure,
        }
    );
}

/// A Sloth file with one SLO. The objective's value is at 5:16.
const SLOTH: &str = "\
version: \"prometheus/v1\"
service: \"checkout\"
slos:
  - name: \"availability\"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      page_alert:
        disable: true
";

const SLOTH_K8S: &str = "\
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata:
  name: checkout
spec:
  service: checkout
  slos:
    - name: availability
      objective: 99.5
      sli:
        raw:
          errorRatioQuery: slo:sli_error:ratio_rate{{.window}}
      alerting:
        ticketAlert:
          disable: true
";

#[test]
fn sloth_events_and_disabled_alerts() {
    let slo = only_slo(SLOTH);
    assert_eq!(
        (slo.name.as_str(), slo.service.as_str(), slo.pos),
        ("checkout-availability", "checkout", Pos::new(4, 11))
    );
    assert!((slo.spec.objective.target() - 0.999).abs() < 1e-12);
    assert_eq!(slo.spec.window, Window::Rolling(Duration::days(30)));
    let severities: Vec<Severity> = slo.spec.alerting.rules.iter().map(|rule| rule.severity).collect();
    assert_eq!(severities, [Severity::Ticket, Severity::Ticket]);
    assert_eq!(
        slo.indicator,
        Indicator::RatioBad {
            bad: MetricQuery {
                source: Source::Prometheus { url: None },
                query: "sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))".to_owned()
            },
            total: MetricQuery {
                source: Source::Prometheus { url: None },
                query: "sum(rate(http_requests_total[{{.window}}]))".to_owned()
            },
        }
    );
}

#[test]
fn sloth_objective_outside_zero_to_hundred() {
    assert_eq!(
        problems_of(&SLOTH.replace("objective: 99.9", "objective: 150")),
        ["5:16: slos[0].objective 150 must be between 0 and 100 (exclusive)"]
    );
    assert_eq!(
        problems_of(&SLOTH.replace("objective: 99.9", "objective: 100")),
        ["5:16: slos[0].objective 100 must be between 0 and 100 (exclusive)"]
    );
}

#[test]
fn sloth_slos_stand_alone_but_not_without_their_group() {
    let two = SLOTH.replacen(
        "slos:\n",
        "slos:\n  - name: broken\n    objective: 0\n    sli: {raw: {error_ratio_query: x}}\n",
        1,
    );
    let resolved = resolve_texts(&[("slo.yaml", &two)]);
    assert_eq!(problems(&resolved), ["slo.yaml:5:16: slos[0].objective 0 must be between 0 and 100 (exclusive)"]);
    let names: Vec<&str> = resolved.slos.iter().map(|slo| slo.name.as_str()).collect();
    assert_eq!(names, ["checkout-availability"]);
    let empty_service = SLOTH.replace("service: \"checkout\"", "service: \"\"");
    let resolved = resolve_texts(&[("slo.yaml", &empty_service)]);
    assert_eq!(problems(&resolved), ["slo.yaml:2:10: service must not be empty"]);
    assert!(resolved.slos.is_empty());
}

#[test]
fn sloth_spellings_raw_and_plugins() {
    assert_eq!(
        problems_of(&SLOTH.replace("error_query", "errorQuery")),
        ["8:9: slos[0].sli.events.error_query is required (Sloth prometheus/v1 files spell it error_query, not \
         errorQuery)"]
    );
    assert_eq!(
        problems_of(&SLOTH.replace("page_alert", "pageAlert")),
        ["12:9: slos[0].alerting.pageAlert is not read: Sloth prometheus/v1 files spell it page_alert"]
    );
    let plugin = SLOTH.replace(
        "      events:\n        error_query: sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))\n        total_query: sum(rate(http_requests_total[{{.window}}]))\n",
        "      plugin:\n        id: sloth-common/kubernetes/apiserver/availability\n",
    );
    assert_eq!(
        problems_of(&plugin),
        [
            "8:9: slos[0].sli.plugin is not supported: the queries of Sloth's SLI plugins are made by plugin code; write \
         slos[0].sli.events or slos[0].sli.raw"
        ]
    );
    assert_eq!(problems_of(&SLOTH.replace("service: \"checkout\"\n", "")), ["1:1: service is required"]);

    let slo = only_slo(SLOTH_K8S);
    assert_eq!(
        slo.indicator,
        Indicator::Raw {
            query: MetricQuery {
                source: Source::Prometheus { url: None },
                query: "slo:sli_error:ratio_rate{{.window}}".to_owned()
            },
            raw_type: RawType::Failure,
        }
    );
    assert!((slo.spec.objective.target() - 0.995).abs() < 1e-12);
    assert!(slo.spec.alerting.rules.iter().all(|rule| rule.severity == Severity::Page));
    assert_eq!(slo.spec.alerting.rules.len(), 2);
    assert_eq!(
        problems_of(&SLOTH_K8S.replace("kind: PrometheusServiceLevel", "kind: PrometheusSLO")),
        ["2:7: unknown kind `PrometheusSLO`; the sloth.slok.dev/v1 kind is PrometheusServiceLevel"]
    );
}
