//! A real browser (Debian's headless Chromium through chromedriver) uses the catalog as a person would: loads
//! /catalog, searches, opens a service page, and reads what is shown; creates a service; signs in through a real
//! OpenID provider's forms and out again. Screenshots go to `artifacts/`.

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

/// The security headers every response of the portal carries, read off a response that is not followed anywhere.
fn assert_security_headers(path: &str, response: &reqwest::Response) {
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let csp = header("content-security-policy");
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: CSP {csp:?}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
    assert_eq!(header("x-frame-options"), "DENY", "{path}");
    assert_eq!(header("referrer-policy"), "same-origin", "{path}");
}

/// Polls the browser's URL until `done` says yes (a redirect chain across two servers ends a little after the click).
async fn wait_for_url(client: &fantoccini::Client, what: &str, done: impl Fn(&reqwest::Url) -> bool) -> reqwest::Url {
    let mut url = client.current_url().await.expect("url");
    for _ in 0..100 {
        if done(&url) {
            return url;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        url = client.current_url().await.expect("url");
    }
    panic!("the browser never reached {what}; it is at {url}");
}

/// The portal's session cookie as the browser holds it (WebDriver sees `HttpOnly` cookies too).
async fn session_cookie(client: &fantoccini::Client) -> Option<String> {
    let cookies = client.get_all_cookies().await.expect("cookies");
    cookies.iter().find(|c| c.name() == "portolan_session").map(|c| c.value().to_owned())
}

#[actix_web::test]
async fn a_person_signs_in_through_the_provider_and_out_again() {
    let Some(driver_path) = chromedriver() else {
        return;
    };
    let Some((app, provider)) = TestApp::spawn_signed_in(TestDb::sqlite(), |_| {}).await else {
        return;
    };
    let session = session(driver_path).await;
    let client = session.client.clone();
    let shots = artifacts();
    let on_provider = |url: &reqwest::Url| url.as_str().starts_with(&format!("{}/", provider.issuer));

    // Every response carries the security headers, the redirect to the provider included.
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    for path in ["/healthz", "/login"] {
        let response = plain.get(format!("{}{path}", app.base)).send().await.expect("GET");
        assert!(response.status().is_success() || response.status().is_redirection(), "{path}: {}", response.status());
        assert_security_headers(path, &response);
    }

    // Nobody is signed in: the portal sends the browser to the provider's own login page.
    client.goto(&format!("{}/scorecards", app.base)).await.expect("open /scorecards");
    client
        .wait()
        .for_element(Locator::Css("form input[name=prompt][value=login]"))
        .await
        .expect("the provider's login form");
    let url = client.current_url().await.expect("url");
    assert!(on_provider(&url) && url.path().starts_with("/interaction/"), "{url}");
    client.find(Locator::Css("input[name=login]")).await.expect("login").send_keys("alice").await.expect("type");
    client
        .find(Locator::Css("input[name=password]"))
        .await
        .expect("password")
        .send_keys("anything")
        .await
        .expect("type");
    client.find(Locator::Css("form button[type=submit]")).await.expect("Sign-in").click().await.expect("sign in");

    // The provider asks alice to let Portolan have her email and profile.
    client
        .wait()
        .for_element(Locator::Css("form input[name=prompt][value=consent]"))
        .await
        .expect("the provider's consent form");
    client.find(Locator::Css("form button[type=submit]")).await.expect("Continue").click().await.expect("consent");

    // Back on the page she asked for, signed in under her name in the catalog.
    let url =
        wait_for_url(&client, "/scorecards on the portal", |u| u.as_str() == format!("{}/scorecards", app.base)).await;
    assert_eq!(url.query(), None, "{url}");
    let who = client.wait().for_element(Locator::Css(".session .who")).await.expect("the top bar names her");
    assert_eq!(who.text().await.expect("text"), "Alice Andersen", "the display name of the catalog User alice");
    assert!(client.find_all(Locator::Css(".sign-in-off, .sign-in-off-notice")).await.expect("find").is_empty());
    let first = session_cookie(&client).await.expect("a session cookie");
    std::fs::write(shots.join("signed-in.png"), client.screenshot().await.expect("screenshot")).expect("save");

    // Signing out ends the session on the server, not only in this browser.
    client.find(Locator::Css("form.logout button[type=submit]")).await.expect("Sign out").click().await.expect("click");
    let heading = client.wait().for_element(Locator::Css(".signed-out h1")).await.expect("the signed-out page");
    assert_eq!(heading.text().await.expect("text"), "You have signed out of Portolan");
    assert_eq!(client.current_url().await.expect("url").as_str(), format!("{}/logout", app.base));
    assert!(client.find_all(Locator::Css(".session .who")).await.expect("find").is_empty(), "nobody is named");
    assert_eq!(session_cookie(&client).await, None, "the session cookie is removed");
    let (store, old_hash) = (app.db.store.clone(), portolan::auth::secret_hash(&first));
    let still_live = tokio::task::spawn_blocking(move || {
        store::sessions::live(&mut store.conn().expect("conn"), &old_hash, store::now()).expect("query")
    })
    .await
    .expect("join");
    assert!(still_live.is_none(), "the session row is deleted");

    // The catalog takes signing in again: the portal sends the browser back to the provider. The provider still
    // remembers alice (its own session, which Portolan's sign-out does not end, as the signed-out page says) and her
    // consent, so it sends her straight back with a new code, without a form: she is signed in again, under a new
    // session that only a new trip through the provider could have opened.
    client.goto(&format!("{}/catalog", app.base)).await.expect("open /catalog");
    let url = wait_for_url(&client, "/catalog on the portal", |u| u.as_str() == format!("{}/catalog", app.base)).await;
    assert!(!on_provider(&url), "{url}");
    let who = client.wait().for_element(Locator::Css(".session .who")).await.expect("signed in again");
    assert_eq!(who.text().await.expect("text"), "Alice Andersen");
    let second = session_cookie(&client).await.expect("a new session cookie");
    assert_ne!(second, first, "a new session, not the old one back");
    let store = app.db.store.clone();
    let events = tokio::task::spawn_blocking(move || {
        let filter = store::audit::AuditFilter { actor: Some("user:default/alice".to_owned()), ..Default::default() };
        store::audit::newest(&mut store.conn().expect("conn"), &filter, 10).expect("audit log")
    })
    .await
    .expect("join");
    let actions: Vec<(&str, &str)> = events.iter().map(|e| (e.action.as_str(), e.outcome.as_str())).collect();
    assert_eq!(
        actions,
        [("session.login", "allowed"), ("session.logout", "allowed"), ("session.login", "allowed")],
        "newest first: a second sign-in through the provider after the sign-out"
    );
    client.close().await.expect("close");
}
