//! A running portal per test, on port 0, over a fresh database with the demo organisation ingested.

#![allow(dead_code)]

pub mod oidc;

use std::path::{Path, PathBuf};

use catalog::ingest::{NoProgress, ingest};
use portolan::Application;
use portolan::settings::Settings;
use store::test_support::TestDb;

pub struct TestApp {
    pub base: String,
    pub db: TestDb,
    pub client: reqwest::Client,
    pub demo_root: PathBuf,
    /// What it was started with: a second process on the same database starts from these.
    pub settings: Settings,
    _files: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn(db: TestDb) -> TestApp {
        TestApp::spawn_with(db, Vec::new()).await
    }

    /// The demo organisation and these locations, ingested before the portal starts and read on every refresh.
    pub async fn spawn_with(db: TestDb, extra: Vec<PathBuf>) -> TestApp {
        TestApp::spawn_configured(db, extra, |_| {}).await
    }

    /// [`TestApp::spawn_with`], with settings of one's own on top.
    pub async fn spawn_configured(db: TestDb, extra: Vec<PathBuf>, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        TestApp::spawn_on(listener, db, extra, configure).await
    }

    /// A portal with sign-in through a real OpenID provider (`tests/oidc-provider`), whose clients are `portolan`
    /// and `other-client`, both sending people back to this portal; admins are the `platform` group. `None` when
    /// the provider is not installed outside CI.
    pub async fn spawn_signed_in(
        db: TestDb,
        configure: impl FnOnce(&mut Settings),
    ) -> Option<(TestApp, oidc::OidcProvider)> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        let callback = format!("http://127.0.0.1:{}/auth/callback", listener.local_addr().expect("addr").port());
        let provider = oidc::OidcProvider::start(&[
            ("portolan", "portolan-secret", &callback),
            ("other-client", "other-secret", &callback),
        ])?;
        let (issuer, secret) = (provider.issuer.clone(), provider.client_secret.clone());
        let app = TestApp::spawn_on(listener, db, Vec::new(), move |settings| {
            settings.oidc_issuer_url = Some(issuer);
            settings.oidc_client_id = "portolan".to_owned();
            settings.oidc_client_secret = Some(secret);
            settings.admin_groups = vec!["platform".to_owned()];
            configure(settings);
        })
        .await;
        Some((app, provider))
    }

    async fn spawn_on(
        listener: std::net::TcpListener,
        db: TestDb,
        extra: Vec<PathBuf>,
        configure: impl FnOnce(&mut Settings),
    ) -> TestApp {
        // Warnings and errors of the portal show beside a failing test's output.
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("warn").try_init();
        let files = tempfile::tempdir().expect("tmp");
        let demo_root = portolan::demo::extract_to(files.path()).expect("demo files");
        let report = ingest_folder(&db, &demo_root).await;
        assert_eq!(report.error_count(), 0, "the demo organisation ingests cleanly: {:?}", report.problems);
        for location in &extra {
            let report = ingest_folder(&db, location).await;
            assert_eq!(report.error_count(), 0, "{} ingests cleanly: {:?}", location.display(), report.problems);
        }
        let mut locations = vec![demo_root.clone()];
        locations.extend(extra);
        let mut settings = Settings {
            bind: "127.0.0.1:0".to_owned(),
            database_url: db.url.clone(),
            locations,
            refresh_interval_secs: 3600,
            data_dir: files.path().join("data"),
            ..Settings::default()
        };
        configure(&mut settings);
        settings.check().expect("settings");
        let app = Application::build_on(settings.clone(), listener).await.expect("app builds");
        let base = format!("http://127.0.0.1:{}", app.port);
        actix_web::rt::spawn(app.run());
        TestApp { base, db, client: reqwest::Client::new(), demo_root, settings, _files: files }
    }

    /// Another `serve` process on the same database and settings (as behind a load balancer): its base URL.
    pub async fn sibling(&self) -> String {
        let settings = Settings { bind: "127.0.0.1:0".to_owned(), ..self.settings.clone() };
        let app = Application::build(settings).await.expect("sibling builds");
        let base = format!("http://127.0.0.1:{}", app.port);
        actix_web::rt::spawn(app.run());
        base
    }

    /// A POST of a JSON body with a Bearer token: `(status, body)`.
    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let mut request = self.client.post(format!("{}{}", self.base, path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("POST");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{}", self.base, path)).send().await.expect("request")
    }

    pub async fn html(&self, path: &str) -> scraper::Html {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        scraper::Html::parse_document(&response.text().await.expect("body"))
    }

    pub async fn json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }
}

/// Ingests a folder as `serve` does: descriptors, SLO files and templates, then the SLOs reconciled and the template
/// versions kept.
/// Sign-in on, with a provider nobody asks (it is only reached when a browser signs in): for tests of API tokens and
/// of what an anonymous caller is refused.
pub fn sign_in_required(settings: &mut Settings) {
    settings.oidc_issuer_url = Some("http://127.0.0.1:9/unused-provider".to_owned());
    settings.oidc_client_secret = Some("unused".to_owned());
    settings.admin_groups = vec!["platform".to_owned()];
}

/// A token made as `portolan token create` makes it, for `team` (a Group reference) or for everything.
pub async fn token(db: &TestDb, name: &str, team: Option<&str>) -> String {
    let (store, name, team) = (db.store.clone(), name.to_owned(), team.map(str::to_owned));
    tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().expect("connection");
        portolan::auth::tokens::create(&mut conn, &name, team.as_deref(), None, "test", store::now())
            .expect("token")
            .secret
    })
    .await
    .expect("join")
}

pub async fn ingest_folder(db: &TestDb, root: &std::path::Path) -> catalog::ingest::Report {
    let (store, root) = (db.store.clone(), root.to_path_buf());
    tokio::task::spawn_blocking(move || {
        let report = ingest(&store, &[root], &Settings::default().ingest_options(), &NoProgress).expect("ingest");
        let slos = portolan::slo_jobs::after_ingest(&store, chrono::Utc::now()).expect("SLOs reconciled");
        assert!(slos.problems.iter().all(|p| !p.problem.is_error()), "SLO problems: {:?}", slos.problems);
        portolan::scaffold_jobs::sync_templates(&store);
        report
    })
    .await
    .expect("join")
}

pub fn select<'a>(doc: &'a scraper::Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    let selector = scraper::Selector::parse(css).expect("valid selector");
    doc.select(&selector).collect()
}

pub fn text(el: &scraper::ElementRef<'_>) -> String {
    el.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A golden path for tests: `tiny-service`, a README and a descriptor, published as a git repository or an archive,
/// then registered.
pub const TEMPLATE: &str = r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: tiny-service
  title: Tiny service
  description: A service with a README
  annotations:
    portolan.dev/version: VERSION
spec:
  owner: platform
  type: service
  parameters:
    - title: About it
      required: [name, owner]
      properties:
        name:
          title: Name
          type: string
          pattern: '^[a-z0-9]+(-[a-z0-9]+)*$'
        description:
          title: Description
          type: string
          default: A tiny service
        owner:
          title: Owner
          type: string
          ui:field: OwnerPicker
        publish:
          title: Publish as
          type: string
          enum: [git, archive]
          default: git
  steps:
    - id: fetch
      name: Fetch
      action: fetch:template
      input:
        url: ./skeleton
        values:
          name: ${{ parameters.name }}
          description: ${{ parameters.description }}
          owner: ${{ parameters.owner }}
    - id: publish
      name: Publish
      if: ${{ parameters.publish == 'git' }}
      action: publish:git
      input:
        repoUrl: portolan?owner=${{ parameters.owner }}&repo=${{ parameters.name }}
    - id: archive
      name: Archive
      if: ${{ parameters.publish == 'archive' }}
      action: publish:archive
      input:
        name: ${{ parameters.name }}
    - id: register
      name: Register
      action: catalog:register
      input:
        repoContentsUrl: ${{ steps.publish.output.repoContentsUrl }}
        catalogInfoPath: /catalog-info.yaml
  output:
    links:
      - title: Open in catalog
        entityRef: ${{ steps.register.output.entityRef }}
"#;

const DESCRIPTOR: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${{ values.name }}\n  \
                          description: DESCRIPTION\nspec:\n  type: service\n  lifecycle: experimental\n  owner: \
                          ${{ values.owner }}\n";

/// A template folder: `template.yaml` at `version`, a README that says `readme`, and a descriptor whose
/// description is written as `description` (`${{ values.description | dump }}` is safe; bare is not).
pub fn write_template(dir: &Path, version: &str, readme: &str, description: &str) {
    std::fs::create_dir_all(dir.join("skeleton")).expect("folders");
    std::fs::write(dir.join("template.yaml"), TEMPLATE.replace("VERSION", version)).expect("template");
    std::fs::write(dir.join("skeleton/README.md"), readme).expect("readme");
    std::fs::write(dir.join("skeleton/catalog-info.yaml"), DESCRIPTOR.replace("DESCRIPTION", description))
        .expect("descriptor");
}
