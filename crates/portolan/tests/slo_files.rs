//! OpenSLO and Sloth files in catalog locations are checked by ingestion, with file:line:col problems, instead of
//! being refused as unknown apiVersions.

use std::path::{Path, PathBuf};

use catalog::ingest::{IngestOptions, NoProgress, ingest, validate};
use portolan::settings::Settings;
use store::test_support::TestDb;

const COMPONENT: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: checkout}\n\
                         spec: {type: service, lifecycle: production, owner: payments}\n";

fn slo(target: &str) -> String {
    format!(
        "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: checkout-availability\nspec:\n  service: checkout\n  \
         indicator:\n    metadata:\n      name: checkout-requests\n    spec:\n      ratioMetric:\n        counter: true\n        \
         good:\n          metricSource:\n            type: Push\n        total:\n          metricSource:\n            \
         type: Push\n  timeWindow:\n    - duration: 28d\n      isRolling: true\n  budgetingMethod: Occurrences\n  \
         objectives:\n    - displayName: Availability\n      target: {target}\n"
    )
}

fn folder(slo_text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("catalog-info.yaml"), COMPONENT).expect("write");
    std::fs::write(dir.path().join("slo.yaml"), slo_text).expect("write");
    dir
}

fn messages(report: &catalog::ingest::Report) -> Vec<String> {
    report.problems.iter().map(ToString::to_string).collect()
}

#[test]
fn valid_slo_files_ingest_beside_descriptors() {
    let options = Settings::default().ingest_options();
    let dir = folder(&slo("0.999"));
    let report = validate(&[dir.path().to_path_buf()], &options).expect("validate");
    assert!(report.problems.is_empty(), "{:?}", messages(&report));
    for db in TestDb::all() {
        let report = ingest(&db.store, &[dir.path().to_path_buf()], &options, &NoProgress).expect("ingest");
        assert_eq!((report.added, report.error_count()), (1, 0), "{}: {:?}", db.backend_name(), messages(&report));
    }
}

#[test]
fn an_invalid_target_is_an_error_with_its_position() {
    let dir = folder(&slo("1.5"));
    let report = validate(&[dir.path().to_path_buf()], &Settings::default().ingest_options()).expect("validate");
    let msgs = messages(&report);
    assert_eq!(report.error_count(), 1, "{msgs:?}");
    assert!(msgs[0].contains("slo.yaml:25:15:") && msgs[0].contains("1.5"), "{msgs:?}");
}

#[test]
fn without_the_format_the_catalog_refuses_the_file() {
    let dir = folder(&slo("0.999"));
    let report = validate(&[dir.path().to_path_buf()], &IngestOptions::default()).expect("validate");
    assert!(
        messages(&report).iter().any(|m| m.contains("unsupported apiVersion `openslo/v1`")),
        "{:?}",
        messages(&report)
    );
}

#[test]
fn the_sloth_examples_are_checked_cleanly() {
    let sloth = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/openslo/sloth/examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&sloth)
        .expect("fixtures")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| !n.to_string_lossy().starts_with("openslo")))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "{files:?}");
    // Each example stands alone: getting-started.yml and multifile.yml both define myservice's
    // requests-availability, which read together is an SLO defined twice.
    for file in &files {
        let report = validate(std::slice::from_ref(file), &Settings::default().ingest_options()).expect("validate");
        assert_eq!(report.error_count(), 0, "{:?}", messages(&report));
        // Their services are not in a catalog: a warning per SLO, never an error.
        assert!(messages(&report).iter().all(|m| m.contains("is not a Component in the catalog")));
    }
    let together = validate(&files, &Settings::default().ingest_options()).expect("validate");
    assert_eq!(
        together.problems.iter().filter(|p| p.problem.is_error()).map(ToString::to_string).collect::<Vec<_>>(),
        [format!(
            "{}/multifile.yml:10:11: SLO `myservice-requests-availability` is defined twice; the first \
             definition is at {}/getting-started.yml:9:11",
            display(&sloth),
            display(&sloth)
        )]
    );
}

fn display(path: &Path) -> String {
    catalog::ingest::display(&path.canonicalize().expect("fixtures exist"))
}

#[test]
fn validate_checks_slo_files_together() {
    let dir = folder(&slo("0.999"));
    // The same SLO name in a second file, and an SLO of a service the catalog does not have.
    std::fs::write(dir.path().join("again.yaml"), slo("0.99")).expect("write");
    let orphan = slo("0.99").replace("name: checkout-availability", "name: search-availability");
    std::fs::write(dir.path().join("search.yaml"), orphan.replace("service: checkout", "service: search"))
        .expect("write");
    // A reference to an SLI that no file defines.
    let dangling = slo("0.99").replace("name: checkout-availability", "name: checkout-latency");
    let dangling = dangling.replace(
        &dangling[dangling.find("  indicator:").expect("indicator")..dangling.find("  timeWindow:").expect("window")],
        "  indicatorRef: checkout-durations\n",
    );
    std::fs::write(dir.path().join("latency.yaml"), dangling).expect("write");

    let report = validate(&[dir.path().to_path_buf()], &Settings::default().ingest_options()).expect("validate");
    let msgs = messages(&report);
    assert_eq!(report.error_count(), 2, "{msgs:?}");
    let shown = |file: &str, text: &str| msgs.iter().any(|m| m.contains(file) && m.contains(text));
    assert!(shown("slo.yaml:4:9", "SLO `checkout-availability` is defined twice"), "{msgs:?}");
    assert!(shown("latency.yaml:7:17", "no SLI named `checkout-durations`"), "{msgs:?}");
    assert!(shown("search.yaml:4:9", "warning: service `search` is not a Component in the catalog"), "{msgs:?}");
}
