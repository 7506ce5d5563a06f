//! The Portolan binary: command line, settings, the actix application and its background work.

pub mod auth;
pub mod cli;
pub mod demo;
pub mod errors;
pub mod jobs;
pub mod maturity_jobs;
pub mod metrics;
pub mod poller;
pub mod refresh;
pub mod routes;
pub mod scaffold_jobs;
pub mod scoreboard;
pub mod service_parts;
pub mod settings;
pub mod slo_commands;
pub mod slo_jobs;
pub mod telemetry;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, dev::Server, web};
use store::Store;
use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::settings::Settings;

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    pub settings: Settings,
    pub metrics: Metrics,
    /// The catalog locations read on refresh, the demo organisation included when it is loaded.
    pub locations: Vec<PathBuf>,
    pub refresh_now: Arc<Notify>,
    /// Wakes this process's scaffolder worker when a task is queued here.
    pub scaffold_now: Arc<Notify>,
    /// What lists, search and facets read; rebuilt when the catalog changes.
    pub index: catalog::index::SharedIndex,
    /// The scorecards rolled up over the team tree; rebuilt when their stored results or the catalog change.
    pub scoreboard: scoreboard::Scoreboard,
    /// The golden-path and maturity cards of the services viewed most recently.
    pub services: service_parts::RememberedServices,
    /// Sign-in, rate limits and who the admins are.
    pub auth: auth::AuthState,
    /// This process as a doer of background work (the job table's holder).
    pub worker: jobs::Worker,
}

/// The largest request body anywhere unless a route allows more (scaffold requests, SLI events).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A running server and the port it listens on (port 0 in tests picks a free one).
pub struct Application {
    pub port: u16,
    pub state: web::Data<AppState>,
    server: Server,
}

impl Application {
    /// Opens the database (migrating it), unpacks the demo if asked, binds, and builds the server.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        settings.check()?;
        let listener = TcpListener::bind(settings.bind_addr()?)?;
        Application::build_on(settings, listener).await
    }

    /// [`Application::build`] on a socket bound already (a test that must know the port before it starts).
    pub async fn build_on(settings: Settings, listener: TcpListener) -> anyhow::Result<Application> {
        let local = listener.local_addr()?;
        let public_url = settings.public_url.clone().unwrap_or_else(|| format!("http://{local}"));
        let auth = auth::AuthState::new(&settings, &public_url)?;
        let store = {
            let (url, options) = (settings.database_url.clone(), settings.pool_options());
            tokio::task::spawn_blocking(move || Store::open(&url, &options)).await??
        };
        let mut locations = settings.locations.clone();
        if settings.demo {
            let (store, data_dir) = (store.clone(), settings.data_dir.clone());
            if let Some(demo) = tokio::task::spawn_blocking(move || demo::prepare(&store, &data_dir)).await?? {
                locations.push(demo);
            }
        }
        let port = local.port();
        let state = web::Data::new(AppState {
            store,
            metrics: Metrics::new()?,
            locations,
            refresh_now: Arc::new(Notify::new()),
            scaffold_now: Arc::new(Notify::new()),
            index: catalog::index::SharedIndex::default(),
            scoreboard: scoreboard::Scoreboard::default(),
            services: service_parts::RememberedServices::default(),
            auth,
            worker: jobs::Worker::new(Duration::from_secs(settings.job_lease_secs)),
            settings,
        });
        let behind_tls = state.auth.secure_cookies;
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(web::QueryConfig::default().error_handler(errors::query_error))
                .app_data(web::PathConfig::default().error_handler(errors::path_error))
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .app_data(web::FormConfig::default().limit(MAX_BODY_BYTES))
                .app_data(web::JsonConfig::default().limit(MAX_BODY_BYTES))
                .wrap(actix_web::middleware::from_fn(auth::middleware::resolve))
                .wrap(auth::headers::security_headers(behind_tls))
                .wrap(metrics::RecordRequests)
                .wrap(tracing_actix_web::TracingLogger::default())
                .configure(routes::configure)
        })
        .listen(listener)?
        .run();
        Ok(Application { port, state, server })
    }

    /// Serves until stopped, doing background work meanwhile. Once stopped (SIGTERM, SIGINT), no new work starts;
    /// work under way has `job_shutdown_grace_secs` to end, and what has not ended is handed to other processes.
    pub async fn run(self) -> std::io::Result<()> {
        let loops = [
            tokio::spawn(refresh::run(self.state.clone())),
            tokio::spawn(poller::run(self.state.clone())),
            tokio::spawn(slo_jobs::run(self.state.clone())),
            tokio::spawn(maturity_jobs::run(self.state.clone())),
            tokio::spawn(scaffold_jobs::run(self.state.clone())),
        ];
        let result = self.server.await;
        for work in &loops {
            work.abort();
        }
        let grace = Duration::from_secs(self.state.settings.job_shutdown_grace_secs);
        self.state.worker.wind_down(&self.state.store, grace).await;
        result
    }
}

/// `portolan serve`.
pub fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).await?;
        tracing::info!(port = app.port, database = app.state.store.backend().name(), "Portolan is listening");
        app.run().await?;
        Ok(ExitCode::SUCCESS)
    })
}
