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
    /// Where the portal keeps files it unpacks (the demo organisation).
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub allow_remote_substitutions: bool,
    pub remote_timeout_secs: u64,
    pub max_file_bytes: u64,
    pub pool_size: u32,
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
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:7878".to_owned(),
            database_url: "sqlite://portolan.db".to_owned(),
            locations: Vec::new(),
            refresh_interval_secs: 60,
            data_dir: PathBuf::from(".portolan"),
            log_format: LogFormat::Text,
            allow_remote_substitutions: false,
            remote_timeout_secs: 5,
            max_file_bytes: 4 * 1024 * 1024,
            pool_size: 8,
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
        let settings: Settings = figment
            .merge(Env::prefixed("PORTOLAN_").ignore(&["test_pg_url", "bench_pg_url"]))
            .merge(Serialized::defaults(overrides))
            .extract()?;
        settings.bind_addr()?;
        if settings.scorecard_snapshot_hour_utc > 23 {
            anyhow::bail!(
                "scorecard_snapshot_hour_utc: {} is not an hour of the day (0–23)",
                settings.scorecard_snapshot_hour_utc
            );
        }
        Ok(settings)
    }

    pub fn bind_addr(&self) -> anyhow::Result<SocketAddr> {
        self.bind.parse().map_err(|e| anyhow::anyhow!("bind: `{}` is not an address:port ({e})", self.bind))
    }

    pub fn pool_options(&self) -> store::PoolOptions {
        store::PoolOptions {
            max_connections: self.pool_size,
            statement_timeout: Duration::from_millis(self.statement_timeout_ms),
            ..store::PoolOptions::default()
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
