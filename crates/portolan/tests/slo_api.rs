//! SLOs over HTTP, on SQLite and PostgreSQL: `GET /api/v1/slos/{namespace}/{name}?at=` against hand-computed
//! numbers, the service overview's `slos`, and the service page's SLO and error-budget cards and burn-down charts.

mod support;

use std::path::Path;

use catalog::ingest::{NoProgress, ingest};
use chrono::{DateTime, Duration, DurationRound, Utc};
use portolan::Application;
use portolan::settings::Settings;
use scorecard::sli::{Sample, StoredSlo, reconcile, record};
use serde_json::Value;
use store::test_support::TestDb;
use support::{select, text};

const CATALOG: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: checkout}
spec: {type: service, lifecycle: production, owner: payments}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: ledger}
spec: {type: service, lifecycle: production, owner: payments}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: payments}
spec: {type: team, children: []}
";

/// An OpenSLO SLO over a rolling day, counted by events, with pushed data.
fn slo(name: &str, service: &str, target: &str) -> String {
    format!(
        "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: {name}\n  displayName: {name} <shown escaped>\nspec:\n  \
         description: What {name} promises\n  service: {service}\n  indicator:\n    metadata:\n      name: {name}-sli\n    \
         spec:\n      ratioMetric:\n        counter: true\n        good:\n          metricSource:\n            type: Push\n        \
         total:\n          metricSource:\n            type: Push\n  timeWindow:\n    - duration: 1d\n      isRolling: true\n  \
         budgetingMethod: Occurrences\n  objectives:\n    - displayName: Good requests\n      target: {target}\n"
    )
}

fn slos_file(availability_target: &str) -> String {
    [slo("checkout-availability", "checkout", availability_target), slo("checkout-latency", "checkout", "0.99")]
        .into_iter()
        .chain([slo("checkout-errors", "checkout", "0.99")])
        .collect::<Vec<_>>()
        .join("---\n")
}

struct SloApp {
    base: String,
    client: reqwest::Client,
    db: TestDb,
    dir: tempfile::TempDir,
    /// The instant the samples lead up to: a whole minute.
    at: DateTime<Utc>,
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).expect("write a catalog file");
}

/// Ingests the folder and reconciles its SLOs, as the refresh does.
fn ingest_and_reconcile(db: &TestDb, dir: &Path) {
    let report =
        ingest(&db.store, &[dir.to_path_buf()], &Settings::default().ingest_options(), &NoProgress).expect("ingest");
    let mut conn = db.store.conn().expect("connection");
    let reconciled = reconcile(&mut conn).expect("reconcile");
    assert!(report.error_count() > 0 || reconciled.slos == 4, "{reconciled:?} {:?}", report.problems);
}

fn stored(db: &TestDb, name: &str) -> StoredSlo {
    let mut conn = db.store.conn().expect("connection");
    let row = store::slos::by_name(&mut conn, "default", name).expect("query").expect("the SLO is stored");
    StoredSlo::from_row(row).expect("its definition reads back")
}

impl SloApp {
    /// A portal over a catalog with the Components `checkout` (three SLOs) and `ledger` (none), and an SLO of a
    /// service that is not in the catalog:
    ///
    /// * `checkout-availability` (target 0.75): 50 of 100 good per minute from 60 to 31 minutes before `at`, then
    ///   100 of 100 per minute: 1,500 bad of 6,000 is exactly the budget of 0.25;
    /// * `checkout-latency`: no data;
    /// * `checkout-errors`: all good for the last hour, but its source has been failing for ten minutes.
    async fn spawn(db: TestDb) -> SloApp {
        let dir = tempfile::tempdir().expect("tmp");
        write(dir.path(), "catalog-info.yaml", CATALOG);
        write(dir.path(), "slos.yaml", &slos_file("0.75"));
        write(dir.path(), "ghost.yaml", &slo("ghost-availability", "ghost", "0.9"));
        ingest_and_reconcile(&db, dir.path());

        let at = Utc::now().duration_trunc(Duration::minutes(1)).expect("a whole minute");
        let minute = |ago: i64, good: u64, total: u64| Sample { minute: at - Duration::minutes(ago), good, total };
        let availability: Vec<Sample> =
            (1..=60).map(|ago| if ago > 30 { minute(ago, 50, 100) } else { minute(ago, 100, 100) }).collect();
        let errors: Vec<Sample> = (1..=60).map(|ago| minute(ago, 100, 100)).collect();
        {
            let mut conn = db.store.conn().expect("connection");
            record(&mut conn, &stored(&db, "checkout-availability"), &availability).expect("record");
            let failing = stored(&db, "checkout-errors");
            record(&mut conn, &failing, &errors).expect("record");
            let since = (at - Duration::minutes(10)).naive_utc();
            store::slos::mark_stale(&mut conn, failing.row.id, Some((since, "the push job <ci> stopped reporting")))
                .expect("mark stale");
        }

        let settings = Settings {
            bind: "127.0.0.1:0".to_owned(),
            database_url: db.url.clone(),
            locations: vec![dir.path().to_path_buf()],
            refresh_interval_secs: 3600,
            data_dir: dir.path().join("data"),
            ..Settings::default()
        };
        let app = Application::build(settings).await.expect("the app builds");
        let base = format!("http://127.0.0.1:{}", app.port);
        actix_web::rt::spawn(app.run());
        SloApp { base, client: reqwest::Client::new(), db, dir, at }
    }

    async fn json(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    async fn slo(&self, name: &str, at: DateTime<Utc>) -> Value {
        let path = format!("/api/v1/slos/default/{name}?at={}", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let (status, body) = self.json(&path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn html(&self, path: &str) -> scraper::Html {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.expect("request");
        assert_eq!(response.status(), 200, "GET {path}");
        scraper::Html::parse_document(&response.text().await.expect("body"))
    }
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("a number, not {value}"))
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[actix_web::test]
async fn the_slo_api_evaluates_at_an_instant() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let app = SloApp::spawn(db).await;
        let at = app.at;

        let body = app.slo("checkout-availability", at).await;
        assert_eq!(body["namespace"], "default", "{backend}");
        assert_eq!(body["name"], "checkout-availability");
        assert_eq!(body["display_name"], "checkout-availability <shown escaped>");
        assert_eq!(body["service"], "checkout");
        assert_eq!(body["at"], rfc3339(at));
        assert_eq!(body["target"], 0.75);
        assert_eq!((body["window"].as_str(), body["window_type"].as_str()), (Some("1d"), Some("rolling")));
        assert_eq!(body["period"]["start"], rfc3339(at - Duration::days(1)));
        assert_eq!(body["budgeting_method"], "occurrences");
        assert_eq!((&body["slice"], &body["slice_target"]), (&Value::Null, &Value::Null));
        // 4,500 good of 6,000: an error ratio of 0.25 spends exactly the budget of 1 − 0.75.
        assert_eq!(body["sli"], serde_json::json!({"good": 4500, "total": 6000, "ratio": 0.75}));
        assert_eq!(body["error_budget"], serde_json::json!({"total": 0.25, "consumed": 1.0, "remaining": 0.0}));
        assert_eq!(body["status"], "exhausted");
        assert_eq!(body["policy"], "freeze");
        assert_eq!(body["time_to_exhaustion_seconds"], 0);
        // The bad half-hour is 31 to 60 minutes ago: the last hour burns at exactly 1, the last half-hour not at all.
        for (window, burn) in
            [("5m", 0.0), ("30m", 0.0), ("1h", 1.0), ("2h", 1.0), ("6h", 1.0), ("1d", 1.0), ("3d", 1.0)]
        {
            assert_eq!(number(&body["burn_rates"][window]), burn, "{backend}: burn rate over {window}");
        }
        // For a one-day window the thresholds are 0.48, 0.2, 0.1 and 1/30: the tickets fire, the pages' short
        // windows see no errors.
        let alerts = body["alerts"].as_array().expect("alerts");
        let summary: Vec<(&str, &str, &str, bool)> = alerts
            .iter()
            .map(|alert| {
                (
                    alert["severity"].as_str().expect("severity"),
                    alert["long_window"].as_str().expect("long window"),
                    alert["short_window"].as_str().expect("short window"),
                    alert["firing"].as_bool().expect("firing"),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("page", "1h", "5m", false),
                ("page", "6h", "30m", false),
                ("ticket", "1d", "2h", true),
                ("ticket", "3d", "6h", true)
            ]
        );
        assert!((number(&alerts[0]["threshold"]) - 0.48).abs() < 1e-12);
        assert_eq!(body["source"], "push");
        assert_eq!(body["data_until"], rfc3339(at));
        assert_eq!((&body["stale_since"], &body["stale_reason"]), (&Value::Null, &Value::Null));
        assert!(body["defined_at"].as_str().is_some_and(|defined| defined.ends_with("slos.yaml:4:9")), "{body}");
        assert_eq!(body["problems"], serde_json::json!([]));
        let line = body["burn_down"].as_array().expect("burn-down points");
        assert!(line.len() >= 48, "{} points", line.len());
        assert_eq!(line[0], serde_json::json!({"at": rfc3339(at - Duration::days(1)), "remaining": 1.0}));
        assert_eq!(line.last(), Some(&serde_json::json!({"at": rfc3339(at), "remaining": 0.0})));
        let remaining: Vec<f64> = line.iter().map(|point| number(&point["remaining"])).collect();
        assert!(remaining.windows(2).all(|pair| pair[1] <= pair[0]), "{remaining:?}");

        // Half an hour earlier the window ends with the bad half-hour: 1,500 bad of 3,000, twice the budget.
        let earlier = app.slo("checkout-availability", at - Duration::minutes(30)).await;
        assert_eq!(earlier["sli"], serde_json::json!({"good": 1500, "total": 3000, "ratio": 0.5}));
        assert_eq!(earlier["error_budget"]["remaining"], -1.0);
        assert_eq!(earlier["status"], "exhausted");
        assert_eq!(number(&earlier["burn_rates"]["30m"]), 2.0);
        assert_eq!(
            earlier["burn_down"].as_array().and_then(|line| line.last()).map(|point| &point["remaining"]),
            Some(&Value::from(-1.0))
        );
        // Two hours earlier nothing had arrived: no data, never a full budget.
        let before = app.slo("checkout-availability", at - Duration::hours(2)).await;
        assert_eq!(before["status"], "no_data");
        assert_eq!(before["sli"]["ratio"], Value::Null);
        assert_eq!(before["error_budget"]["remaining"], Value::Null);
        assert_eq!(before["burn_down"], serde_json::json!([]));

        let no_data = app.slo("checkout-latency", at).await;
        assert_eq!((no_data["status"].as_str(), no_data["data_until"].as_str()), (Some("no_data"), None));
        let stale = app.slo("checkout-errors", at).await;
        assert_eq!(stale["status"], "stale");
        assert_eq!(stale["stale_since"], rfc3339(at - Duration::minutes(10)));
        assert_eq!(stale["stale_reason"], "the push job <ci> stopped reporting");
        assert_eq!(stale["error_budget"]["remaining"], 1.0, "its numbers are still given");
        let ghost = app.slo("ghost-availability", at).await;
        assert_eq!(ghost["problems"][0]["severity"], "warning");
        assert!(ghost["problems"][0]["message"].as_str().is_some_and(|m| m.contains("not a Component")), "{ghost}");

        // Without `at`, now.
        let (status, now) = app.json("/api/v1/slos/default/checkout-availability").await;
        assert_eq!(status, 200);
        assert!(now["at"].as_str().is_some_and(|now| now >= rfc3339(at).as_str()), "{}", now["at"]);

        let (status, error) = app.json("/api/v1/slos/default/nope").await;
        assert_eq!(status, 404, "{error}");
        assert_eq!(error["error"]["code"], "not_found");
        assert!(error["error"]["message"].as_str().is_some_and(|m| m.contains("default/nope")));
        for bad in ["yesterday", "2026-13-01T00:00:00Z", "2026-03-01", ""] {
            let (status, error) = app.json(&format!("/api/v1/slos/default/checkout-availability?at={bad}")).await;
            assert_eq!(status, 400, "at={bad}: {error}");
            assert_eq!(error["error"]["code"], "bad_request");
            assert_eq!(error["error"]["details"]["field"], "at");
            assert!(error["error"]["message"].as_str().is_some_and(|m| m.starts_with("at: ")), "{error}");
        }
    }
}

#[actix_web::test]
async fn the_service_overview_lists_its_slos() {
    for db in TestDb::all() {
        let app = SloApp::spawn(db).await;
        let at = rfc3339(app.at);
        let (status, body) = app.json(&format!("/api/v1/services/default/checkout?at={at}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["ref"], "component:default/checkout");
        assert_eq!(body["owner"]["ref"], "group:default/payments");
        assert_eq!(body["template"], Value::Null, "not from a golden-path template");
        let slos = body["slos"].as_array().expect("slos");
        let names: Vec<&str> = slos.iter().filter_map(|slo| slo["name"].as_str()).collect();
        assert_eq!(names, ["checkout-availability", "checkout-errors", "checkout-latency"]);
        // The same views as the SLO endpoint.
        assert_eq!(slos[0], app.slo("checkout-availability", app.at).await);
        let statuses: Vec<&str> = slos.iter().filter_map(|slo| slo["status"].as_str()).collect();
        assert_eq!(statuses, ["exhausted", "stale", "no_data"]);

        let (status, ledger) = app.json("/api/v1/services/default/ledger").await;
        assert_eq!((status, &ledger["slos"]), (200, &serde_json::json!([])));
        let (status, error) = app.json("/api/v1/services/default/payments").await;
        assert_eq!(status, 404, "a Group is not a service: {error}");
        assert_eq!(error["error"]["code"], "not_found");
        let (status, error) = app.json("/api/v1/services/default/checkout?at=soon").await;
        assert_eq!((status, &error["error"]["details"]["field"]), (400, &Value::from("at")));
    }
}

#[actix_web::test]
async fn the_service_page_shows_budgets_burn_down_and_data_state() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let app = SloApp::spawn(db).await;
        let doc = app.html("/catalog/default/component/checkout").await;

        let summaries: Vec<String> = select(&doc, ".slo-card .slo-summary").iter().map(text).collect();
        assert_eq!(summaries.len(), 3, "{backend}: {summaries:?}");
        assert!(summaries[0].contains("checkout-availability <shown escaped>"), "{summaries:?}");
        assert!(summaries[0].contains("Budget exhausted") && summaries[0].contains("75 % over a rolling 1d"));
        assert!(summaries[0].contains("SLI 75 %") && summaries[0].contains("2 alerts firing"), "{summaries:?}");
        assert!(summaries[1].contains("Stale"), "{summaries:?}");
        assert!(summaries[2].contains("No data") && summaries[2].contains("SLI no data"), "{summaries:?}");

        let budgets: Vec<String> = select(&doc, ".budget-card .budget").iter().map(text).collect();
        assert!(budgets[0].contains("0.0 % left"), "{budgets:?}");
        assert!(budgets[0].contains("Release freeze"), "the freeze is shown: {budgets:?}");
        assert!(budgets[1].contains("100.0 % left"), "{budgets:?}");
        assert!(budgets[2].contains("No data") && !budgets[2].contains('%'), "never a full budget: {budgets:?}");
        let bar = select(&doc, ".budget-card .budget.overspent svg.budget-bar rect.fill");
        assert_eq!(bar.first().and_then(|fill| fill.value().attr("width")), Some("0.0"), "an empty bar");
        assert_eq!(
            select(&doc, ".budget-card svg.budget-bar").first().and_then(|svg| svg.value().attr("aria-label")),
            Some("0.0 % of the error budget left")
        );

        let details = select(&doc, "section.slos article.slo");
        assert_eq!(details.len(), 3);
        assert_eq!(details[0].value().attr("id"), Some("slo-checkout-availability"));
        let json_links: Vec<&str> =
            select(&doc, "article.slo a.json-link").iter().filter_map(|a| a.value().attr("href")).collect();
        assert_eq!(json_links[0], "/api/v1/slos/default/checkout-availability");
        let burn_rates: Vec<String> =
            select(&doc, "#slo-checkout-availability table.burn-rates th").iter().map(text).collect();
        assert_eq!(burn_rates, ["Window", "5m", "30m", "1h", "2h", "6h", "1d", "3d", "Burn"]);
        let cells = scraper::Selector::parse("td").expect("selector");
        let firing: Vec<Vec<String>> = select(&doc, "#slo-checkout-availability table.alerts tr.firing")
            .iter()
            .map(|row| row.select(&cells).map(|cell| text(&cell)).collect())
            .collect();
        assert_eq!(
            firing,
            [
                ["ticket", "1d and 2h", "0.1", "1.00 / 1.00", "firing"],
                ["ticket", "3d and 6h", "0.03", "1.00 / 1.00", "firing"]
            ]
        );

        // Charts for the SLOs with data, each with a title, a description, axis labels and the 0 % line.
        let charts = select(&doc, "figure.burn-down svg");
        assert_eq!(charts.len(), 2, "{backend}");
        let chart = &charts[0];
        let within = |css: &str| {
            let selector = scraper::Selector::parse(css).expect("selector");
            chart.select(&selector).map(|el| text(&el)).collect::<Vec<_>>()
        };
        assert_eq!(
            within("title").first().map(String::as_str),
            Some("Error budget burn-down of checkout-availability")
        );
        assert!(within("desc").first().is_some_and(|desc| desc.contains("0.0 % is left")), "{:?}", within("desc"));
        assert_eq!(within("text.axis-label"), ["Budget left", "Time (UTC)"]);
        assert_eq!(within("line.zero").len(), 1);
        assert!(within("text.tick").contains(&"100 %".to_owned()) && within("text.tick").contains(&"0 %".to_owned()));
        let points = chart
            .select(&scraper::Selector::parse("polyline.remaining").expect("selector"))
            .next()
            .and_then(|line| line.value().attr("points"))
            .expect("the burn-down line");
        assert!(points.split(' ').count() >= 48, "{points}");

        let stale: Vec<String> = select(&doc, "#slo-checkout-errors .stale-note").iter().map(text).collect();
        assert_eq!(stale.len(), 1);
        assert!(stale[0].starts_with("Stale since "), "{stale:?}");
        assert!(stale[0].contains("the push job <ci> stopped reporting"), "escaped and shown: {stale:?}");
        assert!(stale[0].contains("The newest data runs up to"), "{stale:?}");
        let no_data: Vec<String> = select(&doc, "#slo-checkout-latency .no-data-note").iter().map(text).collect();
        assert!(no_data.first().is_some_and(|note| note.starts_with("No data in the last 1d")), "{no_data:?}");
        assert!(select(&doc, "#slo-checkout-latency figure.burn-down").is_empty());
        assert!(select(&doc, "#slo-checkout-latency .chart-empty").len() == 1);

        // A Component without SLOs says how to add one.
        let ledger = app.html("/catalog/default/component/ledger").await;
        let card = select(&ledger, ".slo-card").iter().map(text).collect::<String>();
        assert!(card.contains("No SLOs defined") && card.contains("OpenSLO") && card.contains("catalog-info.yaml"));
        assert!(select(&ledger, "section.slos").is_empty());

        // A broken SLO file keeps the last good definition, and the page says so on the SLO.
        write(app.dir.path(), "slos.yaml", &slos_file("1.5"));
        ingest_and_reconcile(&app.db, app.dir.path());
        let doc = app.html("/catalog/default/component/checkout").await;
        let problems: Vec<String> =
            select(&doc, "#slo-checkout-availability .slo-problems li").iter().map(text).collect();
        assert!(problems.iter().any(|p| p.contains("last good definition")), "{backend}: {problems:?}");
    }
}
