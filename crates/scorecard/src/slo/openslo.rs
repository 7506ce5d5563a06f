//! SLO definitions read from OpenSLO and Sloth YAML, validated, with every problem at its line and column.
//!
//! Reading is done in two steps, because OpenSLO objects refer to each other by name across files:
//!
//! 1. [`read_slo_documents`] reads the documents of one file into an [`SloFile`]: the SLOs as drafts, and the
//!    SLIs, data sources, alert policies and alert conditions they may refer to. Everything that can be checked
//!    within one document is checked here.
//! 2. [`resolve`] takes the files of one ingestion, follows the references (`indicatorRef`, `metricSourceRef`,
//!    `alertPolicyRef`, `conditionRef`), refuses duplicate names and turns each draft into a complete
//!    [`SloDefinition`].
//!
//! Formats read (see [`is_slo_document`]):
//!
//! * OpenSLO `openslo/v1`: the kinds `SLO`, `SLI`, `DataSource`, `AlertPolicy`, `AlertCondition` and `Service`;
//!   `AlertNotificationTarget` is accepted and not used.
//! * OpenSLO `openslo/v1alpha` `SLO` documents in the form Sloth reads (`objectives[].ratioMetrics`,
//!   `indicator.thresholdMetric`, `timeWindows[]` with `count` and `unit`), and `Service`.
//! * Sloth `prometheus/v1` files (top-level `version: prometheus/v1`, snake_case keys) and their Kubernetes form
//!   (`apiVersion: sloth.slok.dev/v1`, `kind: PrometheusServiceLevel`, camelCase keys under `spec`).
//!
//! The rules where the formats leave a choice:
//!
//! * **One definition per objective.** An OpenSLO SLO with one objective gives one [`SloDefinition`] named after
//!   the SLO; with several objectives it gives one per objective, named `<slo>-<i>` with `i` counted from 0
//!   (the names Sloth gives them), and displayed as `<SLO display name>: <objective displayName>` (or
//!   `objective <i>` when the objective has no display name). An objective's own `indicator`/`indicatorRef`
//!   (composite SLOs) replaces the SLO's; `compositeWeight` is not used.
//! * **Names** are unique per service: two SLOs with the same name and `spec.service` (anywhere in the files
//!   resolved together) are an error on the second. Sloth itself identifies an SLO by service and name, and its
//!   own examples reuse an SLO name across services. SLIs, data sources, alert policies and alert conditions
//!   are unique by name, as they are referred to by name only.
//! * **Durations** (`5m`, `4w`, `1M`, …): `m` is minutes, `M` months. A rolling window or a slice of months,
//!   quarters or years counts 30, 90 or 365 days. A calendar window is one day (`1d`), week (`1w` or `7d`),
//!   month (`1M`), quarter (`1Q` or `3M`) or year (`1Y`, `4Q` or `12M`), the periods Portolan can count.
//! * **Time zones**: `calendar.timeZone` is exact for UTC and its aliases (`Etc/UTC`, `GMT`, …). Any other zone
//!   gets a warning and the start time is read as UTC: Portolan counts calendar periods in UTC.
//! * **Windows**: an OpenSLO SLO without `timeWindow` gets a rolling 30 days, with a warning; Sloth's SLOs are
//!   always a rolling 30 days (Sloth's default SLO period; its spec has no per-SLO window).
//! * **Alerts**: an OpenSLO SLO without `alertPolicies` gets the SRE Workbook's default burn-rate rules for its
//!   window ([`AlertPolicy::defaults_for`]), as Sloth does; Sloth's `page_alert`/`ticket_alert` `disable: true`
//!   drop the page or the ticket rules. An OpenSLO `burnrate` condition becomes one rule with the condition's
//!   `lookbackWindow` as the long window and a twelfth of it as the short one (the SRE Workbook's ratio); its
//!   severity `page` or `critical` pages, `ticket` or `warning` opens a ticket, anything else opens a ticket
//!   with a warning. A policy with `alertWhenBreaching: false` adds no rule.
//! * **Queries** are kept as written, `{{.window}}` placeholders included: the poller substitutes them.

mod reader;
mod resolve;
mod sloth;
mod v1;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod tests;

use catalog::descriptor::Problem;
use catalog::yaml::{Node, Pos};
use chrono::Duration;

pub use resolve::{Resolved, resolve};

use super::alerts::{AlertPolicy, AlertRule};
use super::model::{CalendarLength, SloSpec, Window};

/// The API version of OpenSLO v1 documents.
const OPENSLO_V1: &str = "openslo/v1";
/// The API version of the OpenSLO documents Sloth reads.
const OPENSLO_V1ALPHA: &str = "openslo/v1alpha";
/// The `version` of Sloth's own format.
const SLOTH_VERSION: &str = "prometheus/v1";
/// The API version of Sloth's Kubernetes resource.
const SLOTH_K8S_API_VERSION: &str = "sloth.slok.dev/v1";
/// The kind of Sloth's Kubernetes resource.
const SLOTH_K8S_KIND: &str = "PrometheusServiceLevel";

/// What one file's SLO documents hold, each item with the position of its name.
///
/// The SLOs are drafts until [`resolve`] has followed their references. Documents with errors are left out
/// (in a Sloth group, each SLO with errors); their problems are in `problems`.
#[derive(Debug, Default)]
pub struct SloFile {
    /// The SLOs, one per objective.
    pub slos: Vec<SloDraft>,
    /// OpenSLO `SLI` documents.
    pub slis: Vec<SliDefinition>,
    /// OpenSLO `DataSource` documents.
    pub data_sources: Vec<DataSource>,
    /// OpenSLO `AlertPolicy` documents.
    pub alert_policies: Vec<AlertPolicyDefinition>,
    /// OpenSLO `AlertCondition` documents.
    pub alert_conditions: Vec<AlertConditionDefinition>,
    /// OpenSLO `Service` documents.
    pub services: Vec<ServiceDefinition>,
    /// Errors and warnings, in document order.
    pub problems: Vec<Problem>,
}

/// One SLO objective as read from its document, before its references are followed.
#[derive(Debug, Clone)]
pub struct SloDraft {
    /// The name: the SLO's, or `<slo>-<i>` for one of several objectives.
    pub name: String,
    /// What people call it.
    pub display_name: String,
    /// The description, empty when there is none.
    pub description: String,
    /// The service it belongs to (`spec.service`).
    pub service: String,
    /// Where it is written: its name, or its objective when the SLO has several.
    pub pos: Pos,
    /// Target, window and budgeting method, already valid; the alerting is set by [`resolve`].
    spec: SloSpec,
    indicator: IndicatorUse,
    threshold: ObjectiveThreshold,
    alerting: AlertingDraft,
}

/// A complete, valid SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct SloDefinition {
    /// The name, unique within its service.
    pub name: String,
    /// What people call it.
    pub display_name: String,
    /// The description, empty when there is none.
    pub description: String,
    /// The service it belongs to.
    pub service: String,
    /// Target, window, budgeting method and alert rules.
    pub spec: SloSpec,
    /// How good and total (or bad) events are measured.
    pub indicator: Indicator,
    /// The file it was read from, as given to [`resolve`].
    pub path: String,
    /// Where it is written in that file (see [`SloDraft::pos`]).
    pub pos: Pos,
}

/// How an SLO's events are measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// Good events over all events (OpenSLO `ratioMetric` with `good` and `total`).
    Ratio {
        /// Counts the good events.
        good: MetricQuery,
        /// Counts all events.
        total: MetricQuery,
    },
    /// Bad events over all events (OpenSLO `ratioMetric` with `bad`; Sloth `sli.events`).
    RatioBad {
        /// Counts the bad events.
        bad: MetricQuery,
        /// Counts all events.
        total: MetricQuery,
    },
    /// A ratio the source computes itself (OpenSLO `ratioMetric.raw`; Sloth `sli.raw.error_ratio_query`).
    Raw {
        /// Gives the ratio, between 0 and 1.
        query: MetricQuery,
        /// Whether the ratio is of good or of bad events.
        raw_type: RawType,
    },
    /// A value compared with a threshold (OpenSLO `thresholdMetric`): an event is good when
    /// `value_read <operator> value`, e.g. a latency `lt 500`.
    Threshold {
        /// Gives the values.
        query: MetricQuery,
        /// How a value is compared with the threshold (the objective's `op`).
        operator: Operator,
        /// The threshold (the objective's `value`).
        value: f64,
    },
}

/// What a precomputed ratio counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawType {
    /// Good events over all events (`rawType: success`).
    Success,
    /// Bad events over all events (`rawType: failure`; Sloth's error ratio).
    Failure,
}

/// A comparison of a threshold metric's value with the objective's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// `lt`: less than.
    Lt,
    /// `lte`: less than or equal.
    Lte,
    /// `gt`: greater than.
    Gt,
    /// `gte`: greater than or equal.
    Gte,
}

impl Operator {
    /// The operator written as OpenSLO spells it (`lt`, `lte`, `gt`, `gte`).
    fn parse(text: &str) -> Option<Operator> {
        match text {
            "lt" => Some(Operator::Lt),
            "lte" => Some(Operator::Lte),
            "gt" => Some(Operator::Gt),
            "gte" => Some(Operator::Gte),
            _ => None,
        }
    }
}

/// One query and the system it is sent to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetricQuery {
    /// Where the data comes from.
    pub source: Source,
    /// The query as written, `{{.window}}` placeholders kept: `spec.query` (or `spec.promql`) for Prometheus,
    /// empty for Push; for other sources `spec.query` when it is a string, else the whole `spec` as JSON.
    pub query: String,
}

/// The system an SLI's data comes from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Events are pushed to Portolan; nothing is queried.
    Push,
    /// A Prometheus server; the URL comes from a `DataSource`'s `connectionDetails.url`, when there is one.
    Prometheus {
        /// The server's URL, if known.
        url: Option<String>,
    },
    /// Another type of source, named as written (`Datadog`, `CloudWatch`, …).
    Other(String),
}

/// An OpenSLO `DataSource`: a metric source that SLIs name in `metricSourceRef`.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    /// `metadata.name`.
    pub name: String,
    /// `spec.type`, as written (`Prometheus`, `Push`, …).
    pub source_type: String,
    /// `spec.connectionDetails.url`, when given.
    pub url: Option<String>,
    /// Where the name is written.
    pub pos: Pos,
}

/// An OpenSLO `SLI` document, which SLOs name in `indicatorRef`.
#[derive(Debug, Clone)]
pub struct SliDefinition {
    /// `metadata.name`.
    pub name: String,
    /// Where the name is written.
    pub pos: Pos,
    queries: Queries<SourceDraft>,
}

/// An OpenSLO `AlertPolicy` document, which SLOs name in `alertPolicies[].alertPolicyRef`.
#[derive(Debug, Clone)]
pub struct AlertPolicyDefinition {
    /// `metadata.name`.
    pub name: String,
    /// Where the name is written.
    pub pos: Pos,
    body: PolicyBody,
}

/// An OpenSLO `AlertCondition` document, which alert policies name in `conditions[].conditionRef`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertConditionDefinition {
    /// `metadata.name`.
    pub name: String,
    /// Where the name is written.
    pub pos: Pos,
    /// The burn-rate rule it describes.
    pub rule: AlertRule,
}

/// An OpenSLO `Service` document.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceDefinition {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.displayName`, else the name.
    pub display_name: String,
    /// `spec.description`, empty when there is none.
    pub description: String,
    /// Where the name is written.
    pub pos: Pos,
}

/// Where something is written and how to name it in a message.
#[derive(Debug, Clone, PartialEq)]
struct At {
    path: String,
    pos: Pos,
}

/// A name that refers to a document of another kind.
#[derive(Debug, Clone)]
struct Reference {
    name: String,
    at: At,
}

/// The queries of an indicator, generic over how a query is known: a [`SourceDraft`] when read, a
/// [`MetricQuery`] once resolved.
#[derive(Debug, Clone)]
enum Queries<S> {
    Ratio { good: S, total: S },
    RatioBad { bad: S, total: S },
    Raw { query: S, raw_type: RawType },
    Threshold(S),
}

impl<S> Queries<S> {
    /// Converts every query, all of them even when one fails, so that each failure is reported.
    fn try_map<T>(&self, mut convert: impl FnMut(&S) -> Option<T>) -> Option<Queries<T>> {
        Some(match self {
            Queries::Ratio { good, total } => {
                let (good, total) = (convert(good), convert(total));
                Queries::Ratio { good: good?, total: total? }
            }
            Queries::RatioBad { bad, total } => {
                let (bad, total) = (convert(bad), convert(total));
                Queries::RatioBad { bad: bad?, total: total? }
            }
            Queries::Raw { query, raw_type } => Queries::Raw { query: convert(query)?, raw_type: *raw_type },
            Queries::Threshold(query) => Queries::Threshold(convert(query)?),
        })
    }
}

/// A metric source as written: a type, a reference to a `DataSource`, or both.
#[derive(Debug, Clone)]
struct SourceDraft {
    /// The `metricSource` (or the query itself, for Sloth), to report what is missing.
    at: At,
    reference: Option<Reference>,
    /// The type as written, and where.
    source_type: Option<(String, Pos)>,
    /// `spec.query`, else `spec.promql`, when a string.
    query: Option<String>,
    /// The whole `spec`, for sources whose query is not one string.
    spec: serde_json::Value,
}

/// An SLO's indicator: written in the SLO, or named.
#[derive(Debug, Clone)]
enum IndicatorUse {
    Inline(Box<Queries<SourceDraft>>),
    Ref(Reference),
}

/// The objective's `op` and `value`, which only a threshold indicator needs.
#[derive(Debug, Clone)]
struct ObjectiveThreshold {
    operator: Option<Operator>,
    value: Option<f64>,
    /// The objective, to report a missing `op` or `value`.
    at: At,
}

/// An SLO's alert rules, as far as its document tells them.
#[derive(Debug, Clone)]
enum AlertingDraft {
    /// No alert policy given: the SRE Workbook's defaults for the window.
    Defaults,
    /// Rules known without any reference (Sloth).
    Given(AlertPolicy),
    /// OpenSLO `alertPolicies`.
    Policies(Vec<PolicyUse>),
}

/// One entry of an SLO's `alertPolicies`.
#[derive(Debug, Clone)]
enum PolicyUse {
    Inline(PolicyBody),
    Ref(Reference),
}

/// What an alert policy says.
#[derive(Debug, Clone)]
struct PolicyBody {
    /// `alertWhenBreaching`; true when not given.
    when_breaching: bool,
    conditions: Vec<ConditionUse>,
}

/// One entry of an alert policy's `conditions`.
#[derive(Debug, Clone)]
enum ConditionUse {
    Inline(AlertRule),
    Ref(Reference),
}

/// How a document is written.
enum Format {
    /// OpenSLO, with its API version.
    OpenSlo(String),
    /// Sloth's `prometheus/v1` file.
    Sloth,
    /// Sloth's Kubernetes resource.
    SlothK8s,
}

fn format_of(doc: &Node) -> Option<Format> {
    doc.as_map()?;
    if let Some(version) = doc.get("apiVersion").and_then(Node::as_str) {
        if version.starts_with("openslo/") {
            return Some(Format::OpenSlo(version.to_owned()));
        }
        return version.starts_with("sloth.slok.dev/").then_some(Format::SlothK8s);
    }
    let version = doc.get("version").and_then(Node::as_str)?;
    version.starts_with("prometheus/").then_some(Format::Sloth)
}

/// Whether a YAML document is for this module rather than the catalog: an OpenSLO document (`apiVersion:
/// openslo/…`), a Sloth file (`version: prometheus/…`, without `apiVersion`) or a Sloth Kubernetes resource
/// (`apiVersion: sloth.slok.dev/…`). Versions other than those read are routed here too, so that
/// [`read_slo_documents`] can say they are not supported.
pub fn is_slo_document(doc: &Node) -> bool {
    format_of(doc).is_some()
}

/// OpenSLO and Sloth files found in catalog locations: checked by ingestion like descriptors.
pub struct SloFormat;

impl catalog::ingest::ForeignFormat for SloFormat {
    fn name(&self) -> &'static str {
        "openslo"
    }

    fn claims(&self, doc: &Node) -> bool {
        is_slo_document(doc)
    }

    fn check(&self, _file: &std::path::Path, docs: &[Node]) -> Vec<catalog::descriptor::Problem> {
        read_slo_documents(docs).problems
    }

    fn check_together(
        &self,
        files: &[(String, Vec<Node>)],
        entities: &std::collections::HashSet<String>,
    ) -> Vec<catalog::ingest::FileProblem> {
        let read: Vec<(String, SloFile)> =
            files.iter().map(|(path, docs)| (path.clone(), read_slo_documents(docs))).collect();
        let resolved = resolve(&read);
        let mut problems = resolved.problems;
        for slo in &resolved.slos {
            if !entities.contains(&service_ref(&slo.service)) {
                problems.push(catalog::ingest::FileProblem { path: slo.path.clone(), problem: missing_service(slo) });
            }
        }
        problems
    }
}

/// The namespace of every SLO and of the Component it belongs to.
pub const SLO_NAMESPACE: &str = "default";

/// The reference of the Component an SLO of `service` belongs to.
pub fn service_ref(service: &str) -> String {
    format!("component:{SLO_NAMESPACE}/{service}")
}

/// The warning on an SLO whose service is not a Component of the catalog (the SLO is kept).
pub fn missing_service(slo: &SloDefinition) -> catalog::descriptor::Problem {
    catalog::descriptor::Problem::warning(
        slo.pos,
        format!("service `{}` is not a Component in the catalog ({})", slo.service, service_ref(&slo.service)),
    )
}

/// Reads the SLO documents among one file's documents (others, such as catalog descriptors, are skipped).
pub fn read_slo_documents(docs: &[Node]) -> SloFile {
    let mut file = SloFile::default();
    let mut reader = reader::Reader::default();
    for doc in docs {
        match format_of(doc) {
            None => {}
            Some(Format::OpenSlo(version)) => v1::read(doc, &version, &mut reader, &mut file),
            Some(Format::Sloth) => sloth::read(doc, false, &mut reader, &mut file),
            Some(Format::SlothK8s) => sloth::read(doc, true, &mut reader, &mut file),
        }
    }
    file.problems = reader.into_problems();
    file
}

/// The window of an SLO that gives none, in days: Sloth's default SLO period.
const DEFAULT_WINDOW_DAYS: i64 = 30;

/// The rolling window of an SLO that gives none (and of every Sloth SLO).
fn default_window() -> Window {
    Window::Rolling(Duration::days(DEFAULT_WINDOW_DAYS))
}

/// The length of one period of a window, to size the default alert thresholds: a calendar month counts 30
/// days, a quarter 90, a year 365.
fn period_of(window: &Window) -> Duration {
    match window {
        Window::Rolling(length) => *length,
        Window::Calendar { length, .. } => match length {
            CalendarLength::Day => Duration::days(1),
            CalendarLength::Week => Duration::weeks(1),
            CalendarLength::Month => Duration::days(30),
            CalendarLength::Quarter => Duration::days(90),
            CalendarLength::Year => Duration::days(365),
        },
    }
}
