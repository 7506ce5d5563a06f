//! Fresh databases for tests: a SQLite file in a temporary folder, and a PostgreSQL database of its own created on
//! the server named by `PORTOLAN_TEST_PG_URL` and dropped afterwards. In CI (`CI=true`) that variable is required.

use diesel::Connection;
use diesel::connection::SimpleConnection;
use rand::Rng;

use crate::{PoolOptions, Store};

pub const PG_URL_VAR: &str = "PORTOLAN_TEST_PG_URL";

/// A store that lives as long as this value.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, database: String },
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}", dir.path().join("portolan.db").display());
        let store = Store::open(&url, &PoolOptions::default()).expect("a SQLite store");
        TestDb { store, url, cleanup: Cleanup::Sqlite(dir) }
    }

    /// A new PostgreSQL database, or `None` outside CI when no server is configured.
    pub fn postgres() -> Option<TestDb> {
        let admin_url = match std::env::var(PG_URL_VAR) {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("{PG_URL_VAR} must be set in CI: the PostgreSQL tests may not be skipped there")
            }
            _ => return None,
        };
        let database = format!("portolan_test_{:016x}", rand::rng().random::<u64>());
        let mut admin = diesel::PgConnection::establish(&admin_url).expect("PostgreSQL at PORTOLAN_TEST_PG_URL");
        admin.batch_execute(&format!("CREATE DATABASE {database}")).expect("create a test database");
        let url = with_database(&admin_url, &database);
        let store = Store::open(&url, &PoolOptions::default()).expect("a PostgreSQL store");
        Some(TestDb { store, url, cleanup: Cleanup::Postgres { admin_url, database } })
    }

    /// SQLite always, PostgreSQL when configured.
    pub fn all() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite()];
        dbs.extend(TestDb::postgres());
        dbs
    }

    pub fn backend_name(&self) -> &'static str {
        self.store.backend().name()
    }
}

/// The same server URL pointing at another database.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, database } = &self.cleanup
            && let Ok(mut admin) = diesel::PgConnection::establish(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
        }
    }
}
