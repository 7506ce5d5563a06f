//! SLI samples, packed per SLO into blocks whose encoding the scorecard crate owns: a minute block holds the
//! minutes of one hour, an hour block the hourly rollups of one day.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::sli_blocks;
use crate::{DbConnection, with_backend};

/// The resolution of a minute block (one hour of minutes).
pub const MINUTES: &str = "m";
/// The resolution of an hour block (one day of hourly rollups).
pub const HOURS: &str = "h";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = sli_blocks)]
pub struct Block {
    pub slo_id: i64,
    /// [`MINUTES`] or [`HOURS`].
    pub resolution: String,
    /// The start of the hour (minute block) or day (hour block) it covers.
    pub start: NaiveDateTime,
    pub data: Vec<u8>,
}

/// The blocks of the given SLOs that start at or after `from` and before `to`, ordered by SLO, resolution and start.
pub fn blocks(
    conn: &mut DbConnection,
    slo_ids: &[i64],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<Block>> {
    let mut found = Vec::new();
    for chunk in slo_ids.chunks(500) {
        found.extend(
            sli_blocks::table
                .filter(sli_blocks::slo_id.eq_any(chunk))
                .filter(sli_blocks::start.ge(from).and(sli_blocks::start.lt(to)))
                .order((sli_blocks::slo_id, sli_blocks::resolution, sli_blocks::start))
                .select(Block::as_select())
                .load(conn)?,
        );
    }
    Ok(found)
}

/// Inserts blocks or replaces them whole.
pub fn put(conn: &mut DbConnection, blocks: &[Block]) -> QueryResult<()> {
    use diesel::upsert::excluded;
    for chunk in blocks.chunks(500) {
        with_backend!(&mut *conn, |c| diesel::insert_into(sli_blocks::table)
            .values(chunk)
            .on_conflict((sli_blocks::slo_id, sli_blocks::resolution, sli_blocks::start))
            .do_update()
            .set(sli_blocks::data.eq(excluded(sli_blocks::data)))
            .returning(sli_blocks::slo_id)
            .get_results::<i64>(c))?;
    }
    Ok(())
}

/// Drops the minute blocks that start before `before` (their hours live on in the hour blocks); returns how many.
pub fn drop_minutes_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(sli_blocks::table.filter(sli_blocks::resolution.eq(MINUTES).and(sli_blocks::start.lt(before))))
        .execute(conn)
}
