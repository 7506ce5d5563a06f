//! Following the references between the documents of several files, into complete SLO definitions.

use std::collections::{HashMap, HashSet};

use catalog::descriptor::Problem;
use catalog::ingest::FileProblem;
use catalog::yaml::Pos;

use super::{
    AlertingDraft, ConditionUse, DataSource, Indicator, IndicatorUse, MetricQuery, ObjectiveThreshold, PolicyBody,
    PolicyUse, Queries, Reference, SloDefinition, SloDraft, SloFile, Source, SourceDraft, period_of,
};
use crate::slo::alerts::{AlertPolicy, AlertRule};
use crate::slo::model::SloSpec;

/// What [`resolve`] made of a set of files.
#[derive(Debug, Default)]
pub struct Resolved {
    /// The SLOs whose references were all found, in the order of the files, then of their documents.
    pub slos: Vec<SloDefinition>,
    /// Every problem of the files: those [`read_slo_documents`](super::read_slo_documents) found and those found
    /// here, in the order of the files, then by position, each once.
    pub problems: Vec<FileProblem>,
}

/// Resolves the files of one ingestion, each given with its path, into complete SLO definitions.
///
/// References are looked up in all the files: an SLO's `indicatorRef` names an SLI, a metric source's
/// `metricSourceRef` a DataSource, an `alertPolicyRef` an AlertPolicy and a `conditionRef` an AlertCondition.
/// A name that is not found is an error where the reference is written; a reference to a document that has
/// errors of its own is an error too. An object defined twice (same kind and name) is an error at
/// the second definition, which is left out. An SLO with any error is left out.
pub fn resolve(files: &[(String, SloFile)]) -> Resolved {
    let mut problems: Vec<(usize, Problem)> = files
        .iter()
        .enumerate()
        .flat_map(|(index, (_, file))| file.problems.iter().map(move |problem| (index, problem.clone())))
        .collect();

    let data_sources = unique(files, "DataSource", |f| &f.data_sources, |d| (&d.name, d.pos), &mut problems);
    let conditions = unique(files, "AlertCondition", |f| &f.alert_conditions, |c| (&c.name, c.pos), &mut problems);
    let policies = unique(files, "AlertPolicy", |f| &f.alert_policies, |p| (&p.name, p.pos), &mut problems);
    let slis = unique(files, "SLI", |f| &f.slis, |s| (&s.name, s.pos), &mut problems);
    let mut context = Context {
        files,
        data_sources: data_sources.into_iter().map(|(file, d)| (d.name.as_str(), (file, d))).collect(),
        conditions: conditions.into_iter().map(|(_, c)| (c.name.as_str(), &c.rule)).collect(),
        policies: HashMap::new(),
        slis: HashMap::new(),
        problems,
    };
    for (file, policy) in policies {
        let rules = context.policy_rules(file, &policy.body);
        context.policies.insert(&policy.name, Named { file, pos: policy.pos, value: rules });
    }
    for (file, sli) in slis {
        let queries = context.queries(file, &sli.queries);
        context.slis.insert(&sli.name, Named { file, pos: sli.pos, value: queries });
    }

    let mut slos = Vec::new();
    let mut first_of: HashMap<&str, (usize, Pos)> = HashMap::new();
    for (file, (_, parsed)) in files.iter().enumerate() {
        for draft in &parsed.slos {
            if let Some(&(first_file, first_pos)) = first_of.get(draft.name.as_str()) {
                let message = format!(
                    "SLO `{}` is defined twice; the first definition is at {}:{first_pos}",
                    draft.name, files[first_file].0
                );
                context.problems.push((file, Problem::error(draft.pos, message)));
                continue;
            }
            first_of.insert(&draft.name, (file, draft.pos));
            if let Some(slo) = context.slo(file, draft) {
                slos.push(slo);
            }
        }
    }

    let mut problems = context.problems;
    let mut seen = HashSet::new();
    problems.retain(|(file, problem)| seen.insert((*file, problem.to_string())));
    problems.sort_by_key(|(file, problem)| (*file, problem.line, problem.col));
    let problems =
        problems.into_iter().map(|(file, problem)| FileProblem { path: files[file].0.clone(), problem }).collect();
    Resolved { slos, problems }
}

/// The objects of one kind with distinct names, in file order; later objects with a name already taken are
/// reported and left out.
fn unique<'a, T>(
    files: &'a [(String, SloFile)],
    kind: &str,
    items: impl Fn(&'a SloFile) -> &'a [T],
    name_of: impl Fn(&'a T) -> (&'a String, Pos),
    problems: &mut Vec<(usize, Problem)>,
) -> Vec<(usize, &'a T)> {
    let mut first_of: HashMap<&str, (usize, Pos)> = HashMap::new();
    let mut kept = Vec::new();
    for (file, (_, parsed)) in files.iter().enumerate() {
        for item in items(parsed) {
            let (name, pos) = name_of(item);
            if let Some(&(first_file, first_pos)) = first_of.get(name.as_str()) {
                let message = format!(
                    "{kind} `{name}` is defined twice; the first definition is at {}:{first_pos}",
                    files[first_file].0
                );
                problems.push((file, Problem::error(pos, message)));
                continue;
            }
            first_of.insert(name, (file, pos));
            kept.push((file, item));
        }
    }
    kept
}

/// A named object, resolved: `None` when it has errors.
struct Named<T> {
    file: usize,
    pos: Pos,
    value: Option<T>,
}

struct Context<'a> {
    files: &'a [(String, SloFile)],
    data_sources: HashMap<&'a str, (usize, &'a DataSource)>,
    conditions: HashMap<&'a str, &'a AlertRule>,
    policies: HashMap<&'a str, Named<Vec<AlertRule>>>,
    slis: HashMap<&'a str, Named<Queries<MetricQuery>>>,
    problems: Vec<(usize, Problem)>,
}

impl Context<'_> {
    fn error(&mut self, file: usize, pos: Pos, message: String) {
        self.problems.push((file, Problem::error(pos, message)));
    }

    /// The error for a reference that names nothing.
    fn not_found(&mut self, file: usize, reference: &Reference, kind: &str) {
        let message = format!("{}: no {kind} named `{}` in the files read", reference.at.path, reference.name);
        self.error(file, reference.at.pos, message);
    }

    /// What a reference to an SLI or alert policy names, or an error where the reference is written.
    fn named<T: Clone>(
        &mut self,
        file: usize,
        reference: &Reference,
        kind: &str,
        pick: impl Fn(&Self) -> &HashMap<&str, Named<T>>,
    ) -> Option<T> {
        let (target_file, target_pos, value) = match pick(self).get(reference.name.as_str()) {
            None => {
                self.not_found(file, reference, kind);
                return None;
            }
            Some(named) => (named.file, named.pos, named.value.clone()),
        };
        if value.is_none() {
            let message = format!(
                "{}: {kind} `{}` ({}:{target_pos}) has errors",
                reference.at.path, reference.name, self.files[target_file].0
            );
            self.error(file, reference.at.pos, message);
        }
        value
    }

    /// One query with its source: the written type, else the type of the DataSource it refers to.
    fn metric_query(&mut self, file: usize, draft: &SourceDraft) -> Option<MetricQuery> {
        let data_source = match &draft.reference {
            None => None,
            Some(reference) => match self.data_sources.get(reference.name.as_str()) {
                Some(&(source_file, source)) => Some((source_file, source)),
                None => {
                    self.not_found(file, reference, "DataSource");
                    return None;
                }
            },
        };
        if let (Some((written, pos)), Some((source_file, source))) = (&draft.source_type, data_source)
            && !written.eq_ignore_ascii_case(&source.source_type)
        {
            let message = format!(
                "{}.type `{written}` is not the type `{}` of DataSource `{}` ({}:{})",
                draft.at.path, source.source_type, source.name, self.files[source_file].0, source.pos
            );
            self.error(file, *pos, message);
            return None;
        }
        let source_type = draft
            .source_type
            .as_ref()
            .map(|(written, _)| written.as_str())
            .or(data_source.map(|(_, source)| source.source_type.as_str()))
            .unwrap_or_default();
        let source = if source_type.eq_ignore_ascii_case("prometheus") {
            Source::Prometheus { url: data_source.and_then(|(_, source)| source.url.clone()) }
        } else if source_type.eq_ignore_ascii_case("push") {
            Source::Push
        } else {
            Source::Other(source_type.to_owned())
        };
        let query = match (&source, &draft.query) {
            (Source::Push, _) => String::new(),
            (_, Some(query)) => query.clone(),
            (Source::Prometheus { .. }, None) => {
                let message = format!("{}.spec.query (PromQL) is required for a Prometheus source", draft.at.path);
                self.error(file, draft.at.pos, message);
                return None;
            }
            (Source::Other(_), None) if draft.spec.is_null() => String::new(),
            (Source::Other(_), None) => draft.spec.to_string(),
        };
        Some(MetricQuery { source, query })
    }

    fn queries(&mut self, file: usize, queries: &Queries<SourceDraft>) -> Option<Queries<MetricQuery>> {
        queries.try_map(|draft| self.metric_query(file, draft))
    }

    /// The rules of an alert policy: those of its conditions, none when it does not alert on breaches.
    fn policy_rules(&mut self, file: usize, body: &PolicyBody) -> Option<Vec<AlertRule>> {
        let mut rules = Vec::new();
        let mut found = true;
        for condition in &body.conditions {
            match condition {
                ConditionUse::Inline(rule) => rules.push(rule.clone()),
                ConditionUse::Ref(reference) => match self.conditions.get(reference.name.as_str()) {
                    Some(&rule) => rules.push(rule.clone()),
                    None => {
                        self.not_found(file, reference, "AlertCondition");
                        found = false;
                    }
                },
            }
        }
        found.then(|| if body.when_breaching { rules } else { Vec::new() })
    }

    fn alerting(&mut self, file: usize, draft: &SloDraft) -> Option<AlertPolicy> {
        let uses = match &draft.alerting {
            AlertingDraft::Defaults => return Some(AlertPolicy::defaults_for(period_of(&draft.spec.window))),
            AlertingDraft::Given(policy) => return Some(policy.clone()),
            AlertingDraft::Policies(uses) => uses,
        };
        let mut rules = Vec::new();
        let mut found = true;
        for policy in uses {
            let policy_rules = match policy {
                PolicyUse::Inline(body) => self.policy_rules(file, body),
                PolicyUse::Ref(reference) => self.named(file, reference, "AlertPolicy", |c| &c.policies),
            };
            match policy_rules {
                Some(policy_rules) => rules.extend(policy_rules),
                None => found = false,
            }
        }
        found.then_some(AlertPolicy { rules })
    }

    /// The indicator, with the objective's operator and value for a threshold metric.
    fn indicator(
        &mut self,
        file: usize,
        queries: Queries<MetricQuery>,
        threshold: &ObjectiveThreshold,
    ) -> Option<Indicator> {
        Some(match queries {
            Queries::Ratio { good, total } => Indicator::Ratio { good, total },
            Queries::RatioBad { bad, total } => Indicator::RatioBad { bad, total },
            Queries::Raw { query, raw_type } => Indicator::Raw { query, raw_type },
            Queries::Threshold(query) => {
                for (field, missing) in [("op", threshold.operator.is_none()), ("value", threshold.value.is_none())] {
                    if missing {
                        let message = format!("{}.{field} is required with a thresholdMetric", threshold.at.path);
                        self.error(file, threshold.at.pos, message);
                    }
                }
                Indicator::Threshold { query, operator: threshold.operator?, value: threshold.value? }
            }
        })
    }

    fn slo(&mut self, file: usize, draft: &SloDraft) -> Option<SloDefinition> {
        let queries = match &draft.indicator {
            IndicatorUse::Inline(queries) => self.queries(file, queries),
            IndicatorUse::Ref(reference) => self.named(file, reference, "SLI", |c| &c.slis),
        };
        let alerting = self.alerting(file, draft);
        let indicator = queries.and_then(|queries| self.indicator(file, queries, &draft.threshold));
        Some(SloDefinition {
            name: draft.name.clone(),
            display_name: draft.display_name.clone(),
            description: draft.description.clone(),
            service: draft.service.clone(),
            spec: SloSpec { alerting: alerting?, ..draft.spec.clone() },
            indicator: indicator?,
            path: self.files[file].0.clone(),
            pos: draft.pos,
        })
    }
}
