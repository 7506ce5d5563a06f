//! A real browser (Debian's headless Chromium through chromedriver) uses the catalog as a person would: loads
//! /catalog, searches, opens a service page, and reads what is shown. Screenshots go to `artifacts/`.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use store::test_support::TestDb;
use support::TestApp;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned()));
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("chromedriver is required in CI (.ci/run installs chromium-driver)");
    }
    eprintln!("skipping the browser test: no chromedriver at {}", path.display());
    None
}

fn artifacts() -> PathBuf {
    let dir = std::env::var("PORTOLAN_ARTIFACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../artifacts"));
    std::fs::create_dir_all(&dir).expect("artifacts folder");
    dir
}

/// A browser session: chromedriver and headless Chromium, gone when dropped.
struct Session {
    client: fantoccini::Client,
    _driver: Driver,
    _user_data: tempfile::TempDir,
}

async fn session(driver_path: PathBuf) -> Session {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let driver = Driver(
        Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let user_data = tempfile::tempdir().expect("tmp");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1280,900",
                     format!("--user-data-dir={}", user_data.path().display())]
        }),
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    for _ in 0..50 {
        match ClientBuilder::rustls()
            .expect("tls")
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return Session { client, _driver: driver, _user_data: user_data },
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!("no browser session");
}

#[actix_web::test]
async fn a_person_searches_the_catalog_and_opens_a_service() {
    let Some(driver_path) = chromedriver() else {
        return;
    };
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let session = session(driver_path).await;
    let client = session.client.clone();
    let shots = artifacts();

    client.goto(&format!("{}/catalog", app.base)).await.expect("open /catalog");
    assert_eq!(client.title().await.expect("title"), "Catalog · Portolan");
    let total = client.find(Locator::Css("#total")).await.expect("total").text().await.expect("text");
    assert_eq!(total, "96");
    std::fs::write(shots.join("catalog.png"), client.screenshot().await.expect("screenshot")).expect("save");

    let search = client.find(Locator::Css("#catalog-search")).await.expect("search box");
    search.send_keys("invoice").await.expect("type");
    client.find(Locator::Css("form.search button[type=submit]")).await.expect("button").click().await.expect("submit");
    let link = client
        .wait()
        .for_element(Locator::Css("a.entity-link[href='/catalog/default/component/invoice-service']"))
        .await
        .expect("the service is among the results");
    assert!(client.current_url().await.expect("url").as_str().contains("q=invoice"));
    std::fs::write(shots.join("search.png"), client.screenshot().await.expect("screenshot")).expect("save");
    link.click().await.expect("open the service");

    client.wait().for_element(Locator::Css(".owner-card")).await.expect("service page");
    assert!(client.current_url().await.expect("url").as_str().ends_with("/catalog/default/component/invoice-service"));
    let owner = client.find(Locator::Css(".owner-card .big a")).await.expect("owner").text().await.expect("text");
    assert!(!owner.is_empty(), "the owner is named");
    let unresolved =
        client.find(Locator::Css(".unresolved-list")).await.expect("unresolved").text().await.expect("text");
    assert!(unresolved.contains("legacy-fax-gateway"), "{unresolved}");
    let graph = client.find_all(Locator::Css("figure.graph svg g.node")).await.expect("graph nodes");
    assert!(graph.len() >= 3, "the dependency graph is drawn");
    std::fs::write(shots.join("service.png"), client.screenshot().await.expect("screenshot")).expect("save");
    client.close().await.expect("close");
}

#[actix_web::test]
async fn a_person_creates_a_service_from_a_golden_path() {
    let Some(driver_path) = chromedriver() else {
        return;
    };
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let session = session(driver_path).await;
    let client = session.client.clone();
    let shots = artifacts();

    client.goto(&format!("{}/create", app.base)).await.expect("open /create");
    client
        .find(Locator::Css("a.button[href='/create/rust-http-service']"))
        .await
        .expect("the Rust golden path")
        .click()
        .await
        .expect("choose it");
    client.wait().for_element(Locator::Css("form.scaffold-form")).await.expect("its form");
    client.find(Locator::Css("#input-name")).await.expect("name").send_keys("quote-engine").await.expect("type");
    client
        .find(Locator::Css("#input-description"))
        .await
        .expect("description")
        .send_keys("Prices shipping: fast, \"cheap\" or both")
        .await
        .expect("type");
    client
        .find(Locator::Css("#input-owner option[value='group:default/checkout-team']"))
        .await
        .expect("the owner picker lists the team")
        .click()
        .await
        .expect("pick it");
    client.find(Locator::Css("button[value=review]")).await.expect("review").click().await.expect("review");
    let tree =
        client.wait().for_element(Locator::Css(".file-tree")).await.expect("the dry run").text().await.expect("text");
    assert!(tree.contains("catalog-info.yaml") && tree.contains("Cargo.toml"), "{tree}");
    std::fs::write(shots.join("create-review.png"), client.screenshot().await.expect("screenshot")).expect("save");
    client.find(Locator::Css("button[value=create]")).await.expect("create").click().await.expect("create");

    // The task page follows the run live and reloads itself when it ends.
    let state = client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(".task-succeeded .task-state"))
        .await
        .expect("the run succeeds")
        .text()
        .await
        .expect("text");
    assert_eq!(state, "succeeded");
    std::fs::write(shots.join("task.png"), client.screenshot().await.expect("screenshot")).expect("save");
    client
        .find(Locator::LinkText("Open in catalog"))
        .await
        .expect("a link to the new service")
        .click()
        .await
        .expect("open it");
    let card = client.wait().for_element(Locator::Css(".template-card")).await.expect("the service page");
    let card = card.text().await.expect("text");
    assert!(card.contains("rust-http-service") && card.contains("Up to date"), "{card}");
    assert!(client.current_url().await.expect("url").as_str().ends_with("/catalog/default/component/quote-engine"));
    std::fs::write(shots.join("created-service.png"), client.screenshot().await.expect("screenshot")).expect("save");
    client.close().await.expect("close");
}
