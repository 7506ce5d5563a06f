//! The golden-path facet, filter and column of the catalog index, and the team roll-up of services behind their
//! golden path, on SQLite and on PostgreSQL (when PORTOLAN_TEST_PG_URL is set). Template versions are written through
//! the store directly (the scaffolding crate keeps them in the application).

use std::path::Path;

use catalog::browse::{self, EntityFilter, Facet, ListQuery};
use catalog::golden_path::{DriftStatus, GoldenPath};
use catalog::index::{CatalogIndex, SharedIndex};
use catalog::ingest::{IngestOptions, NoProgress, ingest};
use store::templates::{self, Saved, VersionForm};
use store::test_support::TestDb;
use store::{DbConnection, stats};

/// A Component owned by `owner`, with the template annotations given (`None`: left out).
fn component(name: &str, owner: &str, template: Option<&str>, version: Option<&str>) -> String {
    let mut annotations = String::new();
    if let Some(template) = template {
        annotations.push_str(&format!("    backstage.io/source-template: {template}\n"));
    }
    if let Some(version) = version {
        annotations.push_str(&format!("    portolan.dev/template-version: \"{version}\"\n"));
    }
    if !annotations.is_empty() {
        annotations.insert_str(0, "  annotations:\n");
    }
    format!(
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n{annotations}spec:\n  \
         type: service\n  lifecycle: production\n  owner: {owner}\n"
    )
}

const RUST: Option<&str> = Some("template:default/rust-http-service");

/// Six Components of team-a and its sub-team team-b, two Groups, and an API that carries the annotations too.
fn catalog(dir: &Path) {
    let text = [
        component("checkout", "team-a", RUST, Some("1.0.0")),
        // The short form of the template's ref names the same template.
        component("payments", "team-b", Some("rust-http-service"), Some("1.1.0")),
        component("search", "team-a", RUST, Some("2.0.0")),
        // A template never kept, and a version that is not semver.
        component("carrier", "team-b", Some("template:default/python-worker"), Some("1.0.0")),
        component("invoices", "team-a", RUST, Some("latest")),
        // The annotation's key in the description does not make it from a template.
        component("ledger", "team-a", None, None)
            .replace("metadata:\n", "metadata:\n  description: \"not made with backstage.io/source-template\"\n"),
        "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  \
         children: [team-b]\n"
            .to_owned(),
        "---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-b\nspec:\n  type: team\n  \
         parent: team-a\n  children: []\n"
            .to_owned(),
        "---\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: orders-api\n  annotations:\n    \
         backstage.io/source-template: template:default/rust-http-service\n    \
         portolan.dev/template-version: \"1.0.0\"\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  \
         definition: openapi\n"
            .to_owned(),
    ]
    .concat();
    std::fs::write(dir.join("catalog-info.yaml"), text).expect("write");
}

/// Keeps a version of a template, as the scaffolding's `versions::record` does.
fn keep(conn: &mut DbConnection, name: &str, version: &str) -> Saved {
    let form = VersionForm {
        namespace: "default",
        name,
        version,
        title: name,
        description: "",
        owner: Some("team-a"),
        template_type: "service",
        tags: "[]",
        path: "/templates/template.yaml",
        content_hash: version,
        bundle: b"",
    };
    templates::save(conn, &form, store::now()).expect("version kept")
}

fn setup(db: &TestDb) {
    let dir = tempfile::tempdir().expect("tmp");
    catalog(dir.path());
    let report =
        ingest(&db.store, &[dir.path().to_path_buf()], &IngestOptions::default(), &NoProgress).expect("ingest");
    assert_eq!((report.added, report.error_count()), (9, 0), "{:?}", report.problems);
    let mut conn = db.store.conn().expect("connection");
    for version in ["1.0.0", "1.1.0", "2.0.0"] {
        assert_eq!(keep(&mut conn, "rust-http-service", version), Saved::New);
    }
}

fn counts(index: &CatalogIndex, filter: &EntityFilter) -> Vec<(String, i64)> {
    let selection = index.select(filter);
    selection.facets.iter().find(|(facet, _)| *facet == Facet::Drift).map(|(_, c)| c.clone()).unwrap_or_default()
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

fn behind(n: u32) -> Option<GoldenPath> {
    Some(GoldenPath { status: DriftStatus::Behind, behind: n })
}

#[test]
fn components_are_counted_and_filtered_by_their_golden_path_drift() {
    for db in TestDb::all() {
        setup(&db);
        let backend = db.backend_name();
        let mut conn = db.store.conn().expect("connection");
        let index = CatalogIndex::build(&mut conn).expect("index");
        // Only Components are counted: the API names a template too, and the Groups have no drift.
        let all = pairs(&[("behind", 2), ("unknown", 2), ("up_to_date", 1), ("none", 1)]);
        assert_eq!(counts(&index, &EntityFilter::default()), all, "{backend}");
        assert_eq!(index.golden_path("component:default/checkout"), behind(2), "{backend}");
        assert_eq!(index.golden_path("component:default/payments"), behind(1), "{backend}: the short ref");
        let status = |name: &str| index.golden_path(&format!("component:default/{name}")).map(|g| g.status);
        assert_eq!(status("search"), Some(DriftStatus::UpToDate), "{backend}");
        assert_eq!(status("carrier"), Some(DriftStatus::Unknown), "{backend}: a template never kept");
        assert_eq!(status("invoices"), Some(DriftStatus::Unknown), "{backend}: not semver");
        assert_eq!(status("ledger"), Some(DriftStatus::None), "{backend}");
        assert_eq!(index.golden_path("api:default/orders-api"), None, "{backend}");
        assert_eq!(index.golden_path("group:default/team-a"), None, "{backend}");

        let late = query(&[("golden_path", "behind")]);
        assert_eq!(names(&index, &late), ["checkout", "payments"], "{backend}");
        let either = query(&[("golden_path", "up_to_date"), ("golden_path", "none")]);
        assert_eq!(names(&index, &either), ["ledger", "search"], "{backend}");
        // The facet is counted without its own selection; the other facets with it.
        assert_eq!(counts(&index, &either.filter), all, "{backend}");
        let kinds = index.select(&late.filter).facets.iter().find(|(f, _)| *f == Facet::Kind).map(|(_, c)| c.clone());
        assert_eq!(kinds, Some(pairs(&[("Component", 2)])), "{backend}");
        // And the other way round: other filters narrow the drift counts.
        assert_eq!(counts(&index, &query(&[("kind", "api")]).filter), Vec::new(), "{backend}");
        let team_b = query(&[("owner", "team-b")]);
        assert_eq!(counts(&index, &team_b.filter), pairs(&[("behind", 1), ("unknown", 1)]), "{backend}");
        assert_eq!(names(&index, &query(&[("owner", "team-b"), ("golden_path", "behind")])), ["payments"]);

        // The list rows carry the column: the facet value and how far behind.
        let page = browse::list(&index, &query(&[("q", "checkout")]));
        let item = page.items.first().expect("checkout");
        assert_eq!(item.golden_path, behind(2), "{backend}");
        assert_eq!(item.golden_path.map(|g| g.short()).as_deref(), Some("2 behind"));
        let page = browse::list(&index, &query(&[("kind", "api")]));
        assert_eq!(page.items.first().map(|item| item.golden_path), Some(None), "{backend}");

        // The facet groups as the pages show them.
        let groups = browse::facets(&index, &late);
        let group = groups.iter().find(|g| g.name == "golden_path").expect("a golden-path facet");
        assert_eq!(group.title, "Golden path");
        let shown: Vec<(&str, &str, i64, bool)> =
            group.values.iter().map(|v| (v.value.as_str(), v.label.as_str(), v.count, v.selected)).collect();
        assert_eq!(
            shown,
            [
                ("behind", "Behind", 2, true),
                ("unknown", "Unknown version", 2, false),
                ("up_to_date", "Up to date", 1, false),
                ("none", "No template", 1, false)
            ],
            "{backend}"
        );
    }
}

#[test]
fn the_shared_index_follows_new_template_versions_with_the_generation() {
    for db in TestDb::all() {
        setup(&db);
        let backend = db.backend_name();
        let shared = SharedIndex::default();
        let mut conn = db.store.conn().expect("connection");
        let first = shared.get(&mut conn).expect("index");
        let late = query(&[("golden_path", "behind")]);
        assert_eq!(first.count(&late.filter), 2, "{backend}");

        // A new version of the template: every service on it falls behind once the generation moves, as the
        // scaffolding's `versions::sync` moves it when it keeps a version.
        assert_eq!(keep(&mut conn, "rust-http-service", "2.1.0"), Saved::New);
        assert_eq!(keep(&mut conn, "python-worker", "1.0.0"), Saved::New);
        stats::increment(&mut conn, stats::GENERATION).expect("generation");
        let second = shared.get(&mut conn).expect("index");
        assert!(second.generation > first.generation, "{backend}");
        assert_eq!(names(&second, &late), ["checkout", "payments", "search"], "{backend}");
        assert_eq!(second.golden_path("component:default/checkout"), behind(3), "{backend}");
        let carrier = second.golden_path("component:default/carrier").map(|g| g.status);
        assert_eq!(carrier, Some(DriftStatus::UpToDate), "{backend}: its template is now known");
    }
}

#[test]
fn a_team_counts_the_services_of_its_subtree_behind_their_golden_path() {
    for db in TestDb::all() {
        setup(&db);
        let backend = db.backend_name();
        let mut conn = db.store.conn().expect("connection");
        let index = CatalogIndex::build(&mut conn).expect("index");
        let team = browse::team(&mut conn, &index, "default", "team-a").expect("query").expect("team-a");
        // Six services with team-b's; the API is owned but is no service.
        assert_eq!((team.services, team.services_behind, team.owned_total), (6, 2, 7), "{backend}");
        let marked: Vec<(&str, bool)> = team
            .owned
            .iter()
            .map(|item| (item.entity.name.as_str(), item.golden_path.is_some_and(|g| g.is_behind())))
            .filter(|(_, late)| *late)
            .collect();
        assert_eq!(marked, [("checkout", true), ("payments", true)], "{backend}");
        // The link to the list of them lists exactly them.
        let params: Vec<(String, String)> =
            team.behind_query().filter_params().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        assert_eq!(
            params,
            [
                ("kind", "component"),
                ("owner", "group:default/team-a"),
                ("owner", "group:default/team-b"),
                ("golden_path", "behind")
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
            "{backend}"
        );
        let listed = ListQuery::parse(&params).expect("the link parses");
        assert_eq!(names(&index, &listed), ["checkout", "payments"], "{backend}");

        let team_b = browse::team(&mut conn, &index, "default", "team-b").expect("query").expect("team-b");
        assert_eq!((team_b.services, team_b.services_behind), (2, 1), "{backend}");
    }
}

#[test]
fn golden_path_parameters_parse_and_round_trip() {
    let parsed = query(&[("golden_path", "Behind"), ("golden_path", "up-to-date"), ("golden_path", "behind")]);
    assert_eq!(parsed.filter.drifts, [DriftStatus::Behind, DriftStatus::UpToDate]);
    let params: Vec<(String, String)> = parsed.filter_params().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    assert_eq!(
        params,
        [("golden_path".to_owned(), "behind".to_owned()), ("golden_path".to_owned(), "up_to_date".to_owned())]
    );
    assert_eq!(ListQuery::parse(&params).expect("round trip").filter, parsed.filter);
    let error = ListQuery::parse(&[("golden_path".to_owned(), "late".to_owned())]).expect_err("unknown drift");
    assert_eq!(error.field, "golden_path");
    assert!(error.message.contains("behind, unknown, up_to_date, none"), "{}", error.message);
    assert_eq!(EntityFilter { drifts: vec![DriftStatus::Behind], ..EntityFilter::default() }.without(Facet::Drift), {
        EntityFilter::default()
    });
}
