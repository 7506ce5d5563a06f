//! The Prometheus source against a real Prometheus: Debian's `/usr/bin/prometheus` runs on a free loopback port with
//! its own configuration and storage, scraping every second a small exporter this test serves, whose counters it
//! controls. SLOs read from OpenSLO and Sloth files (ingested and reconciled as the portal does) are polled, and
//! what is recorded is compared with what the exporter served.
//!
//! Timeline (about 80–140 s): the exporter serves 10 % errors until the end of the first minute with at least
//! 8 s of data (minute `P`), then 30 %. Once `P` has ended the first poll must record `P` at 10 % and nothing
//! later; once `P + 1` has ended the next poll must record `P + 1` at 30 %. The failures (an unreachable server,
//! an empty result, `NaN`, `+Inf`, a query Prometheus refuses, no URL at all) are checked in between, and one SLO
//! goes through an outage and back.
//!
//! Without `/usr/bin/prometheus` the test prints a note and passes, except in CI (`CI` set), where it fails.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use catalog::ingest::{Formats, IngestOptions, NoProgress, ingest};
use chrono::{DateTime, Duration, Utc};
use scorecard::sli::prometheus::{PollOptions, PollReport, RAW_WEIGHT, poll_all};
use scorecard::sli::{Sample, StoredSlo, load_buckets, minute_of, reconcile};
use scorecard::slo::SloFormat;
use store::slos::{self, SloRow};
use store::test_support::TestDb;

const PROMETHEUS: &str = "/usr/bin/prometheus";
/// Per scrape: (200s, 500s) before the switch (10 % errors) and after it (30 %).
const BEFORE: (u64, u64) = (18, 2);
const AFTER: (u64, u64) = (14, 6);
const PER_SCRAPE: u64 = 20;
/// How long after a minute ends the test polls it.
const SETTLE: i64 = 2;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The Prometheus binary, or `None` (with a note) when it is not installed outside CI.
fn prometheus_binary() -> Option<PathBuf> {
    let path = PathBuf::from(PROMETHEUS);
    if path.exists() {
        return Some(path);
    }
    assert!(!in_ci(), "{PROMETHEUS} is missing: CI must run the real-Prometheus test (apt-get install prometheus)");
    eprintln!("note: {PROMETHEUS} is not installed; skipping the real-Prometheus test (apt-get install prometheus)");
    None
}

/// One scrape the exporter answered: when, and the counters it served.
#[derive(Debug, Clone, Copy)]
struct Scrape {
    at: DateTime<Utc>,
    ok: u64,
    errors: u64,
}

#[derive(Debug, Default)]
struct Counters {
    ok: u64,
    errors: u64,
    /// Scrapes after this instant get the `AFTER` increments.
    switch_at: Option<DateTime<Utc>>,
    scrapes: Vec<Scrape>,
}

type Shared = Arc<Mutex<Counters>>;

/// Serves `/metrics` on a loopback port; every request (every scrape) adds one scrape's worth of requests.
fn serve_exporter() -> (u16, Shared) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("exporter port");
    let port = listener.local_addr().expect("exporter address").port();
    let counters = Shared::default();
    let shared = counters.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            answer_scrape(stream, &shared);
        }
    });
    (port, counters)
}

fn answer_scrape(mut stream: TcpStream, counters: &Shared) {
    let _ = stream.set_read_timeout(Some(StdDuration::from_secs(5)));
    let mut reader = BufReader::new(&mut stream);
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
        line.clear();
    }
    let now = Utc::now();
    let body = {
        let mut c = counters.lock().expect("exporter state");
        let (ok, errors) = if c.switch_at.is_some_and(|switch| now > switch) { AFTER } else { BEFORE };
        c.ok += ok;
        c.errors += errors;
        let scrape = Scrape { at: now, ok: c.ok, errors: c.errors };
        c.scrapes.push(scrape);
        format!(
            "# TYPE requests_total counter\nrequests_total{{code=\"200\"}} {}\nrequests_total{{code=\"500\"}} {}\n\
             # TYPE latency_seconds gauge\nlatency_seconds 0.25\n",
            scrape.ok, scrape.errors
        )
    };
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("address").port()
}

/// A Prometheus child process, killed when dropped.
struct Prometheus {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(binary: &Path, exporter_port: u16) -> Prometheus {
        let dir = tempfile::tempdir().expect("a folder for Prometheus");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: exporter\n    \
                 static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n"
            ),
        )
        .expect("write the Prometheus configuration");
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start Prometheus");
        let mut prometheus = Prometheus { child, url: format!("http://127.0.0.1:{port}"), dir };
        prometheus.wait_ready();
        prometheus
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let client =
            reqwest::blocking::Client::builder().timeout(StdDuration::from_secs(2)).build().expect("an HTTP client");
        let deadline = Instant::now() + StdDuration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("Prometheus exited ({status}) before it was ready:\n{}", self.log());
            }
            if client.get(format!("{}/-/ready", self.url)).send().is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(Instant::now() < deadline, "Prometheus was not ready within 30 s:\n{}", self.log());
            std::thread::sleep(StdDuration::from_millis(200));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sleep_until(at: DateTime<Utc>) {
    if let Ok(wait) = (at - Utc::now()).to_std() {
        std::thread::sleep(wait);
    }
}

fn write_slo_files(dir: &Path, prometheus: &str, dead: &str) {
    let ratio = |name: &str, source: &str, good: &str, total: &str| {
        format!(
            "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: {name}\nspec:\n  service: shop\n  indicator:\n    \
             metadata:\n      name: {name}-sli\n    spec:\n      ratioMetric:\n        counter: true\n        good:\n          \
             metricSource:\n            metricSourceRef: {source}\n            spec:\n              query: '{good}'\n        \
             total:\n          metricSource:\n            metricSourceRef: {source}\n            spec:\n              \
             query: '{total}'\n  timeWindow:\n    - duration: 7d\n      isRolling: true\n  budgetingMethod: Occurrences\n  \
             objectives:\n    - target: 0.99\n"
        )
    };
    let raw = |name: &str, raw_type: &str, query: &str| {
        format!(
            "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: {name}\nspec:\n  service: shop\n  indicator:\n    \
             metadata:\n      name: {name}-sli\n    spec:\n      ratioMetric:\n        rawType: {raw_type}\n        raw:\n          \
             metricSource:\n            metricSourceRef: prom\n            spec:\n              query: '{query}'\n  \
             timeWindow:\n    - duration: 7d\n      isRolling: true\n  budgetingMethod: Occurrences\n  objectives:\n    \
             - target: 0.99\n"
        )
    };
    let total = "rate(requests_total[{{ .window }}])";
    let all = "sum(rate(requests_total[{{.window}}]))";
    let documents = [
        format!(
            "apiVersion: openslo/v1\nkind: DataSource\nmetadata:\n  name: prom\nspec:\n  type: Prometheus\n  \
             connectionDetails:\n    url: {prometheus}\n"
        ),
        format!(
            "apiVersion: openslo/v1\nkind: DataSource\nmetadata:\n  name: dead\nspec:\n  type: Prometheus\n  \
             connectionDetails:\n    url: {dead}\n"
        ),
        // The total query gives two series (200 and 500): the poller sums them.
        ratio("availability", "prom", "sum(rate(requests_total{code=\"200\"}[{{.window}}]))", total),
        raw("error-ratio", "failure", &format!("sum(rate(requests_total{{code=\"500\"}}[{{{{.window}}}}])) / {all}")),
        "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: latency\nspec:\n  service: shop\n  indicator:\n    \
         metadata:\n      name: latency-sli\n    spec:\n      thresholdMetric:\n        metricSource:\n          \
         metricSourceRef: prom\n          spec:\n            query: max(latency_seconds)\n  timeWindow:\n    \
         - duration: 7d\n      isRolling: true\n  budgetingMethod: Occurrences\n  objectives:\n    - op: lt\n      \
         value: 0.5\n      target: 0.99\n"
            .to_owned(),
        ratio("unreachable", "dead", "sum(rate(requests_total{code=\"200\"}[{{.window}}]))", all),
        ratio("missing", "prom", "sum(rate(requests_total{code=\"404\"}[{{.window}}]))", all),
        raw("not-a-number", "success", &format!("({all} * 0) / ({all} * 0)")),
        raw("infinite", "success", &format!("{all} / ({all} * 0)")),
        raw("refused", "success", "rate(requests_total[{{.window}}]"),
    ];
    std::fs::write(dir.join("slos.yaml"), documents.join("---\n")).expect("write the OpenSLO file");
    // Sloth's format names no Prometheus: the configured default URL applies. Portolan names it shop-errors.
    std::fs::write(
        dir.join("sloth.yaml"),
        "version: prometheus/v1\nservice: shop\nslos:\n  - name: errors\n    objective: 99\n    sli:\n      events:\n        \
         error_query: sum(rate(requests_total{code=~\"5..\"}[{{.window}}]))\n        \
         total_query: sum(rate(requests_total[{{.window}}]))\n    alerting:\n      page_alert:\n        disable: true\n      \
         ticket_alert:\n        disable: true\n",
    )
    .expect("write the Sloth file");
}

fn load_slos(db: &TestDb, dir: &Path) {
    let options = IngestOptions { formats: Formats(vec![Arc::new(SloFormat)]), ..IngestOptions::default() };
    ingest(&db.store, &[dir.to_path_buf()], &options, &NoProgress).expect("ingest the SLO files");
    let mut conn = db.store.conn().expect("connection");
    let reconciled = reconcile(&mut conn).expect("reconcile");
    let errors: Vec<String> =
        reconciled.problems.iter().filter(|p| p.problem.is_error()).map(ToString::to_string).collect();
    assert!(errors.is_empty(), "the SLO files have errors: {errors:#?}");
    let prometheus: Vec<String> =
        slos::of_source_kind(&mut conn, "prometheus").expect("query").into_iter().map(|r| r.name).collect();
    assert_eq!(prometheus.len(), 9, "SLOs read from Prometheus: {prometheus:?}");
}

fn row(db: &TestDb, name: &str) -> SloRow {
    let mut conn = db.store.conn().expect("connection");
    slos::by_name(&mut conn, "default", name).expect("query").unwrap_or_else(|| panic!("SLO {name} is stored"))
}

/// The minute samples stored for an SLO.
fn samples(db: &TestDb, name: &str) -> Vec<Sample> {
    let slo = StoredSlo::from_row(row(db, name)).expect("definition");
    let mut conn = db.store.conn().expect("connection");
    let now = Utc::now();
    let mut buckets = load_buckets(&mut conn, &[slo.row.id], now - Duration::hours(1), now).expect("buckets");
    let mut found: Vec<Sample> = buckets
        .remove(&slo.row.id)
        .unwrap_or_default()
        .into_iter()
        .filter(|b| b.minutes == 1)
        .map(|b| Sample { minute: b.start, good: b.good, total: b.total })
        .collect();
    found.sort_by_key(|s| s.minute);
    found
}

fn sample_at(samples: &[Sample], minute: DateTime<Utc>, what: &str) -> Sample {
    *samples
        .iter()
        .find(|s| s.minute == minute)
        .unwrap_or_else(|| panic!("{what}: no sample for {minute} in {samples:?}"))
}

fn data_until(db: &TestDb, name: &str) -> Option<DateTime<Utc>> {
    row(db, name).data_until.map(|d| d.and_utc())
}

fn stale(db: &TestDb, name: &str) -> Option<(DateTime<Utc>, String)> {
    let r = row(db, name);
    r.stale_since.map(|since| (since.and_utc(), r.stale_reason.unwrap_or_default()))
}

/// What the exporter served during the minute `m`, as Prometheus sees it: the counters at the first and last scrapes
/// in `(m, m + 1 min]`.
fn served(counters: &Shared, minute: DateTime<Utc>) -> (u64, u64) {
    let c = counters.lock().expect("exporter state");
    let inside: Vec<&Scrape> =
        c.scrapes.iter().filter(|s| s.at > minute && s.at <= minute + Duration::minutes(1)).collect();
    let (Some(first), Some(last)) = (inside.first(), inside.last()) else { panic!("no scrape during {minute}") };
    let total = (last.ok + last.errors) - (first.ok + first.errors);
    (last.errors - first.errors, total)
}

/// A recorded minute matches what was served: Prometheus extrapolates the rate to the minute's edges (at most about
/// one scrape interval at each end), so the count lies between the increase from the first to the last scrape and
/// that plus two scrapes; the error ratio is the served one.
fn assert_counts(what: &str, sample: Sample, counters: &Shared, error_ratio: f64) {
    let (_, increase) = served(counters, sample.minute);
    assert!(
        sample.total + PER_SCRAPE >= increase && sample.total <= increase + 3 * PER_SCRAPE,
        "{what}: {} events recorded for {}, {increase} served between the first and last scrape",
        sample.total,
        sample.minute
    );
    let bad = (sample.total - sample.good) as f64 / sample.total as f64;
    assert!((bad - error_ratio).abs() < 0.01, "{what}: error ratio {bad} for {}, {error_ratio} served", sample.minute);
}

fn stale_reasons(report: &PollReport) -> Vec<(&str, &str)> {
    report.stale.iter().map(|(slo, reason)| (slo.as_str(), reason.as_str())).collect()
}

fn reason_of<'a>(report: &'a PollReport, slo: &str) -> &'a str {
    report
        .stale
        .iter()
        .find(|(name, _)| name == &format!("default/{slo}"))
        .map(|(_, reason)| reason.as_str())
        .unwrap_or_else(|| panic!("{slo} should be stale: {:?}", report.stale))
}

#[test]
fn polls_a_real_prometheus_scraping_counters_the_test_controls() {
    let Some(binary) = prometheus_binary() else { return };
    let started = Instant::now();
    let (exporter_port, counters) = serve_exporter();
    let prometheus = Prometheus::start(&binary, exporter_port);
    let dead = format!("http://127.0.0.1:{}", free_port());

    let files = tempfile::tempdir().expect("a folder for the SLO files");
    write_slo_files(files.path(), &prometheus.url, &dead);
    let dbs = TestDb::all();
    for db in &dbs {
        load_slos(db, files.path());
    }

    // The first scrape; minute P is the first with at least 8 s of data; the error ratio changes when it ends.
    let deadline = Instant::now() + StdDuration::from_secs(30);
    let first = loop {
        if let Some(scrape) = counters.lock().expect("exporter state").scrapes.first() {
            break scrape.at;
        }
        assert!(Instant::now() < deadline, "Prometheus did not scrape within 30 s:\n{}", prometheus.log());
        std::thread::sleep(StdDuration::from_millis(100));
    };
    let p = minute_of(first + Duration::seconds(8));
    let next = p + Duration::minutes(1);
    counters.lock().expect("exporter state").switch_at = Some(next);
    eprintln!("first scrape {first}; minute P = {p}; waiting until {}", next + Duration::seconds(SETTLE + 1));

    let options = |url: Option<&str>| PollOptions {
        default_url: url.map(str::to_owned),
        max_backfill: Duration::minutes(30),
        settle: Duration::seconds(SETTLE),
        timeout: StdDuration::from_secs(5),
    };

    // P has ended.
    sleep_until(next + Duration::seconds(SETTLE + 1));
    let mut first_failure = Vec::new();
    for db in &dbs {
        let what = db.backend_name();
        let now = Utc::now();
        let report = poll_all(&db.store, &options(None), now).expect("a poll round");
        assert_eq!((report.slos, report.fresh, report.failed.len()), (9, 3, 0), "{what}: {report:#?}");

        // Ratio of two queries, the total summed over two series: minute P at 10 % errors, nothing later.
        let availability = samples(db, "availability");
        assert_counts(what, sample_at(&availability, p, "availability"), &counters, 0.1);
        assert!(availability.iter().all(|s| s.minute <= p && s.total > 0), "{what}: {availability:?}");
        assert_eq!(data_until(db, "availability"), Some(next), "{what}");
        assert_eq!(stale(db, "availability"), None, "{what}");
        // A failure ratio, recorded as a fixed weight per minute.
        let raw = sample_at(&samples(db, "error-ratio"), p, "error-ratio");
        assert_eq!(raw.total, RAW_WEIGHT, "{what}");
        assert!(raw.good.abs_diff(900_000) < 10_000, "{what}: {raw:?}");
        // A threshold: one good event per minute (0.25 < 0.5).
        assert_eq!(sample_at(&samples(db, "latency"), p, "latency"), Sample { minute: p, good: 1, total: 1 });

        // Everything else is stale with a reason, and has no data: never 0 %, never 100 %.
        let reasons = stale_reasons(&report);
        assert_eq!(reasons.len(), 6, "{what}: {reasons:#?}");
        assert!(reason_of(&report, "unreachable").starts_with(&format!("cannot reach Prometheus at {dead}")));
        assert!(
            reason_of(&report, "missing")
                .contains("`sum(rate(requests_total{code=\"404\"}[1m]))` gave an empty result")
        );
        assert!(reason_of(&report, "not-a-number").contains(" gave NaN at "), "{reasons:?}");
        assert!(reason_of(&report, "infinite").contains(" gave +Inf at "), "{reasons:?}");
        assert!(reason_of(&report, "refused").starts_with("Prometheus refused `rate(requests_total[1m]` (bad_data)"));
        assert!(reason_of(&report, "shop-errors").starts_with("no Prometheus URL"), "{reasons:?}");
        for name in ["unreachable", "missing", "not-a-number", "infinite", "refused", "shop-errors"] {
            assert_eq!(samples(db, name), vec![], "{what}: {name}");
            assert_eq!(data_until(db, name), None, "{what}: {name}");
            let (since, _) = stale(db, name).unwrap_or_else(|| panic!("{what}: {name} is marked stale"));
            assert_eq!(since.timestamp_millis(), now.timestamp_millis(), "{what}: {name}");
        }
        first_failure.push(stale(db, "unreachable").map_or(now, |s| s.0));

        // The default URL points nowhere: still stale, the first failure's time kept, the new reason given.
        let report = poll_all(&db.store, &options(Some(&dead)), Utc::now()).expect("a poll round");
        assert!(reason_of(&report, "shop-errors").starts_with("cannot reach Prometheus"), "{what}");
        assert_eq!(stale(db, "shop-errors").map(|s| s.0.timestamp_millis()), Some(now.timestamp_millis()));
        // Then the real one: its data so far is read and the stale mark goes; the others have nothing new.
        let report = poll_all(&db.store, &options(Some(&prometheus.url)), Utc::now()).expect("a poll round");
        assert_eq!((report.fresh, report.up_to_date, report.stale.len()), (1, 3, 5), "{what}: {report:#?}");
        assert_eq!(stale(db, "shop-errors"), None, "{what}");
        let errors = sample_at(&samples(db, "shop-errors"), p, "shop-errors");
        assert_counts(what, errors, &counters, 0.1);
        assert!(errors.total.abs_diff(sample_at(&availability, p, "availability").total) <= 1, "{what}");
    }

    // P + 1 has ended; meanwhile the ratio went to 30 %.
    sleep_until(next + Duration::minutes(1) + Duration::seconds(SETTLE + 1));
    let after = next + Duration::minutes(1);
    for (i, db) in dbs.iter().enumerate() {
        let what = db.backend_name();
        // An outage of the default server: stale, the data's end unchanged. The others read P + 1.
        let outage = Utc::now();
        let report = poll_all(&db.store, &options(Some(&dead)), outage).expect("a poll round");
        assert_eq!((report.fresh, report.stale.len(), report.failed.len()), (3, 6, 0), "{what}: {report:#?}");
        assert!(reason_of(&report, "shop-errors").starts_with("cannot reach Prometheus"), "{what}");
        assert_eq!(data_until(db, "shop-errors"), Some(next), "{what}");
        assert_eq!(stale(db, "shop-errors").map(|s| s.0.timestamp_millis()), Some(outage.timestamp_millis()));
        // Back: the missed minute is filled, the mark cleared.
        let report = poll_all(&db.store, &options(Some(&prometheus.url)), Utc::now()).expect("a poll round");
        assert_eq!((report.fresh, report.up_to_date, report.stale.len()), (1, 3, 5), "{what}: {report:#?}");
        assert_eq!(report.samples, 1, "{what}");
        assert_eq!(stale(db, "shop-errors"), None, "{what}");
        for name in ["availability", "shop-errors", "error-ratio", "latency"] {
            assert_eq!(data_until(db, name), Some(after), "{what}: {name}");
        }

        let availability = samples(db, "availability");
        eprintln!(
            "{what}: availability {availability:?}; served (errors, total) in P {:?}, in P + 1 {:?}",
            served(&counters, p),
            served(&counters, next)
        );
        assert_counts(what, sample_at(&availability, p, "availability"), &counters, 0.1);
        assert_counts(what, sample_at(&availability, next, "availability"), &counters, 0.3);
        assert_counts(what, sample_at(&samples(db, "shop-errors"), next, "shop-errors"), &counters, 0.3);
        let raw = sample_at(&samples(db, "error-ratio"), next, "error-ratio");
        assert!(raw.good.abs_diff(700_000) < 10_000, "{what}: {raw:?}");
        assert_eq!(sample_at(&samples(db, "latency"), next, "latency").good, 1, "{what}");
        // The unreachable SLO still has no data and keeps the time of its first failure.
        assert_eq!(data_until(db, "unreachable"), None, "{what}");
        assert_eq!(stale(db, "unreachable").map(|s| s.0), Some(first_failure[i]), "{what}");
    }
    eprintln!("real-Prometheus test took {:.1} s", started.elapsed().as_secs_f64());
}
