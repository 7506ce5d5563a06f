//! What the access layer costs a request: the same pages and API calls with sign-in off, with a signed-in browser's
//! session cookie, and with an API token, through the running portal, on SQLite and on PostgreSQL.
//!
//!     cargo bench -p portolan --bench access
//!
//! For each database the bench ingests the demo organisation, makes one session (as the callback does, through
//! `auth::sessions::open`) and one team token, and starts two portals on the same database: one with sign-in off, one
//! with sign-in on (a provider URL nobody asks: sessions and tokens need no provider). Then, in one run so the ratios
//! hold on a noisy machine, for each case in turn: `ACCESS_BENCH_RUNS` (default 2,000) requests one at a time for the
//! latency percentiles, and `ACCESS_BENCH_SECS` (default 3) seconds of 8 concurrent clients for the throughput.
//!
//! Environment: `PORTOLAN_BENCH_PG_URL` (or `PORTOLAN_TEST_PG_URL`) for PostgreSQL (skipped without either),
//! `ACCESS_BENCH_RUNS`, `ACCESS_BENCH_SECS`.

mod support;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use catalog::ingest::{NoProgress, ingest};
use portolan::Application;
use portolan::auth::oidc::Identity;
use portolan::settings::Settings;
use store::Store;
use support::{BenchDb, load, ms, percentile};

const CONCURRENCY: usize = 8;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `(who, the header to send)`.
struct Caller {
    who: &'static str,
    header: Option<(&'static str, String)>,
}

async fn get(client: &reqwest::Client, url: &str, caller: &Caller) -> anyhow::Result<()> {
    let mut request = client.get(url);
    if let Some((name, value)) = &caller.header {
        request = request.header(*name, value);
    }
    let response = request.send().await?;
    ensure!(response.status() == 200, "{url} as {}: {}", caller.who, response.status());
    response.bytes().await?;
    Ok(())
}

async fn measure(base: &str, path: &str, caller: &Caller, runs: u64, secs: u64) -> anyhow::Result<String> {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let url = format!("{base}{path}");
    for _ in 0..20 {
        get(&client, &url, caller).await?;
    }
    let mut times = Vec::with_capacity(usize::try_from(runs)?);
    for _ in 0..runs {
        let started = Instant::now();
        get(&client, &url, caller).await?;
        times.push(started.elapsed());
    }
    times.sort();
    let until = Instant::now() + Duration::from_secs(secs);
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, url) = (client.clone(), url.clone());
        let header = caller.header.clone();
        workers.push(tokio::spawn(async move {
            let caller = Caller { who: "load", header };
            let mut done = 0u64;
            while Instant::now() < until {
                get(&client, &url, &caller).await?;
                done += 1;
            }
            anyhow::Ok(done)
        }));
    }
    let mut total = 0;
    for worker in workers {
        total += worker.await??;
    }
    Ok(format!(
        "| {path} | {} | {} | {} | {:.0} |",
        caller.who,
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        total as f64 / secs as f64
    ))
}

async fn portal(db: &BenchDb, data: &std::path::Path, sign_in: bool) -> anyhow::Result<String> {
    let mut settings = Settings {
        bind: "127.0.0.1:0".to_owned(),
        database_url: db.url.clone(),
        refresh_interval_secs: 3600,
        data_dir: data.to_path_buf(),
        ..Settings::default()
    };
    if sign_in {
        settings.oidc_issuer_url = Some("http://127.0.0.1:9/unused-provider".to_owned());
        settings.oidc_client_secret = Some("unused".to_owned());
        // The bench's own client is one address: no limit may slow it.
        settings.token_rate_per_minute = u32::MAX;
    }
    let app = Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port);
    actix_web::rt::spawn(app.run());
    Ok(base)
}

async fn bench(db: BenchDb, runs: u64, secs: u64) -> anyhow::Result<Vec<String>> {
    let files = tempfile::tempdir()?;
    let store = Store::open(&db.url, &store::PoolOptions::default())?;
    let demo = portolan::demo::extract_to(files.path())?;
    ingest(&store, &[demo], &portolan::settings::Settings::default().ingest_options(), &NoProgress)?;
    let (session, token) = {
        let mut conn = store.conn()?;
        let identity = Identity {
            issuer: "http://127.0.0.1:9/unused-provider".to_owned(),
            subject: "alice".to_owned(),
            email: Some("alice@northwind.example".to_owned()),
            name: Some("alice".to_owned()),
            display_name: "Alice".to_owned(),
        };
        let user = catalog::people::match_user(&mut conn, identity.email.as_deref(), None)?.context("alice")?;
        let session = portolan::auth::sessions::open(
            &mut conn,
            &identity,
            Some(&user),
            chrono::Duration::hours(1),
            store::now(),
        )?;
        let team = Some("group:default/checkout-team");
        let token = portolan::auth::tokens::create(&mut conn, "bench", team, None, "bench", store::now())?.secret;
        (session, token)
    };
    let open = portal(&db, &files.path().join("open"), false).await?;
    let signed = portal(&db, &files.path().join("signed"), true).await?;
    let off = Caller { who: "sign-in off", header: None };
    let browser = Caller { who: "session cookie", header: Some(("cookie", format!("portolan_session={session}"))) };
    let machine = Caller { who: "API token", header: Some(("authorization", format!("Bearer {token}"))) };
    let mut rows = vec![format!("**{}** (load {})", db.name, load()), String::new()];
    rows.push("| request | caller | p50 ms | p99 ms | req/s (8 clients) |".to_owned());
    rows.push("|---|---|---|---|---|".to_owned());
    for path in ["/catalog?kind=component", "/catalog/default/component/checkout-service", "/api/v1/entities?limit=20"]
    {
        rows.push(measure(&open, path, &off, runs, secs).await?);
        let caller = if path.starts_with("/api/") { &machine } else { &browser };
        rows.push(measure(&signed, path, caller, runs, secs).await?);
    }
    Ok(rows)
}

fn main() -> ExitCode {
    let runs = env_number("ACCESS_BENCH_RUNS", 2_000);
    let secs = env_number("ACCESS_BENCH_SECS", 3);
    let result = actix_web::rt::System::new().block_on(async move {
        let mut all = Vec::new();
        all.extend(bench(BenchDb::sqlite()?, runs, secs).await?);
        if let Some(url) = support::pg_url() {
            all.push(String::new());
            all.extend(bench(BenchDb::postgres(&url, "portolan_access_bench")?, runs, secs).await?);
        }
        anyhow::Ok(all)
    });
    match result {
        Ok(rows) => {
            println!("{}", rows.join("\n"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
