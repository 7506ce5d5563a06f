//! Scaffolder tasks: queued by the form or the API, run by one process at a time, with an append-only log.
//!
//! Each task is a one-off job of [`crate::jobs`] (named [`jobs::task_job`]): queued with the task, claimed by one
//! process, so several processes on one PostgreSQL never run it twice, claimed again by another once its lease has
//! run out (its process died), and deleted when the task ends.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::jobs::{self, Pick};
use crate::schema::{scaffold_task_archives, scaffold_task_events, scaffold_tasks};
use crate::{DbConnection, with_backend};

pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = scaffold_tasks)]
pub struct TaskRow {
    pub id: String,
    /// `template:<namespace>/<name>`.
    pub template_ref: String,
    pub template_version: String,
    /// The validated parameters, a JSON object.
    pub parameters: String,
    pub state: String,
    /// What the run produced (links, the registered entity, the repository), a JSON object.
    pub output: Option<String>,
    pub error: Option<String>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    /// How many times a process took the task up: more than one when a process stopped while it ran it.
    pub attempts: i32,
}

impl TaskRow {
    pub fn is_finished(&self) -> bool {
        self.state == SUCCEEDED || self.state == FAILED
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = scaffold_tasks)]
pub struct TaskForm<'a> {
    pub id: &'a str,
    pub template_ref: &'a str,
    pub template_version: &'a str,
    pub parameters: &'a str,
    pub created_by: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

/// One line of a task's log.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = scaffold_task_events)]
pub struct EventRow {
    pub seq: i64,
    pub task_id: String,
    /// The step's index in the template, when the line belongs to one.
    pub step: Option<i32>,
    /// `started`, `finished`, `skipped`, `failed` for a step's state; `log` for a line of output.
    pub kind: String,
    pub message: String,
    pub at: NaiveDateTime,
}

/// Queues a task and its job.
pub fn insert(conn: &mut DbConnection, form: &TaskForm<'_>) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::insert_into(scaffold_tasks::table).values((form, scaffold_tasks::state.eq(QUEUED))).execute(conn)?;
        jobs::enqueue(conn, &jobs::task_job(form.id), jobs::SCAFFOLD, form.created_at)
    })
}

pub fn by_id(conn: &mut DbConnection, id: &str) -> QueryResult<Option<TaskRow>> {
    scaffold_tasks::table.find(id).select(TaskRow::as_select()).first(conn).optional()
}

/// The newest tasks first.
pub fn recent(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<TaskRow>> {
    scaffold_tasks::table
        .order((scaffold_tasks::created_at.desc(), scaffold_tasks::id))
        .limit(limit)
        .select(TaskRow::as_select())
        .load(conn)
}

/// Claims the oldest task waiting to run, or whose process died while it ran (its job's lease ran out), for
/// `holder` until `until`, and marks it running. `None` when there is none or other processes won them.
pub fn claim_next(
    conn: &mut DbConnection,
    holder: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<Option<TaskRow>> {
    while let Some(claim) = jobs::claim(conn, Pick::NextOf(jobs::SCAFFOLD), holder, now, until)? {
        let id = claim.name.strip_prefix(&format!("{}:", jobs::SCAFFOLD)).unwrap_or(&claim.name).to_owned();
        let started =
            diesel::update(scaffold_tasks::table.find(&id).filter(scaffold_tasks::state.eq_any([QUEUED, RUNNING])))
                .set((
                    scaffold_tasks::state.eq(RUNNING),
                    scaffold_tasks::started_at.eq(now),
                    scaffold_tasks::attempts.eq(claim.attempts),
                ))
                .execute(conn)?;
        if started == 1 {
            return by_id(conn, &id);
        }
        // A job whose task ended, or went, has nothing left to do.
        jobs::complete(conn, &claim.name, holder)?;
    }
    Ok(None)
}

/// Ends a task `holder` runs with `state` ([`SUCCEEDED`] or [`FAILED`]), and its job; false when it is no longer
/// theirs (another process took it over), in which case nothing changes.
pub fn finish(
    conn: &mut DbConnection,
    id: &str,
    holder: &str,
    state: &str,
    output: Option<&str>,
    error: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    conn.transaction(|conn| {
        if !jobs::complete(conn, &jobs::task_job(id), holder)? {
            return Ok(false);
        }
        diesel::update(scaffold_tasks::table.find(id).filter(scaffold_tasks::state.eq(RUNNING)))
            .set((
                scaffold_tasks::state.eq(state),
                scaffold_tasks::output.eq(output),
                scaffold_tasks::error.eq(error),
                scaffold_tasks::finished_at.eq(now),
            ))
            .execute(conn)?;
        Ok(true)
    })
}

/// Appends a line to a task's log.
pub fn log(
    conn: &mut DbConnection,
    task_id: &str,
    step: Option<i32>,
    kind: &str,
    message: &str,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    with_backend!(conn, |c| diesel::insert_into(scaffold_task_events::table)
        .values((
            scaffold_task_events::task_id.eq(task_id),
            scaffold_task_events::step.eq(step),
            scaffold_task_events::kind.eq(kind),
            scaffold_task_events::message.eq(message),
            scaffold_task_events::at.eq(at),
        ))
        .returning(scaffold_task_events::seq)
        .get_result(c))
}

/// The lines of a task's log after `seq` (0 for all), in order.
pub fn events_after(conn: &mut DbConnection, task_id: &str, seq: i64) -> QueryResult<Vec<EventRow>> {
    scaffold_task_events::table
        .filter(scaffold_task_events::task_id.eq(task_id).and(scaffold_task_events::seq.gt(seq)))
        .order(scaffold_task_events::seq)
        .select(EventRow::as_select())
        .load(conn)
}

/// Keeps the archive a task made for download.
pub fn save_archive(conn: &mut DbConnection, task_id: &str, file_name: &str, data: &[u8]) -> QueryResult<()> {
    diesel::delete(scaffold_task_archives::table.find(task_id)).execute(conn)?;
    diesel::insert_into(scaffold_task_archives::table)
        .values((
            scaffold_task_archives::task_id.eq(task_id),
            scaffold_task_archives::file_name.eq(file_name),
            scaffold_task_archives::data.eq(data),
        ))
        .execute(conn)
        .map(drop)
}

/// A task's archive: its file name and bytes.
pub fn archive(conn: &mut DbConnection, task_id: &str) -> QueryResult<Option<(String, Vec<u8>)>> {
    scaffold_task_archives::table
        .find(task_id)
        .select((scaffold_task_archives::file_name, scaffold_task_archives::data))
        .first(conn)
        .optional()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use chrono::Duration;

    use super::*;
    use crate::test_support::TestDb;

    fn queue(conn: &mut DbConnection, id: &str, at: NaiveDateTime) {
        let form = TaskForm {
            id,
            template_ref: "template:default/t",
            template_version: "1.0.0",
            parameters: "{}",
            created_by: None,
            created_at: at,
        };
        insert(conn, &form).expect("insert");
    }

    #[test]
    fn tasks_are_claimed_in_order_and_reclaimed_when_their_lease_runs_out() {
        for db in TestDb::all() {
            let name = db.backend_name();
            let mut conn = db.store.conn().expect("conn");
            let now = crate::now();
            queue(&mut conn, "b", now);
            queue(&mut conn, "a", now - Duration::seconds(1));
            let until = now + Duration::seconds(30);
            let first = claim_next(&mut conn, "p1", now, until).expect("claim").expect("a task");
            assert_eq!((first.id.as_str(), first.state.as_str(), first.attempts), ("a", RUNNING, 1), "{name}");
            let second = claim_next(&mut conn, "p2", now, until).expect("claim").expect("a task");
            assert_eq!(second.id, "b");
            assert_eq!(claim_next(&mut conn, "p3", now, until).expect("claim"), None, "{name}: nothing left");
            // p1 dies: once its lease has run out, another process takes the task over.
            let later = until + Duration::seconds(1);
            let again = claim_next(&mut conn, "p3", later, later + Duration::seconds(30)).expect("claim");
            let again = again.expect("the abandoned task");
            assert_eq!((again.id.as_str(), again.attempts), ("a", 2));
            assert!(!finish(&mut conn, "a", "p1", SUCCEEDED, None, None, later).expect("finish"), "no longer p1's");
            assert!(!jobs::renew(&mut conn, &jobs::task_job("a"), "p1", later).expect("renew"));
            assert!(finish(&mut conn, "a", "p3", FAILED, None, Some("boom"), later).expect("finish"));
            let done = by_id(&mut conn, "a").expect("by id").expect("task");
            assert!(done.is_finished());
            assert_eq!((done.state.as_str(), done.error.as_deref()), (FAILED, Some("boom")));
            assert_eq!(jobs::get(&mut conn, &jobs::task_job("a")).expect("job"), None, "{name}: the job went");
            assert!(jobs::get(&mut conn, &jobs::task_job("b")).expect("job").is_some(), "{name}: b still runs");
        }
    }

    #[test]
    fn one_claim_wins_among_concurrent_processes() {
        for db in TestDb::all() {
            let now = crate::now();
            queue(&mut db.store.conn().expect("conn"), "only", now);
            let barrier = Arc::new(Barrier::new(6));
            let handles: Vec<_> = (0..6)
                .map(|i| {
                    let (store, barrier) = (db.store.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        let mut conn = store.conn().expect("conn");
                        barrier.wait();
                        claim_next(&mut conn, &format!("p{i}"), now, now + Duration::seconds(30)).expect("claim")
                    })
                })
                .collect();
            let won = handles.into_iter().filter_map(|h| h.join().expect("thread")).count();
            assert_eq!(won, 1, "{}", db.backend_name());
        }
    }

    #[test]
    fn logs_and_archives() {
        for db in TestDb::all() {
            let mut conn = db.store.conn().expect("conn");
            let now = crate::now();
            queue(&mut conn, "t", now);
            let first = log(&mut conn, "t", Some(0), "started", "fetch", now).expect("log");
            log(&mut conn, "t", Some(0), "finished", "3 files", now).expect("log");
            let all = events_after(&mut conn, "t", 0).expect("events");
            assert_eq!(all.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["started", "finished"]);
            assert_eq!(events_after(&mut conn, "t", first).expect("events").len(), 1);
            save_archive(&mut conn, "t", "svc.tar.gz", b"gz").expect("archive");
            save_archive(&mut conn, "t", "svc.tar.gz", b"gz2").expect("archive again");
            assert_eq!(archive(&mut conn, "t").expect("archive"), Some(("svc.tar.gz".to_owned(), b"gz2".to_vec())));
        }
    }
}
