//! Evaluating many SLOs from stored SLI data, on SQLite and on PostgreSQL.
//!
//!     cargo bench -p scorecard --bench slo_eval
//!
//! For each database it creates a fresh one, writes `SLO_BENCH_COUNT` SLOs (default 10,000: 70 % availability over a
//! rolling 30 days, 10 % latency over 28 days, 10 % calendar-month, 10 % five-minute Timeslices) with 30 days of SLI
//! data each, as the store keeps it after compaction (hourly rollups for 30 days, the minutes of the last 24 hours),
//! and measures:
//!
//! * `evaluate_all` (what the status refresh and the managers' views run): the median of `SLO_BENCH_RUNS` runs;
//! * `evaluate_stored` for one SLO (what an SLO's page and API run): p50 and p99 over `SLO_BENCH_SAMPLES` SLOs
//!   picked at random;
//! * `refresh_statuses` once, the first, which writes every SLO's status (evaluate_all, the writes, the
//!   fingerprint);
//! * the database's size and the bytes of the SLI blocks.
//!
//! Environment: `PORTOLAN_BENCH_PG_URL` (a PostgreSQL server where a database `portolan_slo_bench_<pid>` may be
//! created and dropped; without it PostgreSQL is skipped), `SLO_BENCH_COUNT`, `SLO_BENCH_RUNS`,
//! `SLO_BENCH_SAMPLES`, `SLO_BENCH_DATABASES` (default `sqlite postgres`).

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, DurationRound, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use rand::{Rng, SeedableRng};
use rand_xoshiro::SplitMix64;
use scorecard::sli::import::import;
use scorecard::sli::{
    MINUTE_RETENTION, Sample, StoredDefinition, StoredSlo, evaluate_all, evaluate_stored, refresh_statuses, status_name,
};
use scorecard::slo::{
    AlertPolicy, Bucket, BudgetingMethod, CalendarLength, Indicator, MetricQuery, Objective, SloSpec, Source, Window,
};
use store::slos::{self, SloForm};
use store::{DbConnection, PoolOptions, Store, with_backend};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn spec_of(i: usize) -> SloSpec {
    let (target, window, method) = match i % 10 {
        0..=6 => (0.999, Window::Rolling(Duration::days(30)), BudgetingMethod::Occurrences),
        7 => (0.995, Window::Rolling(Duration::days(28)), BudgetingMethod::Occurrences),
        8 => (
            0.999,
            Window::Calendar {
                start: "2024-01-01T00:00:00Z".parse().unwrap_or_default(),
                length: CalendarLength::Month,
            },
            BudgetingMethod::Occurrences,
        ),
        _ => (
            0.99,
            Window::Rolling(Duration::days(30)),
            BudgetingMethod::Timeslices { slice: Duration::minutes(5), slice_target: 0.95 },
        ),
    };
    let period = match window {
        Window::Rolling(length) => length,
        Window::Calendar { .. } => Duration::days(30),
    };
    SloSpec {
        objective: Objective::new(target).unwrap_or_else(|_| unreachable!("valid targets")),
        window,
        method,
        alerting: AlertPolicy::defaults_for(period),
    }
}

fn forms(count: usize) -> Vec<SloForm> {
    let push = MetricQuery { source: Source::Push, query: String::new() };
    let now = store::now();
    (0..count)
        .map(|i| {
            let definition = StoredDefinition {
                spec: spec_of(i),
                indicator: Indicator::Ratio { good: push.clone(), total: push.clone() },
            };
            SloForm {
                namespace: "default".to_owned(),
                name: format!("svc-{:05}-slo-{}", i / 2, i % 2),
                service: format!("svc-{:05}", i / 2),
                display_name: format!("SLO {i}"),
                description: String::new(),
                path: format!("/bench/svc-{:05}/slo.yaml", i / 2),
                line: 1,
                col: 1,
                source_kind: "push".to_owned(),
                definition: serde_json::to_string(&definition).unwrap_or_default(),
                problems: "[]".to_owned(),
                updated_at: now,
            }
        })
        .collect()
}

/// 30 days of one SLO's data as stored after compaction: hourly rollups up to the last day, then minutes.
fn history(slo: &StoredSlo, now: DateTime<Utc>, rng: &mut SplitMix64) -> (Vec<Bucket>, Vec<Sample>) {
    let cutoff = (now - MINUTE_RETENTION).duration_trunc(Duration::hours(1)).unwrap_or(now);
    let first = (now - Duration::days(30)).duration_trunc(Duration::hours(1)).unwrap_or(now);
    let per_minute = 20.0 + rng.random::<f64>() * 1_000.0;
    let error_ratio = slo.definition.spec.objective.error_budget() * (0.05 + rng.random::<f64>() * 0.6);
    let slices_per_hour = match slo.definition.spec.method {
        BudgetingMethod::Timeslices { slice, .. } | BudgetingMethod::RatioTimeslices { slice } => {
            60 / slice.num_minutes().max(1)
        }
        BudgetingMethod::Occurrences => 60,
    } as u32;
    let mut hours = Vec::with_capacity(24 * 30);
    let mut hour = first;
    while hour < cutoff {
        let total = (per_minute * 60.0 * (0.6 + 0.8 * rng.random::<f64>())) as u64;
        let bad = ((total as f64) * error_ratio * (0.5 + rng.random::<f64>())) as u64;
        let bad_slices = u32::from(rng.random::<f64>() < 0.05);
        hours.push(Bucket {
            start: hour,
            minutes: 60,
            good: total - bad.min(total),
            total,
            good_slices: slices_per_hour - bad_slices,
            slices: slices_per_hour,
            ratio_sum: f64::from(slices_per_hour) * (1.0 - error_ratio),
        });
        hour += Duration::hours(1);
    }
    let mut minutes = Vec::with_capacity(26 * 60);
    let mut minute = cutoff;
    let end = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
    while minute < end {
        let total = (per_minute * (0.6 + 0.8 * rng.random::<f64>())) as u64;
        let bad = ((total as f64) * error_ratio * 2.0 * rng.random::<f64>() + rng.random::<f64>()) as u64;
        minutes.push(Sample { minute, good: total - bad.min(total), total });
        minute += Duration::minutes(1);
    }
    (hours, minutes)
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn number(conn: &mut DbConnection, sql: &str) -> Result<i64, diesel::result::Error> {
    with_backend!(conn, |c| diesel::sql_query(sql).get_result::<Number>(c)).map(|row| row.n)
}

/// A database of its own for one run, dropped afterwards.
struct BenchDb {
    store: Store,
    name: &'static str,
    sqlite_file: Option<std::path::PathBuf>,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl BenchDb {
    fn sqlite() -> anyhow::Result<BenchDb> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("bench.db");
        let store = Store::open(&format!("sqlite://{}", file.display()), &PoolOptions::default())?;
        Ok(BenchDb { store, name: "SQLite", sqlite_file: Some(file), postgres: None, _dir: Some(dir) })
    }

    fn postgres(admin_url: &str) -> anyhow::Result<BenchDb> {
        let database = format!("portolan_slo_bench_{}", std::process::id());
        let mut admin = diesel::PgConnection::establish(admin_url)?;
        // One statement per call: neither may run inside the transaction a multi-statement string makes.
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database}"))?;
        admin.batch_execute(&format!("CREATE DATABASE {database}"))?;
        let url = store::test_support::with_database(admin_url, &database);
        let options = PoolOptions { statement_timeout: StdDuration::from_secs(600), ..PoolOptions::default() };
        let store = Store::open(&url, &options)?;
        Ok(BenchDb {
            store,
            name: "PostgreSQL",
            sqlite_file: None,
            postgres: Some((admin_url.to_owned(), database)),
            _dir: None,
        })
    }

    /// The database's size on disk, in bytes.
    fn size(&self, conn: &mut DbConnection) -> anyhow::Result<u64> {
        match &self.sqlite_file {
            Some(file) => {
                conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")?;
                let wal = file.with_extension("db-wal");
                Ok(std::fs::metadata(file)?.len() + std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0))
            }
            None => Ok(u64::try_from(number(conn, "SELECT pg_database_size(current_database()) AS n")?)?),
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let Some((admin_url, database)) = &self.postgres
            && let Ok(mut admin) = diesel::PgConnection::establish(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
        }
    }
}

struct Figures {
    database: &'static str,
    slos: usize,
    setup: StdDuration,
    all: Vec<StdDuration>,
    refresh: StdDuration,
    one: Vec<StdDuration>,
    statuses: BTreeMap<&'static str, usize>,
    size: u64,
    blocks: i64,
    block_bytes: i64,
}

fn median(sorted: &[StdDuration]) -> StdDuration {
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

fn percentile(sorted: &[StdDuration], p: f64) -> StdDuration {
    let index = ((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1);
    sorted.get(index.min(sorted.len().saturating_sub(1))).copied().unwrap_or_default()
}

fn ms(d: StdDuration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn run(db: &BenchDb, count: usize, runs: usize, samples: usize) -> anyhow::Result<Figures> {
    let now = Utc::now();
    let mut conn = db.store.conn()?;
    let setup_started = Instant::now();
    conn.transaction(|conn| slos::upsert_many(conn, &forms(count)))?;
    let stored: Vec<StoredSlo> =
        slos::all(&mut conn)?.into_iter().map(StoredSlo::from_row).collect::<Result<_, _>>()?;
    let mut rng = SplitMix64::seed_from_u64(0x5eed_510b_e4c4);
    for chunk in stored.chunks(250) {
        conn.transaction(|conn| -> anyhow::Result<()> {
            for slo in chunk {
                let (hours, minutes) = history(slo, now, &mut rng);
                import(conn, slo, &hours, &minutes)?;
            }
            Ok(())
        })?;
        eprint!(".");
    }
    eprintln!();
    if let DbConnection::Postgresql(_) = &mut *conn {
        // VACUUM cannot run inside a transaction, so one statement per call.
        conn.batch_execute("VACUUM ANALYZE slos")?;
        conn.batch_execute("VACUUM ANALYZE sli_blocks")?;
    }
    let setup = setup_started.elapsed();
    eprintln!("[slo bench] {}: {count} SLOs written in {:.1} s", db.name, setup.as_secs_f64());

    let mut statuses = BTreeMap::new();
    let mut first = HashMap::new();
    let mut all = Vec::new();
    for run in 0..runs {
        let started = Instant::now();
        let evaluated = evaluate_all(&mut conn, now)?;
        all.push(started.elapsed());
        anyhow::ensure!(evaluated.len() == count, "{} SLOs evaluated instead of {count}", evaluated.len());
        if run == 0 {
            for (slo, evaluation) in evaluated {
                *statuses.entry(status_name(evaluation.status)).or_insert(0) += 1;
                first.insert(slo.row.id, evaluation);
            }
        }
        eprintln!("[slo bench] {}: evaluate_all {:.3} s", db.name, all[run].as_secs_f64());
    }
    all.sort();

    let mut one = Vec::with_capacity(samples);
    for _ in 0..samples {
        let slo = stored[rng.random_range(0..stored.len())].clone();
        let id = slo.row.id;
        let started = Instant::now();
        let state = evaluate_stored(&mut conn, slo, now)?;
        one.push(started.elapsed());
        // One SLO evaluated alone reads as it does among all of them.
        anyhow::ensure!(first.get(&id) == Some(&state.evaluation), "SLO {id} evaluates differently alone");
    }
    one.sort();

    // Last: it writes every status (the first time all of them), and the writes would disturb the reads above.
    let started = Instant::now();
    refresh_statuses(&mut conn, now)?;
    let refresh = started.elapsed();

    let size = db.size(&mut conn)?;
    let blocks = number(&mut conn, "SELECT COUNT(*) AS n FROM sli_blocks")?;
    let block_bytes = number(&mut conn, "SELECT CAST(COALESCE(SUM(LENGTH(data)), 0) AS BIGINT) AS n FROM sli_blocks")?;
    Ok(Figures { database: db.name, slos: count, setup, all, refresh, one, statuses, size, blocks, block_bytes })
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; a filter argument is not used.
    let count = env_number("SLO_BENCH_COUNT", 10_000);
    let runs = env_number("SLO_BENCH_RUNS", 5).max(1);
    let samples = env_number("SLO_BENCH_SAMPLES", 1_000).max(1);
    let databases = std::env::var("SLO_BENCH_DATABASES").unwrap_or_else(|_| "sqlite postgres".to_owned());
    let started_load = load();
    let mut figures = Vec::new();
    for database in databases.split_whitespace() {
        let db = match database {
            "sqlite" => BenchDb::sqlite(),
            "postgres" => match std::env::var("PORTOLAN_BENCH_PG_URL") {
                Ok(url) if !url.is_empty() => BenchDb::postgres(&url),
                _ => {
                    eprintln!("[slo bench] PostgreSQL skipped: PORTOLAN_BENCH_PG_URL is not set");
                    continue;
                }
            },
            other => {
                eprintln!("error: unknown database `{other}` in SLO_BENCH_DATABASES (sqlite or postgres)");
                return ExitCode::FAILURE;
            }
        };
        match db.and_then(|db| run(&db, count, runs, samples)) {
            Ok(f) => figures.push(f),
            Err(e) => {
                eprintln!("error: {database}: {e:#}");
                return ExitCode::FAILURE;
            }
        }
    }

    println!("load average (1, 5, 15 min): {started_load} at the start, {} at the end", load());
    println!();
    println!(
        "| database | SLOs | setup (s) | evaluate_all median (s) | min–max (s) | per SLO (µs) | refresh_statuses (s) \
         | one SLO p50 (ms) | p99 (ms) | database (MiB) | SLI blocks | block bytes (MiB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for f in &figures {
        let (first, last) = (f.all.first().copied().unwrap_or_default(), f.all.last().copied().unwrap_or_default());
        println!(
            "| {} | {} | {:.1} | {:.3} | {:.3}–{:.3} | {:.0} | {:.3} | {} | {} | {:.1} | {} | {:.1} |",
            f.database,
            f.slos,
            f.setup.as_secs_f64(),
            median(&f.all).as_secs_f64(),
            first.as_secs_f64(),
            last.as_secs_f64(),
            median(&f.all).as_secs_f64() * 1e6 / f.slos.max(1) as f64,
            f.refresh.as_secs_f64(),
            ms(median(&f.one)),
            ms(percentile(&f.one, 0.99)),
            f.size as f64 / 1_048_576.0,
            f.blocks,
            f.block_bytes as f64 / 1_048_576.0,
        );
    }
    for f in &figures {
        println!("\n{}: statuses at the first run: {:?}", f.database, f.statuses);
    }
    if let [sqlite, postgres] = &figures[..] {
        let ratio = |a: StdDuration, b: StdDuration| b.as_secs_f64() / a.as_secs_f64().max(1e-9);
        println!(
            "\nPostgreSQL / SQLite, measured in this run: evaluate_all {:.2}×, one SLO p50 {:.2}×, p99 {:.2}×",
            ratio(median(&sqlite.all), median(&postgres.all)),
            ratio(median(&sqlite.one), median(&postgres.one)),
            ratio(percentile(&sqlite.one, 0.99), percentile(&postgres.one, 0.99)),
        );
    }
    ExitCode::SUCCESS
}
