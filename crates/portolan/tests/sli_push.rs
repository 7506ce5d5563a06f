//! `POST /api/v1/slos/{namespace}/{name}/events` on SQLite and PostgreSQL: tokens, limits, refusals by index,
//! and samples that replace rather than add up.

mod support;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use store::test_support::TestDb;
use support::{TestApp, ingest_folder};

const PUSH_SLO: &str = "\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: push-test-availability
spec:
  service: checkout-service
  indicator:
    metadata:
      name: push-test-requests
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
    - duration: 30d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.99
";

async fn push(app: &TestApp, slo: &str, token: Option<&str>, body: &Value) -> (u16, Value, Option<String>) {
    let mut request = app.client.post(format!("{}/api/v1/slos/default/{slo}/events", app.base)).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().expect("ascii header").to_owned());
    (status, response.json().await.expect("json body"), challenge)
}

fn total_in_window(app: &TestApp, slo: &str) -> (u64, u64) {
    let mut conn = app.db.store.conn().expect("connection");
    let row = store::slos::by_name(&mut conn, "default", slo).expect("query").expect("SLO");
    let stored = scorecard::sli::StoredSlo::from_row(row).expect("definition");
    let state = scorecard::sli::evaluate_stored(&mut conn, stored, Utc::now()).expect("evaluates");
    (state.evaluation.sli.good, state.evaluation.sli.total)
}

#[actix_web::test]
async fn pushed_events_need_a_token_replace_duplicates_and_refuse_bad_samples_by_index() {
    for db in TestDb::all() {
        let app = TestApp::spawn_configured(db, Vec::new(), support::sign_in_required).await;
        let folder = app.demo_root.parent().expect("the demo root is a file in a folder");
        std::fs::write(folder.join("components/push-test-slo.yaml"), PUSH_SLO).expect("write SLO file");
        ingest_folder(&app.db, &app.demo_root).await;
        let token = {
            let mut conn = app.db.store.conn().expect("connection");
            let team = Some("group:default/checkout-team");
            portolan::auth::tokens::create(&mut conn, "ci-checkout", team, None, "test", store::now()).expect("token")
        };
        let slo = "push-test-availability";
        let now = Utc::now();
        let minute = |back: i64| (now - Duration::minutes(back)).to_rfc3339();

        // No token, a malformed header, an unknown token.
        let one = json!([{"timestamp": minute(1), "good": 1, "total": 1}]);
        let (status, body, challenge) = push(&app, slo, None, &one).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")), "{body}");
        assert_eq!(challenge.as_deref(), Some("Bearer realm=\"portolan\""));
        let (status, body, _) = push(&app, slo, Some("ptl_not-a-token"), &one).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["message"], "the token is not known");
        // Another team's token may not push to checkout's SLO; a token of the team above it may.
        let data = support::token(&app.db, "ci-data", Some("group:default/data")).await;
        let (status, body, _) = push(&app, slo, Some(&data), &one).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{body}");
        let reason = body["error"]["message"].as_str().unwrap_or_default();
        assert!(reason.starts_with("token `ci-data` acts for group:default/data, and may not push events"), "{reason}");
        assert!(reason.contains("belongs to group:default/checkout-team (under group:default/commerce"), "{reason}");
        let commerce = support::token(&app.db, "ci-commerce", Some("group:default/commerce")).await;
        let (status, body, _) = push(&app, slo, Some(&commerce), &one).await;
        assert_eq!(status, 200, "{body}");

        // 10,000 samples in one call: 10,000 minutes of 1,000 events, 990 good.
        let samples: Vec<Value> =
            (1..=10_000).map(|m| json!({"timestamp": minute(m), "good": 990, "total": 1000})).collect();
        let (status, body, _) = push(&app, slo, Some(&token.secret), &json!(samples)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!((body["accepted"].as_u64(), body["minutes"].as_u64()), (Some(10_000), Some(10_000)));
        assert_eq!(total_in_window(&app, slo), (9_900_000, 10_000_000));

        // The same minutes again replace what was there; seconds within a minute name the same minute.
        let again: Vec<Value> = (1..=10)
            .map(|m| {
                let late_in_minute = (now - Duration::minutes(m)).format("%Y-%m-%dT%H:%M:59Z").to_string();
                json!({"timestamp": late_in_minute, "good": 0, "total": 1000})
            })
            .collect();
        let (status, body, _) = push(&app, slo, Some(&token.secret), &json!(again)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(total_in_window(&app, slo), (9_900_000 - 9_900, 10_000_000));

        // Bad samples are refused with their indexes, and nothing of the call is written.
        let bad = json!([
            {"timestamp": minute(1), "good": 5, "total": 5},
            {"timestamp": minute(1), "good": 6, "total": 5},
            {"timestamp": minute(2), "good": 1, "total": 1},
            {"timestamp": (now + Duration::minutes(5)).to_rfc3339(), "good": 1, "total": 1},
            {"timestamp": minute(3), "good": -1, "total": 1},
        ]);
        let (status, body, _) = push(&app, slo, Some(&token.secret), &bad).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_samples")), "{body}");
        let indexes: Vec<u64> = body["error"]["details"]["samples"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|s| s["index"].as_u64())
            .collect();
        assert_eq!(indexes, [1, 3, 4]);
        assert_eq!(total_in_window(&app, slo), (9_900_000 - 9_900, 10_000_000));

        // More than 10,000 samples, a body that is not a list, an unknown SLO.
        let too_many: Vec<Value> =
            (0..10_001).map(|_| json!({"timestamp": minute(1), "good": 1, "total": 1})).collect();
        let (status, body, _) = push(&app, slo, Some(&token.secret), &json!(too_many)).await;
        assert_eq!((status, body["error"]["code"].as_str()), (413, Some("too_many_samples")), "{body}");
        let (status, body, _) = push(&app, slo, Some(&token.secret), &json!({"good": 1})).await;
        assert_eq!((status, body["error"]["message"].as_str()), (400, Some("body: must be a JSON array of samples")));
        let (status, _, _) = push(&app, "no-such-slo", Some(&token.secret), &one).await;
        assert_eq!(status, 404);

        // A revoked token no longer works.
        {
            let mut conn = app.db.store.conn().expect("connection");
            assert!(store::tokens::revoke(&mut conn, "ci-checkout", store::now()).expect("revoke"));
        }
        let (status, body, _) = push(&app, slo, Some(&token.secret), &one).await;
        assert_eq!((status, body["error"]["message"].as_str()), (401, Some("the token was revoked")));
    }
}
