//! The SLO status on `/catalog` (a facet and a column) and in `GET /api/v1/entities?slo_status=`, over the demo
//! organisation with its generated SLI history, on SQLite and PostgreSQL.

mod support;

use std::collections::BTreeMap;

use store::test_support::TestDb;
use support::{TestApp, select, text};

/// The facet's values as `label count`.
fn facet(doc: &scraper::Html) -> Vec<String> {
    select(doc, "section[data-facet=slo_status] li").iter().map(text).collect()
}

/// Entity name → text of its SLO cell.
fn column(doc: &scraper::Html) -> BTreeMap<String, String> {
    let headers: Vec<String> = select(doc, "table.entities thead th").iter().map(text).collect();
    let at = headers.iter().position(|h| h == "SLOs").expect("an SLOs column") + 1;
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

#[actix_web::test]
async fn catalog_shows_and_filters_components_by_their_worst_slo_status() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let app = TestApp::spawn(db).await;
        // Reconciled but without data: every SLO has no data yet.
        let doc = app.html("/catalog?kind=component&limit=100").await;
        assert_eq!(facet(&doc), ["No data 29", "No SLOs 11"], "{backend}");

        // The demo's history, as `serve --demo` writes it after its first ingest. The statuses change without a new
        // catalog generation; the next request shows them.
        // The edge gateway's Prometheus does not answer: its SLOs are stale, as the poller marks them.
        let (store, folder) = (app.db.store.clone(), app.demo_root.parent().expect("demo folder").to_path_buf());
        let written = tokio::task::spawn_blocking(move || {
            let now = chrono::Utc::now();
            let written = portolan::demo::write_history_if_new(&store, &folder, now).expect("history written");
            let mut conn = store.conn().expect("connection");
            for slo in store::slos::of_service(&mut conn, "default", "api-gateway").expect("SLOs") {
                let failing = Some((now.naive_utc(), "cannot reach Prometheus at http://127.0.0.1:9090"));
                store::slos::mark_stale(&mut conn, slo.id, failing).expect("marked stale");
            }
            scorecard::sli::refresh_statuses(&mut conn, now).expect("statuses");
            written
        })
        .await
        .expect("join")
        .expect("the demo had no data yet");
        assert_eq!(written.slos, 38, "{backend}: every demo SLO but the one without data");

        let doc = app.html("/catalog?kind=component&limit=100").await;
        assert_eq!(
            facet(&doc),
            ["Exhausted 1", "At risk 2", "Stale 1", "No data 1", "Healthy 24", "No SLOs 11"],
            "{backend}"
        );
        assert_eq!(select(&doc, "section[data-facet=slo_status] h2").first().map(text).as_deref(), Some("SLO status"));
        let cells = column(&doc);
        assert_eq!(cells.len(), 40);
        for (name, status) in [
            ("Payments Service", "At risk"),
            ("Search Service", "At risk"),
            ("Carrier Gateway", "Exhausted"),
            ("API Gateway", "Stale"),
            ("push-notification-service", "No data"),
            ("Cart Service", "Healthy"),
            ("fraud-detection-service", "–"),
            ("Trailhead UI Kit", "–"),
        ] {
            assert_eq!(cells.get(name).map(String::as_str), Some(status), "{backend}: {name} in {cells:?}");
        }
        let badges: Vec<String> = select(&doc, "td span.slo-status.slo-exhausted").iter().map(text).collect();
        assert_eq!(badges, ["Exhausted"], "{backend}");

        // A status link filters; its facet still counts the others, and selecting it again clears it.
        let link = select(&doc, "section[data-facet=slo_status] li a")
            .iter()
            .find(|a| text(a) == "At risk")
            .and_then(|a| a.value().attr("href"))
            .map(str::to_owned)
            .expect("an At risk link");
        assert_eq!(link, "/catalog?kind=component&slo_status=at_risk", "{backend}");
        let doc = app.html(&link).await;
        assert_eq!(select(&doc, "#total").first().map(text).as_deref(), Some("2"), "{backend}");
        let names: Vec<String> = column(&doc).into_keys().collect();
        assert_eq!(names, ["Payments Service", "Search Service"], "{backend}");
        assert!(facet(&doc).contains(&"✓ At risk 2".to_owned()), "{backend}: {:?}", facet(&doc));
        assert!(facet(&doc).contains(&"Healthy 24".to_owned()), "{backend}");

        // The same filter in the JSON API, several values at once.
        let (status, body) = app.json("/api/v1/entities?slo_status=exhausted&slo_status=no_data").await;
        assert_eq!(status, 200, "{backend}: {body}");
        let names: Vec<&str> =
            body["items"].as_array().expect("items").iter().filter_map(|i| i["metadata"]["name"].as_str()).collect();
        assert_eq!((body["total"].as_i64(), names), (Some(2), vec!["carrier-gateway", "push-notification-service"]));
        let (status, body) = app.json("/api/v1/entities?slo_status=none&kind=component").await;
        assert_eq!((status, body["total"].as_i64()), (200, Some(11)), "{backend}");
        let (status, body) = app.json("/api/v1/entities?slo_status=burning").await;
        assert_eq!(status, 400, "{backend}: {body}");
        assert_eq!(body["error"]["details"]["field"], "slo_status");
    }
}
