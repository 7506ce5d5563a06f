//! Leases: a named piece of background work is done by one holder at a time, across every process sharing the
//! database. A lease expires, so work moves on when its holder dies.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::schema::leases;
use crate::{DbConnection, with_backend};

/// Takes the lease `name` for `holder` until `until` and marks it busy, when it is free, expired, already held by
/// `holder`, or (with `take_idle`) idle. Returns whether `holder` now holds it. Safe under concurrent callers: three
/// statements, each atomic on its own, decide it, and only one insert can win.
pub fn try_acquire(
    conn: &mut DbConnection,
    name: &str,
    holder: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
    take_idle: bool,
) -> QueryResult<bool> {
    let stale = leases::expires_at.lt(now).or(leases::busy.eq(false).and(take_idle.into_sql::<Bool>()));
    diesel::delete(leases::table.filter(leases::name.eq(name)).filter(leases::holder.ne(holder)).filter(stale))
        .execute(conn)?;
    with_backend!(&mut *conn, |c| diesel::insert_into(leases::table)
        .values((leases::name.eq(name), leases::holder.eq(holder), leases::busy.eq(true), leases::expires_at.eq(until)))
        .on_conflict_do_nothing()
        .execute(c))?;
    let taken = diesel::update(leases::table.filter(leases::name.eq(name)).filter(leases::holder.eq(holder)))
        .set((leases::busy.eq(true), leases::expires_at.eq(until)))
        .execute(conn)?;
    Ok(taken == 1)
}

/// Marks the work done: the lease stays with `holder`, idle, until `idle_until`, so other processes skip the work
/// until it is due again.
pub fn finish(conn: &mut DbConnection, name: &str, holder: &str, idle_until: NaiveDateTime) -> QueryResult<()> {
    diesel::update(leases::table.filter(leases::name.eq(name)).filter(leases::holder.eq(holder)))
        .set((leases::busy.eq(false), leases::expires_at.eq(idle_until)))
        .execute(conn)?;
    Ok(())
}

/// Gives the lease up if `holder` holds it.
pub fn release(conn: &mut DbConnection, name: &str, holder: &str) -> QueryResult<()> {
    diesel::delete(leases::table.filter(leases::name.eq(name).and(leases::holder.eq(holder)))).execute(conn)?;
    Ok(())
}

pub fn holder(conn: &mut DbConnection, name: &str) -> QueryResult<Option<(String, NaiveDateTime)>> {
    leases::table.filter(leases::name.eq(name)).select((leases::holder, leases::expires_at)).first(conn).optional()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use chrono::Duration;

    use super::*;
    use crate::test_support::TestDb;

    #[test]
    fn one_holder_at_a_time_and_takeover_after_expiry() {
        for db in TestDb::all() {
            let mut conn = db.store.conn().expect("conn");
            let now = crate::now();
            let later = now + Duration::minutes(10);
            assert!(try_acquire(&mut conn, "refresh", "a", now, later, false).expect("acquire"));
            assert!(
                !try_acquire(&mut conn, "refresh", "b", now, later, false).expect("acquire"),
                "{}",
                db.backend_name()
            );
            assert!(try_acquire(&mut conn, "refresh", "a", now, later, false).expect("renew"), "the holder renews");
            assert!(try_acquire(&mut conn, "other", "b", now, later, false).expect("acquire"), "leases are per name");

            // Once expired, another holder takes it.
            let after_expiry = later + Duration::seconds(1);
            assert!(
                try_acquire(&mut conn, "refresh", "b", after_expiry, after_expiry + Duration::minutes(10), false)
                    .expect("takeover")
            );
            assert_eq!(holder(&mut conn, "refresh").expect("holder").map(|h| h.0).as_deref(), Some("b"));

            // Release by someone else does nothing; by the holder frees it.
            release(&mut conn, "refresh", "a").expect("release");
            assert!(!try_acquire(&mut conn, "refresh", "a", after_expiry, later, false).expect("still b's"));
            release(&mut conn, "refresh", "b").expect("release");
            assert!(try_acquire(&mut conn, "refresh", "a", after_expiry, later, false).expect("free again"));
        }
    }

    #[test]
    fn concurrent_contenders_get_exactly_one_winner() {
        for db in TestDb::all() {
            let contenders = 8;
            let barrier = Arc::new(Barrier::new(contenders));
            let now = crate::now();
            let handles: Vec<_> = (0..contenders)
                .map(|i| {
                    let (store, barrier) = (db.store.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        let mut conn = store.conn().expect("conn");
                        barrier.wait();
                        try_acquire(&mut conn, "race", &format!("holder-{i}"), now, now + Duration::minutes(1), false)
                            .expect("acquire")
                    })
                })
                .collect();
            let winners = handles.into_iter().map(|h| h.join().expect("thread")).filter(|won| *won).count();
            assert_eq!(winners, 1, "{}", db.backend_name());
        }
    }

    #[test]
    fn idle_leases_skip_periodic_work_but_yield_to_requests() {
        for db in TestDb::all() {
            let mut conn = db.store.conn().expect("conn");
            let now = crate::now();
            assert!(try_acquire(&mut conn, "refresh", "a", now, now + Duration::minutes(10), false).expect("a"));
            // Busy: nobody else, not even on request.
            assert!(!try_acquire(&mut conn, "refresh", "b", now, now + Duration::minutes(10), true).expect("b"));
            finish(&mut conn, "refresh", "a", now + Duration::minutes(1)).expect("finish");
            // Idle and not yet due: periodic work elsewhere skips, a request takes it.
            assert!(!try_acquire(&mut conn, "refresh", "b", now, now + Duration::minutes(10), false).expect("b"));
            assert!(
                try_acquire(&mut conn, "refresh", "b", now, now + Duration::minutes(10), true).expect("b"),
                "{}",
                db.backend_name()
            );
            assert_eq!(holder(&mut conn, "refresh").expect("holder").map(|h| h.0).as_deref(), Some("b"));
        }
    }
}
