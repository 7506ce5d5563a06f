//! Browser sessions and sign-ins under way. Rows are keyed by the SHA-256 of a random cookie value (computed by the
//! caller), so the database alone opens no session.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{login_attempts, sessions};
use crate::{DbConnection, with_backend};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id_hash: String,
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub display_name: String,
    pub user_ref: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &SessionRow) -> QueryResult<()> {
    diesel::insert_into(sessions::table).values(row).execute(conn).map(drop)
}

/// The session with this id, when it has not expired by `now`.
pub fn live(conn: &mut DbConnection, id_hash: &str, now: NaiveDateTime) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .filter(sessions::id_hash.eq(id_hash).and(sessions::expires_at.gt(now)))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

pub fn touch(conn: &mut DbConnection, id_hash: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(sessions::table.find(id_hash)).set(sessions::last_seen_at.eq(at)).execute(conn).map(drop)
}

/// Ends a session; returns whether there was one.
pub fn delete(conn: &mut DbConnection, id_hash: &str) -> QueryResult<bool> {
    Ok(diesel::delete(sessions::table.find(id_hash)).execute(conn)? > 0)
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = login_attempts)]
pub struct LoginAttemptRow {
    pub id_hash: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn start_login(conn: &mut DbConnection, row: &LoginAttemptRow) -> QueryResult<()> {
    diesel::insert_into(login_attempts::table).values(row).execute(conn).map(drop)
}

/// Takes a sign-in under way: one `DELETE … RETURNING`, so a second callback (a replay, or two processes racing)
/// finds nothing, and SQLite waits its turn for the write instead of failing a read-then-write transaction. Expired
/// rows are never returned.
pub fn take_login(conn: &mut DbConnection, id_hash: &str, now: NaiveDateTime) -> QueryResult<Option<LoginAttemptRow>> {
    let taken: Option<LoginAttemptRow> = with_backend!(conn, |c| diesel::delete(login_attempts::table.find(id_hash))
        .returning(LoginAttemptRow::as_returning())
        .get_result(c)
        .optional())?;
    Ok(taken.filter(|row| row.expires_at > now))
}

/// Deletes expired sessions and sign-ins; returns how many rows went.
pub fn purge_expired(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    let sessions = diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)?;
    let logins = diesel::delete(login_attempts::table.filter(login_attempts::expires_at.le(now))).execute(conn)?;
    Ok(sessions + logins)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::test_support::TestDb;

    fn session(id: &str, now: NaiveDateTime) -> SessionRow {
        SessionRow {
            id_hash: id.to_owned(),
            issuer: "https://id.example".to_owned(),
            subject: "alice".to_owned(),
            email: Some("alice@example.com".to_owned()),
            display_name: "Alice".to_owned(),
            user_ref: Some("user:default/alice".to_owned()),
            created_at: now,
            expires_at: now + Duration::hours(8),
            last_seen_at: now,
        }
    }

    #[test]
    fn sessions_live_until_they_expire_or_are_deleted() {
        for db in TestDb::all() {
            let mut conn = db.store.conn().expect("connection");
            let now = crate::now();
            insert(&mut conn, &session("a", now)).expect("inserted");
            assert_eq!(live(&mut conn, "a", now).expect("query"), Some(session("a", now)));
            assert_eq!(live(&mut conn, "a", now + Duration::hours(8)).expect("query"), None);
            assert_eq!(live(&mut conn, "b", now).expect("query"), None);
            touch(&mut conn, "a", now + Duration::minutes(5)).expect("touched");
            let seen = live(&mut conn, "a", now).expect("query").expect("live").last_seen_at;
            assert_eq!(seen, now + Duration::minutes(5));
            assert!(delete(&mut conn, "a").expect("deleted"));
            assert!(!delete(&mut conn, "a").expect("query"));
            assert_eq!(live(&mut conn, "a", now).expect("query"), None);
        }
    }

    #[test]
    fn a_login_attempt_is_taken_once_and_never_after_it_expires() {
        for db in TestDb::all() {
            let mut conn = db.store.conn().expect("connection");
            let now = crate::now();
            let attempt = |id: &str| LoginAttemptRow {
                id_hash: id.to_owned(),
                state: "s".to_owned(),
                nonce: "n".to_owned(),
                pkce_verifier: "v".to_owned(),
                return_to: "/catalog".to_owned(),
                created_at: now,
                expires_at: now + Duration::minutes(10),
            };
            start_login(&mut conn, &attempt("x")).expect("started");
            assert_eq!(take_login(&mut conn, "x", now).expect("query"), Some(attempt("x")));
            assert_eq!(take_login(&mut conn, "x", now).expect("query"), None, "a second callback finds nothing");
            start_login(&mut conn, &attempt("y")).expect("started");
            assert_eq!(take_login(&mut conn, "y", now + Duration::minutes(10)).expect("query"), None);
            start_login(&mut conn, &attempt("z")).expect("started");
            insert(&mut conn, &session("s", now)).expect("inserted");
            assert_eq!(purge_expired(&mut conn, now + Duration::hours(9)).expect("purged"), 2);
        }
    }
}
