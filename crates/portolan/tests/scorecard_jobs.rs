//! The scorecard jobs: the demo's two scorecards with services at every level, its eight weeks of history, the
//! evaluation after a refresh, the daily snapshot, and a snapshot on demand.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::Utc;
use portolan::demo::{self, scorecard_history};
use portolan::jobs::Worker;
use portolan::maturity_jobs;
use scorecard::maturity::jobs;
use store::maturity::{self, NO_LEVEL};
use store::test_support::TestDb;
use support::{TestApp, ingest_folder};

const SCORECARDS: [&str; 2] = ["production-readiness", "slo"];

/// The levels reached, by scorecard, with the services at each.
fn levels(db: &TestDb) -> BTreeMap<&'static str, BTreeMap<i32, BTreeSet<String>>> {
    let mut conn = db.store.conn().expect("conn");
    SCORECARDS
        .into_iter()
        .map(|card| {
            let mut by_level: BTreeMap<i32, BTreeSet<String>> = BTreeMap::new();
            for row in maturity::results_of(&mut conn, card).expect("results") {
                let name = row.entity_ref.trim_start_matches("component:default/").to_owned();
                by_level.entry(row.level).or_default().insert(name);
            }
            (card, by_level)
        })
        .collect()
}

#[actix_web::test]
async fn the_demo_has_services_at_every_level_and_eight_weeks_of_history() {
    for db in TestDb::all() {
        let name = db.backend_name();
        let files = tempfile::tempdir().expect("tmp");
        let root = demo::extract_to(files.path()).expect("demo files");
        let report = ingest_folder(&db, &root).await;
        assert_eq!(report.error_count(), 0, "{name}: {:?}", report.problems);
        let (store, folder, data) = (db.store.clone(), files.path().to_path_buf(), files.path().join("data"));
        let now = Utc::now();
        let (history, again) = tokio::task::spawn_blocking(move || {
            // What `serve --demo` writes on first load: template versions, SLI history, then scorecard history.
            demo::record_golden_path_history(&store, &data).expect("golden-path history");
            demo::write_history_if_new(&store, &folder, now).expect("SLI history").expect("written");
            let history = demo::write_scorecard_history_if_new(&store, &folder, now).expect("scorecard history");
            let again = demo::write_scorecard_history_if_new(&store, &folder, now).expect("scorecard history");
            (history, again)
        })
        .await
        .expect("join");
        let history = history.expect("written the first time");
        assert_eq!((history.scorecards, history.days), (2, 56), "{name}");
        assert!(again.is_none(), "{name}: written once");

        // Every level of both scorecards has services, and the history ends at today's levels.
        let by_level = levels(&db);
        for card in SCORECARDS {
            let found: Vec<i32> = by_level[card].keys().copied().collect();
            assert_eq!(found, [NO_LEVEL, 0, 1, 2], "{name}: {card}: {:?}", by_level[card]);
        }
        let readiness = &by_level["production-readiness"];
        assert!(readiness[&NO_LEVEL].contains("deep-link-service"), "{name}: no description");
        assert!(readiness[&2].contains("identity-service") && readiness[&2].contains("audit-log-service"));
        assert!(readiness[&1].contains("payments-service"), "{name}: two template versions behind");
        let slo = &by_level["slo"];
        assert!(slo[&NO_LEVEL].contains("image-resizer"), "{name}: no SLO");
        assert!(slo[&0].contains("payments-service"), "{name}: a page alert fires");
        assert!(slo[&0].contains("carrier-gateway"), "{name}: its budget is spent");
        assert!(slo[&0].contains("push-notification-service"), "{name}: no data is not a pass");
        assert!(slo[&1].contains("search-service"), "{name}: under a quarter of the budget left");
        assert!(slo[&2].contains("checkout-service"), "{name}");

        let store = db.store.clone();
        let (report, snapshot, due_again) = tokio::task::spawn_blocking(move || {
            let worker = Worker::new(Duration::from_secs(60));
            let report = maturity_jobs::evaluate_once(&store, &worker, now, true).expect("evaluated");
            let snapshot = maturity_jobs::snapshot_if_due(&store, 0, &worker, now).expect("snapshot");
            let due_again = maturity_jobs::snapshot_if_due(&store, 0, &worker, now).expect("snapshot");
            (report, snapshot, due_again)
        })
        .await
        .expect("join");
        let report = report.expect("the job was free");
        assert_eq!((report.scorecards, report.entities), (2, 96), "{name}: {report}");
        assert_eq!(report.level_changes, 0, "{name}: the history ended at today's levels");
        assert!(report.slo_error.is_none() && report.problems.is_empty(), "{name}: {report:?}");
        assert_eq!(snapshot.map(|s| (s.scorecards, s.day.date())), Some((2, now.date_naive())), "{name}");
        assert!(due_again.is_none(), "{name}: one snapshot a day");

        let mut conn = db.store.conn().expect("conn");
        let first_day = jobs::start_of_day(now.naive_utc()) - chrono::Duration::days(scorecard_history::DAYS);
        for card in SCORECARDS {
            let rows = maturity::snapshots_since(&mut conn, card, first_day).expect("snapshots");
            let days: BTreeSet<_> = rows.iter().map(|r| r.taken_on).collect();
            assert_eq!(days.len(), 57, "{name}: {card}: 56 days of history and today");
            // Levels summed per team, eight weeks ago, a week ago and today.
            let score = |owner: &str, day: chrono::NaiveDateTime| -> i32 {
                rows.iter()
                    .filter(|r| r.owner_ref == owner && r.taken_on == day)
                    .map(|r| (r.level + 1) * r.entities)
                    .sum()
            };
            let today = jobs::start_of_day(now.naive_utc());
            let (start, week_ago) = (first_day, today - chrono::Duration::days(7));
            let improved = ["platform", "data", "mobile", "checkout-team", "catalog-team"]
                .iter()
                .filter(|team| {
                    let owner = format!("group:default/{team}");
                    score(&owner, start) < score(&owner, today)
                })
                .count();
            assert!(improved >= 3, "{name}: {card}: most teams improved ({improved})");
            let commerce = scorecard_history::REGRESSING_OWNER;
            assert!(score(commerce, start) >= score(commerce, week_ago), "{name}: {card}");
            assert!(score(commerce, week_ago) >= score(commerce, today), "{name}: {card}: commerce regressed");
            assert!(score(commerce, start) > score(commerce, today), "{name}: {card}: commerce regressed");
        }
        let changes = maturity::level_changes_of_entity(&mut conn, "component:default/identity-service", 50)
            .expect("level changes");
        assert!(changes.iter().all(|c| c.at < now.naive_utc()), "{name}");
        assert!(changes.iter().any(|c| c.from_level.is_none()), "{name}: first seen eight weeks ago");
    }
}

const SCORECARD: &str = "\
apiVersion: portolan.dev/v1
kind: Scorecard
metadata: {name: described}
spec:
  appliesTo: {kind: Component}
  levels: [Described]
  rules:
    - {id: description, level: Described, check: hasDescription}
";

#[actix_web::test]
async fn a_refresh_evaluates_and_a_snapshot_is_taken_on_demand() {
    for db in TestDb::all() {
        let app = TestApp::spawn(db).await;
        let name = app.db.backend_name();
        // A new scorecard file, reached by the demo's Location: the refresh that reads it evaluates.
        let folder = app.demo_root.parent().expect("demo folder").join("scorecards");
        std::fs::write(folder.join("described.yaml"), SCORECARD).expect("write");
        let response = app.client.post(format!("{}/api/v1/refresh", app.base)).send().await.expect("post");
        assert_eq!(response.status(), 202);
        let mut evaluated = Vec::new();
        for _ in 0..150 {
            evaluated = maturity::results_of(&mut app.db.store.conn().expect("conn"), "described").expect("results");
            if !evaluated.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(evaluated.len(), 40, "{name}: every Component is evaluated after the refresh");
        assert_eq!(evaluated.iter().filter(|r| r.level == NO_LEVEL).count(), 1, "{name}: deep-link-service");

        // The refresh took the day's snapshot (it was due); clear it, so that only the one asked for brings it back.
        let today = jobs::start_of_day(Utc::now().naive_utc());
        {
            // The job writes the results, then the snapshot: wait for the snapshot too.
            for card in SCORECARDS.into_iter().chain(["described"]) {
                let mut taken = None;
                for _ in 0..150 {
                    let mut conn = app.db.store.conn().expect("conn");
                    taken = maturity::snapshot_day_at_or_before(&mut conn, card, today).expect("query");
                    if taken.is_some() {
                        break;
                    }
                    drop(conn);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                assert_eq!(taken, Some(today), "{name}: {card}: taken after the refresh");
                let mut conn = app.db.store.conn().expect("conn");
                maturity::replace_snapshot(&mut conn, card, today, &[]).expect("cleared");
            }
        }
        let response = app.client.post(format!("{}/api/v1/scorecards/snapshot", app.base)).send().await.expect("post");
        assert_eq!(response.status(), 202);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["status"], "scheduled");
        let mut taken = Vec::new();
        for _ in 0..150 {
            let mut conn = app.db.store.conn().expect("conn");
            taken = SCORECARDS
                .into_iter()
                .chain(["described"])
                .filter(|card| {
                    maturity::snapshot_day_at_or_before(&mut conn, card, today).ok().flatten() == Some(today)
                })
                .collect();
            if taken.len() == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(taken, ["production-readiness", "slo", "described"], "{name}: today's snapshot of each");
        let mut conn = app.db.store.conn().expect("conn");
        let rows = maturity::snapshots_since(&mut conn, "described", today).expect("rows");
        assert_eq!(rows.iter().map(|r| r.entities).sum::<i32>(), 40, "{name}");
    }
}

#[test]
fn validate_reports_scorecard_mistakes_with_their_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = "apiVersion: portolan.dev/v1\nkind: Scorecard\nmetadata:\n  name: readiness\nspec:\n  appliesTo:\n    \
                kind: [Component]\n  levels: [Bronze, Silver]\n  rules:\n    - id: described\n      level: Bronze\n      \
                check: hasDescription\n";
    std::fs::write(dir.path().join("good.yaml"), good).expect("write");
    let bad = good.replace("name: readiness", "name: other").replace("check: hasDescription", "check: hasUnicorns");
    std::fs::write(dir.path().join("bad.yaml"), bad).expect("write");
    let report =
        catalog::ingest::validate(&[dir.path().to_owned()], &portolan::settings::Settings::default().ingest_options())
            .expect("validate");
    let shown: Vec<String> = report.problems.iter().filter(|p| p.problem.is_error()).map(ToString::to_string).collect();
    assert!(shown.iter().all(|p| p.contains("bad.yaml:12:14:")), "only the bad file, at its line: {shown:#?}");
    assert!(shown.iter().any(|p| p.contains("hasUnicorns")), "the unknown check is named: {shown:#?}");
    assert_eq!(report.error_count(), 1, "{shown:#?}");
}
