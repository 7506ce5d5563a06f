//! Typed settings, built once: defaults, then `portolan.toml` (or `--config`), then `PORTOLAN_*` environment
//! variables, then command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub bind: String,
    pub database_url: String,
    /// Catalog locations (files or folders) read at start and on every refresh.
    pub locations: Vec<PathBuf>,
    pub refresh_interval_secs: u64,
    /// How long a descriptor file that can no longer be read (its folder vanished, a share went away) keeps its
    /// entities before they are removed.
    pub vanished_grace_secs: u64,
    /// How long a process holds a background job without renewing it: when a process dies mid-job, another takes
    /// the job over after this long. The holder renews every third of it.
    pub job_lease_secs: u64,
    /// On SIGTERM, how long background jobs under way may take to finish before they are handed to other processes.
    pub job_shutdown_grace_secs: u64,
    /// Where the portal keeps files it unpacks (the demo organisation).
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub allow_remote_substitutions: bool,
    pub remote_timeout_secs: u64,
    pub max_file_bytes: u64,
    pub pool_size: u32,
    /// How long a request waits for a database connection before it is answered 503 (the database is down, or every
    /// connection is busy); also how long opening a PostgreSQL connection may take.
    pub pool_timeout_ms: u64,
    pub statement_timeout_ms: u64,
    pub demo: bool,
    /// The Prometheus server of SLO queries whose data source names no URL.
    pub prometheus_url: Option<String>,
    pub prometheus_poll_interval_secs: u64,
    pub prometheus_timeout_secs: u64,
    pub prometheus_max_backfill_hours: u64,
    /// A folder of golden-path templates (each a folder with a `template.yaml`), read beside the locations.
    pub templates_folder: Option<PathBuf>,
    /// Where `publish:git` creates repositories; `<data_dir>/repositories` when unset. Any git server can serve it.
    pub repositories_dir: Option<PathBuf>,
    /// How clones reach `repositories_dir` (`https://git.example.com/`); local `file://` paths when unset.
    pub repositories_url: Option<String>,
    /// The author of the commits `publish:git` makes, when a template names none.
    pub scaffold_author_name: String,
    pub scaffold_author_email: String,
    /// The hour (UTC, 0–23) from which the day's scorecard snapshot is taken; a day whose snapshot is missing gets
    /// it at the first check after that hour.
    pub scorecard_snapshot_hour_utc: u32,

    // Sign-in and access (docs/configuration.md, "Sign-in").
    /// The address people reach the portal at (`https://portal.example.com`): the OIDC redirect goes back to it, and
    /// an `https` one makes cookies `Secure` and turns HSTS on. `http://<bind>` when unset.
    pub public_url: Option<String>,
    /// The OpenID provider (`https://keycloak.example.com/realms/acme`); sign-in is off when unset.
    pub oidc_issuer_url: Option<String>,
    pub oidc_client_id: String,
    /// Only from the environment (`PORTOLAN_OIDC_CLIENT_SECRET`), never from a file.
    pub oidc_client_secret: Option<String>,
    pub oidc_scopes: Vec<String>,
    /// The claim holding the email a catalog User is matched by.
    pub oidc_email_claim: String,
    /// The claim holding the name a catalog User is matched by when no email matches.
    pub oidc_name_claim: String,
    /// Whether someone the catalog has no User for may sign in (as a viewer who changes nothing).
    pub allow_unknown_users: bool,
    /// Whether the catalog and scorecards can be read without signing in.
    pub anonymous_read: bool,
    /// Groups (`platform`, `group:default/sre`) whose members may do everything.
    pub admin_groups: Vec<String>,
    pub session_lifetime_hours: u64,
    /// With sign-in off, serve on an address other machines can reach anyway (everyone there may change anything).
    pub allow_open_access: bool,
    /// Take the client's address from `X-Forwarded-For` / `Forwarded` (only behind a proxy that sets them).
    pub trust_forwarded_for: bool,
    /// Sign-ins (and callbacks) one client address may start per minute.
    pub login_rate_per_minute: u32,
    /// Requests with an API token one client address may make per minute.
    pub token_rate_per_minute: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:7878".to_owned(),
            database_url: "sqlite://portolan.db".to_owned(),
            locations: Vec::new(),
            refresh_interval_secs: 60,
            vanished_grace_secs: 900,
            job_lease_secs: 60,
            job_shutdown_grace_secs: 10,
            data_dir: PathBuf::from(".portolan"),
            log_format: LogFormat::Text,
            allow_remote_substitutions: false,
            remote_timeout_secs: 5,
            max_file_bytes: 4 * 1024 * 1024,
            pool_size: 8,
            pool_timeout_ms: 3_000,
            statement_timeout_ms: 10_000,
            demo: false,
            prometheus_url: None,
            prometheus_poll_interval_secs: 60,
            prometheus_timeout_secs: 10,
            prometheus_max_backfill_hours: 24,
            templates_folder: None,
            repositories_dir: None,
            repositories_url: None,
            scaffold_author_name: "Portolan".to_owned(),
            scaffold_author_email: "portolan@localhost".to_owned(),
            scorecard_snapshot_hour_utc: 0,
            public_url: None,
            oidc_issuer_url: None,
            oidc_client_id: "portolan".to_owned(),
            oidc_client_secret: None,
            oidc_scopes: vec!["openid".to_owned(), "email".to_owned(), "profile".to_owned()],
            oidc_email_claim: "email".to_owned(),
            oidc_name_claim: "preferred_username".to_owned(),
            allow_unknown_users: true,
            anonymous_read: false,
            admin_groups: Vec::new(),
            session_lifetime_hours: 12,
            allow_open_access: false,
            trust_forwarded_for: false,
            login_rate_per_minute: 30,
            token_rate_per_minute: 600,
        }
    }
}

/// What the command line may override.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub demo: bool,
}

impl Settings {
    pub fn load(config: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Settings> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match config {
            Some(path) => {
                if !path.exists() {
                    anyhow::bail!("configuration file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("portolan.toml")),
        }
        let figment = figment
            .merge(Env::prefixed("PORTOLAN_").ignore(&["test_pg_url", "bench_pg_url"]))
            .merge(Serialized::defaults(overrides));
        let secret_source = figment.find_metadata("oidc_client_secret").map(|m| m.name.to_string());
        if secret_source.as_deref().is_some_and(|source| source.contains("TOML")) {
            anyhow::bail!(
                "oidc_client_secret: secrets are read from the environment (PORTOLAN_OIDC_CLIENT_SECRET), never from a \
                 configuration file; remove it from the file"
            );
        }
        let settings: Settings = figment.extract()?;
        settings.check()?;
        Ok(settings)
    }

    /// What the types alone do not rule out.
    pub fn check(&self) -> anyhow::Result<()> {
        let settings = self;
        settings.bind_addr()?;
        if settings.scorecard_snapshot_hour_utc > 23 {
            anyhow::bail!(
                "scorecard_snapshot_hour_utc: {} is not an hour of the day (0–23)",
                settings.scorecard_snapshot_hour_utc
            );
        }
        if settings.job_lease_secs < 3 {
            anyhow::bail!(
                "job_lease_secs: {} is too short to renew a job's lease in time (at least 3 seconds)",
                settings.job_lease_secs
            );
        }
        if let Some(url) = &settings.public_url {
            let parsed = url::Url::parse(url).map_err(|e| anyhow::anyhow!("public_url: `{url}` is not a URL ({e})"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                anyhow::bail!("public_url: `{url}` must be an http:// or https:// address");
            }
        }
        match &settings.oidc_issuer_url {
            Some(issuer) => {
                url::Url::parse(issuer)
                    .map_err(|e| anyhow::anyhow!("oidc_issuer_url: `{issuer}` is not a URL ({e})"))?;
                if settings.oidc_client_secret.as_deref().is_none_or(str::is_empty) {
                    anyhow::bail!(
                        "oidc_client_secret: sign-in with {issuer} needs the client's secret in PORTOLAN_OIDC_CLIENT_SECRET"
                    );
                }
                if !settings.oidc_scopes.iter().any(|scope| scope == "openid") {
                    anyhow::bail!("oidc_scopes: must include `openid`");
                }
            }
            None if !settings.allow_open_access && !settings.bind_addr()?.ip().is_loopback() => anyhow::bail!(
                "sign-in is off (no oidc_issuer_url), so everyone who reaches the portal may change anything: it only \
                 serves on a loopback address (bind is {}). Configure sign-in, or set allow_open_access = true",
                settings.bind
            ),
            None => {}
        }
        if settings.session_lifetime_hours == 0 {
            anyhow::bail!("session_lifetime_hours: must be at least 1");
        }
        if settings.login_rate_per_minute == 0 || settings.token_rate_per_minute == 0 {
            anyhow::bail!("login_rate_per_minute and token_rate_per_minute must be at least 1");
        }
        Ok(())
    }

    /// Whether people sign in (an OpenID provider is configured).
    pub fn sign_in_on(&self) -> bool {
        self.oidc_issuer_url.is_some()
    }

    pub fn bind_addr(&self) -> anyhow::Result<SocketAddr> {
        self.bind.parse().map_err(|e| anyhow::anyhow!("bind: `{}` is not an address:port ({e})", self.bind))
    }

    pub fn pool_options(&self) -> store::PoolOptions {
        store::PoolOptions {
            max_connections: self.pool_size,
            statement_timeout: Duration::from_millis(self.statement_timeout_ms),
            checkout_timeout: Duration::from_millis(self.pool_timeout_ms.max(100)),
            connect_timeout: Duration::from_millis(self.pool_timeout_ms.max(2_000)),
        }
    }

    pub fn poll_options(&self) -> scorecard::sli::prometheus::PollOptions {
        scorecard::sli::prometheus::PollOptions {
            default_url: self.prometheus_url.clone().filter(|url| !url.trim().is_empty()),
            // A year at most, which no Prometheus keeps by default anyway.
            max_backfill: chrono::Duration::hours(
                i64::try_from(self.prometheus_max_backfill_hours.min(8_760)).unwrap_or(8_760),
            ),
            timeout: Duration::from_secs(self.prometheus_timeout_secs.max(1)),
            ..scorecard::sli::prometheus::PollOptions::default()
        }
    }

    /// Where `publish:git` creates repositories.
    pub fn repositories(&self) -> PathBuf {
        self.repositories_dir.clone().unwrap_or_else(|| self.data_dir.join("repositories"))
    }

    pub fn ingest_options(&self) -> catalog::ingest::IngestOptions {
        catalog::ingest::IngestOptions {
            formats: catalog::ingest::Formats(vec![
                std::sync::Arc::new(scorecard::slo::SloFormat),
                std::sync::Arc::new(scaffolding::TemplateFormat),
                std::sync::Arc::new(scorecard::maturity::ScorecardFormat),
            ]),
            allow_remote_substitutions: self.allow_remote_substitutions,
            remote_timeout: Duration::from_secs(self.remote_timeout_secs),
            max_file_bytes: self.max_file_bytes,
            vanished_grace: Duration::from_secs(self.vanished_grace_secs),
            ..catalog::ingest::IngestOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_flags() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "bind = \"127.0.0.1:9000\"\nrefresh_interval_secs = 5\nlocations = [\"a\", \"b\"]\n")
            .expect("write");
        let s = Settings::load(Some(&file), &Overrides::default()).expect("loads");
        assert_eq!(s.bind, "127.0.0.1:9000");
        assert_eq!(s.refresh_interval_secs, 5);
        assert_eq!(s.locations, vec![PathBuf::from("a"), PathBuf::from("b")]);
        let s = Settings::load(Some(&file), &Overrides { bind: Some("127.0.0.1:1".into()), ..Overrides::default() })
            .expect("loads");
        assert_eq!(s.bind, "127.0.0.1:1");
    }

    #[test]
    fn prometheus_polling_defaults_and_overrides() {
        let options = Settings::default().poll_options();
        assert_eq!((options.default_url, options.max_backfill), (None, chrono::Duration::hours(24)));
        assert_eq!(options.timeout, Duration::from_secs(10));
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "prometheus_url = \"http://prom:9090\"\nprometheus_max_backfill_hours = 2\n")
            .expect("write");
        let s = Settings::load(Some(&file), &Overrides::default()).expect("loads");
        assert_eq!(s.prometheus_poll_interval_secs, 60);
        let options = s.poll_options();
        assert_eq!(options.default_url.as_deref(), Some("http://prom:9090"));
        assert_eq!(options.max_backfill, chrono::Duration::hours(2));
    }

    #[test]
    fn the_scorecard_snapshot_hour_is_an_hour_of_the_day() {
        assert_eq!(Settings::default().scorecard_snapshot_hour_utc, 0);
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "scorecard_snapshot_hour_utc = 6\n").expect("write");
        assert_eq!(Settings::load(Some(&file), &Overrides::default()).expect("loads").scorecard_snapshot_hour_utc, 6);
        std::fs::write(&file, "scorecard_snapshot_hour_utc = 24\n").expect("write");
        let err = Settings::load(Some(&file), &Overrides::default()).expect_err("not an hour");
        assert!(err.to_string().contains("scorecard_snapshot_hour_utc"), "{err}");
    }

    #[test]
    fn sign_in_off_serves_only_on_loopback_unless_told_to() {
        let mut settings = Settings { bind: "0.0.0.0:7878".to_owned(), ..Settings::default() };
        let err = settings.check().expect_err("open on the network");
        assert!(err.to_string().contains("sign-in is off") && err.to_string().contains("allow_open_access"), "{err}");
        settings.allow_open_access = true;
        settings.check().expect("told to");
        let loopback = Settings { bind: "[::1]:7878".to_owned(), ..Settings::default() };
        loopback.check().expect("loopback");
        let signed = Settings {
            bind: "0.0.0.0:7878".to_owned(),
            oidc_issuer_url: Some("https://id.example.com/realms/acme".to_owned()),
            oidc_client_secret: Some("s3cret".to_owned()),
            ..Settings::default()
        };
        signed.check().expect("sign-in on");
        let no_secret = Settings { oidc_client_secret: None, ..signed.clone() };
        let err = no_secret.check().expect_err("no secret");
        assert!(err.to_string().contains("PORTOLAN_OIDC_CLIENT_SECRET"), "{err}");
        let no_openid = Settings { oidc_scopes: vec!["email".to_owned()], ..signed };
        assert!(no_openid.check().expect_err("no openid scope").to_string().contains("oidc_scopes"));
    }

    #[test]
    fn the_client_secret_never_comes_from_a_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "oidc_issuer_url = \"https://id.example.com\"\noidc_client_secret = \"in-the-repo\"\n")
            .expect("write");
        let err = Settings::load(Some(&file), &Overrides::default()).expect_err("secret in a file");
        assert!(err.to_string().contains("never from a configuration file"), "{err}");
        std::fs::write(&file, "public_url = \"ftp://portal\"\n").expect("write");
        let err = Settings::load(Some(&file), &Overrides::default()).expect_err("not http");
        assert!(err.to_string().contains("public_url"), "{err}");
    }

    #[test]
    fn bad_values_are_errors_naming_the_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "bind = \"nowhere\"\n").expect("write");
        let err = Settings::load(Some(&file), &Overrides::default()).expect_err("bad bind");
        assert!(err.to_string().contains("bind"), "{err}");
        std::fs::write(&file, "refresh_interval_secs = \"soon\"\n").expect("write");
        let err = Settings::load(Some(&file), &Overrides::default()).expect_err("bad number");
        assert!(err.to_string().contains("refresh_interval_secs"), "{err}");
        assert!(Settings::load(Some(&dir.path().join("missing.toml")), &Overrides::default()).is_err());
    }
}
