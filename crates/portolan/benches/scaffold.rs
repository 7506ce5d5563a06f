//! From a scaffold request to the new service's page, through the running portal, on SQLite and on PostgreSQL.
//!
//!     cargo bench -p portolan --bench scaffold
//!
//! For each database the bench makes a fresh one, ingests the bundled demo organisation, whose `rust-http-service`
//! golden path is the template run (`fetch:template` of 12 files, an SLO file among them → `publish:git` →
//! `catalog:register` of the service and its SLO), starts the portal on port 0 (`Application::build`, `run`), makes an API token and
//! then, one request at a time, `SCAFFOLD_BENCH_RUNS` times (default 30) after one untimed warm-up, with a new name
//! each time:
//!
//! * `POST /api/v1/scaffold` with the token, and polls `GET /catalog/default/component/<name>` every
//!   `SCAFFOLD_BENCH_POLL_MS` (default 10) milliseconds until it answers 200: the submit-to-page time, which
//!   includes up to one poll interval of waiting (and the polls' own load on the server);
//! * then reads `GET /api/v1/tasks/<id>` until the task has succeeded: its own run (`finished_at − started_at`, as the
//!   worker records them, to the millisecond), its wait in the queue (`started_at − created_at`), and each step's
//!   time from its log lines.
//!
//! Environment: `PORTOLAN_BENCH_PG_URL` (or `PORTOLAN_TEST_PG_URL`): a PostgreSQL server where a database
//! `portolan_scaffold_bench_<pid>` may be created and dropped; without either, PostgreSQL is skipped.
//! `SCAFFOLD_BENCH_RUNS`, `SCAFFOLD_BENCH_POLL_MS`, `SCAFFOLD_BENCH_DATABASES` (default `sqlite postgres`),
//! `SCAFFOLD_BENCH_VERBOSE=1` (each run's figures on stderr).

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail, ensure};
use catalog::ingest::{NoProgress, ingest};
use chrono::{DateTime, FixedOffset};
use portolan::Application;
use portolan::settings::Settings;
use serde_json::{Value, json};
use store::{PoolOptions, Store};
use support::{BenchDb, each_database, load, ms, percentile};

/// How long one run may take before the bench gives up on it.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// One run's figures.
struct Sample {
    /// The `POST /api/v1/scaffold` round trip.
    submit: Duration,
    /// From sending the request to the first 200 of the service's page.
    page: Duration,
    /// From sending the request to sending the last poll that found no page: the page appeared after this.
    last_missing: Duration,
    /// `finished_at − started_at` of the task.
    task: Duration,
    /// `started_at − created_at`: the wait in the queue.
    queued: Duration,
    /// Each step's time from its `started` to its `finished` log line, by label.
    steps: Vec<(String, Duration)>,
}

struct Figures {
    database: &'static str,
    setup: Duration,
    warm_up: Sample,
    samples: Vec<Sample>,
}

fn at(task: &Value, field: &str) -> anyhow::Result<DateTime<FixedOffset>> {
    let text = task[field].as_str().ok_or_else(|| anyhow!("the task has no {field}: {task}"))?;
    Ok(DateTime::parse_from_rfc3339(text)?)
}

fn between(from: DateTime<FixedOffset>, to: DateTime<FixedOffset>) -> Duration {
    (to - from).to_std().unwrap_or_default()
}

/// Each step's time, from the task's log: its `started` line to its `finished` line.
fn step_times(task: &Value) -> anyhow::Result<Vec<(String, Duration)>> {
    let labels: Vec<String> = task["steps"]
        .as_array()
        .map(|steps| steps.iter().map(|s| s["label"].as_str().unwrap_or("?").to_owned()).collect())
        .unwrap_or_default();
    let mut started = BTreeMap::new();
    let mut times = Vec::new();
    for line in task["log"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let Some(step) = line["step"].as_u64() else { continue };
        match line["kind"].as_str() {
            Some("started") => {
                started.insert(step, at(line, "at")?);
            }
            Some("finished") => {
                let from = started.get(&step).copied().ok_or_else(|| anyhow!("step {step} finished unstarted"))?;
                let label = labels.get(step as usize).cloned().unwrap_or_else(|| format!("step {step}"));
                times.push((label, between(from, at(line, "at")?)));
            }
            _ => {}
        }
    }
    Ok(times)
}

struct Portal {
    base: String,
    client: reqwest::Client,
    token: String,
    poll: Duration,
}

impl Portal {
    async fn task(&self, id: &str) -> anyhow::Result<Value> {
        let response = self.client.get(format!("{}/api/v1/tasks/{id}", self.base)).send().await?;
        ensure!(response.status() == 200, "GET /api/v1/tasks/{id}: {}", response.status());
        Ok(response.json().await?)
    }

    /// One scaffold request, timed from the request to the service's page.
    async fn scaffold(&self, name: &str) -> anyhow::Result<Sample> {
        let body = json!({"template": "rust-http-service", "values": {
            "name": name, "description": "Made by the scaffold benchmark", "owner": "group:default/platform"}});
        let page = format!("{}/catalog/default/component/{name}", self.base);
        let started = Instant::now();
        let response = self
            .client
            .post(format!("{}/api/v1/scaffold", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let accepted: Value = response.json().await?;
        let submit = started.elapsed();
        ensure!(status == 202, "POST /api/v1/scaffold: {status} {accepted}");
        let id = accepted["id"].as_str().ok_or_else(|| anyhow!("no task id in {accepted}"))?.to_owned();

        let mut polls: u32 = 0;
        let mut last_missing = Duration::ZERO;
        let page_time = loop {
            let sent = started.elapsed();
            let response = self.client.get(&page).send().await?;
            let status = response.status();
            response.bytes().await?;
            if status == 200 {
                break started.elapsed();
            }
            ensure!(status == 404, "GET {page}: {status}");
            last_missing = sent;
            polls += 1;
            if polls.is_multiple_of(50) || started.elapsed() > RUN_TIMEOUT {
                let task = self.task(&id).await?;
                if task["state"] == "failed" {
                    bail!("task {id} failed: {}", task["error"]);
                }
                ensure!(started.elapsed() <= RUN_TIMEOUT, "no page for {name} after {RUN_TIMEOUT:?}: {task}");
            }
            tokio::time::sleep(self.poll).await;
        };

        // Registration happens inside the run, so the page can answer before the task is recorded as finished.
        let task = loop {
            let task = self.task(&id).await?;
            match task["state"].as_str() {
                Some("succeeded") => break task,
                Some("failed") => bail!("task {id} failed after its page appeared: {}", task["error"]),
                _ if started.elapsed() > RUN_TIMEOUT => bail!("task {id} did not end: {task}"),
                _ => tokio::time::sleep(self.poll).await,
            }
        };
        let (created, begun, finished) =
            (at(&task, "created_at")?, at(&task, "started_at")?, at(&task, "finished_at")?);
        Ok(Sample {
            submit,
            page: page_time,
            last_missing,
            task: between(begun, finished),
            queued: between(created, begun),
            steps: step_times(&task)?,
        })
    }
}

/// Ingests a folder as `serve` does: descriptors, SLO files and templates, the SLOs reconciled, template versions kept.
async fn ingest_folder(store: &Store, root: &Path) -> anyhow::Result<()> {
    let (store, root) = (store.clone(), root.to_path_buf());
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let report = ingest(&store, std::slice::from_ref(&root), &Settings::default().ingest_options(), &NoProgress)?;
        ensure!(report.error_count() == 0, "{} does not ingest cleanly: {:?}", root.display(), report.problems);
        portolan::slo_jobs::after_ingest(&store, chrono::Utc::now())?;
        portolan::scaffold_jobs::sync_templates(&store);
        Ok(())
    })
    .await?
}

async fn run(db: &BenchDb, runs: usize, poll: Duration) -> anyhow::Result<Figures> {
    let setup_started = Instant::now();
    let files = tempfile::tempdir()?;
    let demo = portolan::demo::extract_to(files.path()).context("the demo files")?;
    let store = {
        let url = db.url.clone();
        tokio::task::spawn_blocking(move || Store::open(&url, &PoolOptions::default())).await??
    };
    ingest_folder(&store, &demo).await?;
    let settings = Settings {
        bind: "127.0.0.1:0".to_owned(),
        database_url: db.url.clone(),
        locations: vec![demo],
        refresh_interval_secs: 3600,
        data_dir: files.path().join("data"),
        ..Settings::default()
    };
    let app = Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port);
    actix_web::rt::spawn(app.run());
    let token = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
            let mut conn = store.conn()?;
            Ok(portolan::auth::tokens::create(&mut conn, "bench", None, None, "bench", store::now())?.secret)
        })
        .await??
    };
    let portal = Portal { base, client: reqwest::Client::new(), token, poll };
    let setup = setup_started.elapsed();

    let warm_up = portal.scaffold("bench-warm-up").await.context("warm-up")?;
    let mut samples = Vec::with_capacity(runs);
    let verbose = std::env::var("SCAFFOLD_BENCH_VERBOSE").is_ok_and(|v| !v.is_empty() && v != "0");
    for i in 1..=runs {
        let name = format!("bench-svc-{i:03}");
        let sample = portal.scaffold(&name).await.with_context(|| name.clone())?;
        if verbose {
            let steps: Vec<String> =
                sample.steps.iter().map(|(label, time)| format!("{label} {}", ms(*time))).collect();
            eprintln!(
                "[scaffold bench] {} {name}: page {} ms, task {} ms ({})",
                db.name,
                ms(sample.page),
                ms(sample.task),
                steps.join(", ")
            );
        }
        samples.push(sample);
    }
    eprintln!("[scaffold bench] {}: {runs} runs", db.name);
    Ok(Figures { database: db.name, setup, warm_up, samples })
}

/// One database's run on a thread and an actix system of its own, so that its server and workers stop with it.
fn run_on_own_system(db: BenchDb, runs: usize, poll: Duration) -> anyhow::Result<Figures> {
    std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        let figures = system.block_on(run(&db, runs, poll));
        drop(system);
        drop(db);
        figures
    })
    .join()
    .map_err(|_| anyhow!("the bench thread panicked"))?
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn sorted(times: impl Iterator<Item = Duration>) -> Vec<Duration> {
    let mut times: Vec<Duration> = times.collect();
    times.sort();
    times
}

fn report(figures: &[Figures], poll: Duration) {
    println!(
        "\n| database | runs | measure | p50 (ms) | p95 (ms) | max (ms) | min (ms) |\n|---|---:|---|---:|---:|---:|---:|"
    );
    for f in figures {
        let rows: [(&str, Vec<Duration>); 5] = [
            ("`POST /api/v1/scaffold` answered (202)", sorted(f.samples.iter().map(|s| s.submit))),
            ("submit → service page 200 (polled every POLL ms)", sorted(f.samples.iter().map(|s| s.page))),
            ("submit → last poll that found no page (a lower bound)", sorted(f.samples.iter().map(|s| s.last_missing))),
            ("task run (`finished_at − started_at`)", sorted(f.samples.iter().map(|s| s.task))),
            ("task queued (`started_at − created_at`)", sorted(f.samples.iter().map(|s| s.queued))),
        ];
        for (measure, times) in rows {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                f.database,
                times.len(),
                measure.replace("POLL", &poll.as_millis().to_string()),
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.95)),
                ms(times.last().copied().unwrap_or_default()),
                ms(times.first().copied().unwrap_or_default()),
            );
        }
        let mut by_step: Vec<(String, Vec<Duration>)> = Vec::new();
        for (label, time) in f.samples.iter().flat_map(|s| s.steps.iter()) {
            match by_step.iter_mut().find(|(l, _)| l == label) {
                Some((_, times)) => times.push(*time),
                None => by_step.push((label.clone(), vec![*time])),
            }
        }
        for (label, mut times) in by_step {
            times.sort();
            println!(
                "| {} | {} | step {label} | {} | {} | {} | {} |",
                f.database,
                times.len(),
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.95)),
                ms(times.last().copied().unwrap_or_default()),
                ms(times.first().copied().unwrap_or_default()),
            );
        }
    }
    for f in figures {
        println!(
            "\n{}: setup (demo and template ingested, portal started) {:.2} s; warm-up run: page {} ms, task {} ms",
            f.database,
            f.setup.as_secs_f64(),
            ms(f.warm_up.page),
            ms(f.warm_up.task),
        );
    }
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; no argument is used.
    let runs = usize::try_from(env_number("SCAFFOLD_BENCH_RUNS", 30).max(1)).unwrap_or(30);
    let poll = Duration::from_millis(env_number("SCAFFOLD_BENCH_POLL_MS", 10));
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let started_load = load();
    let figures = match each_database("SCAFFOLD_BENCH_DATABASES", "portolan_scaffold_bench", "scaffold", |db| {
        run_on_own_system(db, runs, poll)
    }) {
        Ok(figures) => figures,
        Err(code) => return code,
    };
    println!("{cpus} CPUs; load average (1, 5, 15 min): {started_load} at the start, {} at the end", load());
    report(&figures, poll);
    ExitCode::SUCCESS
}
