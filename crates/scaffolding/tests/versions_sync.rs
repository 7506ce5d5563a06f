//! `versions::sync` keeps the versions of the catalog's templates and moves the catalog generation when it kept
//! something, so that the catalog index counts the services' drift against it; on SQLite and on PostgreSQL (when
//! PORTOLAN_TEST_PG_URL is set).

use std::fs;
use std::path::Path;
use std::sync::Arc;

use catalog::golden_path::{DriftStatus, GoldenPath};
use catalog::index::SharedIndex;
use catalog::ingest::{Formats, IngestOptions, NoProgress, ingest};
use scaffolding::TemplateFormat;
use scaffolding::versions;
use store::stats;
use store::test_support::TestDb;

/// The demo's static-site template (1.2.0), copied so that its files can change.
fn copy_template(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../portolan/demo/catalog/golden-paths/static-site");
    for entry in walkdir::WalkDir::new(&from).into_iter().map(|e| e.expect("walk")) {
        let target = to.join(entry.path().strip_prefix(&from).expect("inside"));
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).expect("mkdir");
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

const SITE: &str = "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: handbook\n  \
                    annotations:\n    backstage.io/source-template: template:default/static-site\n    \
                    portolan.dev/template-version: \"1.1.0\"\nspec:\n  type: website\n  lifecycle: production\n  \
                    owner: platform\n";

#[test]
fn sync_moves_the_generation_when_it_keeps_a_version() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let root = tempfile::tempdir().expect("tmp");
        copy_template(&root.path().join("static-site"));
        fs::write(root.path().join("catalog-info.yaml"), SITE).expect("write");
        let options = IngestOptions { formats: Formats(vec![Arc::new(TemplateFormat)]), ..IngestOptions::default() };
        let report = ingest(&db.store, &[root.path().to_path_buf()], &options, &NoProgress).expect("ingest");
        assert_eq!(report.error_count(), 0, "{backend}: {:?}", report.problems);

        let mut conn = db.store.conn().expect("connection");
        let shared = SharedIndex::default();
        let handbook = |shared: &SharedIndex, conn: &mut store::DbConnection| {
            shared.get(conn).expect("index").golden_path("component:default/handbook")
        };
        let unknown = Some(GoldenPath { status: DriftStatus::Unknown, behind: 0 });
        assert_eq!(handbook(&shared, &mut conn), unknown, "{backend}: no version kept yet");
        let generation = || stats::get(&mut db.store.conn().expect("connection"), stats::GENERATION).expect("stat");
        let before = generation();

        let report = versions::sync(&mut conn, store::now()).expect("sync");
        assert_eq!(report.new, [("template:default/static-site".to_owned(), "1.2.0".to_owned())], "{backend}");
        let kept = generation();
        assert!(kept > before, "{backend}: {kept:?} after {before:?}");
        let behind = Some(GoldenPath { status: DriftStatus::Behind, behind: 1 });
        assert_eq!(handbook(&shared, &mut conn), behind, "{backend}: the index followed");

        // Nothing new: the generation stays.
        let report = versions::sync(&mut conn, store::now()).expect("sync");
        assert!(report.new.is_empty() && report.changed.is_empty(), "{backend}: {report:?}");
        assert_eq!(generation(), kept, "{backend}");

        // The same version with other files: kept, and the generation moves again.
        let readme = root.path().join("static-site/skeleton/README.md");
        let text = fs::read_to_string(&readme).expect("readme");
        fs::write(&readme, format!("{text}\nOne more line.\n")).expect("write");
        let report = versions::sync(&mut conn, store::now()).expect("sync");
        assert_eq!(report.changed, [("template:default/static-site".to_owned(), "1.2.0".to_owned())], "{backend}");
        assert!(generation() > kept, "{backend}");
        assert_eq!(handbook(&shared, &mut conn), behind, "{backend}");
    }
}
