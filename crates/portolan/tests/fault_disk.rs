//! A full disk and a read-only file system under the SQLite database. The database lives on a small tmpfs (mounted by
//! the test, which takes root; outside CI a refused mount skips with a note, in CI it fails); the real `portolan
//! serve` runs on it, and writes go through the product: SLI events pushed over the API, `portolan token create` and
//! `portolan ingest` from the command line, beside the running portal.
//!
//! * Disk full (a filler file takes the rest of the tmpfs): writes fail with a clear error naming the database file
//!   (the API: 507 `disk_full`; the command line: exit 1 and the same sentence), reads keep working; once the filler
//!   is removed, writes succeed again, `PRAGMA integrity_check` is `ok` and everything written before is there.
//! * Read-only (`mount -o remount,ro`; root ignores file modes): the running portal keeps serving reads and refuses
//!   writes with 503 naming the file; `portolan serve` started on the read-only database stops at once with a
//!   message naming the file; remounted read-write, writes succeed again and the database is intact.

mod fault_support;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use fault_support::{Portal, Tmpfs, component, is_root, skip, write_catalog};
use serde_json::{Value, json};

const SLO: &str = "/api/v1/slos/default/svc-0-availability";

fn write_push_slo(catalog: &Path) {
    std::fs::write(
        catalog.join("slos.yaml"),
        "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: svc-0-availability\nspec:\n  service: svc-0\n  \
         indicator:\n    metadata:\n      name: svc-0-requests\n    spec:\n      ratioMetric:\n        counter: true\n        \
         good:\n          metricSource:\n            type: Push\n        total:\n          metricSource:\n            \
         type: Push\n  timeWindow:\n    - duration: 28d\n      isRolling: true\n  budgetingMethod: Occurrences\n  \
         objectives:\n    - target: 0.99\n",
    )
    .expect("SLO file");
}

/// `portolan ARGS… --config CONFIG`: (success, stdout, stderr).
fn cli(dir: &Path, config: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_portolan"))
        .args(args)
        .arg("--config")
        .arg(config)
        .current_dir(dir)
        .output()
        .expect("portolan runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

/// One hour of minute samples, `hours_ago` hours back: `(status, body)` of the push.
async fn push(client: &reqwest::Client, base: &str, token: &str, hours_ago: i64) -> (u16, Value) {
    let start = chrono::Utc::now() - chrono::Duration::hours(hours_ago + 1);
    let samples: Vec<Value> = (0..60)
        .map(|m| json!({ "timestamp": (start + chrono::Duration::minutes(m)).to_rfc3339(), "good": 99, "total": 100 }))
        .collect();
    let response = client
        .post(format!("{base}{SLO}/events"))
        .bearer_auth(token)
        .json(&samples)
        .send()
        .await
        .expect("POST the events");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn status(client: &reqwest::Client, base: &str, path: &str) -> u16 {
    client.get(format!("{base}{path}")).send().await.expect("GET").status().as_u16()
}

/// Fills the file system of `dir` with one file until it is full.
fn fill(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    loop {
        if let Err(e) = file.write_all(&chunk) {
            assert_eq!(e.raw_os_error(), Some(28), "the filler stops at ENOSPC: {e}");
            break;
        }
    }
    // The last partial chunk too.
    while file.write_all(&[0u8; 512]).is_ok() {}
    path
}

fn integrity(db: &Path) -> String {
    let mut conn = diesel::SqliteConnection::establish(&db.display().to_string()).expect("open the database");
    #[derive(diesel::QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let rows: Vec<Check> = diesel::sql_query("PRAGMA integrity_check").load(&mut conn).expect("integrity_check");
    rows.into_iter().map(|r| r.integrity_check).collect::<Vec<_>>().join("\n")
}

#[actix_web::test]
async fn a_full_disk_or_read_only_file_system_refuses_writes_clearly_and_corrupts_nothing() {
    if !is_root() {
        skip("mounting a tmpfs takes root");
        return;
    }
    let Some(tmpfs) = Tmpfs::mount("8m") else { return };
    let db = tmpfs.path().join("portolan.db");
    let files = tempfile::tempdir().expect("tmp");
    let catalog = write_catalog(files.path(), 3);
    write_push_slo(&catalog);
    let config = files.path().join("portal.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"sqlite://{}\"\nlocations = [\"{}\"]\ndata_dir = \"{}\"\nrefresh_interval_secs = 3600\n",
            db.display(),
            catalog.display(),
            files.path().join("data").display()
        ),
    )
    .expect("config");
    let mut portal = Portal::start(files.path(), &config);
    portal.ready(Duration::from_secs(60)).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    let base = portal.base.clone();
    let started = Instant::now();
    while status(&client, &base, SLO).await != 200 {
        assert!(started.elapsed() < Duration::from_secs(30), "the catalog was never read:\n{}", portal.log_text());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Before: a token, events, a second ingest.
    let (ok, token, err) = cli(files.path(), &config, &["token", "create", "--name", "ci"]);
    assert!(ok, "token create: {err}\n{}", portal.log_text());
    let token = token.trim().to_owned();
    assert_eq!(push(&client, &base, &token, 0).await.0, 200);
    let extra = files.path().join("extra");
    std::fs::create_dir_all(&extra).expect("extra");
    std::fs::write(extra.join("a.yaml"), component("before-full")).expect("extra descriptor");
    let (ok, _, err) = cli(files.path(), &config, &["ingest", &extra.display().to_string()]);
    assert!(ok, "ingest before the disk is full: {err}");

    // Disk full. The WAL may still have room for a write or two; then every write is refused.
    let filler = fill(tmpfs.path());
    let mut refused = None;
    for hours_ago in 1..20 {
        let (code, body) = push(&client, &base, &token, hours_ago).await;
        assert!(matches!(code, 200 | 507), "a write on a full disk answers 200 or 507, not {code}: {body:#}");
        if code == 507 {
            refused = Some(body);
            break;
        }
    }
    let body = refused.expect("writes are refused once the disk is full");
    assert_eq!(body["error"]["code"], "disk_full", "{body:#}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!(
            "the SQLite database {} cannot be written: the disk holding it is full",
            db.display()
        )),
        "{message}"
    );
    for path in [SLO, "/catalog/default/component/svc-0", "/catalog", "/readyz"] {
        assert_eq!(status(&client, &base, path).await, 200, "reading {path} on a full disk");
    }
    let (ok, _, err) = cli(files.path(), &config, &["token", "create", "--name", "ci-2"]);
    assert!(!ok, "token create on a full disk fails");
    assert!(err.contains(&format!("{} cannot be written: the disk holding it is full", db.display())), "{err}");
    std::fs::write(extra.join("b.yaml"), component("while-full")).expect("extra descriptor");
    let (ok, out, err) = cli(files.path(), &config, &["ingest", &extra.display().to_string()]);
    assert!(!ok, "ingest on a full disk exits non-zero: {out}");
    assert!(err.contains("cannot be written: the disk holding it is full"), "{err}");

    // Space again: writes succeed, nothing was lost or corrupted.
    std::fs::remove_file(&filler).expect("remove the filler");
    assert_eq!(push(&client, &base, &token, 30).await.0, 200, "a write once there is room again");
    let (ok, _, err) = cli(files.path(), &config, &["ingest", &extra.display().to_string()]);
    assert!(ok, "ingest once there is room again: {err}");
    for entity in ["before-full", "while-full"] {
        assert_eq!(status(&client, &base, &format!("/api/v1/entities/component/default/{entity}")).await, 200);
    }
    assert_eq!(integrity(&db), "ok");

    // Read-only. Linux refuses to remount a file system read-only while a process has a file open for writing, so
    // the portal is stopped first (a running portal whose disk turns read-only under it gets SQLite's `attempt to
    // write a readonly database`, answered 503 `database_read_only` naming the file: see errors.rs).
    drop(portal);
    tmpfs.remount(true);
    let (ok, _, err) = cli(files.path(), &config, &["token", "create", "--name", "ci-3"]);
    assert!(!ok, "token create on a read-only database fails");
    assert!(err.contains(&format!("the SQLite database {} cannot be written", db.display())), "{err}");
    // `portolan serve` on the read-only database serves it read-only: reads answer, writes are refused naming the
    // file.
    let second = tempfile::tempdir().expect("tmp");
    let mut read_only = Portal::start(second.path(), &config);
    read_only.ready(Duration::from_secs(30)).await;
    for path in [SLO, "/catalog/default/component/svc-0", "/catalog", "/api/v1/entities/component/default/while-full"] {
        assert_eq!(status(&client, &read_only.base, path).await, 200, "reading {path} on a read-only file system");
    }
    let (code, body) = push(&client, &read_only.base, &token, 2).await;
    assert_eq!((code, body["error"]["code"].as_str()), (503, Some("database_read_only")), "{body:#}");
    let read_only_message = body["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        read_only_message.starts_with(&format!(
            "the SQLite database {} cannot be written: its file or file system is read-only",
            db.display()
        )),
        "{read_only_message}"
    );
    drop(read_only);
    tmpfs.remount(false);
    let mut portal = Portal::start(files.path(), &config);
    portal.ready(Duration::from_secs(60)).await;
    assert_eq!(push(&client, &portal.base, &token, 3).await.0, 200, "writes once the file system is writable again");
    drop(portal);
    assert_eq!(integrity(&db), "ok");
    println!("disk full: {message}\nread-only: {read_only_message}");
}
