//! Pages of entities with many relations list a bounded number of them, and an entity page read from memory
//! follows the catalog when it changes; on SQLite and PostgreSQL.

mod support;

use std::fmt::Write as _;

use catalog::browse::SECTION_ENTITIES;
use store::test_support::TestDb;
use support::{TestApp, select, text};

const MANY: usize = SECTION_ENTITIES + 12;

/// A team with [`MANY`] members, owning [`MANY`] services that all depend on one `hub-service`.
fn big_organisation() -> String {
    let mut yaml = String::from(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: big-team\nspec:\n  type: team\n  children: []\n",
    );
    yaml.push_str(
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: hub-service\n  description: The \
         first hub.\nspec:\n  type: service\n  lifecycle: production\n  owner: big-team\n",
    );
    for i in 0..MANY {
        write!(
            yaml,
            "---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: person-{i:03}\nspec:\n  memberOf: \
             [big-team]\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: leaf-{i:03}\n\
             spec:\n  type: service\n  lifecycle: production\n  owner: big-team\n  dependsOn: [component:hub-service]\n"
        )
        .expect("write to a string");
    }
    yaml
}

fn section_items(doc: &scraper::Html, heading: &str) -> Vec<String> {
    let selector = scraper::Selector::parse("section.relations h3, section.relations ul").expect("selector");
    let mut found = false;
    for el in doc.select(&selector) {
        if el.value().name() == "h3" {
            found = text(&el) == heading;
        } else if found {
            return el.children().filter_map(scraper::ElementRef::wrap).map(|li| text(&li)).collect();
        }
    }
    panic!("no section {heading}");
}

#[actix_web::test]
async fn long_relation_lists_are_cut_with_a_count() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let files = tempfile::tempdir().expect("temp dir");
        std::fs::write(files.path().join("big.yaml"), big_organisation()).expect("write");
        let app = TestApp::spawn_with(db, vec![files.path().to_path_buf()]).await;

        let hub = app.html("/catalog/default/component/hub-service").await;
        let dependents = section_items(&hub, "Dependency of");
        assert_eq!(dependents.len(), SECTION_ENTITIES + 1, "{backend}: {dependents:?}");
        assert_eq!(dependents.last().map(String::as_str), Some("and 12 more"), "{backend}");
        let nodes = select(&hub, "figure.graph svg g.node").len();
        assert!(nodes <= catalog::browse::GRAPH_MAX_NODES + 1, "{backend}: the graph has {nodes} boxes");

        let team = app.html("/catalog/default/group/big-team").await;
        let owned = section_items(&team, "Owner of");
        assert_eq!(owned.len(), SECTION_ENTITIES + 1, "{backend}");
        assert_eq!(owned.last().map(String::as_str), Some("and 13 more"), "{backend}: the hub too");

        let page = app.html("/teams/big-team").await;
        let members: Vec<String> = select(&page, "section[aria-label=Sub-teams] ul")
            .get(1)
            .map(|ul| ul.children().filter_map(scraper::ElementRef::wrap).map(|li| text(&li)).collect())
            .expect("a members list");
        assert_eq!(members.len(), SECTION_ENTITIES + 1, "{backend}");
        assert_eq!(members.last().map(String::as_str), Some("and 12 more"), "{backend}");
    }
}

#[actix_web::test]
async fn an_entity_page_follows_a_changed_file() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let files = tempfile::tempdir().expect("temp dir");
        let file = files.path().join("big.yaml");
        std::fs::write(&file, big_organisation()).expect("write");
        let app = TestApp::spawn_with(db, vec![files.path().to_path_buf()]).await;
        let page = |doc: scraper::Html| doc.root_element().text().collect::<String>();

        assert!(page(app.html("/catalog/default/component/hub-service").await).contains("The first hub."));
        // Asked again: served from memory, the same.
        assert!(page(app.html("/catalog/default/component/hub-service").await).contains("The first hub."));

        std::fs::write(&file, big_organisation().replace("The first hub.", "The second hub.")).expect("rewrite");
        support::ingest_folder(&app.db, files.path()).await;
        let text = page(app.html("/catalog/default/component/hub-service").await);
        assert!(text.contains("The second hub.") && !text.contains("The first hub."), "{backend}: {text}");
    }
}
