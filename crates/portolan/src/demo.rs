//! The demo organisation, shipped inside the binary and unpacked into the data folder.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use store::{Store, entities, sources};

static DEMO_CATALOG: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/demo/catalog");

/// Unpacks the demo catalog and returns its root Location, when the database is empty or already holds the demo.
pub fn prepare(store: &Store, data_dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    let dir = data_dir.join("demo-catalog");
    std::fs::create_dir_all(&dir)?;
    DEMO_CATALOG.extract(&dir)?;
    let root = dir.join("all.yaml");
    let keys = catalog::ingest::root_keys(std::slice::from_ref(&root))?;
    let mut conn = store.conn()?;
    let demo_loaded = !sources::under_roots(&mut conn, &keys)?.is_empty();
    let empty = entities::count_by_kind(&mut conn)?.is_empty();
    if demo_loaded || empty {
        Ok(Some(root))
    } else {
        tracing::warn!("--demo: the database already holds a catalog, so the demo organisation is not loaded");
        Ok(None)
    }
}

/// The demo catalog unpacked into `dir` (for tests and benchmarks that want the files).
pub fn extract_to(dir: &Path) -> std::io::Result<PathBuf> {
    DEMO_CATALOG.extract(dir)?;
    Ok(dir.join("all.yaml"))
}
