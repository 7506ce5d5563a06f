//! Portolan's database: one schema on SQLite (the embedded default) and PostgreSQL (production), chosen by the URL.
//!
//! Row and form structs live beside the queries that use them; queries are functions over a [`DbConnection`] so that
//! the domain crates can run several of them in one transaction. This crate knows no HTTP and no YAML.

pub mod audit;
pub mod entities;
pub mod fault;
pub mod jobs;
pub mod maturity;
pub mod registrations;
pub mod schema;
pub mod sessions;
pub mod sli;
pub mod slos;
pub mod sources;
pub mod stats;
pub mod tasks;
pub mod templates;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
pub mod tokens;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use diesel::result::{Error as QueryError, QueryResult};
pub use fault::Fault;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// One connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(diesel::SqliteConnection),
    Postgresql(diesel::PgConnection),
}

/// Runs the same diesel code against whichever backend the connection is: the body is compiled once per backend,
/// so backend-specific features (upserts, `RETURNING`) are available inside it.
#[macro_export]
macro_rules! with_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::DbConnection::Sqlite($c) => $body,
            $crate::DbConnection::Postgresql($c) => $body,
        }
    };
}

/// Inserts every row of `$rows` into `$table`: by COPY on PostgreSQL, which parses and plans no statement per few
/// hundred rows (at 50,000 services: files written in 21 s instead of 24, scorecard results stored in 2.0 s instead of
/// 4.1), and by multi-row INSERTs of `$chunk` rows on SQLite.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr, $chunk:expr) => {
        match $conn {
            $crate::DbConnection::Postgresql(c) => {
                diesel::copy_from($table).from_insertable($rows).execute(c).map(|_| ())
            }
            $crate::DbConnection::Sqlite(c) => $rows
                .chunks($chunk)
                .try_for_each(|chunk| diesel::insert_into($table).values(chunk).execute(c).map(|_| ())),
        }
    };
}
pub(crate) use insert_all;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot open the database: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How the pool behaves; every field is configuration.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_connections: u32,
    /// How long opening one PostgreSQL connection may take (libpq's `connect_timeout`, unless the URL sets it).
    pub connect_timeout: Duration,
    /// How long a caller waits for a pooled connection before it is told the database is unavailable. While the
    /// database is down, every request that needs it fails after this long, so it stays short.
    pub checkout_timeout: Duration,
    /// PostgreSQL `statement_timeout`; SQLite's busy timeout takes the same value.
    pub statement_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 8,
            connect_timeout: Duration::from_secs(3),
            checkout_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

/// The page cache of each SQLite connection, in KiB. Every pooled connection keeps its own (eight by default) and
/// the operating system caches the file for all of them, so it is small: at 64 MiB each, a portal serving 50,000
/// services grew to 689 MiB, most of it copies of the same pages; at 8 MiB, 295 MiB, with the same page speed and
/// the same full ingest time (docs/benchmarks.md).
pub const SQLITE_CACHE_KIB: i64 = 8 * 1024;

#[derive(Debug)]
struct SessionSettings {
    statement_timeout_ms: u128,
}

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        let sql = match conn {
            DbConnection::Sqlite(_) => format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                 PRAGMA cache_size = -{SQLITE_CACHE_KIB}; PRAGMA temp_store = MEMORY; \
                 PRAGMA busy_timeout = {};",
                self.statement_timeout_ms
            ),
            DbConnection::Postgresql(_) => {
                format!("SET statement_timeout = {};", self.statement_timeout_ms)
            }
        };
        conn.batch_execute(&sql).map_err(diesel::r2d2::Error::QueryError)
    }
}

pub type PooledConn = PooledConnection<ConnectionManager<DbConnection>>;

/// The handle every other crate holds: a pool over one database.
#[derive(Clone)]
pub struct Store {
    pool: Pool<ConnectionManager<DbConnection>>,
    backend: Backend,
    /// What messages call the database: the SQLite file's absolute path, or the PostgreSQL server and database.
    location: String,
}

impl Store {
    /// Opens a pool for `sqlite://PATH` or `postgres://…` and applies pending migrations.
    pub fn open(url: &str, options: &PoolOptions) -> StoreResult<Store> {
        let store = Store::connect(url, options)?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens a pool without migrating.
    pub fn connect(url: &str, options: &PoolOptions) -> StoreResult<Store> {
        let location = location_of(url);
        let (backend, target) = if let Some(path) = url.strip_prefix("sqlite://") {
            (Backend::Sqlite, path.to_owned())
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, with_connect_timeout(url, options.connect_timeout))
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        // SQLite allows one writer at a time; more connections only help readers.
        let max = match backend {
            Backend::Sqlite => options.max_connections.max(2),
            Backend::Postgres => options.max_connections.max(1),
        };
        let pool = Pool::builder()
            .max_size(max)
            .min_idle(Some(1))
            .connection_timeout(options.checkout_timeout)
            .connection_customizer(Box::new(SessionSettings {
                statement_timeout_ms: options.statement_timeout.as_millis(),
            }))
            .build(ConnectionManager::<DbConnection>::new(target))?;
        Ok(Store { pool, backend, location })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database as messages name it: `the SQLite database /srv/portolan.db`, `the PostgreSQL database portolan
    /// on db.example.com:5432`.
    pub fn location(&self) -> &str {
        &self.location
    }

    pub fn conn(&self) -> StoreResult<PooledConn> {
        Ok(self.pool.get()?)
    }

    /// Applies pending migrations and returns their names.
    pub fn migrate(&self) -> StoreResult<Vec<String>> {
        let mut conn = self.conn()?;
        let applied = match &mut *conn {
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
            DbConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        }
        .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    }

    /// Answers when the database answers a trivial query.
    pub fn ping(&self) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.batch_execute("SELECT 1")?;
        Ok(())
    }

    /// Runs `work` in one transaction on a pooled connection.
    ///
    /// On SQLite the transaction takes the write lock as it begins (`BEGIN IMMEDIATE`): a deferred transaction that
    /// reads, then writes after another connection has written, fails at once with "database is locked" instead of
    /// waiting its turn.
    pub fn transaction<T, E>(&self, work: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError> + From<diesel::result::Error>,
    {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        type Sqlite = diesel::SqliteConnection;
        let mut pooled = self.conn()?;
        let conn: &mut DbConnection = &mut pooled;
        if !matches!(conn, DbConnection::Sqlite(_)) {
            return conn.transaction(work);
        }
        match conn {
            DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
            DbConnection::Postgresql(_) => return Err(diesel::result::Error::BrokenTransactionManager.into()),
        }
        let result = work(conn);
        let DbConnection::Sqlite(c) = conn else {
            return Err(diesel::result::Error::BrokenTransactionManager.into());
        };
        match result {
            Ok(value) => match <AnsiTransactionManager as TransactionManager<Sqlite>>::commit_transaction(c) {
                Ok(()) => Ok(value),
                Err(e) => {
                    let _ = <AnsiTransactionManager as TransactionManager<Sqlite>>::rollback_transaction(c);
                    Err(e.into())
                }
            },
            Err(e) => {
                <AnsiTransactionManager as TransactionManager<Sqlite>>::rollback_transaction(c)?;
                Err(e)
            }
        }
    }
}

/// A PostgreSQL URL with libpq's `connect_timeout` (whole seconds, at least 2 as libpq wants) unless it sets one.
fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connect_timeout={}", timeout.as_secs().max(2))
}

/// The database of a URL as messages name it: `the SQLite database /srv/portolan.db` (absolute), `the PostgreSQL
/// database NAME on HOST:PORT` (without user or password).
pub fn location_of(url: &str) -> String {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let shown = std::path::absolute(path).map_or_else(|_| path.to_owned(), |p| p.display().to_string());
        return format!("the SQLite database {shown}");
    }
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split_once('?').map_or(rest, |(before, _)| before);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, after)| after);
    match rest.split_once('/') {
        Some((host, database)) if !database.is_empty() => format!("the PostgreSQL database {database} on {host}"),
        _ => format!("the PostgreSQL database on {rest}"),
    }
}

/// Refreshes the query planner's statistics after bulk writes. PostgreSQL plans lookups on a table that grew from empty
/// as scans until it is analysed, which makes a first ingest quadratic; SQLite plans by its indexes and needs nothing.
pub fn analyze(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Postgresql(c) => c.batch_execute("ANALYZE sources, entities, entity_tags, relations"),
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// The current time as stored: UTC, naive, millisecond precision on both backends.
pub fn now() -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    now.with_nanosecond_floor()
}

trait MillisecondFloor {
    fn with_nanosecond_floor(self) -> Self;
}

impl MillisecondFloor for chrono::NaiveDateTime {
    fn with_nanosecond_floor(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(self.nanosecond() / 1_000_000 * 1_000_000).unwrap_or(self)
    }
}
