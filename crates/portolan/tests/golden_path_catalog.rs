//! The golden-path drift on `/catalog` (a facet and a column), in `GET /api/v1/entities?golden_path=`, and on the team
//! pages (how many services are behind, and which), over the demo organisation on SQLite and PostgreSQL.
//!
//! Every version of the demo's templates is kept before the portal starts: rust-http-service 1.0.0, 1.1.0, 2.0.0;
//! python-worker 1.0.0, 1.1.0; static-site 1.0.0, 1.1.0, 1.2.0. Of the demo's 40 Components, eight name a template:
//! behind are payments-service and notification-service (2), identity-service, experimentation-service and
//! engineering-handbook (1); image-resizer, fraud-detection-service and audit-log-service are up to date.

mod support;

use std::collections::BTreeMap;

use store::templates::{self, VersionForm};
use store::test_support::TestDb;
use support::{TestApp, select, text};

const KEPT: [(&str, &str); 8] = [
    ("rust-http-service", "1.0.0"),
    ("rust-http-service", "1.1.0"),
    ("rust-http-service", "2.0.0"),
    ("python-worker", "1.0.0"),
    ("python-worker", "1.1.0"),
    ("static-site", "1.0.0"),
    ("static-site", "1.1.0"),
    ("static-site", "1.2.0"),
];

/// The demo portal with every version of its templates kept (their files do not matter to drift).
async fn spawn(db: TestDb) -> TestApp {
    let mut conn = db.store.conn().expect("connection");
    for (name, version) in KEPT {
        let form = VersionForm {
            namespace: "default",
            name,
            version,
            title: name,
            description: "",
            owner: Some("platform"),
            template_type: "service",
            tags: "[]",
            path: "/golden-paths/template.yaml",
            content_hash: "kept by the test",
            bundle: b"",
        };
        templates::save(&mut conn, &form, store::now()).expect("version kept");
    }
    drop(conn);
    TestApp::spawn(db).await
}

/// The facet's values as `label count`.
fn facet(doc: &scraper::Html) -> Vec<String> {
    select(doc, "section[data-facet=golden_path] li").iter().map(text).collect()
}

/// Entity name → text of its golden-path cell.
fn column(doc: &scraper::Html) -> BTreeMap<String, String> {
    let headers: Vec<String> = select(doc, "table.entities thead th").iter().map(text).collect();
    let at = headers.iter().position(|h| h == "Golden path").expect("a Golden path column") + 1;
    select(doc, "table.entities tbody tr")
        .iter()
        .map(|row| {
            let cell = |css: &str| {
                let selector = scraper::Selector::parse(css).expect("selector");
                row.select(&selector).next().map(|el| text(&el)).unwrap_or_default()
            };
            (cell("a.entity-link"), cell(&format!("td:nth-child({at})")))
        })
        .collect()
}

fn names(body: &serde_json::Value) -> Vec<&str> {
    body["items"].as_array().expect("items").iter().filter_map(|i| i["metadata"]["name"].as_str()).collect()
}

#[actix_web::test]
async fn catalog_shows_and_filters_components_by_their_golden_path() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let app = spawn(db).await;
        let doc = app.html("/catalog?kind=component&limit=100").await;
        assert_eq!(facet(&doc), ["Behind 5", "Up to date 3", "No template 32"], "{backend}");
        assert_eq!(
            select(&doc, "section[data-facet=golden_path] h2").first().map(text).as_deref(),
            Some("Golden path")
        );
        let cells = column(&doc);
        assert_eq!(cells.len(), 40, "{backend}");
        for (name, shown) in [
            ("Payments Service", "2 behind"),
            ("notification-service", "2 behind"),
            ("Identity Service", "1 behind"),
            ("Engineering Handbook", "1 behind"),
            ("audit-log-service", "up to date"),
            ("fraud-detection-service", "up to date"),
            ("Cart Service", "–"),
        ] {
            assert_eq!(cells.get(name).map(String::as_str), Some(shown), "{backend}: {name} in {cells:?}");
        }
        let badges = select(&doc, "td span.golden-path.drift-behind");
        assert_eq!(badges.len(), 5, "{backend}");
        let title = badges.iter().find(|b| text(b) == "2 behind").and_then(|b| b.value().attr("title"));
        assert_eq!(title, Some("2 versions behind its golden-path template"), "{backend}");

        // The facet's link filters; the facet still counts the others, and the other filters stay.
        let link = select(&doc, "section[data-facet=golden_path] li a")
            .iter()
            .find(|a| text(a) == "Behind")
            .and_then(|a| a.value().attr("href"))
            .map(str::to_owned)
            .expect("a Behind link");
        assert_eq!(link, "/catalog?kind=component&golden_path=behind", "{backend}");
        let doc = app.html("/catalog?golden_path=behind").await;
        assert_eq!(select(&doc, "#total").first().map(text).as_deref(), Some("5"), "{backend}");
        let listed: Vec<String> = column(&doc).into_keys().collect();
        assert_eq!(
            listed,
            [
                "Engineering Handbook",
                "Identity Service",
                "Payments Service",
                "experimentation-service",
                "notification-service"
            ],
            "{backend}"
        );
        assert!(facet(&doc).contains(&"✓ Behind 5".to_owned()), "{backend}: {:?}", facet(&doc));
        assert!(facet(&doc).contains(&"Up to date 3".to_owned()), "{backend}");
        // Kept by the search form.
        let hidden: Vec<(String, String)> = select(&doc, "form.search input[type=hidden]")
            .iter()
            .filter_map(|i| Some((i.value().attr("name")?.to_owned(), i.value().attr("value")?.to_owned())))
            .collect();
        assert_eq!(hidden, [("golden_path".to_owned(), "behind".to_owned())], "{backend}");

        // The same filter in the JSON API, several values at once and with other filters.
        let (status, body) = app.json("/api/v1/entities?golden_path=behind").await;
        assert_eq!(status, 200, "{backend}: {body}");
        assert_eq!(body["total"].as_i64(), Some(5), "{backend}");
        let mut late = names(&body);
        late.sort_unstable();
        assert_eq!(
            late,
            [
                "engineering-handbook",
                "experimentation-service",
                "identity-service",
                "notification-service",
                "payments-service"
            ],
            "{backend}"
        );
        let (status, body) =
            app.json("/api/v1/entities?golden_path=behind&golden_path=up_to_date&owner=platform").await;
        assert_eq!((status, body["total"].as_i64()), (200, Some(4)), "{backend}: {body}");
        let (status, body) = app.json("/api/v1/entities?golden_path=unknown").await;
        assert_eq!((status, body["total"].as_i64()), (200, Some(0)), "{backend}");
        let (status, body) = app.json("/api/v1/entities?golden_path=late").await;
        assert_eq!(status, 400, "{backend}: {body}");
        assert_eq!(body["error"]["details"]["field"], "golden_path");
        assert_eq!(app.get("/catalog?golden_path=late").await.status(), 400, "{backend}");
    }
}

#[actix_web::test]
async fn team_pages_count_and_mark_the_services_behind_their_golden_path() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let app = spawn(db).await;
        let summary = |doc: &scraper::Html| select(doc, "#golden-path-summary").first().map(text);

        let platform = app.html("/teams/platform").await;
        assert_eq!(summary(&platform).as_deref(), Some("3 of 7 services are behind their golden path"), "{backend}");
        let marked: Vec<String> =
            select(&platform, "section[aria-label=Owned] tr.behind td:first-child a").iter().map(text).collect();
        assert_eq!(marked, ["Engineering Handbook", "Identity Service", "notification-service"], "{backend}");
        let badges: Vec<String> = select(&platform, "tr.behind span.golden-path").iter().map(text).collect();
        assert_eq!(badges, ["1 behind", "1 behind", "2 behind"], "{backend}");

        // The link lists exactly those in the catalog.
        let link = select(&platform, "#golden-path-summary a")
            .first()
            .and_then(|a| a.value().attr("href"))
            .map(str::to_owned)
            .expect("a link to the services behind");
        assert_eq!(link, "/catalog?kind=component&owner=group%3Adefault%2Fplatform&golden_path=behind", "{backend}");
        let listed = app.html(&link).await;
        assert_eq!(select(&listed, "#total").first().map(text).as_deref(), Some("3"), "{backend}");

        // A parent team counts its sub-teams' services, and its link lists them too.
        let commerce = app.html("/teams/commerce").await;
        assert_eq!(summary(&commerce).as_deref(), Some("1 of 24 services is behind their golden path"), "{backend}");
        let link = select(&commerce, "#golden-path-summary a")
            .first()
            .and_then(|a| a.value().attr("href"))
            .map(str::to_owned)
            .expect("a link");
        let listed = app.html(&link).await;
        let names: Vec<String> = column(&listed).into_keys().collect();
        assert_eq!(names, ["Payments Service"], "{backend}");
        let engineering = app.html("/teams/engineering").await;
        assert_eq!(
            summary(&engineering).as_deref(),
            Some("5 of 40 services are behind their golden path"),
            "{backend}"
        );

        let mobile = app.html("/teams/mobile").await;
        assert_eq!(
            summary(&mobile).as_deref(),
            Some("None of its 4 services are behind their golden path."),
            "{backend}"
        );
        assert!(select(&mobile, "tr.behind").is_empty(), "{backend}");
    }
}
