//! Small named numbers about the catalog (last refresh duration, catalog generation) shared by every process.

use diesel::prelude::*;

use crate::schema::catalog_stats;
use crate::{DbConnection, now, with_backend};

pub const LAST_REFRESH_MS: &str = "last_refresh_ms";
pub const LAST_REFRESH_AT: &str = "last_refresh_at_unix";
/// Bumped by every ingest that changed something; readers use it to know their caches are current.
pub const GENERATION: &str = "generation";

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
