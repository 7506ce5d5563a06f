//! `/metrics` in Prometheus text format: request counts and latencies by route, and catalog figures read from the
//! database at scrape time (so every process reports the shared truth).

use std::future::{Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::time::Instant;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::web;
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::AppState;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    entities: GaugeVec,
    ingestion_errors: IntGauge,
    last_refresh_seconds: prometheus::Gauge,
}

impl Metrics {
    pub fn new() -> prometheus::Result<Metrics> {
        let registry = Registry::new_custom(Some("portolan".to_owned()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route, method and status"),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by route")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
            &["route"],
        )?;
        let entities = GaugeVec::new(Opts::new("catalog_entities", "Entities in the catalog by kind"), &["kind"])?;
        let ingestion_errors = IntGauge::new("catalog_ingestion_errors", "Errors in the files of the catalog")?;
        let last_refresh_seconds =
            prometheus::Gauge::new("catalog_last_refresh_duration_seconds", "How long the last refresh took")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(entities.clone()))?;
        registry.register(Box::new(ingestion_errors.clone()))?;
        registry.register(Box::new(last_refresh_seconds.clone()))?;
        Ok(Metrics { registry, requests, latency, entities, ingestion_errors, last_refresh_seconds })
    }

    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests.with_label_values(&[route, method, &status.to_string()]).inc();
        self.latency.with_label_values(&[route]).observe(seconds);
    }

    /// Reads the catalog figures and renders everything.
    pub fn render(&self, store: &store::Store) -> anyhow::Result<String> {
        let mut conn = store.conn()?;
        self.entities.reset();
        for (kind, count) in store::entities::count_by_kind(&mut conn)? {
            self.entities.with_label_values(&[&kind]).set(count as f64);
        }
        self.ingestion_errors.set(store::sources::error_total(&mut conn)?);
        let ms = store::stats::get(&mut conn, store::stats::LAST_REFRESH_MS)?.unwrap_or(0);
        self.last_refresh_seconds.set(ms as f64 / 1000.0);
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8(out)?)
    }
}

/// Middleware that counts every request under its route pattern (never the raw path, which is unbounded).
pub struct RecordRequests;

impl<S, B> Transform<S, ServiceRequest> for RecordRequests
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = RecordRequestsMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RecordRequestsMiddleware { service: Rc::new(service) }))
    }
}

pub struct RecordRequestsMiddleware<S> {
    service: Rc<S>,
}

type LocalBoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T>>>;

impl<S, B> Service<ServiceRequest> for RecordRequestsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
        let method = req.method().to_string();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            let response = service.call(req).await?;
            if let Some(state) = state {
                let status = response.status().as_u16();
                state.metrics.observe(&route, &method, status, started.elapsed().as_secs_f64());
            }
            Ok(response)
        })
    }
}
