//! What the catalog pages and the entities API ask of the catalog: lists with filters, search, facets and cursor
//! paging; one entity with its relations, problems and graph; a team with its subtree.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;
use store::entities::{self, EntityRow, EntitySummary};
use store::{DbConnection, sources};

use crate::descriptor::Problem;
use crate::entity::{DEFAULT_NAMESPACE, EntityRef, Kind};
use crate::golden_path::{DriftStatus, GoldenPath};
use crate::graph::{self, Layout, Neighbour};
use crate::index::CatalogIndex;

pub const DEFAULT_LIMIT: i64 = 25;
/// The query parameter of the SLO-status filter, on `/catalog` and `GET /api/v1/entities`.
pub const SLO_STATUS_PARAM: &str = "slo_status";
/// The query parameter of the golden-path filter (a Component's drift), on `/catalog` and `GET /api/v1/entities`.
pub const GOLDEN_PATH_PARAM: &str = "golden_path";
pub const MAX_LIMIT: i64 = 500;

/// Which entities a list shows. Values within one dimension are alternatives; dimensions all apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
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
    /// The worst SLO status of a Component (only Components have one).
    pub slo_statuses: Vec<SloStatus>,
    /// Where a Component stands against its golden-path template (only Components have a drift).
    pub drifts: Vec<DriftStatus>,
}

/// A Component's SLO status at a glance: the worst status of its SLOs, or [`SloStatus::NoSlos`]. The order is the
/// severity, worst first, and the order the facet lists them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SloStatus {
    /// An SLO's budget is spent.
    Exhausted,
    /// An SLO burns fast enough to alert, or has less than a quarter of its budget left.
    AtRisk,
    /// An SLO's data source fails.
    Stale,
    /// An SLO has no events in its window.
    NoData,
    /// Every SLO is within budget.
    Healthy,
    /// The Component has no SLO.
    NoSlos,
}

impl SloStatus {
    /// Every value, worst first.
    pub const ALL: [SloStatus; 6] = [
        SloStatus::Exhausted,
        SloStatus::AtRisk,
        SloStatus::Stale,
        SloStatus::NoData,
        SloStatus::Healthy,
        SloStatus::NoSlos,
    ];

    /// The value in URLs and JSON (`slo_status=at_risk`); an SLO's own statuses are written the same way.
    pub fn as_str(self) -> &'static str {
        match self {
            SloStatus::Exhausted => "exhausted",
            SloStatus::AtRisk => "at_risk",
            SloStatus::Stale => "stale",
            SloStatus::NoData => "no_data",
            SloStatus::Healthy => "healthy",
            SloStatus::NoSlos => "none",
        }
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            SloStatus::Exhausted => "Exhausted",
            SloStatus::AtRisk => "At risk",
            SloStatus::Stale => "Stale",
            SloStatus::NoData => "No data",
            SloStatus::Healthy => "Healthy",
            SloStatus::NoSlos => "No SLOs",
        }
    }

    pub fn parse(text: &str) -> Option<SloStatus> {
        let text = text.trim().to_ascii_lowercase().replace('-', "_");
        SloStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// The status of one SLO as stored (`slos.status`); an SLO never evaluated yet counts as having no data.
    pub fn of_slo(stored: Option<&str>) -> SloStatus {
        match stored.and_then(SloStatus::parse) {
            Some(SloStatus::NoSlos) | None => SloStatus::NoData,
            Some(status) => status,
        }
    }
}

/// A facet dimension of [`EntityFilter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    Kind,
    Type,
    Owner,
    Lifecycle,
    Tag,
    SloStatus,
    /// A Component's golden-path drift.
    Drift,
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
            Facet::SloStatus => filter.slo_statuses.clear(),
            Facet::Drift => filter.drifts.clear(),
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

/// A list request in domain terms, parsed from query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub filter: EntityFilter,
    pub sort: Sort,
    pub limit: i64,
    pub cursor: Option<Cursor>,
    /// The search text as typed.
    pub q: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct QueryError {
    pub field: &'static str,
    pub message: String,
}

impl ListQuery {
    /// Parses `kind`, `type`, `owner`, `lifecycle`, `tag`, `namespace`, `slo_status`, `golden_path` (each may repeat),
    /// `q`, `sort`, `limit`, `cursor`.
    pub fn parse(params: &[(String, String)]) -> Result<ListQuery, QueryError> {
        let mut query = ListQuery { limit: DEFAULT_LIMIT, ..ListQuery::default() };
        for (key, value) in params {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let filter = &mut query.filter;
            match key.as_str() {
                "kind" => {
                    let kind = Kind::parse(value)
                        .ok_or_else(|| QueryError { field: "kind", message: format!("unknown kind `{value}`") })?;
                    push_unique(&mut filter.kinds, kind.as_str().to_owned());
                }
                "type" => push_unique(&mut filter.types, value.to_owned()),
                "lifecycle" => push_unique(&mut filter.lifecycles, value.to_owned()),
                "tag" => push_unique(&mut filter.tags, value.to_lowercase()),
                "namespace" => push_unique(&mut filter.namespaces, value.to_lowercase()),
                "slo_status" => {
                    let status = SloStatus::parse(value).ok_or_else(|| QueryError {
                        field: "slo_status",
                        message: format!(
                            "unknown SLO status `{value}`; use {}",
                            SloStatus::ALL.map(SloStatus::as_str).join(", ")
                        ),
                    })?;
                    if !filter.slo_statuses.contains(&status) {
                        filter.slo_statuses.push(status);
                    }
                }
                GOLDEN_PATH_PARAM => {
                    let status = DriftStatus::parse(value).ok_or_else(|| QueryError {
                        field: GOLDEN_PATH_PARAM,
                        message: format!(
                            "unknown golden-path drift `{value}`; use {}",
                            DriftStatus::ALL.map(DriftStatus::as_str).join(", ")
                        ),
                    })?;
                    if !filter.drifts.contains(&status) {
                        filter.drifts.push(status);
                    }
                }
                "owner" => {
                    let owner = EntityRef::parse(value, Some(Kind::Group), DEFAULT_NAMESPACE)
                        .map_err(|e| QueryError { field: "owner", message: e.to_string() })?;
                    push_unique(&mut filter.owners, owner.to_string());
                }
                "q" => {
                    query.q = value.to_owned();
                    filter.words = value.split_whitespace().map(str::to_lowercase).collect();
                }
                "sort" => {
                    let (descending, key) = match value.strip_prefix('-') {
                        Some(key) => (true, key),
                        None => (false, value),
                    };
                    let key = match key {
                        "name" => SortKey::Name,
                        "kind" => SortKey::Kind,
                        other => {
                            return Err(QueryError {
                                field: "sort",
                                message: format!("`{other}` is not a sort; use name, kind, -name or -kind"),
                            });
                        }
                    };
                    query.sort = Sort { key, descending };
                }
                "limit" => {
                    query.limit =
                        value.parse::<i64>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                            QueryError {
                                field: "limit",
                                message: format!("must be a whole number from 1 to {MAX_LIMIT}"),
                            }
                        })?;
                }
                "cursor" => {
                    query.cursor = Some(decode_cursor(value).ok_or_else(|| QueryError {
                        field: "cursor",
                        message: "is not a cursor this catalog gave out".to_owned(),
                    })?);
                }
                _ => {}
            }
        }
        Ok(query)
    }

    /// The parameters that reproduce this query's filter (no cursor), for links.
    pub fn filter_params(&self) -> Vec<(&'static str, String)> {
        let f = &self.filter;
        let mut params = Vec::new();
        params.extend(f.kinds.iter().map(|v| ("kind", v.to_lowercase())));
        params.extend(f.types.iter().map(|v| ("type", v.clone())));
        params.extend(f.owners.iter().map(|v| ("owner", v.clone())));
        params.extend(f.lifecycles.iter().map(|v| ("lifecycle", v.clone())));
        params.extend(f.tags.iter().map(|v| ("tag", v.clone())));
        params.extend(f.namespaces.iter().map(|v| ("namespace", v.clone())));
        params.extend(f.slo_statuses.iter().map(|v| (SLO_STATUS_PARAM, v.as_str().to_owned())));
        params.extend(f.drifts.iter().map(|v| (GOLDEN_PATH_PARAM, v.as_str().to_owned())));
        if !self.q.is_empty() {
            params.push(("q", self.q.clone()));
        }
        if self.sort != Sort::default() {
            let key = match self.sort.key {
                SortKey::Name => "name",
                SortKey::Kind => "kind",
            };
            params.push(("sort", if self.sort.descending { format!("-{key}") } else { key.to_owned() }));
        }
        params
    }
}

fn push_unique(values: &mut Vec<String>, value: String) {
    if !values.contains(&value) {
        values.push(value);
    }
}

pub fn encode_cursor(cursor: &Cursor) -> String {
    hex::encode(format!("{}\n{}", cursor.sort_value, cursor.entity_ref))
}

fn decode_cursor(text: &str) -> Option<Cursor> {
    let bytes = hex::decode(text).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (sort_value, entity_ref) = text.split_once('\n')?;
    Some(Cursor { sort_value: sort_value.to_owned(), entity_ref: entity_ref.to_owned() })
}

/// One row of a list: the entity's list columns and its owner's display name.
#[derive(Debug, Clone)]
pub struct ListItem {
    pub entity: EntitySummary,
    pub owner: Option<OwnerLabel>,
    /// A Component's worst SLO status; `None` for other kinds.
    pub slo_status: Option<SloStatus>,
    /// A Component's golden-path drift; `None` for other kinds.
    pub golden_path: Option<GoldenPath>,
}

impl ListItem {
    /// The entity's page, `/catalog/{namespace}/{kind}/{name}`.
    pub fn path(&self) -> String {
        entity_path(&self.entity.namespace, &self.entity.kind, &self.entity.name)
    }
}

pub fn entity_path(namespace: &str, kind: &str, name: &str) -> String {
    format!("/catalog/{}/{}/{}", namespace, kind.to_lowercase(), name)
}

/// An owner reference with a name a person reads, and whether it resolves.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OwnerLabel {
    pub entity_ref: String,
    pub display_name: String,
    pub path: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FacetValue {
    pub value: String,
    pub label: String,
    pub count: i64,
    pub selected: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FacetGroup {
    /// The query parameter it sets.
    pub name: &'static str,
    /// Its heading.
    pub title: &'static str,
    pub values: Vec<FacetValue>,
}

#[derive(Debug, Clone)]
pub struct ListPage {
    pub items: Vec<ListItem>,
    pub total: i64,
    pub next_cursor: Option<String>,
}

/// One page of the list, from the in-memory index.
pub fn list(index: &CatalogIndex, query: &ListQuery) -> ListPage {
    let page = index.page(query);
    ListPage { items: with_owners(index, page.items), total: page.total, next_cursor: page.next_cursor }
}

/// Turns summaries into list items with their owners' display names.
pub fn with_owners(index: &CatalogIndex, rows: Vec<&EntitySummary>) -> Vec<ListItem> {
    rows.into_iter()
        .map(|r| ListItem {
            owner: r.owner_ref.as_deref().map(|o| owner_label(index, o)),
            slo_status: index.slo_status(&r.entity_ref),
            golden_path: index.golden_path(&r.entity_ref),
            entity: r.clone(),
        })
        .collect()
}

fn owner_label(index: &CatalogIndex, entity_ref: &str) -> OwnerLabel {
    match index.get(entity_ref) {
        Some(e) => OwnerLabel {
            entity_ref: entity_ref.to_owned(),
            display_name: e.display_name.clone(),
            path: Some(entity_path(&e.namespace, &e.kind, &e.name)),
        },
        None => OwnerLabel { entity_ref: entity_ref.to_owned(), display_name: humanize_ref(entity_ref), path: None },
    }
}

fn humanize_ref(entity_ref: &str) -> String {
    entity_ref.split_once(':').map_or(entity_ref, |(_, rest)| rest).trim_start_matches("default/").to_owned()
}

/// Facet counts for the list: each dimension counted without its own selection.
pub fn facets(index: &CatalogIndex, query: &ListQuery) -> Vec<FacetGroup> {
    let f = &query.filter;
    index
        .select(f)
        .facets
        .iter()
        .map(|(facet, counts)| {
            let facet = *facet;
            let slo_statuses: Vec<String>;
            let drifts: Vec<String>;
            let (name, title, selected) = match facet {
                Facet::Kind => ("kind", "kind", &f.kinds),
                Facet::Type => ("type", "type", &f.types),
                Facet::Owner => ("owner", "owner", &f.owners),
                Facet::Lifecycle => ("lifecycle", "lifecycle", &f.lifecycles),
                Facet::Tag => ("tag", "tag", &f.tags),
                Facet::SloStatus => {
                    slo_statuses = f.slo_statuses.iter().map(|s| s.as_str().to_owned()).collect();
                    (SLO_STATUS_PARAM, "SLO status", &slo_statuses)
                }
                Facet::Drift => {
                    drifts = f.drifts.iter().map(|s| s.as_str().to_owned()).collect();
                    (GOLDEN_PATH_PARAM, "Golden path", &drifts)
                }
            };
            let values = counts
                .iter()
                .map(|(value, count)| FacetValue {
                    label: match facet {
                        Facet::Owner => owner_label(index, value).display_name,
                        Facet::SloStatus => {
                            SloStatus::parse(value).map_or_else(|| value.clone(), |s| s.label().to_owned())
                        }
                        Facet::Drift => {
                            DriftStatus::parse(value).map_or_else(|| value.clone(), |s| s.label().to_owned())
                        }
                        _ => value.clone(),
                    },
                    selected: selected.iter().any(|s| s.eq_ignore_ascii_case(value)),
                    value: if facet == Facet::Kind { value.to_lowercase() } else { value.clone() },
                    count: *count,
                })
                .collect();
            FacetGroup { name, title, values }
        })
        .collect()
}

/// A relation of the entity, with its other end resolved or not.
#[derive(Debug, Clone, Serialize)]
pub struct RelatedEntity {
    pub relation: String,
    pub target_ref: String,
    pub display_name: String,
    pub kind: String,
    pub path: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RelationGroup {
    pub relation: String,
    pub entities: Vec<RelatedEntity>,
}

/// Everything an entity's page and `GET /api/v1/entities/{kind}/{namespace}/{name}` show.
#[derive(Debug, Clone)]
pub struct EntityDetail {
    pub row: EntityRow,
    pub body: Json,
    pub tags: Vec<String>,
    pub relations: Vec<RelationGroup>,
    pub unresolved: Vec<RelatedEntity>,
    pub owner: Option<OwnerLabel>,
    pub source_path: Option<String>,
    pub problems: Vec<Problem>,
}

pub const GRAPH_MAX_NODES: usize = 24;

/// How many entities a page lists per relation (or a team's members and sub-teams); the rest are counted. A team
/// or a shared library may have thousands.
pub const SECTION_ENTITIES: usize = 50;

impl EntityDetail {
    /// The entity in Backstage's shape, with its relations.
    pub fn to_backstage_json(&self) -> Json {
        let relations =
            self.relations.iter().flat_map(|g| g.entities.iter()).map(|r| (r.relation.as_str(), r.target_ref.as_str()));
        backstage_shape(self.body.clone(), &self.row.etag, relations)
    }

    /// The neighbourhood graph drawn on the entity's page (only the page needs it).
    pub fn graph(&self) -> Layout {
        let neighbours: Vec<Neighbour> = self
            .relations
            .iter()
            .flat_map(|g| g.entities.iter())
            .map(|r| Neighbour {
                entity_ref: r.target_ref.clone(),
                label: r.display_name.clone(),
                kind: r.kind.clone(),
                relation: r.relation.clone(),
                resolved: r.path.is_some(),
            })
            .collect();
        graph::layout(&self.row.entity_ref, &self.row.display_name, &self.row.kind, &neighbours, GRAPH_MAX_NODES)
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.body.get("metadata")?.get("annotations")?.get(key)?.as_str()
    }

    /// Its `metadata.links`, each with the address a page may link to, if any.
    pub fn links(&self) -> Vec<EntityLink> {
        links_of(&self.body)
    }
}

/// The `metadata.links` of a descriptor, each with the address a page may link to, if any.
pub fn links_of(body: &Json) -> Vec<EntityLink> {
    body.get("metadata")
        .and_then(|m| m.get("links"))
        .and_then(Json::as_array)
        .map(|links| {
            links
                .iter()
                .filter_map(|l| {
                    let url = l.get("url")?.as_str()?.to_owned();
                    let title = l.get("title").and_then(Json::as_str).unwrap_or(&url).to_owned();
                    let kind = l.get("type").or_else(|| l.get("icon")).and_then(Json::as_str).unwrap_or("").to_owned();
                    let href = safe_href(&url).map(str::to_owned);
                    Some(EntityLink { url, title, kind, href })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One of an entity's `metadata.links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntityLink {
    /// As written in the descriptor.
    pub url: String,
    pub title: String,
    /// Its `type`, else its `icon`, else empty.
    pub kind: String,
    /// The address a page may link to: `None` when following it could run script or load something other than a
    /// page (`javascript:`, `data:`, `vbscript:`, ...), so that it is shown as text only.
    pub href: Option<String>,
}

/// `url` when a page may link to it: an `http`, `https` or `mailto` URL, or a path on the portal itself (`/...`, not
/// `//host`). Descriptors are written by anyone who can commit to a catalog location; a `javascript:` link in one
/// would run in the portal's origin for whoever clicks it.
pub fn safe_href(url: &str) -> Option<&str> {
    let safe = match url::Url::parse(url) {
        // The same parser as browsers: leading spaces and control characters, tabs and newlines inside the scheme,
        // and upper case are all dealt with as a browser would before the scheme is looked at.
        Ok(parsed) => matches!(parsed.scheme(), "http" | "https" | "mailto"),
        Err(_) => {
            url.starts_with('/')
                && !url.starts_with("//")
                && !url.starts_with("/\\")
                && !url.chars().any(char::is_control)
        }
    };
    safe.then_some(url)
}

/// A stored descriptor in Backstage's entity shape: `metadata.etag` and `relations` added.
fn backstage_shape<'a>(mut body: Json, etag: &str, relations: impl Iterator<Item = (&'a str, &'a str)>) -> Json {
    if let Some(meta) = body.get_mut("metadata").and_then(Json::as_object_mut) {
        meta.insert("etag".to_owned(), Json::String(etag.to_owned()));
    }
    let relations = relations.map(|(kind, target)| serde_json::json!({"type": kind, "targetRef": target})).collect();
    if let Some(obj) = body.as_object_mut() {
        obj.insert("relations".to_owned(), Json::Array(relations));
    }
    body
}

/// One page of entities in Backstage's shape (`GET /api/v1/entities`), with the total and the next cursor.
pub fn list_backstage(
    conn: &mut DbConnection,
    index: &CatalogIndex,
    query: &ListQuery,
) -> store::StoreResult<(Vec<Json>, ListPage)> {
    let page = list(index, query);
    let refs: Vec<String> = page.items.iter().map(|i| i.entity.entity_ref.clone()).collect();
    let mut rows: HashMap<String, EntityRow> =
        entities::rows_by_refs(conn, &refs)?.into_iter().map(|r| (r.entity_ref.clone(), r)).collect();
    let mut relations: HashMap<String, Vec<entities::RelationRow>> = HashMap::new();
    for r in entities::relations_from_refs(conn, &refs, None)? {
        relations.entry(r.source_ref.clone()).or_default().push(r);
    }
    let items = refs
        .iter()
        .filter_map(|r| rows.remove(r))
        .map(|row| {
            let body = serde_json::from_str(&row.body).unwrap_or(Json::Null);
            let own = relations.remove(&row.entity_ref).unwrap_or_default();
            backstage_shape(body, &row.etag, own.iter().map(|r| (r.relation_type.as_str(), r.target_ref.as_str())))
        })
        .collect();
    Ok((items, page))
}

/// Looks up `kind`/`namespace`/`name` as they appear in a URL, case-insensitively.
pub fn entity_detail(
    conn: &mut DbConnection,
    kind: &str,
    namespace: &str,
    name: &str,
) -> store::StoreResult<Option<EntityDetail>> {
    let Some(kind) = Kind::parse(kind) else {
        return Ok(None);
    };
    let entity_ref = EntityRef::new(kind.as_str(), namespace, name).to_string();
    let Some(row) = entities::by_ref(conn, &entity_ref)? else {
        return Ok(None);
    };
    let body: Json = serde_json::from_str(&row.body).unwrap_or(Json::Null);
    let tags = entities::tags_of(conn, row.id)?;
    let rows = entities::relations_from(conn, &entity_ref)?;
    let targets: Vec<String> = rows.iter().map(|r| r.target_ref.clone()).collect::<HashSet<_>>().into_iter().collect();
    let known: HashMap<String, EntitySummary> =
        entities::by_refs(conn, &targets)?.into_iter().map(|e| (e.entity_ref.clone(), e)).collect();
    let mut grouped: BTreeMap<String, Vec<RelatedEntity>> = BTreeMap::new();
    let mut unresolved = Vec::new();
    for r in rows {
        let related = match known.get(&r.target_ref) {
            Some(e) => RelatedEntity {
                relation: r.relation_type.clone(),
                target_ref: r.target_ref.clone(),
                display_name: e.display_name.clone(),
                kind: e.kind.clone(),
                path: Some(entity_path(&e.namespace, &e.kind, &e.name)),
            },
            None => {
                let kind = r.target_ref.split(':').next().and_then(Kind::parse).map_or("", Kind::as_str).to_owned();
                let related = RelatedEntity {
                    relation: r.relation_type.clone(),
                    target_ref: r.target_ref.clone(),
                    display_name: humanize_ref(&r.target_ref),
                    kind,
                    path: None,
                };
                unresolved.push(related.clone());
                related
            }
        };
        grouped.entry(r.relation_type).or_default().push(related);
    }
    let owner = row.owner_ref.as_ref().map(|o| {
        grouped.get("ownedBy").and_then(|g| g.iter().find(|r| &r.target_ref == o)).map_or_else(
            || OwnerLabel { entity_ref: o.clone(), display_name: humanize_ref(o), path: None },
            |r| OwnerLabel { entity_ref: o.clone(), display_name: r.display_name.clone(), path: r.path.clone() },
        )
    });
    let (source_path, problems) = source_of(conn, row.source_id, &entity_ref)?;
    let relations = grouped.into_iter().map(|(relation, entities)| RelationGroup { relation, entities }).collect();
    Ok(Some(EntityDetail { source_path, row, body, tags, relations, unresolved, owner, problems }))
}

/// The path of the file an entity was read from and the problems found in it (those of the entity, and those of
/// the whole file). A file may gain or lose problems while its entities stay as they were (the last good version
/// is kept), so these are read on every request, even for a remembered [`EntityDetail`].
pub fn source_of(
    conn: &mut DbConnection,
    source_id: i64,
    entity_ref: &str,
) -> store::StoreResult<(Option<String>, Vec<Problem>)> {
    let source = sources::by_id(conn, source_id)?;
    let problems: Vec<Problem> = source
        .as_ref()
        .and_then(|s| serde_json::from_str::<Vec<Problem>>(&s.problems).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.entity_ref.as_ref().is_none_or(|r| r == entity_ref))
        .collect();
    Ok((source.map(|s| s.path), problems))
}

/// A Group with its place in the tree, its people, and what it and its sub-teams own.
#[derive(Debug, Clone)]
pub struct TeamView {
    pub group: Arc<EntityDetail>,
    pub parent: Option<RelatedEntity>,
    pub children: Vec<RelatedEntity>,
    pub members: Vec<RelatedEntity>,
    /// The group and every group below it.
    pub subtree: Vec<String>,
    pub owned: Vec<ListItem>,
    pub owned_total: i64,
    /// The services (Components) the group and its sub-teams own, all of them (not only those in `owned`).
    pub services: i64,
    /// Of those, how many are behind their golden-path template.
    pub services_behind: i64,
}

impl TeamView {
    /// The catalog list of the services the group and its sub-teams own that are behind their golden path.
    pub fn behind_query(&self) -> ListQuery {
        services_of(&self.subtree, vec![DriftStatus::Behind])
    }
}

/// The Components owned by any of `owners` with one of these drifts (any drift when empty).
fn services_of(owners: &[String], drifts: Vec<DriftStatus>) -> ListQuery {
    let filter = EntityFilter {
        kinds: vec![Kind::Component.as_str().to_owned()],
        owners: owners.to_vec(),
        drifts,
        ..EntityFilter::default()
    };
    ListQuery { filter, limit: DEFAULT_LIMIT, ..ListQuery::default() }
}

pub const TEAM_OWNED_LIMIT: i64 = 200;

pub fn team(
    conn: &mut DbConnection,
    index: &CatalogIndex,
    namespace: &str,
    name: &str,
) -> store::StoreResult<Option<TeamView>> {
    let Some(group) = index.detail(conn, "group", namespace, name)? else {
        return Ok(None);
    };
    let related = |relation: &str| -> Vec<RelatedEntity> {
        group.relations.iter().filter(|g| g.relation == relation).flat_map(|g| g.entities.clone()).collect()
    };
    let parent = related("childOf").into_iter().next();
    let children = related("parentOf");
    let members = related("hasMember");
    let subtree = subtree(conn, &group.row.entity_ref)?;
    let query = ListQuery {
        filter: EntityFilter { owners: subtree.clone(), ..EntityFilter::default() },
        sort: Sort { key: SortKey::Kind, descending: false },
        limit: TEAM_OWNED_LIMIT,
        ..ListQuery::default()
    };
    let page = list(index, &query);
    let (owned, owned_total) = (page.items, page.total);
    let services = index.count(&services_of(&subtree, Vec::new()).filter);
    let services_behind = index.count(&services_of(&subtree, vec![DriftStatus::Behind]).filter);
    Ok(Some(TeamView { group, parent, children, members, subtree, owned, owned_total, services, services_behind }))
}

/// A group and all groups below it, following parentOf relations breadth-first (cycles are cut).
pub fn subtree(conn: &mut DbConnection, group_ref: &str) -> store::StoreResult<Vec<String>> {
    Ok(crate::people::follow(conn, group_ref, "parentOf")?)
}

/// The human label of a relation type, for headings.
pub fn relation_label(relation: &str) -> String {
    let mut out = String::new();
    for (i, ch) in relation.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push(' ');
            out.extend(ch.to_lowercase());
        } else {
            out.push(ch);
        }
    }
    let mut chars = out.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_and_mail_links_are_followed() {
        for good in [
            "https://runbooks.northwind.example/cart-service",
            "http://grafana.northwind.example/d/x?from=now-1h",
            "HTTPS://EXAMPLE.COM/",
            "mailto:checkout-team@northwind.example",
            "/catalog/default/component/cart-service",
            "/docs/runbook#paging",
        ] {
            assert_eq!(safe_href(good), Some(good), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "\u{1}javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "jav&#x09;ascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "//evil.example/",
            "/\\evil.example/",
            "/\t/evil.example/",
            "runbooks.northwind.example",
            "",
        ] {
            assert_eq!(safe_href(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn links_keep_unsafe_addresses_as_text_only() {
        let body = serde_json::json!({"metadata": {"links": [
            {"url": "javascript:alert(1)", "title": "<b>bold</b>"},
            {"url": "https://runbooks.northwind.example/x", "title": "Runbook", "icon": "help"},
            {"url": "mailto:team@northwind.example", "type": "email"},
            {"title": "no url"},
        ]}});
        let links = links_of(&body);
        let shown: Vec<(&str, &str, &str, Option<&str>)> =
            links.iter().map(|l| (l.url.as_str(), l.title.as_str(), l.kind.as_str(), l.href.as_deref())).collect();
        assert_eq!(
            shown,
            [
                ("javascript:alert(1)", "<b>bold</b>", "", None),
                (
                    "https://runbooks.northwind.example/x",
                    "Runbook",
                    "help",
                    Some("https://runbooks.northwind.example/x")
                ),
                (
                    "mailto:team@northwind.example",
                    "mailto:team@northwind.example",
                    "email",
                    Some("mailto:team@northwind.example")
                ),
            ]
        );
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn parses_filters_and_round_trips_them() {
        let q = ListQuery::parse(&params(&[
            ("kind", "component"),
            ("kind", "API"),
            ("owner", "team-a"),
            ("tag", "Java"),
            ("q", "  Way back "),
            ("sort", "-kind"),
            ("limit", "10"),
        ]))
        .expect("valid");
        assert_eq!(q.filter.kinds, vec!["Component", "API"]);
        assert_eq!(q.filter.owners, vec!["group:default/team-a"]);
        assert_eq!(q.filter.tags, vec!["java"]);
        assert_eq!(q.filter.words, vec!["way", "back"]);
        assert_eq!(q.sort, Sort { key: SortKey::Kind, descending: true });
        assert_eq!(q.limit, 10);
        let again: Vec<(String, String)> = q.filter_params().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let reparsed = ListQuery::parse(&again).expect("valid");
        assert_eq!(reparsed.filter, q.filter);
        assert_eq!(reparsed.sort, q.sort);
    }

    #[test]
    fn refuses_bad_values_naming_the_field() {
        assert_eq!(ListQuery::parse(&params(&[("kind", "widget")])).expect_err("bad").field, "kind");
        assert_eq!(ListQuery::parse(&params(&[("limit", "0")])).expect_err("bad").field, "limit");
        assert_eq!(ListQuery::parse(&params(&[("limit", "501")])).expect_err("bad").field, "limit");
        assert_eq!(ListQuery::parse(&params(&[("cursor", "zz")])).expect_err("bad").field, "cursor");
        assert_eq!(ListQuery::parse(&params(&[("sort", "owner")])).expect_err("bad").field, "sort");
    }

    #[test]
    fn cursors_round_trip() {
        let c = Cursor { sort_value: "checkout".into(), entity_ref: "component:default/checkout".into() };
        assert_eq!(decode_cursor(&encode_cursor(&c)), Some(c));
    }

    #[test]
    fn relation_labels() {
        assert_eq!(relation_label("dependsOn"), "Depends on");
        assert_eq!(relation_label("apiProvidedBy"), "Api provided by");
        assert_eq!(humanize_ref("group:default/team-a"), "team-a");
        assert_eq!(humanize_ref("user:dev/guest"), "dev/guest");
    }
}
