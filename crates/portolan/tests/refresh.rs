//! The refresh loop: on request through the API, and once per interval across processes sharing a database.

mod support;

use std::time::Duration;

use portolan::Application;
use portolan::refresh::refresh_once;
use portolan::settings::Settings;
use store::test_support::TestDb;
use support::TestApp;

const EXTRA: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: fresh-service}\nspec: {type: service, lifecycle: experimental, owner: platform}\n";

#[actix_web::test]
async fn post_refresh_reads_new_files() {
    for db in TestDb::all() {
        let app = TestApp::spawn(db).await;
        let folder = app.demo_root.parent().expect("demo folder").join("components");
        std::fs::write(folder.join("fresh.yaml"), EXTRA).expect("write");
        // The demo's Location reaches components/*.yaml, so the new file is picked up.
        let response = app.client.post(format!("{}/api/v1/refresh", app.base)).send().await.expect("post");
        assert_eq!(response.status(), 202);
        let mut found = false;
        for _ in 0..100 {
            let (status, _) = app.json("/api/v1/entities/component/default/fresh-service").await;
            if status == 200 {
                found = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(found, "{}: the new service appears after POST /api/v1/refresh", app.db.backend_name());
    }
}

#[actix_web::test]
async fn processes_sharing_a_database_refresh_once_per_interval() {
    for db in TestDb::all() {
        let files = tempfile::tempdir().expect("tmp");
        std::fs::write(files.path().join("svc.yaml"), EXTRA).expect("write");
        let settings = |n: usize| Settings {
            bind: "127.0.0.1:0".to_owned(),
            database_url: db.url.clone(),
            locations: vec![files.path().to_path_buf()],
            refresh_interval_secs: 3600,
            data_dir: files.path().join(format!("data-{n}")),
            ..Settings::default()
        };
        let first = Application::build(settings(1)).await.expect("first");
        let second = Application::build(settings(2)).await.expect("second");
        let (a, b) = (first.state.clone(), second.state.clone());
        let (ra, rb) = tokio::task::spawn_blocking(move || {
            let ra = refresh_once(&a, false).expect("a");
            let rb = refresh_once(&b, false).expect("b");
            (ra, rb)
        })
        .await
        .expect("join");
        assert_eq!(ra.map(|r| r.added), Some(1), "{}", db.backend_name());
        assert!(rb.is_none(), "{}: the second process skips a refresh done within the interval", db.backend_name());

        // A requested refresh runs before it is due again.
        let b = second.state.clone();
        let requested = tokio::task::spawn_blocking(move || refresh_once(&b, true).expect("b")).await.expect("join");
        assert_eq!(requested.map(|r| r.unchanged), Some(1));
    }
}

#[actix_web::test]
async fn a_location_that_vanishes_keeps_its_entities_for_the_grace_period() {
    for db in TestDb::all() {
        let files = tempfile::tempdir().expect("tmp");
        let (share, here) = (files.path().join("share"), files.path().join("here"));
        std::fs::create_dir_all(&share).expect("mkdir");
        std::fs::create_dir_all(&here).expect("mkdir");
        std::fs::write(share.join("svc.yaml"), EXTRA).expect("write");
        let settings = |grace: u64| Settings {
            bind: "127.0.0.1:0".to_owned(),
            database_url: db.url.clone(),
            locations: vec![share.clone(), here.clone()],
            refresh_interval_secs: 3600,
            vanished_grace_secs: grace,
            data_dir: files.path().join(format!("data-{grace}")),
            ..Settings::default()
        };
        let patient = Application::build(settings(900)).await.expect("app");
        let state = patient.state.clone();
        let refresh = |state: actix_web::web::Data<portolan::AppState>| async move {
            tokio::task::spawn_blocking(move || refresh_once(&state, true).expect("refresh").expect("ran"))
                .await
                .expect("join")
        };
        assert_eq!(refresh(state.clone()).await.added, 1);
        // The share goes away; the other location still refreshes, and the service stays.
        std::fs::rename(&share, files.path().join("unmounted")).expect("unmount");
        std::fs::write(here.join("other.yaml"), EXTRA.replace("fresh-service", "other-service")).expect("write");
        let report = refresh(state.clone()).await;
        let name = db.backend_name();
        assert_eq!((report.added, report.removed, report.files_missing), (1, 0, 1), "{name}");
        assert!(report.problems.iter().any(|p| p.path.ends_with("share")), "{name}: {:?}", report.problems);
        let mut conn = db.store.conn().expect("conn");
        assert!(store::entities::by_ref(&mut conn, "component:default/fresh-service").expect("q").is_some(), "{name}");
        drop(conn);
        // With no grace at all, the next refresh removes it.
        let impatient = Application::build(settings(0)).await.expect("app");
        let report = refresh(impatient.state.clone()).await;
        assert_eq!((report.removed, report.files_missing), (1, 0), "{name}");
    }
}
