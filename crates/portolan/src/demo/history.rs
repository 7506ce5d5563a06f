//! Thirty days of generated SLI history for the demo organisation's SLOs, so that `serve --demo` shows budgets,
//! burn rates and every status at once.
//!
//! The history is deterministic: each SLO's minutes come from a fixed seed and its name, counted back from the
//! minute the history is written, so every load shows the same story (only the daily traffic shape follows the
//! clock). Most services are steady and healthy (a daily traffic curve, background errors spending 10–50 % of the
//! budget, a few short blips days ago); four SLOs tell a story of their own (see [`profile`]):
//!
//! * `payments-service-availability` has been burning at 30× for the last four hours: its page alerts fire now,
//!   and the budget left is under a quarter, so it stays at risk after the spike ends;
//! * `carrier-gateway-availability` lost a parcel carrier for three days last week: its budget is spent (policy:
//!   freeze);
//! * `search-service-latency` had a slow day after a reindex and is at risk on budget alone;
//! * `push-notification-service-delivery` has never received an event (no data).
//!
//! The SLOs read from Prometheus get history as well; they turn stale when the poller cannot reach Prometheus.

use std::f64::consts::PI;

use chrono::{DateTime, Datelike, Duration, Timelike, Utc, Weekday};
use rand::{Rng, RngCore, SeedableRng};
use rand_xoshiro::SplitMix64;
use scorecard::sli::{self, MINUTE_RETENTION, Sample, SliError, StoredSlo, hour_of, minute_of};
use scorecard::slo::BudgetingMethod;
use store::DbConnection;

/// The seed of every demo history.
pub const SEED: u64 = 0x6e6f_7274_6877_696e;

/// How much history is written.
pub const DAYS: i64 = 30;

/// A period of extra errors, counted in minutes before the history's end.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Episode {
    /// How many minutes before the end it starts.
    starts_ago: i64,
    /// How many minutes it lasts.
    minutes: i64,
    /// The error ratio during it.
    error_ratio: f64,
}

impl Episode {
    fn covers(&self, ago: i64) -> bool {
        ago <= self.starts_ago && ago > self.starts_ago - self.minutes
    }
}

/// How one SLO's history is generated.
#[derive(Debug, Clone, PartialEq)]
struct Profile {
    /// Events per minute at the daily peak.
    peak: f64,
    /// Whether traffic is the same at every hour (a job checked every minute) instead of following the day.
    flat: bool,
    /// The error ratio outside episodes.
    error_ratio: f64,
    episodes: Vec<Episode>,
    /// No events at all.
    silent: bool,
}

const HOUR: i64 = 60;
const DAY: i64 = 24 * HOUR;

/// FNV-1a, to derive a seed from an SLO's name.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// The history of one SLO, by name; `budget` is its error budget `1 − target`.
fn profile(name: &str, budget: f64) -> Profile {
    let mut rng = SplitMix64::seed_from_u64(SEED ^ fnv1a(name));
    let steady = |rng: &mut SplitMix64| {
        let peak = 120.0 + (rng.random::<f64>() * 2_880.0).round();
        let spent = 0.1 + rng.random::<f64>() * 0.4;
        // One to three short blips, well before the alert windows (three days).
        let blips = 1 + rng.next_u64() % 3;
        let episodes = (0..blips)
            .map(|_| Episode {
                starts_ago: 4 * DAY + (rng.random::<f64>() * 25.0 * DAY as f64) as i64,
                minutes: 5 + (rng.random::<f64>() * 25.0) as i64,
                error_ratio: (budget * 12.0).min(0.5),
            })
            .collect();
        Profile { peak, flat: false, error_ratio: spent * budget, episodes, silent: false }
    };
    let mut profile = steady(&mut rng);
    match name {
        "payments-service-availability" => {
            profile.error_ratio = 0.7 * budget;
            profile.episodes = vec![Episode { starts_ago: 4 * HOUR, minutes: 4 * HOUR, error_ratio: 30.0 * budget }];
        }
        "carrier-gateway-availability" => {
            profile.error_ratio = 0.35 * budget;
            profile.episodes = vec![Episode { starts_ago: 9 * DAY, minutes: 3 * DAY, error_ratio: 10.0 * budget }];
        }
        "search-service-latency" => {
            profile.error_ratio = 0.5 * budget;
            profile.episodes = vec![Episode { starts_ago: 12 * DAY, minutes: DAY, error_ratio: 10.0 * budget }];
        }
        "push-notification-service-delivery" => profile.silent = true,
        // Good five-minute slices need 99 % good page loads: background errors stay well under 1 %, and three
        // outages of 15–25 minutes spend 12 of the 43 bad slices the window allows.
        "storefront-web-availability" => {
            profile.error_ratio = 0.002;
            profile.episodes = vec![
                Episode { starts_ago: 20 * DAY, minutes: 25, error_ratio: 0.04 },
                Episode { starts_ago: 11 * DAY, minutes: 20, error_ratio: 0.03 },
                Episode { starts_ago: 4 * DAY + 7 * HOUR, minutes: 15, error_ratio: 0.05 },
            ];
        }
        // A freshness check runs once a minute, day and night.
        "warehouse-etl-freshness" => {
            profile.peak = 1.0;
            profile.flat = true;
        }
        _ => {}
    }
    profile
}

/// The share of the daily peak at `minute`: a trough at 03:00 UTC, the peak at 15:00, quieter weekends.
fn traffic_shape(minute: DateTime<Utc>) -> f64 {
    let hour = f64::from(minute.hour()) + f64::from(minute.minute()) / 60.0;
    let daily = 0.35 + 0.65 * (0.5 + 0.5 * (2.0 * PI * (hour - 15.0) / 24.0).cos());
    let weekend = matches!(minute.weekday(), Weekday::Sat | Weekday::Sun);
    if weekend { daily * 0.8 } else { daily }
}

/// The minutes of one SLO's history, oldest first, ending with the minute before `end`'s.
fn samples(name: &str, budget: f64, end: DateTime<Utc>) -> Vec<Sample> {
    let profile = profile(name, budget);
    if profile.silent {
        return Vec::new();
    }
    let last = minute_of(end) - Duration::minutes(1);
    let mut rng = SplitMix64::seed_from_u64(SEED.rotate_left(17) ^ fnv1a(name));
    (0..DAYS * DAY)
        .rev()
        .map(|ago| {
            let minute = last - Duration::minutes(ago);
            let shape = if profile.flat { 1.0 } else { traffic_shape(minute) * (0.9 + 0.2 * rng.random::<f64>()) };
            let total = (profile.peak * shape).round().max(0.0) as u64;
            let ratio = profile.episodes.iter().find(|e| e.covers(ago)).map_or(profile.error_ratio, |e| e.error_ratio);
            // Errors vary from minute to minute around the ratio; rounding is random so that small counts keep it.
            let expected = total as f64 * ratio * (0.5 + rng.random::<f64>());
            let bad = ((expected + rng.random::<f64>()).floor() as u64).min(total);
            Sample { minute, good: total - bad, total }
        })
        .collect()
}

/// The samples with every hour that [`sli::compact`] rolls up at `now` merged into one sample at the start of the
/// hour (the hour's events). An SLO counted by events (`Occurrences`) reads nothing of such an hour but its sums, so
/// its evaluations are the same either way, and writing 60 times fewer minutes keeps loading the demo fast.
fn condensed(samples: Vec<Sample>, now: DateTime<Utc>) -> Vec<Sample> {
    let rolled_up_before = hour_of(now - MINUTE_RETENTION);
    let mut out: Vec<Sample> = Vec::with_capacity(samples.len() / 30);
    for sample in samples {
        if sample.minute >= rolled_up_before {
            out.push(sample);
            continue;
        }
        let hour = hour_of(sample.minute);
        match out.last_mut() {
            Some(last) if last.minute == hour => {
                last.good += sample.good;
                last.total += sample.total;
            }
            _ => out.push(Sample { minute: hour, ..sample }),
        }
    }
    out
}

/// What [`write`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// SLOs given history.
    pub slos: usize,
    /// Samples written, over all of them (older hours of event-counted SLOs as one sample each, see [`condensed`]).
    pub samples: usize,
}

/// Writes the generated history of each SLO (one [`sli::record`] call each) ending at `now`, drops the minute
/// blocks older than a day as the maintenance job would, and stores every SLO's status.
pub fn write(conn: &mut DbConnection, slos: &[StoredSlo], now: DateTime<Utc>) -> Result<Written, SliError> {
    let mut written = Written::default();
    for slo in slos {
        let budget = slo.definition.spec.objective.error_budget();
        let mut samples = samples(&slo.row.name, budget, now);
        if samples.is_empty() {
            continue;
        }
        if slo.definition.spec.method == BudgetingMethod::Occurrences {
            samples = condensed(samples, now);
        }
        written.samples += samples.len();
        sli::record(conn, slo, &samples)?;
        written.slos += 1;
    }
    sli::compact(conn, now)?;
    sli::refresh_statuses(conn, now)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use scorecard::slo::{AlertPolicy, Bucket, BudgetingMethod, Objective, SloSpec, Status, Window, evaluate};

    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-03-04T12:34:56Z".parse().expect("instant")
    }

    fn spec(target: f64, days: i64, method: BudgetingMethod) -> SloSpec {
        SloSpec {
            objective: Objective::new(target).expect("target"),
            window: Window::Rolling(Duration::days(days)),
            method,
            alerting: AlertPolicy::defaults_for(Duration::days(days)),
        }
    }

    fn evaluated(name: &str, spec: &SloSpec) -> scorecard::slo::Evaluation {
        let buckets: Vec<Bucket> = samples(name, spec.objective.error_budget(), now())
            .into_iter()
            .map(|s| Bucket::minute(s.minute, s.good, s.total))
            .collect();
        evaluate(spec, &buckets, now())
    }

    #[test]
    fn history_is_deterministic_and_ends_before_now() {
        let first = samples("cart-service-availability", 0.001, now());
        assert_eq!(first, samples("cart-service-availability", 0.001, now()));
        assert_eq!(first.len(), 30 * 24 * 60);
        assert_eq!(first.last().map(|s| s.minute), Some(minute_of(now()) - Duration::minutes(1)));
        assert_ne!(first, samples("tax-service-availability", 0.001, now()));
        assert!(first.iter().all(|s| s.good <= s.total));
    }

    #[test]
    fn each_story_gives_its_status() {
        let occurrences = |target, days| spec(target, days, BudgetingMethod::Occurrences);
        let steady = evaluated("cart-service-availability", &occurrences(0.999, 28));
        assert_eq!(steady.status, Status::Healthy);
        let remaining = steady.error_budget.remaining.expect("data");
        assert!((0.45..0.95).contains(&remaining), "{remaining}");

        let burning = evaluated("payments-service-availability", &occurrences(0.999, 28));
        assert_eq!(burning.status, Status::AtRisk);
        assert!(burning.alerts[0].firing, "the fast page fires: {:?}", burning.alerts[0]);
        let remaining = burning.error_budget.remaining.expect("data");
        assert!((0.0..0.25).contains(&remaining), "{remaining}");

        let exhausted = evaluated("carrier-gateway-availability", &occurrences(0.995, 30));
        assert_eq!(exhausted.status, Status::Exhausted);
        assert!(exhausted.alerts.iter().all(|alert| !alert.firing), "the outage is over: {:?}", exhausted.alerts);

        let slow = evaluated("search-service-latency", &occurrences(0.99, 30));
        assert_eq!(slow.status, Status::AtRisk);
        assert!(slow.alerts.iter().all(|alert| !alert.firing));

        assert_eq!(evaluated("push-notification-service-delivery", &occurrences(0.99, 30)).status, Status::NoData);

        let five = Duration::minutes(5);
        let slices = spec(0.995, 30, BudgetingMethod::Timeslices { slice: five, slice_target: 0.99 });
        let storefront = evaluated("storefront-web-availability", &slices);
        assert_eq!(storefront.status, Status::Healthy);
        let consumed = storefront.error_budget.consumed.expect("data");
        assert!((0.2..0.4).contains(&consumed), "{consumed}");

        // One check a minute; the oldest minute starts just before the window.
        let freshness = evaluated("warehouse-etl-freshness", &occurrences(0.99, 30));
        assert_eq!((freshness.status, freshness.sli.total), (Status::Healthy, 30 * 24 * 60 - 1));
    }

    #[test]
    fn condensed_history_evaluates_like_every_minute() {
        use scorecard::sli::{StoredDefinition, evaluate_stored};
        use scorecard::slo::{Indicator, MetricQuery, Source};
        use store::slos::{self, SloForm};

        let push = MetricQuery { source: Source::Push, query: String::new() };
        let definition = StoredDefinition {
            spec: spec(0.999, 28, BudgetingMethod::Occurrences),
            indicator: Indicator::Ratio { good: push.clone(), total: push },
        };
        let form = |name: &str| SloForm {
            namespace: "default".to_owned(),
            name: name.to_owned(),
            service: "payments-service".to_owned(),
            display_name: name.to_owned(),
            description: String::new(),
            path: "/demo/checkout-slos.yaml".to_owned(),
            line: 1,
            col: 1,
            source_kind: "push".to_owned(),
            definition: serde_json::to_string(&definition).expect("serializable"),
            problems: "[]".to_owned(),
            updated_at: store::now(),
        };
        let minutes = samples("payments-service-availability", 0.001, now());
        let few = condensed(minutes.clone(), now());
        assert!(few.len() < minutes.len() / 15, "{} samples", few.len());
        assert_eq!(few.iter().map(|s| s.total).sum::<u64>(), minutes.iter().map(|s| s.total).sum::<u64>());
        for db in store::test_support::TestDb::all() {
            let mut conn = db.store.conn().expect("connection");
            slos::upsert_many(&mut conn, &[form("every-minute"), form("condensed")]).expect("SLOs");
            let stored = |conn: &mut DbConnection, name: &str| {
                let row = slos::by_name(conn, "default", name).expect("query").expect("stored");
                StoredSlo::from_row(row).expect("definition")
            };
            let (full, short) = (stored(&mut conn, "every-minute"), stored(&mut conn, "condensed"));
            sli::record(&mut conn, &full, &minutes).expect("recorded");
            sli::record(&mut conn, &short, &few).expect("recorded");
            sli::compact(&mut conn, now()).expect("compacted");
            let full = evaluate_stored(&mut conn, full, now()).expect("evaluated");
            let short = evaluate_stored(&mut conn, short, now()).expect("evaluated");
            assert_eq!(full.evaluation, short.evaluation, "{}", db.backend_name());
            assert_eq!(full.buckets.len(), short.buckets.len(), "{}", db.backend_name());
            assert_eq!(full.evaluation.status, Status::AtRisk);
        }
    }
}
