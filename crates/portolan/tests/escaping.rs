//! Text from descriptors and SLO files is shown as text on every page: markup in a title, a description, a team's
//! name, an annotation or an SLO's description is escaped, and a link that would run script is never a live link.

mod support;

use std::time::Duration;

use portolan::jobs::Worker;
use store::test_support::TestDb;
use support::{TestApp, select, text};

const DESCRIPTORS: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: xss-team
spec:
  type: team
  profile:
    displayName: '<script>alert("group")</script>'
  parent: engineering
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: xss-service
  title: '<script>alert("title")</script>'
  description: '<img src=x onerror=alert(1)>'
  tags: [xss]
  links:
    - url: 'javascript:alert(1)'
      title: '<b>bold</b>'
    - url: https://runbooks.northwind.example/xss-service
      title: Runbook
  annotations:
    northwind.example/note: '"><script>alert(3)</script>'
spec:
  type: service
  lifecycle: production
  owner: xss-team
  dependsOn:
    - component:pricing-service
"#;

const SLO: &str = r#"apiVersion: openslo/v1
kind: SLO
metadata:
  name: xss-service-availability
  displayName: XSS availability
spec:
  description: 'Requests answered <script>alert("slo")</script> without errors'
  service: xss-service
  indicator:
    metadata:
      name: xss-service-requests
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Push
        total:
          metricSource:
            type: Push
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: Availability
      target: 0.999
"#;

/// What must never reach a page as markup.
const RAW: [&str; 4] = ["<script>alert", "<img src=x", "href=\"javascript:", "<b>bold</b>"];

/// The team's name as askama escapes it: `<`, `>` and `"` as numeric character references.
const ESCAPED_GROUP: &str = "&#60;script&#62;alert(&#34;group&#34;)&#60;/script&#62;";

fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("catalog-info.yaml"), DESCRIPTORS).expect("write");
    std::fs::write(dir.path().join("slo.yaml"), SLO).expect("write");
    dir
}

/// GETs an HTML page: 200, text/html, the CSP header, and none of [`RAW`] in it. Returns the body.
async fn page(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    let headers = response.headers().clone();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("text/html"), "GET {path}: {content_type}");
    let csp = headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(csp.contains("script-src 'self'"), "GET {path}: CSP {csp:?}");
    let body = response.text().await.expect("body");
    for raw in RAW {
        assert!(!body.contains(raw), "GET {path} shows {raw:?} unescaped:\n{}", around(&body, raw));
    }
    body
}

/// Some of the body around `needle`, for a failure message.
fn around(body: &str, needle: &str) -> String {
    let at = body.find(needle).unwrap_or(0);
    let before: String = body[..at].chars().rev().take(200).collect::<Vec<_>>().into_iter().rev().collect();
    let after: String = body[at..].chars().take(200).collect();
    format!("{before}{after}")
}

#[actix_web::test]
async fn descriptor_text_with_markup_is_shown_escaped_on_every_page() {
    let dir = folder();
    let app = TestApp::spawn_with(TestDb::sqlite(), vec![dir.path().to_path_buf()]).await;
    // The scorecards as the evaluation job leaves them, so that their pages list the team and rate the service.
    let store = app.db.store.clone();
    tokio::task::spawn_blocking(move || {
        portolan::maturity_jobs::evaluate_once(&store, &Worker::new(Duration::from_secs(60)), chrono::Utc::now(), true)
            .expect("evaluated")
    })
    .await
    .expect("join")
    .expect("the job was free");

    // The catalog: the service's title and description, the team's name.
    let search = page(&app, "/catalog?q=xss").await;
    assert!(search.contains("&#60;script&#62;alert(&#34;title&#34;)&#60;/script&#62;"), "{search}");
    assert!(search.contains("&#60;img src=x onerror=alert(1)&#62;"), "{search}");
    let all = page(&app, "/catalog?limit=200").await;
    assert!(all.contains("&#60;script&#62;alert(&#34;title&#34;)"), "the service is listed escaped");
    assert!(all.contains(ESCAPED_GROUP), "the team is listed escaped");
    page(&app, "/catalog").await;

    // The service's page: title, description, owner, annotation, links and the SLO's description.
    let service = page(&app, "/catalog/default/component/xss-service").await;
    for shown in [
        "&#60;script&#62;alert(&#34;title&#34;)&#60;/script&#62;",
        "&#60;img src=x onerror=alert(1)&#62;",
        ESCAPED_GROUP,
        "&#34;&#62;&#60;script&#62;alert(3)&#60;/script&#62;",
        "&#60;b&#62;bold&#60;/b&#62;",
        "&#60;script&#62;alert(&#34;slo&#34;)&#60;/script&#62;",
    ] {
        assert!(service.contains(shown), "the service page shows {shown:?}:\n{service}");
    }
    // Parsed as a browser would, the markup is text: no inline script, no image, no bold.
    let doc = scraper::Html::parse_document(&service);
    assert!(select(&doc, "script:not([src]), img, b").is_empty(), "no element comes from descriptor text");
    assert_eq!(select(&doc, "h1").first().map(text).as_deref(), Some(r#"<script>alert("title")</script>"#));
    assert_eq!(
        select(&doc, ".owner-card .big a").first().map(text).as_deref(),
        Some(r#"<script>alert("group")</script>"#)
    );
    let annotations: Vec<String> = select(&doc, ".metadata dd").iter().map(text).collect();
    assert!(annotations.contains(&r#""><script>alert(3)</script>"#.to_owned()), "{annotations:?}");
    // The javascript: link is shown as text, not followed; the https one is still a link.
    let hrefs: Vec<&str> = select(&doc, "a[href]").iter().filter_map(|a| a.value().attr("href")).collect();
    assert!(hrefs.iter().all(|h| !h.trim().to_lowercase().starts_with("javascript:")), "{hrefs:?}");
    assert!(hrefs.contains(&"https://runbooks.northwind.example/xss-service"), "{hrefs:?}");
    assert!(service.contains("javascript:alert(1)"), "the unsafe link's address is still shown, as text");

    // The team's page names it in its heading; the scorecards and the golden paths list the team.
    let team = page(&app, "/teams/xss-team").await;
    assert!(team.contains(ESCAPED_GROUP), "{team}");
    assert!(team.contains("&#60;script&#62;alert(&#34;title&#34;)"), "its service is listed escaped");
    let scorecards = page(&app, "/scorecards").await;
    assert!(scorecards.contains(ESCAPED_GROUP), "the scorecards list the team escaped");
    page(&app, "/scorecards/production-readiness?team=group%3Adefault%2Fxss-team").await;
    page(&app, "/create").await;
    let form = page(&app, "/create/rust-http-service").await;
    assert!(form.contains(ESCAPED_GROUP), "the owner picker lists the team escaped");

    // The JSON API gives the raw text as data, as JSON.
    let response = app.get("/api/v1/entities/component/default/xss-service").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let entity: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(entity["metadata"]["title"], r#"<script>alert("title")</script>"#);
    assert_eq!(entity["metadata"]["description"], "<img src=x onerror=alert(1)>");
    assert_eq!(entity["metadata"]["links"][0]["url"], "javascript:alert(1)");
    assert_eq!(entity["metadata"]["annotations"]["northwind.example/note"], r#""><script>alert(3)</script>"#);
}
