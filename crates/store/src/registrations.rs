//! What scaffolding leaves in the catalog: the descriptor files `catalog:register` added (read by every refresh
//! beside the configured locations), and what each scaffolded service was made with (for drift).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::DbConnection;
use crate::schema::{registered_locations, scaffolded_services};

/// Adds a descriptor file to those every refresh reads; registering it again changes nothing.
pub fn add(conn: &mut DbConnection, target: &str, task_id: Option<&str>, now: NaiveDateTime) -> QueryResult<()> {
    let known: i64 =
        registered_locations::table.filter(registered_locations::target.eq(target)).count().get_result(conn)?;
    if known == 0 {
        diesel::insert_into(registered_locations::table)
            .values((
                registered_locations::target.eq(target),
                registered_locations::task_id.eq(task_id),
                registered_locations::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn remove(conn: &mut DbConnection, target: &str) -> QueryResult<usize> {
    diesel::delete(registered_locations::table.find(target)).execute(conn)
}

/// Every registered descriptor file, in the order registered.
pub fn targets(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    registered_locations::table
        .order((registered_locations::created_at, registered_locations::target))
        .select(registered_locations::target)
        .load(conn)
}

/// What a service was made with.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = scaffolded_services)]
pub struct ScaffoldedRow {
    pub entity_ref: String,
    pub template_ref: String,
    pub template_version: String,
    /// The parameters, a JSON object.
    pub parameters: String,
    pub task_id: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Records (or replaces) what a service was made with.
pub fn record_scaffolded(conn: &mut DbConnection, row: &ScaffoldedRow) -> QueryResult<()> {
    diesel::delete(scaffolded_services::table.find(&row.entity_ref)).execute(conn)?;
    diesel::insert_into(scaffolded_services::table).values(row).execute(conn).map(drop)
}

pub fn scaffolded(conn: &mut DbConnection, entity_ref: &str) -> QueryResult<Option<ScaffoldedRow>> {
    scaffolded_services::table.find(entity_ref).select(ScaffoldedRow::as_select()).first(conn).optional()
}

pub fn forget_scaffolded(conn: &mut DbConnection, entity_ref: &str) -> QueryResult<usize> {
    diesel::delete(scaffolded_services::table.find(entity_ref)).execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TestDb;

    #[test]
    fn registrations_and_what_services_were_made_with() {
        for db in TestDb::all() {
            let mut conn = db.store.conn().expect("conn");
            let now = crate::now();
            add(&mut conn, "/repos/a/catalog-info.yaml", Some("t1"), now).expect("add");
            add(&mut conn, "/repos/a/catalog-info.yaml", Some("t2"), now).expect("add again");
            add(&mut conn, "/repos/b/catalog-info.yaml", None, now).expect("add");
            assert_eq!(targets(&mut conn).expect("targets").len(), 2, "{}", db.backend_name());
            assert_eq!(remove(&mut conn, "/repos/b/catalog-info.yaml"), Ok(1));
            assert_eq!(targets(&mut conn), Ok(vec!["/repos/a/catalog-info.yaml".to_owned()]));
            let row = ScaffoldedRow {
                entity_ref: "component:default/a".to_owned(),
                template_ref: "template:default/t".to_owned(),
                template_version: "1.0.0".to_owned(),
                parameters: "{\"name\":\"a\"}".to_owned(),
                task_id: Some("t1".to_owned()),
                created_at: now,
            };
            record_scaffolded(&mut conn, &row).expect("record");
            let newer = ScaffoldedRow { template_version: "2.0.0".to_owned(), ..row.clone() };
            record_scaffolded(&mut conn, &newer).expect("record again");
            assert_eq!(scaffolded(&mut conn, "component:default/a"), Ok(Some(newer)));
            assert_eq!(forget_scaffolded(&mut conn, "component:default/a"), Ok(1));
            assert_eq!(scaffolded(&mut conn, "component:default/a"), Ok(None));
        }
    }
}
