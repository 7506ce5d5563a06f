//! The Prometheus pull source: SLOs whose queries go to a Prometheus server are read through its HTTP API
//! (`/api/v1/query_range`) into minute [`Sample`]s.
//!
//! How the answers are read:
//!
//! * **Minutes.** Data is read for whole UTC minutes `[from, to)`, with `step=60s`. The value evaluated at
//!   `m + 1 min` belongs to the minute `m`: with `{{.window}}` replaced by `1m`, `rate(x[1m])` evaluated at
//!   `m + 1 min` covers exactly `(m, m + 1 min]`.
//! * **Event counts.** The good, bad and total queries of ratio SLIs are read as events per second (OpenSLO's and
//!   Sloth's examples are `rate(...[window])` or `sum(rate(...))`), so the events of a minute are `value × 60`,
//!   rounded to a whole number. A bad-event SLI gives `good = total − bad` (at least 0); good events above total
//!   are counted as total. A negative count is an error.
//! * **Raw ratios** (a ratio the query computes itself) are recorded as [`RAW_WEIGHT`] pseudo-events per minute,
//!   `good = round(ratio × RAW_WEIGHT)` (or `RAW_WEIGHT − that` for a failure ratio), so that every minute weighs
//!   the same whatever the traffic. A ratio outside `[0, 1]` is an error.
//! * **Thresholds**: one event per minute, good when the value compares with the threshold as the SLO says.
//! * **Several series.** The series of an event-count query are summed per timestamp (as `sum()` would: a series
//!   without a point at that time adds nothing). A raw-ratio or threshold query must give one value per time (adding
//!   ratios or latencies means nothing): several values at one time are an error asking to aggregate in the query.
//! * **Gaps.** A minute where a query has no point is missing (no sample), never zero; the next poll asks again
//!   from the end of the newest data. A query whose result is entirely empty is an error.
//! * **Stale.** Prometheus unreachable or slow (past the timeout), an HTTP error, `status: error`, a result that is
//!   not a matrix, an empty result, or a `NaN`, `+Inf` or `-Inf` value: the SLO is marked stale with the reason and
//!   the time of the first failure, and nothing is recorded for that poll (never 0 %, never 100 %). Its
//!   `data_until` stays at the end of the last data, so the next successful poll fills the minutes missed. A poll
//!   with no whole minute to read still asks for the newest minute's point (written nothing), so that staleness
//!   follows the source within one poll whatever the interval.
//! * **Backfill.** A poll reads from the end of the newest data, or from `now − max_backfill` when there is none
//!   or it is older; up to the last whole minute that ended `settle` before now. Ranges longer than
//!   [`MAX_POINTS`] minutes are read in several requests (Prometheus refuses more than 11,000 points per series).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use store::slos::{self, SloRow};
use store::{DbConnection, Store};

use super::{Sample, SliError, StoredSlo, minute_of, record};
use crate::slo::{Indicator, MetricQuery, Operator, RawType, Source};

/// The evaluation step of every range query, in seconds: one point per minute.
pub const STEP_SECS: i64 = 60;
/// The most points Prometheus gives per series in one range query.
pub const MAX_POINTS: i64 = 11_000;
/// What `{{.window}}` becomes in a query.
pub const WINDOW: &str = "1m";
/// The pseudo-events of one minute of a raw-ratio SLI.
pub const RAW_WEIGHT: u64 = 1_000_000;

/// Why a Prometheus query gave no usable data. Each one makes the SLO stale, with this message as the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PromError {
    #[error("no Prometheus URL: the SLO's data source has none and `prometheus_url` is not set")]
    NoUrl,
    #[error("`{query}` is not a Prometheus query (its source is {source_name})")]
    NotPrometheus { query: String, source_name: String },
    #[error("the Prometheus URL `{url}` is not usable: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot reach Prometheus at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("Prometheus at {url} did not answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("Prometheus at {url} answered HTTP {status}: {body}")]
    Http { url: String, status: u16, body: String },
    #[error("Prometheus refused `{query}` ({error_type}): {message}")]
    Api { query: String, error_type: String, message: String },
    #[error("Prometheus answered `{query}` with something that is not a query_range response: {reason}")]
    BadResponse { query: String, reason: String },
    #[error("`{query}` gave a {result_type} result, not a matrix")]
    NotMatrix { query: String, result_type: String },
    #[error("`{query}` gave an empty result between {from} and {to}")]
    Empty { query: String, from: DateTime<Utc>, to: DateTime<Utc> },
    #[error("`{query}` gave {value} at {at}")]
    NotFinite { query: String, value: String, at: DateTime<Utc> },
    #[error("`{query}` gave `{value}` at {at}, which is not a number")]
    NotANumber { query: String, value: String, at: DateTime<Utc> },
    #[error(
        "`{query}` gave a negative rate ({value}/s) at {at}; good, bad and total queries must give events per second"
    )]
    Negative { query: String, value: f64, at: DateTime<Utc> },
    #[error("`{query}` gave {value}/s at {at}, too many events to count")]
    TooLarge { query: String, value: f64, at: DateTime<Utc> },
    #[error("`{query}` gave the ratio {value} at {at}; a raw ratio must be between 0 and 1")]
    RatioOutOfRange { query: String, value: f64, at: DateTime<Utc> },
    #[error(
        "`{query}` gave {count} series with a value at {at}; a raw-ratio or threshold query must give one value per \
         time (aggregate the series in the query)"
    )]
    SeveralValues { query: String, count: usize, at: DateTime<Utc> },
}

/// One series of a range query's matrix, its values already checked to be finite numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// `(evaluation time, value)`, in the order Prometheus gave them.
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// Something that answers Prometheus range queries: [`Client`], or a stand-in in tests.
pub trait RangeQuery {
    /// The series of `query` evaluated every [`STEP_SECS`] from `start` to `end` (both included) at the Prometheus
    /// server `url`. An empty result is not an error here; the caller decides.
    fn query_range(
        &self,
        url: &str,
        query: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<Series>, PromError>;
}

/// A blocking Prometheus HTTP API client.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::blocking::Client,
    timeout: StdDuration,
}

impl Client {
    /// A client whose requests fail after `timeout`. Call it outside async code (it runs its own runtime).
    pub fn new(timeout: StdDuration) -> Result<Client, reqwest::Error> {
        let http = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("portolan/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Client { http, timeout })
    }
}

impl RangeQuery for Client {
    fn query_range(
        &self,
        url: &str,
        query: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<Series>, PromError> {
        let endpoint = format!("{}/api/v1/query_range", url.trim_end_matches('/'));
        let params = [
            ("query", query.to_owned()),
            ("start", start.timestamp().to_string()),
            ("end", end.timestamp().to_string()),
            ("step", format!("{STEP_SECS}s")),
        ];
        let shown = without_credentials(url);
        let failed = |e: reqwest::Error| -> PromError {
            if e.is_timeout() {
                PromError::Timeout { url: shown.clone(), secs: self.timeout.as_secs().max(1) }
            } else if e.is_builder() {
                PromError::BadUrl { url: shown.clone(), reason: causes(&e) }
            } else {
                PromError::Unreachable { url: shown.clone(), reason: causes(&e) }
            }
        };
        let response = self.http.get(&endpoint).query(&params).send().map_err(failed)?;
        let status = response.status().as_u16();
        let body = response.text().map_err(failed)?;
        parse_response(&shown, query, status, &body)
    }
}

/// A URL as it may be shown and stored in a stale reason: without a user name or password.
fn without_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string().trim_end_matches('/').to_owned()
        }
        _ => url.to_owned(),
    }
}

/// The causes of an HTTP client error, innermost last, without the request URL that reqwest puts first.
fn causes(error: &reqwest::Error) -> String {
    let mut reasons = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !reasons.contains(&text) {
            reasons.push(text);
        }
        source = cause.source();
    }
    if reasons.is_empty() { error.to_string() } else { reasons.join(": ") }
}

#[derive(Debug, Deserialize)]
struct ApiResponse {
    status: String,
    data: Option<ApiData>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ApiData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct ApiSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    /// Absent when the series holds native histograms only; those have no plain values to read.
    #[serde(default)]
    values: Vec<(f64, String)>,
}

/// Reads a `query_range` answer: HTTP `status` and `body` from the server at `url` for `query`.
pub fn parse_response(url: &str, query: &str, status: u16, body: &str) -> Result<Vec<Series>, PromError> {
    let parsed: Result<ApiResponse, _> = serde_json::from_str(body);
    let response = match parsed {
        Ok(response) if response.status == "error" => {
            return Err(PromError::Api {
                query: query.to_owned(),
                error_type: response.error_type.unwrap_or_else(|| format!("HTTP {status}")),
                message: response.error.unwrap_or_else(|| "no message".to_owned()),
            });
        }
        _ if !(200..300).contains(&status) => {
            return Err(PromError::Http { url: url.to_owned(), status, body: excerpt(body) });
        }
        Ok(response) if response.status == "success" => response,
        Ok(response) => {
            return Err(PromError::BadResponse {
                query: query.to_owned(),
                reason: format!("status `{}`", response.status),
            });
        }
        Err(e) => return Err(PromError::BadResponse { query: query.to_owned(), reason: e.to_string() }),
    };
    let Some(data) = response.data else {
        return Err(PromError::BadResponse { query: query.to_owned(), reason: "no `data`".to_owned() });
    };
    if data.result_type != "matrix" {
        return Err(PromError::NotMatrix { query: query.to_owned(), result_type: data.result_type });
    }
    let series: Vec<ApiSeries> = serde_json::from_value(data.result)
        .map_err(|e| PromError::BadResponse { query: query.to_owned(), reason: e.to_string() })?;
    series
        .into_iter()
        .map(|s| {
            let points =
                s.values.iter().map(|(time, text)| point(query, *time, text)).collect::<Result<Vec<_>, PromError>>()?;
            Ok(Series { labels: s.metric, points })
        })
        .collect()
}

fn point(query: &str, time: f64, text: &str) -> Result<(DateTime<Utc>, f64), PromError> {
    // Prometheus writes times in seconds with millisecond decimals.
    let millis = (time * 1000.0).round();
    let at = DateTime::from_timestamp_millis(millis as i64)
        .filter(|_| millis.is_finite())
        .ok_or_else(|| PromError::BadResponse { query: query.to_owned(), reason: format!("time {time}") })?;
    let value: f64 =
        text.parse().map_err(|_| PromError::NotANumber { query: query.to_owned(), value: text.to_owned(), at })?;
    if value.is_finite() {
        Ok((at, value))
    } else {
        Err(PromError::NotFinite { query: query.to_owned(), value: text.to_owned(), at })
    }
}

fn excerpt(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &body[..cut]),
        None if body.is_empty() => "(empty body)".to_owned(),
        None => body.to_owned(),
    }
}

/// `query` with every `{{.window}}` (spaces allowed inside the braces, as in `{{ .window }}`) replaced by `window`.
pub fn substitute_window(query: &str, window: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) if after[..close].trim() == ".window" => {
                out.push_str(&rest[..open]);
                out.push_str(window);
                rest = &after[close + 2..];
            }
            _ => {
                out.push_str(&rest[..open + 2]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The queries of an indicator, in the order [`samples_from_results`] takes their results.
pub fn queries(indicator: &Indicator) -> Vec<&MetricQuery> {
    match indicator {
        Indicator::Ratio { good, total } => vec![good, total],
        Indicator::RatioBad { bad, total } => vec![bad, total],
        Indicator::Raw { query, .. } | Indicator::Threshold { query, .. } => vec![query],
    }
}

/// Per minute (its start), the value of one query: the sum of its series, or the single value of a query that
/// must have one (`single`).
fn by_minute(query: &str, series: &[Series], single: bool) -> Result<BTreeMap<DateTime<Utc>, f64>, PromError> {
    let mut values: BTreeMap<DateTime<Utc>, (f64, usize)> = BTreeMap::new();
    for s in series {
        for (at, value) in &s.points {
            let entry = values.entry(*at - Duration::seconds(STEP_SECS)).or_insert((0.0, 0));
            entry.0 += value;
            entry.1 += 1;
        }
    }
    if single && let Some((minute, (_, count))) = values.iter().find(|(_, (_, count))| *count > 1) {
        return Err(PromError::SeveralValues {
            query: query.to_owned(),
            count: *count,
            at: *minute + Duration::seconds(STEP_SECS),
        });
    }
    Ok(values.into_iter().map(|(minute, (value, _))| (minute, value)).collect())
}

/// The events of one minute from a per-second rate.
fn events(query: &str, minute: DateTime<Utc>, rate: f64) -> Result<u64, PromError> {
    let at = minute + Duration::seconds(STEP_SECS);
    let count = (rate * STEP_SECS as f64).round();
    if count < 0.0 {
        Err(PromError::Negative { query: query.to_owned(), value: rate, at })
    } else if count >= 2f64.powi(63) {
        Err(PromError::TooLarge { query: query.to_owned(), value: rate, at })
    } else {
        Ok(count as u64)
    }
}

/// The minute samples of an indicator from the results of its [`queries`] (same order; the queries as sent, for
/// the messages). A minute is sampled only when every query has a value for it.
pub fn samples_from_results(
    indicator: &Indicator,
    sent: &[String],
    results: &[Vec<Series>],
) -> Result<Vec<Sample>, PromError> {
    let text = |i: usize| sent.get(i).map_or("", String::as_str);
    let result = |i: usize| results.get(i).map_or(&[][..], Vec::as_slice);
    let mut samples = Vec::new();
    match indicator {
        Indicator::Ratio { .. } | Indicator::RatioBad { .. } => {
            let first = by_minute(text(0), result(0), false)?;
            let total = by_minute(text(1), result(1), false)?;
            for (minute, total_rate) in &total {
                let Some(first_rate) = first.get(minute) else { continue };
                let total = events(text(1), *minute, *total_rate)?;
                let first = events(text(0), *minute, *first_rate)?;
                let good = match indicator {
                    Indicator::Ratio { .. } => first.min(total),
                    _ => total.saturating_sub(first),
                };
                samples.push(Sample { minute: *minute, good, total });
            }
        }
        Indicator::Raw { raw_type, .. } => {
            for (minute, ratio) in by_minute(text(0), result(0), true)? {
                if !(-1e-9..=1.0 + 1e-9).contains(&ratio) {
                    return Err(PromError::RatioOutOfRange {
                        query: text(0).to_owned(),
                        value: ratio,
                        at: minute + Duration::seconds(STEP_SECS),
                    });
                }
                let weighted = (ratio.clamp(0.0, 1.0) * RAW_WEIGHT as f64).round() as u64;
                let good = match raw_type {
                    RawType::Success => weighted,
                    RawType::Failure => RAW_WEIGHT - weighted,
                };
                samples.push(Sample { minute, good, total: RAW_WEIGHT });
            }
        }
        Indicator::Threshold { operator, value: threshold, .. } => {
            for (minute, value) in by_minute(text(0), result(0), true)? {
                let good = match operator {
                    Operator::Lt => value < *threshold,
                    Operator::Lte => value <= *threshold,
                    Operator::Gt => value > *threshold,
                    Operator::Gte => value >= *threshold,
                };
                samples.push(Sample { minute, good: u64::from(good), total: 1 });
            }
        }
    }
    Ok(samples)
}

/// How polling behaves; every field is configuration.
#[derive(Debug, Clone)]
pub struct PollOptions {
    /// The server of queries whose data source names none.
    pub default_url: Option<String>,
    /// How far back a poll reads when an SLO has no data or its data ends earlier.
    pub max_backfill: Duration,
    /// How long after a minute ends it is read, so that Prometheus has ingested its last scrapes.
    pub settle: Duration,
    /// The timeout of each request.
    pub timeout: StdDuration,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            default_url: None,
            max_backfill: Duration::hours(24),
            settle: Duration::seconds(5),
            timeout: StdDuration::from_secs(10),
        }
    }
}

/// What one poll of one SLO did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polled {
    /// Data was read; `minutes` samples were written (minutes where a query had no point are not written).
    Fresh { minutes: usize },
    /// No whole minute has ended since the last data; the source answered a probe.
    UpToDate,
    /// The source failed; the SLO is now stale with this reason.
    Stale { reason: String },
}

/// The whole minutes `[from, to)` a poll reads, if any.
pub fn poll_range(
    data_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    options: &PollOptions,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let to = minute_of(now - options.settle);
    let earliest = now - options.max_backfill;
    let from = data_until.map_or(earliest, |until| until.max(earliest));
    // A start inside a minute moves to the next whole minute.
    let floor = minute_of(from);
    let from = if floor < from { floor + Duration::minutes(1) } else { floor };
    (from < to).then_some((from, to))
}

/// The Prometheus server a query goes to.
fn url_of<'a>(query: &'a MetricQuery, options: &'a PollOptions) -> Result<&'a str, PromError> {
    match &query.source {
        Source::Prometheus { url: Some(url) } if !url.trim().is_empty() => Ok(url.trim()),
        Source::Prometheus { .. } => {
            options.default_url.as_deref().filter(|u| !u.trim().is_empty()).ok_or(PromError::NoUrl)
        }
        Source::Push => Err(PromError::NotPrometheus { query: query.query.clone(), source_name: "Push".to_owned() }),
        Source::Other(name) => Err(PromError::NotPrometheus { query: query.query.clone(), source_name: name.clone() }),
    }
}

/// Why a poll stopped.
enum Failure {
    Source(PromError),
    Store(SliError),
}

impl From<SliError> for Failure {
    fn from(e: SliError) -> Self {
        Failure::Store(e)
    }
}

/// Polls one SLO: reads the whole minutes since its data ends (see [`poll_range`]), records them, and clears its
/// stale mark; or, when the source fails, marks it stale (keeping the time of the first failure) and records
/// nothing more. Only database errors are errors.
pub fn poll(
    conn: &mut DbConnection,
    slo: &StoredSlo,
    client: &dyn RangeQuery,
    options: &PollOptions,
    now: DateTime<Utc>,
) -> Result<Polled, SliError> {
    let id = slo.row.id;
    let Some((from, to)) = poll_range(slo.row.data_until.map(|t| t.and_utc()), now, options) else {
        return probe(conn, slo, client, options, now);
    };
    match read_and_record(conn, slo, client, options, from, to) {
        Ok(minutes) => {
            slos::mark_stale(conn, id, None)?;
            Ok(Polled::Fresh { minutes })
        }
        Err(Failure::Source(error)) => mark_stale(conn, slo, &error, now),
        Err(Failure::Store(error)) => Err(error),
    }
}

/// Marks an SLO stale because its source failed (the time of the first failure is kept).
fn mark_stale(
    conn: &mut DbConnection,
    slo: &StoredSlo,
    error: &PromError,
    now: DateTime<Utc>,
) -> Result<Polled, SliError> {
    let reason = error.to_string();
    // Stored to the millisecond, as every time is.
    let since = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
    slos::mark_stale(conn, slo.row.id, Some((since.naive_utc(), &reason)))?;
    Ok(Polled::Stale { reason })
}

/// No whole minute has ended since the newest data: the source is still asked for one point (the newest minute's
/// value, which is not written again), so that a Prometheus that stopped answering makes the SLO stale within one
/// poll, and one that answers again clears the mark, however short the poll interval.
fn probe(
    conn: &mut DbConnection,
    slo: &StoredSlo,
    client: &dyn RangeQuery,
    options: &PollOptions,
    now: DateTime<Utc>,
) -> Result<Polled, SliError> {
    let Some(first) = queries(&slo.definition.indicator).into_iter().next() else { return Ok(Polled::UpToDate) };
    let at = slo.row.data_until.map_or_else(|| minute_of(now), |until| until.and_utc());
    let answer = url_of(first, options)
        .and_then(|url| client.query_range(url, &substitute_window(&first.query, WINDOW), at, at));
    match answer {
        Ok(_) => {
            if slo.row.stale_since.is_some() {
                slos::mark_stale(conn, slo.row.id, None)?;
            }
            Ok(Polled::UpToDate)
        }
        Err(error) => mark_stale(conn, slo, &error, now),
    }
}

fn read_and_record(
    conn: &mut DbConnection,
    slo: &StoredSlo,
    client: &dyn RangeQuery,
    options: &PollOptions,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<usize, Failure> {
    let indicator = &slo.definition.indicator;
    let targets: Vec<(&str, String)> = queries(indicator)
        .into_iter()
        .map(|q| Ok((url_of(q, options)?, substitute_window(&q.query, WINDOW))))
        .collect::<Result<_, PromError>>()
        .map_err(Failure::Source)?;
    let sent: Vec<String> = targets.iter().map(|(_, query)| query.clone()).collect();
    let mut answered = vec![false; targets.len()];
    let mut written = 0;
    let mut chunk_from = from;
    while chunk_from < to {
        let chunk_to = (chunk_from + Duration::minutes(MAX_POINTS)).min(to);
        // The value at `m + 1 min` belongs to the minute `m`.
        let (start, end) = (chunk_from + Duration::seconds(STEP_SECS), chunk_to);
        let mut results = Vec::with_capacity(targets.len());
        for (i, (url, query)) in targets.iter().enumerate() {
            let series = client.query_range(url, query, start, end).map_err(Failure::Source)?;
            answered[i] |= !series.is_empty();
            results.push(series);
        }
        let samples = samples_from_results(indicator, &sent, &results).map_err(Failure::Source)?;
        written += record_skipping_rolled_up(conn, slo, &samples)?;
        chunk_from = chunk_to;
    }
    if let Some(i) = answered.iter().position(|answered| !answered) {
        return Err(Failure::Source(PromError::Empty { query: sent[i].clone(), from, to }));
    }
    Ok(written)
}

/// Records samples; minutes of hours already rolled up (older than the minute retention, after a long outage)
/// cannot be rewritten and are left out.
fn record_skipping_rolled_up(conn: &mut DbConnection, slo: &StoredSlo, samples: &[Sample]) -> Result<usize, SliError> {
    match record(conn, slo, samples) {
        Ok(recorded) => Ok(recorded.minutes),
        Err(SliError::Refused(refused)) => {
            let skip: HashSet<usize> = refused.iter().map(|e| e.index).collect();
            let kept: Vec<Sample> =
                samples.iter().enumerate().filter(|(i, _)| !skip.contains(i)).map(|(_, s)| *s).collect();
            Ok(record(conn, slo, &kept)?.minutes)
        }
        Err(e) => Err(e),
    }
}

/// What [`poll_all`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// SLOs read from Prometheus.
    pub slos: usize,
    /// Polls that read data.
    pub fresh: usize,
    /// Polls with nothing to read yet.
    pub up_to_date: usize,
    /// SLOs marked stale, with the reason: `(namespace/name, reason)`.
    pub stale: Vec<(String, String)>,
    /// Minutes written.
    pub samples: usize,
    /// SLOs that could not be polled because of the database or a broken stored definition: `(namespace/name,
    /// error)`.
    pub failed: Vec<(String, String)>,
}

/// Why [`poll_all`] could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Query(#[from] store::QueryError),
    #[error("cannot build the Prometheus HTTP client: {0}")]
    Client(String),
}

fn label(row: &SloRow) -> String {
    format!("{}/{}", row.namespace, row.name)
}

/// A server that could not be reached or timed out is not asked again in the same round: the SLOs after it get
/// the same error at once, so that a Prometheus down costs one timeout per round, not one per SLO.
struct FailFast<'a> {
    inner: &'a dyn RangeQuery,
    down: RefCell<HashMap<String, PromError>>,
}

impl RangeQuery for FailFast<'_> {
    fn query_range(
        &self,
        url: &str,
        query: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<Series>, PromError> {
        if let Some(error) = self.down.borrow().get(url) {
            return Err(error.clone());
        }
        let answer = self.inner.query_range(url, query, start, end);
        if let Err(error @ (PromError::Unreachable { .. } | PromError::Timeout { .. })) = &answer {
            self.down.borrow_mut().insert(url.to_owned(), error.clone());
        }
        answer
    }
}

/// Polls every SLO whose data comes from Prometheus, one after the other.
pub fn poll_all(store: &Store, options: &PollOptions, now: DateTime<Utc>) -> Result<PollReport, PollError> {
    let client = Client::new(options.timeout).map_err(|e| PollError::Client(causes(&e)))?;
    poll_all_with(store, &client, options, now)
}

/// [`poll_all`] with another client.
pub fn poll_all_with(
    store: &Store,
    client: &dyn RangeQuery,
    options: &PollOptions,
    now: DateTime<Utc>,
) -> Result<PollReport, PollError> {
    let client = FailFast { inner: client, down: RefCell::new(HashMap::new()) };
    let mut conn = store.conn()?;
    let rows = slos::of_source_kind(&mut conn, "prometheus")?;
    let mut report = PollReport { slos: rows.len(), ..PollReport::default() };
    for row in rows {
        let name = label(&row);
        let polled = StoredSlo::from_row(row).and_then(|slo| poll(&mut conn, &slo, &client, options, now));
        match polled {
            Ok(Polled::Fresh { minutes }) => {
                report.fresh += 1;
                report.samples += minutes;
            }
            Ok(Polled::UpToDate) => report.up_to_date += 1,
            Ok(Polled::Stale { reason }) => report.stale.push((name, reason)),
            Err(e) => report.failed.push((name, e.to_string())),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
