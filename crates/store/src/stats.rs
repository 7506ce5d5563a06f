//! Small named numbers about the catalog (last refresh duration, catalog generation, SLO statuses' fingerprint)
//! shared by every process.

use diesel::prelude::*;

use crate::schema::catalog_stats;
use crate::{DbConnection, now, with_backend};

pub const LAST_REFRESH_MS: &str = "last_refresh_ms";
pub const LAST_REFRESH_AT: &str = "last_refresh_at_unix";
/// Bumped by every ingest that changed something; readers use it to know their caches are current.
pub const GENERATION: &str = "generation";
/// A [`fingerprint`] of every SLO's service and status, set each time the statuses are refreshed: it changes when
/// a status changes and when an SLO comes or goes, so the catalog index re-reads SLO statuses (for its SLO-status
/// facet) without waiting for a new catalog generation.
pub const SLO_STATUSES: &str = "slo_statuses";
/// Bumped by every write of scorecard definitions, results or snapshots (`crate::maturity`): the scorecard pages keep
/// their rollups until it moves.
pub const SCORECARDS: &str = "scorecards";
/// Bumped by every write of scorecard results, including an evaluation that changed nothing but their
/// `evaluated_at` (which [`SCORECARDS`] leaves alone so that the rollups are not rebuilt for it): what shows one
/// entity's results follows it.
pub const SCORECARD_RESULTS: &str = "scorecard_results";

/// The stats that caches of stored data are checked against, read together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    /// [`GENERATION`], 0 before the first ingest.
    pub generation: i64,
    pub slo_statuses: Option<i64>,
    pub scorecards: Option<i64>,
    pub scorecard_results: Option<i64>,
}

/// [`Versions`] in one query.
pub fn versions(conn: &mut DbConnection) -> QueryResult<Versions> {
    let found = get_many(conn, &[GENERATION, SLO_STATUSES, SCORECARDS, SCORECARD_RESULTS])?;
    let at = |i: usize| found.get(i).copied().flatten();
    Ok(Versions { generation: at(0).unwrap_or(0), slo_statuses: at(1), scorecards: at(2), scorecard_results: at(3) })
}

pub fn set(conn: &mut DbConnection, name: &str, value: i64) -> QueryResult<()> {
    let at = now();
    with_backend!(conn, |c| diesel::insert_into(catalog_stats::table)
        .values((catalog_stats::name.eq(name), catalog_stats::value.eq(value), catalog_stats::updated_at.eq(at)))
        .on_conflict(catalog_stats::name)
        .do_update()
        .set((catalog_stats::value.eq(value), catalog_stats::updated_at.eq(at)))
        .execute(c))?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, name: &str) -> QueryResult<Option<i64>> {
    catalog_stats::table.filter(catalog_stats::name.eq(name)).select(catalog_stats::value).first(conn).optional()
}

/// Several values in one query, in the order of `names` (`None` for a name never set).
pub fn get_many(conn: &mut DbConnection, names: &[&str]) -> QueryResult<Vec<Option<i64>>> {
    let found: Vec<(String, i64)> = catalog_stats::table
        .filter(catalog_stats::name.eq_any(names))
        .select((catalog_stats::name, catalog_stats::value))
        .load(conn)?;
    Ok(names.iter().map(|name| found.iter().find(|(n, _)| n == name).map(|(_, value)| *value)).collect())
}

/// A number that changes whenever one of `items` does (64-bit FNV-1a over their `Hash` form, in order), to store
/// under a name such as [`SLO_STATUSES`]. Readers only compare stored values, so it need not be stable across Rust
/// versions.
pub fn fingerprint<T: std::hash::Hash>(items: impl IntoIterator<Item = T>) -> i64 {
    struct Fnv(u64);
    impl std::hash::Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for byte in bytes {
                self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    let mut hasher = Fnv(0xcbf2_9ce4_8422_2325);
    for item in items {
        item.hash(&mut hasher);
    }
    i64::from_ne_bytes(std::hash::Hasher::finish(&hasher).to_ne_bytes())
}

pub fn increment(conn: &mut DbConnection, name: &str) -> QueryResult<()> {
    let at = now();
    with_backend!(conn, |c| diesel::insert_into(catalog_stats::table)
        .values((catalog_stats::name.eq(name), catalog_stats::value.eq(1_i64), catalog_stats::updated_at.eq(at)))
        .on_conflict(catalog_stats::name)
        .do_update()
        .set((catalog_stats::value.eq(catalog_stats::value + 1_i64), catalog_stats::updated_at.eq(at)))
        .execute(c))?;
    Ok(())
}
