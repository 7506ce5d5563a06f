//! Leases: a named piece of background work is done by one holder at a time, across every process sharing the
//! database. A lease expires, so work moves on when its holder dies.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::leases;
use crate::{DbConnection, with_backend};

/// Takes the lease `name` for `holder` until `until` when it is free, expired, or already held by `holder`.
/// Returns whether `holder` now holds it. Safe under concurrent callers: one conditional write decides.
pub fn try_acquire(
    conn: &mut DbConnection,
    name: &str,
    holder: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    // Three statements, each atomic on its own, decide it: an expired lease is removed, a missing one is created,
    // and only the holder's renewal touches a row.
    diesel::delete(leases::table.filter(leases::name.eq(name)).filter(leases::expires_at.lt(now))).execute(conn)?;
    with_backend!(&mut *conn, |c| diesel::insert_into(leases::table)
        .values((leases::name.eq(name), leases::holder.eq(holder), leases::expires_at.eq(until)))
        .on_conflict_do_nothing()
        .execute(c))?;
    let taken = diesel::update(leases::table.filter(leases::name.eq(name)).filter(leases::holder.eq(holder)))
        .set(leases::expires_at.eq(until))
        .execute(conn)?;
    Ok(taken == 1)
}

/// Gives the lease up if `holder` holds it.
pub fn release(conn: &mut DbConnection, name: &str, holder: &str) -> QueryResult<()> {
    diesel::delete(leases::table.filter(leases::name.eq(name).and(leases::holder.eq(holder)))).execute(conn)?;
    Ok(())
}

pub fn holder(conn: &mut DbConnection, name: &str) -> QueryResult<Option<(String, NaiveDateTime)>> {
    leases::table.filter(leases::name.eq(name)).select((leases::holder, leases::expires_at)).first(conn).optional()
}
