//! Files that ingestion has read: where they came from, their content hash, and the problems found in them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::sources;
use crate::{DbConnection, with_backend};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sources)]
pub struct SourceRow {
    pub id: i64,
    pub path: String,
    pub root: String,
    pub content_hash: String,
    /// JSON array of the files this one reaches (Location targets).
    pub targets: String,
    /// JSON array of the files this one reads (`$text`, `$json`, `$yaml`).
    pub dependencies: String,
    /// JSON array of problems (errors and warnings) found in the file.
    pub problems: String,
    pub error_count: i32,
    pub refreshed_at: NaiveDateTime,
    /// When ingestion first failed to reach the file; `None` while it is there.
    pub missing_since: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = sources)]
pub struct SourceForm<'a> {
    pub path: &'a str,
    pub root: &'a str,
    pub content_hash: &'a str,
    pub targets: &'a str,
    pub dependencies: &'a str,
    pub problems: &'a str,
    pub error_count: i32,
    pub refreshed_at: NaiveDateTime,
}

/// Every source under one of `roots`.
pub fn under_roots(conn: &mut DbConnection, roots: &[String]) -> QueryResult<Vec<SourceRow>> {
    sources::table.filter(sources::root.eq_any(roots)).select(SourceRow::as_select()).load(conn)
}

pub fn by_id(conn: &mut DbConnection, id: i64) -> QueryResult<Option<SourceRow>> {
    sources::table.find(id).select(SourceRow::as_select()).first(conn).optional()
}

/// Inserts the source or replaces what is known of it; returns its id.
pub fn save(conn: &mut DbConnection, form: &SourceForm<'_>) -> QueryResult<i64> {
    with_backend!(conn, |c| diesel::insert_into(sources::table)
        .values(form)
        .on_conflict(sources::path)
        .do_update()
        .set((form, sources::missing_since.eq(None::<NaiveDateTime>)))
        .returning(sources::id)
        .get_result(c))
}

/// Inserts or replaces many sources at once; returns `(id, path)` of each.
pub fn save_many(conn: &mut DbConnection, forms: &[SourceForm<'_>]) -> QueryResult<Vec<(i64, String)>> {
    use diesel::upsert::excluded;
    let mut saved = Vec::with_capacity(forms.len());
    for chunk in forms.chunks(500) {
        saved.extend(with_backend!(&mut *conn, |c| diesel::insert_into(sources::table)
            .values(chunk)
            .on_conflict(sources::path)
            .do_update()
            .set((
                sources::root.eq(excluded(sources::root)),
                sources::content_hash.eq(excluded(sources::content_hash)),
                sources::targets.eq(excluded(sources::targets)),
                sources::dependencies.eq(excluded(sources::dependencies)),
                sources::problems.eq(excluded(sources::problems)),
                sources::error_count.eq(excluded(sources::error_count)),
                sources::refreshed_at.eq(excluded(sources::refreshed_at)),
                sources::missing_since.eq(None::<NaiveDateTime>),
            ))
            .returning((sources::id, sources::path))
            .get_results::<(i64, String)>(c))?);
    }
    Ok(saved)
}

/// Notes that these sources were not reached (from `at`, unless already noted); returns how many were newly noted.
pub fn mark_missing(conn: &mut DbConnection, ids: &[i64], at: NaiveDateTime) -> QueryResult<usize> {
    let mut marked = 0;
    for chunk in ids.chunks(500) {
        marked +=
            diesel::update(sources::table.filter(sources::id.eq_any(chunk).and(sources::missing_since.is_null())))
                .set(sources::missing_since.eq(at))
                .execute(conn)?;
    }
    Ok(marked)
}

/// Notes that these sources are reached again.
pub fn mark_present(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<usize> {
    let mut marked = 0;
    for chunk in ids.chunks(500) {
        marked +=
            diesel::update(sources::table.filter(sources::id.eq_any(chunk).and(sources::missing_since.is_not_null())))
                .set(sources::missing_since.eq(None::<NaiveDateTime>))
                .execute(conn)?;
    }
    Ok(marked)
}

/// Deletes sources and, through the foreign keys, every entity they alone produced.
pub fn delete(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<usize> {
    let mut deleted = 0;
    for chunk in ids.chunks(500) {
        deleted += diesel::delete(sources::table.filter(sources::id.eq_any(chunk))).execute(conn)?;
    }
    Ok(deleted)
}

pub fn error_total(conn: &mut DbConnection) -> QueryResult<i64> {
    sources::table.select(diesel::dsl::sum(sources::error_count)).first::<Option<i64>>(conn).map(|sum| sum.unwrap_or(0))
}

/// Keeps the text of a file for a format another crate reads (its documents are re-read from it).
pub fn save_document(conn: &mut DbConnection, source_id: i64, format: &str, body: &str) -> QueryResult<()> {
    use crate::schema::source_documents as docs;
    with_backend!(conn, |c| diesel::insert_into(docs::table)
        .values((docs::source_id.eq(source_id), docs::format.eq(format), docs::body.eq(body)))
        .on_conflict((docs::source_id, docs::format))
        .do_update()
        .set(docs::body.eq(body))
        .execute(c))
    .map(drop)
}

/// Forgets the kept text of the given sources for formats other than `keep` (their files no longer hold them).
pub fn drop_documents(conn: &mut DbConnection, source_id: i64, keep: &[&str]) -> QueryResult<usize> {
    use crate::schema::source_documents as docs;
    diesel::delete(docs::table.filter(docs::source_id.eq(source_id).and(docs::format.ne_all(keep)))).execute(conn)
}

/// `(path, error_count, body)` of every kept file of one format, by path.
pub fn documents(conn: &mut DbConnection, format: &str) -> QueryResult<Vec<(String, i32, String)>> {
    use crate::schema::source_documents as docs;
    docs::table
        .inner_join(sources::table)
        .filter(docs::format.eq(format))
        .order(sources::path)
        .select((sources::path, sources::error_count, docs::body))
        .load(conn)
}
