//! The SLO poll loop: processes sharing a database poll once per interval (the `slo-poll` lease), and a round
//! marks an SLO whose Prometheus does not answer stale. The poller's reading of a real Prometheus is tested in
//! `crates/scorecard/tests/prometheus.rs`.

use chrono::Duration;
use portolan::Application;
use portolan::poller::poll_once;
use portolan::settings::Settings;
use scorecard::sli::StoredDefinition;
use scorecard::slo::{AlertPolicy, BudgetingMethod, Indicator, MetricQuery, Objective, SloSpec, Source, Window};
use store::slos::{self, SloForm};
use store::test_support::TestDb;

fn prometheus_slo(url: &str) -> SloForm {
    let query = |q: &str| MetricQuery { source: Source::Prometheus { url: Some(url.to_owned()) }, query: q.to_owned() };
    let definition = StoredDefinition {
        spec: SloSpec {
            objective: Objective::new(0.999).expect("target"),
            window: Window::Rolling(Duration::days(28)),
            method: BudgetingMethod::Occurrences,
            alerting: AlertPolicy::defaults_for(Duration::days(28)),
        },
        indicator: Indicator::Ratio {
            good: query("sum(rate(http_requests_total{code!~\"5..\"}[{{.window}}]))"),
            total: query("sum(rate(http_requests_total[{{.window}}]))"),
        },
    };
    SloForm {
        namespace: "default".into(),
        name: "checkout-availability".into(),
        service: "checkout".into(),
        display_name: "Checkout availability".into(),
        description: String::new(),
        path: "slos.yaml".into(),
        line: 1,
        col: 1,
        source_kind: "prometheus".into(),
        definition: serde_json::to_string(&definition).expect("definition as JSON"),
        problems: "[]".into(),
        updated_at: store::now(),
    }
}

#[actix_web::test]
async fn processes_sharing_a_database_poll_once_per_interval() {
    for db in TestDb::all() {
        let what = db.backend_name();
        let dead = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
            format!("http://{}", listener.local_addr().expect("address"))
        };
        {
            let mut conn = db.store.conn().expect("connection");
            slos::upsert_many(&mut conn, &[prometheus_slo(&dead)]).expect("insert an SLO");
        }
        let files = tempfile::tempdir().expect("tmp");
        let settings = |n: usize| Settings {
            bind: "127.0.0.1:0".to_owned(),
            database_url: db.url.clone(),
            data_dir: files.path().join(format!("data-{n}")),
            prometheus_poll_interval_secs: 3600,
            prometheus_timeout_secs: 2,
            ..Settings::default()
        };
        let first = Application::build(settings(1)).await.expect("first");
        let second = Application::build(settings(2)).await.expect("second");
        let (a, b) = (first.state.clone(), second.state.clone());
        let (ra, rb) = tokio::task::spawn_blocking(move || {
            let ra = poll_once(&a).expect("a");
            let rb = poll_once(&b).expect("b");
            (ra, rb)
        })
        .await
        .expect("join");
        let report = ra.unwrap_or_else(|| panic!("{what}: the first process polls"));
        assert_eq!((report.slos, report.fresh, report.stale.len()), (1, 0, 1), "{what}: {report:?}");
        assert!(report.stale[0].1.starts_with(&format!("cannot reach Prometheus at {dead}")), "{report:?}");
        assert!(rb.is_none(), "{what}: the second process skips a poll done within the interval");

        let mut conn = db.store.conn().expect("connection");
        let row = slos::by_name(&mut conn, "default", "checkout-availability").expect("query").expect("stored");
        assert!(row.stale_since.is_some(), "{what}: stale");
        assert_eq!(row.data_until, None, "{what}: no data, never 0 %");
    }
}
