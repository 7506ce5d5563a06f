//! The audit log: every write, allowed or refused — who, what, when, from where.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::DbConnection;
use crate::schema::audit_events;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditForm<'a> {
    pub at: NaiveDateTime,
    /// `user:default/alice`, `token:ci-checkout`, `local` (sign-in off) or `anonymous`.
    pub actor: &'a str,
    /// What was asked, such as `scaffold.create` or `token.revoke`.
    pub action: &'a str,
    /// What it was asked of (an entity, a template, a token).
    pub target: &'a str,
    /// `allowed`, `denied` or `failed`.
    pub outcome: &'a str,
    pub client_addr: Option<&'a str>,
    /// A JSON object with what else is worth keeping (the reason of a denial, a task id).
    pub details: &'a str,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub client_addr: Option<String>,
    pub details: String,
}

pub fn record(conn: &mut DbConnection, form: &AuditForm<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_events::table).values(form).execute(conn).map(drop)
}

/// What an admin filters the log by; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    /// Only events older than this id (the next page).
    pub before_id: Option<i64>,
}

/// The newest events matching `filter`, at most `limit`.
pub fn newest(conn: &mut DbConnection, filter: &AuditFilter, limit: i64) -> QueryResult<Vec<AuditRow>> {
    let mut query = audit_events::table.select(AuditRow::as_select()).into_boxed();
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_events::actor.eq(actor));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action));
    }
    if let Some(outcome) = &filter.outcome {
        query = query.filter(audit_events::outcome.eq(outcome));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(audit_events::id.lt(before));
    }
    query.order(audit_events::id.desc()).limit(limit).load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TestDb;

    #[test]
    fn events_come_back_newest_first_filtered_and_paged() {
        for db in TestDb::all() {
            let mut conn = db.store.conn().expect("connection");
            let now = crate::now();
            for (actor, action, outcome) in [
                ("user:default/alice", "scaffold.create", "allowed"),
                ("user:default/bob", "sli.push", "denied"),
                ("user:default/alice", "token.create", "allowed"),
            ] {
                let form = AuditForm {
                    at: now,
                    actor,
                    action,
                    target: "group:default/payments",
                    outcome,
                    client_addr: Some("127.0.0.1"),
                    details: "{}",
                };
                record(&mut conn, &form).expect("recorded");
            }
            let all = newest(&mut conn, &AuditFilter::default(), 10).expect("query");
            let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
            assert_eq!(actions, ["token.create", "sli.push", "scaffold.create"]);
            let alice = AuditFilter { actor: Some("user:default/alice".into()), ..AuditFilter::default() };
            assert_eq!(newest(&mut conn, &alice, 10).expect("query").len(), 2);
            let denied = AuditFilter { outcome: Some("denied".into()), ..AuditFilter::default() };
            assert_eq!(newest(&mut conn, &denied, 10).expect("query")[0].actor, "user:default/bob");
            let page = AuditFilter { before_id: Some(all[1].id), ..AuditFilter::default() };
            assert_eq!(newest(&mut conn, &page, 10).expect("query"), vec![all[2].clone()]);
        }
    }
}
