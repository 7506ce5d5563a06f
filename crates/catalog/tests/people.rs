//! Who a signed-in person is in the catalog and which teams they and an owner sit in, on SQLite and PostgreSQL
//! (when PORTOLAN_TEST_PG_URL is set).

use catalog::ingest::{IngestOptions, NoProgress, ingest};
use catalog::people::{self, MatchedUser};
use store::test_support::TestDb;

const ORG: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: engineering}
spec: {type: department, children: [commerce]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: commerce}
spec: {type: team, parent: engineering, children: [checkout-team]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: checkout-team}
spec: {type: team, parent: commerce, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec:
  profile: {displayName: Alice Liddell, email: Alice@Northwind.example}
  memberOf: [checkout-team]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: kwame}
spec:
  profile: {email: kwame@northwind.example}
  memberOf: [commerce, engineering]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: bob, namespace: ops}
spec: {memberOf: []}
"#;

#[test]
fn people_are_found_by_email_then_by_name_with_their_groups() {
    for db in TestDb::all() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("org.yaml"), ORG).expect("write");
        ingest(&db.store, &[dir.path().to_path_buf()], &IngestOptions::default(), &NoProgress).expect("ingest");
        let mut conn = db.store.conn().expect("connection");

        let alice = MatchedUser { entity_ref: "user:default/alice".into(), display_name: "Alice Liddell".into() };
        let by_email = people::match_user(&mut conn, Some("alice@northwind.EXAMPLE"), None).expect("query");
        assert_eq!(by_email, Some(alice.clone()), "emails match whatever their case");
        let by_name =
            people::match_user(&mut conn, Some("alice.personal@gmail.example"), Some("alice")).expect("query");
        assert_eq!(by_name, Some(alice), "an unknown email falls back to the name");
        // The only `bob` lives in another namespace: still found.
        let bob = people::match_user(&mut conn, None, Some("Bob")).expect("query").expect("bob");
        assert_eq!((bob.entity_ref.as_str(), bob.display_name.as_str()), ("user:ops/bob", "bob"));
        assert_eq!(
            people::match_user(&mut conn, Some("stranger@elsewhere.example"), Some("stranger")).expect("q"),
            None
        );
        // A substring of someone's email is not their email.
        assert_eq!(people::match_user(&mut conn, Some("northwind.example"), None).expect("query"), None);

        assert_eq!(people::groups_of(&mut conn, "user:default/alice").expect("q"), ["group:default/checkout-team"]);
        assert_eq!(
            people::groups_of(&mut conn, "user:default/kwame").expect("q"),
            ["group:default/commerce", "group:default/engineering"]
        );
        assert_eq!(
            people::ancestors(&mut conn, "group:default/checkout-team").expect("q"),
            ["group:default/checkout-team", "group:default/commerce", "group:default/engineering"]
        );
        assert_eq!(people::ancestors(&mut conn, "user:default/alice").expect("q"), ["user:default/alice"]);
    }
}
