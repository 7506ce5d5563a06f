//! Sloth's SLO groups: `prometheus/v1` files (snake_case keys) and their Kubernetes form, `sloth.slok.dev/v1`
//! `PrometheusServiceLevel` resources (camelCase keys under `spec`).

use catalog::yaml::Node;

use super::reader::{Reader, join, present};
use super::{
    AlertingDraft, At, IndicatorUse, ObjectiveThreshold, Queries, RawType, SLOTH_K8S_API_VERSION, SLOTH_K8S_KIND,
    SLOTH_VERSION, SloDraft, SloFile, SourceDraft, default_window, period_of,
};
use crate::slo::alerts::{AlertPolicy, Severity};
use crate::slo::model::{BudgetingMethod, Objective, SloSpec};

/// A key as one form of Sloth's spec spells it, and as the other form does.
#[derive(Clone, Copy)]
struct Key {
    name: &'static str,
    other: &'static str,
}

/// The keys whose spelling differs between the two forms of Sloth's spec.
struct Keys {
    /// The form, for messages.
    form: &'static str,
    error_query: Key,
    total_query: Key,
    error_ratio_query: Key,
    page_alert: Key,
    ticket_alert: Key,
}

const PLAIN: Keys = Keys {
    form: "Sloth prometheus/v1 files",
    error_query: Key { name: "error_query", other: "errorQuery" },
    total_query: Key { name: "total_query", other: "totalQuery" },
    error_ratio_query: Key { name: "error_ratio_query", other: "errorRatioQuery" },
    page_alert: Key { name: "page_alert", other: "pageAlert" },
    ticket_alert: Key { name: "ticket_alert", other: "ticketAlert" },
};

const K8S: Keys = Keys {
    form: "PrometheusServiceLevel resources",
    error_query: Key { name: "errorQuery", other: "error_query" },
    total_query: Key { name: "totalQuery", other: "total_query" },
    error_ratio_query: Key { name: "errorRatioQuery", other: "error_ratio_query" },
    page_alert: Key { name: "pageAlert", other: "page_alert" },
    ticket_alert: Key { name: "ticketAlert", other: "ticket_alert" },
};

impl Keys {
    /// An error when `parent` spells `key` the other form's way, which Sloth would silently ignore.
    fn check_spelling(&self, r: &mut Reader, parent: &Node, path: &str, key: Key) {
        if present(parent, key.name).is_none()
            && let Some(node) = present(parent, key.other)
        {
            r.error(node.pos, format!("{} is not read: {} spell it {}", join(path, key.other), self.form, key.name));
        }
    }

    /// A required query under `key`; when it is missing but spelled the other form's way, the error says so.
    fn query(&self, r: &mut Reader, parent: &Node, path: &str, key: Key) -> Option<SourceDraft> {
        let query_path = join(path, key.name);
        let Some(node) = present(parent, key.name) else {
            let hint = match present(parent, key.other) {
                Some(_) => format!(" ({} spell it {}, not {})", self.form, key.name, key.other),
                None => String::new(),
            };
            r.error(parent.pos, format!("{query_path} is required{hint}"));
            return None;
        };
        let text = r.string(node, &query_path)?;
        Some(SourceDraft {
            at: At { path: query_path, pos: node.pos },
            reference: None,
            source_type: Some(("Prometheus".to_owned(), node.pos)),
            query: Some(text.to_owned()),
            spec: serde_json::Value::Null,
        })
    }
}

/// Reads one Sloth document into `file`: each SLO without errors becomes a draft.
pub(super) fn read(doc: &Node, k8s: bool, r: &mut Reader, file: &mut SloFile) {
    let keys = if k8s { &K8S } else { &PLAIN };
    let group_before = r.errors();
    let (root, path) = if k8s {
        let version = doc.get("apiVersion").and_then(Node::as_str).unwrap_or_default();
        if version != SLOTH_K8S_API_VERSION {
            let pos = doc.get("apiVersion").map_or(doc.pos, |n| n.pos);
            r.error(pos, format!("unsupported apiVersion `{version}`; Portolan reads Sloth's {SLOTH_K8S_API_VERSION}"));
            return;
        }
        match r.required_string(doc, "", "kind") {
            Some(SLOTH_K8S_KIND) => {}
            Some(kind) => {
                let pos = doc.get("kind").map_or(doc.pos, |n| n.pos);
                r.error(pos, format!("unknown kind `{kind}`; the {SLOTH_K8S_API_VERSION} kind is {SLOTH_K8S_KIND}"));
                return;
            }
            None => return,
        }
        let Some(spec) = r.required_mapping(doc, "", "spec") else {
            return;
        };
        (spec, "spec")
    } else {
        let version = doc.get("version").and_then(Node::as_str).unwrap_or_default();
        if version != SLOTH_VERSION {
            let pos = doc.get("version").map_or(doc.pos, |n| n.pos);
            r.error(pos, format!("unsupported version `{version}`; Portolan reads Sloth's {SLOTH_VERSION}"));
            return;
        }
        (doc, "")
    };
    let service = r.required_string(root, path, "service");
    let slos_path = join(path, "slos");
    let Some(slos) = r.required(root, path, "slos").and_then(|node| r.list(node, &slos_path)) else {
        return;
    };
    if slos.is_empty() {
        let pos = root.get("slos").map_or(root.pos, |n| n.pos);
        r.error(pos, format!("{slos_path} must hold at least one SLO"));
    }
    // Each SLO of a group stands alone: one with errors leaves the others in, unless the group itself is wrong.
    let group_ok = r.errors() == group_before;
    for (i, node) in slos.iter().enumerate() {
        let before = r.errors();
        let slo = slo(r, node, &format!("{slos_path}[{i}]"), service.unwrap_or_default(), keys);
        if let Some(slo) = slo
            && group_ok
            && r.errors() == before
        {
            file.slos.push(slo);
        }
    }
}

fn slo(r: &mut Reader, node: &Node, path: &str, service: &str, keys: &Keys) -> Option<SloDraft> {
    let node = r.mapping(node, path)?;
    let name = r.required_string(node, path, "name");
    let name_pos = node.get("name").map_or(node.pos, |n| n.pos);
    let description = r.optional_string(node, path, "description").unwrap_or_default();
    let objective = r.required(node, path, "objective").and_then(|objective| {
        let objective_path = join(path, "objective");
        let percent = r.number(objective, &objective_path)?;
        let valid = Objective::new(percent / 100.0).ok().filter(|_| percent > 0.0 && percent < 100.0);
        if valid.is_none() {
            r.error(objective.pos, format!("{objective_path} {percent} must be between 0 and 100 (exclusive)"));
        }
        valid
    });
    let queries = r.required_mapping(node, path, "sli").and_then(|sli| indicator(r, sli, &join(path, "sli"), keys));
    let alerting = alerting(r, node, path, keys);
    let window = default_window();
    // Sloth names an SLO within its service, as `<service>-<name>` in the rules it writes; so does Portolan.
    Some(SloDraft {
        name: format!("{service}-{}", name?),
        display_name: name?.to_owned(),
        description: description.to_owned(),
        service: service.to_owned(),
        pos: name_pos,
        spec: SloSpec {
            objective: objective?,
            window,
            method: BudgetingMethod::Occurrences,
            alerting: AlertPolicy { rules: Vec::new() },
        },
        indicator: IndicatorUse::Inline(Box::new(queries?)),
        threshold: ObjectiveThreshold { operator: None, value: None, at: At { path: path.to_owned(), pos: node.pos } },
        alerting: AlertingDraft::Given(alerting?),
    })
}

/// `sli`: exactly one of `events` (bad and total events) and `raw` (an error ratio); SLI plugins are refused.
fn indicator(r: &mut Reader, sli: &Node, path: &str, keys: &Keys) -> Option<Queries<SourceDraft>> {
    let given: Vec<&str> =
        ["events", "raw", "plugin"].into_iter().filter(|kind| present(sli, kind).is_some()).collect();
    match given.as_slice() {
        ["events"] => {
            let events_path = join(path, "events");
            let events = r.required_mapping(sli, path, "events")?;
            let bad = keys.query(r, events, &events_path, keys.error_query);
            let total = keys.query(r, events, &events_path, keys.total_query);
            Some(Queries::RatioBad { bad: bad?, total: total? })
        }
        ["raw"] => {
            let raw_path = join(path, "raw");
            let raw = r.required_mapping(sli, path, "raw")?;
            let query = keys.query(r, raw, &raw_path, keys.error_ratio_query)?;
            Some(Queries::Raw { query, raw_type: RawType::Failure })
        }
        ["plugin"] => {
            let plugin = present(sli, "plugin").map_or(sli.pos, |n| n.pos);
            r.error(
                plugin,
                format!(
                    "{path}.plugin is not supported: the queries of Sloth's SLI plugins are made by plugin code; \
                     write {path}.events or {path}.raw"
                ),
            );
            None
        }
        [] => {
            r.error(sli.pos, format!("{path} needs events or raw"));
            None
        }
        several => {
            r.error(
                sli.pos,
                format!("{path} must have one of events, raw and plugin, found {}", several.join(" and ")),
            );
            None
        }
    }
}

/// Sloth's alerts: the SRE Workbook's page and ticket rules for 30 days, less those disabled.
fn alerting(r: &mut Reader, node: &Node, path: &str, keys: &Keys) -> Option<AlertPolicy> {
    let mut policy = AlertPolicy::defaults_for(period_of(&default_window()));
    let Some(alerting) = present(node, "alerting") else {
        return Some(policy);
    };
    let alerting_path = join(path, "alerting");
    let alerting = r.mapping(alerting, &alerting_path)?;
    for (key, severity) in [(keys.page_alert, Severity::Page), (keys.ticket_alert, Severity::Ticket)] {
        keys.check_spelling(r, alerting, &alerting_path, key);
        let alert_path = join(&alerting_path, key.name);
        let disabled = present(alerting, key.name)
            .and_then(|alert| r.mapping(alert, &alert_path))
            .and_then(|alert| r.optional_bool(alert, &alert_path, "disable"));
        if disabled == Some(true) {
            policy.rules.retain(|rule| rule.severity != severity);
        }
    }
    Some(policy)
}
