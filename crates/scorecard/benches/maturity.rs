//! Maturity scorecards at scale.
//!
//!     cargo bench -p scorecard --bench maturity
//!
//! Two parts:
//!
//! 1. **Pure evaluation**: three scorecards (the demo's production-readiness and SLO scorecards and a documentation
//!    one) over `MATURITY_BENCH_ENTITIES` (default 50,000) synthetic [`EntityFacts`]: `evaluate` alone on one thread,
//!    and `jobs::evaluate_rows` (what the job runs: every core, each result turned into its stored row with the rules
//!    as JSON). Median of `MATURITY_BENCH_RUNS` runs.
//! 2. **Gather, evaluate and store**: a catalog written by `bench/generate_catalog.py --services
//!    MATURITY_BENCH_SERVICES` (default 50,000; or the folder `MATURITY_BENCH_CATALOG` already holds) is ingested
//!    with the three scorecard files, then `jobs::evaluate_and_store` runs three times (the first stores every
//!    result as new and records a level change for each; the others find nothing changed) and `jobs::snapshot` once.
//!    The generated catalog has no SLOs: the SLO phase is `sli::evaluate_all` over none (its cost at 10,000 SLOs is
//!    `slo_eval`'s figure).
//!
//! Environment: `MATURITY_BENCH_DATABASES` (default `sqlite`; `sqlite postgres` for both), `PORTOLAN_BENCH_PG_URL`
//! (a PostgreSQL server where a database `portolan_maturity_bench_<pid>` may be created and dropped),
//! `MATURITY_BENCH_SKIP_STORE=1` (part 1 only).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use catalog::golden_path::Drift;
use catalog::ingest::{Formats, IngestOptions, NoProgress, ingest};
use chrono::{DateTime, Utc};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use rand::{Rng, SeedableRng};
use rand_xoshiro::SplitMix64;
use scorecard::maturity::jobs::{self, Phases};
use scorecard::maturity::{
    DependencyFacts, EntityFacts, Outcome, Scorecard, ScorecardFormat, SloFacts, evaluate, scorecards_from_documents,
};
use scorecard::slo::SloFormat;
use store::{PoolOptions, Store};

const READINESS: &str = include_str!("../../portolan/demo/catalog/scorecards/production-readiness.yaml");
const SLO: &str = include_str!("../../portolan/demo/catalog/scorecards/slo.yaml");
const DOCUMENTATION: &str = "\
apiVersion: portolan.dev/v1
kind: Scorecard
metadata: {name: documentation, title: Documentation}
spec:
  appliesTo: {kind: Component}
  levels: [Started, Documented, Exemplary]
  rules:
    - {id: described, level: Started, check: hasDescription}
    - id: docs
      level: Documented
      any:
        - {check: hasAnnotation, key: backstage.io/techdocs-ref}
        - {check: hasLink, type: docs}
    - id: findable
      level: Documented
      all:
        - {check: hasLink, type: repository}
        - any: [{check: hasTag, tag: java}, {check: hasTag, tag: rust}, {check: hasTag, tag: go}]
    - {id: owned, level: Exemplary, check: ownerIsGroup}
    - {id: pager, level: Exemplary, check: hasAnnotation, key: pagerduty.com/service-id}
";

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn scorecards() -> anyhow::Result<Vec<Scorecard>> {
    let files: Vec<(String, String)> = [("readiness.yaml", READINESS), ("slo.yaml", SLO), ("docs.yaml", DOCUMENTATION)]
        .iter()
        .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
        .collect();
    let (cards, problems) = scorecards_from_documents(&files);
    let errors: Vec<String> = problems.iter().filter(|p| p.problem.is_error()).map(ToString::to_string).collect();
    anyhow::ensure!(errors.is_empty(), "the bench's scorecards have errors: {errors:?}");
    Ok(cards.into_iter().map(|(card, _)| card).collect())
}

const TAGS: [&str; 8] = ["java", "go", "rust", "python", "grpc", "kafka", "postgres", "pci"];

/// `count` entities as an organisation of about `count / 150` teams would have them.
fn synthetic_facts(count: usize) -> Vec<EntityFacts> {
    let mut rng = SplitMix64::seed_from_u64(0x6d61_7475_7269_7479);
    let teams = (count / 150).max(2);
    (0..count)
        .map(|i| {
            let roll = rng.random::<f64>();
            let spec_type = if roll < 0.8 {
                "service"
            } else if roll < 0.9 {
                "website"
            } else {
                "library"
            };
            let roll = rng.random::<f64>();
            let lifecycle = if roll < 0.7 {
                "production"
            } else if roll < 0.9 {
                "experimental"
            } else {
                "deprecated"
            };
            let user_owned = rng.random::<f64>() < 0.05;
            let owner = if user_owned {
                format!("user:default/person-{}", rng.random_range(0..count / 5 + 1))
            } else {
                format!("group:default/team-{}", rng.random_range(0..teams))
            };
            let mut link_types = Vec::new();
            for (kind, p) in [("runbook", 0.7), ("dashboard", 0.65), ("docs", 0.3), ("repository", 0.9)] {
                if rng.random::<f64>() < p {
                    link_types.push(kind.to_owned());
                }
            }
            let mut annotations = vec!["github.com/project-slug".to_owned()];
            for (key, p) in [("backstage.io/techdocs-ref", 0.35), ("pagerduty.com/service-id", 0.4)] {
                if rng.random::<f64>() < p {
                    annotations.push(key.to_owned());
                }
            }
            let tags: Vec<String> =
                (0..rng.random_range(1..=3)).map(|_| TAGS[rng.random_range(0..TAGS.len())].to_owned()).collect();
            let golden_path = if rng.random::<f64>() < 0.25 {
                let template = "template:default/rust-http-service".to_owned();
                match rng.random_range(0..4) {
                    0 => Drift::UpToDate { template, version: "2.0.0".to_owned() },
                    behind => Drift::Behind {
                        template,
                        version: format!("1.{}.0", 3 - behind),
                        latest: "2.0.0".to_owned(),
                        behind,
                    },
                }
            } else {
                Drift::NotFromTemplate
            };
            let slos = (0..if rng.random::<f64>() < 0.6 { rng.random_range(1..=3) } else { 0 })
                .map(|n| {
                    let has_data = rng.random::<f64>() < 0.9;
                    let budget = 1.2 * rng.random::<f64>() - 0.2;
                    SloFacts {
                        name: format!("slo-{i}-{n}"),
                        meets_target: has_data.then_some(budget > 0.0),
                        budget_remaining: has_data.then_some(budget),
                        page_alert_firing: rng.random::<f64>() < 0.03,
                    }
                })
                .collect();
            let dependencies = (0..rng.random_range(0..=4))
                .map(|_| DependencyFacts {
                    entity_ref: format!("component:default/svc-{}", rng.random_range(0..count)),
                    lifecycle: Some(if rng.random::<f64>() < 0.1 { "deprecated" } else { "production" }.to_owned()),
                    in_catalog: true,
                })
                .collect();
            let described = rng.random::<f64>() < 0.9;
            EntityFacts {
                entity_ref: format!("component:default/svc-{i:05}"),
                kind: "component".to_owned(),
                spec_type: Some(spec_type.to_owned()),
                lifecycle: Some(lifecycle.to_owned()),
                owner_is_group: !user_owned,
                owner_ref: Some(owner),
                description: described.then(|| format!("Service number {i}.")),
                link_types,
                annotations,
                tags,
                golden_path,
                slos: Some(slos),
                dependencies,
            }
        })
        .collect()
}

fn median(mut runs: Vec<Duration>) -> (Duration, Duration, Duration) {
    runs.sort();
    let (min, max) = (runs.first().copied().unwrap_or_default(), runs.last().copied().unwrap_or_default());
    (runs.get(runs.len() / 2).copied().unwrap_or_default(), min, max)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn seconds(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64())
}

fn pure(count: usize, runs: usize) -> anyhow::Result<()> {
    let cards = scorecards()?;
    let started = Instant::now();
    let facts = synthetic_facts(count);
    eprintln!("[maturity bench] {count} synthetic entities in {:.2} s", started.elapsed().as_secs_f64());
    let at = Utc::now().naive_utc();
    let mut alone = Vec::new();
    let mut rows = Vec::new();
    let mut results = 0;
    let mut passes = 0;
    for _ in 0..runs {
        let started = Instant::now();
        results = 0;
        passes = 0;
        for card in &cards {
            for entity in &facts {
                if let Some(result) = evaluate(card, entity) {
                    results += 1;
                    passes += result.rules.iter().filter(|r| r.outcome == Outcome::Pass).count();
                }
            }
        }
        alone.push(started.elapsed());
        let started = Instant::now();
        let stored: usize = cards.iter().map(|card| jobs::evaluate_rows(card, &facts, at).len()).sum();
        rows.push(started.elapsed());
        anyhow::ensure!(stored == results, "{stored} rows for {results} results");
    }
    let (alone, alone_min, alone_max) = median(alone);
    let (rows, rows_min, rows_max) = median(rows);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    println!("### Pure evaluation: 3 scorecards × {count} entities ({results} results, {passes} rules passed)");
    println!();
    println!("| what | median (ms) | min–max (ms) | per result (µs) |");
    println!("|---|---:|---:|---:|");
    let per = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1e6 / results.max(1) as f64);
    println!("| `evaluate` only, 1 thread | {} | {}–{} | {} |", ms(alone), ms(alone_min), ms(alone_max), per(alone));
    println!(
        "| `jobs::evaluate_rows` ({threads} threads, stored rows with the rules as JSON) | {} | {}–{} | {} |",
        ms(rows),
        ms(rows_min),
        ms(rows_max),
        per(rows)
    );
    println!();
    Ok(())
}

struct BenchDb {
    store: Store,
    name: &'static str,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl BenchDb {
    fn sqlite() -> anyhow::Result<BenchDb> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let options = PoolOptions { statement_timeout: Duration::from_secs(600), ..PoolOptions::default() };
        Ok(BenchDb { store: Store::open(&url, &options)?, name: "SQLite", postgres: None, _dir: Some(dir) })
    }

    fn postgres(admin_url: &str) -> anyhow::Result<BenchDb> {
        let database = format!("portolan_maturity_bench_{}", std::process::id());
        let mut admin = diesel::PgConnection::establish(admin_url)?;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database}"))?;
        admin.batch_execute(&format!("CREATE DATABASE {database}"))?;
        let url = store::test_support::with_database(admin_url, &database);
        let options = PoolOptions { statement_timeout: Duration::from_secs(600), ..PoolOptions::default() };
        let store = Store::open(&url, &options)?;
        Ok(BenchDb { store, name: "PostgreSQL", postgres: Some((admin_url.to_owned(), database)), _dir: None })
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

/// The generated catalog's root Location, written now unless `MATURITY_BENCH_CATALOG` names one.
fn catalog(services: usize, scratch: &Path) -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("MATURITY_BENCH_CATALOG")
        && !dir.is_empty()
    {
        return Ok(PathBuf::from(dir).join("all.yaml"));
    }
    let generator = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/generate_catalog.py");
    let out = scratch.join("catalog");
    let started = Instant::now();
    let status = std::process::Command::new("python3")
        .arg(&generator)
        .args(["--services", &services.to_string(), "--seed", "42", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "{} failed", generator.display());
    eprintln!("[maturity bench] catalog of {services} services generated in {:.1} s", started.elapsed().as_secs_f64());
    Ok(out.join("all.yaml"))
}

struct Stored {
    database: &'static str,
    entities: usize,
    results: usize,
    ingest: Duration,
    first: (Phases, usize),
    steady: Vec<Phases>,
    snapshot: (Duration, usize),
}

fn stored(db: &BenchDb, root: &Path, scratch: &Path, now: DateTime<Utc>) -> anyhow::Result<Stored> {
    let cards = scratch.join("scorecards");
    std::fs::create_dir_all(&cards)?;
    for (file, text) in [("readiness.yaml", READINESS), ("slo.yaml", SLO), ("docs.yaml", DOCUMENTATION)] {
        std::fs::write(cards.join(file), text)?;
    }
    let options = IngestOptions {
        formats: Formats(vec![Arc::new(SloFormat), Arc::new(ScorecardFormat)]),
        ..IngestOptions::default()
    };
    let started = Instant::now();
    let report = ingest(&db.store, &[root.to_path_buf(), cards], &options, &NoProgress)?;
    let ingest_time = started.elapsed();
    anyhow::ensure!(report.error_count() == 0, "the catalog ingests with errors: {:?}", report.problems.first());
    eprintln!("[maturity bench] {}: {} entities ingested in {:.1} s", db.name, report.added, ingest_time.as_secs_f64());

    let first = jobs::evaluate_and_store(&db.store, now)?;
    eprintln!("[maturity bench] {}: first {first}", db.name);
    anyhow::ensure!(first.scorecards == 3, "{} scorecards", first.scorecards);
    let mut steady = Vec::new();
    for run in 1..=2 {
        let report = jobs::evaluate_and_store(&db.store, now + chrono::Duration::minutes(5 * run))?;
        eprintln!("[maturity bench] {}: again {report}", db.name);
        anyhow::ensure!(report.level_changes == 0, "{} level changes on an unchanged catalog", report.level_changes);
        steady.push(report.elapsed);
    }
    let started = Instant::now();
    let snapshot = jobs::snapshot(&db.store, now.naive_utc(), None)?;
    let snapshot_time = started.elapsed();
    Ok(Stored {
        database: db.name,
        entities: first.entities,
        results: first.results,
        ingest: ingest_time,
        first: (first.elapsed, first.level_changes),
        steady,
        snapshot: (snapshot_time, snapshot.rows),
    })
}

fn print_stored(all: &[Stored]) {
    let Some(first) = all.first() else { return };
    println!(
        "### Gather, evaluate and store: 3 scorecards over a generated catalog ({} entities, {} results)",
        first.entities, first.results
    );
    println!();
    println!(
        "| database | run | total (s) | definitions (s) | SLOs (s) | facts (s) | evaluation (s) | storing (s) | level \
         changes |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for s in all {
        let row = |label: &str, p: &Phases, changes: usize| {
            println!(
                "| {} | {label} | {} | {} | {} | {} | {} | {} | {changes} |",
                s.database,
                seconds(p.total),
                seconds(p.definitions),
                seconds(p.slos),
                seconds(p.facts),
                seconds(p.evaluation),
                seconds(p.storing)
            );
        };
        row("first (every result new)", &s.first.0, s.first.1);
        for (i, p) in s.steady.iter().enumerate() {
            row(&format!("again #{}", i + 1), p, 0);
        }
    }
    println!();
    println!("| database | ingest (s) | snapshot (ms) | snapshot rows |");
    println!("|---|---:|---:|---:|");
    for s in all {
        println!("| {} | {} | {} | {} |", s.database, seconds(s.ingest), ms(s.snapshot.0), s.snapshot.1);
    }
    println!();
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn main() -> ExitCode {
    let count = env_number("MATURITY_BENCH_ENTITIES", 50_000);
    let runs = env_number("MATURITY_BENCH_RUNS", 5).max(1);
    let services = env_number("MATURITY_BENCH_SERVICES", 50_000);
    let started_load = load();
    if let Err(e) = pure(count, runs) {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    if std::env::var("MATURITY_BENCH_SKIP_STORE").is_ok_and(|v| v == "1") {
        return ExitCode::SUCCESS;
    }
    let scratch = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let root = match catalog(services, scratch.path()) {
        Ok(root) => root,
        Err(e) => {
            eprintln!("[maturity bench] the store part is skipped: no generated catalog ({e:#})");
            return ExitCode::SUCCESS;
        }
    };
    let now = Utc::now();
    let databases = std::env::var("MATURITY_BENCH_DATABASES").unwrap_or_else(|_| "sqlite".to_owned());
    let mut figures = Vec::new();
    for database in databases.split_whitespace() {
        let db = match database {
            "sqlite" => BenchDb::sqlite(),
            "postgres" => match std::env::var("PORTOLAN_BENCH_PG_URL") {
                Ok(url) if !url.is_empty() => BenchDb::postgres(&url),
                _ => {
                    eprintln!("[maturity bench] PostgreSQL skipped: PORTOLAN_BENCH_PG_URL is not set");
                    continue;
                }
            },
            other => {
                eprintln!("error: unknown database `{other}` in MATURITY_BENCH_DATABASES (sqlite or postgres)");
                return ExitCode::FAILURE;
            }
        };
        match db.and_then(|db| stored(&db, &root, scratch.path(), now)) {
            Ok(f) => figures.push(f),
            Err(e) => {
                eprintln!("error: {database}: {e:#}");
                return ExitCode::FAILURE;
            }
        }
    }
    print_stored(&figures);
    println!("load average (1, 5, 15 min): {started_load} at the start, {} at the end", load());
    ExitCode::SUCCESS
}
