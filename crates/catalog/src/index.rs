//! The in-memory catalog index: what lists, search and facets read, so that a page at 50,000 entities costs one pass
//! over compact rows instead of a handful of SQL aggregates.
//!
//! The database stays the truth. Every ingest that changes something bumps the catalog generation
//! (`store::stats::GENERATION`); a reader whose index is older rebuilds it from the database, while other readers keep
//! using the old one until the new one is in place. Each process holds its own index, so several processes sharing a
//! PostgreSQL agree within one generation check.
//!
//! SLO statuses change without the catalog changing: each refresh of the statuses stores their fingerprint
//! (`store::stats::SLO_STATUSES`), read in the same query as the generation. When only the fingerprint moved, the
//! new index shares the catalog rows of the old one and re-reads just the statuses (one small query), so the
//! SLO-status facet and column follow the statuses from the next request on.
//!
//! A Component's golden-path drift is computed while the rows are read, from its annotations and the template
//! versions kept (`store::templates`, read once per build). Keeping a new template version moves the catalog
//! generation (the scaffolding crate's `versions::sync` does), so the drift facet and column follow it.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, RwLock};

use lru::LruCache;
use memchr::memmem;
use semver::Version;
use serde_json::Value as Json;
use store::entities::{self, EntitySummary};
use store::{DbConnection, StoreResult, stats};

use crate::browse::{Cursor, EntityDetail, EntityFilter, Facet, ListQuery, SloStatus, SortKey, encode_cursor};
use crate::entity::{EntityRef, Kind};
use crate::golden_path::{self, DriftStatus, GoldenPath, SOURCE_TEMPLATE_ANNOTATION, TEMPLATE_VERSION_ANNOTATION};

const NONE: u32 = u32::MAX;

/// The SLO column of an entity that is not a Component (only Components have SLOs).
const NO_SLO_COLUMN: u8 = u8::MAX;

/// The drift column of an entity that is not a Component (only Components are made from golden paths).
const NO_DRIFT: u8 = u8::MAX;

/// Interned facet values, so that counting is indexing into a vector.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    values: Vec<String>,
}

impl Interner {
    fn intern(&mut self, value: Option<&str>) -> u32 {
        let Some(value) = value else { return NONE };
        if let Some(id) = self.ids.get(value) {
            return *id;
        }
        let id = u32::try_from(self.values.len()).unwrap_or(NONE);
        self.values.push(value.to_owned());
        self.ids.insert(value.to_owned(), id);
        id
    }

    fn lookup(&self, values: &[String]) -> Vec<u32> {
        values.iter().filter_map(|v| self.ids.get(v).copied()).collect()
    }
}

struct Row {
    summary: EntitySummary,
    search_text: String,
    kind: u32,
    spec_type: u32,
    owner: u32,
    lifecycle: u32,
    namespace: u32,
    tags: Vec<u32>,
    /// A Component's [`DriftStatus`] (`as u8`), or [`NO_DRIFT`].
    drift: u8,
    /// How many template versions a Component is behind (0 unless behind).
    behind: u32,
}

/// The catalog's list columns at one generation, shared by the indexes of that generation.
struct Rows {
    rows: Vec<Row>,
    /// Row positions ordered by (sort_name, entity_ref) and by (kind, entity_ref).
    by_name: Vec<u32>,
    by_kind: Vec<u32>,
    by_ref: HashMap<String, u32>,
    values: Interner,
    /// Entity pages' details read at this generation, by entity reference (see [`CatalogIndex::detail`]).
    details: Mutex<LruCache<String, Arc<EntityDetail>>>,
}

/// A snapshot of the catalog's list columns at one generation, with the SLO statuses of one fingerprint.
pub struct CatalogIndex {
    pub generation: i64,
    /// The `store::stats::SLO_STATUSES` fingerprint the SLO statuses were read at (`None`: never refreshed).
    pub slo_statuses: Option<i64>,
    catalog: Arc<Rows>,
    /// Per row: its Component's worst [`SloStatus`] (`as u8`), or [`NO_SLO_COLUMN`].
    slo: Vec<u8>,
    selections: Mutex<LruCache<EntityFilter, Arc<Selection>>>,
}

/// What one filter selects: a bit per row, the count, and the facet counts around it.
pub struct Selection {
    selected: Vec<u64>,
    pub total: i64,
    /// Per dimension, the most frequent values (at most [`FACET_VALUES`]) with their counts.
    pub facets: Vec<(Facet, Vec<(String, i64)>)>,
}

impl Selection {
    fn contains(&self, row: u32) -> bool {
        let row = row as usize;
        self.selected.get(row / 64).is_some_and(|word| word & (1 << (row % 64)) != 0)
    }
}

/// How many values a facet shows.
pub const FACET_VALUES: usize = 30;

/// How many entities' details an index remembers for their pages (a few MiB at most).
pub const REMEMBERED_DETAILS: usize = 2_048;

/// How many filters' selections an index remembers.
const REMEMBERED_SELECTIONS: usize = 256;

/// One page of an index query.
pub struct IndexPage<'a> {
    pub items: Vec<&'a EntitySummary>,
    pub total: i64,
    pub next_cursor: Option<String>,
}

const DIMENSIONS: [Facet; 7] =
    [Facet::Kind, Facet::Type, Facet::Owner, Facet::Lifecycle, Facet::Tag, Facet::SloStatus, Facet::Drift];

fn bit(facet: Facet) -> u8 {
    match facet {
        Facet::Kind => 1,
        Facet::Type => 2,
        Facet::Owner => 4,
        Facet::Lifecycle => 8,
        Facet::Tag => 16,
        Facet::SloStatus => 64,
        Facet::Drift => 128,
    }
}

/// Bits for the filters no facet relaxes (namespace, search words).
const FIXED: u8 = 32;

struct Compiled {
    kinds: Option<Vec<u32>>,
    types: Option<Vec<u32>>,
    owners: Option<Vec<u32>>,
    lifecycles: Option<Vec<u32>>,
    tags: Option<Vec<u32>>,
    namespaces: Option<Vec<u32>>,
    slo_statuses: Option<Vec<u8>>,
    drifts: Option<Vec<u8>>,
    /// One precompiled substring searcher per word.
    words: Vec<memmem::Finder<'static>>,
}

impl CatalogIndex {
    /// Reads every entity's list columns, every SLO's status and every template version from the database.
    pub fn build(conn: &mut DbConnection) -> StoreResult<CatalogIndex> {
        let versions = stats::versions(conn)?;
        CatalogIndex::build_at(conn, versions.generation, versions.slo_statuses)
    }

    /// [`CatalogIndex::build`] with the versions already read (before the data, so that a change made while
    /// reading shows as a newer version at the next request).
    fn build_at(conn: &mut DbConnection, generation: i64, slo_statuses: Option<i64>) -> StoreResult<CatalogIndex> {
        let catalog = Arc::new(Rows::read(conn)?);
        CatalogIndex::with_catalog(conn, generation, catalog, slo_statuses)
    }

    /// An index over the same catalog rows with the SLO statuses read again, for a new SLO-status fingerprint.
    pub fn with_new_slo_statuses(
        &self,
        conn: &mut DbConnection,
        slo_statuses: Option<i64>,
    ) -> StoreResult<CatalogIndex> {
        CatalogIndex::with_catalog(conn, self.generation, self.catalog.clone(), slo_statuses)
    }

    fn with_catalog(
        conn: &mut DbConnection,
        generation: i64,
        catalog: Arc<Rows>,
        slo_statuses: Option<i64>,
    ) -> StoreResult<CatalogIndex> {
        let slo = catalog.slo_column(store::slos::statuses(conn)?);
        let selections =
            Mutex::new(LruCache::new(NonZeroUsize::new(REMEMBERED_SELECTIONS).unwrap_or(NonZeroUsize::MIN)));
        Ok(CatalogIndex { generation, slo_statuses, catalog, slo, selections })
    }
}

impl CatalogIndex {
    /// An entity's details (row, body, tags, relations, source) as its page shows them. Everything but the source
    /// file's problems changes only with the catalog generation, so it is read from the database once per generation
    /// and entity, and remembered for the [`REMEMBERED_DETAILS`] entities asked for most recently; the problems are
    /// read again each time ([`crate::browse::source_of`]). `None` when there is no such entity.
    pub fn detail(
        &self,
        conn: &mut DbConnection,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> StoreResult<Option<Arc<EntityDetail>>> {
        let Some(kind) = Kind::parse(kind) else {
            return Ok(None);
        };
        let entity_ref = EntityRef::new(kind.as_str(), namespace, name).to_string();
        let remembered = |details: &Mutex<LruCache<String, Arc<EntityDetail>>>| {
            details.lock().ok().and_then(|mut cache| cache.get(&entity_ref).cloned())
        };
        if let Some(detail) = remembered(&self.catalog.details) {
            let (source_path, problems) = crate::browse::source_of(conn, detail.row.source_id, &entity_ref)?;
            if source_path == detail.source_path && problems == detail.problems {
                return Ok(Some(detail));
            }
            let detail = Arc::new(EntityDetail { source_path, problems, ..(*detail).clone() });
            if let Ok(mut cache) = self.catalog.details.lock() {
                cache.put(entity_ref, detail.clone());
            }
            return Ok(Some(detail));
        }
        let Some(detail) = crate::browse::entity_detail(conn, kind.as_str(), namespace, name)? else {
            return Ok(None);
        };
        let detail = Arc::new(detail);
        if let Ok(mut cache) = self.catalog.details.lock() {
            cache.put(entity_ref, detail.clone());
        }
        Ok(Some(detail))
    }
}

impl Rows {
    /// Reads every entity's list columns, and the drift of every Component against the template versions kept.
    fn read(conn: &mut DbConnection) -> StoreResult<Rows> {
        let summaries = entities::all_for_index(conn)?;
        let mut tags_by_id: HashMap<i64, Vec<String>> = HashMap::new();
        for (id, tag) in entities::all_tags(conn)? {
            tags_by_id.entry(id).or_default().push(tag);
        }
        let drifts = Drifts::read(conn)?;
        let mut values = Interner::default();
        let mut rows: Vec<Row> = summaries
            .into_iter()
            .map(|(summary, search_text)| {
                let tags = tags_by_id.remove(&summary.id).unwrap_or_default();
                let (drift, behind) = drifts.column(&summary);
                Row {
                    drift,
                    behind,
                    kind: values.intern(Some(&summary.kind)),
                    spec_type: values.intern(summary.spec_type.as_deref()),
                    owner: values.intern(summary.owner_ref.as_deref()),
                    lifecycle: values.intern(summary.lifecycle.as_deref()),
                    namespace: values.intern(Some(&summary.namespace)),
                    tags: tags.iter().map(|t| values.intern(Some(t))).collect(),
                    summary,
                    search_text,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            (a.summary.sort_name.as_str(), a.summary.entity_ref.as_str())
                .cmp(&(b.summary.sort_name.as_str(), b.summary.entity_ref.as_str()))
        });
        let positions = || (0..rows.len()).map(|i| u32::try_from(i).unwrap_or(NONE));
        let by_name: Vec<u32> = positions().collect();
        let mut by_kind: Vec<u32> = positions().collect();
        by_kind.sort_by(|a, b| {
            let (a, b) = (&rows[*a as usize].summary, &rows[*b as usize].summary);
            (a.kind.as_str(), a.entity_ref.as_str()).cmp(&(b.kind.as_str(), b.entity_ref.as_str()))
        });
        let by_ref = rows.iter().enumerate().map(|(i, r)| (r.summary.entity_ref.clone(), i as u32)).collect();
        let details = Mutex::new(LruCache::new(NonZeroUsize::new(REMEMBERED_DETAILS).unwrap_or(NonZeroUsize::MIN)));
        Ok(Rows { rows, by_name, by_kind, by_ref, values, details })
    }

    /// Each row's SLO column from `(namespace, service, status)` of every SLO: a Component's worst status, or
    /// [`SloStatus::NoSlos`]; [`NO_SLO_COLUMN`] for other kinds. SLOs of services not in the catalog are left out.
    fn slo_column(&self, statuses: Vec<(String, String, Option<String>)>) -> Vec<u8> {
        let mut column: Vec<u8> = self
            .rows
            .iter()
            .map(|row| if row.summary.kind == "Component" { SloStatus::NoSlos as u8 } else { NO_SLO_COLUMN })
            .collect();
        for (namespace, service, status) in statuses {
            let component = format!("component:{namespace}/{service}").to_ascii_lowercase();
            if let Some(&i) = self.by_ref.get(&component) {
                // Worst first: the smallest value wins, and `NoSlos` is the largest.
                let slot = &mut column[i as usize];
                *slot = (*slot).min(SloStatus::of_slo(status.as_deref()) as u8);
            }
        }
        column
    }
}

/// What a Component's drift is computed from: the template versions kept, and the annotations of the Components
/// that name a template.
struct Drifts {
    /// The semver versions of each template, by template ref (`template:default/rust-http-service`).
    known: HashMap<String, Vec<Version>>,
    /// `(template, version)` annotations by Component ref; Components not here name no template.
    annotated: HashMap<String, (String, Option<String>)>,
}

impl Drifts {
    fn read(conn: &mut DbConnection) -> StoreResult<Drifts> {
        let mut known: HashMap<String, Vec<Version>> = HashMap::new();
        for kept in store::templates::all(conn)? {
            // A version that is not semver was never kept by the scaffolding; one that is there anyway counts for none.
            if let Ok(version) = Version::parse(&kept.version) {
                let template = EntityRef::new(Kind::Template.as_str(), &kept.namespace, &kept.name).to_string();
                known.entry(template).or_default().push(version);
            }
        }
        // Only the bodies that mention the annotation are read and parsed; the others name no template.
        let bodies = entities::bodies_of_kind_containing(conn, Kind::Component.as_str(), SOURCE_TEMPLATE_ANNOTATION)?;
        let annotated = bodies
            .into_iter()
            .filter_map(|(entity_ref, body)| {
                let body: Json = serde_json::from_str(&body).ok()?;
                let annotations = body.get("metadata")?.get("annotations")?;
                let text = |key: &str| {
                    annotations
                        .get(key)
                        .and_then(Json::as_str)
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(str::to_owned)
                };
                let template = text(SOURCE_TEMPLATE_ANNOTATION)?;
                Some((entity_ref, (template, text(TEMPLATE_VERSION_ANNOTATION))))
            })
            .collect();
        Ok(Drifts { known, annotated })
    }

    /// A row's drift column: its [`DriftStatus`] and how many versions behind; [`NO_DRIFT`] for other kinds.
    fn column(&self, summary: &EntitySummary) -> (u8, u32) {
        if summary.kind != Kind::Component.as_str() {
            return (NO_DRIFT, 0);
        }
        let (template, version) = match self.annotated.get(&summary.entity_ref) {
            Some((template, version)) => (Some(template.as_str()), version.as_deref()),
            None => (None, None),
        };
        let known = template
            .and_then(golden_path::template_ref)
            .and_then(|template| self.known.get(&template.to_string()))
            .map_or(&[][..], Vec::as_slice);
        let drift = GoldenPath::of(&golden_path::drift(template, version, known));
        (drift.status as u8, drift.behind)
    }
}

impl CatalogIndex {
    pub fn len(&self) -> usize {
        self.catalog.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.catalog.rows.is_empty()
    }

    /// The entity with this reference, if any.
    pub fn get(&self, entity_ref: &str) -> Option<&EntitySummary> {
        self.catalog.by_ref.get(entity_ref).map(|i| &self.catalog.rows[*i as usize].summary)
    }

    /// A Component's worst SLO status ([`SloStatus::NoSlos`] without SLOs); `None` for other entities.
    pub fn slo_status(&self, entity_ref: &str) -> Option<SloStatus> {
        let i = *self.catalog.by_ref.get(entity_ref)?;
        SloStatus::ALL.get(usize::from(*self.slo.get(i as usize)?)).copied()
    }

    /// A Component's golden-path drift; `None` for other entities.
    pub fn golden_path(&self, entity_ref: &str) -> Option<GoldenPath> {
        let row = &self.catalog.rows[*self.catalog.by_ref.get(entity_ref)? as usize];
        let status = DriftStatus::ALL.get(usize::from(row.drift)).copied()?;
        Some(GoldenPath { status, behind: row.behind })
    }

    fn compile(&self, filter: &EntityFilter) -> Compiled {
        let set = |values: &[String]| (!values.is_empty()).then(|| self.catalog.values.lookup(values));
        Compiled {
            kinds: set(&filter.kinds),
            types: set(&filter.types),
            owners: set(&filter.owners),
            lifecycles: set(&filter.lifecycles),
            tags: set(&filter.tags),
            namespaces: set(&filter.namespaces),
            slo_statuses: (!filter.slo_statuses.is_empty())
                .then(|| filter.slo_statuses.iter().map(|status| *status as u8).collect()),
            drifts: (!filter.drifts.is_empty()).then(|| filter.drifts.iter().map(|status| *status as u8).collect()),
            words: filter.words.iter().map(|w| memmem::Finder::new(w.as_bytes()).into_owned()).collect(),
        }
    }

    /// Which filters a row fails, one bit per dimension; `slo` is the row's SLO column.
    fn misses(row: &Row, slo: u8, f: &Compiled) -> u8 {
        let fails = |allowed: &Option<Vec<u32>>, value: u32| allowed.as_ref().is_some_and(|a| !a.contains(&value));
        let mut mask = 0;
        if fails(&f.kinds, row.kind) {
            mask |= bit(Facet::Kind);
        }
        if fails(&f.types, row.spec_type) {
            mask |= bit(Facet::Type);
        }
        if fails(&f.owners, row.owner) {
            mask |= bit(Facet::Owner);
        }
        if fails(&f.lifecycles, row.lifecycle) {
            mask |= bit(Facet::Lifecycle);
        }
        if f.tags.as_ref().is_some_and(|allowed| !row.tags.iter().any(|t| allowed.contains(t))) {
            mask |= bit(Facet::Tag);
        }
        if f.slo_statuses.as_ref().is_some_and(|allowed| !allowed.contains(&slo)) {
            mask |= bit(Facet::SloStatus);
        }
        if f.drifts.as_ref().is_some_and(|allowed| !allowed.contains(&row.drift)) {
            mask |= bit(Facet::Drift);
        }
        if fails(&f.namespaces, row.namespace) || !f.words.iter().all(|w| w.find(row.search_text.as_bytes()).is_some())
        {
            mask |= FIXED;
        }
        mask
    }

    /// What the filter selects, with the facet counts around it; remembered for the next request with the same
    /// filter until the catalog changes (a new generation is a new index).
    pub fn select(&self, filter: &EntityFilter) -> Arc<Selection> {
        if let Some(hit) = self.selections.lock().ok().and_then(|mut cache| cache.get(filter).cloned()) {
            return hit;
        }
        let selection = Arc::new(self.compute(filter));
        if let Ok(mut cache) = self.selections.lock() {
            cache.put(filter.clone(), selection.clone());
        }
        selection
    }

    /// One pass over every row: which pass the filter, and for each facet dimension the values among the rows that
    /// pass every other filter (a facet is counted without its own selection).
    fn compute(&self, filter: &EntityFilter) -> Selection {
        let f = self.compile(filter);
        let (rows, values) = (&self.catalog.rows, &self.catalog.values.values);
        let mut selected = vec![0u64; rows.len().div_ceil(64)];
        let mut total = 0;
        let mut counts: Vec<Vec<i64>> = DIMENSIONS
            .iter()
            .map(|facet| match facet {
                Facet::SloStatus => vec![0; SloStatus::ALL.len()],
                Facet::Drift => vec![0; DriftStatus::ALL.len()],
                _ => vec![0; values.len()],
            })
            .collect();
        for (i, row) in rows.iter().enumerate() {
            let slo = self.slo.get(i).copied().unwrap_or(NO_SLO_COLUMN);
            let mask = Self::misses(row, slo, &f);
            if mask == 0 {
                selected[i / 64] |= 1 << (i % 64);
                total += 1;
            }
            for (d, facet) in DIMENSIONS.iter().enumerate() {
                if mask & !bit(*facet) != 0 {
                    continue;
                }
                let slot = &mut counts[d];
                let mut add = |v: u32| {
                    if v != NONE {
                        slot[v as usize] += 1;
                    }
                };
                match facet {
                    Facet::Kind => add(row.kind),
                    Facet::Type => add(row.spec_type),
                    Facet::Owner => add(row.owner),
                    Facet::Lifecycle => add(row.lifecycle),
                    Facet::Tag => row.tags.iter().for_each(|t| add(*t)),
                    Facet::SloStatus if slo != NO_SLO_COLUMN => add(u32::from(slo)),
                    Facet::SloStatus => {}
                    Facet::Drift if row.drift != NO_DRIFT => add(u32::from(row.drift)),
                    Facet::Drift => {}
                }
            }
        }
        let facets = DIMENSIONS
            .iter()
            .zip(counts)
            .map(|(facet, counts)| {
                let counted = counts.into_iter().enumerate().filter(|(_, n)| *n > 0);
                if *facet == Facet::SloStatus {
                    // Worst first, whatever the counts.
                    let statuses = counted.filter_map(|(id, n)| Some((SloStatus::ALL.get(id)?.as_str().to_owned(), n)));
                    return (*facet, statuses.collect());
                }
                if *facet == Facet::Drift {
                    // In the facet's order, whatever the counts.
                    let drifts = counted.filter_map(|(id, n)| Some((DriftStatus::ALL.get(id)?.as_str().to_owned(), n)));
                    return (*facet, drifts.collect());
                }
                let mut values: Vec<(String, i64)> = counted.map(|(id, n)| (values[id].clone(), n)).collect();
                values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                values.truncate(FACET_VALUES);
                (*facet, values)
            })
            .collect();
        Selection { selected, total, facets }
    }

    /// How many entities the filter selects.
    pub fn count(&self, filter: &EntityFilter) -> i64 {
        self.select(filter).total
    }

    /// One page in the query's order, after its cursor.
    pub fn page(&self, query: &ListQuery) -> IndexPage<'_> {
        let selection = self.select(&query.filter);
        let order = match query.sort.key {
            SortKey::Name => &self.catalog.by_name,
            SortKey::Kind => &self.catalog.by_kind,
        };
        let key = |i: u32| {
            let s = &self.catalog.rows[i as usize].summary;
            let primary = match query.sort.key {
                SortKey::Name => s.sort_name.as_str(),
                SortKey::Kind => s.kind.as_str(),
            };
            (primary, s.entity_ref.as_str())
        };
        let limit = usize::try_from(query.limit).unwrap_or(0);
        let mut items = Vec::with_capacity(limit + 1);
        let mut push = |i: u32| {
            if items.len() <= limit && selection.contains(i) {
                items.push(i);
            }
            items.len() > limit
        };
        match (&query.cursor, query.sort.descending) {
            (cursor, false) => {
                let start = cursor.as_ref().map_or(0, |c| {
                    order.partition_point(|i| key(*i) <= (c.sort_value.as_str(), c.entity_ref.as_str()))
                });
                for i in &order[start..] {
                    if push(*i) {
                        break;
                    }
                }
            }
            (cursor, true) => {
                let end = cursor.as_ref().map_or(order.len(), |c| {
                    order.partition_point(|i| key(*i) < (c.sort_value.as_str(), c.entity_ref.as_str()))
                });
                for i in order[..end].iter().rev() {
                    if push(*i) {
                        break;
                    }
                }
            }
        }
        let next_cursor = (items.len() > limit).then(|| {
            items.truncate(limit);
            let last = items.last().copied().unwrap_or(0);
            let (sort_value, entity_ref) = key(last);
            encode_cursor(&Cursor { sort_value: sort_value.to_owned(), entity_ref: entity_ref.to_owned() })
        });
        IndexPage {
            items: items.into_iter().map(|i| &self.catalog.rows[i as usize].summary).collect(),
            total: selection.total,
            next_cursor,
        }
    }
}

/// The index of one process: rebuilt when the catalog generation moves, shared by every request.
#[derive(Default)]
pub struct SharedIndex {
    current: RwLock<Option<Arc<CatalogIndex>>>,
    rebuilding: Mutex<()>,
}

impl SharedIndex {
    /// The current index, rebuilt first when the database holds a newer generation, or given the SLO statuses
    /// again (sharing its catalog rows) when only their fingerprint changed. While one request rebuilds, others keep
    /// reading the previous index; only the very first build makes them wait.
    pub fn get(&self, conn: &mut DbConnection) -> StoreResult<Arc<CatalogIndex>> {
        let versions = stats::versions(conn)?;
        self.at(conn, &versions)
    }

    /// [`SharedIndex::get`] with the versions already read (by a page that checks other caches against them too).
    pub fn at(&self, conn: &mut DbConnection, versions: &stats::Versions) -> StoreResult<Arc<CatalogIndex>> {
        let (generation, slo_statuses) = (versions.generation, versions.slo_statuses);
        let current = |index: &CatalogIndex| index.generation >= generation && index.slo_statuses == slo_statuses;
        let existing = self.current.read().map(|guard| guard.clone()).unwrap_or_default();
        if let Some(index) = &existing
            && current(index)
        {
            return Ok(index.clone());
        }
        let _rebuild = match (self.rebuilding.try_lock(), &existing) {
            (Ok(guard), _) => guard,
            (Err(_), Some(index)) => return Ok(index.clone()),
            (Err(_), None) => self.rebuilding.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        };
        // Another request may have finished the rebuild while this one waited.
        let latest = self.current.read().ok().and_then(|g| g.clone());
        let index = match latest {
            Some(index) if current(&index) => return Ok(index),
            Some(index) if index.generation >= generation => index.with_new_slo_statuses(conn, slo_statuses)?,
            _ => CatalogIndex::build_at(conn, generation, slo_statuses)?,
        };
        let index = Arc::new(index);
        if let Ok(mut slot) = self.current.write() {
            *slot = Some(index.clone());
        }
        Ok(index)
    }
}
