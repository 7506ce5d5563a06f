//! The pages and the JSON API over HTTP, on SQLite and PostgreSQL.

mod support;

use store::test_support::TestDb;
use support::{TestApp, select, text};

#[actix_web::test]
async fn catalog_page_lists_searches_and_facets() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let app = TestApp::spawn(db).await;
        let doc = app.html("/catalog").await;
        assert_eq!(select(&doc, "#total").first().map(text).as_deref(), Some("96"), "{backend}");
        assert_eq!(select(&doc, "table.entities tbody tr").len(), 25, "first page of 25");
        assert!(!select(&doc, "a[rel=next]").is_empty(), "a next page link");
        // Owners are shown by display name.
        let owners: Vec<String> = select(&doc, "table.entities tbody td:nth-child(4)").iter().map(text).collect();
        assert!(owners.iter().any(|o| o == "Platform Engineering" || o.contains(' ')), "{owners:?}");

        // Partial words match.
        let doc = app.html("/catalog?q=paym").await;
        let names: Vec<String> = select(&doc, "a.entity-link").iter().map(text).collect();
        assert!(names.iter().any(|n| n.to_lowercase().contains("payment")), "{backend}: {names:?}");

        // The kind facet counts every kind even when one is selected, and the filter applies.
        let doc = app.html("/catalog?kind=component&lifecycle=production").await;
        let kinds: Vec<String> = select(&doc, "section[data-facet=kind] li").iter().map(text).collect();
        assert!(kinds.contains(&"✓ Component 33".to_owned()), "{backend}: {kinds:?}");
        assert!(kinds.iter().any(|k| k.starts_with("API ")), "{kinds:?}");
        assert_eq!(select(&doc, "#total").first().map(text).as_deref(), Some("33"));
    }
}

#[actix_web::test]
async fn service_page_shows_owner_relations_graph_and_unresolved_references() {
    for db in TestDb::all() {
        let app = TestApp::spawn(db).await;
        let doc = app.html("/catalog/default/component/invoice-service").await;
        let owner = select(&doc, ".owner-card .big a");
        assert_eq!(owner.len(), 1, "the owner card links the owning team");
        for card in [".template-card", ".slo-card", ".budget-card"] {
            assert_eq!(select(&doc, card).len(), 1, "{card} is laid out beside the owner");
        }
        let unresolved: Vec<String> = select(&doc, ".unresolved-list li").iter().map(text).collect();
        assert_eq!(unresolved, vec!["component:default/legacy-fax-gateway (dependsOn)"]);
        assert!(!select(&doc, "figure.graph svg g.node.unresolved").is_empty(), "the graph marks it too");
        assert!(select(&doc, "figure.graph svg g.node").len() >= 3);

        // Case-insensitive lookups; 404 page for what does not exist.
        assert_eq!(app.get("/catalog/default/Component/INVOICE-SERVICE").await.status(), 200);
        let missing = app.get("/catalog/default/component/nope").await;
        assert_eq!(missing.status(), 404);
        assert!(missing.text().await.expect("body").contains("no entity component:default/nope"));
    }
}

#[actix_web::test]
async fn team_page_rolls_up_sub_teams() {
    for db in TestDb::all() {
        let app = TestApp::spawn(db).await;
        let commerce = app.html("/teams/commerce").await;
        let checkout = app.html("/teams/checkout-team").await;
        let total = |doc: &scraper::Html| -> i64 {
            select(doc, "#owned-total").first().map(text).and_then(|t| t.parse().ok()).expect("a count")
        };
        assert!(total(&commerce) > total(&checkout), "commerce owns what its sub-teams own too");
        let children: Vec<String> =
            select(&commerce, "section[aria-label=Sub-teams] ul").first().map(|ul| text(ul)).into_iter().collect();
        assert!(children[0].contains("Checkout"), "{children:?}");
        assert_eq!(app.get("/teams/no-such-team").await.status(), 404);
    }
}

#[actix_web::test]
async fn entities_api_filters_pages_and_errors_in_shape() {
    for db in TestDb::all() {
        let app = TestApp::spawn(db).await;
        let (status, body) = app.json("/api/v1/entities?kind=component&limit=15").await;
        assert_eq!(status, 200);
        assert_eq!(body["total"], 40);
        let items = body["items"].as_array().expect("items");
        assert_eq!(items.len(), 15);
        assert_eq!(items[0]["kind"], "Component");
        assert!(items[0]["relations"].as_array().is_some_and(|r| r.iter().any(|r| r["type"] == "ownedBy")));

        // Following next_cursor visits all 40 once.
        let mut seen = std::collections::HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/entities?kind=component&limit=15&cursor={c}"),
                None => "/api/v1/entities?kind=component&limit=15".to_owned(),
            };
            let (_, page) = app.json(&path).await;
            for item in page["items"].as_array().expect("items") {
                assert!(seen.insert(item["metadata"]["name"].as_str().expect("name").to_owned()));
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 40);

        let (status, one) = app.json("/api/v1/entities/component/default/invoice-service").await;
        assert_eq!(status, 200);
        assert_eq!(one["metadata"]["name"], "invoice-service");

        let (status, err) = app.json("/api/v1/entities/component/default/nope").await;
        assert_eq!(status, 404);
        assert_eq!(err["error"]["code"], "not_found");
        let (status, err) = app.json("/api/v1/entities?limit=0").await;
        assert_eq!(status, 400);
        assert_eq!(err["error"]["details"]["field"], "limit");
        let (status, err) = app.json("/api/v1/nothing-here").await;
        assert_eq!(status, 404);
        assert!(err["error"]["message"].is_string());
    }
}

#[actix_web::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let (status, ready) = app.json("/readyz").await;
    assert_eq!((status, ready["status"].as_str()), (200, Some("ready")));
    app.get("/catalog").await;
    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert!(metrics.contains("portolan_catalog_entities{kind=\"Component\"} 40"), "{metrics}");
    assert!(
        metrics.contains("portolan_http_requests_total{method=\"GET\",route=\"/catalog\",status=\"200\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("portolan_catalog_ingestion_errors 0"));
    for state in ["allocated", "resident", "retained"] {
        assert!(metrics.contains(&format!("portolan_memory_bytes{{state=\"{state}\"}}")), "{state}: {metrics}");
    }
}

#[actix_web::test]
async fn descriptor_text_is_escaped_and_errors_show_on_the_entity_page() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("x.yaml");
    let good = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: xss\n  description: \"<script>alert(1)</script>\"\nspec: {type: service, lifecycle: production, owner: platform}\n";
    std::fs::write(&file, good).expect("write");
    let store = app.db.store.clone();
    let path = file.clone();
    let ingest = move |store: store::Store, path: std::path::PathBuf| {
        catalog::ingest::ingest(
            &store,
            &[path],
            &catalog::ingest::IngestOptions::default(),
            &catalog::ingest::NoProgress,
        )
        .expect("ingest")
    };
    let (s, p) = (store.clone(), path.clone());
    tokio::task::spawn_blocking(move || ingest(s, p)).await.expect("join");
    let body = app.get("/catalog/default/component/xss").await.text().await.expect("body");
    assert!(!body.contains("<script>alert(1)</script>"));
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || body.contains("&#60;script&#62;"), "escaped");

    std::fs::write(&file, good.replace("lifecycle: production, ", "")).expect("write");
    tokio::task::spawn_blocking(move || ingest(store, path)).await.expect("join");
    let doc = app.html("/catalog/default/component/xss").await;
    let problems: Vec<String> = select(&doc, ".problems li").iter().map(text).collect();
    assert_eq!(problems, vec!["6:7 spec.lifecycle is required for a Component"]);
    assert!(text(&select(&doc, ".chips")[0]).contains("production"), "the last good version is shown");
}
