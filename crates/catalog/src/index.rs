//! The in-memory catalog index: what lists, search and facets read, so that a page at 50,000 entities costs one pass
//! over compact rows instead of a handful of SQL aggregates.
//!
//! The database stays the truth. Every ingest that changes something bumps the catalog generation
//! (`store::stats::GENERATION`); a reader whose index is older rebuilds it from the database, while other readers keep
//! using the old one until the new one is in place. Each process holds its own index, so several processes sharing a
//! PostgreSQL agree within one generation check.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, RwLock};

use lru::LruCache;
use memchr::memmem;
use store::entities::{self, EntitySummary};
use store::{DbConnection, StoreResult, stats};

use crate::browse::{Cursor, EntityFilter, Facet, ListQuery, SortKey, encode_cursor};

const NONE: u32 = u32::MAX;

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
}

/// A snapshot of the catalog's list columns at one generation.
pub struct CatalogIndex {
    pub generation: i64,
    rows: Vec<Row>,
    /// Row positions ordered by (sort_name, entity_ref) and by (kind, entity_ref).
    by_name: Vec<u32>,
    by_kind: Vec<u32>,
    by_ref: HashMap<String, u32>,
    values: Interner,
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

/// How many filters' selections an index remembers.
const REMEMBERED_SELECTIONS: usize = 256;

/// One page of an index query.
pub struct IndexPage<'a> {
    pub items: Vec<&'a EntitySummary>,
    pub total: i64,
    pub next_cursor: Option<String>,
}

const DIMENSIONS: [Facet; 5] = [Facet::Kind, Facet::Type, Facet::Owner, Facet::Lifecycle, Facet::Tag];

fn bit(facet: Facet) -> u8 {
    match facet {
        Facet::Kind => 1,
        Facet::Type => 2,
        Facet::Owner => 4,
        Facet::Lifecycle => 8,
        Facet::Tag => 16,
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
    /// One precompiled substring searcher per word.
    words: Vec<memmem::Finder<'static>>,
}

impl CatalogIndex {
    /// Reads every entity's list columns from the database.
    pub fn build(conn: &mut DbConnection) -> StoreResult<CatalogIndex> {
        let generation = stats::get(conn, stats::GENERATION)?.unwrap_or(0);
        let summaries = entities::all_for_index(conn)?;
        let mut tags_by_id: HashMap<i64, Vec<String>> = HashMap::new();
        for (id, tag) in entities::all_tags(conn)? {
            tags_by_id.entry(id).or_default().push(tag);
        }
        let mut values = Interner::default();
        let mut rows: Vec<Row> = summaries
            .into_iter()
            .map(|(summary, search_text)| {
                let tags = tags_by_id.remove(&summary.id).unwrap_or_default();
                Row {
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
        let selections =
            Mutex::new(LruCache::new(NonZeroUsize::new(REMEMBERED_SELECTIONS).unwrap_or(NonZeroUsize::MIN)));
        Ok(CatalogIndex { generation, rows, by_name, by_kind, by_ref, values, selections })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The entity with this reference, if any.
    pub fn get(&self, entity_ref: &str) -> Option<&EntitySummary> {
        self.by_ref.get(entity_ref).map(|i| &self.rows[*i as usize].summary)
    }

    fn compile(&self, filter: &EntityFilter) -> Compiled {
        let set = |values: &[String]| (!values.is_empty()).then(|| self.values.lookup(values));
        Compiled {
            kinds: set(&filter.kinds),
            types: set(&filter.types),
            owners: set(&filter.owners),
            lifecycles: set(&filter.lifecycles),
            tags: set(&filter.tags),
            namespaces: set(&filter.namespaces),
            words: filter.words.iter().map(|w| memmem::Finder::new(w.as_bytes()).into_owned()).collect(),
        }
    }

    /// Which filters a row fails, one bit per dimension.
    fn misses(row: &Row, f: &Compiled) -> u8 {
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
        let mut selected = vec![0u64; self.rows.len().div_ceil(64)];
        let mut total = 0;
        let mut counts: Vec<Vec<i64>> = vec![vec![0; self.values.values.len()]; DIMENSIONS.len()];
        for (i, row) in self.rows.iter().enumerate() {
            let mask = Self::misses(row, &f);
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
                }
            }
        }
        let facets = DIMENSIONS
            .iter()
            .zip(counts)
            .map(|(facet, counts)| {
                let mut values: Vec<(String, i64)> = counts
                    .into_iter()
                    .enumerate()
                    .filter(|(_, n)| *n > 0)
                    .map(|(id, n)| (self.values.values[id].clone(), n))
                    .collect();
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
            SortKey::Name => &self.by_name,
            SortKey::Kind => &self.by_kind,
        };
        let key = |i: u32| {
            let s = &self.rows[i as usize].summary;
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
            items: items.into_iter().map(|i| &self.rows[i as usize].summary).collect(),
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
    /// The current index, rebuilt first when the database holds a newer generation. While one request rebuilds,
    /// others keep reading the previous index; only the very first build makes them wait.
    pub fn get(&self, conn: &mut DbConnection) -> StoreResult<Arc<CatalogIndex>> {
        let generation = stats::get(conn, stats::GENERATION)?.unwrap_or(0);
        let existing = self.current.read().map(|guard| guard.clone()).unwrap_or_default();
        if let Some(index) = &existing
            && index.generation >= generation
        {
            return Ok(index.clone());
        }
        let _rebuild = match (self.rebuilding.try_lock(), &existing) {
            (Ok(guard), _) => guard,
            (Err(_), Some(index)) => return Ok(index.clone()),
            (Err(_), None) => self.rebuilding.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        };
        // Another request may have finished the rebuild while this one waited.
        if let Some(index) = self.current.read().ok().and_then(|g| g.clone())
            && index.generation >= generation
        {
            return Ok(index);
        }
        let index = Arc::new(CatalogIndex::build(conn)?);
        if let Ok(mut slot) = self.current.write() {
            *slot = Some(index.clone());
        }
        Ok(index)
    }
}
