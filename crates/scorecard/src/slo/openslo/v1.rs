//! OpenSLO documents: every kind of `openslo/v1`, and the `openslo/v1alpha` SLOs that Sloth reads.

use catalog::yaml::{Node, Pos};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::reader::{Durations, Reader, Shorthand, Unit, at, join, present};
use super::{
    AlertConditionDefinition, AlertPolicyDefinition, AlertingDraft, At, ConditionUse, DEFAULT_WINDOW_DAYS, DataSource,
    IndicatorUse, OPENSLO_V1, OPENSLO_V1ALPHA, ObjectiveThreshold, Operator, PolicyBody, PolicyUse, Queries, RawType,
    Reference, ServiceDefinition, SliDefinition, SloDraft, SloFile, SourceDraft, default_window,
};
use crate::slo::alerts::{AlertPolicy, AlertRule, Severity};
use crate::slo::model::{BudgetingMethod, Objective, SloError, SloSpec, Window};

const V1_KINDS: [&str; 7] =
    ["SLO", "SLI", "DataSource", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "Service"];
const V1ALPHA_KINDS: [&str; 2] = ["SLO", "Service"];

/// Time zone names that are UTC all year.
const UTC_ZONES: [&str; 18] = [
    "UTC",
    "Etc/UTC",
    "UCT",
    "Etc/UCT",
    "Universal",
    "Etc/Universal",
    "Zulu",
    "Etc/Zulu",
    "GMT",
    "Etc/GMT",
    "GMT0",
    "Etc/GMT0",
    "GMT+0",
    "Etc/GMT+0",
    "GMT-0",
    "Etc/GMT-0",
    "Greenwich",
    "Etc/Greenwich",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V1Alpha,
}

/// Reads one OpenSLO document into `file`, unless it has errors.
pub(super) fn read(doc: &Node, api_version: &str, r: &mut Reader, file: &mut SloFile) {
    let version = match api_version {
        OPENSLO_V1 => Version::V1,
        OPENSLO_V1ALPHA => Version::V1Alpha,
        _ => {
            let pos = doc.get("apiVersion").map_or(doc.pos, |n| n.pos);
            r.error(
                pos,
                format!("unsupported apiVersion `{api_version}`; Portolan reads {OPENSLO_V1} and {OPENSLO_V1ALPHA}"),
            );
            return;
        }
    };
    let Some(kind) = r.required_string(doc, "", "kind") else {
        return;
    };
    let known: &[&str] = if version == Version::V1 { &V1_KINDS } else { &V1ALPHA_KINDS };
    if !known.contains(&kind) {
        let pos = doc.get("kind").map_or(doc.pos, |n| n.pos);
        r.error(pos, format!("unknown kind `{kind}`; the {api_version} kinds are {}", known.join(", ")));
        return;
    }
    let before = r.errors();
    let mut d = Doc { r, version };
    match kind {
        "SLO" => {
            let slos = d.slo(doc);
            if d.r.errors() == before {
                file.slos.extend(slos);
            }
        }
        "SLI" => push_if_clean(d.sli(doc), d.r, before, &mut file.slis),
        "DataSource" => push_if_clean(d.data_source(doc), d.r, before, &mut file.data_sources),
        "AlertPolicy" => push_if_clean(d.alert_policy(doc), d.r, before, &mut file.alert_policies),
        "AlertCondition" => push_if_clean(d.alert_condition(doc), d.r, before, &mut file.alert_conditions),
        "Service" => push_if_clean(d.service(doc), d.r, before, &mut file.services),
        // Notification targets are how a policy's alerts are delivered, which Portolan does not do.
        _ => {}
    }
}

fn push_if_clean<T>(item: Option<T>, r: &Reader, errors_before: usize, into: &mut Vec<T>) {
    if let Some(item) = item
        && r.errors() == errors_before
    {
        into.push(item);
    }
}

/// `metadata.name` and `metadata.displayName`.
struct Metadata<'n> {
    name: &'n str,
    pos: Pos,
    display_name: Option<&'n str>,
}

/// The budgeting method named by `spec.budgetingMethod`; its slices are given per objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Occurrences,
    Timeslices,
    RatioTimeslices,
}

/// What one objective says.
struct ObjectiveParts {
    display_name: Option<String>,
    objective: Objective,
    method: BudgetingMethod,
    /// Where the slice and the slice target are written, when they are.
    slice_at: Option<At>,
    slice_target_at: Option<At>,
    threshold: ObjectiveThreshold,
    /// The objective's own indicator (a composite SLO), if it has one.
    indicator: Option<IndicatorUse>,
}

/// Reads the documents of one OpenSLO version.
struct Doc<'r> {
    r: &'r mut Reader,
    version: Version,
}

impl Doc<'_> {
    fn metadata<'n>(&mut self, doc: &'n Node) -> Option<Metadata<'n>> {
        let metadata = self.r.required_mapping(doc, "", "metadata")?;
        let display_name = self.r.optional_string(metadata, "metadata", "displayName");
        let name = self.r.required_string(metadata, "metadata", "name")?;
        Some(Metadata { name, pos: at(metadata, "metadata", "name").pos, display_name })
    }

    fn slo(&mut self, doc: &Node) -> Vec<SloDraft> {
        let metadata = self.metadata(doc);
        let Some(spec) = self.r.required_mapping(doc, "", "spec") else {
            return Vec::new();
        };
        let service = self.r.required_string(spec, "spec", "service");
        let description = self.r.optional_string(spec, "spec", "description").unwrap_or_default();
        let indicator = match self.version {
            Version::V1 => self.indicator_use(spec, "spec"),
            Version::V1Alpha => self.v1alpha_threshold(spec),
        };
        let window = match self.version {
            Version::V1 => self.time_window(spec),
            Version::V1Alpha => self.v1alpha_time_windows(spec),
        };
        let method = self.budgeting_method(spec);
        let alerting = match self.version {
            Version::V1 => self.alert_policies(spec),
            Version::V1Alpha => AlertingDraft::Defaults,
        };
        let objectives = self.objectives(spec, method);
        let version = self.version;
        let slo_has_indicator = match version {
            Version::V1 => present(spec, "indicator").is_some() || present(spec, "indicatorRef").is_some(),
            Version::V1Alpha => present(spec, "indicator").is_some(),
        };
        let objective_has_indicator = |node: &Node| match version {
            Version::V1 => present(node, "indicator").is_some() || present(node, "indicatorRef").is_some(),
            Version::V1Alpha => present(node, "ratioMetrics").is_some(),
        };
        if !slo_has_indicator && objectives.iter().any(|(node, _)| !objective_has_indicator(node)) {
            let message = match version {
                Version::V1 => "spec.indicator or spec.indicatorRef is required (or one in each objective)",
                Version::V1Alpha => "spec.indicator.thresholdMetric or spec.objectives[].ratioMetrics is required",
            };
            self.r.error(spec.pos, message);
        }
        let (Some(metadata), Some(service), Some(window)) = (metadata, service, window) else {
            return Vec::new();
        };

        let several = objectives.len() > 1;
        let base_display = metadata.display_name.unwrap_or(metadata.name);
        let mut drafts = Vec::new();
        for (i, (node, parts)) in objectives.into_iter().enumerate() {
            let Some(parts) = parts else {
                continue;
            };
            let spec = SloSpec {
                objective: parts.objective,
                window: window.clone(),
                method: parts.method,
                alerting: AlertPolicy { rules: Vec::new() },
            };
            if let Err(error) = spec.validate() {
                let at = match error {
                    SloError::InvalidSlice(_) => parts.slice_at.as_ref(),
                    SloError::InvalidSliceTarget(_) => parts.slice_target_at.as_ref(),
                    SloError::InvalidTarget(_) | SloError::InvalidWindow(_) => None,
                }
                .unwrap_or(&parts.threshold.at);
                self.r.error(at.pos, format!("{}: {error}", at.path));
                continue;
            }
            let Some(indicator) = parts.indicator.or_else(|| indicator.clone()) else {
                continue;
            };
            let (name, display_name, pos) = if several {
                let objective_name = parts.display_name.unwrap_or_else(|| format!("objective {i}"));
                (format!("{}-{i}", metadata.name), format!("{base_display}: {objective_name}"), node.pos)
            } else {
                (metadata.name.to_owned(), base_display.to_owned(), metadata.pos)
            };
            drafts.push(SloDraft {
                name,
                display_name,
                description: description.to_owned(),
                service: service.to_owned(),
                pos,
                spec,
                indicator,
                threshold: parts.threshold,
                alerting: alerting.clone(),
            });
        }
        drafts
    }

    /// `spec.objectives`, each with what could be read of it.
    fn objectives<'n>(&mut self, spec: &'n Node, method: Option<Method>) -> Vec<(&'n Node, Option<ObjectiveParts>)> {
        let Some(node) = self.r.required(spec, "spec", "objectives") else {
            return Vec::new();
        };
        let Some(items) = self.r.list(node, "spec.objectives") else {
            return Vec::new();
        };
        if items.is_empty() {
            self.r.error(node.pos, "spec.objectives must hold at least one objective");
        }
        items
            .iter()
            .enumerate()
            .map(|(i, item)| (item, self.objective(item, &format!("spec.objectives[{i}]"), method)))
            .collect()
    }

    fn objective(&mut self, node: &Node, path: &str, method: Option<Method>) -> Option<ObjectiveParts> {
        let node = self.r.mapping(node, path)?;
        let display_name = self.r.optional_string(node, path, "displayName").map(str::to_owned);
        let objective = self.target(node, path);
        let operator = present(node, "op").and_then(|op| {
            let op_path = join(path, "op");
            let text = self.r.string(op, &op_path)?;
            let operator = Operator::parse(text);
            if operator.is_none() {
                self.r.error(op.pos, format!("{op_path} `{text}` is not known; use lt, lte, gt or gte"));
            }
            operator
        });
        let value = present(node, "value").and_then(|value| self.r.number(value, &join(path, "value")));
        let slices = method.and_then(|method| self.slices(node, path, method));
        let indicator = match self.version {
            Version::V1 => self.indicator_use(node, path),
            Version::V1Alpha => present(node, "ratioMetrics")
                .and_then(|ratio| self.ratio(ratio, &join(path, "ratioMetrics")))
                .map(|queries| IndicatorUse::Inline(Box::new(queries))),
        };
        let (method, slice_at, slice_target_at) = slices?;
        Some(ObjectiveParts {
            display_name,
            objective: objective?,
            method,
            slice_at,
            slice_target_at,
            threshold: ObjectiveThreshold { operator, value, at: At { path: path.to_owned(), pos: node.pos } },
            indicator,
        })
    }

    /// `target` (0–1) or `targetPercent` (0–100), exclusive both ends.
    fn target(&mut self, node: &Node, path: &str) -> Option<Objective> {
        match (present(node, "target"), present(node, "targetPercent")) {
            (Some(_), Some(percent)) => {
                self.r.error(percent.pos, format!("{path}.target and {path}.targetPercent cannot both be given"));
                None
            }
            (Some(target), None) => {
                let value = self.r.number(target, &join(path, "target"))?;
                let objective = Objective::new(value).ok();
                if objective.is_none() {
                    self.r.error(target.pos, format!("{path}.target {value} must be between 0 and 1 (exclusive)"));
                }
                objective
            }
            (None, Some(percent)) => {
                let value = self.r.number(percent, &join(path, "targetPercent"))?;
                let objective = Objective::new(value / 100.0).ok().filter(|_| value > 0.0 && value < 100.0);
                if objective.is_none() {
                    self.r.error(
                        percent.pos,
                        format!("{path}.targetPercent {value} must be between 0 and 100 (exclusive)"),
                    );
                }
                objective
            }
            (None, None) => {
                self.r.error(node.pos, format!("{path}.target or {path}.targetPercent is required"));
                None
            }
        }
    }

    /// The objective's budgeting method, with where its slice and slice target are written.
    fn slices(&mut self, node: &Node, path: &str, method: Method) -> Option<(BudgetingMethod, Option<At>, Option<At>)> {
        let slice = |this: &mut Self, method_name: &str| {
            let Some(window) = present(node, "timeSliceWindow") else {
                this.r
                    .error(node.pos, format!("{path}.timeSliceWindow is required with budgetingMethod {method_name}"));
                return None;
            };
            let shorthand = this.r.duration(window, &join(path, "timeSliceWindow"), true)?;
            Some((shorthand.length, at(node, path, "timeSliceWindow")))
        };
        match method {
            Method::Occurrences => Some((BudgetingMethod::Occurrences, None, None)),
            Method::RatioTimeslices => {
                let (slice, slice_at) = slice(self, "RatioTimeslices")?;
                Some((BudgetingMethod::RatioTimeslices { slice }, Some(slice_at), None))
            }
            Method::Timeslices => {
                let slice = slice(self, "Timeslices");
                let slice_target = match present(node, "timeSliceTarget") {
                    Some(target) => self.r.number(target, &join(path, "timeSliceTarget")),
                    None => {
                        self.r.error(
                            node.pos,
                            format!("{path}.timeSliceTarget is required with budgetingMethod Timeslices"),
                        );
                        None
                    }
                };
                let ((slice, slice_at), slice_target) = (slice?, slice_target?);
                Some((
                    BudgetingMethod::Timeslices { slice, slice_target },
                    Some(slice_at),
                    Some(at(node, path, "timeSliceTarget")),
                ))
            }
        }
    }

    fn budgeting_method(&mut self, spec: &Node) -> Option<Method> {
        let text = self.r.required_string(spec, "spec", "budgetingMethod")?;
        let methods: &[(&str, Method)] = match self.version {
            Version::V1 => &[
                ("Occurrences", Method::Occurrences),
                ("Timeslices", Method::Timeslices),
                ("RatioTimeslices", Method::RatioTimeslices),
            ],
            Version::V1Alpha => &[("Occurrences", Method::Occurrences), ("Timeslices", Method::Timeslices)],
        };
        let method = methods.iter().find(|(name, _)| name.eq_ignore_ascii_case(text)).map(|(_, method)| *method);
        if method.is_none() {
            let names: Vec<&str> = methods.iter().map(|(name, _)| *name).collect();
            let pos = at(spec, "spec", "budgetingMethod").pos;
            self.r.error(pos, format!("spec.budgetingMethod `{text}` is not known; use {}", names.join(", ")));
        }
        method
    }

    /// `spec.timeWindow`: exactly one rolling or calendar window.
    fn time_window(&mut self, spec: &Node) -> Option<Window> {
        let Some(item) = self.single_window(spec, "timeWindow")? else {
            return Some(default_window());
        };
        let path = "spec.timeWindow[0]";
        let duration = self
            .r
            .required(item, path, "duration")
            .and_then(|node| self.r.duration(node, &join(path, "duration"), false))
            .map(|shorthand| (shorthand, at(item, path, "duration")));
        self.window(item, path, duration)
    }

    /// `spec.timeWindows` of v1alpha: exactly one window, given as `count` and `unit`.
    fn v1alpha_time_windows(&mut self, spec: &Node) -> Option<Window> {
        let Some(item) = self.single_window(spec, "timeWindows")? else {
            return Some(default_window());
        };
        let path = "spec.timeWindows[0]";
        let duration = self.r.count_and_unit(item, path).map(|shorthand| (shorthand, at(item, path, "count")));
        self.window(item, path, duration)
    }

    /// The one item of a list of windows: `Some(None)`, with a warning, when there is no list (the default
    /// window applies), `None` on error.
    fn single_window<'n>(&mut self, spec: &'n Node, field: &str) -> Option<Option<&'n Node>> {
        let path = join("spec", field);
        let Some(node) = present(spec, field) else {
            self.r.warning(
                spec.pos,
                format!("{path} is not given; the SLO is read over a rolling {DEFAULT_WINDOW_DAYS}d window"),
            );
            return Some(None);
        };
        let items = self.r.list(node, &path)?;
        let [item] = items else {
            self.r.error(node.pos, format!("{path} must hold exactly one window, found {}", items.len()));
            return None;
        };
        self.r.mapping(item, &format!("{path}[0]")).map(Some)
    }

    fn window(&mut self, item: &Node, path: &str, duration: Option<(Shorthand, At)>) -> Option<Window> {
        let is_rolling = self.r.optional_bool(item, path, "isRolling");
        match (is_rolling, present(item, "calendar")) {
            (Some(true), Some(calendar)) => {
                self.r.error(calendar.pos, format!("{path}.calendar cannot be given with isRolling: true"));
                None
            }
            (Some(false), None) => {
                self.r.error(item.pos, format!("{path}.calendar is required when isRolling is false"));
                None
            }
            (_, None) => duration.map(|(shorthand, _)| Window::Rolling(shorthand.length)),
            (_, Some(calendar)) => {
                let start = self.calendar_start(calendar, &join(path, "calendar"));
                let (shorthand, duration_at) = duration?;
                let Some(length) = shorthand.calendar_length() else {
                    let minutes =
                        if shorthand.unit == Unit::Minute { " (`m` is minutes; a month is `1M`)" } else { "" };
                    self.r.error(
                        duration_at.pos,
                        format!(
                            "{} `{shorthand}` is not a calendar period: a calendar window is 1d, 1w, 1M, 1Q or \
                             1Y{minutes}",
                            duration_at.path
                        ),
                    );
                    return None;
                };
                Some(Window::Calendar { start: start?, length })
            }
        }
    }

    /// `calendar.startTime` read in `calendar.timeZone`; zones other than UTC get a warning and are read as UTC.
    fn calendar_start(&mut self, calendar: &Node, path: &str) -> Option<DateTime<Utc>> {
        let calendar = self.r.mapping(calendar, path)?;
        let start = self.r.required_string(calendar, path, "startTime").and_then(|text| {
            let start = parse_start(text);
            if start.is_none() {
                self.r.error(
                    at(calendar, path, "startTime").pos,
                    format!("{path}.startTime `{text}` is not a date and time such as 2022-01-01 12:00:00"),
                );
            }
            start
        });
        let zone = self.r.required_string(calendar, path, "timeZone");
        if let Some(zone) = zone
            && !UTC_ZONES.contains(&zone)
        {
            self.r.warning(
                at(calendar, path, "timeZone").pos,
                format!(
                    "{path}.timeZone `{zone}` is not supported: Portolan counts calendar periods in UTC, so startTime \
                     is read as UTC"
                ),
            );
        }
        Some(start?.and_utc()).filter(|_| zone.is_some())
    }

    /// `indicator` or `indicatorRef` under `parent`; `None` when neither is there (or on error).
    fn indicator_use(&mut self, parent: &Node, path: &str) -> Option<IndicatorUse> {
        match (present(parent, "indicator"), present(parent, "indicatorRef")) {
            (Some(_), Some(reference)) => {
                self.r.error(reference.pos, format!("{path}.indicator and {path}.indicatorRef cannot both be given"));
                None
            }
            (Some(indicator), None) => {
                let indicator_path = join(path, "indicator");
                let indicator = self.r.mapping(indicator, &indicator_path)?;
                let spec = self.r.required_mapping(indicator, &indicator_path, "spec")?;
                self.sli_spec(spec, &join(&indicator_path, "spec"))
                    .map(|queries| IndicatorUse::Inline(Box::new(queries)))
            }
            (None, Some(reference)) => {
                let reference_path = join(path, "indicatorRef");
                let name = self.r.string(reference, &reference_path)?;
                Some(IndicatorUse::Ref(Reference {
                    name: name.to_owned(),
                    at: At { path: reference_path, pos: reference.pos },
                }))
            }
            (None, None) => None,
        }
    }

    /// v1alpha's SLO-level `indicator.thresholdMetric`.
    fn v1alpha_threshold(&mut self, spec: &Node) -> Option<IndicatorUse> {
        let indicator = present(spec, "indicator")?;
        let indicator = self.r.mapping(indicator, "spec.indicator")?;
        let metric = self.r.required(indicator, "spec.indicator", "thresholdMetric")?;
        let query = self.v1alpha_metric(metric, "spec.indicator.thresholdMetric")?;
        Some(IndicatorUse::Inline(Box::new(Queries::Threshold(query))))
    }

    /// An SLI's `spec`: a `thresholdMetric` or a `ratioMetric`.
    fn sli_spec(&mut self, spec: &Node, path: &str) -> Option<Queries<SourceDraft>> {
        match (present(spec, "thresholdMetric"), present(spec, "ratioMetric")) {
            (Some(_), Some(ratio)) => {
                self.r.error(ratio.pos, format!("{path}.thresholdMetric and {path}.ratioMetric cannot both be given"));
                None
            }
            (Some(threshold), None) => {
                self.metric_source(threshold, &join(path, "thresholdMetric")).map(Queries::Threshold)
            }
            (None, Some(ratio)) => self.ratio(ratio, &join(path, "ratioMetric")),
            (None, None) => {
                self.r.error(spec.pos, format!("{path}.thresholdMetric or {path}.ratioMetric is required"));
                None
            }
        }
    }

    /// A ratio: `good` or `bad` over `total`, or (v1) a precomputed `raw` ratio.
    fn ratio(&mut self, node: &Node, path: &str) -> Option<Queries<SourceDraft>> {
        let node = self.r.mapping(node, path)?;
        if self.version == Version::V1
            && let Some(raw) = present(node, "raw")
        {
            if let Some(other) = ["good", "bad", "total"].into_iter().find(|field| present(node, field).is_some()) {
                self.r.error(raw.pos, format!("{path}.raw cannot be given with {path}.{other}"));
                return None;
            }
            let raw_type = self.r.required_string(node, path, "rawType").and_then(|text| match text {
                "success" => Some(RawType::Success),
                "failure" => Some(RawType::Failure),
                _ => {
                    let pos = at(node, path, "rawType").pos;
                    self.r.error(pos, format!("{path}.rawType `{text}` is not known; use success or failure"));
                    None
                }
            });
            let query = self.metric(raw, &join(path, "raw"));
            return Some(Queries::Raw { query: query?, raw_type: raw_type? });
        }
        let total = self.r.required(node, path, "total").and_then(|total| self.metric(total, &join(path, "total")));
        match (present(node, "good"), present(node, "bad")) {
            (Some(_), Some(bad)) => {
                self.r.error(bad.pos, format!("{path}.good and {path}.bad cannot both be given"));
                None
            }
            (Some(good), None) => {
                let good = self.metric(good, &join(path, "good"));
                Some(Queries::Ratio { good: good?, total: total? })
            }
            (None, Some(bad)) => {
                let bad = self.metric(bad, &join(path, "bad"));
                Some(Queries::RatioBad { bad: bad?, total: total? })
            }
            (None, None) => {
                self.r.error(node.pos, format!("{path}.good or {path}.bad is required"));
                None
            }
        }
    }

    fn metric(&mut self, node: &Node, path: &str) -> Option<SourceDraft> {
        match self.version {
            Version::V1 => self.metric_source(node, path),
            Version::V1Alpha => self.v1alpha_metric(node, path),
        }
    }

    /// A v1 metric: `metricSource` with a `metricSourceRef`, a `type`, or both, and a `spec`.
    fn metric_source(&mut self, node: &Node, path: &str) -> Option<SourceDraft> {
        let node = self.r.mapping(node, path)?;
        let source_path = join(path, "metricSource");
        let source = self.r.required_mapping(node, path, "metricSource")?;
        let before = self.r.errors();
        let reference = self
            .r
            .optional_string(source, &source_path, "metricSourceRef")
            .map(|name| Reference { name: name.to_owned(), at: at(source, &source_path, "metricSourceRef") });
        let source_type = self
            .r
            .optional_string(source, &source_path, "type")
            .map(|text| (text.to_owned(), at(source, &source_path, "type").pos));
        let spec = present(source, "spec").and_then(|spec| self.r.mapping(spec, &join(&source_path, "spec")));
        if self.r.errors() > before {
            return None;
        }
        if reference.is_none() && source_type.is_none() {
            self.r.error(source.pos, format!("{source_path}.type is required when no metricSourceRef is given"));
            return None;
        }
        let query = spec
            .and_then(|spec| present(spec, "query").or_else(|| present(spec, "promql")))
            .and_then(Node::as_str)
            .map(str::to_owned);
        Some(SourceDraft {
            at: At { path: source_path, pos: source.pos },
            reference,
            source_type,
            query,
            spec: spec.map_or(serde_json::Value::Null, Node::to_json),
        })
    }

    /// A v1alpha metric: `source`, `queryType` and `query` in one mapping.
    fn v1alpha_metric(&mut self, node: &Node, path: &str) -> Option<SourceDraft> {
        let node = self.r.mapping(node, path)?;
        let source = self.r.required_string(node, path, "source");
        let query = self.r.required_string(node, path, "query");
        Some(SourceDraft {
            at: At { path: path.to_owned(), pos: node.pos },
            reference: None,
            source_type: Some((source?.to_owned(), at(node, path, "source").pos)),
            query: Some(query?.to_owned()),
            spec: serde_json::Value::Null,
        })
    }

    /// `spec.alertPolicies`: references and inline policies; none given means the default rules.
    fn alert_policies(&mut self, spec: &Node) -> AlertingDraft {
        let Some(node) = present(spec, "alertPolicies") else {
            return AlertingDraft::Defaults;
        };
        let items = self.r.list(node, "spec.alertPolicies").unwrap_or_default();
        if items.is_empty() {
            return AlertingDraft::Defaults;
        }
        let uses = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.policy_use(item, &format!("spec.alertPolicies[{i}]")))
            .collect();
        AlertingDraft::Policies(uses)
    }

    fn policy_use(&mut self, item: &Node, path: &str) -> Option<PolicyUse> {
        let item = self.r.mapping(item, path)?;
        if let Some(reference) = present(item, "alertPolicyRef") {
            let reference_path = join(path, "alertPolicyRef");
            let name = self.r.string(reference, &reference_path)?;
            return Some(PolicyUse::Ref(Reference {
                name: name.to_owned(),
                at: At { path: reference_path, pos: reference.pos },
            }));
        }
        let spec = self.inline_spec(item, path, "AlertPolicy", "alertPolicyRef")?;
        self.policy_body(spec, &join(path, "spec")).map(PolicyUse::Inline)
    }

    fn condition_use(&mut self, item: &Node, path: &str) -> Option<ConditionUse> {
        let item = self.r.mapping(item, path)?;
        if let Some(reference) = present(item, "conditionRef") {
            let reference_path = join(path, "conditionRef");
            let name = self.r.string(reference, &reference_path)?;
            return Some(ConditionUse::Ref(Reference {
                name: name.to_owned(),
                at: At { path: reference_path, pos: reference.pos },
            }));
        }
        let spec = self.inline_spec(item, path, "AlertCondition", "conditionRef")?;
        self.condition_rule(spec, &join(path, "spec")).map(ConditionUse::Inline)
    }

    /// The `spec` of an object written inline, whose `kind`, when given, must be `kind`.
    fn inline_spec<'n>(&mut self, item: &'n Node, path: &str, kind: &str, reference: &str) -> Option<&'n Node> {
        if present(item, "spec").is_none() {
            self.r.error(item.pos, format!("{path} needs a {reference} or an inline {kind} (kind, metadata, spec)"));
            return None;
        }
        if let Some(node) = present(item, "kind")
            && node.as_str() != Some(kind)
        {
            let found = node.as_str().map_or_else(|| node.type_name().to_owned(), |k| format!("`{k}`"));
            self.r.error(node.pos, format!("{path}.kind must be {kind}, found {found}"));
            return None;
        }
        self.r.required_mapping(item, path, "spec")
    }

    fn policy_body(&mut self, spec: &Node, path: &str) -> Option<PolicyBody> {
        let when_breaching = self.r.optional_bool(spec, path, "alertWhenBreaching").unwrap_or(true);
        let conditions_path = join(path, "conditions");
        let node = self.r.required(spec, path, "conditions")?;
        let items = self.r.list(node, &conditions_path)?;
        if items.is_empty() {
            self.r.error(node.pos, format!("{conditions_path} must hold a condition"));
        }
        let conditions = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.condition_use(item, &format!("{conditions_path}[{i}]")))
            .collect();
        Some(PolicyBody { when_breaching, conditions })
    }

    /// An alert condition's `spec` as a burn-rate rule.
    fn condition_rule(&mut self, spec: &Node, path: &str) -> Option<AlertRule> {
        let severity =
            self.r.required_string(spec, path, "severity").map(|text| match text.to_ascii_lowercase().as_str() {
                "page" | "critical" => Severity::Page,
                "ticket" | "warning" => Severity::Ticket,
                _ => {
                    self.r.warning(
                        at(spec, path, "severity").pos,
                        format!(
                            "{path}.severity `{text}` is read as a ticket; page and critical page, ticket and \
                             warning open a ticket"
                        ),
                    );
                    Severity::Ticket
                }
            });
        let condition_path = join(path, "condition");
        let condition = self.r.required_mapping(spec, path, "condition")?;
        if let Some(kind) = self.r.optional_string(condition, &condition_path, "kind")
            && !kind.eq_ignore_ascii_case("burnrate")
        {
            self.r.error(
                at(condition, &condition_path, "kind").pos,
                format!("{condition_path}.kind `{kind}` is not supported; only burnrate conditions are read"),
            );
        }
        let op_ok = self.r.required_string(condition, &condition_path, "op").is_some_and(|op| {
            let message = match op {
                "gt" | "gte" => return true,
                "lt" | "lte" => format!(
                    "{condition_path}.op `{op}` would alert while the budget burns slowly; a burn-rate alert fires \
                     above its threshold: use gt or gte"
                ),
                _ => format!("{condition_path}.op `{op}` is not known; use gt or gte"),
            };
            self.r.error(at(condition, &condition_path, "op").pos, message);
            false
        });
        let threshold = self.r.required(condition, &condition_path, "threshold").and_then(|node| {
            let threshold_path = join(&condition_path, "threshold");
            let value = self.r.number(node, &threshold_path)?;
            if value > 0.0 && value.is_finite() {
                Some(value)
            } else {
                self.r.error(node.pos, format!("{threshold_path} {value} must be greater than 0"));
                None
            }
        });
        let lookback = self
            .r
            .required(condition, &condition_path, "lookbackWindow")
            .and_then(|node| self.r.duration(node, &join(&condition_path, "lookbackWindow"), false));
        if let Some(after) = present(condition, "alertAfter") {
            let after_path = join(&condition_path, "alertAfter");
            if !after.as_str().is_some_and(is_zero_duration) && self.r.duration(after, &after_path, false).is_some() {
                self.r.warning(
                    after.pos,
                    format!(
                        "{after_path} is not applied: a rule fires as soon as the burn rate is above its threshold \
                         over both its windows"
                    ),
                );
            }
        }
        let long_window = lookback?.length;
        Some(AlertRule { severity: severity?, long_window, short_window: long_window / 12, threshold: threshold? })
            .filter(|_| op_ok)
    }

    fn sli(&mut self, doc: &Node) -> Option<SliDefinition> {
        let metadata = self.metadata(doc);
        let queries = self.r.required_mapping(doc, "", "spec").and_then(|spec| self.sli_spec(spec, "spec"));
        let metadata = metadata?;
        Some(SliDefinition { name: metadata.name.to_owned(), pos: metadata.pos, queries: queries? })
    }

    fn data_source(&mut self, doc: &Node) -> Option<DataSource> {
        let metadata = self.metadata(doc);
        let spec = self.r.required_mapping(doc, "", "spec")?;
        let source_type = self.r.required_string(spec, "spec", "type");
        let url = present(spec, "connectionDetails")
            .and_then(|details| self.r.mapping(details, "spec.connectionDetails"))
            .and_then(|details| self.r.optional_string(details, "spec.connectionDetails", "url"));
        let metadata = metadata?;
        Some(DataSource {
            name: metadata.name.to_owned(),
            source_type: source_type?.to_owned(),
            url: url.map(str::to_owned),
            pos: metadata.pos,
        })
    }

    fn alert_policy(&mut self, doc: &Node) -> Option<AlertPolicyDefinition> {
        let metadata = self.metadata(doc);
        let body = self.r.required_mapping(doc, "", "spec").and_then(|spec| self.policy_body(spec, "spec"));
        let metadata = metadata?;
        Some(AlertPolicyDefinition { name: metadata.name.to_owned(), pos: metadata.pos, body: body? })
    }

    fn alert_condition(&mut self, doc: &Node) -> Option<AlertConditionDefinition> {
        let metadata = self.metadata(doc);
        let rule = self.r.required_mapping(doc, "", "spec").and_then(|spec| self.condition_rule(spec, "spec"));
        let metadata = metadata?;
        Some(AlertConditionDefinition { name: metadata.name.to_owned(), pos: metadata.pos, rule: rule? })
    }

    fn service(&mut self, doc: &Node) -> Option<ServiceDefinition> {
        let metadata = self.metadata(doc);
        let spec = present(doc, "spec").and_then(|spec| self.r.mapping(spec, "spec"));
        let description = spec.and_then(|spec| self.r.optional_string(spec, "spec", "description"));
        let metadata = metadata?;
        Some(ServiceDefinition {
            name: metadata.name.to_owned(),
            display_name: metadata.display_name.unwrap_or(metadata.name).to_owned(),
            description: description.unwrap_or_default().to_owned(),
            pos: metadata.pos,
        })
    }
}

/// A date and time without zone, as OpenSLO writes `startTime` (`2022-01-01 12:00:00`); the `T` separator,
/// times without seconds and dates alone (midnight) are taken too.
fn parse_start(text: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(|date| date.and_time(NaiveTime::MIN)))
}

/// `0m`, `0h`, …: the default `alertAfter`.
fn is_zero_duration(text: &str) -> bool {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    !digits.is_empty() && digits.len() + 1 == text.len() && digits.bytes().all(|b| b == b'0')
}
