//! `portolan slo import` (backfill SLI history from files) and `portolan slo evaluate` (evaluate every SLO now, as
//! the minute job does, and say how long it took).

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use chrono::Utc;
use scorecard::sli::{self, SliError, StoredSlo, history};
use store::Store;

use crate::settings::Settings;

/// One checked line: the SLO, its hourly rollups and its minutes.
type Entry = (StoredSlo, Vec<scorecard::slo::Bucket>, Vec<sli::Sample>);

/// Lines imported per transaction.
const IMPORT_BATCH: usize = 250;

/// `portolan slo import FILE...`: every line of every file (see [`scorecard::sli::history`]) replaces the blocks
/// it covers of the SLO it names; then every SLO's status is refreshed. Bad lines are reported as `path:line:
/// message` and skipped; the exit status is 1 if there was any.
pub fn import(settings: &Settings, files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let store = Store::open(&settings.database_url, &settings.pool_options())?;
    let now = Utc::now();
    let slos: HashMap<(String, String), StoredSlo> = store::slos::all(&mut *store.conn()?)?
        .into_iter()
        .map(|row| StoredSlo::from_row(row).map(|slo| ((slo.row.namespace.clone(), slo.row.name.clone()), slo)))
        .collect::<Result<_, _>>()?;
    let (mut imported, mut hour_blocks, mut minute_blocks, mut errors) = (0usize, 0usize, 0usize, 0usize);
    for path in files {
        let file = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let mut batch: Vec<Entry> = Vec::new();
        let mut flush = |batch: &mut Vec<Entry>| -> anyhow::Result<()> {
            let written = store.transaction::<_, SliError>(|conn| {
                let mut written = sli::import::Imported::default();
                for (slo, hours, minutes) in batch.iter() {
                    let one = sli::import::import(conn, slo, hours, minutes)?;
                    written.hour_blocks += one.hour_blocks;
                    written.minute_blocks += one.minute_blocks;
                }
                Ok(written)
            })?;
            imported += batch.len();
            hour_blocks += written.hour_blocks;
            minute_blocks += written.minute_blocks;
            batch.clear();
            Ok(())
        };
        for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), index + 1))?;
            if line.trim().is_empty() {
                continue;
            }
            let checked = history::parse_line(&line, now).and_then(|h| {
                let slo = slos
                    .get(&(h.namespace.clone(), h.name.clone()))
                    .ok_or_else(|| format!("no SLO {}/{} in the catalog", h.namespace, h.name))?;
                Ok((slo.clone(), h.hour_buckets(&slo.definition.spec)?, h.minutes))
            });
            match checked {
                Ok(entry) => batch.push(entry),
                Err(message) => {
                    errors += 1;
                    println!("{}:{}: {message}", path.display(), index + 1);
                }
            }
            if batch.len() >= IMPORT_BATCH {
                flush(&mut batch)?;
            }
        }
        flush(&mut batch)?;
    }
    let imported_in = started.elapsed();
    let evaluated = sli::refresh_statuses(&mut *store.conn()?, Utc::now())?;
    println!(
        "imported {imported} SLOs ({hour_blocks} hour blocks, {minute_blocks} minute blocks) from {} files, {errors} \
         errors, in {:.2}s; {evaluated} SLO statuses refreshed in {:.2}s",
        files.len(),
        imported_in.as_secs_f64(),
        (started.elapsed() - imported_in).as_secs_f64()
    );
    Ok(if errors > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// `portolan slo evaluate`: evaluates every SLO now and stores their statuses, as the SLO job does every minute,
/// and prints how many are in each status and how long it took.
pub fn evaluate(settings: &Settings) -> anyhow::Result<ExitCode> {
    let store = Store::open(&settings.database_url, &settings.pool_options())?;
    let mut conn = store.conn()?;
    let started = Instant::now();
    let evaluated = sli::refresh_statuses(&mut conn, Utc::now())?;
    let elapsed = started.elapsed();
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for (_, _, status) in store::slos::statuses(&mut conn)? {
        *by_status.entry(status.unwrap_or_else(|| "not evaluated".to_owned())).or_default() += 1;
    }
    let summary: Vec<String> = by_status.iter().map(|(status, n)| format!("{n} {status}")).collect();
    println!("evaluated {evaluated} SLOs in {:.3}s: {}", elapsed.as_secs_f64(), summary.join(", "));
    Ok(ExitCode::SUCCESS)
}
