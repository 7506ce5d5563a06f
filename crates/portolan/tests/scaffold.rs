//! Scaffolding end to end, on SQLite and PostgreSQL: a template in a catalog location is kept as a version, its form
//! is served with a CSRF token, validated beside its fields and dry-run, and a submit runs a task that publishes a
//! git repository and registers the new service, whose page exists when the task ends. A run that fails leaves no
//! repository and no catalog entry. The JSON API does the same with a token. A new template version makes the
//! service drift, and the page shows what changed.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use store::test_support::TestDb;
use support::{TEMPLATE, TestApp, select, text, write_template};

struct Browser {
    client: reqwest::Client,
    cookie: String,
    token: String,
}

/// Opens a form as a browser does: the CSRF cookie it sets and the token the form carries.
async fn open_form(app: &TestApp, path: &str) -> (Browser, scraper::Html) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let response = client.get(format!("{}{path}", app.base)).send().await.expect("GET form");
    assert_eq!(response.status(), 200, "GET {path}");
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("portolan_csrf="))
        .expect("a CSRF cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let cookie = cookie.split(';').next().unwrap_or_default().to_owned();
    let doc = scraper::Html::parse_document(&response.text().await.expect("body"));
    let token = select(&doc, "input[name=csrf_token]")[0].value().attr("value").expect("token").to_owned();
    (Browser { client, cookie, token }, doc)
}

impl Browser {
    async fn post(&self, app: &TestApp, path: &str, fields: &[(&str, &str)], token: Option<&str>) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", token.unwrap_or(&self.token)));
        self.client
            .post(format!("{}{path}", app.base))
            .header("cookie", &self.cookie)
            .form(&form)
            .send()
            .await
            .expect("POST")
    }
}

/// Waits for a task to end and returns its JSON.
async fn finished(app: &TestApp, id: &str) -> Value {
    for _ in 0..200 {
        let (status, task) = app.json(&format!("/api/v1/tasks/{id}")).await;
        assert_eq!(status, 200, "{task}");
        if task["state"] == "succeeded" || task["state"] == "failed" {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("task {id} did not end");
}

/// Where the app's `publish:git` steps create repositories (its data folder is beside the demo files).
fn repositories(app: &TestApp) -> PathBuf {
    app.demo_root.parent().expect("the app's files").join("data").join("repositories")
}

async fn spawn(db: TestDb, templates: &Path) -> TestApp {
    TestApp::spawn_with(db, vec![templates.to_owned()]).await
}

#[actix_web::test]
async fn a_form_submission_creates_a_repository_and_a_catalog_entry() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let files = tempfile::tempdir().expect("tmp");
        write_template(
            &files.path().join("tiny"),
            "1.0.0",
            "# ${{ values.name }}\n",
            "${{ values.description | dump }}",
        );
        let app = spawn(db, files.path()).await;

        let list = app.html("/create").await;
        let titles: Vec<String> = select(&list, ".template-listing .big a").iter().map(text).collect();
        assert!(titles.contains(&"Tiny service".to_owned()), "{backend}: {titles:?}");

        let (browser, form) = open_form(&app, "/create/tiny-service").await;
        let owners: Vec<String> = select(&form, "select[name=owner] option")
            .iter()
            .filter_map(|o| o.value().attr("value").map(str::to_owned))
            .collect();
        assert!(
            owners.contains(&"group:default/platform".to_owned()),
            "owner picker lists the catalog's groups: {owners:?}"
        );
        assert_eq!(select(&form, "select[name=publish] option[selected]").len(), 1, "the enum's default is selected");

        // No token, or a wrong one: 403, nothing queued.
        let forged = browser
            .post(&app, "/create/tiny-service", &[("name", "x"), ("action", "create")], Some("0".repeat(64).as_str()))
            .await;
        assert_eq!(forged.status(), 403, "{backend}");
        let anonymous = reqwest::Client::new()
            .post(format!("{}/create/tiny-service", app.base))
            .form(&[("name", "x"), ("action", "create")])
            .send()
            .await
            .expect("POST");
        assert_eq!(anonymous.status(), 403);

        // Errors beside their fields; what was typed stays.
        let invalid = browser
            .post(&app, "/create/tiny-service", &[("name", "Not Valid"), ("owner", ""), ("action", "create")], None)
            .await;
        assert_eq!(invalid.status(), 422);
        let page = scraper::Html::parse_document(&invalid.text().await.expect("body"));
        assert_eq!(select(&page, "#field-name .field-error").len(), 1, "{backend}: the name's error is beside it");
        assert_eq!(select(&page, "#field-owner .field-error").len(), 1, "the owner is required");
        assert_eq!(select(&page, "input[name=name]")[0].value().attr("value"), Some("Not Valid"));

        // The dry run shows the files and creates nothing.
        let fields =
            [("name", "orders-api"), ("owner", "group:default/platform"), ("description", "Orders: \"the\" API")];
        let mut review = fields.to_vec();
        review.push(("action", "review"));
        let reviewed = browser.post(&app, "/create/tiny-service", &review, None).await;
        assert_eq!(reviewed.status(), 200);
        let page = scraper::Html::parse_document(&reviewed.text().await.expect("body"));
        let paths: Vec<String> = select(&page, ".file-tree code").iter().map(text).collect();
        assert_eq!(paths, ["README.md", "catalog-info.yaml"], "{backend}");
        assert!(text(&select(&page, ".rendered-file pre")[0]).contains("# orders-api"));
        assert!(!repositories(&app).join("platform/orders-api").exists());

        let mut create = fields.to_vec();
        create.push(("action", "create"));
        let created = browser.post(&app, "/create/tiny-service", &create, None).await;
        assert_eq!(created.status(), 303, "{backend}");
        let location = created.headers()["location"].to_str().expect("location").to_owned();
        let id = location.strip_prefix("/tasks/").expect("a task page").to_owned();
        let task = finished(&app, &id).await;
        assert_eq!(task["state"], "succeeded", "{backend}: {task:#}");
        let states: Vec<&str> =
            task["steps"].as_array().expect("steps").iter().filter_map(|s| s["state"].as_str()).collect();
        assert_eq!(states, ["done", "done", "skipped", "done"]);

        // The service page exists, stamped with its template, up to date.
        let service = app.html("/catalog/default/component/orders-api").await;
        let card = text(&select(&service, ".template-card")[0]);
        assert!(
            card.contains("tiny-service") && card.contains("version 1.0.0") && card.contains("Up to date"),
            "{card}"
        );
        let description = text(&select(&service, ".description")[0]);
        assert_eq!(description, "Orders: \"the\" API", "a value with `: ` and quotes survives the YAML");

        // A real git repository with one commit holding the stamped descriptor.
        let repo_dir = repositories(&app).join("platform/orders-api");
        let head =
            scaffolding::publish::read_head_file(&repo_dir, "catalog-info.yaml").expect("read").expect("in HEAD");
        let head = String::from_utf8(head).expect("utf-8");
        assert!(head.contains("backstage.io/source-template: \"template:default/tiny-service\""), "{head}");
        assert!(head.contains("portolan.dev/template-version: \"1.0.0\""), "{head}");

        let page = app.html(&location).await;
        assert_eq!(text(&select(&page, ".task-state")[0]), "succeeded");
        let links: Vec<String> =
            select(&page, ".task-output a").iter().filter_map(|a| a.value().attr("href").map(str::to_owned)).collect();
        assert_eq!(links, ["/catalog/default/component/orders-api"]);

        // The same name again: the repository exists, so the run fails and nothing changes.
        let again = browser.post(&app, "/create/tiny-service", &create, None).await;
        let id = again.headers()["location"].to_str().expect("location").trim_start_matches("/tasks/").to_owned();
        let task = finished(&app, &id).await;
        assert_eq!(task["state"], "failed");
        assert!(task["error"].as_str().unwrap_or_default().contains("already exists"), "{task:#}");
        assert!(app.html("/catalog/default/component/orders-api").await.html().contains("Up to date"));
    }
}

#[actix_web::test]
async fn a_failed_run_leaves_nothing_behind() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let files = tempfile::tempdir().expect("tmp");
        // The description rendered bare: `: ` in a value breaks the generated YAML.
        write_template(&files.path().join("tiny"), "1.0.0", "hello\n", "${{ values.description }}");
        let app = spawn(db, files.path()).await;
        let secret = token(&app).await;
        let accepted = scaffold(
            &app,
            &secret,
            json!({"template": "tiny-service", "values": {
            "name": "broken-yaml", "owner": "group:default/platform", "description": "Broken: on purpose"}}),
        )
        .await;
        assert_eq!(accepted.0, 202, "{backend}: {}", accepted.1);
        let task = finished(&app, accepted.1["id"].as_str().expect("id")).await;
        assert_eq!(task["state"], "failed", "{backend}");
        let error = task["error"].as_str().unwrap_or_default();
        assert!(error.contains("catalog-info.yaml:5:"), "the error names the file and line: {error}");
        assert!(!repositories(&app).join("platform/broken-yaml").exists());
        assert_eq!(app.get("/catalog/default/component/broken-yaml").await.status(), 404);

        // Registration refused after publishing (the name is taken by another file): the repository is removed.
        let taken = scaffold(
            &app,
            &secret,
            json!({"template": "tiny-service", "values": {
            "name": "payments-service", "owner": "group:default/platform", "description": "fine"}}),
        )
        .await;
        let task = finished(&app, taken.1["id"].as_str().expect("id")).await;
        assert_eq!(task["state"], "failed", "{backend}: {task:#}");
        let log: Vec<&str> =
            task["log"].as_array().expect("log").iter().filter_map(|l| l["message"].as_str()).collect();
        assert!(log.iter().any(|l| l.starts_with("undone: repository")), "{log:#?}");
        assert!(!repositories(&app).join("platform/payments-service").exists());
        let (_, service) = app.json("/api/v1/services/default/payments-service").await;
        assert_eq!(service["owner"]["ref"], "group:default/checkout-team", "the existing service is untouched");
    }
}

async fn token(app: &TestApp) -> String {
    let store = app.db.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().expect("conn");
        portolan::auth::tokens::create(&mut conn, "ci", None, None, "test", store::now()).expect("token").secret
    })
    .await
    .expect("join")
}

async fn scaffold(app: &TestApp, secret: &str, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/api/v1/scaffold", app.base))
        .bearer_auth(secret)
        .json(&body)
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

#[actix_web::test]
async fn the_api_scaffolds_into_an_archive_and_the_service_drifts_when_the_template_moves_on() {
    let db = TestDb::sqlite();
    let files = tempfile::tempdir().expect("tmp");
    let template_dir = files.path().join("tiny");
    write_template(&template_dir, "1.0.0", "# ${{ values.name }}\nversion one\n", "${{ values.description | dump }}");
    let app = spawn(db, files.path()).await;

    // With sign-in off anyone may scaffold, but a token that is sent is checked, never ignored.
    let (status, body) = scaffold(&app, "ptl_not-a-token", json!({})).await;
    assert_eq!((status, body["error"]["message"].as_str()), (401, Some("the token is not known")));
    let secret = token(&app).await;
    let (status, refused) =
        scaffold(&app, &secret, json!({"template": "tiny-service", "values": {"name": "Bad Name"}})).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["details"]["fields"]["name"].is_array(), "{refused:#}");
    assert!(refused["error"]["details"]["fields"]["owner"].is_array(), "{refused:#}");
    let (status, _) = scaffold(&app, &secret, json!({"template": "no-such-template"})).await;
    assert_eq!(status, 404);

    let (status, accepted) = scaffold(
        &app,
        &secret,
        json!({"template": "tiny-service", "values": {
        "name": "archived-svc", "owner": "group:default/platform", "publish": "archive"}}),
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["id"].as_str().expect("id").to_owned();
    let task = finished(&app, &id).await;
    assert_eq!(task["state"], "succeeded", "{task:#}");
    assert_eq!(task["created_by"], "token:ci");
    let archive = app.get(&format!("/tasks/{id}/archive")).await;
    assert_eq!(archive.status(), 200);
    let bytes = archive.bytes().await.expect("bytes");
    let mut entries: Vec<String> = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]))
        .entries()
        .expect("tar")
        .filter_map(|e| e.ok().and_then(|e| e.path().ok().map(|p| p.display().to_string())))
        .filter(|p| !p.ends_with('/'))
        .collect();
    entries.sort();
    assert_eq!(entries, ["archived-svc/README.md", "archived-svc/catalog-info.yaml"]);
    let (status, service) = app.json("/api/v1/services/default/archived-svc").await;
    assert_eq!(status, 200, "registered from the archive run: {service}");
    assert_eq!(service["template"]["drift"], "up_to_date", "{service:#}");

    // Version 2 changes the README; after a refresh the service is one version behind, and the page shows the line.
    write_template(&template_dir, "2.0.0", "# ${{ values.name }}\nversion two\n", "${{ values.description | dump }}");
    let refreshed = app.client.post(format!("{}/api/v1/refresh", app.base)).send().await.expect("POST");
    assert_eq!(refreshed.status(), 202);
    let mut service = Value::Null;
    for _ in 0..100 {
        service = app.json("/api/v1/services/default/archived-svc").await.1;
        if service["template"]["latest_version"] == "2.0.0" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(service["template"]["drift"], "behind", "{service:#}");
    assert_eq!(service["template"]["behind"], 1);
    let page = app.html("/catalog/default/component/archived-svc/golden-path").await;
    let removed: Vec<String> = select(&page, "tr.removed td:last-child").iter().map(text).collect();
    let added: Vec<String> = select(&page, "tr.added td:last-child").iter().map(text).collect();
    assert_eq!((removed, added), (vec!["-version one".to_owned()], vec!["+version two".to_owned()]));
    assert!(page.html().contains("the parameters this service was made with"));
    let (_, changes) = app.json("/api/v1/services/default/archived-svc/golden-path").await;
    assert!(changes["unified"].as_str().unwrap_or_default().contains("+version two"), "{changes:#}");
}

#[test]
fn validate_checks_templates_and_skips_their_skeletons() {
    let files = tempfile::tempdir().expect("tmp");
    // A good template whose skeleton descriptor is full of placeholders: never read as a descriptor.
    write_template(&files.path().join("good"), "1.0.0", "hi\n", "${{ values.description | dump }}");
    // A bad one: an action nobody knows, and a skeleton folder that is not there.
    let bad = files.path().join("bad");
    std::fs::create_dir_all(&bad).expect("folder");
    let text = TEMPLATE
        .replace("VERSION", "1.0.0")
        .replace("name: tiny-service", "name: bad-service")
        .replace("action: publish:archive", "action: frobnicate:now")
        .replace("url: ./skeleton", "url: ./missing");
    std::fs::write(bad.join("template.yaml"), text).expect("template");
    let report = catalog::ingest::validate(
        &[files.path().to_owned()],
        &portolan::settings::Settings::default().ingest_options(),
    )
    .expect("validate");
    let shown: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert!(shown.iter().all(|p| p.contains("bad/template.yaml:")), "only the bad template has problems: {shown:#?}");
    assert!(shown.iter().any(|p| p.contains("frobnicate:now")), "{shown:#?}");
    assert!(shown.iter().any(|p| p.contains("./missing") && p.contains("does not exist")), "{shown:#?}");
    assert_eq!(report.added, 2, "both templates are catalog entities: {report:?}");
}

#[actix_web::test]
async fn the_log_streams_as_server_sent_events_and_unrunnable_templates_are_refused() {
    let db = TestDb::sqlite();
    let files = tempfile::tempdir().expect("tmp");
    write_template(&files.path().join("tiny"), "1.0.0", "hi\n", "${{ values.description | dump }}");
    // The fixture templates publish to GitHub, which Portolan does not reach.
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/scaffolder-templates/docs-template");
    let copy = files.path().join("docs-template");
    std::fs::create_dir_all(copy.join("skeleton/docs")).expect("folders");
    for file in ["template.yaml", "skeleton/catalog-info.yaml", "skeleton/mkdocs.yml", "skeleton/docs/index.md"] {
        std::fs::copy(fixture.join(file), copy.join(file)).expect("copy the fixture");
    }
    let app = spawn(db, files.path()).await;
    let secret = token(&app).await;

    let (status, refused) = scaffold(
        &app,
        &secret,
        json!({"template": "docs-template", "values": {
        "name": "handbook", "description": "d", "repoUrl": "github.com?owner=a&repo=b"}}),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap_or_default().contains("publish:github"), "{refused}");
    let (browser, form) = open_form(&app, "/create/docs-template").await;
    assert!(text(&select(&form, ".problems")[0]).contains("publish:github"), "the form says so up front");
    let refused = browser
        .post(
            &app,
            "/create/docs-template",
            &[
                ("name", "handbook"),
                ("description", "d"),
                ("repoUrl", "github.com?owner=a&repo=b"),
                ("action", "create"),
            ],
            None,
        )
        .await;
    assert_eq!(refused.status(), 422);

    let (_, accepted) = scaffold(
        &app,
        &secret,
        json!({"template": "tiny-service", "values": {
        "name": "streamed", "owner": "group:default/platform"}}),
    )
    .await;
    let id = accepted["id"].as_str().expect("id").to_owned();
    let task = finished(&app, &id).await;
    let logged = task["log"].as_array().expect("log").len();
    let stream = app.get(&format!("/tasks/{id}/events")).await;
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let body = stream.text().await.expect("the stream ends with the task");
    assert_eq!(body.matches("event: line\n").count(), logged, "{body}");
    assert!(body.ends_with("event: end\ndata: {}\n\n"), "{body}");
    let resumed = app
        .client
        .get(format!("{}/tasks/{id}/events", app.base))
        .header("Last-Event-ID", "0")
        .send()
        .await
        .expect("GET");
    assert_eq!(resumed.text().await.expect("body").matches("event: line\n").count(), logged);
    let last = task["log"][logged - 1]["seq"].as_i64().expect("seq");
    let after_all = app.get(&format!("/tasks/{id}/events?after={last}")).await.text().await.expect("body");
    assert_eq!(after_all, "event: end\ndata: {}\n\n");
}

#[actix_web::test]
async fn templates_come_from_the_templates_folder_too() {
    let files = tempfile::tempdir().expect("tmp");
    let folder = files.path().join("golden-paths");
    write_template(&folder.join("tiny"), "3.1.0", "hi\n", "${{ values.description | dump }}");
    let app = TestApp::spawn_configured(TestDb::sqlite(), Vec::new(), |settings| {
        settings.templates_folder = Some(folder.clone());
    })
    .await;
    let refreshed = app.client.post(format!("{}/api/v1/refresh", app.base)).send().await.expect("POST");
    assert_eq!(refreshed.status(), 202);
    for _ in 0..100 {
        let list = app.html("/create").await;
        let versions: Vec<String> = select(&list, ".template-listing").iter().map(text).collect();
        if versions.iter().any(|v| v.contains("Tiny service") && v.contains("version 3.1.0")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the templates folder was not read");
}

#[test]
fn the_terminal_writes_the_files_and_registers_them_when_asked() {
    let db = TestDb::sqlite();
    let files = tempfile::tempdir().expect("tmp");
    write_template(&files.path().join("tiny"), "1.2.0", "# ${{ values.name }}\n", "${{ values.description | dump }}");
    let settings = portolan::settings::Settings { database_url: db.url.clone(), ..Default::default() };
    let template = files.path().join("tiny").to_string_lossy().into_owned();
    let set = |pairs: &[&str]| pairs.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>();
    let out = files.path().join("out");
    use portolan::cli::{ScaffoldMode, scaffold};

    let code = scaffold(&settings, &template, &set(&["name=Bad Name"]), &out, ScaffoldMode::Write).expect("runs");
    assert_eq!(code, std::process::ExitCode::FAILURE, "the form's checks apply");
    let values = set(&["name=from-terminal", "owner=group:default/platform"]);
    scaffold(&settings, &template, &values, &out, ScaffoldMode::DryRun).expect("dry run");
    assert!(!out.exists(), "a dry run writes nothing");
    scaffold(&settings, &template, &values, &out, ScaffoldMode::WriteAndRegister).expect("written and registered");
    let descriptor = std::fs::read_to_string(out.join("catalog-info.yaml")).expect("written");
    assert!(descriptor.contains("portolan.dev/template-version: \"1.2.0\""), "{descriptor}");
    assert_eq!(std::fs::read_to_string(out.join("README.md")).expect("readme"), "# from-terminal\n");
    let mut conn = db.store.conn().expect("conn");
    let row = store::entities::by_ref(&mut conn, "component:default/from-terminal").expect("query");
    assert!(row.is_some(), "registered in the catalog");
    let made = store::registrations::scaffolded(&mut conn, "component:default/from-terminal").expect("query");
    assert_eq!(made.map(|m| m.template_version), Some("1.2.0".to_owned()));
    let again = scaffold(&settings, &template, &values, &out, ScaffoldMode::Write);
    assert!(again.is_err_and(|e| e.to_string().contains("is not empty")), "an existing folder is never overwritten");
}
