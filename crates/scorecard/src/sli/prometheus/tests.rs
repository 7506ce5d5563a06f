//! The pure parts of the Prometheus source (answers read, errors classified, indicators counted) on canned
//! answers, and the poll's bookkeeping (ranges, chunks, stale marks, backfill) against a stand-in server. The real
//! Prometheus is exercised by `tests/prometheus.rs`.

use std::cell::RefCell;

use chrono::{DateTime, Duration, Utc};
use store::slos::{self, SloForm};
use store::test_support::TestDb;

use super::*;
use crate::sli::{StoredDefinition, load_buckets};
use crate::slo::{AlertPolicy, BudgetingMethod, Objective, SloSpec, Window};

fn t(text: &str) -> DateTime<Utc> {
    text.parse().expect("RFC 3339 instant")
}

fn prom(query: &str) -> MetricQuery {
    MetricQuery {
        source: Source::Prometheus { url: Some("http://prom.test:9090".to_owned()) },
        query: query.to_owned(),
    }
}

/// A matrix answer with one series per `(labels, [(unix seconds, value)])`.
fn matrix(series: &[(&str, &[(i64, &str)])]) -> String {
    let result: Vec<String> = series
        .iter()
        .map(|(code, values)| {
            let values: Vec<String> = values.iter().map(|(at, v)| format!("[{at},\"{v}\"]")).collect();
            format!("{{\"metric\":{{\"code\":\"{code}\"}},\"values\":[{}]}}", values.join(","))
        })
        .collect();
    format!("{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[{}]}}}}", result.join(","))
}

fn parse(body: &str) -> Result<Vec<Series>, PromError> {
    parse_response("http://prom.test:9090", "q", 200, body)
}

/// 2026-03-01T12:00:00Z.
const NOON: i64 = 1_772_366_400;

#[test]
fn matrix_answers_are_read_with_their_labels_and_times() {
    let series =
        parse(&matrix(&[("200", &[(NOON, "1.5"), (NOON + 60, "2")]), ("500", &[(NOON + 60, "0")])])).expect("a matrix");
    assert_eq!(series.len(), 2);
    assert_eq!(series[0].labels.get("code").map(String::as_str), Some("200"));
    assert_eq!(series[0].points, vec![(t("2026-03-01T12:00:00Z"), 1.5), (t("2026-03-01T12:01:00Z"), 2.0)]);
    // Fractional times (Prometheus writes milliseconds) are kept to the millisecond.
    let series = parse(
        "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1772366400.25,\"1e3\"]]}]}}",
    )
    .expect("a matrix");
    assert_eq!(series[0].points, vec![(t("2026-03-01T12:00:00.250Z"), 1000.0)]);
    // An empty result is read as no series; the poll decides it is an error.
    assert_eq!(parse(&matrix(&[])).expect("empty"), vec![]);
}

#[test]
fn nan_and_infinities_are_errors_naming_query_value_and_time() {
    for text in ["NaN", "+Inf", "-Inf"] {
        let error = parse(&matrix(&[("200", &[(NOON, "1"), (NOON + 60, text)])])).expect_err(text);
        assert_eq!(
            error,
            PromError::NotFinite { query: "q".into(), value: text.into(), at: t("2026-03-01T12:01:00Z") },
            "{text}"
        );
        assert_eq!(error.to_string(), format!("`q` gave {text} at 2026-03-01 12:01:00 UTC"));
    }
    let error = parse(&matrix(&[("200", &[(NOON, "many")])])).expect_err("not a number");
    assert!(matches!(error, PromError::NotANumber { .. }), "{error:?}");
}

#[test]
fn error_answers_carry_prometheus_own_message() {
    let body = r#"{"status":"error","errorType":"bad_data","error":"1:6: parse error: unclosed left parenthesis"}"#;
    let error = parse_response("http://p", "rate(", 400, body).expect_err("status error");
    assert_eq!(error.to_string(), "Prometheus refused `rate(` (bad_data): 1:6: parse error: unclosed left parenthesis");
    // `status: error` with HTTP 200 (a proxy rewriting codes) is still an error.
    assert!(matches!(parse_response("http://p", "q", 200, body), Err(PromError::Api { .. })));

    let error = parse_response("http://p", "q", 502, "<html>Bad Gateway</html>").expect_err("HTTP error");
    assert_eq!(error.to_string(), "Prometheus at http://p answered HTTP 502: <html>Bad Gateway</html>");
    let error = parse_response("http://p", "q", 404, "").expect_err("HTTP error");
    assert_eq!(error.to_string(), "Prometheus at http://p answered HTTP 404: (empty body)");

    let error = parse("<html>login</html>").expect_err("not JSON");
    assert!(matches!(error, PromError::BadResponse { .. }), "{error:?}");
    let error = parse(r#"{"status":"success"}"#).expect_err("no data");
    assert!(error.to_string().contains("no `data`"), "{error}");
    let error = parse(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#).expect_err("vector");
    assert_eq!(error.to_string(), "`q` gave a vector result, not a matrix");
    let error = parse(r#"{"status":"success","data":{"resultType":"matrix","result":{"a":1}}}"#).expect_err("shape");
    assert!(matches!(error, PromError::BadResponse { .. }), "{error:?}");
}

#[test]
fn window_placeholders_become_one_minute() {
    assert_eq!(
        substitute_window("sum(rate(x{code=~\"5..\"}[{{.window}}])) / sum(rate(x[{{ .window }}]))", "1m"),
        "sum(rate(x{code=~\"5..\"}[1m])) / sum(rate(x[1m]))"
    );
    assert_eq!(substitute_window("rate(x[{{.window   }}])", "1m"), "rate(x[1m])");
    // Other templates and stray braces are left alone.
    assert_eq!(substitute_window("x{{.other}}{{ .window }}{{", "1m"), "x{{.other}}1m{{");
    assert_eq!(substitute_window("no placeholder", "1m"), "no placeholder");
}

fn series(points: &[(i64, f64)]) -> Series {
    Series {
        labels: BTreeMap::new(),
        points: points.iter().map(|(at, v)| (DateTime::from_timestamp(*at, 0).expect("time"), *v)).collect(),
    }
}

fn sample(minute: &str, good: u64, total: u64) -> Sample {
    Sample { minute: t(minute), good, total }
}

fn sent(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("q{i}")).collect()
}

#[test]
fn ratio_rates_become_events_of_the_minute_before_each_point() {
    let indicator = Indicator::Ratio { good: prom("good"), total: prom("total") };
    // The point at 12:01 is the rate over (12:00, 12:01]: minute 12:00. Two total series are summed.
    let good = vec![series(&[(NOON + 60, 9.5), (NOON + 120, 1.0), (NOON + 240, 2.0)])];
    let total = vec![
        series(&[(NOON + 60, 5.0), (NOON + 120, 0.5), (NOON + 180, 3.0), (NOON + 240, 1.0)]),
        series(&[(NOON + 60, 5.0), (NOON + 240, 0.9999)]),
    ];
    let samples = samples_from_results(&indicator, &sent(2), &[good, total]).expect("counted");
    assert_eq!(
        samples,
        vec![
            sample("2026-03-01T12:00:00Z", 570, 600),
            // Good above total (rates read at slightly different scrapes) counts as total.
            sample("2026-03-01T12:01:00Z", 30, 30),
            // 12:02 has no good point: a missing minute, not zero.
            sample("2026-03-01T12:03:00Z", 120, 120),
        ]
    );
}

#[test]
fn bad_events_are_taken_from_total() {
    let indicator = Indicator::RatioBad { bad: prom("bad"), total: prom("total") };
    let bad = vec![series(&[(NOON + 60, 0.1), (NOON + 120, 3.0)])];
    let total = vec![series(&[(NOON + 60, 10.0), (NOON + 120, 2.0)])];
    let samples = samples_from_results(&indicator, &sent(2), &[bad, total]).expect("counted");
    assert_eq!(samples, vec![sample("2026-03-01T12:00:00Z", 594, 600), sample("2026-03-01T12:01:00Z", 0, 120)]);
}

#[test]
fn negative_rates_are_errors_and_tiny_float_noise_is_zero() {
    let indicator = Indicator::Ratio { good: prom("good"), total: prom("total") };
    let good = vec![series(&[(NOON + 60, -1e-12)])];
    let total = vec![series(&[(NOON + 60, 1.0)])];
    let samples = samples_from_results(&indicator, &sent(2), &[good, total.clone()]).expect("noise is zero");
    assert_eq!(samples, vec![sample("2026-03-01T12:00:00Z", 0, 60)]);
    let error =
        samples_from_results(&indicator, &sent(2), &[vec![series(&[(NOON + 60, -0.5)])], total]).expect_err("negative");
    assert_eq!(
        error.to_string(),
        "`q0` gave a negative rate (-0.5/s) at 2026-03-01 12:01:00 UTC; good, bad and total queries must give \
         events per second"
    );
}

#[test]
fn raw_ratios_weigh_every_minute_the_same() {
    let success = Indicator::Raw { query: prom("ratio"), raw_type: RawType::Success };
    let failure = Indicator::Raw { query: prom("ratio"), raw_type: RawType::Failure };
    let ratios = vec![series(&[(NOON + 60, 0.999), (NOON + 120, 1.0), (NOON + 180, 0.0)])];
    assert_eq!(
        samples_from_results(&success, &sent(1), std::slice::from_ref(&ratios)).expect("counted"),
        vec![
            sample("2026-03-01T12:00:00Z", 999_000, RAW_WEIGHT),
            sample("2026-03-01T12:01:00Z", RAW_WEIGHT, RAW_WEIGHT),
            sample("2026-03-01T12:02:00Z", 0, RAW_WEIGHT),
        ]
    );
    assert_eq!(
        samples_from_results(&failure, &sent(1), &[ratios]).expect("counted"),
        vec![
            sample("2026-03-01T12:00:00Z", 1_000, RAW_WEIGHT),
            sample("2026-03-01T12:01:00Z", 0, RAW_WEIGHT),
            sample("2026-03-01T12:02:00Z", RAW_WEIGHT, RAW_WEIGHT),
        ]
    );
    let error = samples_from_results(&success, &sent(1), &[vec![series(&[(NOON + 60, 1.5)])]]).expect_err("> 1");
    assert!(matches!(error, PromError::RatioOutOfRange { value, .. } if value == 1.5), "{error:?}");
    // Two series with a value at the same time cannot be added up.
    let two = vec![series(&[(NOON + 60, 0.5)]), series(&[(NOON + 60, 0.25)])];
    let error = samples_from_results(&success, &sent(1), &[two]).expect_err("two values");
    assert_eq!(
        error.to_string(),
        "`q0` gave 2 series with a value at 2026-03-01 12:01:00 UTC; a raw-ratio or threshold query must give one \
         value per time (aggregate the series in the query)"
    );
    // Series that follow each other (a restarted pod) are fine.
    let churn = vec![series(&[(NOON + 60, 0.5)]), series(&[(NOON + 120, 0.25)])];
    assert_eq!(samples_from_results(&success, &sent(1), &[churn]).expect("one per time").len(), 2);
}

#[test]
fn thresholds_give_one_event_per_minute() {
    let values = vec![series(&[(NOON + 60, 0.2), (NOON + 120, 0.5), (NOON + 180, 0.7)])];
    let goods = |operator| {
        let indicator = Indicator::Threshold { query: prom("latency"), operator, value: 0.5 };
        let samples = samples_from_results(&indicator, &sent(1), std::slice::from_ref(&values)).expect("counted");
        assert!(samples.iter().all(|s| s.total == 1));
        samples.iter().map(|s| s.good).collect::<Vec<_>>()
    };
    assert_eq!(goods(Operator::Lt), [1, 0, 0]);
    assert_eq!(goods(Operator::Lte), [1, 1, 0]);
    assert_eq!(goods(Operator::Gt), [0, 0, 1]);
    assert_eq!(goods(Operator::Gte), [0, 1, 1]);
}

fn options() -> PollOptions {
    PollOptions { settle: Duration::seconds(5), ..PollOptions::default() }
}

#[test]
fn poll_ranges_start_at_the_data_and_stop_at_the_last_settled_minute() {
    let now = t("2026-03-01T12:00:30Z");
    let o = options();
    // Never polled: the backfill limit, up to 12:00.
    assert_eq!(poll_range(None, now, &o), Some((t("2026-02-28T12:01:00Z"), t("2026-03-01T12:00:00Z"))));
    assert_eq!(
        poll_range(Some(t("2026-03-01T11:00:00Z")), now, &o),
        Some((t("2026-03-01T11:00:00Z"), t("2026-03-01T12:00:00Z")))
    );
    // Data older than the backfill limit: the limit.
    assert_eq!(poll_range(Some(t("2026-02-01T00:00:00Z")), now, &o).map(|r| r.0), Some(t("2026-02-28T12:01:00Z")));
    // Up to date.
    assert_eq!(poll_range(Some(t("2026-03-01T12:00:00Z")), now, &o), None);
    // The minute 11:59 ended 4 s ago: not settled yet.
    assert_eq!(poll_range(Some(t("2026-03-01T11:59:00Z")), t("2026-03-01T12:00:04Z"), &o), None);
    assert_eq!(
        poll_range(Some(t("2026-03-01T11:59:00Z")), t("2026-03-01T12:00:05Z"), &o),
        Some((t("2026-03-01T11:59:00Z"), t("2026-03-01T12:00:00Z")))
    );
}

type Answer = Box<dyn Fn(&str, &str, DateTime<Utc>, DateTime<Utc>) -> Result<Vec<Series>, PromError>>;

/// `(url, query, start, end)` of one request.
type Asked = (String, String, DateTime<Utc>, DateTime<Utc>);

/// A stand-in Prometheus that records what it was asked.
struct Fake {
    answer: RefCell<Answer>,
    asked: RefCell<Vec<Asked>>,
}

impl Fake {
    fn new(
        answer: impl Fn(&str, &str, DateTime<Utc>, DateTime<Utc>) -> Result<Vec<Series>, PromError> + 'static,
    ) -> Fake {
        Fake { answer: RefCell::new(Box::new(answer)), asked: RefCell::new(Vec::new()) }
    }

    fn answer(
        &self,
        answer: impl Fn(&str, &str, DateTime<Utc>, DateTime<Utc>) -> Result<Vec<Series>, PromError> + 'static,
    ) {
        *self.answer.borrow_mut() = Box::new(answer);
    }
}

impl RangeQuery for Fake {
    fn query_range(
        &self,
        url: &str,
        query: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<Series>, PromError> {
        assert!(start <= end && (end - start).num_seconds() % STEP_SECS == 0, "{start} {end}");
        let points = (end - start).num_seconds() / STEP_SECS + 1;
        assert!(points <= MAX_POINTS, "{points} points asked in one query");
        self.asked.borrow_mut().push((url.to_owned(), query.to_owned(), start, end));
        (self.answer.borrow())(url, query, start, end)
    }
}

/// A constant rate at every step from `start` to `end`.
fn steady(rate: f64) -> impl Fn(&str, &str, DateTime<Utc>, DateTime<Utc>) -> Result<Vec<Series>, PromError> {
    move |_, _, start, end| {
        let mut points = Vec::new();
        let mut at = start;
        while at <= end {
            points.push((at, rate));
            at += Duration::seconds(STEP_SECS);
        }
        Ok(vec![Series { labels: BTreeMap::new(), points }])
    }
}

fn insert_slo(db: &TestDb, name: &str, indicator: Indicator) -> StoredSlo {
    let spec = SloSpec {
        objective: Objective::new(0.99).expect("target"),
        window: Window::Rolling(Duration::days(30)),
        method: BudgetingMethod::Occurrences,
        alerting: AlertPolicy::defaults_for(Duration::days(30)),
    };
    let definition = StoredDefinition { spec, indicator };
    let form = SloForm {
        namespace: "default".into(),
        name: name.into(),
        service: "checkout".into(),
        display_name: name.into(),
        description: String::new(),
        path: "slos.yaml".into(),
        line: 1,
        col: 1,
        source_kind: "prometheus".into(),
        definition: serde_json::to_string(&definition).expect("definition as JSON"),
        problems: "[]".into(),
        updated_at: store::now(),
    };
    let mut conn = db.store.conn().expect("connection");
    slos::upsert_many(&mut conn, &[form]).expect("insert SLO");
    reload(db, name)
}

fn reload(db: &TestDb, name: &str) -> StoredSlo {
    let mut conn = db.store.conn().expect("connection");
    let row = slos::by_name(&mut conn, "default", name).expect("query").expect("SLO stored");
    StoredSlo::from_row(row).expect("definition reads back")
}

fn minutes_stored(
    db: &TestDb,
    slo: &StoredSlo,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, u64, u64)> {
    let mut conn = db.store.conn().expect("connection");
    let mut buckets = load_buckets(&mut conn, &[slo.row.id], from, to).expect("buckets");
    let mut found: Vec<_> = buckets
        .remove(&slo.row.id)
        .unwrap_or_default()
        .into_iter()
        .filter(|b| b.minutes == 1 && b.start >= from && b.start < to)
        .map(|b| (b.start, b.good, b.total))
        .collect();
    found.sort();
    found
}

#[test]
fn long_backfills_are_read_in_chunks_prometheus_accepts() {
    let db = TestDb::sqlite();
    let slo = insert_slo(&db, "availability", Indicator::Ratio { good: prom("g[{{.window}}]"), total: prom("t") });
    let fake = Fake::new(steady(1.0));
    let now = t("2026-03-11T00:00:30Z");
    let o = PollOptions { max_backfill: Duration::days(10), ..options() };
    let mut conn = db.store.conn().expect("connection");
    assert_eq!(poll(&mut conn, &slo, &fake, &o, now).expect("polled"), Polled::Fresh { minutes: 14_399 });
    let asked = fake.asked.borrow();
    // Two queries per chunk; 14,399 minutes in chunks of at most 11,000 points.
    assert_eq!(asked.len(), 4);
    assert_eq!(asked[0].1, "g[1m]");
    assert_eq!((asked[0].2, asked[0].3), (t("2026-03-01T00:02:00Z"), t("2026-03-08T15:21:00Z")));
    assert_eq!((asked[2].2, asked[2].3), (t("2026-03-08T15:22:00Z"), t("2026-03-11T00:00:00Z")));
    drop(conn);
    let slo = reload(&db, "availability");
    assert_eq!(slo.row.data_until.map(|d| d.and_utc()), Some(t("2026-03-11T00:00:00Z")));
    assert_eq!(slo.row.stale_since, None);
    let stored = minutes_stored(&db, &slo, t("2026-03-10T23:58:00Z"), t("2026-03-11T00:00:00Z"));
    assert_eq!(stored, vec![(t("2026-03-10T23:58:00Z"), 60, 60), (t("2026-03-10T23:59:00Z"), 60, 60)]);
}

#[test]
fn failures_mark_stale_keep_the_data_end_and_recovery_fills_the_gap() {
    let db = TestDb::sqlite();
    let slo = insert_slo(&db, "availability", Indicator::Ratio { good: prom("good"), total: prom("total") });
    let fake = Fake::new(steady(2.0));
    let o = options();
    let mut conn = db.store.conn().expect("connection");
    let first = t("2026-03-01T12:00:30Z");
    assert!(matches!(poll(&mut conn, &slo, &fake, &o, first).expect("polled"), Polled::Fresh { minutes: 1439 }));
    let slo = reload(&db, "availability");
    assert_eq!(slo.row.data_until.map(|d| d.and_utc()), Some(t("2026-03-01T12:00:00Z")));

    // Prometheus goes away for 10 minutes.
    fake.answer(|url, _, _, _| {
        Err(PromError::Unreachable { url: url.to_owned(), reason: "Connection refused (os error 111)".to_owned() })
    });
    let outage = t("2026-03-01T12:02:10Z");
    let polled = poll(&mut conn, &slo, &fake, &o, outage).expect("polled");
    let reason = "cannot reach Prometheus at http://prom.test:9090: Connection refused (os error 111)";
    assert_eq!(polled, Polled::Stale { reason: reason.to_owned() });
    let slo = reload(&db, "availability");
    assert_eq!(slo.row.stale_since.map(|d| d.and_utc()), Some(outage));
    assert_eq!(slo.row.stale_reason.as_deref(), Some(reason));
    assert_eq!(slo.row.data_until.map(|d| d.and_utc()), Some(t("2026-03-01T12:00:00Z")), "data end unchanged");

    // A different failure later keeps the time of the first one and says what fails now.
    fake.answer(|_, query, _, _| {
        Err(PromError::NotFinite { query: query.to_owned(), value: "NaN".into(), at: t("2026-03-01T12:05:00Z") })
    });
    let polled = poll(&mut conn, &slo, &fake, &o, t("2026-03-01T12:06:10Z")).expect("polled");
    assert!(matches!(&polled, Polled::Stale { reason } if reason.contains("NaN")), "{polled:?}");
    let slo = reload(&db, "availability");
    assert_eq!(slo.row.stale_since.map(|d| d.and_utc()), Some(outage));
    assert_eq!(slo.row.data_until.map(|d| d.and_utc()), Some(t("2026-03-01T12:00:00Z")));

    // An empty answer is stale too, not zero.
    fake.answer(|_, _, _, _| Ok(Vec::new()));
    let polled = poll(&mut conn, &slo, &fake, &o, t("2026-03-01T12:08:10Z")).expect("polled");
    let Polled::Stale { reason } = polled else { panic!("empty answers make the SLO stale: {polled:?}") };
    assert_eq!(reason, "`good` gave an empty result between 2026-03-01 12:00:00 UTC and 2026-03-01 12:08:00 UTC");

    // Back: the ten missed minutes are filled and the stale mark goes.
    fake.answer(steady(1.0));
    fake.asked.borrow_mut().clear();
    let polled = poll(&mut conn, &slo, &fake, &o, t("2026-03-01T12:10:10Z")).expect("polled");
    assert_eq!(polled, Polled::Fresh { minutes: 10 });
    assert_eq!(fake.asked.borrow()[0].2, t("2026-03-01T12:01:00Z"), "asks from the first missing minute");
    let slo = reload(&db, "availability");
    assert_eq!((slo.row.stale_since, slo.row.stale_reason.as_deref()), (None, None));
    assert_eq!(slo.row.data_until.map(|d| d.and_utc()), Some(t("2026-03-01T12:10:00Z")));
    let stored = minutes_stored(&db, &slo, t("2026-03-01T11:59:00Z"), t("2026-03-01T12:10:00Z"));
    assert_eq!(stored.len(), 11);
    assert_eq!(stored[0], (t("2026-03-01T11:59:00Z"), 120, 120));
    assert!(stored[1..].iter().all(|(_, good, total)| (*good, *total) == (60, 60)), "{stored:?}");

    // Nothing new within the same minute: only the newest point is asked, to see that the source answers.
    fake.asked.borrow_mut().clear();
    assert_eq!(poll(&mut conn, &slo, &fake, &o, t("2026-03-01T12:10:40Z")).expect("polled"), Polled::UpToDate);
    let asked: Vec<_> = fake.asked.borrow().iter().map(|a| (a.2, a.3)).collect();
    assert_eq!(asked, [(t("2026-03-01T12:10:00Z"), t("2026-03-01T12:10:00Z"))]);
    // The source stops answering within that minute: stale at once, the data's end unchanged; back: the mark goes.
    fake.answer(|url, _, _, _| Err(PromError::Unreachable { url: url.to_owned(), reason: "refused".into() }));
    let polled = poll(&mut conn, &slo, &fake, &o, t("2026-03-01T12:10:45Z")).expect("polled");
    assert!(
        matches!(polled, Polled::Stale { ref reason } if reason.starts_with("cannot reach Prometheus")),
        "{polled:?}"
    );
    let slo = reload(&db, "availability");
    assert_eq!(slo.row.stale_since.map(|s| s.and_utc()), Some(t("2026-03-01T12:10:45Z")));
    assert_eq!(slo.row.data_until.map(|d| d.and_utc()), Some(t("2026-03-01T12:10:00Z")));
    fake.answer(steady(1.0));
    assert_eq!(poll(&mut conn, &slo, &fake, &o, t("2026-03-01T12:10:50Z")).expect("polled"), Polled::UpToDate);
    assert_eq!(reload(&db, "availability").row.stale_since, None);
}

#[test]
fn queries_without_a_url_use_the_default_or_are_stale() {
    let db = TestDb::sqlite();
    let nowhere = MetricQuery { source: Source::Prometheus { url: None }, query: "up".into() };
    let slo = insert_slo(&db, "latency", Indicator::Threshold { query: nowhere, operator: Operator::Gte, value: 1.0 });
    let fake = Fake::new(steady(1.0));
    let mut conn = db.store.conn().expect("connection");
    let now = t("2026-03-01T12:00:30Z");
    let polled = poll(&mut conn, &slo, &fake, &options(), now).expect("polled");
    let Polled::Stale { reason } = polled else { panic!("no URL is stale: {polled:?}") };
    assert!(reason.starts_with("no Prometheus URL"), "{reason}");
    assert!(fake.asked.borrow().is_empty());

    let o = PollOptions {
        default_url: Some("http://default:9090".into()),
        max_backfill: Duration::minutes(3),
        ..options()
    };
    assert_eq!(poll(&mut conn, &slo, &fake, &o, now).expect("polled"), Polled::Fresh { minutes: 2 });
    assert_eq!(fake.asked.borrow()[0].0, "http://default:9090");
    let slo = reload(&db, "latency");
    assert_eq!(slo.row.stale_since, None);
    assert_eq!(
        minutes_stored(&db, &slo, t("2026-03-01T11:00:00Z"), now),
        vec![(t("2026-03-01T11:58:00Z"), 1, 1), (t("2026-03-01T11:59:00Z"), 1, 1)]
    );
}

#[test]
fn a_round_reports_each_slo_and_asks_a_server_that_is_down_once() {
    let db = TestDb::sqlite();
    let ratio = || Indicator::Ratio { good: prom("good"), total: prom("total") };
    insert_slo(&db, "a", ratio());
    insert_slo(&db, "b", ratio());
    let elsewhere =
        MetricQuery { source: Source::Prometheus { url: Some("http://other:9090".into()) }, query: "r".into() };
    insert_slo(&db, "c", Indicator::Raw { query: elsewhere, raw_type: RawType::Failure });
    let fake = Fake::new(|url, _, start, end| {
        if url == "http://prom.test:9090" {
            Err(PromError::Timeout { url: url.to_owned(), secs: 10 })
        } else {
            steady(0.001)(url, "", start, end)
        }
    });
    let o = PollOptions { max_backfill: Duration::minutes(10), ..options() };
    let now = t("2026-03-01T12:00:30Z");
    let report = poll_all_with(&db.store, &fake, &o, now).expect("a round");
    let reason = "Prometheus at http://prom.test:9090 did not answer within 10 s".to_owned();
    assert_eq!(
        report,
        PollReport {
            slos: 3,
            fresh: 1,
            up_to_date: 0,
            stale: vec![("default/a".into(), reason.clone()), ("default/b".into(), reason)],
            samples: 9,
            failed: vec![],
        }
    );
    let asked: Vec<String> = fake.asked.borrow().iter().map(|a| a.0.clone()).collect();
    assert_eq!(asked, ["http://prom.test:9090", "http://other:9090"], "the server that timed out is asked once");
    let c = reload(&db, "c");
    assert_eq!(
        minutes_stored(&db, &c, t("2026-03-01T11:59:00Z"), now),
        vec![(t("2026-03-01T11:59:00Z"), 999_000, RAW_WEIGHT)]
    );
}

#[test]
fn the_http_client_tells_unreachable_from_slow_and_hides_credentials() {
    let client = Client::new(std::time::Duration::from_millis(500)).expect("client");
    let (start, end) = (t("2026-03-01T12:01:00Z"), t("2026-03-01T12:02:00Z"));

    // Nothing listens on a port that was just released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("address").port();
    let error =
        client.query_range(&format!("http://u:secret@127.0.0.1:{closed}/"), "up", start, end).expect_err("closed");
    let PromError::Unreachable { url, reason } = &error else { panic!("unreachable: {error:?}") };
    assert_eq!(url, &format!("http://127.0.0.1:{closed}"));
    assert!(reason.to_lowercase().contains("refused"), "{reason}");
    assert!(!error.to_string().contains("secret"), "{error}");

    // A server that accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = silent.local_addr().expect("address").port();
    let error = client.query_range(&format!("http://127.0.0.1:{port}"), "up", start, end).expect_err("silent");
    assert_eq!(error, PromError::Timeout { url: format!("http://127.0.0.1:{port}"), secs: 1 });
    drop(silent);

    let error = client.query_range("not a url", "up", start, end).expect_err("no URL");
    assert!(matches!(error, PromError::BadUrl { .. }), "{error:?}");
}
