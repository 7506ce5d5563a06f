//! Entities: the full descriptor as JSON plus the columns the catalog filters, sorts and searches on; their tags;
//! and the relations each entity states, one row per direction.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{entities, entity_tags, relations};
use crate::{DbConnection, insert_all, with_backend};

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = entities)]
pub struct EntityRow {
    pub id: i64,
    pub entity_ref: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub spec_type: Option<String>,
    pub lifecycle: Option<String>,
    pub owner_ref: Option<String>,
    pub display_name: String,
    pub body: String,
    pub etag: String,
    pub source_id: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What a list shows of an entity: no descriptor body.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = entities)]
pub struct EntitySummary {
    pub id: i64,
    pub entity_ref: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub spec_type: Option<String>,
    pub lifecycle: Option<String>,
    pub owner_ref: Option<String>,
    pub display_name: String,
    pub sort_name: String,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = entities, treat_none_as_null = true)]
pub struct EntityForm {
    pub entity_ref: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub spec_type: Option<String>,
    pub lifecycle: Option<String>,
    pub owner_ref: Option<String>,
    pub display_name: String,
    pub sort_name: String,
    pub search_text: String,
    pub body: String,
    pub etag: String,
    pub source_id: i64,
    pub updated_at: NaiveDateTime,
}

/// A relation as stored: `source_ref` `relation_type` `target_ref`, all entity references in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Queryable)]
pub struct RelationRow {
    pub source_ref: String,
    pub relation_type: String,
    pub target_ref: String,
}

/// An entity with everything written alongside it.
#[derive(Debug, Clone)]
pub struct EntityWrite {
    pub form: EntityForm,
    pub tags: Vec<String>,
    pub relations: Vec<RelationRow>,
}

/// Where an existing entity came from, to decide between update and conflict.
#[derive(Debug, Clone, Queryable)]
pub struct EntityOrigin {
    pub id: i64,
    pub entity_ref: String,
    pub etag: String,
    pub source_id: i64,
}

/// Where each of these entities came from (absent ones are left out).
pub fn origins(conn: &mut DbConnection, refs: &[String]) -> QueryResult<Vec<EntityOrigin>> {
    let mut found = Vec::new();
    for chunk in refs.chunks(500) {
        found.extend(
            entities::table
                .filter(entities::entity_ref.eq_any(chunk))
                .select((entities::id, entities::entity_ref, entities::etag, entities::source_id))
                .load::<EntityOrigin>(conn)?,
        );
    }
    Ok(found)
}

/// The entities of one kind with the file each was read from: `(entity_ref, path)`, by ref.
pub fn files_of_kind(conn: &mut DbConnection, kind: &str) -> QueryResult<Vec<(String, String)>> {
    entities::table
        .inner_join(crate::schema::sources::table)
        .filter(entities::kind.eq(kind))
        .order(entities::entity_ref)
        .select((entities::entity_ref, crate::schema::sources::path))
        .load(conn)
}

/// The entities of one kind as `(entity_ref, display_name)`, by display name: what a picker offers.
pub fn names_of_kind(conn: &mut DbConnection, kind: &str) -> QueryResult<Vec<(String, String)>> {
    entities::table
        .filter(entities::kind.eq(kind))
        .order((entities::sort_name, entities::entity_ref))
        .select((entities::entity_ref, entities::display_name))
        .load(conn)
}

/// The entities of these sources.
pub fn of_sources(conn: &mut DbConnection, source_ids: &[i64]) -> QueryResult<Vec<EntityOrigin>> {
    let mut found = Vec::new();
    for chunk in source_ids.chunks(500) {
        found.extend(
            entities::table
                .filter(entities::source_id.eq_any(chunk))
                .select((entities::id, entities::entity_ref, entities::etag, entities::source_id))
                .load::<EntityOrigin>(conn)?,
        );
    }
    Ok(found)
}

/// How many entities each of these sources holds (sources without entities are absent).
pub fn count_by_source(conn: &mut DbConnection, source_ids: &[i64]) -> QueryResult<i64> {
    let mut total = 0;
    for chunk in source_ids.chunks(500) {
        total += entities::table.filter(entities::source_id.eq_any(chunk)).count().get_result::<i64>(conn)?;
    }
    Ok(total)
}

/// Inserts new entities with their tags and relations, a few statements for many entities.
pub fn insert_many(conn: &mut DbConnection, writes: &[EntityWrite], created_at: NaiveDateTime) -> QueryResult<()> {
    for chunk in writes.chunks(200) {
        let rows: Vec<_> = chunk.iter().map(|w| (&w.form, entities::created_at.eq(created_at))).collect();
        let ids: Vec<(i64, String)> = with_backend!(&mut *conn, |c| diesel::insert_into(entities::table)
            .values(rows)
            .returning((entities::id, entities::entity_ref))
            .get_results(c))?;
        let by_ref: std::collections::HashMap<&str, i64> = ids.iter().map(|(id, r)| (r.as_str(), *id)).collect();
        let children: Vec<(i64, &EntityWrite)> =
            chunk.iter().filter_map(|w| by_ref.get(w.form.entity_ref.as_str()).map(|id| (*id, w))).collect();
        write_children(conn, &children)?;
    }
    Ok(())
}

pub fn update(conn: &mut DbConnection, id: i64, write: &EntityWrite) -> QueryResult<()> {
    diesel::update(entities::table.find(id)).set(&write.form).execute(conn)?;
    diesel::delete(entity_tags::table.filter(entity_tags::entity_id.eq(id))).execute(conn)?;
    diesel::delete(relations::table.filter(relations::originating_entity_id.eq(id))).execute(conn)?;
    write_children(conn, &[(id, write)])
}

fn write_children(conn: &mut DbConnection, entities: &[(i64, &EntityWrite)]) -> QueryResult<()> {
    let tags: Vec<_> = entities
        .iter()
        .flat_map(|(id, w)| w.tags.iter().map(move |tag| (entity_tags::entity_id.eq(*id), entity_tags::tag.eq(tag))))
        .collect();
    insert_all!(&mut *conn, entity_tags::table, &tags, 1000)?;
    let relations: Vec<_> = entities
        .iter()
        .flat_map(|(id, w)| {
            w.relations.iter().map(move |r| {
                (
                    relations::originating_entity_id.eq(*id),
                    relations::source_ref.eq(&r.source_ref),
                    relations::relation_type.eq(&r.relation_type),
                    relations::target_ref.eq(&r.target_ref),
                )
            })
        })
        .collect();
    insert_all!(conn, relations::table, &relations, 500)
}

pub fn delete(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<usize> {
    let mut deleted = 0;
    for chunk in ids.chunks(500) {
        deleted += diesel::delete(entities::table.filter(entities::id.eq_any(chunk))).execute(conn)?;
    }
    Ok(deleted)
}

pub fn by_ref(conn: &mut DbConnection, entity_ref: &str) -> QueryResult<Option<EntityRow>> {
    entities::table.filter(entities::entity_ref.eq(entity_ref)).select(EntityRow::as_select()).first(conn).optional()
}

pub fn by_refs(conn: &mut DbConnection, refs: &[String]) -> QueryResult<Vec<EntitySummary>> {
    let mut found = Vec::with_capacity(refs.len());
    for chunk in refs.chunks(500) {
        found.extend(
            entities::table.filter(entities::entity_ref.eq_any(chunk)).select(EntitySummary::as_select()).load(conn)?,
        );
    }
    Ok(found)
}

pub fn tags_of(conn: &mut DbConnection, id: i64) -> QueryResult<Vec<String>> {
    entity_tags::table.filter(entity_tags::entity_id.eq(id)).order(entity_tags::tag).select(entity_tags::tag).load(conn)
}

/// The relations whose source is `entity_ref`, from whichever entity stated them, without duplicates.
pub fn relations_from(conn: &mut DbConnection, entity_ref: &str) -> QueryResult<Vec<RelationRow>> {
    relations::table
        .filter(relations::source_ref.eq(entity_ref))
        .select((relations::source_ref, relations::relation_type, relations::target_ref))
        .distinct()
        .order((relations::relation_type, relations::target_ref))
        .load(conn)
}

/// Relations that point at no entity, with the entity that states each.
pub fn unresolved_relations(conn: &mut DbConnection) -> QueryResult<Vec<RelationRow>> {
    let known = entities::table.select(entities::entity_ref);
    relations::table
        .filter(relations::target_ref.ne_all(known))
        .select((relations::source_ref, relations::relation_type, relations::target_ref))
        .distinct()
        .order((relations::source_ref, relations::relation_type, relations::target_ref))
        .load(conn)
}

pub fn count_by_kind(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    entities::table
        .group_by(entities::kind)
        .select((entities::kind, diesel::dsl::count_star()))
        .order(entities::kind)
        .load(conn)
}

/// Full rows for the given references, in no particular order.
pub fn rows_by_refs(conn: &mut DbConnection, refs: &[String]) -> QueryResult<Vec<EntityRow>> {
    let mut found = Vec::with_capacity(refs.len());
    for chunk in refs.chunks(500) {
        found.extend(
            entities::table.filter(entities::entity_ref.eq_any(chunk)).select(EntityRow::as_select()).load(conn)?,
        );
    }
    Ok(found)
}

/// The relations leaving any of `refs`, of one type or of every type, without duplicates.
pub fn relations_from_refs(
    conn: &mut DbConnection,
    refs: &[String],
    relation_type: Option<&str>,
) -> QueryResult<Vec<RelationRow>> {
    let mut found = Vec::new();
    for chunk in refs.chunks(500) {
        let mut query = relations::table
            .filter(relations::source_ref.eq_any(chunk))
            .select((relations::source_ref, relations::relation_type, relations::target_ref))
            .distinct()
            .into_boxed();
        if let Some(relation_type) = relation_type {
            query = query.filter(relations::relation_type.eq(relation_type));
        }
        found.extend(query.load::<RelationRow>(conn)?);
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// Every entity's list columns and search text, for the in-memory catalog index.
pub fn all_for_index(conn: &mut DbConnection) -> QueryResult<Vec<(EntitySummary, String)>> {
    entities::table.select((EntitySummary::as_select(), entities::search_text)).load(conn)
}

/// Every `(entity id, tag)` pair.
pub fn all_tags(conn: &mut DbConnection) -> QueryResult<Vec<(i64, String)>> {
    entity_tags::table.select((entity_tags::entity_id, entity_tags::tag)).load(conn)
}

/// `(entity_ref, body)` of the entities of one kind whose stored descriptor contains `text` (case-sensitive on
/// PostgreSQL, ASCII case-insensitive on SQLite): the few bodies worth parsing among many, such as the Components that
/// carry an annotation.
pub fn bodies_of_kind_containing(
    conn: &mut DbConnection,
    kind: &str,
    text: &str,
) -> QueryResult<Vec<(String, String)>> {
    entities::table
        .filter(entities::kind.eq(kind).and(entities::body.like(like_pattern(text)).escape('\\')))
        .select((entities::entity_ref, entities::body))
        .load(conn)
}

diesel::define_sql_function!(fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// [`bodies_of_kind_containing`] without regard to case on both backends (such as a User's email).
pub fn bodies_of_kind_containing_any_case(
    conn: &mut DbConnection,
    kind: &str,
    text: &str,
) -> QueryResult<Vec<(String, String)>> {
    entities::table
        .filter(
            entities::kind.eq(kind).and(lower(entities::body).like(like_pattern(&text.to_lowercase())).escape('\\')),
        )
        .select((entities::entity_ref, entities::body))
        .load(conn)
}

/// `%text%` with the pattern characters of `text` escaped by `\`.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// What a maturity scorecard reads of an entity: the columns its checks ask about and the descriptor (for links,
/// annotations and tags).
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = entities)]
pub struct FactsRow {
    pub entity_ref: String,
    pub kind: String,
    pub spec_type: Option<String>,
    pub lifecycle: Option<String>,
    pub owner_ref: Option<String>,
    pub description: Option<String>,
    pub body: String,
}

/// Every entity as a maturity scorecard reads it, by reference.
pub fn all_for_facts(conn: &mut DbConnection) -> QueryResult<Vec<FactsRow>> {
    entities::table.order(entities::entity_ref).select(FactsRow::as_select()).load(conn)
}

/// `(source_ref, target_ref)` of every relation of one type, whichever entity stated it, without duplicates, by
/// source then target.
pub fn all_relations_of_type(conn: &mut DbConnection, relation_type: &str) -> QueryResult<Vec<(String, String)>> {
    let mut found: Vec<(String, String)> = relations::table
        .filter(relations::relation_type.eq(relation_type))
        .select((relations::source_ref, relations::target_ref))
        .load(conn)?;
    found.sort_unstable();
    found.dedup();
    Ok(found)
}
