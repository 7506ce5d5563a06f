//! Entities: the full descriptor as JSON plus the columns the catalog filters, sorts and searches on; their tags;
//! and the relations each entity states, one row per direction.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{entities, entity_tags, relations};
use crate::{DbConnection, with_backend};

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

pub fn origin(conn: &mut DbConnection, entity_ref: &str) -> QueryResult<Option<EntityOrigin>> {
    entities::table
        .filter(entities::entity_ref.eq(entity_ref))
        .select((entities::id, entities::entity_ref, entities::etag, entities::source_id))
        .first(conn)
        .optional()
}

pub fn of_source(conn: &mut DbConnection, source_id: i64) -> QueryResult<Vec<EntityOrigin>> {
    entities::table
        .filter(entities::source_id.eq(source_id))
        .select((entities::id, entities::entity_ref, entities::etag, entities::source_id))
        .load(conn)
}

/// How many entities each of these sources holds (sources without entities are absent).
pub fn count_by_source(conn: &mut DbConnection, source_ids: &[i64]) -> QueryResult<i64> {
    let mut total = 0;
    for chunk in source_ids.chunks(500) {
        total += entities::table.filter(entities::source_id.eq_any(chunk)).count().get_result::<i64>(conn)?;
    }
    Ok(total)
}

pub fn insert(conn: &mut DbConnection, write: &EntityWrite, created_at: NaiveDateTime) -> QueryResult<i64> {
    let id: i64 = with_backend!(conn, |c| diesel::insert_into(entities::table)
        .values((&write.form, entities::created_at.eq(created_at)))
        .returning(entities::id)
        .get_result(c))?;
    write_children(conn, id, write)?;
    Ok(id)
}

pub fn update(conn: &mut DbConnection, id: i64, write: &EntityWrite) -> QueryResult<()> {
    diesel::update(entities::table.find(id)).set(&write.form).execute(conn)?;
    diesel::delete(entity_tags::table.filter(entity_tags::entity_id.eq(id))).execute(conn)?;
    diesel::delete(relations::table.filter(relations::originating_entity_id.eq(id))).execute(conn)?;
    write_children(conn, id, write)
}

fn write_children(conn: &mut DbConnection, id: i64, write: &EntityWrite) -> QueryResult<()> {
    if !write.tags.is_empty() {
        let rows: Vec<_> =
            write.tags.iter().map(|tag| (entity_tags::entity_id.eq(id), entity_tags::tag.eq(tag))).collect();
        with_backend!(&mut *conn, |c| diesel::insert_into(entity_tags::table).values(&rows).execute(c))?;
    }
    if !write.relations.is_empty() {
        let rows: Vec<_> = write
            .relations
            .iter()
            .map(|r| {
                (
                    relations::originating_entity_id.eq(id),
                    relations::source_ref.eq(&r.source_ref),
                    relations::relation_type.eq(&r.relation_type),
                    relations::target_ref.eq(&r.target_ref),
                )
            })
            .collect();
        for chunk in rows.chunks(200) {
            with_backend!(&mut *conn, |c| diesel::insert_into(relations::table).values(chunk).execute(c))?;
        }
    }
    Ok(())
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

/// Which of `refs` name an existing entity.
pub fn existing_refs(conn: &mut DbConnection, refs: &[String]) -> QueryResult<Vec<String>> {
    let mut found = Vec::new();
    for chunk in refs.chunks(500) {
        found.extend(
            entities::table
                .filter(entities::entity_ref.eq_any(chunk))
                .select(entities::entity_ref)
                .load::<String>(conn)?,
        );
    }
    Ok(found)
}

pub fn count_by_kind(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    entities::table
        .group_by(entities::kind)
        .select((entities::kind, diesel::dsl::count_star()))
        .order(entities::kind)
        .load(conn)
}

/// Which entities a list shows. Values within one dimension are alternatives; dimensions all apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityFilter {
    /// Kinds as stored (`Component`, `API`, …).
    pub kinds: Vec<String>,
    pub types: Vec<String>,
    /// Owner entity references in lower case.
    pub owners: Vec<String>,
    pub lifecycles: Vec<String>,
    pub tags: Vec<String>,
    pub namespaces: Vec<String>,
    /// Lower-case words, each of which must occur somewhere in the search text.
    pub words: Vec<String>,
}

/// A facet dimension of [`EntityFilter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    Kind,
    Type,
    Owner,
    Lifecycle,
    Tag,
}

impl EntityFilter {
    /// The same filter without the values of one dimension: a facet counts what choosing another value would show.
    pub fn without(&self, facet: Facet) -> EntityFilter {
        let mut filter = self.clone();
        match facet {
            Facet::Kind => filter.kinds.clear(),
            Facet::Type => filter.types.clear(),
            Facet::Owner => filter.owners.clear(),
            Facet::Lifecycle => filter.lifecycles.clear(),
            Facet::Tag => filter.tags.clear(),
        }
        filter
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Name,
    Kind,
}

/// Where a page starts: after the entity with this sort value and reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub sort_value: String,
    pub entity_ref: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

fn like_pattern(word: &str) -> String {
    let mut pattern = String::with_capacity(word.len() + 2);
    pattern.push('%');
    for ch in word.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// Builds the boxed, filtered query for one concrete backend.
macro_rules! filtered {
    ($filter:expr, $db:ty) => {{
        let filter: &EntityFilter = $filter;
        let mut query = entities::table.into_boxed::<$db>();
        if !filter.kinds.is_empty() {
            query = query.filter(entities::kind.eq_any(filter.kinds.clone()));
        }
        if !filter.types.is_empty() {
            query = query.filter(entities::spec_type.eq_any(filter.types.clone()));
        }
        if !filter.owners.is_empty() {
            query = query.filter(entities::owner_ref.eq_any(filter.owners.clone()));
        }
        if !filter.lifecycles.is_empty() {
            query = query.filter(entities::lifecycle.eq_any(filter.lifecycles.clone()));
        }
        if !filter.namespaces.is_empty() {
            query = query.filter(entities::namespace.eq_any(filter.namespaces.clone()));
        }
        if !filter.tags.is_empty() {
            let tagged =
                entity_tags::table.filter(entity_tags::tag.eq_any(filter.tags.clone())).select(entity_tags::entity_id);
            query = query.filter(entities::id.eq_any(tagged));
        }
        for word in &filter.words {
            query = query.filter(entities::search_text.like(like_pattern(word)).escape('\\'));
        }
        query
    }};
}

/// One page of entities in the given order, starting after `cursor`.
pub fn list(
    conn: &mut DbConnection,
    filter: &EntityFilter,
    sort: Sort,
    limit: i64,
    cursor: Option<&Cursor>,
) -> QueryResult<Vec<EntitySummary>> {
    with_backend!(conn, |c, Db| {
        let mut query = filtered!(filter, Db).select(EntitySummary::as_select());
        if let Some(cursor) = cursor {
            let value = cursor.sort_value.clone();
            let after = cursor.entity_ref.clone();
            query = match (sort.key, sort.descending) {
                (SortKey::Name, false) => query.filter(
                    entities::sort_name
                        .gt(value.clone())
                        .or(entities::sort_name.eq(value).and(entities::entity_ref.gt(after))),
                ),
                (SortKey::Name, true) => query.filter(
                    entities::sort_name
                        .lt(value.clone())
                        .or(entities::sort_name.eq(value).and(entities::entity_ref.lt(after))),
                ),
                (SortKey::Kind, false) => query.filter(
                    entities::kind.gt(value.clone()).or(entities::kind.eq(value).and(entities::entity_ref.gt(after))),
                ),
                (SortKey::Kind, true) => query.filter(
                    entities::kind.lt(value.clone()).or(entities::kind.eq(value).and(entities::entity_ref.lt(after))),
                ),
            };
        }
        query = match (sort.key, sort.descending) {
            (SortKey::Name, false) => query.order((entities::sort_name.asc(), entities::entity_ref.asc())),
            (SortKey::Name, true) => query.order((entities::sort_name.desc(), entities::entity_ref.desc())),
            (SortKey::Kind, false) => query.order((entities::kind.asc(), entities::entity_ref.asc())),
            (SortKey::Kind, true) => query.order((entities::kind.desc(), entities::entity_ref.desc())),
        };
        query.limit(limit).load(c)
    })
}

/// How many entities the filter selects.
pub fn count(conn: &mut DbConnection, filter: &EntityFilter) -> QueryResult<i64> {
    with_backend!(conn, |c, Db| filtered!(filter, Db).count().get_result(c))
}

/// The values of one dimension among the entities the filter selects, with counts, most frequent first.
pub fn facet_counts(
    conn: &mut DbConnection,
    filter: &EntityFilter,
    facet: Facet,
    limit: i64,
) -> QueryResult<Vec<(String, i64)>> {
    let mut counts: Vec<(Option<String>, i64)> = with_backend!(conn, |c, Db| {
        let selected = filtered!(filter, Db).select(entities::id);
        let within = entities::table.filter(entities::id.eq_any(selected));
        match facet {
            Facet::Kind => within
                .group_by(entities::kind)
                .select((entities::kind.nullable(), diesel::dsl::count_star()))
                .load(c)?,
            Facet::Type => {
                within.group_by(entities::spec_type).select((entities::spec_type, diesel::dsl::count_star())).load(c)?
            }
            Facet::Owner => {
                within.group_by(entities::owner_ref).select((entities::owner_ref, diesel::dsl::count_star())).load(c)?
            }
            Facet::Lifecycle => {
                within.group_by(entities::lifecycle).select((entities::lifecycle, diesel::dsl::count_star())).load(c)?
            }
            Facet::Tag => {
                let selected = filtered!(filter, Db).select(entities::id);
                entity_tags::table
                    .filter(entity_tags::entity_id.eq_any(selected))
                    .group_by(entity_tags::tag)
                    .select((entity_tags::tag.nullable(), diesel::dsl::count_star()))
                    .load(c)?
            }
        }
    });
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(counts
        .into_iter()
        .filter_map(|(value, n)| value.map(|v| (v, n)))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect())
}

/// Entities owned by any of `owners` (lower-case references), by name.
pub fn owned_by(conn: &mut DbConnection, owners: &[String], limit: i64) -> QueryResult<Vec<EntitySummary>> {
    let filter = EntityFilter { owners: owners.to_vec(), ..EntityFilter::default() };
    list(conn, &filter, Sort::default(), limit, None)
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
