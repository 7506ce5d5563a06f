//! Every example under `shared/fixtures/openslo` (OpenSLO's and Sloth's own examples): what it yields, or why
//! it is refused.

use std::path::Path;

use catalog::yaml::{Limits, parse_documents};
use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::slo::model::{BudgetingMethod, CalendarLength};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/openslo");

/// The YAML files below, each read by one test here.
const TESTED: [&str; 11] = [
    "OpenSLO/examples/budgeting-method/occurences-slo.yaml",
    "OpenSLO/examples/budgeting-method/ratio-timeslices.yaml",
    "OpenSLO/examples/budgeting-method/timeslices-slo.yaml",
    "OpenSLO/examples/treat-low-traffic-as-equally-important/timeslices-slo.yaml",
    "sloth/examples/getting-started.yml",
    "sloth/examples/home-wifi.yml",
    "sloth/examples/kubernetes-apiserver.yml",
    "sloth/examples/multifile.yml",
    "sloth/examples/no-alerts.yml",
    "sloth/examples/openslo-getting-started.yml",
    "sloth/examples/openslo-kubernetes-apiserver.yml",
];

/// Reads and resolves one fixture on its own.
fn load(relative: &str) -> Resolved {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join(relative)).expect("readable fixture");
    let docs = parse_documents(&text, Limits::default()).expect("valid YAML");
    resolve(&[(relative.to_owned(), read_slo_documents(&docs))])
}

fn problems(resolved: &Resolved) -> Vec<String> {
    resolved.problems.iter().map(ToString::to_string).collect()
}

fn t(text: &str) -> DateTime<Utc> {
    text.parse().expect("RFC 3339 instant")
}

fn assert_target(slo: &SloDefinition, expected: f64) {
    let target = slo.spec.objective.target();
    assert!((target - expected).abs() < 1e-12, "{}: target {target} instead of {expected}", slo.name);
}

/// Sloth's SLOs: a rolling 30 days, events counted, bad and total PromQL queries with `{{.window}}` kept.
fn assert_sloth(slo: &SloDefinition, service: &str, name: &str, target: f64) -> (String, String) {
    // Sloth's SLO names are unique within their service; Portolan prefixes the service, as Sloth's rules do.
    assert_eq!((slo.service.as_str(), slo.name.as_str()), (service, format!("{service}-{name}").as_str()));
    assert_eq!(slo.display_name, name);
    assert_target(slo, target);
    assert_eq!(slo.spec.window, Window::Rolling(Duration::days(30)));
    assert_eq!(slo.spec.method, BudgetingMethod::Occurrences);
    let Indicator::RatioBad { bad, total } = &slo.indicator else { panic!("{name}: {:?}", slo.indicator) };
    for query in [bad, total] {
        assert_eq!(query.source, Source::Prometheus { url: None });
        assert!(query.query.contains("{{.window}}"), "{}", query.query);
    }
    (bad.query.clone(), total.query.clone())
}

#[test]
fn every_fixture_file_has_a_test() {
    fn yaml_files(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("fixture folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                yaml_files(&path, found);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                let relative = path.strip_prefix(FIXTURES).expect("under the fixtures");
                found.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut found = Vec::new();
    yaml_files(Path::new(FIXTURES), &mut found);
    found.sort();
    assert_eq!(found, TESTED);
}

#[test]
fn occurrences_with_a_threshold_metric() {
    let resolved = load(TESTED[0]);
    assert_eq!(problems(&resolved), Vec::<String>::new());
    let [slo] = &resolved.slos[..] else { panic!("{:#?}", resolved.slos) };
    assert_eq!(
        (slo.name.as_str(), slo.display_name.as_str(), slo.service.as_str()),
        ("search-slo", "Searching time", "web-shop")
    );
    assert_eq!(slo.pos, Pos::new(5, 9));
    assert_target(slo, 0.99);
    assert_eq!(slo.spec.window, Window::Rolling(Duration::weeks(2)));
    assert_eq!(slo.spec.method, BudgetingMethod::Occurrences);
    // `alertPolicies:` is there but empty: the default rules for two weeks.
    assert_eq!(slo.spec.alerting, AlertPolicy::defaults_for(Duration::weeks(2)));
    // `type: Any` is an example placeholder, kept as a source type Portolan does not query.
    assert_eq!(
        slo.indicator,
        Indicator::Threshold {
            query: MetricQuery { source: Source::Other("Any".to_owned()), query: "Any".to_owned() },
            operator: Operator::Lt,
            value: 500.0,
        }
    );
}

#[test]
fn ratio_timeslices() {
    let resolved = load(TESTED[1]);
    assert_eq!(problems(&resolved), Vec::<String>::new());
    let [slo] = &resolved.slos[..] else { panic!("{:#?}", resolved.slos) };
    assert_eq!((slo.name.as_str(), slo.display_name.as_str()), ("main-page", "Main page availability"));
    assert_target(slo, 0.99);
    assert_eq!(slo.spec.window, Window::Rolling(Duration::weeks(2)));
    assert_eq!(slo.spec.method, BudgetingMethod::RatioTimeslices { slice: Duration::minutes(1) });
    let any = MetricQuery { source: Source::Other("Any".to_owned()), query: "Any".to_owned() };
    assert_eq!(slo.indicator, Indicator::Ratio { good: any.clone(), total: any });
}

/// This example is invalid: its calendar window is `duration: 1m`, one minute (`m` is minutes in OpenSLO's
/// duration shorthand; a month is `1M`), while its comment says the contract is for a month. A one-minute
/// calendar period is not one Portolan can count (nor a sensible SLO window: each period would be a single
/// one-minute slice), so the SLO (both its objectives) is refused. The New York time zone is also reported.
#[test]
fn timeslices_example_with_a_one_minute_calendar_window_is_refused() {
    let resolved = load(TESTED[2]);
    assert!(resolved.slos.is_empty(), "{:#?}", resolved.slos);
    assert_eq!(
        problems(&resolved),
        [
            "OpenSLO/examples/budgeting-method/timeslices-slo.yaml:27:17: spec.timeWindow[0].duration `1m` is not a \
         calendar period: a calendar window is 1d, 1w, 1M, 1Q or 1Y (`m` is minutes; a month is `1M`)",
            "OpenSLO/examples/budgeting-method/timeslices-slo.yaml:31:19: warning: spec.timeWindow[0].calendar.timeZone \
         `America/New_York` is not supported: Portolan counts calendar periods in UTC, so startTime is read as UTC",
        ]
    );
}

#[test]
fn weekly_calendar_timeslices() {
    let resolved = load(TESTED[3]);
    let [slo] = &resolved.slos[..] else { panic!("{:#?}", resolved.slos) };
    assert_eq!(
        problems(&resolved),
        ["OpenSLO/examples/treat-low-traffic-as-equally-important/timeslices-slo.yaml:29:19: warning: \
         spec.timeWindow[0].calendar.timeZone `America/New_York` is not supported: Portolan counts calendar periods \
         in UTC, so startTime is read as UTC"]
    );
    assert_eq!((slo.name.as_str(), slo.service.as_str()), ("service-availability", "web-availability"));
    assert_target(slo, 0.9995);
    assert_eq!(slo.spec.window, Window::Calendar { start: t("2022-01-01T12:00:00Z"), length: CalendarLength::Week });
    assert_eq!(slo.spec.method, BudgetingMethod::Timeslices { slice: Duration::minutes(1), slice_target: 0.95 });
    assert_eq!(slo.spec.alerting, AlertPolicy::defaults_for(Duration::weeks(1)));
    assert!(matches!(slo.indicator, Indicator::Ratio { .. }));
}

#[test]
fn sloth_getting_started() {
    let resolved = load(TESTED[4]);
    assert_eq!(problems(&resolved), Vec::<String>::new());
    let [slo] = &resolved.slos[..] else { panic!("{:#?}", resolved.slos) };
    let (bad, total) = assert_sloth(slo, "myservice", "requests-availability", 0.999);
    assert_eq!(
        bad,
        r#"sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))"#
    );
    assert_eq!(total, r#"sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))"#);
    assert_eq!(slo.description, "Common SLO based on availability for HTTP request responses.");
    assert_eq!(slo.pos, Pos::new(9, 11));
    // Page and ticket alerts, Sloth's (and the SRE Workbook's) rules for 30 days.
    assert_eq!(slo.spec.alerting, AlertPolicy::defaults_for(Duration::days(30)));
}

#[test]
fn sloth_home_wifi() {
    let resolved = load(TESTED[5]);
    assert_eq!(problems(&resolved), Vec::<String>::new());
    let [good, risk] = &resolved.slos[..] else { panic!("{:#?}", resolved.slos) };
    let (bad, _) = assert_sloth(good, "home-wifi", "good-wifi-client-satisfaction", 0.95);
    assert_eq!(
        bad,
        "sum_over_time((count(unifipoller_client_satisfaction_ratio < 0.75))[{{.window}}:]) OR on() vector(0)"
    );
    let (bad, _) = assert_sloth(risk, "home-wifi", "risk-wifi-client-satisfaction", 0.999);
    assert!(bad.contains("< 0.5))"), "{bad}");
}

#[test]
fn sloth_kubernetes_apiserver() {
    let resolved = load(TESTED[6]);
    assert_eq!(problems(&resolved), Vec::<String>::new());
    let [availability, latency] = &resolved.slos[..] else { panic!("{:#?}", resolved.slos) };
    assert_sloth(availability, "k8s-apiserver", "requests-availability", 0.999);
    let (bad, _) = assert_sloth(latency, "k8s-apiserver", "requests-latency", 0.99);
    // A literal block, kept line by line.
    assert!(
        bad.starts_with(
            "(\n  sum(rate(apiserver_request_duration_seconds_count{verb!=\"WATCH\"}[{{.window}}]))\n  -\n"
        ),
        "{bad}"
    );
}

/// Two documents, two services: the same SLO name in each is two SLOs.
#[test]
fn sloth_multifile() {
    let resolved = load(TESTED[7]);
    assert_eq!(problems(&resolved), Vec::<String>::new());
    let [first, second] = &resolved.slos[..] else { panic!("{:#?}", resolved.slos) };
    assert_sloth(first, "myservice", "requests-availability", 0.999);
    assert_sloth(second, "myservice2", "requests-availability", 0.9999);
    assert_eq!((first.pos, second.pos), (Pos::new(10, 11), Pos::new(42, 11)));
}

#[test]
fn sloth_no_alerts() {
    let resolved = load(TESTED[8]);
    assert_eq!(problems(&resolved), Vec::<String>::new());
    let [slo] = &resolved.slos[..] else { panic!("{:#?}", resolved.slos) };
    let (bad, _) = assert_sloth(slo, "myapp", "http-availability", 0.9999);
    assert!(bad.starts_with("sum(\n  rate("), "{bad}");
    assert!(slo.spec.alerting.rules.is_empty(), "{:?}", slo.spec.alerting);
}

/// OpenSLO v1alpha as Sloth reads it: good and total PromQL queries in the objective, a 30-day window.
#[test]
fn sloth_openslo_getting_started() {
    let resolved = load(TESTED[9]);
    assert_eq!(problems(&resolved), Vec::<String>::new());
    let [slo] = &resolved.slos[..] else { panic!("{:#?}", resolved.slos) };
    assert_eq!(
        (slo.name.as_str(), slo.display_name.as_str(), slo.service.as_str()),
        ("sloth-slo-my-service", "Requests Availability", "my-service")
    );
    assert_target(slo, 0.999);
    assert_eq!(slo.spec.window, Window::Rolling(Duration::days(30)));
    assert_eq!(slo.spec.method, BudgetingMethod::Occurrences);
    assert_eq!(slo.spec.alerting, AlertPolicy::defaults_for(Duration::days(30)));
    let prometheus = Source::Prometheus { url: None };
    assert_eq!(
        slo.indicator,
        Indicator::Ratio {
            good: MetricQuery {
                source: prometheus.clone(),
                query:
                    r#"sum(rate(http_request_duration_seconds_count{job="myservice",code!~"(5..|429)"}[{{.window}}]))"#
                        .to_owned(),
            },
            total: MetricQuery {
                source: prometheus,
                query: r#"sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))"#.to_owned(),
            },
        }
    );
}

/// Two documents; the second SLO has two objectives, so it gives two definitions, numbered as Sloth numbers them.
#[test]
fn sloth_openslo_kubernetes_apiserver() {
    let resolved = load(TESTED[10]);
    assert_eq!(problems(&resolved), Vec::<String>::new());
    let slos: Vec<(&str, &str, Pos)> =
        resolved.slos.iter().map(|s| (s.name.as_str(), s.display_name.as_str(), s.pos)).collect();
    assert_eq!(
        slos,
        [
            ("requests-availability-openslo", "Requests Availability", Pos::new(11, 9)),
            ("requests-latency-openslo-0", "Requests Latency: objective 0", Pos::new(44, 7)),
            ("requests-latency-openslo-1", "Requests Latency: objective 1", Pos::new(55, 7)),
        ]
    );
    for (slo, target) in resolved.slos.iter().zip([0.999, 0.99, 0.999]) {
        assert_target(slo, target);
        assert_eq!(slo.service, "k8s-apiserver");
        assert_eq!(slo.spec.window, Window::Rolling(Duration::days(30)));
        let Indicator::Ratio { good, .. } = &slo.indicator else { panic!("{:?}", slo.indicator) };
        assert_eq!(good.source, Source::Prometheus { url: None });
    }
    let Indicator::Ratio { good, .. } = &resolved.slos[2].indicator else { panic!("ratio") };
    assert!(good.query.contains(r#"le="5""#), "{}", good.query);
}
