//! What the portal's benches share: a scratch database per run, percentiles, and how they read the machine.

#![allow(dead_code)]

use std::time::Duration;

use diesel::Connection;
use diesel::connection::SimpleConnection;

/// A database of its own for one run, dropped afterwards.
pub struct BenchDb {
    pub url: String,
    pub name: &'static str,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl BenchDb {
    pub fn sqlite() -> anyhow::Result<BenchDb> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("portolan.db").display());
        Ok(BenchDb { url, name: "SQLite", postgres: None, _dir: Some(dir) })
    }

    /// A database `<prefix>_<pid>` on the server at `admin_url`.
    pub fn postgres(admin_url: &str, prefix: &str) -> anyhow::Result<BenchDb> {
        let database = format!("{prefix}_{}", std::process::id());
        let mut admin = diesel::PgConnection::establish(admin_url)?;
        // One statement per call: neither may run inside the transaction a multi-statement string makes.
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database}"))?;
        admin.batch_execute(&format!("CREATE DATABASE {database}"))?;
        let url = store::test_support::with_database(admin_url, &database);
        Ok(BenchDb { url, name: "PostgreSQL", postgres: Some((admin_url.to_owned(), database)), _dir: None })
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let Some((admin_url, database)) = &self.postgres
            && let Ok(mut admin) = diesel::PgConnection::establish(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
        }
    }
}

/// The PostgreSQL server to bench on: `PORTOLAN_BENCH_PG_URL`, else `PORTOLAN_TEST_PG_URL`.
pub fn pg_url() -> Option<String> {
    ["PORTOLAN_BENCH_PG_URL", "PORTOLAN_TEST_PG_URL"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|url| !url.is_empty()))
}

/// Runs `run` on a fresh database of each kind named in the environment variable `var` (`sqlite postgres` by
/// default), in that order; PostgreSQL is skipped, saying so, without a server to bench on. An unknown name or a
/// failed run is printed and ends the bench with a failure.
pub fn each_database<F>(
    var: &str,
    pg_prefix: &str,
    label: &str,
    mut run: impl FnMut(BenchDb) -> anyhow::Result<F>,
) -> Result<Vec<F>, std::process::ExitCode> {
    let databases = std::env::var(var).unwrap_or_else(|_| "sqlite postgres".to_owned());
    let mut figures = Vec::new();
    for database in databases.split_whitespace() {
        let db = match database {
            "sqlite" => BenchDb::sqlite(),
            "postgres" => match pg_url() {
                Some(url) => BenchDb::postgres(&url, pg_prefix),
                None => {
                    eprintln!(
                        "[{label} bench] PostgreSQL skipped: neither PORTOLAN_BENCH_PG_URL nor PORTOLAN_TEST_PG_URL is set"
                    );
                    continue;
                }
            },
            other => {
                eprintln!("error: unknown database `{other}` in {var} (sqlite or postgres)");
                return Err(std::process::ExitCode::FAILURE);
            }
        };
        match db.and_then(&mut run) {
            Ok(f) => figures.push(f),
            Err(e) => {
                eprintln!("error: {database}: {e:#}");
                return Err(std::process::ExitCode::FAILURE);
            }
        }
    }
    Ok(figures)
}

/// The value at fraction `p` of sorted times (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1);
    sorted.get(index.min(sorted.len().saturating_sub(1))).copied().unwrap_or_default()
}

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The load averages over 1, 5 and 15 minutes.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}
