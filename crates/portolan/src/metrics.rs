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
    job_running: GaugeVec,
    job_attempts: GaugeVec,
    job_last_finished: GaugeVec,
    job_failing: GaugeVec,
    scaffold_tasks_waiting: IntGauge,
    memory: GaugeVec,
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
        let job = |name: &str, help: &str| GaugeVec::new(Opts::new(name, help), &["job"]);
        let job_running = job("job_running", "1 while a process holds the background job under a live lease")?;
        let job_attempts =
            job("job_attempts", "Claims of the job since it last finished: above 1, a process stopped midway")?;
        let job_last_finished =
            job("job_last_finished_timestamp_seconds", "When the background job last ended (Unix time)")?;
        let job_failing = job("job_failing", "1 when the background job's last run failed")?;
        let scaffold_tasks_waiting =
            IntGauge::new("scaffold_tasks_waiting", "Scaffolder tasks queued and not yet taken by a process")?;
        let memory = GaugeVec::new(
            Opts::new(
                "memory_bytes",
                "The allocator's figures: `allocated` by the portal, `resident` in physical memory, `retained` for reuse",
            ),
            &["state"],
        )?;
        for gauge in [&job_running, &job_attempts, &job_last_finished, &job_failing, &memory] {
            registry.register(Box::new(gauge.clone()))?;
        }
        registry.register(Box::new(scaffold_tasks_waiting.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(entities.clone()))?;
        registry.register(Box::new(ingestion_errors.clone()))?;
        registry.register(Box::new(last_refresh_seconds.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            entities,
            ingestion_errors,
            last_refresh_seconds,
            job_running,
            job_attempts,
            job_last_finished,
            job_failing,
            scaffold_tasks_waiting,
            memory,
        })
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
        self.record_jobs(&store::jobs::all(&mut conn)?, store::now());
        self.record_memory();
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8(out)?)
    }
}

impl Metrics {
    /// The periodic jobs one by one (a handful of names); scaffolder tasks only as a count, their ids being unbounded.
    fn record_jobs(&self, jobs: &[store::jobs::JobRow], now: chrono::NaiveDateTime) {
        let mut waiting = 0;
        for job in jobs {
            let running = job.holder.is_some() && job.lease_until.is_some_and(|until| until > now);
            if job.kind == store::jobs::SCAFFOLD {
                waiting += i64::from(!running);
                continue;
            }
            let name = [job.name.as_str()];
            self.job_running.with_label_values(&name).set(f64::from(u8::from(running)));
            self.job_attempts.with_label_values(&name).set(f64::from(job.attempts));
            self.job_failing.with_label_values(&name).set(f64::from(u8::from(job.last_error.is_some())));
            if let Some(finished) = job.last_finished_at {
                let seconds = finished.and_utc().timestamp_millis() as f64 / 1000.0;
                self.job_last_finished.with_label_values(&name).set(seconds);
            }
        }
        self.scaffold_tasks_waiting.set(waiting);
    }
}

impl Metrics {
    /// jemalloc's own statistics (the binary's allocator), refreshed by advancing its epoch.
    fn record_memory(&self) {
        use tikv_jemalloc_ctl::{epoch, stats};
        if epoch::advance().is_err() {
            return;
        }
        for (state, read) in [
            ("allocated", stats::allocated::read as fn() -> tikv_jemalloc_ctl::Result<usize>),
            ("resident", stats::resident::read),
            ("retained", stats::retained::read),
        ] {
            if let Ok(bytes) = read() {
                self.memory.with_label_values(&[state]).set(bytes as f64);
            }
        }
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

#[cfg(test)]
mod tests {
    use chrono::{Duration, NaiveDateTime};
    use store::jobs::JobRow;

    use super::*;

    fn job(name: &str, kind: &str, holder: Option<&str>, lease_until: Option<NaiveDateTime>) -> JobRow {
        JobRow {
            name: name.to_owned(),
            kind: kind.to_owned(),
            due_at: NaiveDateTime::default(),
            holder: holder.map(str::to_owned),
            lease_until,
            attempts: 0,
            last_started_at: None,
            last_finished_at: None,
            last_holder: None,
            last_error: None,
        }
    }

    #[test]
    fn jobs_are_reported_by_name_and_scaffolder_tasks_as_a_count() {
        let metrics = Metrics::new().expect("metrics");
        let now = store::now();
        let finished = NaiveDateTime::parse_from_str("2026-11-24 10:00:00", "%Y-%m-%d %H:%M:%S").expect("time");
        let refresh = JobRow {
            attempts: 2,
            last_finished_at: Some(finished),
            ..job("catalog-refresh", "catalog-refresh", Some("1-a"), Some(now + Duration::seconds(30)))
        };
        let poll = JobRow { last_error: Some("refused".into()), ..job("slo-poll", "slo-poll", None, None) };
        let jobs = [
            refresh,
            poll,
            // A holder whose lease ran out is not running it.
            job("scaffold:t1", "scaffold", Some("1-a"), Some(now - Duration::seconds(1))),
            job("scaffold:t2", "scaffold", None, None),
            job("scaffold:t3", "scaffold", Some("2-b"), Some(now + Duration::seconds(30))),
        ];
        metrics.record_jobs(&jobs, now);
        let mut out = Vec::new();
        TextEncoder::new().encode(&metrics.registry.gather(), &mut out).expect("encode");
        let text = String::from_utf8(out).expect("utf-8");
        for line in [
            "portolan_job_running{job=\"catalog-refresh\"} 1",
            "portolan_job_attempts{job=\"catalog-refresh\"} 2",
            "portolan_job_last_finished_timestamp_seconds{job=\"catalog-refresh\"} 1795514400",
            "portolan_job_running{job=\"slo-poll\"} 0",
            "portolan_job_failing{job=\"slo-poll\"} 1",
            "portolan_job_failing{job=\"catalog-refresh\"} 0",
            "portolan_scaffold_tasks_waiting 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert!(!text.contains("scaffold:t"), "no label per task");
    }
}
