//! Several `portolan serve` processes (the real binary) on one database: reads and writes through any of them agree,
//! background work runs once, and a job whose process dies (SIGKILL) or is stopped (SIGTERM) midway is taken up by
//! another process, or by the portal restarted, with nothing lost or done twice.
//!
//! To stop a process in the middle of a job without any test hook in the portal, the tests make the job wait on
//! something real: a row or table the test holds locked in PostgreSQL, or a descriptor file that is a named pipe
//! nobody has written yet.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::{Value, json};
use store::jobs::{self, JobRow};
use store::test_support::TestDb;
use store::{Store, entities, registrations};

/// Short enough that a takeover after a SIGKILL happens within seconds.
const LEASE_SECS: u64 = 3;

struct Instance {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Instance {
    /// `portolan serve` on a free port, with its own data folder, a shared repositories folder and `locations`.
    fn start(dir: &Path, name: &str, database_url: &str, locations: &[PathBuf]) -> Instance {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let config = dir.join(format!("{name}.toml"));
        let locations: Vec<String> = locations.iter().map(|l| format!("{:?}", l.display().to_string())).collect();
        let text = format!(
            "bind = \"127.0.0.1:{port}\"\ndatabase_url = {database_url:?}\nlocations = [{}]\nrefresh_interval_secs = 2\n\
             job_lease_secs = {LEASE_SECS}\njob_shutdown_grace_secs = 1\ndata_dir = {:?}\nrepositories_dir = {:?}\n",
            locations.join(", "),
            dir.join(format!("data-{name}")).display().to_string(),
            dir.join("repositories").display().to_string(),
        );
        std::fs::write(&config, text).expect("config");
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_portolan"))
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("portolan serve starts");
        Instance { child, base: format!("http://127.0.0.1:{port}"), log }
    }

    async fn ready(&mut self, client: &reqwest::Client) {
        let started = Instant::now();
        loop {
            let answered = client.get(format!("{}/readyz", self.base)).send().await;
            if answered.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(self.child.try_wait().expect("wait").is_none(), "the portal exited:\n{}", self.log_text());
            assert!(started.elapsed() < Duration::from_secs(60), "not ready in 60 s:\n{}", self.log_text());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether this process is the holder `holder` of the job table (`<pid>-<random>`).
    fn is(&self, holder: &str) -> bool {
        holder.split('-').next() == Some(&self.pid().to_string())
    }

    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().expect("kill runs");
        assert!(sent.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "still running after SIGTERM:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TEAM: &str = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: platform\nspec:\n  type: team\n  \
                    children: []\n";

/// A catalog folder under `dir` holding the team `platform`.
fn team_catalog(dir: &Path) -> PathBuf {
    let catalog = dir.join("catalog");
    std::fs::create_dir_all(&catalog).expect("mkdir");
    std::fs::write(catalog.join("team.yaml"), TEAM).expect("write");
    catalog
}

/// Three portals on one database reading `catalog`, each ready.
async fn start_three(dir: &Path, database_url: &str, catalog: &Path, client: &reqwest::Client) -> Vec<Instance> {
    let mut instances: Vec<Instance> = (0..3)
        .map(|n| Instance::start(dir, &format!("portolan-{n}"), database_url, &[catalog.to_path_buf()]))
        .collect();
    for instance in &mut instances {
        instance.ready(client).await;
    }
    instances
}

fn component(name: &str, description: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  description: {description}\n\
         spec:\n  type: service\n  lifecycle: production\n  owner: platform\n"
    )
}

/// Checks `condition` every 100 ms for up to `limit`; panics with `what` (and the logs) if it never holds.
async fn eventually<T>(limit: Duration, what: &str, logs: &[&Instance], mut condition: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = condition() {
            return found;
        }
        if started.elapsed() > limit {
            let logs: Vec<String> = logs.iter().map(|i| format!("--- {}\n{}", i.log.display(), i.log_text())).collect();
            panic!("{what}: not within {limit:?}\n{}", logs.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn job(store: &Store, name: &str) -> Option<JobRow> {
    jobs::get(&mut store.conn().expect("conn"), name).expect("job")
}

/// How many components carry `description`, read from the database itself.
fn described(store: &Store, description: &str) -> usize {
    use diesel::prelude::*;
    use store::schema::entities::dsl;
    let mut conn = store.conn().expect("conn");
    let found: i64 =
        dsl::entities.filter(dsl::description.eq(description)).count().get_result(&mut *conn).expect("count");
    usize::try_from(found).expect("a count")
}

async fn get_json(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let response = client.get(url).send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[actix_web::test]
async fn three_processes_agree_and_an_ingest_outlives_the_process_killed_during_it() {
    let Some(db) = TestDb::postgres() else {
        eprintln!("note: PostgreSQL tests skipped (PORTOLAN_TEST_PG_URL is not set)");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let catalog = team_catalog(dir.path());
    let services = 1500;
    let name = |i: usize| format!("svc-{i:04}");
    for i in 0..services {
        std::fs::write(catalog.join(format!("{}.yaml", name(i))), component(&name(i), "first")).expect("write");
    }
    let client = reqwest::Client::new();
    let mut instances = start_three(dir.path(), &db.url, &catalog, &client).await;
    let all: Vec<&Instance> = instances.iter().collect();
    eventually(Duration::from_secs(60), "the first refresh", &all, || {
        (described(&db.store, "first") == services).then_some(())
    })
    .await;
    // The catalog was read by one of the three: one logged adding the services, the others found them there.
    let added = format!("added={}", services + 1);
    let readers = eventually(Duration::from_secs(30), "the refresh logged", &all, || {
        let readers = instances.iter().filter(|i| i.log_text().contains(&added)).count();
        (readers > 0).then_some(readers)
    })
    .await;
    assert_eq!(readers, 1, "one process ingested the new catalog");

    // Every process answers from the same catalog, whichever wrote it.
    for instance in &instances {
        let url = format!("{}/api/v1/entities/component/default/{}", instance.base, name(services - 1));
        let (status, entity) = get_json(&client, &url).await;
        assert_eq!((status, entity["metadata"]["description"].as_str()), (200, Some("first")), "{}", instance.base);
    }

    // Every file changes; the last file's row is held locked, so the refresh writes its first batches and then
    // waits in the middle of the catalog.
    for i in 0..services {
        std::fs::write(catalog.join(format!("{}.yaml", name(i))), component(&name(i), "second")).expect("write");
    }
    let mut lock = PgConnection::establish(&db.url).expect("a connection of the test's own");
    lock.batch_execute(&format!("BEGIN; SELECT 1 FROM entities WHERE name = '{}' FOR UPDATE", name(services - 1)))
        .expect("lock a row");
    let holder = eventually(Duration::from_secs(30), "a refresh stuck midway", &all, || {
        let held = job(&db.store, "catalog-refresh").and_then(|j| j.holder)?;
        (described(&db.store, "second") > 0).then_some(held)
    })
    .await;
    let victim = instances.iter().position(|i| i.is(&holder)).expect("the holder is one of the three");
    let written_before = described(&db.store, "second");
    assert!(written_before < services, "the refresh is midway: {written_before} of {services} written");
    instances[victim].kill();
    lock.batch_execute("ROLLBACK").expect("unlock");

    let survivors: Vec<&Instance> =
        instances.iter().enumerate().filter(|(i, _)| *i != victim).map(|(_, i)| i).collect();
    eventually(Duration::from_secs(30), "another process finishing the refresh", &survivors, || {
        (described(&db.store, "second") == services).then_some(())
    })
    .await;
    let finished = eventually(Duration::from_secs(30), "the refresh job handed back", &survivors, || {
        job(&db.store, "catalog-refresh").filter(|j| j.holder.is_none() && j.last_holder.is_some())
    })
    .await;
    let last = finished.last_holder.expect("last holder");
    assert_ne!(last, holder, "a survivor finished it");
    assert!(survivors.iter().any(|i| i.log_text().contains("taking over a job whose process stopped")));
    assert_eq!(described(&db.store, "first"), 0, "nothing of the old catalog is left");
    for instance in &survivors {
        let url = format!("{}/api/v1/entities/component/default/{}", instance.base, name(services - 1));
        let answer = || {
            let (client, url) = (client.clone(), url.clone());
            async move { get_json(&client, &url).await }
        };
        let started = Instant::now();
        loop {
            let (status, entity) = answer().await;
            if (status, entity["metadata"]["description"].as_str()) == (200, Some("second")) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "{} still answers {status} {entity}", instance.base);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[actix_web::test]
async fn a_scaffold_task_outlives_the_process_killed_during_it() {
    let Some(db) = TestDb::postgres() else {
        eprintln!("note: PostgreSQL tests skipped (PORTOLAN_TEST_PG_URL is not set)");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let catalog = team_catalog(dir.path());
    support::write_template(
        &catalog.join("tiny"),
        "1.0.0",
        "# ${{ values.name }}\n",
        "${{ values.description | dump }}",
    );
    let client = reqwest::Client::new();
    let mut instances = start_three(dir.path(), &db.url, &catalog, &client).await;
    let all: Vec<&Instance> = instances.iter().collect();
    eventually(Duration::from_secs(60), "the template in the catalog", &all, || {
        let mut conn = db.store.conn().expect("conn");
        let found = entities::by_ref(&mut conn, "template:default/tiny-service").expect("query");
        found.map(|_| ())
    })
    .await;

    // Registering waits on the test's lock (reads go on), so the task stops after publishing.
    let mut lock = PgConnection::establish(&db.url).expect("a connection of the test's own");
    lock.batch_execute("BEGIN; LOCK TABLE registered_locations IN SHARE MODE").expect("lock");
    let body = json!({"template": "tiny-service", "values": {"name": "survivor", "owner": "group:default/platform"}});
    // The template's version is kept just after the refresh that read it: until then the API says it does not know it.
    let started = Instant::now();
    let task = loop {
        let response = client.post(format!("{}/api/v1/scaffold", instances[0].base)).json(&body).send().await;
        let response = response.expect("POST");
        let status = response.status();
        let answer: Value = response.json().await.expect("json");
        if status == 202 {
            break answer;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{status}: {answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let id = task["id"].as_str().expect("task id").to_owned();
    let job_name = jobs::task_job(&id);
    let holder = eventually(Duration::from_secs(30), "the task published and waiting to register", &all, || {
        let mut conn = db.store.conn().expect("conn");
        let log = store::tasks::events_after(&mut conn, &id, 0).expect("log");
        let published = log.iter().any(|e| e.step == Some(1) && e.kind == "finished");
        let registering = log.iter().any(|e| e.step == Some(3) && e.kind == "started");
        (published && registering).then(|| job(&db.store, &job_name).and_then(|j| j.holder)).flatten()
    })
    .await;
    let victim = instances.iter().position(|i| i.is(&holder)).expect("the holder is one of the three");
    instances[victim].kill();
    lock.batch_execute("ROLLBACK").expect("unlock");

    let survivors: Vec<&Instance> =
        instances.iter().enumerate().filter(|(i, _)| *i != victim).map(|(_, i)| i).collect();
    let reader = survivors[1];
    let url = format!("{}/api/v1/tasks/{id}", reader.base);
    let mut finished = Value::Null;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(40) {
        let (_, task) = get_json(&client, &url).await;
        if task["state"] == "succeeded" || task["state"] == "failed" {
            finished = task;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(finished["state"], "succeeded", "{finished:#}\n{}", survivors[0].log_text());
    assert_eq!(finished["attempts"], 2, "{finished:#}");
    let log: Vec<&str> =
        finished["log"].as_array().expect("log").iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(log.iter().any(|l| l.starts_with("attempt 2")), "{log:#?}");
    assert_eq!(job(&db.store, &job_name), None, "the task's job is done");

    // Once: one repository with one commit, one registered file, one service.
    let owners: Vec<PathBuf> = std::fs::read_dir(dir.path().join("repositories"))
        .expect("repositories")
        .flat_map(|owner| std::fs::read_dir(owner.expect("entry").path()).expect("owner folder"))
        .map(|repo| repo.expect("entry").path())
        .collect();
    assert_eq!(owners.len(), 1, "{owners:?}");
    let commits = Command::new("git")
        .args(["rev-list", "--count", "HEAD"])
        .current_dir(&owners[0])
        .stderr(Stdio::inherit())
        .output()
        .expect("git");
    assert_eq!(String::from_utf8_lossy(&commits.stdout).trim(), "1", "one commit in {}", owners[0].display());
    let registered = registrations::targets(&mut db.store.conn().expect("conn")).expect("targets");
    assert_eq!(registered.len(), 1, "{registered:?}");
    for instance in &survivors {
        let (status, service) =
            get_json(&client, &format!("{}/api/v1/entities/component/default/survivor", instance.base)).await;
        assert_eq!(status, 200, "{}: {service}", instance.base);
    }
}

#[actix_web::test]
async fn a_job_cut_short_by_sigterm_resumes_when_the_portal_restarts() {
    let dir = tempfile::tempdir().expect("tmp");
    let catalog = team_catalog(dir.path());
    std::fs::write(catalog.join("early.yaml"), component("early-service", "here from the start")).expect("write");
    // A descriptor that is a named pipe: reading it waits until someone writes it.
    let late = dir.path().join("late.yaml");
    assert!(Command::new("mkfifo").arg(&late).status().expect("mkfifo").success());
    let url = format!("sqlite://{}", dir.path().join("portolan.db").display());
    let locations = [catalog.clone(), late.clone()];
    let client = reqwest::Client::new();

    let mut first = Instance::start(dir.path(), "first", &url, &locations);
    first.ready(&client).await;
    let store = Store::open(&url, &store::PoolOptions::default()).expect("the portal's database");
    let stuck = eventually(Duration::from_secs(30), "the refresh reading the pipe", &[&first], || {
        job(&store, "catalog-refresh").and_then(|j| j.holder)
    })
    .await;
    assert!(first.is(&stuck));
    let status = first.terminate();
    assert!(status.success(), "exits 0 after SIGTERM: {status:?}\n{}", first.log_text());
    let handed = job(&store, "catalog-refresh").expect("job");
    assert!(handed.lease_until.is_some_and(|until| until <= store::now()), "handed back at once: {handed:?}");
    assert!(first.log_text().contains("jobs under way handed to other processes"), "{}", first.log_text());

    let mut second = Instance::start(dir.path(), "second", &url, &locations);
    second.ready(&client).await;
    let resumed = eventually(Duration::from_secs(30), "the restarted portal taking the refresh up", &[&second], || {
        job(&store, "catalog-refresh").filter(|j| j.holder.as_deref().is_some_and(|h| second.is(h)))
    })
    .await;
    assert_eq!(resumed.attempts, 2, "{resumed:?}");
    // Now the pipe is written: the refresh that was cut short ends, with both files.
    let writer = late.clone();
    std::thread::spawn(move || std::fs::write(writer, component("late-service", "arrived late")).expect("write"));
    eventually(Duration::from_secs(30), "the late service", &[&second], || {
        let mut conn = store.conn().expect("conn");
        entities::by_ref(&mut conn, "component:default/late-service").expect("query")
    })
    .await;
    let done = eventually(Duration::from_secs(10), "the refresh finished", &[&second], || {
        job(&store, "catalog-refresh").filter(|j| j.holder.is_none())
    })
    .await;
    assert_eq!((done.attempts, done.last_error.as_deref()), (0, None), "{done:?}");
    assert!(second.log_text().contains("taking over a job whose process stopped"), "{}", second.log_text());
    let (status, early) =
        get_json(&client, &format!("{}/api/v1/entities/component/default/early-service", second.base)).await;
    assert_eq!(status, 200, "{early}");
    assert!(second.terminate().success());
}
