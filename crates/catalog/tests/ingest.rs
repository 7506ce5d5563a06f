//! Ingestion against real databases: SQLite always, PostgreSQL when PORTOLAN_TEST_PG_URL is set (always in CI).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use catalog::browse::{Facet, ListQuery};
use catalog::index::CatalogIndex;
use catalog::ingest::{IngestOptions, NoProgress, Report, ingest, validate};
use store::entities;
use store::test_support::TestDb;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/backstage-examples")
}

fn run(db: &TestDb, roots: &[PathBuf]) -> Report {
    ingest(&db.store, roots, &IngestOptions::default(), &NoProgress).expect("ingest runs")
}

fn messages(report: &Report) -> Vec<String> {
    report.problems.iter().map(ToString::to_string).collect()
}

fn kinds(db: &TestDb) -> BTreeMap<String, i64> {
    let mut conn = db.store.conn().expect("conn");
    entities::count_by_kind(&mut conn).expect("counts").into_iter().collect()
}

/// Counts by kind as the fixtures' MANIFEST.md states them.
fn manifest_counts() -> BTreeMap<String, i64> {
    let manifest = fs::read_to_string(fixtures().join("MANIFEST.md")).expect("MANIFEST.md");
    let mut counts = BTreeMap::new();
    for line in manifest.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() >= 3 {
            let kind = cells[1];
            let count = cells[2].split_whitespace().next().and_then(|n| n.parse::<i64>().ok());
            if let (Some(count), true) = (count, catalog::entity::Kind::parse(kind).is_some()) {
                counts.insert(
                    catalog::entity::Kind::parse(kind).map(|k| k.as_str().to_owned()).unwrap_or_default(),
                    count,
                );
            }
        }
    }
    assert_eq!(counts.len(), 8, "the manifest lists eight kinds: {counts:?}");
    counts
}

#[test]
fn backstage_examples_ingest_cleanly_and_match_the_manifest() {
    for db in TestDb::all() {
        let report = run(&db, &[fixtures().join("all.yaml")]);
        let errors: Vec<String> =
            report.problems.iter().filter(|p| p.problem.is_error()).map(ToString::to_string).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", db.backend_name());
        assert_eq!(kinds(&db), manifest_counts(), "{}", db.backend_name());
        assert_eq!(report.added, 64);

        // The only warnings are the remote $text definitions, which are not fetched by default.
        for p in &report.problems {
            assert!(p.problem.message.contains("was not fetched"), "unexpected warning {p}");
        }

        // Every reference resolves except the ones the examples themselves leave dangling.
        let mut conn = db.store.conn().expect("conn");
        let dangling: Vec<String> = entities::unresolved_relations(&mut conn)
            .expect("query")
            .into_iter()
            .map(|r| format!("{} {} {}", r.source_ref, r.relation_type, r.target_ref))
            .collect();
        // playback-order says `owner: guest`: an owner defaults to a Group, and the examples' guest is a User.
        assert_eq!(
            dangling,
            vec!["component:default/playback-order ownedBy group:default/guest"],
            "{}",
            db.backend_name()
        );

        // The local $text definition was read in.
        let webhook = entities::by_ref(&mut conn, "api:default/petstore-webhook").expect("query").expect("exists");
        let body: serde_json::Value = serde_json::from_str(&webhook.body).expect("json");
        assert!(body["spec"]["definition"].as_str().is_some_and(|d| d.contains("openapi")), "{body}");

        // A second run changes nothing and reads no file again.
        let again = run(&db, &[fixtures().join("all.yaml")]);
        assert_eq!((again.added, again.updated, again.removed), (0, 0, 0), "{}", db.backend_name());
        assert_eq!(again.unchanged, 64);
        assert_eq!(again.files_unchanged, again.files, "warnings alone do not make a file be read again");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(&path, text).expect("write");
    path
}

const GROUP: &str =
    "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: payments}\nspec: {type: team, children: []}\n";

fn component(name: &str, owner: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
    )
}

#[test]
fn broken_files_keep_last_good_entities_and_vanished_files_remove_theirs() {
    for db in TestDb::all() {
        let dir = tempfile::tempdir().expect("tmp");
        write(dir.path(), "org.yaml", GROUP);
        let svc = write(
            dir.path(),
            "svc/checkout.yaml",
            &format!(
                "{}---\n{}",
                component("checkout", "payments"),
                component("cart", "payments").replace("  name: cart\n", "  name: cart\n  tags: [web]\n")
            ),
        );
        let first = run(&db, &[dir.path().to_path_buf()]);
        assert_eq!(first.added, 3, "{:?}", messages(&first));
        assert_eq!(first.error_count(), 0);

        // Broken YAML: an error with file, line and column; nothing is lost.
        fs::write(&svc, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: [unclosed\n").expect("write");
        let broken = run(&db, &[dir.path().to_path_buf()]);
        let msgs = messages(&broken);
        assert_eq!(broken.error_count(), 1, "{msgs:?}");
        assert!(msgs[0].contains("checkout.yaml:") && msgs[0].contains("invalid YAML"), "{msgs:?}");
        assert_eq!(broken.removed, 0);
        assert_eq!(kinds(&db).get("Component"), Some(&2));

        // One invalid document: the good one is updated, the invalid one keeps its last good version.
        fs::write(&svc, format!("{}---\n{}", component("checkout", "platform"), "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: cart}\nspec: {type: service, lifecycle: production}\n")).expect("write");
        let partial = run(&db, &[dir.path().to_path_buf()]);
        assert_eq!(partial.updated, 1, "{:?}", messages(&partial));
        assert_eq!(partial.error_count(), 1);
        assert!(
            messages(&partial)[0].ends_with(":9:1: spec.owner is required for a Component")
                || messages(&partial)[0].contains("spec.owner is required"),
            "{:?}",
            messages(&partial)
        );
        let mut conn = db.store.conn().expect("conn");
        let cart = entities::by_ref(&mut conn, "component:default/cart").expect("q").expect("cart kept");
        assert_eq!(cart.owner_ref.as_deref(), Some("group:default/payments"));
        drop(conn);

        // Fixed again, without cart: cart goes, with the relations it stated (both directions).
        let relations_from = |entity: &str| {
            let mut conn = db.store.conn().expect("conn");
            let relations = entities::relations_from(&mut conn, entity).expect("relations");
            relations.into_iter().map(|r| format!("{} {}", r.relation_type, r.target_ref)).collect::<Vec<_>>()
        };
        assert_eq!(relations_from("component:default/cart"), ["ownedBy group:default/payments"]);
        fs::write(&svc, component("checkout", "platform")).expect("write");
        let fixed = run(&db, &[dir.path().to_path_buf()]);
        assert_eq!((fixed.removed, fixed.error_count()), (1, 0), "{:?}", messages(&fixed));
        assert!(relations_from("component:default/cart").is_empty(), "{}", db.backend_name());
        let tags = entities::all_tags(&mut db.store.conn().expect("conn")).expect("tags");
        assert!(tags.is_empty(), "{}: cart's tag went with it: {tags:?}", db.backend_name());
        assert!(relations_from("group:default/payments").iter().all(|r| !r.ends_with("/cart")));

        // The file disappears: what it alone produced goes with it, relations too.
        fs::remove_file(&svc).expect("rm");
        let gone = run(&db, &[dir.path().to_path_buf()]);
        assert_eq!(gone.removed, 1);
        assert_eq!(kinds(&db).get("Component"), None);
        assert_eq!(kinds(&db).get("Group"), Some(&1));
        assert!(relations_from("component:default/checkout").is_empty(), "{}", db.backend_name());
        assert!(relations_from("group:default/platform").is_empty(), "{}", db.backend_name());
    }
}

#[test]
fn the_same_entity_from_two_files_is_a_conflict_on_the_second() {
    for db in TestDb::all() {
        let dir = tempfile::tempdir().expect("tmp");
        write(dir.path(), "a.yaml", &component("checkout", "payments"));
        write(dir.path(), "b.yaml", &component("checkout", "platform"));
        let report = run(&db, &[dir.path().to_path_buf()]);
        let msgs = messages(&report);
        assert_eq!(report.added, 1);
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert!(msgs[0].contains("b.yaml:1:1: component:default/checkout is already defined in"), "{msgs:?}");
        let mut conn = db.store.conn().expect("conn");
        let kept = entities::by_ref(&mut conn, "component:default/checkout").expect("q").expect("kept");
        assert_eq!(kept.owner_ref.as_deref(), Some("group:default/payments"), "the first is kept");
    }
}

#[test]
fn non_utf8_huge_and_bomb_files_get_errors_not_crashes() {
    for db in TestDb::all() {
        let dir = tempfile::tempdir().expect("tmp");
        write(dir.path(), "good.yaml", &component("fine", "payments"));
        fs::write(dir.path().join("latin1.yaml"), b"name: caf\xe9\n").expect("write");
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
                p = i - 1
            ));
        }
        write(dir.path(), "bomb.yaml", &bomb);
        let options = IngestOptions { max_file_bytes: 10_000, ..IngestOptions::default() };
        write(dir.path(), "huge.yaml", &format!("# {}\n", "x".repeat(20_000)));
        let report = ingest(&db.store, &[dir.path().to_path_buf()], &options, &NoProgress).expect("ingest");
        let msgs = messages(&report);
        assert_eq!(report.added, 1, "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("latin1.yaml:1:10: the file is not UTF-8")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("bomb.yaml:") && m.contains("more than")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("huge.yaml:1:1: the file is 20003 bytes")), "{msgs:?}");
    }
}

#[test]
fn substitutions_stay_inside_the_location_and_are_tracked() {
    for db in TestDb::all() {
        let outer = tempfile::tempdir().expect("tmp");
        let dir = outer.path().join("catalog");
        write(outer.path(), "secret.txt", "s3cret");
        let api = |target: &str| {
            format!(
                "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {{name: orders}}\nspec:\n  type: openapi\n  lifecycle: production\n  owner: payments\n  definition:\n    $text: {target}\n"
            )
        };
        write(&dir, "def.yaml", "openapi: 3.0.0\n");
        let file = write(&dir, "api.yaml", &api("./def.yaml"));
        let report = run(&db, std::slice::from_ref(&dir));
        assert_eq!((report.added, report.error_count()), (1, 0), "{:?}", messages(&report));

        // Changing only the substituted file updates the entity.
        write(&dir, "def.yaml", "openapi: 3.1.0\n");
        let report = run(&db, std::slice::from_ref(&dir));
        assert_eq!(report.updated, 1, "{:?}", messages(&report));

        fs::write(&file, api("../secret.txt")).expect("write");
        let report = run(&db, std::slice::from_ref(&dir));
        let msgs = messages(&report);
        assert!(
            msgs.iter().any(|m| m.contains("api.yaml:9:12: $text `../secret.txt` is outside the catalog location")),
            "{msgs:?}"
        );
        let mut conn = db.store.conn().expect("conn");
        let kept = entities::by_ref(&mut conn, "api:default/orders").expect("q").expect("kept");
        assert!(!kept.body.contains("s3cret"));
    }
}

#[test]
fn validate_reports_without_writing() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "a.yaml", &component("x", "payments"));
    write(
        dir.path(),
        "b.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: y}\nspec: {type: service, owner: payments}\n",
    );
    let report = validate(&[dir.path().to_path_buf()], &IngestOptions::default()).expect("validate");
    let msgs = messages(&report);
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(msgs[0].contains("b.yaml:4:7: spec.lifecycle is required for a Component"), "{msgs:?}");
}

#[test]
fn the_index_filters_facets_searches_and_pages_like_the_database() {
    for db in TestDb::all() {
        run(&db, &[fixtures().join("all.yaml")]);
        let mut conn = db.store.conn().expect("conn");
        let index = CatalogIndex::build(&mut conn).expect("index");
        assert_eq!(index.len(), 64);
        let query = |pairs: &[(&str, &str)]| {
            ListQuery::parse(&pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>())
                .expect("query")
        };
        let components = query(&[("kind", "component")]);
        assert_eq!(index.count(&components.filter), 13);

        // Partial words over name, title, description and tags.
        let found = index.page(&query(&[("q", "wayb arch"), ("limit", "50")]));
        assert!(
            found.items.len() >= 3 && found.items.iter().all(|e| e.entity_ref.contains("wayback")),
            "{}",
            found.total
        );

        // A facet counts without its own selection; the others apply.
        let facets = index.select(&components.filter).facets.clone();
        let kinds = &facets.iter().find(|(f, _)| *f == Facet::Kind).expect("kind facet").1;
        assert!(kinds.contains(&("API".to_owned(), 11)), "{kinds:?}");
        let owners = &facets.iter().find(|(f, _)| *f == Facet::Owner).expect("owner facet").1;
        assert_eq!(owners.iter().map(|(_, n)| n).sum::<i64>(), 13);
        let by_owner = query(&[("kind", "component"), ("owner", "team-a")]);
        let facets = index.select(&by_owner.filter).facets.clone();
        let tags = &facets.iter().find(|(f, _)| *f == Facet::Tag).expect("tag facet").1;
        let tagged_by_team_a: i64 = tags.iter().filter(|(t, _)| t == "java").map(|(_, n)| *n).sum();
        assert_eq!(
            index.count(&query(&[("kind", "component"), ("owner", "team-a"), ("tag", "java")]).filter),
            tagged_by_team_a
        );

        // The index agrees with the database on every kind.
        for (kind, n) in entities::count_by_kind(&mut conn).expect("counts") {
            assert_eq!(index.count(&query(&[("kind", kind.as_str())]).filter), n, "{kind}");
        }

        // Paging by cursor, both directions and both sorts, visits each entity once, in order.
        for sort in ["name", "-name", "kind", "-kind"] {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut pairs = vec![("limit", "7"), ("sort", sort)];
                if let Some(c) = &cursor {
                    pairs.push(("cursor", c.as_str()));
                }
                let page = index.page(&query(&pairs));
                assert_eq!(page.total, 64);
                seen.extend(page.items.iter().map(|e| {
                    let primary = if sort.ends_with("kind") { e.kind.clone() } else { e.sort_name.clone() };
                    (primary, e.entity_ref.clone())
                }));
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            assert_eq!(seen.len(), 64, "{sort}");
            let mut sorted = seen.clone();
            sorted.sort();
            if sort.starts_with('-') {
                sorted.reverse();
            }
            assert_eq!(seen, sorted, "{sort}");
        }
    }
}

/// Serves `body` over HTTP on loopback for a few requests; returns the URL.
fn serve_once(body: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/spec.yaml", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn remote_substitutions_only_when_allowed() {
    let db = TestDb::sqlite();
    let url = serve_once("openapi: 3.0.0\ninfo: {title: remote}\n");
    let dir = tempfile::tempdir().expect("tmp");
    write(
        dir.path(),
        "api.yaml",
        &format!(
            "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {{name: remote}}\nspec:\n  type: openapi\n  lifecycle: production\n  owner: payments\n  definition:\n    $text: {url}\n"
        ),
    );
    let report = run(&db, &[dir.path().to_path_buf()]);
    assert_eq!(report.added, 1, "kept with a warning");
    assert!(
        messages(&report)[0].contains("warning: $text http://")
            && messages(&report)[0].contains("remote substitutions are off"),
        "{:?}",
        messages(&report)
    );

    let allowed = IngestOptions { allow_remote_substitutions: true, ..IngestOptions::default() };
    let db = TestDb::sqlite();
    let report = ingest(&db.store, &[dir.path().to_path_buf()], &allowed, &NoProgress).expect("ingest");
    assert!(report.problems.is_empty(), "{:?}", messages(&report));
    let mut conn = db.store.conn().expect("conn");
    let api = entities::by_ref(&mut conn, "api:default/remote").expect("q").expect("exists");
    assert!(api.body.contains("title: remote"), "{}", api.body);

    // An unreachable URL within the timeout: kept, with the reason.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    write(
        dir.path(),
        "api.yaml",
        &format!(
            "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {{name: remote}}\nspec:\n  type: openapi\n  lifecycle: production\n  owner: payments\n  definition:\n    $text: http://{closed}/gone.yaml\n"
        ),
    );
    let report = ingest(&db.store, &[dir.path().to_path_buf()], &allowed, &NoProgress).expect("ingest");
    assert_eq!(report.error_count(), 0);
    assert!(messages(&report)[0].contains("was not fetched"), "{:?}", messages(&report));
}

#[test]
fn a_vanished_folder_deletes_nothing_until_its_grace_period_is_over() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().join("catalog");
        write(&root, "org.yaml", GROUP);
        write(&root, "services/checkout.yaml", &component("checkout", "payments"));
        write(&root, "services/payments.yaml", &component("payments-api", "payments"));
        let patient =
            IngestOptions { vanished_grace: std::time::Duration::from_secs(3600), ..IngestOptions::default() };
        let first = ingest(&db.store, std::slice::from_ref(&root), &patient, &NoProgress).expect("ingest");
        assert_eq!(first.added, 3, "{backend}");

        // The services folder vanishes (a checkout being replaced, a share unmounted): everything stays, noted.
        fs::rename(root.join("services"), dir.path().join("services-elsewhere")).expect("move away");
        let report = ingest(&db.store, std::slice::from_ref(&root), &patient, &NoProgress).expect("ingest");
        assert_eq!((report.removed, report.files_missing), (0, 2), "{backend}");
        assert_eq!(kinds(&db).get("Component"), Some(&2), "{backend}: kept during the grace period");
        let missing_since = |db: &TestDb| {
            let mut conn = db.store.conn().expect("conn");
            let keys = catalog::ingest::root_keys(std::slice::from_ref(&root)).expect("keys");
            let mut rows: Vec<_> = store::sources::under_roots(&mut conn, &keys)
                .expect("sources")
                .into_iter()
                .map(|s| (s.path.rsplit('/').next().unwrap_or_default().to_owned(), s.missing_since.is_some()))
                .collect();
            rows.sort();
            rows
        };
        assert_eq!(
            missing_since(&db),
            [("checkout.yaml".to_owned(), true), ("org.yaml".to_owned(), false), ("payments.yaml".to_owned(), true)]
        );
        // It comes back unchanged: nothing was lost, nothing to rewrite, no longer missing.
        fs::rename(dir.path().join("services-elsewhere"), root.join("services")).expect("move back");
        let report = ingest(&db.store, std::slice::from_ref(&root), &patient, &NoProgress).expect("ingest");
        assert_eq!((report.added, report.removed, report.files_missing, report.unchanged), (0, 0, 0, 3), "{backend}");
        assert!(missing_since(&db).iter().all(|(_, missing)| !missing), "{backend}");

        // Gone for longer than the grace period: the first run notes it, a run after the period removes it.
        fs::remove_file(root.join("services/payments.yaml")).expect("remove");
        let short = IngestOptions { vanished_grace: std::time::Duration::from_millis(50), ..IngestOptions::default() };
        let noted = ingest(&db.store, std::slice::from_ref(&root), &short, &NoProgress).expect("ingest");
        assert_eq!((noted.removed, noted.files_missing), (0, 1), "{backend}");
        std::thread::sleep(std::time::Duration::from_millis(60));
        let removed = ingest(&db.store, std::slice::from_ref(&root), &short, &NoProgress).expect("ingest");
        assert_eq!((removed.removed, removed.files_missing), (1, 0), "{backend}");
        assert_eq!(kinds(&db).get("Component"), Some(&1), "{backend}");
    }
}

#[test]
fn a_missing_location_is_reported_and_kept_when_it_is_no_error() {
    for db in TestDb::all() {
        let dir = tempfile::tempdir().expect("tmp");
        let (here, share) = (dir.path().join("here"), dir.path().join("share"));
        write(&here, "org.yaml", GROUP);
        write(&share, "checkout.yaml", &component("checkout", "payments"));
        let roots = [here.clone(), share.clone()];
        let tolerant = IngestOptions {
            vanished_grace: std::time::Duration::from_secs(3600),
            missing_location_is_error: false,
            ..IngestOptions::default()
        };
        assert_eq!(ingest(&db.store, &roots, &tolerant, &NoProgress).expect("ingest").added, 2);
        fs::rename(&share, dir.path().join("unmounted")).expect("unmount");
        // `portolan ingest` with a path that is not there is an error, and writes nothing.
        let strict = IngestOptions { vanished_grace: tolerant.vanished_grace, ..IngestOptions::default() };
        assert!(ingest(&db.store, &roots, &strict, &NoProgress).is_err());
        // The refresh loop reads the other location, reports this one, and keeps its entities.
        write(&here, "more.yaml", &component("ledger", "payments"));
        let report = ingest(&db.store, &roots, &tolerant, &NoProgress).expect("ingest");
        assert_eq!((report.added, report.removed, report.files_missing), (1, 0, 1));
        let problems = messages(&report);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("share") && problems[0].contains("kept until it has been gone for 3600 s"),
            "{problems:?}"
        );
        assert_eq!(kinds(&db).get("Component"), Some(&2));
    }
}
