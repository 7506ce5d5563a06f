//! The parts of a service page that change only with stored data: its golden-path card and its maturity cards.
//!
//! Both take several queries and the parsing of every scorecard definition, yet change only when the catalog
//! generation moves (keeping a template version moves it too) or the scorecards are written
//! (`store::stats::SCORECARDS`, `SCORECARD_RESULTS`). So each process remembers them for the
//! [`REMEMBERED_SERVICES`] services viewed most recently, against those stats, which the page reads anyway in the
//! one query that checks the catalog index. The SLO cards are not among them: they are evaluated at the moment of
//! the request, and SLI data arrives at any time.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use catalog::browse::EntityDetail;
use lru::LruCache;
use store::DbConnection;
use store::stats::Versions;

use crate::errors::AppError;
use crate::routes::catalog::golden_path_status;
use crate::routes::scorecards::{MaturityCard, maturity_cards};

/// How many services' parts a process remembers (a few KiB each).
pub const REMEMBERED_SERVICES: usize = 2_048;

/// What [`ServiceParts`] were read at: the catalog generation and the scorecards' two stats.
type Stamp = (i64, Option<i64>, Option<i64>);

fn stamp(versions: &Versions) -> Stamp {
    (versions.generation, versions.scorecards, versions.scorecard_results)
}

pub struct ServiceParts {
    stamp: Stamp,
    /// Its golden-path template and drift, when it names one.
    pub golden_path: Option<scaffolding::golden_path::Status>,
    /// Its level on each scorecard that applies, with every rule's result.
    pub maturity: Vec<MaturityCard>,
}

pub struct RememberedServices {
    parts: Mutex<LruCache<String, Arc<ServiceParts>>>,
}

impl Default for RememberedServices {
    fn default() -> Self {
        let size = NonZeroUsize::new(REMEMBERED_SERVICES).unwrap_or(NonZeroUsize::MIN);
        RememberedServices { parts: Mutex::new(LruCache::new(size)) }
    }
}

impl RememberedServices {
    /// The parts of the Component `d` as of `versions`: remembered ones when read at the same versions, else read
    /// now and remembered.
    pub fn get(
        &self,
        conn: &mut DbConnection,
        versions: &Versions,
        d: &EntityDetail,
    ) -> Result<Arc<ServiceParts>, AppError> {
        let stamp = stamp(versions);
        let key = &d.row.entity_ref;
        if let Some(hit) = self.parts.lock().ok().and_then(|mut parts| parts.get(key).cloned())
            && hit.stamp == stamp
        {
            return Ok(hit);
        }
        let parts = Arc::new(ServiceParts {
            stamp,
            golden_path: golden_path_status(conn, d)?,
            maturity: maturity_cards(conn, key)?,
        });
        if let Ok(mut remembered) = self.parts.lock() {
            remembered.put(key.clone(), parts.clone());
        }
        Ok(parts)
    }
}
