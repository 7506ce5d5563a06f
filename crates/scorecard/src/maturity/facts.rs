//! The facts of every entity of the catalog, as the maturity evaluation reads them ([`EntityFacts`]): one pass over
//! the stored entities, the `dependsOn` relations, the template versions kept and the SLO evaluations.
//!
//! Everything is read in a handful of queries and joined in memory, so that 50,000 entities cost a fraction of a
//! second; the SLOs are evaluated from their stored SLI data (`sli::evaluate_all`), which is the slow part and is
//! read separately ([`slo_facts`]) so callers can time it and carry on when it fails.

use std::collections::{HashMap, HashSet};

use catalog::entity::{EntityRef, Kind};
use catalog::golden_path::{self, Drift, SOURCE_TEMPLATE_ANNOTATION, TEMPLATE_VERSION_ANNOTATION};
use chrono::{DateTime, Utc};
use semver::Version;
use serde::Deserialize;
use serde_json::Value as Json;
use store::entities::{self, FactsRow};
use store::{DbConnection, QueryResult};

use super::model::{DependencyFacts, EntityFacts, SloFacts};
use crate::sli::{self, SliError, StoredSlo};
use crate::slo::{Evaluation, Severity};

/// The relation whose targets are an entity's dependencies.
pub const DEPENDS_ON: &str = "dependsOn";

/// The SLOs of each Component, by its entity reference (`component:default/checkout`), in the order of the SLOs
/// (namespace, name).
pub type SlosByService = HashMap<String, Vec<SloFacts>>;

/// A ratio this close under its target still meets it: the SLI is a quotient of counts, the target a decimal.
const TARGET_TOLERANCE: f64 = 1e-12;

/// What went wrong while gathering.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    #[error(transparent)]
    Query(#[from] store::QueryError),
}

/// The facts of every entity of the catalog at `now`, by entity reference. When the SLOs cannot be evaluated (a
/// corrupt block, a definition that no longer reads) every entity's `slos` is `None`, so that the checks on SLOs
/// are unknown rather than failed; use [`slo_facts`] and [`catalog_facts`] to see that error.
pub fn gather(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<Vec<EntityFacts>, FactsError> {
    let slos = slo_facts(conn, now).ok();
    Ok(catalog_facts(conn, slos.as_ref())?)
}

/// Every SLO evaluated at `now`, as facts, grouped by the Component each belongs to.
pub fn slo_facts(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<SlosByService, SliError> {
    Ok(slo_facts_of(&sli::evaluate_all(conn, now)?))
}

/// [`slo_facts`] from evaluations already made.
pub fn slo_facts_of(evaluated: &[(StoredSlo, Evaluation)]) -> SlosByService {
    let mut by_service: SlosByService = HashMap::new();
    for (slo, evaluation) in evaluated {
        let service = EntityRef::new(Kind::Component.as_str(), &slo.row.namespace, &slo.row.service).to_string();
        by_service.entry(service).or_default().push(slo_fact(slo, evaluation));
    }
    by_service
}

/// One SLO's facts from its evaluation: whether the SLI meets the objective, the budget left, and whether a
/// page-severity alert fires. Without data the first two are `None`.
pub fn slo_fact(slo: &StoredSlo, evaluation: &Evaluation) -> SloFacts {
    let target = slo.definition.spec.objective.target();
    SloFacts {
        name: slo.row.name.clone(),
        meets_target: evaluation.sli.ratio.map(|ratio| ratio + TARGET_TOLERANCE >= target),
        budget_remaining: evaluation.error_budget.remaining,
        page_alert_firing: evaluation.alerts.iter().any(|alert| alert.severity == Severity::Page && alert.firing),
    }
}

/// The facts of every entity of the catalog, with the SLOs given (`None`: they could not be read), by entity
/// reference.
pub fn catalog_facts(conn: &mut DbConnection, slos: Option<&SlosByService>) -> QueryResult<Vec<EntityFacts>> {
    let rows = entities::all_for_facts(conn)?;
    let depends_on = entities::all_relations_of_type(conn, DEPENDS_ON)?;
    let known = known_versions(conn)?;
    Ok(join(&rows, &depends_on, &known, slos))
}

/// The semver versions kept of each template, by template reference (`template:default/rust-http-service`). A
/// version that is not semver counts for none.
pub fn known_versions(conn: &mut DbConnection) -> QueryResult<HashMap<String, Vec<Version>>> {
    let mut known: HashMap<String, Vec<Version>> = HashMap::new();
    for kept in store::templates::all(conn)? {
        if let Ok(version) = Version::parse(&kept.version) {
            let template = EntityRef::new(Kind::Template.as_str(), &kept.namespace, &kept.name).to_string();
            known.entry(template).or_default().push(version);
        }
    }
    Ok(known)
}

/// The facts from what was read: pure, so that it is tested and measured without a database.
pub fn join(
    rows: &[FactsRow],
    depends_on: &[(String, String)],
    known: &HashMap<String, Vec<Version>>,
    slos: Option<&SlosByService>,
) -> Vec<EntityFacts> {
    let group = Kind::Group.as_str();
    let groups: HashSet<&str> =
        rows.iter().filter(|row| row.kind == group).map(|row| row.entity_ref.as_str()).collect();
    let lifecycles: HashMap<&str, Option<&str>> =
        rows.iter().map(|row| (row.entity_ref.as_str(), row.lifecycle.as_deref())).collect();
    let mut dependencies: HashMap<&str, Vec<&str>> = HashMap::new();
    for (source, target) in depends_on {
        dependencies.entry(source.as_str()).or_default().push(target.as_str());
    }
    let context = Context { groups, lifecycles, dependencies, known, slos };
    in_parallel(rows, |row| context.facts_of(row))
}

/// What every entity's facts are joined against.
struct Context<'a> {
    groups: HashSet<&'a str>,
    lifecycles: HashMap<&'a str, Option<&'a str>>,
    dependencies: HashMap<&'a str, Vec<&'a str>>,
    known: &'a HashMap<String, Vec<Version>>,
    slos: Option<&'a SlosByService>,
}

impl Context<'_> {
    fn facts_of(&self, row: &FactsRow) -> EntityFacts {
        let metadata = Metadata::read(&row.body);
        let template = metadata.annotation(SOURCE_TEMPLATE_ANNOTATION);
        let golden_path = match template {
            None => Drift::NotFromTemplate,
            Some(template) => {
                let known = golden_path::template_ref(template)
                    .and_then(|template| self.known.get(&template.to_string()))
                    .map_or(&[][..], Vec::as_slice);
                golden_path::drift(Some(template), metadata.annotation(TEMPLATE_VERSION_ANNOTATION), known)
            }
        };
        let dependencies = self
            .dependencies
            .get(row.entity_ref.as_str())
            .map(|targets| {
                targets
                    .iter()
                    .map(|target| {
                        let found = self.lifecycles.get(target);
                        DependencyFacts {
                            entity_ref: (*target).to_owned(),
                            lifecycle: found.copied().flatten().map(str::to_owned),
                            in_catalog: found.is_some(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let slos = self.slos.map(|slos| slos.get(&row.entity_ref).cloned().unwrap_or_default());
        EntityFacts {
            entity_ref: row.entity_ref.clone(),
            kind: row.kind.to_ascii_lowercase(),
            spec_type: row.spec_type.clone(),
            lifecycle: row.lifecycle.clone(),
            owner_ref: row.owner_ref.clone(),
            owner_is_group: row.owner_ref.as_deref().is_some_and(|owner| self.groups.contains(owner)),
            description: row.description.clone(),
            link_types: metadata.link_types,
            annotations: metadata
                .annotations
                .into_iter()
                .filter(|(_, value)| value.is_some())
                .map(|(k, _)| k)
                .collect(),
            tags: metadata.tags,
            golden_path,
            slos,
            dependencies,
        }
    }
}

/// What the facts read of a descriptor's `metadata`.
#[derive(Debug, Default, PartialEq)]
struct Metadata {
    /// Every annotation, with its value when it is a non-blank string (or another non-null value, as text).
    annotations: Vec<(String, Option<String>)>,
    link_types: Vec<String>,
    tags: Vec<String>,
}

/// A descriptor as far as [`Metadata`] reads it; everything else is skipped while parsing.
#[derive(Deserialize)]
struct BodyShape {
    #[serde(default)]
    metadata: MetadataShape,
}

#[derive(Deserialize, Default)]
struct MetadataShape {
    #[serde(default)]
    annotations: Option<HashMap<String, Json>>,
    #[serde(default)]
    links: Option<Vec<LinkShape>>,
    #[serde(default)]
    tags: Option<Vec<Json>>,
}

#[derive(Deserialize)]
struct LinkShape {
    #[serde(rename = "type", default)]
    link_type: Option<Json>,
}

impl Metadata {
    /// Reads the stored descriptor; one that does not have the expected shape (ingestion checked it, so only an
    /// old or hand-edited row) is read leniently, value by value.
    fn read(body: &str) -> Metadata {
        match serde_json::from_str::<BodyShape>(body) {
            Ok(shape) => Metadata::of_shape(shape.metadata),
            Err(_) => serde_json::from_str::<Json>(body).map(|json| Metadata::of_json(&json)).unwrap_or_default(),
        }
    }

    fn of_shape(shape: MetadataShape) -> Metadata {
        let mut annotations: Vec<(String, Option<String>)> =
            shape.annotations.unwrap_or_default().into_iter().map(|(key, value)| (key, text(&value))).collect();
        annotations.sort();
        Metadata {
            annotations,
            link_types: shape
                .links
                .unwrap_or_default()
                .iter()
                .filter_map(|link| link.link_type.as_ref().and_then(text))
                .collect(),
            tags: sorted_tags(shape.tags.unwrap_or_default().iter()),
        }
    }

    fn of_json(body: &Json) -> Metadata {
        let metadata = body.get("metadata");
        let mut annotations: Vec<(String, Option<String>)> = metadata
            .and_then(|m| m.get("annotations"))
            .and_then(Json::as_object)
            .map(|map| map.iter().map(|(key, value)| (key.clone(), text(value))).collect())
            .unwrap_or_default();
        annotations.sort();
        let link_types = metadata
            .and_then(|m| m.get("links"))
            .and_then(Json::as_array)
            .map(|links| links.iter().filter_map(|link| link.get("type").and_then(text)).collect())
            .unwrap_or_default();
        let tags = metadata.and_then(|m| m.get("tags")).and_then(Json::as_array).map(|tags| sorted_tags(tags.iter()));
        Metadata { annotations, link_types, tags: tags.unwrap_or_default() }
    }

    /// The value of an annotation, when it is set and not blank.
    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.iter().find(|(k, _)| k == key).and_then(|(_, value)| value.as_deref())
    }
}

/// A value as trimmed, non-blank text: strings as they are, numbers and booleans written out, others `None`.
fn text(value: &Json) -> Option<String> {
    let text = match value {
        Json::String(text) => text.trim().to_owned(),
        Json::Number(number) => number.to_string(),
        Json::Bool(flag) => flag.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// Tags as the catalog stores them: the strings, sorted, without repeats.
fn sorted_tags<'a>(tags: impl Iterator<Item = &'a Json>) -> Vec<String> {
    let mut tags: Vec<String> = tags.filter_map(Json::as_str).map(str::to_owned).collect();
    tags.sort();
    tags.dedup();
    tags
}

/// Below this many items one thread does the work: starting threads costs more.
const PARALLEL_FROM: usize = 4_096;

/// `f` over `items` on the available cores, in order.
pub(crate) fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(8);
    if threads < 2 || items.len() < PARALLEL_FROM {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> =
            items.chunks(chunk).map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>())).collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(entity_ref: &str, kind: &str, owner: Option<&str>, lifecycle: Option<&str>, body: &str) -> FactsRow {
        FactsRow {
            entity_ref: entity_ref.to_owned(),
            kind: kind.to_owned(),
            spec_type: Some("service".to_owned()),
            lifecycle: lifecycle.map(str::to_owned),
            owner_ref: owner.map(str::to_owned),
            description: Some("A service.".to_owned()),
            body: body.to_owned(),
        }
    }

    #[test]
    fn metadata_reads_links_annotations_and_tags() {
        let body = r#"{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"a",
            "annotations":{"backstage.io/techdocs-ref":"dir:.","blank":"  ","n":3,"nothing":null},
            "links":[{"url":"https://r","type":"runbook"},{"url":"https://x"},{"url":"https://d","type":" dashboard "}],
            "tags":["rust","grpc","rust"]},"spec":{"type":"service"}}"#;
        let metadata = Metadata::read(body);
        assert_eq!(metadata.link_types, ["runbook", "dashboard"]);
        assert_eq!(metadata.tags, ["grpc", "rust"]);
        assert_eq!(metadata.annotation("backstage.io/techdocs-ref"), Some("dir:."));
        assert_eq!(metadata.annotation("blank"), None);
        assert_eq!(metadata.annotation("n"), Some("3"));
        // A shape the typed reading refuses (a link that is not an object) is read value by value.
        let odd = r#"{"metadata":{"links":["https://x",{"type":"docs"}],"tags":"rust","annotations":{"a":"b"}}}"#;
        let metadata = Metadata::read(odd);
        assert_eq!(metadata.annotation("a"), Some("b"));
        assert_eq!((metadata.link_types, metadata.tags), (vec!["docs".to_owned()], vec![]));
        assert_eq!(Metadata::read("not json"), Metadata::default());
    }

    #[test]
    fn join_resolves_owners_dependencies_drift_and_slos() {
        let service = r#"{"metadata":{"name":"api","annotations":{
            "backstage.io/source-template":"rust-http-service","portolan.dev/template-version":"1.0.0",
            "blank":""}}}"#;
        let rows = [
            row("component:default/api", "Component", Some("group:default/team"), Some("production"), service),
            row("component:default/old", "Component", Some("user:default/ann"), Some("deprecated"), "{}"),
            row("component:default/bare", "Component", None, None, "{}"),
            row("group:default/team", "Group", None, None, "{}"),
        ];
        let depends_on = [
            ("component:default/api".to_owned(), "component:default/old".to_owned()),
            ("component:default/api".to_owned(), "component:default/gone".to_owned()),
        ];
        let versions = ["1.0.0", "1.1.0", "2.0.0"].iter().map(|v| Version::parse(v).expect("semver")).collect();
        let known = HashMap::from([("template:default/rust-http-service".to_owned(), versions)]);
        let slo = SloFacts {
            name: "api-availability".to_owned(),
            meets_target: Some(true),
            budget_remaining: Some(0.5),
            page_alert_firing: false,
        };
        let slos = HashMap::from([("component:default/api".to_owned(), vec![slo.clone()])]);

        let facts = join(&rows, &depends_on, &known, Some(&slos));
        assert_eq!(facts.len(), 4);
        let api = &facts[0];
        assert_eq!((api.kind.as_str(), api.owner_is_group), ("component", true));
        assert_eq!(api.annotations, ["backstage.io/source-template", "portolan.dev/template-version"]);
        assert!(matches!(api.golden_path, Drift::Behind { behind: 2, .. }), "{:?}", api.golden_path);
        assert_eq!(api.slos.as_deref(), Some(&[slo][..]));
        let deps: Vec<(&str, Option<&str>, bool)> =
            api.dependencies.iter().map(|d| (d.entity_ref.as_str(), d.lifecycle.as_deref(), d.in_catalog)).collect();
        assert_eq!(
            deps,
            [("component:default/old", Some("deprecated"), true), ("component:default/gone", None, false)]
        );
        let old = &facts[1];
        assert!(!old.owner_is_group, "a User owns it");
        assert_eq!(old.slos.as_deref(), Some(&[][..]), "no SLOs, and they were read");
        assert_eq!(old.golden_path, Drift::NotFromTemplate);
        assert!(!facts[2].owner_is_group && facts[2].dependencies.is_empty());

        let unread = join(&rows, &depends_on, &known, None);
        assert!(unread.iter().all(|f| f.slos.is_none()), "SLOs that could not be read are unknown");
        let unknown = join(&rows, &depends_on, &HashMap::new(), None);
        assert!(matches!(unknown[0].golden_path, Drift::UnknownTemplate { .. }));
    }

    #[test]
    fn parallel_join_keeps_the_order() {
        let rows: Vec<FactsRow> = (0..PARALLEL_FROM * 2 + 7)
            .map(|i| row(&format!("component:default/s{i:06}"), "Component", None, None, "{}"))
            .collect();
        let facts = join(&rows, &[], &HashMap::new(), None);
        assert!(facts.iter().zip(&rows).all(|(f, r)| f.entity_ref == r.entity_ref));
    }
}
