//! The demo organisation, shipped inside the binary and unpacked into the data folder, and the SLI history its
//! SLOs get when it is first loaded ([`history`]), with eight weeks of scorecard history ([`scorecard_history`]).

pub mod history;
pub mod scorecard_history;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use include_dir::{Dir, include_dir};
use scorecard::sli::StoredSlo;
use store::{Store, entities, slos, sources};

use crate::settings::Settings;

static DEMO_CATALOG: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/demo/catalog");
/// The older versions of the demo's golden paths (the latest are in the catalog), and what the demo services were
/// made with.
static DEMO_GOLDEN_PATH_HISTORY: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/demo/golden-path-history");

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
    match record_golden_path_history(store, &settings.data_dir) {
        Ok(recorded) if recorded > 0 => tracing::info!(versions = recorded, "demo golden-path history recorded"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "the demo golden-path history could not be recorded"),
    }
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
    // After the SLI history: today's SLO levels, where the scorecard history ends, read it.
    match write_scorecard_history_if_new(store, &folder(&settings.data_dir), now) {
        Ok(Some(written)) => tracing::info!(
            scorecards = written.scorecards,
            days = written.days,
            level_changes = written.level_changes,
            "demo scorecard history written"
        ),
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "the demo scorecard history could not be written"),
    }
}

/// What [`write_scorecard_history_if_new`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScorecardHistory {
    pub scorecards: usize,
    /// Days snapshotted before today, per scorecard.
    pub days: usize,
    /// Level changes recorded, first results included.
    pub level_changes: usize,
}

/// Writes [`scorecard_history::DAYS`] days of history of the scorecards defined in files under `folder` (the
/// unpacked demo), ending with today's results at `now`: a snapshot per day, and each day's results stored in turn
/// so that the store records the level changes on the day they happened. Only when none of those scorecards has
/// results or snapshots yet; `None` when there was nothing to do. One transaction.
pub fn write_scorecard_history_if_new(
    store: &Store,
    folder: &Path,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<ScorecardHistory>> {
    use scorecard::maturity::jobs;
    use store::maturity;

    let Ok(folder) = folder.canonicalize() else {
        return Ok(None);
    };
    store.transaction(|conn| -> anyhow::Result<_> {
        let definitions = jobs::read_definitions(conn)?;
        let demo: Vec<&jobs::Definition> =
            definitions.scorecards.iter().filter(|d| Path::new(&d.path).starts_with(&folder)).collect();
        if demo.is_empty() {
            return Ok(None);
        }
        let far = now.naive_utc() + chrono::Duration::days(366);
        for definition in &demo {
            let name = &definition.scorecard.name;
            if !maturity::result_levels(conn, name)?.is_empty()
                || maturity::snapshot_day_at_or_before(conn, name, far)?.is_some()
            {
                return Ok(None);
            }
        }
        let at = jobs::stored_instant(now);
        let rows =
            definitions.scorecards.iter().map(|d| jobs::definition_row(d, None, at)).collect::<Result<Vec<_>, _>>()?;
        maturity::replace_scorecards(conn, &rows)?;
        let facts = scorecard::maturity::facts::gather(conn, now)?;
        let mut written = ScorecardHistory { scorecards: demo.len(), days: 0, ..ScorecardHistory::default() };
        let today = jobs::start_of_day(at);
        for definition in demo {
            let card = &definition.scorecard;
            let results = jobs::evaluate_rows(card, &facts, at);
            let stories: Vec<scorecard_history::Story> = results
                .iter()
                .map(|row| {
                    let today = scorecard_history::Today {
                        entity_ref: &row.entity_ref,
                        owner_ref: row.owner_ref.as_deref(),
                        level: row.level,
                        budget: row.budget_remaining,
                    };
                    scorecard_history::Story::of(&card.name, card.levels.len(), &today)
                })
                .collect();
            for ago in (1..=scorecard_history::DAYS).rev() {
                let day = today - chrono::Duration::days(ago);
                // The evaluation of that morning.
                let evaluated_at = day + chrono::Duration::hours(9);
                let then: Vec<maturity::ResultRow> = results
                    .iter()
                    .zip(&stories)
                    .map(|(row, story)| {
                        let (level, budget_remaining) = story.on(ago);
                        maturity::ResultRow { level, budget_remaining, evaluated_at, ..row.clone() }
                    })
                    .collect();
                written.level_changes += maturity::replace_results(conn, &card.name, &then, evaluated_at)?;
                let levels = then.iter().map(|r| (r.owner_ref.as_deref(), r.level, r.budget_remaining));
                maturity::replace_snapshot(conn, &card.name, day, &jobs::snapshot_rows(&card.name, day, levels))?;
            }
            written.level_changes += maturity::replace_results(conn, &card.name, &results, at)?;
        }
        written.days = usize::try_from(scorecard_history::DAYS).unwrap_or(0);
        Ok(Some(written))
    })
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

/// Keeps the older versions of the demo's golden paths and records what its scaffolded services were made with;
/// returns how many versions were new. Safe to run again.
pub fn record_golden_path_history(store: &Store, data_dir: &Path) -> anyhow::Result<usize> {
    let dir = data_dir.join("demo-golden-path-history");
    std::fs::create_dir_all(&dir)?;
    DEMO_GOLDEN_PATH_HISTORY.extract(&dir)?;
    let limits = scaffolding::skeleton::Limits::default();
    let renderer = scaffolding::render::Renderer::default();
    let mut conn = store.conn()?;
    let mut recorded = 0;
    for template_dir in sorted_folders(&dir)? {
        for version_dir in sorted_folders(&template_dir)? {
            let bundle = scaffolding::Bundle::read(&version_dir, &limits)?;
            let file = version_dir.join(scaffolding::validate::TEMPLATE_FILE);
            let report = scaffolding::validate::validate_bundle(&bundle, &file, &renderer, &limits);
            let shown = report.to_string();
            let template = report.template.ok_or_else(|| anyhow::anyhow!("{}: {shown}", file.display()))?;
            let path = file.to_string_lossy();
            let saved = scaffolding::versions::record(&mut conn, &template, &bundle, &path, store::now())?;
            recorded += usize::from(saved == store::templates::Saved::New);
        }
    }
    let services = std::fs::read_to_string(dir.join("services.yaml"))?;
    let docs = catalog::yaml::parse_documents(&services, catalog::yaml::Limits::default())
        .map_err(|e| anyhow::anyhow!("services.yaml:{}: {}", e.pos, e.message))?;
    for entry in docs.iter().flat_map(|doc| doc.as_seq().unwrap_or_default()) {
        let text = |key: &str| entry.get(key).and_then(|n| n.as_str()).unwrap_or_default().to_owned();
        let parameters = entry.get("parameters").map(catalog::yaml::Node::to_json).unwrap_or_default();
        store::registrations::record_scaffolded(
            &mut conn,
            &store::registrations::ScaffoldedRow {
                entity_ref: format!("component:default/{}", text("service")),
                template_ref: format!("template:default/{}", text("template")),
                template_version: text("version"),
                parameters: parameters.to_string(),
                task_id: None,
                created_at: store::now(),
            },
        )?;
    }
    if recorded > 0 {
        store::stats::increment(&mut conn, store::stats::GENERATION)?;
    }
    Ok(recorded)
}

fn sorted_folders(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut folders: Vec<PathBuf> =
        std::fs::read_dir(dir)?.filter_map(Result::ok).map(|entry| entry.path()).filter(|path| path.is_dir()).collect();
    folders.sort();
    Ok(folders)
}
