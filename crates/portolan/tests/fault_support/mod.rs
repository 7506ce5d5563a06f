//! What the fault tests share: the real `portolan` binary as a child process, a private PostgreSQL cluster, a small
//! catalog, and the rule that a fault test may skip (with a note) only outside CI.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Skips the test with a note outside CI; fails it in CI, where no fault test may be skipped.
pub fn skip(why: &str) {
    assert!(!in_ci(), "this fault test cannot run in CI: {why}");
    eprintln!("note: skipping this fault test: {why}");
}

pub fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A loopback port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("address").port()
}

/// Runs a command and fails the test with its output when it does not succeed.
pub fn run(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?} cannot run: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{command:?} failed: {text}");
    text
}

/// A small catalog: the group `team-a` and the Components `svc-0` … `svc-{n-1}` it owns.
pub fn write_catalog(dir: &Path, services: usize) -> PathBuf {
    let folder = dir.join("catalog");
    std::fs::create_dir_all(&folder).expect("catalog folder");
    let mut yaml = String::from(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n",
    );
    for i in 0..services {
        yaml.push_str(&component(&format!("svc-{i}")));
    }
    std::fs::write(folder.join("catalog-info.yaml"), yaml).expect("write the catalog");
    folder
}

/// One Component owned by `team-a`, as a YAML document (with its leading `---`).
pub fn component(name: &str) -> String {
    format!(
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  description: The {name} \
         service\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
    )
}

/// `portolan serve` as a child process, killed when dropped; its output goes to a log file shown on failure.
pub struct Portal {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Portal {
    /// Starts `portolan serve --config CONFIG` in `dir` (which must hold no other `portolan.toml`).
    pub fn start(dir: &Path, config: &Path) -> Portal {
        let port = free_port();
        let log = dir.join("portolan.log");
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_portolan"))
            .arg("serve")
            .arg("--config")
            .arg(config)
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .current_dir(dir)
            .env("RUST_LOG", "warn,portolan=info")
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("portolan serve starts");
        Portal { child, base: format!("http://127.0.0.1:{port}"), log }
    }

    /// Waits until `/readyz` answers 200.
    pub async fn ready(&mut self, within: Duration) {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
        let started = Instant::now();
        loop {
            if client.get(format!("{}/readyz", self.base)).send().await.is_ok_and(|r| r.status() == 200) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("portolan serve exited ({status}) before it was ready:\n{}", self.log_text());
            }
            assert!(started.elapsed() < within, "the portal was not ready within {within:?}:\n{}", self.log_text());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log_text(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL cluster of the test's own (initdb into a temporary folder owned by the `postgres` user, on a free
/// port), so that stopping it touches no other test. Stopped at once and removed when dropped.
pub struct PgCluster {
    pub port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
}

impl PgCluster {
    /// The newest installed server's programs (`/usr/lib/postgresql/N/bin`).
    fn bin() -> Option<PathBuf> {
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").exists().then_some((version, bin))
            })
            .collect();
        found.sort();
        found.pop().map(|(_, bin)| bin)
    }

    /// A new cluster, started; `None` (after [`skip`]) when this machine cannot run one.
    pub fn create() -> Option<PgCluster> {
        let Some(bin) = PgCluster::bin() else {
            skip("no PostgreSQL server programs in /usr/lib/postgresql/*/bin (apt-get install postgresql)");
            return None;
        };
        if !is_root() {
            skip("a private PostgreSQL cluster is run as the `postgres` user, which takes root (runuser)");
            return None;
        }
        let dir = tempfile::Builder::new().prefix("portolan-pg-").tempdir().expect("a folder for PostgreSQL");
        run(Command::new("chown").arg("-R").arg("postgres:postgres").arg(dir.path()));
        let cluster = PgCluster { port: free_port(), bin, dir };
        run(cluster
            .as_postgres("initdb")
            .args(["--auth=trust", "--username=postgres", "--no-sync", "--pgdata"])
            .arg(cluster.data()));
        cluster.start();
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn as_postgres(&self, program: &str) -> Command {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(self.bin.join(program));
        command
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the server (again) on the same port and waits until it accepts connections.
    pub fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        run(self
            .as_postgres("pg_ctl")
            .arg("start")
            .arg("-w")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("postgres.log"))
            .args(["-o", &options]));
    }

    /// Stops the server (`-m fast`: open sessions are ended at once, as a restart by an operator does).
    pub fn stop(&self) {
        run(self.as_postgres("pg_ctl").args(["stop", "-w", "-m", "fast", "-D"]).arg(self.data()));
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .as_postgres("pg_ctl")
            .args(["stop", "-w", "-m", "immediate", "-D"])
            .arg(self.data())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A small tmpfs mounted on a temporary folder (root only), unmounted when dropped.
pub struct Tmpfs {
    pub dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts `size` (`8m`); `None` (after [`skip`]) when mounting is refused here.
    pub fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::Builder::new().prefix("portolan-tmpfs-").tempdir().expect("a mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755"), "tmpfs"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(Tmpfs { dir }),
            Ok(output) => {
                skip(&format!("mount -t tmpfs refused: {}", String::from_utf8_lossy(&output.stderr).trim()));
                None
            }
            Err(e) => {
                skip(&format!("mount cannot run: {e}"));
                None
            }
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Remounts read-only (`true`) or read-write.
    pub fn remount(&self, read_only: bool) {
        let mode = if read_only { "remount,ro" } else { "remount,rw" };
        run(Command::new("mount").args(["-o", mode]).arg(self.dir.path()));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}
