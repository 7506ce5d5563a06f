//! Background work, run once across every process sharing the database.
//!
//! A job is a row of `jobs`. Periodic work (the catalog refresh, Prometheus polling, the SLO and scorecard upkeep)
//! keeps its row and is due again at `due_at`; a one-off job (a scaffolder task) is enqueued and deleted when done.
//! A process claims a job by writing itself as `holder` with a lease (`lease_until`), renews the lease while it
//! works, and hands the job back when it finishes or fails. A job whose lease ran out, because its process died or
//! hung, is claimed again by another: the claim counts `attempts`, so the new holder knows the work may be half
//! done.
//!
//! A claim is one `UPDATE … WHERE name = (SELECT … LIMIT 1) RETURNING`: on PostgreSQL the inner select takes the row
//! with `FOR UPDATE SKIP LOCKED`, so concurrent claimers each get a different job (or none) without waiting on one
//! another; on SQLite the statement holds the database's write lock for its whole length, which gives the same
//! guarantee in the one process that SQLite serves.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};

use crate::schema::jobs;
use crate::{DbConnection, with_backend};

/// The kind of one-off job a scaffolder task is; its job is named [`task_job`].
pub const SCAFFOLD: &str = "scaffold";

/// The job that runs scaffolder task `id`.
pub fn task_job(id: &str) -> String {
    format!("{SCAFFOLD}:{id}")
}

/// A job a process now holds.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Claim {
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// 1 on a first claim; more when earlier holders stopped before they were done.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    pub name: String,
    pub kind: String,
    pub due_at: NaiveDateTime,
    pub holder: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub attempts: i32,
    pub last_started_at: Option<NaiveDateTime>,
    pub last_finished_at: Option<NaiveDateTime>,
    pub last_holder: Option<String>,
    pub last_error: Option<String>,
}

/// Which jobs a claim may take.
#[derive(Debug, Clone, Copy)]
pub enum Pick<'a> {
    /// The periodic job of this name, when it is due.
    Due(&'a str),
    /// The periodic job of this name, due or not, unless another process runs it: work someone asked for.
    Requested(&'a str),
    /// The oldest due job of this kind.
    NextOf(&'a str),
}

/// Creates the row of a periodic job, due at `due_at`, unless it exists.
pub fn ensure(conn: &mut DbConnection, name: &str, kind: &str, due_at: NaiveDateTime) -> QueryResult<()> {
    with_backend!(conn, |c| diesel::insert_into(jobs::table)
        .values((jobs::name.eq(name), jobs::kind.eq(kind), jobs::due_at.eq(due_at)))
        .on_conflict_do_nothing()
        .execute(c))
    .map(drop)
}

/// Queues a one-off job, due at `due_at`.
pub fn enqueue(conn: &mut DbConnection, name: &str, kind: &str, due_at: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(jobs::table)
        .values((jobs::name.eq(name), jobs::kind.eq(kind), jobs::due_at.eq(due_at)))
        .execute(conn)
        .map(drop)
}

/// Claims a job for `holder` until `lease_until`: one that nobody holds and that is due (or requested), or one whose
/// holder's lease ran out before `now`. `None` when there is none, or another process has it.
pub fn claim(
    conn: &mut DbConnection,
    pick: Pick<'_>,
    holder: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> QueryResult<Option<Claim>> {
    let (selector, free, key) = match pick {
        Pick::Due(name) => ("name = $4", "holder IS NULL AND due_at <= $3", name),
        Pick::Requested(name) => ("name = $4", "holder IS NULL", name),
        Pick::NextOf(kind) => ("kind = $4", "holder IS NULL AND due_at <= $3", kind),
    };
    let sql = format!(
        "UPDATE jobs SET holder = $1, lease_until = $2, attempts = attempts + 1, last_started_at = $3 \
         WHERE name = (SELECT name FROM jobs WHERE {selector} AND (({free}) OR lease_until < $3) \
         ORDER BY due_at, name LIMIT 1{lock}) \
         RETURNING name, kind, attempts",
        lock = if matches!(conn, DbConnection::Postgresql(_)) { " FOR UPDATE SKIP LOCKED" } else { "" },
    );
    // SQLite numbers its parameters `?N` where PostgreSQL writes `$N`.
    let sql = if matches!(conn, DbConnection::Sqlite(_)) { sql.replace('$', "?") } else { sql };
    with_backend!(conn, |c| diesel::sql_query(&sql)
        .bind::<Text, _>(holder)
        .bind::<Timestamp, _>(lease_until)
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(key)
        .get_result::<Claim>(c)
        .optional())
}

/// Extends the lease of a job `holder` holds; `false` when it is no longer theirs (their lease ran out and another
/// process claimed the job).
pub fn renew(conn: &mut DbConnection, name: &str, holder: &str, lease_until: NaiveDateTime) -> QueryResult<bool> {
    let changed = diesel::update(jobs::table.find(name).filter(jobs::holder.eq(holder)))
        .set(jobs::lease_until.eq(lease_until))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Ends a periodic job `holder` holds: nobody holds it, and it is due again at `next_due`. `false` when it was no
/// longer theirs.
pub fn finish(
    conn: &mut DbConnection,
    name: &str,
    holder: &str,
    now: NaiveDateTime,
    next_due: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(jobs::table.find(name).filter(jobs::holder.eq(holder)))
        .set((
            jobs::holder.eq(None::<String>),
            jobs::lease_until.eq(None::<NaiveDateTime>),
            jobs::attempts.eq(0),
            jobs::due_at.eq(next_due),
            jobs::last_finished_at.eq(now),
            jobs::last_holder.eq(holder),
            jobs::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Gives a job `holder` holds back after a failure: due again at `retry_at`, with the error kept. `false` when it was
/// no longer theirs.
pub fn fail(
    conn: &mut DbConnection,
    name: &str,
    holder: &str,
    now: NaiveDateTime,
    retry_at: NaiveDateTime,
    error: &str,
) -> QueryResult<bool> {
    let changed = diesel::update(jobs::table.find(name).filter(jobs::holder.eq(holder)))
        .set((
            jobs::holder.eq(None::<String>),
            jobs::lease_until.eq(None::<NaiveDateTime>),
            jobs::due_at.eq(retry_at),
            jobs::last_finished_at.eq(now),
            jobs::last_holder.eq(holder),
            jobs::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Ends a one-off job `holder` holds: its row goes. `false` when it was no longer theirs.
pub fn complete(conn: &mut DbConnection, name: &str, holder: &str) -> QueryResult<bool> {
    let deleted = diesel::delete(jobs::table.find(name).filter(jobs::holder.eq(holder))).execute(conn)?;
    Ok(deleted == 1)
}

/// A process that stops hands back what it holds: each lease ends at `now`, so the next process to look claims the
/// work at once (counting the attempt) instead of waiting for the lease to run out. Returns how many jobs it held.
pub fn hand_back(conn: &mut DbConnection, holder: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(jobs::table.filter(jobs::holder.eq(holder))).set(jobs::lease_until.eq(now)).execute(conn)
}

pub fn get(conn: &mut DbConnection, name: &str) -> QueryResult<Option<JobRow>> {
    jobs::table.find(name).select(JobRow::as_select()).first(conn).optional()
}

/// Every job, periodic ones first, then one-off jobs by due time.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<JobRow>> {
    jobs::table.order((jobs::kind.eq(SCAFFOLD), jobs::due_at, jobs::name)).select(JobRow::as_select()).load(conn)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use chrono::Duration;

    use super::*;
    use crate::test_support::TestDb;

    const REFRESH: &str = "catalog-refresh";

    fn holder_of(conn: &mut DbConnection, name: &str) -> Option<String> {
        get(conn, name).expect("job").and_then(|job| job.holder)
    }

    #[test]
    fn a_periodic_job_runs_in_one_process_at_a_time_and_moves_on_when_its_lease_runs_out() {
        for db in TestDb::all() {
            let what = db.backend_name();
            let mut conn = db.store.conn().expect("conn");
            let now = crate::now();
            let lease = now + Duration::minutes(10);
            ensure(&mut conn, REFRESH, REFRESH, now).expect("ensure");
            ensure(&mut conn, REFRESH, REFRESH, now + Duration::days(1)).expect("ensure twice keeps the row");
            let first = claim(&mut conn, Pick::Due(REFRESH), "a", now, lease).expect("claim").expect("due");
            assert_eq!((first.name.as_str(), first.attempts), (REFRESH, 1), "{what}");
            assert_eq!(claim(&mut conn, Pick::Due(REFRESH), "b", now, lease).expect("claim"), None, "{what}: a has it");
            assert_eq!(claim(&mut conn, Pick::Requested(REFRESH), "b", now, lease).expect("claim"), None, "{what}");
            assert_eq!(claim(&mut conn, Pick::Due(REFRESH), "a", now, lease).expect("claim"), None, "{what}: once");

            // a dies: once its lease has run out, b takes the job over and knows it is a second attempt.
            let later = lease + Duration::seconds(1);
            let taken = claim(&mut conn, Pick::Due(REFRESH), "b", later, later + Duration::minutes(10)).expect("claim");
            assert_eq!(taken.map(|c| c.attempts), Some(2), "{what}");
            assert!(!renew(&mut conn, REFRESH, "a", later).expect("renew"), "{what}: no longer a's");
            assert!(!finish(&mut conn, REFRESH, "a", later, later).expect("finish"), "{what}: a cannot finish it");
            assert!(renew(&mut conn, REFRESH, "b", later + Duration::minutes(20)).expect("renew"));
            assert_eq!(holder_of(&mut conn, REFRESH).as_deref(), Some("b"));

            // Finished: nobody holds it, and it is not due until its next time, unless someone asks for it.
            let next = later + Duration::minutes(5);
            assert!(finish(&mut conn, REFRESH, "b", later, next).expect("finish"), "{what}");
            let job = get(&mut conn, REFRESH).expect("job").expect("kept");
            assert_eq!((job.holder, job.attempts, job.due_at, job.last_holder.as_deref()), (None, 0, next, Some("b")));
            assert_eq!(claim(&mut conn, Pick::Due(REFRESH), "c", later, next).expect("claim"), None, "{what}");
            let asked = claim(&mut conn, Pick::Requested(REFRESH), "c", later, next).expect("claim");
            assert_eq!(asked.map(|c| c.attempts), Some(1), "{what}: a request runs it early");

            // Failed: due again at the retry time, the error kept.
            assert!(fail(&mut conn, REFRESH, "c", later, later, "disk on fire").expect("fail"));
            let job = get(&mut conn, REFRESH).expect("job").expect("kept");
            assert_eq!(job.last_error.as_deref(), Some("disk on fire"), "{what}");
            assert!(claim(&mut conn, Pick::Due(REFRESH), "d", later, next).expect("claim").is_some(), "{what}");
        }
    }

    #[test]
    fn concurrent_claimers_each_get_a_different_job_or_none() {
        for db in TestDb::all() {
            let what = db.backend_name();
            let now = crate::now();
            {
                let mut conn = db.store.conn().expect("conn");
                for i in 0..5 {
                    enqueue(&mut conn, &format!("task:{i}"), "task", now - Duration::seconds(10 - i)).expect("enqueue");
                }
            }
            let claimers = 8;
            let barrier = Arc::new(Barrier::new(claimers));
            let handles: Vec<_> = (0..claimers)
                .map(|i| {
                    let (store, barrier) = (db.store.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        let mut conn = store.conn().expect("conn");
                        barrier.wait();
                        claim(&mut conn, Pick::NextOf("task"), &format!("p{i}"), now, now + Duration::minutes(1))
                            .expect("claim")
                            .map(|c| c.name)
                    })
                })
                .collect();
            let mut won: Vec<String> = handles.into_iter().filter_map(|h| h.join().expect("thread")).collect();
            won.sort();
            assert_eq!(won, ["task:0", "task:1", "task:2", "task:3", "task:4"], "{what}: each job once");
        }
    }

    #[test]
    fn one_off_jobs_go_in_due_order_and_a_stopping_process_hands_its_jobs_back() {
        for db in TestDb::all() {
            let what = db.backend_name();
            let mut conn = db.store.conn().expect("conn");
            let now = crate::now();
            let lease = now + Duration::minutes(10);
            enqueue(&mut conn, "task:later", "task", now + Duration::minutes(1)).expect("enqueue");
            enqueue(&mut conn, "task:b", "task", now).expect("enqueue");
            enqueue(&mut conn, "task:a", "task", now - Duration::seconds(1)).expect("enqueue");
            assert!(enqueue(&mut conn, "task:a", "task", now).is_err(), "{what}: a job is queued once");
            let next = |conn: &mut DbConnection, who: &str, at| {
                claim(conn, Pick::NextOf("task"), who, at, lease).expect("claim").map(|c| c.name)
            };
            assert_eq!(next(&mut conn, "p1", now).as_deref(), Some("task:a"), "{what}");
            assert_eq!(next(&mut conn, "p1", now).as_deref(), Some("task:b"), "{what}");
            assert_eq!(next(&mut conn, "p2", now), None, "{what}: task:later is not due");

            // p1 stops gracefully: its jobs are free at once, not when their leases would have run out.
            assert_eq!(hand_back(&mut conn, "p1", now).expect("hand back"), 2);
            let soon = now + Duration::milliseconds(10);
            assert_eq!(next(&mut conn, "p2", soon).as_deref(), Some("task:a"), "{what}");
            assert!(complete(&mut conn, "task:a", "p2").expect("complete"));
            assert!(!complete(&mut conn, "task:a", "p2").expect("complete"), "{what}: once");
            assert_eq!(get(&mut conn, "task:a").expect("job"), None);
            let names: Vec<String> = all(&mut conn).expect("all").into_iter().map(|j| j.name).collect();
            assert_eq!(names, ["task:b", "task:later"], "{what}");
        }
    }
}
