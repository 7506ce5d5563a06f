//! The demo organisation, shipped inside the binary and unpacked into the data folder, and the SLI history its
//! SLOs get when it is first loaded ([`history`]).

pub mod history;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use include_dir::{Dir, include_dir};
use scorecard::sli::StoredSlo;
use store::{Store, entities, slos, sources};

use crate::settings::Settings;

static DEMO_CATALOG: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/demo/catalog");

/// The folder the demo catalog is unpacked into.
pub fn folder(data_dir: &Path) -> PathBuf {
    data_dir.join("demo-catalog")
}

/// Unpacks the demo catalog and returns its root Location, when the database is empty or already holds the demo.
pub fn prepare(store: &Store, data_dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    let dir = folder(data_dir);
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

/// Run after every ingest that changed something (and after its SLOs were reconciled): with `--demo`, the first
/// time the demo's SLOs are in the database, gives them their generated history. A failure is logged, not
/// returned: the catalog refresh went well, and the demo then only lacks its history (the next ingest retries).
pub fn after_ingest(settings: &Settings, store: &Store, now: DateTime<Utc>) {
    if !settings.demo {
        return;
    }
    let started = std::time::Instant::now();
    match write_history_if_new(store, &folder(&settings.data_dir), now) {
        Ok(Some(written)) => tracing::info!(
            slos = written.slos,
            samples = written.samples,
            ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "demo SLI history written"
        ),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "the demo SLI history could not be written"),
    }
}

/// Writes the generated history of the SLOs defined in files under `folder` (the unpacked demo), ending at `now`,
/// when there are such SLOs and none of them has any data yet; `None` when there was nothing to do. One
/// transaction: the demo gets all of its history or none.
pub fn write_history_if_new(
    store: &Store,
    folder: &Path,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<history::Written>> {
    let Ok(folder) = folder.canonicalize() else {
        return Ok(None);
    };
    store.transaction(|conn| -> anyhow::Result<_> {
        let demo: Vec<StoredSlo> = slos::all(conn)?
            .into_iter()
            .filter(|row| Path::new(&row.path).starts_with(&folder))
            .map(StoredSlo::from_row)
            .collect::<Result<_, _>>()?;
        if demo.is_empty() || demo.iter().any(|slo| slo.row.data_until.is_some()) {
            return Ok(None);
        }
        Ok(Some(history::write(conn, &demo, now)?))
    })
}
