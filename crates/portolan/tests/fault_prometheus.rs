//! Prometheus unreachable or slow. The real `portolan serve` polls an SLO every second from a real Prometheus
//! (`/usr/bin/prometheus`) through a small TCP proxy of the test's own, which can hold connections back (a network
//! fault injector users never run):
//!
//! * Prometheus killed: after the next poll the SLO is `stale`, with the time of its last data, in the API and on the
//!   service page;
//! * Prometheus back: fresh again;
//! * Prometheus slow (the proxy holds every connection 10 s): while a poll hangs, the pages and the API keep
//!   answering well under that (bound 2 s: a "not blocked" check, not a performance target); the poll gives up after
//!   its configured timeout (4 s) and the SLO is stale, saying so; then fresh again once the proxy lets go.
//!
//! The SLO's query is a constant expression, which Prometheus evaluates for any past minute, so the SLO has data at
//! once instead of after minutes of scrapes; reading scraped data is tested in `crates/scorecard/tests/prometheus.rs`.
//! Without `/usr/bin/prometheus` the test prints a note and passes, except in CI.

mod fault_support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fault_support::{Portal, free_port, skip, write_catalog};
use serde_json::Value;

const PROMETHEUS: &str = "/usr/bin/prometheus";
const SLO: &str = "/api/v1/slos/default/svc-0-availability";
const DELAY: Duration = Duration::from_secs(10);
const POLL_TIMEOUT_SECS: u64 = 4;
const PAGE_BOUND: Duration = Duration::from_secs(2);

/// A Prometheus on `port`, killed when dropped.
struct Prometheus {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    async fn start(port: u16) -> Prometheus {
        let dir = tempfile::tempdir().expect("a folder for Prometheus");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      \
                 - targets: ['127.0.0.1:{port}']\n"
            ),
        )
        .expect("Prometheus configuration");
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("Prometheus starts");
        let client = reqwest::Client::new();
        let started = Instant::now();
        while !client.get(format!("http://127.0.0.1:{port}/-/ready")).send().await.is_ok_and(|r| r.status() == 200) {
            assert!(started.elapsed() < Duration::from_secs(30), "Prometheus was not ready within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Prometheus { child, _dir: dir }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Forwards loopback connections to `upstream`, each after the delay set at the moment it arrives.
struct SlowProxy {
    port: u16,
    delay_ms: Arc<AtomicU64>,
    /// Connections being held back right now.
    held: Arc<AtomicUsize>,
}

impl SlowProxy {
    async fn start(upstream: u16) -> SlowProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("proxy port");
        let port = listener.local_addr().expect("proxy address").port();
        let (delay_ms, held) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicUsize::new(0)));
        let (delay, holding) = (delay_ms.clone(), held.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let (wait, holding) = (Duration::from_millis(delay.load(Ordering::SeqCst)), holding.clone());
                tokio::spawn(async move {
                    if !wait.is_zero() {
                        holding.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(wait).await;
                        holding.fetch_sub(1, Ordering::SeqCst);
                    }
                    // Prometheus down: the connection is dropped, as a dead host's would be refused.
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        SlowProxy { port, delay_ms, held }
    }

    fn delay(&self, delay: Duration) {
        self.delay_ms.store(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }
}

fn write_slo(catalog: &Path) {
    std::fs::write(
        catalog.join("slos.yaml"),
        "version: \"prometheus/v1\"\nservice: \"svc-0\"\nslos:\n  - name: availability\n    objective: 99.5\n    sli:\n      \
         raw:\n        error_ratio_query: vector(0.001)\n",
    )
    .expect("SLO file");
}

/// The SLO's JSON; `Null` while the first refresh has not read its file yet.
async fn slo(client: &reqwest::Client, portal: &Portal) -> Value {
    let response = client.get(format!("{}{SLO}", portal.base)).send().await.expect("GET the SLO");
    if response.status() == 404 {
        return Value::Null;
    }
    assert_eq!(response.status(), 200, "GET {SLO}");
    response.json().await.expect("SLO JSON")
}

/// Waits until the SLO's JSON satisfies `done`; its JSON then.
async fn until(client: &reqwest::Client, portal: &Portal, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let json = slo(client, portal).await;
        if done(&json) {
            return json;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{what} within 30 s; the SLO is {json:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn fresh(json: &Value) -> bool {
    json["status"] != "stale"
        && json["status"] != "no_data"
        && json["stale_since"].is_null()
        && !json["data_until"].is_null()
}

/// The service page's note on a stale SLO.
async fn stale_note(client: &reqwest::Client, portal: &Portal) -> String {
    let response = client.get(format!("{}/catalog/default/component/svc-0", portal.base)).send().await.expect("GET");
    assert_eq!(response.status(), 200);
    let page = scraper::Html::parse_document(&response.text().await.expect("page"));
    let selector = scraper::Selector::parse(".stale-note").expect("selector");
    page.select(&selector).next().map(|e| e.text().collect()).unwrap_or_default()
}

#[actix_web::test]
async fn prometheus_down_or_slow_makes_slos_stale_and_never_slows_the_pages() {
    if !Path::new(PROMETHEUS).exists() {
        skip(&format!("{PROMETHEUS} is not installed (apt-get install prometheus)"));
        return;
    }
    let prometheus_port = free_port();
    let mut prometheus = Prometheus::start(prometheus_port).await;
    let proxy = SlowProxy::start(prometheus_port).await;
    let dir = tempfile::tempdir().expect("tmp");
    let catalog = write_catalog(dir.path(), 3);
    write_slo(&catalog);
    let config = dir.path().join("portal.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"sqlite://{}\"\nlocations = [\"{}\"]\ndata_dir = \"{}\"\nprometheus_url = \
             \"http://127.0.0.1:{}\"\nprometheus_poll_interval_secs = 1\nprometheus_timeout_secs = {POLL_TIMEOUT_SECS}\n\
             prometheus_max_backfill_hours = 1\n",
            dir.path().join("portolan.db").display(),
            catalog.display(),
            dir.path().join("data").display(),
            proxy.port
        ),
    )
    .expect("config");
    let mut portal = Portal::start(dir.path(), &config);
    portal.ready(Duration::from_secs(60)).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    until(&client, &portal, "the SLO has data", fresh).await;

    // (a) Prometheus killed: stale after the next poll, with the time of the last data.
    let _ = prometheus.child.kill();
    let _ = prometheus.child.wait();
    let killed = Instant::now();
    let json = until(&client, &portal, "the SLO is stale once Prometheus is gone", |j| j["status"] == "stale").await;
    let stale_after = killed.elapsed();
    let reason = json["stale_reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with(&format!("cannot reach Prometheus at http://127.0.0.1:{}", proxy.port)), "{json:#}");
    assert!(
        json["stale_since"].is_string() && json["data_until"].is_string(),
        "the last data's time is kept: {json:#}"
    );
    let service: Value = client
        .get(format!("{}/api/v1/services/default/svc-0", portal.base))
        .send()
        .await
        .expect("GET the service")
        .json()
        .await
        .expect("service JSON");
    assert_eq!(service["slos"][0]["status"], "stale", "{service:#}");
    assert_eq!(service["slos"][0]["data_until"], json["data_until"], "{service:#}");
    let note = stale_note(&client, &portal).await;
    assert!(note.starts_with("Stale since ") && note.contains("cannot reach Prometheus"), "{note}");
    assert!(note.contains("The newest data runs up to "), "the page shows the time of the last data: {note}");

    // (c) Back: fresh again.
    let _prometheus = Prometheus::start(prometheus_port).await;
    let back = Instant::now();
    until(&client, &portal, "the SLO is fresh once Prometheus is back", fresh).await;
    let fresh_after = back.elapsed();
    assert_eq!(stale_note(&client, &portal).await, "", "no stale note once fresh");

    // (b) Slow: every connection to Prometheus is held back 10 s. While a poll hangs, the pages answer.
    proxy.delay(DELAY);
    let started = Instant::now();
    while proxy.held() == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "no poll reached the slow Prometheus");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut timings = Vec::new();
    for path in [
        "/catalog",
        "/catalog/default/component/svc-0",
        "/teams/team-a",
        "/scorecards",
        "/api/v1/services/default/svc-0",
        SLO,
        "/readyz",
    ] {
        let asked = Instant::now();
        let response = client.get(format!("{}{path}", portal.base)).send().await.expect("GET");
        let status = response.status();
        let _ = response.bytes().await;
        let took = asked.elapsed();
        assert_eq!(status, 200, "GET {path} while Prometheus is slow");
        assert!(took < PAGE_BOUND, "GET {path} took {took:?} while a poll hung on a slow Prometheus");
        timings.push(format!("{path} {} ms", took.as_millis()));
    }
    assert!(proxy.held() > 0, "the pages were timed while a poll was hanging");
    let slow = Instant::now();
    let json = until(&client, &portal, "the SLO is stale once the poll times out", |j| j["status"] == "stale").await;
    let reason = json["stale_reason"].as_str().unwrap_or_default();
    assert!(reason.contains(&format!("did not answer within {POLL_TIMEOUT_SECS} s")), "{json:#}");
    let timed_out_after = slow.elapsed();

    // Prometheus answers quickly again: fresh.
    proxy.delay(Duration::ZERO);
    let quick = Instant::now();
    until(&client, &portal, "the SLO is fresh once Prometheus answers quickly", fresh).await;
    println!(
        "Prometheus faults: stale {:.1} s after the kill; fresh {:.1} s after the restart; with a {} s delay, pages \
         answered in {}; stale (timed out) {:.1} s after the delay began to be noticed; fresh {:.1} s after it ended",
        stale_after.as_secs_f64(),
        fresh_after.as_secs_f64(),
        DELAY.as_secs(),
        timings.join(", "),
        timed_out_after.as_secs_f64(),
        quick.elapsed().as_secs_f64()
    );
}
