//! ${{ values.name }}: an HTTP service made from Northwind's rust-http-service golden path (2.0.0).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, Responder, get, web};
use tracing_actix_web::TracingLogger;
use tracing_subscriber::EnvFilter;

/// The service's name, as the catalog knows it.
const SERVICE: &str = "${{ values.name }}";

/// The port to listen on when `PORT` is not set.
const DEFAULT_PORT: u16 = ${{ values.port }};

/// How long the service keeps answering, not ready, after SIGTERM: long enough for load balancers
/// to stop sending it traffic before it stops accepting connections.
const DRAIN: Duration = Duration::from_secs(5);

/// How long in-flight requests then get to finish, in seconds. With [`DRAIN`], keep it below the
/// pod's `terminationGracePeriodSeconds` (30 by default).
const SHUTDOWN_GRACE_SECS: u64 = 20;

/// Whether the service should be sent traffic: false until it listens, and again once it is asked
/// to stop.
#[derive(Debug, Default)]
struct Readiness(AtomicBool);

impl Readiness {
    fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }

    fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Liveness: the process is up and answers HTTP. Restart it when this fails.
#[get("/healthz")]
async fn healthz() -> impl Responder {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok", "service": SERVICE }))
}

/// Readiness: 200 while the service takes traffic, 503 before it listens and while it drains. Check
/// here what a request needs (a database connection, a warmed cache), so that no traffic is sent
/// while it is missing.
#[get("/readyz")]
async fn readyz(readiness: web::Data<Readiness>) -> impl Responder {
    if readiness.is_ready() {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ready" }))
    } else {
        HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "not ready" }))
    }
}

/// The port from `PORT`, or [`DEFAULT_PORT`] when it is not set.
fn port() -> io::Result<u16> {
    match std::env::var("PORT") {
        Ok(text) => text.trim().parse().map_err(|e| {
            let message = format!("PORT must be a port number, not `{text}`: {e}");
            io::Error::new(io::ErrorKind::InvalidInput, message)
        }),
        Err(_) => Ok(DEFAULT_PORT),
    }
}

/// Logs to standard output: JSON lines when `LOG_FORMAT=json` (as the container image sets), text
/// otherwise.
fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if std::env::var("LOG_FORMAT").is_ok_and(|format| format == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
}

/// Resolves when the process is asked to stop: SIGTERM (what Kubernetes sends) or Ctrl-C.
async fn shutdown_requested() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

#[actix_web::main]
async fn main() -> io::Result<()> {
    init_logging();
    let port = port()?;
    let readiness = web::Data::new(Readiness::default());
    let app_readiness = readiness.clone();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(TracingLogger::default())
            .app_data(app_readiness.clone())
            .service(healthz)
            .service(readyz)
    })
    .disable_signals()
    .shutdown_timeout(SHUTDOWN_GRACE_SECS)
    .bind(("0.0.0.0", port))?
    .run();

    let handle = server.handle();
    let draining = readiness.clone();
    actix_web::rt::spawn(async move {
        shutdown_requested().await;
        tracing::info!(
            drain_secs = DRAIN.as_secs(),
            "stopping: not ready, draining"
        );
        draining.set(false);
        actix_web::rt::time::sleep(DRAIN).await;
        handle.stop(true).await;
    });

    readiness.set(true);
    tracing::info!(service = SERVICE, port, "listening");
    server.await
}

#[cfg(test)]
mod tests {
    use actix_web::{http::StatusCode, test};

    use super::*;

    #[actix_web::test]
    async fn healthz_answers_ok() {
        let app = test::init_service(App::new().service(healthz)).await;
        let response =
            test::call_service(&app, test::TestRequest::get().uri("/healthz").to_request()).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(body["service"], SERVICE);
    }

    #[actix_web::test]
    async fn readyz_is_unavailable_until_ready() {
        let readiness = web::Data::new(Readiness::default());
        let app = test::init_service(App::new().app_data(readiness.clone()).service(readyz)).await;
        let request = || test::TestRequest::get().uri("/readyz").to_request();
        let response = test::call_service(&app, request()).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        readiness.set(true);
        let response = test::call_service(&app, request()).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}
