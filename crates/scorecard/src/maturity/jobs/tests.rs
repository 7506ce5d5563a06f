use std::path::Path;
use std::sync::Arc;

use catalog::ingest::{Formats, IngestOptions, NoProgress, Report as IngestReport, ingest};
use chrono::Duration;
use store::maturity::{level_changes_of_entity, results_of, snapshots_since};
use store::slos;
use store::test_support::TestDb;

use super::*;
use crate::maturity::definition::ScorecardFormat;
use crate::maturity::model::{RuleResult, Selector};
use crate::sli::{Sample, StoredSlo, reconcile, record};
use crate::slo::SloFormat;

const ORG: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: payments}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: ann}
spec: {memberOf: [payments]}
";

const COMPONENTS: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
  description: Takes the money.
  annotations: {backstage.io/techdocs-ref: 'dir:.'}
  links:
    - {url: 'https://runbooks.example/checkout', type: runbook}
spec: {type: service, lifecycle: production, owner: payments, dependsOn: [component:ledger]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: ledger, description: Keeps the books.}
spec: {type: service, lifecycle: deprecated, owner: payments}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: search}
spec: {type: service, lifecycle: production, owner: user:ann}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: client-lib, description: A library.}
spec: {type: library, lifecycle: production, owner: payments}
";

const SLOS: &str = "\
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-availability}
spec:
  service: checkout
  indicator:
    metadata: {name: requests}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Push}}
        total: {metricSource: {type: Push}}
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.99
";

const READINESS: &str = "\
apiVersion: portolan.dev/v1
kind: Scorecard
metadata: {name: readiness, title: Production readiness}
spec:
  appliesTo: {kind: Component, type: service}
  levels: [Bronze, Silver, Gold]
  rules:
    - {id: owner, level: Bronze, check: ownerIsGroup}
    - {id: description, level: Bronze, check: hasDescription}
    - {id: runbook, level: Silver, check: hasLink, type: runbook}
    - {id: dependencies, level: Gold, check: dependenciesNotDeprecated}
";

const SLO_CARD: &str = "\
apiVersion: portolan.dev/v1
kind: Scorecard
metadata: {name: slos}
spec:
  appliesTo: {kind: Component, type: service}
  levels: [Bronze, Silver, Gold]
  rules:
    - {id: has-slo, level: Bronze, check: hasSlo}
    - {id: meets-target, level: Silver, check: slosMeetTarget}
    - {id: budget, level: Gold, check: budgetAbove, fraction: 0.25}
";

fn options() -> IngestOptions {
    IngestOptions { formats: Formats(vec![Arc::new(SloFormat), Arc::new(ScorecardFormat)]), ..IngestOptions::default() }
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (file, text) in files {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("folder");
        }
        std::fs::write(path, text).expect("write");
    }
}

fn ingest_dir(db: &TestDb, dir: &Path) -> IngestReport {
    let report = ingest(&db.store, &[dir.to_path_buf()], &options(), &NoProgress).expect("ingest");
    db.store.transaction::<_, crate::sli::SliError>(reconcile).expect("SLOs reconciled");
    report
}

fn levels(db: &TestDb, scorecard: &str) -> Vec<(String, i32)> {
    let mut conn = db.store.conn().expect("conn");
    results_of(&mut conn, scorecard).expect("results").into_iter().map(|r| (r.entity_ref, r.level)).collect()
}

fn at() -> DateTime<Utc> {
    "2026-11-20T12:00:00Z".parse().expect("instant")
}

#[test]
fn evaluates_stores_snapshots_and_keeps_broken_definitions() {
    for db in TestDb::all() {
        let name = db.backend_name();
        let dir = tempfile::tempdir().expect("tmp");
        write(
            dir.path(),
            &[
                ("org.yaml", ORG),
                ("components.yaml", COMPONENTS),
                ("slos.yaml", SLOS),
                ("scorecards/readiness.yaml", READINESS),
                ("scorecards/slos.yaml", SLO_CARD),
            ],
        );
        let report = ingest_dir(&db, dir.path());
        assert_eq!(report.error_count(), 0, "{name}: {:?}", report.problems);
        {
            let mut conn = db.store.conn().expect("conn");
            let row = slos::by_name(&mut conn, "default", "checkout-availability").expect("query").expect("stored");
            let slo = StoredSlo::from_row(row).expect("definition");
            // 0.2 % errors against a 1 % budget: a fifth of the budget spent.
            let samples: Vec<Sample> =
                (1..=60).map(|m| Sample { minute: at() - Duration::minutes(m), good: 998, total: 1000 }).collect();
            record(&mut conn, &slo, &samples).expect("record");
        }

        let report = evaluate_and_store(&db.store, at()).expect("evaluated");
        assert_eq!((report.scorecards, report.kept, report.entities), (2, 0, 6), "{name}: {report}");
        assert_eq!((report.slos, report.results, report.level_changes), (1, 6, 6), "{name}: {report}");
        assert!(report.slo_error.is_none() && report.problems.is_empty(), "{name}: {report:?}");
        assert!(report.to_string().starts_with("Scorecards: 2 evaluated over 6 entities"), "{report}");
        // The library is not a service; the dependency of checkout is deprecated; search's owner is a User.
        let readiness = [
            ("component:default/checkout".to_owned(), 1),
            ("component:default/ledger".to_owned(), 0),
            ("component:default/search".to_owned(), NO_LEVEL),
        ];
        assert_eq!(levels(&db, "readiness"), readiness, "{name}");
        let slo_levels = [
            ("component:default/checkout".to_owned(), 2),
            ("component:default/ledger".to_owned(), NO_LEVEL),
            ("component:default/search".to_owned(), NO_LEVEL),
        ];
        assert_eq!(levels(&db, "slos"), slo_levels, "{name}");

        let mut conn = db.store.conn().expect("conn");
        let stored = maturity::scorecard(&mut conn, "readiness").expect("query").expect("stored");
        assert_eq!(stored.title, "Production readiness");
        assert!(stored.path.ends_with("readiness.yaml"), "{}", stored.path);
        let card: Scorecard = serde_json::from_str(&stored.definition).expect("the definition reads back");
        assert_eq!(card.rules.len(), 4);
        let checkout = results_of(&mut conn, "slos").expect("results").remove(0);
        assert_eq!((checkout.failing, checkout.owner_ref.as_deref()), (0, Some("group:default/payments")));
        assert!(checkout.budget_remaining.is_some_and(|b| (b - 0.8).abs() < 0.01), "{:?}", checkout.budget_remaining);
        let search = results_of(&mut conn, "readiness").expect("results").remove(2);
        let rules: Vec<RuleResult> = serde_json::from_str(&search.rules).expect("rules JSON");
        assert_eq!(
            rules.iter().map(|r| r.outcome).collect::<Vec<_>>(),
            [Outcome::Fail, Outcome::Fail, Outcome::Fail, Outcome::Pass]
        );
        assert_eq!(search.failing, 3);
        drop(conn);

        // Nothing moved: no level changes; the definitions keep their time.
        let later = at() + Duration::minutes(5);
        let again = evaluate_and_store(&db.store, later).expect("evaluated again");
        assert_eq!(again.level_changes, 0, "{name}");
        let mut conn = db.store.conn().expect("conn");
        let same = maturity::scorecard(&mut conn, "readiness").expect("query").expect("stored");
        assert_eq!(same.updated_at, stored.updated_at, "{name}: an unchanged definition keeps its time");

        // A day's snapshot.
        let day = start_of_day(at().naive_utc());
        assert_eq!(snapshots_missing(&mut conn, at().naive_utc()).expect("missing"), ["readiness", "slos"]);
        drop(conn);
        let taken = snapshot(&db.store, at().naive_utc(), None).expect("snapshot");
        assert_eq!((taken.day, taken.scorecards, taken.rows), (day, 2, 6), "{name}");
        let mut conn = db.store.conn().expect("conn");
        assert!(snapshots_missing(&mut conn, later.naive_utc()).expect("missing").is_empty());
        let rows = snapshots_since(&mut conn, "readiness", day).expect("rows");
        let shown: Vec<(&str, i32, i32)> = rows.iter().map(|r| (r.owner_ref.as_str(), r.level, r.entities)).collect();
        assert_eq!(
            shown,
            [("group:default/payments", 0, 1), ("group:default/payments", 1, 1), ("user:default/ann", -1, 1)]
        );
        let slo_rows = snapshots_since(&mut conn, "slos", day).expect("rows");
        let checkout_row = slo_rows.iter().find(|r| r.level == 2).expect("Gold row");
        assert_eq!((checkout_row.budget_count, checkout_row.entities), (1, 1));
        assert_eq!(checkout_row.budget_min, Some(checkout_row.budget_sum));
        drop(conn);

        // The dependency leaves deprecation: checkout climbs to Gold, and the change is recorded.
        std::fs::write(
            dir.path().join("components.yaml"),
            COMPONENTS.replace("lifecycle: deprecated", "lifecycle: production"),
        )
        .expect("write");
        ingest_dir(&db, dir.path());
        let moved = evaluate_and_store(&db.store, later + Duration::minutes(5)).expect("evaluated");
        assert_eq!(moved.level_changes, 1, "{name}");
        let mut conn = db.store.conn().expect("conn");
        let changes = level_changes_of_entity(&mut conn, "component:default/checkout", 10).expect("changes");
        let readiness_steps: Vec<(Option<i32>, i32)> =
            changes.iter().filter(|c| c.scorecard == "readiness").map(|c| (c.from_level, c.to_level)).collect();
        assert_eq!(readiness_steps, [(Some(1), 2), (None, 1)], "{name}");
        drop(conn);

        // A broken edit keeps the last good definition; a file removed takes its scorecard and results with it.
        std::fs::write(
            dir.path().join("scorecards/readiness.yaml"),
            READINESS.replace("check: hasLink", "check: hasLinq"),
        )
        .expect("write");
        std::fs::remove_file(dir.path().join("scorecards/slos.yaml")).expect("remove");
        let broken = ingest_dir(&db, dir.path());
        assert!(broken.error_count() > 0, "{name}: the typo is an error");
        let kept = evaluate_and_store(&db.store, later + Duration::minutes(10)).expect("evaluated");
        assert_eq!((kept.scorecards, kept.kept, kept.results), (1, 1, 3), "{name}: {kept}");
        assert!(kept.to_string().starts_with("Scorecards: 1 evaluated over 6 entities (1 kept from before"), "{kept}");
        assert!(kept.problems.iter().any(|p| p.problem.is_error()), "{name}: {:?}", kept.problems);
        assert!(levels(&db, "slos").is_empty(), "{name}: the removed scorecard's results are gone");
        assert_eq!(levels(&db, "readiness").len(), 3);

        // No scorecard at all: nothing is read, and the summary says so.
        std::fs::remove_dir_all(dir.path().join("scorecards")).expect("remove");
        ingest_dir(&db, dir.path());
        let none = evaluate_and_store(&db.store, later + Duration::minutes(15)).expect("evaluated");
        assert_eq!((none.scorecards, none.entities, none.results), (0, 0, 0), "{name}");
        assert_eq!(none.to_string(), "Scorecards: none defined");
        assert!(levels(&db, "readiness").is_empty(), "{name}");
    }
}

#[test]
fn snapshot_rows_roll_up_per_owner_and_level() {
    let day = start_of_day(at().naive_utc());
    let a = Some("group:default/a");
    let rows = snapshot_rows(
        "readiness",
        day,
        [(a, 1, Some(0.5)), (a, 1, Some(0.25)), (a, 1, None), (None, NO_LEVEL, Some(f64::NAN)), (a, 0, None)],
    );
    let shown: Vec<(&str, i32, i32)> = rows.iter().map(|r| (r.owner_ref.as_str(), r.level, r.entities)).collect();
    assert_eq!(shown, [(UNOWNED, NO_LEVEL, 1), ("group:default/a", 0, 1), ("group:default/a", 1, 3)]);
    let budgets: Vec<(f64, i32, Option<f64>)> =
        rows.iter().map(|r| (r.budget_sum, r.budget_count, r.budget_min)).collect();
    assert_eq!(budgets, [(0.0, 0, None), (0.0, 0, None), (0.75, 2, Some(0.25))]);
    assert!(rows.iter().all(|r| r.taken_on == day && r.scorecard == "readiness"));
}

#[test]
fn result_rows_count_failures_and_the_lowest_budget() {
    use crate::maturity::model::SloFacts;
    let slo = |budget: Option<f64>| SloFacts {
        name: "s".to_owned(),
        meets_target: budget.map(|b| b > 0.0),
        budget_remaining: budget,
        page_alert_firing: false,
    };
    let facts = EntityFacts {
        entity_ref: "component:default/a".to_owned(),
        owner_ref: Some("group:default/t".to_owned()),
        slos: Some(vec![slo(Some(0.4)), slo(None), slo(Some(-0.2))]),
        ..EntityFacts::default()
    };
    assert_eq!(lowest_budget(&facts), Some(-0.2));
    assert_eq!(lowest_budget(&EntityFacts { slos: Some(vec![slo(None)]), ..EntityFacts::default() }), None);
    assert_eq!(lowest_budget(&EntityFacts::default()), None);
    let rule = |outcome| RuleResult { rule: "r".to_owned(), level: 0, outcome, reason: String::new() };
    let card: Scorecard = serde_json::from_value(serde_json::json!({
        "name": "c", "title": null, "description": null, "applies_to": Selector::default(),
        "levels": ["Bronze"], "rules": []
    }))
    .expect("a scorecard");
    let result =
        EntityResult { level: None, rules: vec![rule(Outcome::Pass), rule(Outcome::Unknown), rule(Outcome::Fail)] };
    let row = result_row(&card, &facts, &result, at().naive_utc());
    assert_eq!((row.level, row.failing, row.budget_remaining), (NO_LEVEL, 2, Some(-0.2)));
    assert_eq!(row.owner_ref.as_deref(), Some("group:default/t"));
    let reached = EntityResult { level: Some(2), rules: vec![] };
    assert_eq!(result_row(&card, &facts, &reached, at().naive_utc()).level, 2);
}
