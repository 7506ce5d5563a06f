//! The SLO-status facet and filter of the catalog index, on SQLite and on PostgreSQL (when PORTOLAN_TEST_PG_URL is
//! set): a Component's worst SLO status, counts per status, and statuses followed without a new catalog generation.
//! The SLO rows are written through the store directly (the scorecard crate evaluates them in the application).

use std::path::Path;

use catalog::browse::{self, EntityFilter, Facet, ListQuery, SloStatus};
use catalog::index::{CatalogIndex, SharedIndex};
use catalog::ingest::{IngestOptions, NoProgress, ingest};
use store::slos::{self, SloForm};
use store::test_support::TestDb;
use store::{DbConnection, stats};

fn component(name: &str) -> String {
    format!(
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  \
         lifecycle: production\n  owner: team-a\n"
    )
}

const GROUP: &str = "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  \
                     type: team\n  children: []\n";

/// Five Components, a Group and an API; SLOs for four of the Components (and one for a service not in the catalog).
fn catalog(dir: &Path) {
    let mut text: String = ["checkout", "payments", "search", "carrier", "invoices"].map(component).concat();
    text.push_str(GROUP);
    text.push_str(
        "---\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: orders-api\nspec:\n  type: openapi\n  \
         lifecycle: production\n  owner: team-a\n  definition: openapi\n",
    );
    std::fs::write(dir.join("catalog-info.yaml"), text).expect("write");
}

fn form(name: &str, service: &str) -> SloForm {
    SloForm {
        namespace: "default".to_owned(),
        name: name.to_owned(),
        service: service.to_owned(),
        display_name: name.to_owned(),
        description: String::new(),
        path: "/slos.yaml".to_owned(),
        line: 1,
        col: 1,
        source_kind: "push".to_owned(),
        definition: "{}".to_owned(),
        problems: "[]".to_owned(),
        updated_at: store::now(),
    }
}

/// Sets the statuses of the named SLOs and a new fingerprint, as the scorecard's status refresh does.
fn set_statuses(conn: &mut DbConnection, statuses: &[(&str, &str)]) {
    let ids: Vec<(i64, &str)> = statuses
        .iter()
        .map(|(name, status)| {
            let row = slos::by_name(conn, "default", name).expect("query").expect("SLO");
            (row.id, *status)
        })
        .collect();
    slos::set_statuses(conn, &ids, store::now()).expect("statuses");
    let all = slos::statuses(conn).expect("statuses");
    stats::set(conn, stats::SLO_STATUSES, stats::fingerprint(&all)).expect("fingerprint");
}

fn setup(db: &TestDb) {
    let dir = tempfile::tempdir().expect("tmp");
    catalog(dir.path());
    let report =
        ingest(&db.store, &[dir.path().to_path_buf()], &IngestOptions::default(), &NoProgress).expect("ingest");
    assert_eq!((report.added, report.error_count()), (7, 0), "{:?}", report.problems);
    let mut conn = db.store.conn().expect("connection");
    let forms = [
        form("checkout-availability", "checkout"),
        form("checkout-latency", "checkout"),
        form("payments-availability", "payments"),
        form("search-latency", "Search"),
        form("carrier-availability", "carrier"),
        form("ghost-availability", "ghost"),
    ];
    slos::upsert_many(&mut conn, &forms).expect("SLOs");
    set_statuses(
        &mut conn,
        &[
            ("checkout-availability", "healthy"),
            ("checkout-latency", "healthy"),
            ("payments-availability", "healthy"),
            ("search-latency", "at_risk"),
            ("ghost-availability", "exhausted"),
        ],
    );
}

fn counts(index: &CatalogIndex, filter: &EntityFilter) -> Vec<(String, i64)> {
    let selection = index.select(filter);
    selection.facets.iter().find(|(facet, _)| *facet == Facet::SloStatus).map(|(_, c)| c.clone()).unwrap_or_default()
}

fn pairs(values: &[(&str, i64)]) -> Vec<(String, i64)> {
    values.iter().map(|(v, n)| ((*v).to_owned(), *n)).collect()
}

fn names(index: &CatalogIndex, query: &ListQuery) -> Vec<String> {
    browse::list(index, query).items.into_iter().map(|item| item.entity.name).collect()
}

fn query(params: &[(&str, &str)]) -> ListQuery {
    let params: Vec<(String, String)> = params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    ListQuery::parse(&params).expect("valid query")
}

#[test]
fn components_are_counted_and_filtered_by_their_worst_slo_status() {
    for db in TestDb::all() {
        setup(&db);
        let backend = db.backend_name();
        let mut conn = db.store.conn().expect("connection");
        let index = CatalogIndex::build(&mut conn).expect("index");
        // The carrier's only SLO was never evaluated: no data. The SLO of a service not in the catalog counts
        // nowhere, and only Components are counted (the Group and the API have no SLO status).
        let all = pairs(&[("at_risk", 1), ("no_data", 1), ("healthy", 2), ("none", 1)]);
        assert_eq!(counts(&index, &EntityFilter::default()), all, "{backend}");
        assert_eq!(index.slo_status("component:default/search"), Some(SloStatus::AtRisk), "service names ignore case");
        assert_eq!(index.slo_status("component:default/invoices"), Some(SloStatus::NoSlos));
        assert_eq!(index.slo_status("group:default/team-a"), None);

        let at_risk = query(&[("slo_status", "at_risk")]);
        assert_eq!(names(&index, &at_risk), ["search"], "{backend}");
        let either = query(&[("slo_status", "healthy"), ("slo_status", "none")]);
        assert_eq!(names(&index, &either), ["checkout", "invoices", "payments"], "{backend}");
        // The facet is counted without its own selection; the other facets with it.
        assert_eq!(counts(&index, &either.filter), all, "{backend}");
        let kinds = index.select(&either.filter).facets.iter().find(|(f, _)| *f == Facet::Kind).map(|(_, c)| c.clone());
        assert_eq!(kinds, Some(pairs(&[("Component", 3)])), "{backend}");
        // And the other way round: a kind filter narrows the status counts.
        assert_eq!(counts(&index, &query(&[("kind", "group")]).filter), Vec::new(), "{backend}");

        // The worst status wins: one exhausted SLO makes checkout exhausted.
        set_statuses(&mut conn, &[("checkout-latency", "exhausted")]);
        let index = CatalogIndex::build(&mut conn).expect("index");
        assert_eq!(index.slo_status("component:default/checkout"), Some(SloStatus::Exhausted), "{backend}");
        assert_eq!(names(&index, &query(&[("slo_status", "exhausted")])), ["checkout"], "{backend}");
        let page = browse::list(&index, &query(&[("q", "checkout")]));
        assert_eq!(page.items[0].slo_status, Some(SloStatus::Exhausted), "{backend}");
    }
}

#[test]
fn the_shared_index_follows_statuses_without_a_new_generation() {
    for db in TestDb::all() {
        setup(&db);
        let backend = db.backend_name();
        let shared = SharedIndex::default();
        let mut conn = db.store.conn().expect("connection");
        let first = shared.get(&mut conn).expect("index");
        let generation = first.generation;
        let stale = query(&[("slo_status", "stale")]);
        assert_eq!(first.count(&stale.filter), 0, "{backend}");
        // Unchanged statuses: the same index.
        assert!(std::sync::Arc::ptr_eq(&first, &shared.get(&mut conn).expect("index")), "{backend}");

        set_statuses(&mut conn, &[("payments-availability", "stale")]);
        let second = shared.get(&mut conn).expect("index");
        assert_eq!(second.generation, generation, "{backend}: the catalog did not change");
        assert_eq!(names(&second, &stale), ["payments"], "{backend}");
        assert_eq!(second.len(), first.len());

        // An SLO that goes away changes the fingerprint as well.
        let search = slos::by_name(&mut conn, "default", "search-latency").expect("query").expect("SLO");
        slos::delete(&mut conn, &[search.id]).expect("deleted");
        set_statuses(&mut conn, &[]);
        let third = shared.get(&mut conn).expect("index");
        assert_eq!(third.slo_status("component:default/search"), Some(SloStatus::NoSlos), "{backend}");
    }
}

#[test]
fn slo_status_parameters_parse_and_round_trip() {
    let parsed = query(&[("slo_status", "At-Risk"), ("slo_status", "none"), ("slo_status", "at_risk")]);
    assert_eq!(parsed.filter.slo_statuses, [SloStatus::AtRisk, SloStatus::NoSlos]);
    let params: Vec<(String, String)> = parsed.filter_params().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    assert_eq!(params, [("slo_status".to_owned(), "at_risk".to_owned()), ("slo_status".to_owned(), "none".to_owned())]);
    let error = ListQuery::parse(&[("slo_status".to_owned(), "burning".to_owned())]).expect_err("unknown status");
    assert_eq!(error.field, "slo_status");
    assert!(error.message.contains("exhausted, at_risk, stale, no_data, healthy, none"), "{}", error.message);
    assert_eq!(
        SloStatus::ALL.map(SloStatus::label),
        ["Exhausted", "At risk", "Stale", "No data", "Healthy", "No SLOs"]
    );
}
