//! SLOs as resolved from OpenSLO and Sloth files, with the state of their SLI data and their last status.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::slos;
use crate::{DbConnection, with_backend};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = slos)]
pub struct SloRow {
    pub id: i64,
    pub namespace: String,
    pub name: String,
    /// The name of the Component the SLO belongs to (in `namespace`).
    pub service: String,
    pub display_name: String,
    pub description: String,
    /// The file and position it is defined at.
    pub path: String,
    pub line: i32,
    pub col: i32,
    /// Where its SLI data comes from: `push`, `prometheus` or `other`.
    pub source_kind: String,
    /// The definition as JSON (owned by the scorecard crate).
    pub definition: String,
    /// JSON array of warnings about the SLO (its service is not in the catalog, its file is broken…).
    pub problems: String,
    /// The end of the newest SLI data received.
    pub data_until: Option<NaiveDateTime>,
    /// Since when its data source has failed, when it does.
    pub stale_since: Option<NaiveDateTime>,
    pub stale_reason: Option<String>,
    /// The status of the last evaluation (`healthy`, `at_risk`, `exhausted`, `no_data`, `stale`).
    pub status: Option<String>,
    pub evaluated_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// What a file says of an SLO; the data state and status are left as they are.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = slos)]
pub struct SloForm {
    pub namespace: String,
    pub name: String,
    pub service: String,
    pub display_name: String,
    pub description: String,
    pub path: String,
    pub line: i32,
    pub col: i32,
    pub source_kind: String,
    pub definition: String,
    pub problems: String,
    pub updated_at: NaiveDateTime,
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<SloRow>> {
    slos::table.order((slos::namespace, slos::name)).select(SloRow::as_select()).load(conn)
}

pub fn by_name(conn: &mut DbConnection, namespace: &str, name: &str) -> QueryResult<Option<SloRow>> {
    slos::table
        .filter(slos::namespace.eq(namespace).and(slos::name.eq(name)))
        .select(SloRow::as_select())
        .first(conn)
        .optional()
}

pub fn by_id(conn: &mut DbConnection, id: i64) -> QueryResult<Option<SloRow>> {
    slos::table.find(id).select(SloRow::as_select()).first(conn).optional()
}

/// The SLOs of one service, by name.
pub fn of_service(conn: &mut DbConnection, namespace: &str, service: &str) -> QueryResult<Vec<SloRow>> {
    // Sorted here, not in SQL: with `ORDER BY name` SQLite walks the (namespace, name) index through every SLO of
    // the namespace (17 ms at 10,000 SLOs) instead of looking the service up in `slos_service` (under 1 ms).
    let mut rows: Vec<SloRow> = slos::table
        .filter(slos::namespace.eq(namespace).and(slos::service.eq(service)))
        .select(SloRow::as_select())
        .load(conn)?;
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

/// The SLOs whose data comes from one kind of source.
pub fn of_source_kind(conn: &mut DbConnection, kind: &str) -> QueryResult<Vec<SloRow>> {
    slos::table.filter(slos::source_kind.eq(kind)).order(slos::id).select(SloRow::as_select()).load(conn)
}

/// Inserts SLOs or replaces what their files say of them, keyed by (namespace, name).
pub fn upsert_many(conn: &mut DbConnection, forms: &[SloForm]) -> QueryResult<()> {
    use diesel::upsert::excluded;
    for chunk in forms.chunks(200) {
        with_backend!(&mut *conn, |c| diesel::insert_into(slos::table)
            .values(chunk)
            .on_conflict((slos::namespace, slos::name))
            .do_update()
            .set((
                slos::service.eq(excluded(slos::service)),
                slos::display_name.eq(excluded(slos::display_name)),
                slos::description.eq(excluded(slos::description)),
                slos::path.eq(excluded(slos::path)),
                slos::line.eq(excluded(slos::line)),
                slos::col.eq(excluded(slos::col)),
                slos::source_kind.eq(excluded(slos::source_kind)),
                slos::definition.eq(excluded(slos::definition)),
                slos::problems.eq(excluded(slos::problems)),
                slos::updated_at.eq(excluded(slos::updated_at)),
            ))
            .returning(slos::id)
            .get_results::<i64>(c))?;
    }
    Ok(())
}

/// Replaces the problems of one SLO, leaving its definition as it was.
pub fn set_problems(conn: &mut DbConnection, id: i64, problems: &str) -> QueryResult<()> {
    diesel::update(slos::table.find(id)).set(slos::problems.eq(problems)).execute(conn).map(drop)
}

/// Deletes SLOs and, through the foreign keys, their SLI data.
pub fn delete(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<usize> {
    let mut deleted = 0;
    for chunk in ids.chunks(500) {
        deleted += diesel::delete(slos::table.filter(slos::id.eq_any(chunk))).execute(conn)?;
    }
    Ok(deleted)
}

/// Records that data up to `until` was received (it never moves back).
pub fn mark_data(conn: &mut DbConnection, id: i64, until: NaiveDateTime) -> QueryResult<()> {
    diesel::update(slos::table.find(id).filter(slos::data_until.is_null().or(slos::data_until.lt(until))))
        .set(slos::data_until.eq(until))
        .execute(conn)?;
    Ok(())
}

/// Marks an SLO's source as failing since `since` (kept when already failing), or as answering again (`None`).
pub fn mark_stale(conn: &mut DbConnection, id: i64, stale: Option<(NaiveDateTime, &str)>) -> QueryResult<()> {
    match stale {
        Some((since, reason)) => {
            diesel::update(slos::table.find(id).filter(slos::stale_since.is_null()))
                .set(slos::stale_since.eq(since))
                .execute(conn)?;
            diesel::update(slos::table.find(id)).set(slos::stale_reason.eq(reason)).execute(conn)?;
        }
        None => {
            diesel::update(slos::table.find(id))
                .set((slos::stale_since.eq(None::<NaiveDateTime>), slos::stale_reason.eq(None::<String>)))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Stores the status of each SLO's last evaluation: one statement per status and 500 SLOs.
pub fn set_statuses(conn: &mut DbConnection, statuses: &[(i64, &str)], at: NaiveDateTime) -> QueryResult<()> {
    let mut by_status: std::collections::BTreeMap<&str, Vec<i64>> = std::collections::BTreeMap::new();
    for (id, status) in statuses {
        by_status.entry(status).or_default().push(*id);
    }
    for (status, ids) in by_status {
        for chunk in ids.chunks(500) {
            diesel::update(slos::table.filter(slos::id.eq_any(chunk)))
                .set((slos::status.eq(status), slos::evaluated_at.eq(at)))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// `(namespace, service, status)` of every SLO, for the catalog's SLO-status facet.
pub fn statuses(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, Option<String>)>> {
    slos::table.select((slos::namespace, slos::service, slos::status)).load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TestDb;

    fn form(name: &str, service: &str) -> SloForm {
        SloForm {
            namespace: "default".to_owned(),
            name: name.to_owned(),
            service: service.to_owned(),
            display_name: name.to_owned(),
            description: String::new(),
            path: "slos.yaml".to_owned(),
            line: 1,
            col: 1,
            source_kind: "push".to_owned(),
            definition: "{}".to_owned(),
            problems: "[]".to_owned(),
            updated_at: crate::now(),
        }
    }

    #[test]
    fn a_services_slos_come_by_name_and_no_others() {
        for db in TestDb::all() {
            let mut conn = db.store.conn().expect("connection");
            let forms = [form("z-latency", "checkout"), form("other", "cart"), form("a-availability", "checkout")];
            upsert_many(&mut conn, &forms).expect("stored");
            let names: Vec<String> =
                of_service(&mut conn, "default", "checkout").expect("read").into_iter().map(|r| r.name).collect();
            assert_eq!(names, ["a-availability", "z-latency"], "{}", db.backend_name());
            assert!(of_service(&mut conn, "dev", "checkout").expect("read").is_empty());
        }
    }
}
