//! Scorecard results: the definitions as last read, every entity's latest result, daily snapshots rolled up per
//! owner and level, and every level change. The evaluation itself is `scorecard::maturity`'s; this is storage.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{scorecard_level_changes, scorecard_results, scorecard_snapshots, scorecards};
use crate::{DbConnection, insert_all, with_backend};

/// A level stored for "no level reached".
pub const NO_LEVEL: i32 = -1;

/// A scorecard definition as last read.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = scorecards)]
pub struct ScorecardRow {
    pub name: String,
    pub title: String,
    pub description: String,
    /// The definition as JSON (`scorecard::maturity::Scorecard`).
    pub definition: String,
    /// The file it was read from.
    pub path: String,
    pub updated_at: NaiveDateTime,
}

/// Replaces the stored definitions with these (those gone are deleted with their results; snapshots and level
/// changes stay as history).
pub fn replace_scorecards(conn: &mut DbConnection, rows: &[ScorecardRow]) -> QueryResult<()> {
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    diesel::delete(scorecards::table.filter(scorecards::name.ne_all(&names))).execute(conn)?;
    diesel::delete(scorecard_results::table.filter(scorecard_results::scorecard.ne_all(&names))).execute(conn)?;
    for row in rows {
        diesel::delete(scorecards::table.find(&row.name)).execute(conn)?;
        diesel::insert_into(scorecards::table).values(row).execute(conn)?;
    }
    crate::stats::increment(conn, crate::stats::SCORECARDS)?;
    Ok(())
}

/// Every definition, by name.
pub fn all_scorecards(conn: &mut DbConnection) -> QueryResult<Vec<ScorecardRow>> {
    scorecards::table.order(scorecards::name).select(ScorecardRow::as_select()).load(conn)
}

pub fn scorecard(conn: &mut DbConnection, name: &str) -> QueryResult<Option<ScorecardRow>> {
    scorecards::table.find(name).select(ScorecardRow::as_select()).first(conn).optional()
}

/// One entity's latest result against one scorecard.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = scorecard_results, treat_none_as_default_value = false)]
pub struct ResultRow {
    pub scorecard: String,
    pub entity_ref: String,
    pub owner_ref: Option<String>,
    /// The index of the highest level reached, or [`NO_LEVEL`].
    pub level: i32,
    /// The JSON list of every rule's result.
    pub rules: String,
    /// How many rules did not pass.
    pub failing: i32,
    /// The lowest error budget left among its SLOs, when it has any with data.
    pub budget_remaining: Option<f64>,
    pub evaluated_at: NaiveDateTime,
}

/// Replaces every result of one scorecard with these, and records the level changes against what was stored.
/// Returns the number of level changes.
pub fn replace_results(
    conn: &mut DbConnection,
    scorecard: &str,
    rows: &[ResultRow],
    at: NaiveDateTime,
) -> QueryResult<usize> {
    let before: HashMap<String, i32> = scorecard_results::table
        .filter(scorecard_results::scorecard.eq(scorecard))
        .select((scorecard_results::entity_ref, scorecard_results::level))
        .load::<(String, i32)>(conn)?
        .into_iter()
        .collect();
    let changes: Vec<_> = rows
        .iter()
        .filter(|row| before.get(&row.entity_ref) != Some(&row.level))
        .map(|row| {
            (
                scorecard_level_changes::scorecard.eq(scorecard),
                scorecard_level_changes::entity_ref.eq(&row.entity_ref),
                scorecard_level_changes::from_level.eq(before.get(&row.entity_ref).copied()),
                scorecard_level_changes::to_level.eq(row.level),
                scorecard_level_changes::at.eq(at),
            )
        })
        .collect();
    diesel::delete(scorecard_results::table.filter(scorecard_results::scorecard.eq(scorecard))).execute(conn)?;
    insert_all!(&mut *conn, scorecard_results::table, rows, 1000)?;
    insert_all!(&mut *conn, scorecard_level_changes::table, &changes, 1000)?;
    crate::stats::increment(conn, crate::stats::SCORECARDS)?;
    Ok(changes.len())
}

/// [`replace_results`] writing only what changed, for the periodic evaluation whose results mostly stay: the rows
/// whose owner, level, rules, failing count or budget differ from the stored ones are rewritten, new ones inserted,
/// those not given deleted, and every row's `evaluated_at` set to `at` (one statement). Records the level changes
/// the same way; returns their number. The `SCORECARDS` stat moves only when a result changed.
pub fn sync_results(
    conn: &mut DbConnection,
    scorecard: &str,
    rows: &[ResultRow],
    at: NaiveDateTime,
) -> QueryResult<usize> {
    use std::collections::HashSet;
    let stored = stored_fingerprints(conn, scorecard)?;
    let given: HashSet<&str> = rows.iter().map(|row| row.entity_ref.as_str()).collect();
    let gone: Vec<&str> = stored.keys().map(String::as_str).filter(|entity| !given.contains(entity)).collect();
    let mut rewritten: Vec<&str> = Vec::new();
    let mut written: Vec<ResultRow> = Vec::new();
    let mut changes = Vec::new();
    for row in rows {
        let before = stored.get(&row.entity_ref);
        if before.map(|(level, _)| *level) != Some(row.level) {
            changes.push((
                scorecard_level_changes::scorecard.eq(scorecard),
                scorecard_level_changes::entity_ref.eq(&row.entity_ref),
                scorecard_level_changes::from_level.eq(before.map(|(level, _)| *level)),
                scorecard_level_changes::to_level.eq(row.level),
                scorecard_level_changes::at.eq(at),
            ));
        }
        let same = before.is_some_and(|(_, fingerprint)| *fingerprint == result_fingerprint(row));
        if !same {
            if before.is_some() {
                rewritten.push(&row.entity_ref);
            }
            written.push(ResultRow { evaluated_at: at, ..row.clone() });
        }
    }
    for chunk in gone.chunks(500).chain(rewritten.chunks(500)) {
        diesel::delete(
            scorecard_results::table
                .filter(scorecard_results::scorecard.eq(scorecard))
                .filter(scorecard_results::entity_ref.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    insert_all!(&mut *conn, scorecard_results::table, &written, 1000)?;
    // The rows just written carry `at` already.
    diesel::update(
        scorecard_results::table
            .filter(scorecard_results::scorecard.eq(scorecard))
            .filter(scorecard_results::evaluated_at.ne(at)),
    )
    .set(scorecard_results::evaluated_at.eq(at))
    .execute(conn)?;
    insert_all!(&mut *conn, scorecard_level_changes::table, &changes, 1000)?;
    // The rollups rebuild only when a result changed, not for a new `evaluated_at` alone; one entity's results
    // are shown with it.
    if !written.is_empty() || !gone.is_empty() || !changes.is_empty() {
        crate::stats::increment(conn, crate::stats::SCORECARDS)?;
    }
    crate::stats::increment(conn, crate::stats::SCORECARD_RESULTS)?;
    Ok(changes.len())
}

/// What a result is compared by: a hash of everything [`sync_results`] rewrites a row for (not `evaluated_at`).
fn result_fingerprint(row: &ResultRow) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (&row.owner_ref, row.level, &row.rules, row.failing, row.budget_remaining.map(f64::to_bits)).hash(&mut hasher);
    hasher.finish()
}

/// `entity_ref → (level, fingerprint)` of every stored result of one scorecard, read a page at a time: the rules of a
/// scorecard's results (tens of MB at 50,000 services) are never all in memory at once.
fn stored_fingerprints(conn: &mut DbConnection, scorecard: &str) -> QueryResult<HashMap<String, (i32, u64)>> {
    const PAGE: i64 = 2_000;
    let mut stored = HashMap::new();
    let mut after = String::new();
    loop {
        let page: Vec<ResultRow> = scorecard_results::table
            .filter(scorecard_results::scorecard.eq(scorecard))
            .filter(scorecard_results::entity_ref.gt(&after))
            .order(scorecard_results::entity_ref)
            .limit(PAGE)
            .select(ResultRow::as_select())
            .load(conn)?;
        let Some(last) = page.last() else { break };
        after.clone_from(&last.entity_ref);
        let full = page.len() == PAGE as usize;
        for row in page {
            let fingerprint = result_fingerprint(&row);
            stored.insert(row.entity_ref, (row.level, fingerprint));
        }
        if !full {
            break;
        }
    }
    Ok(stored)
}

/// Every result of one scorecard.
pub fn results_of(conn: &mut DbConnection, scorecard: &str) -> QueryResult<Vec<ResultRow>> {
    scorecard_results::table
        .filter(scorecard_results::scorecard.eq(scorecard))
        .order(scorecard_results::entity_ref)
        .select(ResultRow::as_select())
        .load(conn)
}

/// Every result of one entity, by scorecard.
pub fn results_of_entity(conn: &mut DbConnection, entity_ref: &str) -> QueryResult<Vec<ResultRow>> {
    scorecard_results::table
        .filter(scorecard_results::entity_ref.eq(entity_ref))
        .order(scorecard_results::scorecard)
        .select(ResultRow::as_select())
        .load(conn)
}

/// The results of entities owned by these owners (a team's subtree), every scorecard.
pub fn results_of_owners(conn: &mut DbConnection, owners: &[String]) -> QueryResult<Vec<ResultRow>> {
    let mut found = Vec::new();
    for chunk in owners.chunks(500) {
        found.extend(
            scorecard_results::table
                .filter(scorecard_results::owner_ref.eq_any(chunk))
                .order((scorecard_results::scorecard, scorecard_results::entity_ref))
                .select(ResultRow::as_select())
                .load(conn)?,
        );
    }
    Ok(found)
}

/// The results of these entities, every scorecard (a page's worth of refs at a time).
pub fn results_of_entities(conn: &mut DbConnection, refs: &[String]) -> QueryResult<Vec<ResultRow>> {
    let mut found = Vec::new();
    for chunk in refs.chunks(500) {
        found.extend(
            scorecard_results::table
                .filter(scorecard_results::entity_ref.eq_any(chunk))
                .order((scorecard_results::scorecard, scorecard_results::entity_ref))
                .select(ResultRow::as_select())
                .load(conn)?,
        );
    }
    Ok(found)
}

/// The next `limit` results of one scorecard after the entity `after` (from the first when `None`), by entity ref,
/// of every entity or of those owned by `owners`: an export reads them page by page.
pub fn results_after(
    conn: &mut DbConnection,
    scorecard: &str,
    owners: Option<&[String]>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ResultRow>> {
    let mut query = scorecard_results::table
        .filter(scorecard_results::scorecard.eq(scorecard))
        .order(scorecard_results::entity_ref)
        .limit(limit)
        .select(ResultRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(scorecard_results::entity_ref.gt(after));
    }
    if let Some(owners) = owners {
        query = query.filter(scorecard_results::owner_ref.eq_any(owners));
    }
    query.load(conn)
}

/// One page of the results of one scorecard for entities owned by these owners (a team's subtree), by entity ref.
pub fn results_of_owners_page(
    conn: &mut DbConnection,
    scorecard: &str,
    owners: &[String],
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<ResultRow>> {
    scorecard_results::table
        .filter(scorecard_results::scorecard.eq(scorecard).and(scorecard_results::owner_ref.eq_any(owners)))
        .order(scorecard_results::entity_ref)
        .offset(offset)
        .limit(limit)
        .select(ResultRow::as_select())
        .load(conn)
}

/// What a snapshot rolls up of one result: its owner, level and budget, without the rules.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = scorecard_results)]
pub struct ResultLevel {
    pub owner_ref: Option<String>,
    pub level: i32,
    pub budget_remaining: Option<f64>,
}

/// The owner, level and budget of every result of one scorecard.
pub fn result_levels(conn: &mut DbConnection, scorecard: &str) -> QueryResult<Vec<ResultLevel>> {
    scorecard_results::table
        .filter(scorecard_results::scorecard.eq(scorecard))
        .select(ResultLevel::as_select())
        .load(conn)
}

/// One day's rollup of one owner at one level.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = scorecard_snapshots)]
pub struct SnapshotRow {
    pub scorecard: String,
    /// The start of the day (UTC).
    pub taken_on: NaiveDateTime,
    pub owner_ref: String,
    pub level: i32,
    pub entities: i32,
    pub budget_sum: f64,
    pub budget_count: i32,
    pub budget_min: Option<f64>,
}

/// Replaces one day's snapshot of one scorecard (taking it again the same day replaces it).
pub fn replace_snapshot(
    conn: &mut DbConnection,
    scorecard: &str,
    taken_on: NaiveDateTime,
    rows: &[SnapshotRow],
) -> QueryResult<()> {
    diesel::delete(
        scorecard_snapshots::table
            .filter(scorecard_snapshots::scorecard.eq(scorecard).and(scorecard_snapshots::taken_on.eq(taken_on))),
    )
    .execute(conn)?;
    for chunk in rows.chunks(1000) {
        with_backend!(&mut *conn, |c| diesel::insert_into(scorecard_snapshots::table).values(chunk).execute(c))?;
    }
    crate::stats::increment(conn, crate::stats::SCORECARDS)?;
    Ok(())
}

/// The snapshots of one scorecard from `since` on, oldest first.
pub fn snapshots_since(
    conn: &mut DbConnection,
    scorecard: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<SnapshotRow>> {
    scorecard_snapshots::table
        .filter(scorecard_snapshots::scorecard.eq(scorecard).and(scorecard_snapshots::taken_on.ge(since)))
        .order((scorecard_snapshots::taken_on, scorecard_snapshots::owner_ref, scorecard_snapshots::level))
        .select(SnapshotRow::as_select())
        .load(conn)
}

/// The snapshot rows of one scorecard on one day.
pub fn snapshot_on(conn: &mut DbConnection, scorecard: &str, day: NaiveDateTime) -> QueryResult<Vec<SnapshotRow>> {
    scorecard_snapshots::table
        .filter(scorecard_snapshots::scorecard.eq(scorecard).and(scorecard_snapshots::taken_on.eq(day)))
        .order((scorecard_snapshots::owner_ref, scorecard_snapshots::level))
        .select(SnapshotRow::as_select())
        .load(conn)
}

/// A snapshot day's rows at one level added up over owners: every owner, or those of a team's subtree.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotTotal {
    pub taken_on: NaiveDateTime,
    pub level: i32,
    pub entities: i64,
    pub budget_sum: f64,
    pub budget_count: i64,
}

/// The snapshots of one scorecard from `since` on, added up per day and level over every owner (`owners: None`) or
/// over these owners; oldest first.
pub fn snapshot_totals_since(
    conn: &mut DbConnection,
    scorecard: &str,
    since: NaiveDateTime,
    owners: Option<&[String]>,
) -> QueryResult<Vec<SnapshotTotal>> {
    use diesel::dsl::sum;
    let mut query = scorecard_snapshots::table
        .filter(scorecard_snapshots::scorecard.eq(scorecard).and(scorecard_snapshots::taken_on.ge(since)))
        .group_by((scorecard_snapshots::taken_on, scorecard_snapshots::level))
        .select((
            scorecard_snapshots::taken_on,
            scorecard_snapshots::level,
            sum(scorecard_snapshots::entities),
            sum(scorecard_snapshots::budget_sum),
            sum(scorecard_snapshots::budget_count),
        ))
        .order((scorecard_snapshots::taken_on, scorecard_snapshots::level))
        .into_boxed();
    if let Some(owners) = owners {
        query = query.filter(scorecard_snapshots::owner_ref.eq_any(owners));
    }
    type Summed = (NaiveDateTime, i32, Option<i64>, Option<f64>, Option<i64>);
    let rows: Vec<Summed> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(taken_on, level, entities, budget_sum, budget_count)| SnapshotTotal {
            taken_on,
            level,
            entities: entities.unwrap_or(0),
            budget_sum: budget_sum.unwrap_or(0.0),
            budget_count: budget_count.unwrap_or(0),
        })
        .collect())
}

/// The newest snapshot day of a scorecard at or before `at`.
pub fn snapshot_day_at_or_before(
    conn: &mut DbConnection,
    scorecard: &str,
    at: NaiveDateTime,
) -> QueryResult<Option<NaiveDateTime>> {
    scorecard_snapshots::table
        .filter(scorecard_snapshots::scorecard.eq(scorecard).and(scorecard_snapshots::taken_on.le(at)))
        .select(diesel::dsl::max(scorecard_snapshots::taken_on))
        .first(conn)
}

/// A level change as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = scorecard_level_changes)]
pub struct LevelChangeRow {
    pub id: i64,
    pub scorecard: String,
    pub entity_ref: String,
    pub from_level: Option<i32>,
    pub to_level: i32,
    pub at: NaiveDateTime,
}

/// The level changes of one entity, newest first.
pub fn level_changes_of_entity(
    conn: &mut DbConnection,
    entity_ref: &str,
    limit: i64,
) -> QueryResult<Vec<LevelChangeRow>> {
    scorecard_level_changes::table
        .filter(scorecard_level_changes::entity_ref.eq(entity_ref))
        .order((scorecard_level_changes::at.desc(), scorecard_level_changes::id.desc()))
        .limit(limit)
        .select(LevelChangeRow::as_select())
        .load(conn)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::test_support::TestDb;

    fn result(entity: &str, level: i32, at: NaiveDateTime) -> ResultRow {
        ResultRow {
            scorecard: "readiness".to_owned(),
            entity_ref: entity.to_owned(),
            owner_ref: Some("group:default/a".to_owned()),
            level,
            rules: "[]".to_owned(),
            failing: 0,
            budget_remaining: Some(0.5),
            evaluated_at: at,
        }
    }

    #[test]
    fn results_replace_and_level_changes_are_kept() {
        for db in TestDb::all() {
            let name = db.backend_name();
            let mut conn = db.store.conn().expect("conn");
            let now = crate::now();
            let first = [result("component:default/x", 0, now), result("component:default/y", NO_LEVEL, now)];
            assert_eq!(replace_results(&mut conn, "readiness", &first, now), Ok(2), "{name}: new entities change");
            assert_eq!(replace_results(&mut conn, "readiness", &first, now), Ok(0), "{name}: same levels");
            let later = now + Duration::hours(1);
            let second = [result("component:default/x", 2, later), result("component:default/y", NO_LEVEL, later)];
            assert_eq!(replace_results(&mut conn, "readiness", &second, later), Ok(1));
            let changes = level_changes_of_entity(&mut conn, "component:default/x", 10).expect("changes");
            let steps: Vec<(Option<i32>, i32)> = changes.iter().map(|c| (c.from_level, c.to_level)).collect();
            assert_eq!(steps, [(Some(0), 2), (None, 0)], "{name}: newest first");
            assert_eq!(results_of(&mut conn, "readiness").expect("results").len(), 2);
            assert_eq!(results_of_entity(&mut conn, "component:default/x").expect("results")[0].level, 2);
            let owned = results_of_owners(&mut conn, &["group:default/a".to_owned()]).expect("owned");
            assert_eq!(owned.len(), 2);
        }
    }

    #[test]
    fn sync_rewrites_what_changed_and_times_every_row() {
        for db in TestDb::all() {
            let name = db.backend_name();
            let mut conn = db.store.conn().expect("conn");
            let now = crate::now();
            let first = [result("component:default/x", 0, now), result("component:default/y", 1, now)];
            assert_eq!(sync_results(&mut conn, "readiness", &first, now), Ok(2), "{name}: new entities change");
            let later = now + Duration::minutes(5);
            let mut moved = result("component:default/y", 1, later);
            moved.rules = r#"[{"rule":"r"}]"#.to_owned();
            let second = [moved.clone(), result("component:default/z", NO_LEVEL, later)];
            assert_eq!(sync_results(&mut conn, "readiness", &second, later), Ok(1), "{name}: z is new");
            let stored = results_of(&mut conn, "readiness").expect("results");
            assert_eq!(stored.len(), 2, "{name}: x is gone");
            assert_eq!(stored[0], moved, "{name}: y rewritten");
            assert!(stored.iter().all(|r| r.evaluated_at == later), "{name}: every row evaluated now");
            let even_later = later + Duration::minutes(5);
            assert_eq!(sync_results(&mut conn, "readiness", &second, even_later), Ok(0), "{name}");
            let stored = results_of(&mut conn, "readiness").expect("results");
            assert!(stored.iter().all(|r| r.evaluated_at == even_later), "{name}: unchanged rows too");
            let changes = level_changes_of_entity(&mut conn, "component:default/y", 10).expect("changes");
            assert_eq!(changes.len(), 1, "{name}: y's level never moved");
        }
    }

    #[test]
    fn sync_compares_stored_results_beyond_the_first_page() {
        for db in TestDb::all() {
            let name = db.backend_name();
            let mut conn = db.store.conn().expect("conn");
            let now = crate::now();
            let first: Vec<ResultRow> =
                (0..2_500).map(|i| result(&format!("component:default/svc-{i:04}"), 1, now)).collect();
            assert_eq!(sync_results(&mut conn, "readiness", &first, now), Ok(2_500), "{name}");
            // In the second page (by reference): one result's budget moves, one entity goes.
            let later = now + Duration::minutes(5);
            let mut second: Vec<ResultRow> = first
                .iter()
                .filter(|r| r.entity_ref != "component:default/svc-2400")
                .map(|r| ResultRow { evaluated_at: later, ..r.clone() })
                .collect();
            second[2_300].budget_remaining = Some(0.25);
            assert_eq!(sync_results(&mut conn, "readiness", &second, later), Ok(0), "{name}: no level moved");
            let stored = results_of(&mut conn, "readiness").expect("results");
            assert_eq!(stored, second, "{name}: the budget rewritten, svc-2400 gone, the rest as they were");
        }
    }

    #[test]
    fn snapshots_replace_per_day_and_definitions_replace_all() {
        for db in TestDb::all() {
            let mut conn = db.store.conn().expect("conn");
            let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).and_then(|d| d.and_hms_opt(0, 0, 0)).expect("day");
            let row = |entities: i32| SnapshotRow {
                scorecard: "readiness".to_owned(),
                taken_on: day,
                owner_ref: "group:default/a".to_owned(),
                level: 1,
                entities,
                budget_sum: 0.5,
                budget_count: 1,
                budget_min: Some(0.5),
            };
            replace_snapshot(&mut conn, "readiness", day, &[row(3)]).expect("snapshot");
            replace_snapshot(&mut conn, "readiness", day, &[row(4)]).expect("again the same day");
            let rows = snapshots_since(&mut conn, "readiness", day).expect("rows");
            assert_eq!(rows.iter().map(|r| r.entities).collect::<Vec<_>>(), [4], "{}", db.backend_name());
            assert_eq!(snapshot_day_at_or_before(&mut conn, "readiness", day + Duration::days(7)), Ok(Some(day)));
            assert_eq!(snapshot_day_at_or_before(&mut conn, "readiness", day - Duration::days(1)), Ok(None));

            let def = |name: &str| ScorecardRow {
                name: name.to_owned(),
                title: name.to_owned(),
                description: String::new(),
                definition: "{}".to_owned(),
                path: "/s.yaml".to_owned(),
                updated_at: crate::now(),
            };
            replace_scorecards(&mut conn, &[def("readiness"), def("slos")]).expect("defs");
            replace_results(&mut conn, "readiness", &[result("component:default/x", 1, crate::now())], crate::now())
                .expect("results");
            replace_scorecards(&mut conn, &[def("slos")]).expect("one gone");
            assert_eq!(all_scorecards(&mut conn).expect("all").len(), 1);
            assert!(results_of(&mut conn, "readiness").expect("results").is_empty(), "its results went with it");
            assert!(scorecard(&mut conn, "slos").expect("one").is_some());
        }
    }
    #[test]
    fn pages_read_totals_days_and_slices_and_see_the_version_move() {
        for db in TestDb::all() {
            let name = db.backend_name();
            let mut conn = db.store.conn().expect("conn");
            let version = |conn: &mut DbConnection| crate::stats::get(conn, crate::stats::SCORECARDS).expect("stats");
            assert_eq!(version(&mut conn), None);
            let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).and_then(|d| d.and_hms_opt(0, 0, 0)).expect("day");
            let row = |day: NaiveDateTime, owner: &str, level: i32, entities: i32, budget: (f64, i32)| SnapshotRow {
                scorecard: "readiness".to_owned(),
                taken_on: day,
                owner_ref: owner.to_owned(),
                level,
                entities,
                budget_sum: budget.0,
                budget_count: budget.1,
                budget_min: None,
            };
            let next = day + Duration::days(1);
            replace_snapshot(
                &mut conn,
                "readiness",
                day,
                &[row(day, "group:default/a", 0, 2, (0.5, 2)), row(day, "group:default/b", 0, 3, (0.25, 1))],
            )
            .expect("snapshot");
            replace_snapshot(&mut conn, "readiness", next, &[row(next, "group:default/b", NO_LEVEL, 1, (0.0, 0))])
                .expect("snapshot");
            assert_eq!(version(&mut conn), Some(2), "{name}: each write moves the version");
            let totals = snapshot_totals_since(&mut conn, "readiness", day, None).expect("totals");
            let summed: Vec<(NaiveDateTime, i32, i64, i64)> =
                totals.iter().map(|t| (t.taken_on, t.level, t.entities, t.budget_count)).collect();
            assert_eq!(summed, [(day, 0, 5, 3), (next, NO_LEVEL, 1, 0)], "{name}");
            assert!((totals[0].budget_sum - 0.75).abs() < 1e-9);
            let only_a = snapshot_totals_since(&mut conn, "readiness", day, Some(&["group:default/a".to_owned()]))
                .expect("totals");
            assert_eq!(only_a.iter().map(|t| t.entities).collect::<Vec<_>>(), [2], "{name}");
            assert_eq!(snapshot_on(&mut conn, "readiness", next).expect("day").len(), 1);

            let now = crate::now();
            let rows: Vec<ResultRow> = ["x", "y", "z"]
                .iter()
                .map(|e| ResultRow {
                    owner_ref: Some(format!("group:default/{e}")),
                    ..result(&format!("component:default/{e}"), 0, now)
                })
                .collect();
            replace_results(&mut conn, "readiness", &rows, now).expect("results");
            assert_eq!(version(&mut conn), Some(3));
            let some =
                results_of_entities(&mut conn, &["component:default/x".to_owned(), "component:default/z".to_owned()])
                    .expect("results");
            assert_eq!(
                some.iter().map(|r| r.entity_ref.as_str()).collect::<Vec<_>>(),
                ["component:default/x", "component:default/z"]
            );
            let owners = ["group:default/x", "group:default/y", "group:default/z"].map(str::to_owned);
            let after = results_after(&mut conn, "readiness", None, Some("component:default/x"), 5).expect("after");
            assert_eq!(after.len(), 2, "{name}");
            let first = results_after(&mut conn, "readiness", Some(&owners[1..]), None, 1).expect("first");
            assert_eq!(first.iter().map(|r| r.entity_ref.as_str()).collect::<Vec<_>>(), ["component:default/y"]);
            let page = results_of_owners_page(&mut conn, "readiness", &owners, 1, 1).expect("page");
            assert_eq!(
                page.iter().map(|r| r.entity_ref.as_str()).collect::<Vec<_>>(),
                ["component:default/y"],
                "{name}"
            );
        }
    }
}
