//! The SLI store on both databases: samples replace, rollups stand in for dropped minutes, and SLOs follow their
//! files through ingestion.

use std::path::Path;
use std::sync::Arc;

use catalog::ingest::{Formats, IngestOptions, NoProgress, ingest};
use chrono::{DateTime, Duration, Utc};
use store::test_support::TestDb;

use super::*;
use crate::slo::{SloFormat, Status, evaluate};

fn t(text: &str) -> DateTime<Utc> {
    text.parse().expect("RFC 3339 instant")
}

fn options() -> IngestOptions {
    IngestOptions { formats: Formats(vec![Arc::new(SloFormat)]), ..IngestOptions::default() }
}

const COMPONENT: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
spec:
  type: service
  lifecycle: production
  owner: payments
";

fn slo_file(name: &str, service: &str, target: &str, method: &str) -> String {
    format!(
        "apiVersion: openslo/v1
kind: SLO
metadata:
  name: {name}
spec:
  service: {service}
  indicator:
    metadata:
      name: {name}-requests
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
    - duration: 7d
      isRolling: true
  budgetingMethod: {method}
  objectives:
    - target: {target}
"
    )
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).expect("write file");
}

fn ingest_dir(db: &TestDb, dir: &Path) -> Reconciled {
    ingest(&db.store, &[dir.to_path_buf()], &options(), &NoProgress).expect("ingest");
    let mut conn = db.store.conn().expect("connection");
    reconcile(&mut conn).expect("reconcile")
}

fn stored(db: &TestDb, name: &str) -> StoredSlo {
    let mut conn = db.store.conn().expect("connection");
    let row = slos::by_name(&mut conn, reconcile::NAMESPACE, name).expect("query").expect("SLO stored");
    StoredSlo::from_row(row).expect("definition reads back")
}

#[test]
fn slos_follow_their_files_and_keep_their_last_good_definition() {
    for db in TestDb::all() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), "component.yaml", COMPONENT);
        write(dir.path(), "slo.yaml", &slo_file("checkout-availability", "checkout", "0.99", "Occurrences"));
        write(dir.path(), "other.yaml", &slo_file("search-availability", "search", "0.9", "Occurrences"));
        let first = ingest_dir(&db, dir.path());
        assert_eq!((first.slos, first.added, first.updated, first.removed), (2, 2, 0, 0), "{first:?}");
        let slo = stored(&db, "checkout-availability");
        assert_eq!((slo.row.service.as_str(), slo.row.source_kind.as_str(), slo.row.line), ("checkout", "push", 4));
        assert_eq!(slo.row.problems, "[]");
        assert!((slo.definition.spec.objective.target() - 0.99).abs() < 1e-12);
        // A service the catalog does not know is a warning on the SLO, which is kept.
        let orphan = stored(&db, "search-availability");
        assert!(
            orphan.row.problems.contains("service `search` is not a Component in the catalog"),
            "{}",
            orphan.row.problems
        );

        // Data written before an edit survives it.
        let mut conn = db.store.conn().expect("connection");
        let at = t("2026-03-01T10:05:00Z");
        record(&mut conn, &slo, &[Sample { minute: at, good: 9, total: 10 }]).expect("recorded");
        drop(conn);
        write(dir.path(), "slo.yaml", &slo_file("checkout-availability", "checkout", "0.995", "Occurrences"));
        let edited = ingest_dir(&db, dir.path());
        assert_eq!((edited.added, edited.updated, edited.removed), (0, 1, 0), "{edited:?}");
        let slo = stored(&db, "checkout-availability");
        assert!((slo.definition.spec.objective.target() - 0.995).abs() < 1e-12);
        let mut conn = db.store.conn().expect("connection");
        let buckets = load_buckets(&mut conn, &[slo.row.id], at, at + Duration::hours(1)).expect("loads");
        assert_eq!(buckets[&slo.row.id], vec![Bucket::minute(at, 9, 10)]);
        drop(conn);

        // A target of 150 % is refused where it is written; the last good definition stays and says why.
        write(dir.path(), "slo.yaml", &slo_file("checkout-availability", "checkout", "1.5", "Occurrences"));
        let broken = ingest_dir(&db, dir.path());
        assert_eq!((broken.kept, broken.removed), (1, 0), "{broken:?}");
        assert!(
            broken.problems.iter().any(|p| p.path.ends_with("slo.yaml") && p.problem.line == 24),
            "{:?}",
            broken.problems
        );
        let kept = stored(&db, "checkout-availability");
        assert!((kept.definition.spec.objective.target() - 0.995).abs() < 1e-12);
        assert!(kept.row.problems.contains("has errors; this is the last good definition"), "{}", kept.row.problems);

        // A file that is gone takes its SLOs and their data with it.
        std::fs::remove_file(dir.path().join("slo.yaml")).expect("remove");
        let removed = ingest_dir(&db, dir.path());
        assert_eq!((removed.slos, removed.removed), (1, 1), "{removed:?}");
        let mut conn = db.store.conn().expect("connection");
        assert!(slos::by_name(&mut conn, reconcile::NAMESPACE, "checkout-availability").expect("query").is_none());
        let blocks =
            store::sli::blocks(&mut conn, &[slo.row.id], naive(at - Duration::days(1)), naive(at + Duration::days(1)));
        assert!(blocks.expect("query").is_empty());
    }
}

#[test]
fn samples_replace_and_rollups_stand_in_for_dropped_minutes() {
    for db in TestDb::all() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), "component.yaml", COMPONENT);
        write(dir.path(), "slo.yaml", &slo_file("checkout-availability", "checkout", "0.99", "Occurrences"));
        ingest_dir(&db, dir.path());
        let slo = stored(&db, "checkout-availability");
        let mut conn = db.store.conn().expect("connection");

        // Two days of minutes, 1 % errors, with an outage hour of 50 % errors.
        let start = t("2026-03-01T00:00:00Z");
        let outage = t("2026-03-01T13:00:00Z");
        let samples: Vec<Sample> = (0..2 * 24 * 60)
            .map(|m| {
                let minute = start + Duration::minutes(m);
                let good = if hour_of(minute) == outage { 50 } else { 99 };
                Sample { minute, good, total: 100 }
            })
            .collect();
        let written = record(&mut conn, &slo, &samples).expect("recorded");
        assert_eq!(written, Recorded { minutes: 2880, blocks: 48 + 2 });

        // The same minute again replaces it, never adds (seconds are truncated).
        let again = record(&mut conn, &slo, &[Sample { minute: outage + Duration::seconds(30), good: 0, total: 100 }]);
        assert_eq!(again.expect("recorded").minutes, 1);
        let at = start + Duration::days(2);
        let buckets = load_buckets(&mut conn, &[slo.row.id], start, at).expect("loads").remove(&slo.row.id);
        let buckets = buckets.expect("data");
        assert_eq!(buckets.len(), 2880);
        assert_eq!(buckets.iter().map(|b| b.total).sum::<u64>(), 288_000);
        let expected_good: u64 = 99 * (2880 - 60) + 50 * 59;
        assert_eq!(buckets.iter().map(|b| b.good).sum::<u64>(), expected_good);

        let slo = stored(&db, "checkout-availability");
        assert_eq!(slo.row.data_until.map(|d| d.and_utc()), Some(at));
        let before = evaluate_stored(&mut conn, slo.clone(), at).expect("evaluates").evaluation;

        // Compaction drops minute blocks older than a day; the hourly rollups give the same window's numbers.
        let dropped = compact(&mut conn, at).expect("compacts");
        assert_eq!(dropped, 24);
        let after = evaluate_stored(&mut conn, slo.clone(), at).expect("evaluates").evaluation;
        assert_eq!(after.sli, before.sli);
        assert_eq!(after.error_budget, before.error_budget);
        assert_eq!(after.burn_rates["1h"], before.burn_rates["1h"]);
        assert_eq!(before, evaluate(&slo.definition.spec, &buckets, at));
        let reloaded = load_buckets(&mut conn, &[slo.row.id], start, at).expect("loads").remove(&slo.row.id);
        let reloaded = reloaded.expect("data");
        assert_eq!(reloaded.len(), 24 + 1440, "a day of hours, then a day of minutes");
        assert_eq!(reloaded.iter().filter(|b| b.minutes == 60).map(|b| b.total).sum::<u64>(), 144_000);

        // A minute of a rolled-up hour cannot be replaced exactly: refused with its index, nothing written.
        let late = [Sample { minute: at, good: 1, total: 1 }, Sample { minute: outage, good: 100, total: 100 }];
        match record(&mut conn, &slo, &late) {
            Err(SliError::Refused(errors)) => {
                assert_eq!(errors.len(), 1);
                assert_eq!(errors[0].index, 1);
                assert!(errors[0].message.contains("already rolled up"), "{}", errors[0].message);
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let unchanged = evaluate_stored(&mut conn, slo, at + Duration::minutes(1)).expect("evaluates");
        assert_eq!(unchanged.evaluation.sli.total, before.sli.total, "nothing of the refused call was written");
    }
}

#[test]
fn statuses_are_stored_for_the_catalog() {
    for db in TestDb::all() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), "component.yaml", COMPONENT);
        write(dir.path(), "slo.yaml", &slo_file("checkout-availability", "checkout", "0.99", "Occurrences"));
        write(dir.path(), "idle.yaml", &slo_file("checkout-idle", "checkout", "0.99", "Occurrences"));
        ingest_dir(&db, dir.path());
        let slo = stored(&db, "checkout-availability");
        let mut conn = db.store.conn().expect("connection");
        let at = t("2026-03-01T12:00:00Z");
        let samples: Vec<Sample> =
            (1..=120).map(|m| Sample { minute: at - Duration::minutes(m), good: 90, total: 100 }).collect();
        record(&mut conn, &slo, &samples).expect("recorded");
        assert_eq!(refresh_statuses(&mut conn, at).expect("evaluated"), 2);
        let mut statuses = slos::statuses(&mut conn).expect("query");
        statuses.sort();
        assert_eq!(
            statuses,
            [
                ("default".to_owned(), "checkout".to_owned(), Some("exhausted".to_owned())),
                ("default".to_owned(), "checkout".to_owned(), Some("no_data".to_owned())),
            ]
        );
        // A failing source makes the SLO stale, whatever its numbers.
        slos::mark_stale(&mut conn, slo.row.id, Some((at.naive_utc(), "connection refused"))).expect("marked");
        let slo = stored(&db, "checkout-availability");
        let state = evaluate_stored(&mut conn, slo, at).expect("evaluates");
        assert_eq!(state.evaluation.status, Status::Stale);
        assert!(state.evaluation.error_budget.remaining.is_some_and(|r| r < 0.0));
    }
}
