//! PostgreSQL restarted under load. The real `portolan serve` runs on a private PostgreSQL cluster (see
//! `fault_support`) while client tasks loop over a database-backed page, an API call and `/readyz`. The server is
//! stopped (`pg_ctl stop -m fast`) and started again on the same port:
//!
//! * while it is down, every request that needs it is answered 503 with `Retry-After` and a message saying the
//!   database is unavailable (JSON for the API, a page for browsers) within the pool timeout, never a 500 or a hang;
//!   `/readyz` answers 503;
//! * once it is back, everything recovers without restarting the portal: `/readyz` 200, no 5xx for any request
//!   started after that, and the refresh loop carries on (a descriptor added afterwards shows in the catalog).
//!
//! The times to the first 503 and to recovery are printed (`cargo test … -- --nocapture`).

mod fault_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fault_support::{PgCluster, Portal, component, write_catalog};

/// The pool's checkout timeout the portal runs with: its default.
const POOL_TIMEOUT: Duration = Duration::from_millis(3_000);
/// What a failing request may take beyond the pool timeout before it counts as a hang.
const SLACK: Duration = Duration::from_millis(2_000);

#[derive(Debug, Clone)]
struct Answer {
    path: &'static str,
    /// When the request was sent, from the test's start.
    sent: Duration,
    took: Duration,
    /// The HTTP status, or 0 when there was no answer at all.
    status: u16,
    retry_after: bool,
    body: String,
}

const PATHS: [&str; 3] = ["/catalog/default/component/svc-1", "/api/v1/entities?kind=component", "/readyz"];

async fn load(base: String, path: &'static str, t0: Instant, log: Arc<Mutex<Vec<Answer>>>, stop: Arc<Mutex<bool>>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    while !*stop.lock().expect("flag") {
        let sent = t0.elapsed();
        let started = Instant::now();
        let answer = match client.get(format!("{base}{path}")).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                let body = response.text().await.unwrap_or_default();
                Answer { path, sent, took: started.elapsed(), status, retry_after, body }
            }
            Err(e) => {
                Answer { path, sent, took: started.elapsed(), status: 0, retry_after: false, body: e.to_string() }
            }
        };
        log.lock().expect("log").push(answer);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The first answer to `path` sent at or after `from` with a status in `statuses`.
fn first(log: &[Answer], path: &str, from: Duration, statuses: &[u16]) -> Option<Answer> {
    log.iter().find(|a| a.path == path && a.sent >= from && statuses.contains(&a.status)).cloned()
}

#[actix_web::test]
async fn postgres_restarted_under_load_fails_fast_with_503_and_recovers_by_itself() {
    let Some(pg) = PgCluster::create() else { return };
    let dir = tempfile::tempdir().expect("tmp");
    let catalog = write_catalog(dir.path(), 5);
    let config = dir.path().join("portal.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"{}\"\nlocations = [\"{}\"]\nrefresh_interval_secs = 1\ndata_dir = \"{}\"\n",
            pg.url("postgres"),
            catalog.display(),
            dir.path().join("data").display()
        ),
    )
    .expect("config");
    let mut portal = Portal::start(dir.path(), &config);
    portal.ready(Duration::from_secs(60)).await;
    // The first refresh has read the catalog.
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client.get(format!("{}{}", portal.base, PATHS[0])).send().await.map(|r| r.status().as_u16()).ok() != Some(200)
    {
        assert!(started.elapsed() < Duration::from_secs(30), "the catalog was never read:\n{}", portal.log_text());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let t0 = Instant::now();
    let log = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(Mutex::new(false));
    let mut clients = Vec::new();
    for i in 0..6 {
        let path = PATHS[i % PATHS.len()];
        clients.push(tokio::spawn(load(portal.base.clone(), path, t0, log.clone(), stop.clone())));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let stop_at = t0.elapsed();
    let pg = Arc::new(pg);
    tokio::task::spawn_blocking({
        let pg = pg.clone();
        move || pg.stop()
    })
    .await
    .expect("stop PostgreSQL");
    let stopped_at = t0.elapsed();
    // Down long enough for every path to fail several times.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let all_failed = {
            let log = log.lock().expect("log");
            PATHS
                .iter()
                .all(|p| log.iter().filter(|a| a.path == *p && a.sent >= stopped_at && a.status == 503).count() >= 2)
        };
        if all_failed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every path answered 503 within 20 s of the stop:\n{}",
            portal.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let start_at = t0.elapsed();
    tokio::task::spawn_blocking({
        let pg = pg.clone();
        move || pg.start()
    })
    .await
    .expect("start PostgreSQL");
    let started_at = t0.elapsed();

    // Recovered: /readyz 200, then every path 200.
    let deadline = Instant::now() + Duration::from_secs(20);
    let ready_at = loop {
        if let Some(a) = first(&log.lock().expect("log"), "/readyz", started_at, &[200]) {
            break a.sent + a.took;
        }
        assert!(Instant::now() < deadline, "/readyz did not recover within 20 s:\n{}", portal.log_text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The refresh loop carries on: a service added now appears.
    let mut yaml = std::fs::read_to_string(catalog.join("catalog-info.yaml")).expect("catalog");
    yaml.push_str(&component("after-the-restart"));
    std::fs::write(catalog.join("catalog-info.yaml"), yaml).expect("catalog");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response =
            client.get(format!("{}/api/v1/entities/component/default/after-the-restart", portal.base)).send().await;
        if response.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the refresh loop did not carry on after the restart:\n{}",
            portal.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    *stop.lock().expect("flag") = true;
    for client in clients {
        client.await.expect("client task");
    }
    let log = log.lock().expect("log").clone();

    // Before the stop: all fine.
    for a in log.iter().filter(|a| a.sent + a.took < stop_at) {
        assert_eq!(a.status, 200, "before the stop: {a:?}");
    }
    // While down: 200 (answered before the stop took effect) or 503, never a 500 or a hang.
    for a in log.iter().filter(|a| a.sent >= stop_at && a.sent < start_at) {
        assert!(matches!(a.status, 200 | 503), "while PostgreSQL was down, {} answered {}: {a:?}", a.path, a.status);
        assert!(a.took < POOL_TIMEOUT + SLACK, "while PostgreSQL was down, {} took {:?}: {a:?}", a.path, a.took);
        if a.status != 503 {
            continue;
        }
        assert!(a.retry_after, "a 503 carries Retry-After: {a:?}");
        match a.path {
            "/readyz" => {
                let body: serde_json::Value = serde_json::from_str(&a.body).expect("readyz JSON");
                assert_eq!(body["status"], "unavailable", "{body}");
            }
            p if p.starts_with("/api/") => {
                let body: serde_json::Value = serde_json::from_str(&a.body).expect("an API error is JSON");
                assert_eq!(body["error"]["code"], "database_unavailable", "{body}");
                let message = body["error"]["message"].as_str().unwrap_or_default();
                assert!(
                    message.contains("PostgreSQL database postgres on 127.0.0.1") && message.contains("not answering"),
                    "{message}"
                );
            }
            _ => {
                let page = scraper::Html::parse_document(&a.body);
                let selector = scraper::Selector::parse(".error-message").expect("selector");
                let message: String = page.select(&selector).next().map(|e| e.text().collect()).unwrap_or_default();
                assert!(message.contains("is not answering; try again shortly"), "the page says why: {}", a.body);
            }
        }
    }
    // After recovery: nothing but 200.
    for a in log.iter().filter(|a| a.sent >= ready_at) {
        assert_eq!(a.status, 200, "after /readyz recovered, {} answered {}: {a:?}", a.path, a.status);
    }

    let to_503: Vec<String> = PATHS
        .iter()
        .map(|p| {
            let a = first(&log, p, stop_at, &[503]).expect("a 503");
            format!("{p}: {:.2} s", (a.sent + a.took).saturating_sub(stopped_at).as_secs_f64())
        })
        .collect();
    let to_recover: Vec<String> = PATHS
        .iter()
        .map(|p| {
            let a = first(&log, p, started_at, &[200]).expect("a 200");
            format!("{p}: {:.2} s", (a.sent + a.took).saturating_sub(started_at).as_secs_f64())
        })
        .collect();
    let during: Vec<&Answer> =
        log.iter().filter(|a| a.sent >= stopped_at && a.sent < start_at && a.status == 503).collect();
    let slowest = during.iter().map(|a| a.took).max().unwrap_or_default();
    println!(
        "PostgreSQL restart under load: {} requests; down {:.1} s ({} answers 503, slowest {:.2} s); first 503 after the \
         stop: {}; first 200 after the start: {}",
        log.len(),
        start_at.saturating_sub(stopped_at).as_secs_f64(),
        during.len(),
        slowest.as_secs_f64(),
        to_503.join(", "),
        to_recover.join(", ")
    );
}
