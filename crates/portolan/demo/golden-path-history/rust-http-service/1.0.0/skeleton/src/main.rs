//! ${{ values.name }}: an HTTP service made from Northwind's rust-http-service golden path (1.0.0).

use std::io;

use actix_web::{get, middleware, App, HttpResponse, HttpServer, Responder};
use tracing_subscriber::EnvFilter;

/// The service's name, as the catalog knows it.
const SERVICE: &str = "${{ values.name }}";

/// The port to listen on when `PORT` is not set.
const DEFAULT_PORT: u16 = ${{ values.port }};

/// Liveness: the process is up and answers HTTP.
#[get("/healthz")]
async fn healthz() -> impl Responder {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok", "service": SERVICE }))
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

#[actix_web::main]
async fn main() -> io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let port = port()?;
    tracing::info!(service = SERVICE, port, "listening");
    HttpServer::new(|| {
        App::new()
            .wrap(middleware::Logger::default())
            .service(healthz)
    })
    .bind(("0.0.0.0", port))?
    .run()
    .await
}

#[cfg(test)]
mod tests {
    use actix_web::test;

    use super::*;

    #[actix_web::test]
    async fn healthz_answers_ok() {
        let app = test::init_service(App::new().service(healthz)).await;
        let response =
            test::call_service(&app, test::TestRequest::get().uri("/healthz").to_request()).await;
        assert!(response.status().is_success());
        let body: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(body["service"], SERVICE);
    }
}
