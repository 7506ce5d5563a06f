//! One YAML document → one validated entity (or the problems that stop it), with Backstage's rules: required fields
//! per kind, names, keys, tags, links, references with defaults by context, `$text`/`$json`/`$yaml` substitutions,
//! and the relations the entity states, in both directions.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::entity::{
    BACKSTAGE_API_VERSION, DEFAULT_NAMESPACE, EntityRef, Kind, SCAFFOLDER_API_VERSION, check_key, check_label_value,
    check_name, check_namespace, check_tag,
};
use crate::yaml::{Node, Pos, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Something wrong (or doubtful) in a file, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub line: u32,
    pub col: u32,
    pub severity: Severity,
    pub message: String,
    /// The entity the problem belongs to, when it is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_ref: Option<String>,
}

impl Problem {
    pub fn error(pos: Pos, message: impl Into<String>) -> Problem {
        Problem { line: pos.line, col: pos.col, severity: Severity::Error, message: message.into(), entity_ref: None }
    }

    pub fn warning(pos: Pos, message: impl Into<String>) -> Problem {
        Problem { severity: Severity::Warning, ..Problem::error(pos, message) }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = if self.is_error() { "" } else { "warning: " };
        write!(f, "{}:{}: {level}{}", self.line, self.col, self.message)
    }
}

/// A relation stated by an entity: `source` `relation` `target`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Relation {
    pub source: EntityRef,
    pub relation: &'static str,
    pub target: EntityRef,
}

/// The relation types of Backstage, each with its inverse.
pub const RELATION_PAIRS: [(&str, &str); 7] = [
    ("ownedBy", "ownerOf"),
    ("partOf", "hasPart"),
    ("providesApi", "apiProvidedBy"),
    ("consumesApi", "apiConsumedBy"),
    ("dependsOn", "dependencyOf"),
    ("parentOf", "childOf"),
    ("memberOf", "hasMember"),
];

pub fn inverse_of(relation: &str) -> Option<&'static str> {
    RELATION_PAIRS.iter().find_map(|(a, b)| {
        if *a == relation {
            Some(*b)
        } else if *b == relation {
            Some(*a)
        } else {
            None
        }
    })
}

/// A Location's target as written, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationTarget {
    pub target: String,
    pub pos: Pos,
}

/// A valid entity, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    pub kind: Kind,
    pub entity_ref: EntityRef,
    /// The descriptor with the namespace filled in and substitutions done.
    pub body: Json,
    pub relations: Vec<Relation>,
    pub targets: Vec<LocationTarget>,
    pub pos: Pos,
}

impl Entity {
    pub fn metadata_str(&self, field: &str) -> Option<&str> {
        self.body.get("metadata")?.get(field)?.as_str().filter(|s| !s.is_empty())
    }

    pub fn spec_str(&self, field: &str) -> Option<&str> {
        self.body.get("spec")?.get(field)?.as_str().filter(|s| !s.is_empty())
    }

    pub fn name(&self) -> &str {
        self.metadata_str("name").unwrap_or(self.entity_ref.name())
    }

    pub fn tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = self
            .body
            .get("metadata")
            .and_then(|m| m.get("tags"))
            .and_then(Json::as_array)
            .map(|tags| tags.iter().filter_map(Json::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        tags.sort();
        tags.dedup();
        tags
    }

    /// What people call it: a Group's or User's display name, else the title, else the name.
    pub fn display_name(&self) -> &str {
        self.body
            .get("spec")
            .and_then(|s| s.get("profile"))
            .and_then(|p| p.get("displayName"))
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| self.metadata_str("title"))
            .unwrap_or_else(|| self.name())
    }

    /// The owner's reference, for kinds that have one.
    pub fn owner(&self) -> Option<&EntityRef> {
        self.relations.iter().find(|r| r.relation == "ownedBy" && r.source == self.entity_ref).map(|r| &r.target)
    }
}

/// What a substitution (`$text`, `$json`, `$yaml`) resolved to.
pub enum Substituted {
    Value(Json),
    /// The placeholder stays; the entity is kept with this warning.
    Kept(String),
}

/// Reads what a substitution points at; the ingestion decides what is allowed.
pub trait Substitutions {
    fn resolve(&mut self, directive: &str, target: &str) -> Result<Substituted, String>;
}

/// The outcome of one document.
#[derive(Debug)]
pub enum Document {
    Entity(Box<Entity>),
    /// Refused; the reference is known when the kind and name were readable, so the last good version can be kept.
    Invalid {
        entity_ref: Option<EntityRef>,
    },
    /// Empty documents and YAML that is not a descriptor at all (no apiVersion and no kind).
    Skipped,
}

const SUBSTITUTIONS: [&str; 3] = ["$text", "$json", "$yaml"];

/// Validates one document and builds its entity. Problems, errors and warnings alike, are appended to `problems`.
pub fn read_document(doc: &Node, subst: &mut dyn Substitutions, problems: &mut Vec<Problem>) -> Document {
    let first_problem = problems.len();
    let mut check = Checker { problems, errors: 0 };
    let outcome = check.document(doc, subst);
    let entity_ref = match &outcome {
        Document::Entity(e) => Some(e.entity_ref.to_string()),
        Document::Invalid { entity_ref } => entity_ref.as_ref().map(ToString::to_string),
        Document::Skipped => None,
    };
    for problem in &mut check.problems[first_problem..] {
        problem.entity_ref.clone_from(&entity_ref);
    }
    outcome
}

/// A rule a metadata value must follow.
type ValueCheck = fn(&str) -> Result<(), String>;

struct Checker<'p> {
    problems: &'p mut Vec<Problem>,
    errors: usize,
}

impl Checker<'_> {
    fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.errors += 1;
        self.problems.push(Problem::error(pos, message));
    }

    fn document(&mut self, doc: &Node, subst: &mut dyn Substitutions) -> Document {
        if doc.is_null() {
            return Document::Skipped;
        }
        if doc.as_map().is_none() {
            self.error(doc.pos, format!("a descriptor must be a mapping, found {}", doc.type_name()));
            return Document::Invalid { entity_ref: None };
        }
        let api_version = doc.get("apiVersion");
        let kind_node = doc.get("kind");
        if api_version.is_none() && kind_node.is_none() {
            return Document::Skipped;
        }
        let api_version = self.required_str(doc, "apiVersion", doc.pos);
        let kind_text = self.required_str(doc, "kind", doc.pos);
        let kind = match (api_version, kind_text) {
            (Some(version), Some(kind_text)) => self.kind(version, kind_text, doc),
            _ => None,
        };

        let metadata = match doc.get("metadata") {
            Some(m) if m.as_map().is_some() => Some(m),
            Some(m) => {
                self.error(m.pos, format!("metadata must be a mapping, found {}", m.type_name()));
                None
            }
            None => {
                self.error(doc.pos, "metadata is required");
                None
            }
        };
        let namespace = match metadata.and_then(|m| m.get("namespace")) {
            None => Some(DEFAULT_NAMESPACE.to_owned()),
            Some(node) => match node.as_str() {
                Some(ns) => match check_namespace(ns) {
                    Ok(()) => Some(ns.to_owned()),
                    Err(reason) => {
                        self.error(node.pos, format!("metadata.namespace: {reason}"));
                        None
                    }
                },
                None => {
                    self.error(node.pos, format!("metadata.namespace must be a string, found {}", node.type_name()));
                    None
                }
            },
        };
        let name = metadata.and_then(|m| {
            let name = self.required_str(m, "name", m.pos).map(|s| s.to_owned())?;
            let pos = m.get("name").map_or(m.pos, |n| n.pos);
            match check_name(&name) {
                Ok(()) => Some(name),
                Err(reason) => {
                    self.error(pos, format!("metadata.name: {reason}"));
                    None
                }
            }
        });
        let entity_ref = match (kind, &namespace, &name) {
            (Some(kind), Some(namespace), Some(name)) => Some(EntityRef::new(kind.as_str(), namespace, name)),
            _ => None,
        };
        if let Some(metadata) = metadata {
            self.metadata(metadata);
        }
        let spec = doc.get("spec");
        let (Some(kind), Some(entity_ref), Some(namespace)) = (kind, entity_ref.clone(), namespace) else {
            return Document::Invalid { entity_ref };
        };
        let spec = match spec {
            Some(s) if s.as_map().is_some() => Some(s),
            Some(s) => {
                self.error(s.pos, format!("spec must be a mapping, found {}", s.type_name()));
                None
            }
            None if kind == Kind::Location => None,
            None => {
                self.error(doc.pos, format!("spec is required for a {kind}"));
                None
            }
        };
        let mut relations = Vec::new();
        let mut targets = Vec::new();
        if let Some(spec) = spec {
            let mut emit = RelationEmitter { source: &entity_ref, namespace: &namespace, relations: &mut relations };
            self.spec(kind, spec, &mut emit, &mut targets);
        }
        let body = self.substitute(doc, subst);
        if self.errors > 0 {
            return Document::Invalid { entity_ref: Some(entity_ref) };
        }
        let mut body = body;
        if let Some(meta) = body.get_mut("metadata").and_then(Json::as_object_mut) {
            meta.insert("namespace".to_owned(), Json::String(namespace));
        }
        relations.sort();
        relations.dedup();
        Document::Entity(Box::new(Entity { kind, entity_ref, body, relations, targets, pos: doc.pos }))
    }

    fn kind(&mut self, api_version: &str, kind_text: &str, doc: &Node) -> Option<Kind> {
        let kind_pos = doc.get("kind").map_or(doc.pos, |n| n.pos);
        let version_pos = doc.get("apiVersion").map_or(doc.pos, |n| n.pos);
        let known = [BACKSTAGE_API_VERSION, SCAFFOLDER_API_VERSION];
        if !known.iter().any(|v| v.eq_ignore_ascii_case(api_version)) {
            self.error(
                version_pos,
                format!("unsupported apiVersion `{api_version}`; the catalog reads {}", known.join(" and ")),
            );
            return None;
        }
        let Some(kind) = Kind::parse(kind_text) else {
            let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            self.error(kind_pos, format!("unknown kind `{kind_text}`; the catalog reads {}", kinds.join(", ")));
            return None;
        };
        if !api_version.eq_ignore_ascii_case(kind.api_version()) {
            self.error(version_pos, format!("a {kind} has apiVersion {}, not `{api_version}`", kind.api_version()));
            return None;
        }
        Some(kind)
    }

    fn required_str<'n>(&mut self, parent: &'n Node, field: &str, pos: Pos) -> Option<&'n str> {
        match parent.get(field) {
            None => {
                self.error(pos, format!("{field} is required"));
                None
            }
            Some(node) => match node.as_str() {
                Some("") => {
                    self.error(node.pos, format!("{field} must not be empty"));
                    None
                }
                Some(s) => Some(s),
                None => {
                    self.error(node.pos, format!("{field} must be a string, found {}", node.type_name()));
                    None
                }
            },
        }
    }

    fn optional_str<'n>(&mut self, parent: &'n Node, path: &str, field: &str) -> Option<&'n str> {
        let node = parent.get(field)?;
        match node.as_str() {
            Some(s) => Some(s),
            None if node.is_null() => None,
            None => {
                self.error(node.pos, format!("{path}.{field} must be a string, found {}", node.type_name()));
                None
            }
        }
    }

    /// A list of strings, each with its position.
    fn string_list<'n>(&mut self, parent: &'n Node, path: &str, field: &str, required: bool) -> Vec<(&'n str, Pos)> {
        let Some(node) = parent.get(field) else {
            if required {
                self.error(parent.pos, format!("{path}.{field} is required (it may be an empty list)"));
            }
            return Vec::new();
        };
        let Some(items) = node.as_seq() else {
            if !node.is_null() || required {
                self.error(node.pos, format!("{path}.{field} must be a list, found {}", node.type_name()));
            }
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(s) => out.push((s, item.pos)),
                None => {
                    self.error(item.pos, format!("{path}.{field}[{i}] must be a string, found {}", item.type_name()))
                }
            }
        }
        out
    }

    fn string_map(&mut self, parent: &Node, field: &str, check_value: Option<ValueCheck>) {
        let Some(node) = parent.get(field) else {
            return;
        };
        let Some(entries) = node.as_map() else {
            if !node.is_null() {
                self.error(node.pos, format!("metadata.{field} must be a mapping, found {}", node.type_name()));
            }
            return;
        };
        for (key, value) in entries {
            let key_text = key.key_text();
            if let Err(reason) = check_key(&key_text) {
                self.error(key.pos, format!("metadata.{field}: {reason}"));
            }
            match value.as_str() {
                Some(v) => {
                    if let Some(Err(reason)) = check_value.map(|check| check(v)) {
                        self.error(value.pos, format!("metadata.{field}.{key_text}: {reason}"));
                    }
                }
                None => self.error(
                    value.pos,
                    format!("metadata.{field}.{key_text} must be a string, found {}", value.type_name()),
                ),
            }
        }
    }

    fn metadata(&mut self, metadata: &Node) {
        self.optional_str(metadata, "metadata", "title");
        self.optional_str(metadata, "metadata", "description");
        self.string_map(metadata, "labels", Some(check_label_value));
        self.string_map(metadata, "annotations", None);
        for (tag, pos) in self.string_list(metadata, "metadata", "tags", false) {
            if let Err(reason) = check_tag(tag) {
                self.error(pos, format!("metadata.tags: {reason}"));
            }
        }
        if let Some(links) = metadata.get("links") {
            match links.as_seq() {
                Some(items) => {
                    for (i, link) in items.iter().enumerate() {
                        if link.as_map().is_none() {
                            self.error(link.pos, format!("metadata.links[{i}] must be a mapping with a url"));
                            continue;
                        }
                        let path = format!("metadata.links[{i}]");
                        if let Some(url) = self.required_str(link, "url", link.pos) {
                            let pos = link.get("url").map_or(link.pos, |n| n.pos);
                            if url::Url::parse(url).is_err() && !url.starts_with('/') {
                                self.error(pos, format!("{path}.url `{url}` is not a URL"));
                            }
                        }
                        for field in ["title", "icon", "type"] {
                            self.optional_str(link, &path, field);
                        }
                    }
                }
                None if links.is_null() => {}
                None => self.error(links.pos, format!("metadata.links must be a list, found {}", links.type_name())),
            }
        }
    }

    fn spec(&mut self, kind: Kind, spec: &Node, emit: &mut RelationEmitter<'_>, targets: &mut Vec<LocationTarget>) {
        let required = |fields: &[&'static str]| fields.to_vec();
        let required_fields = match kind {
            Kind::Component => required(&["type", "lifecycle", "owner"]),
            Kind::Api => required(&["type", "lifecycle", "owner"]),
            Kind::System | Kind::Domain => required(&["owner"]),
            Kind::Resource => required(&["type", "owner"]),
            Kind::Group | Kind::Template => required(&["type"]),
            Kind::User | Kind::Location => Vec::new(),
        };
        for field in required_fields {
            if let Some(node) = spec.get(field) {
                if node.as_str().is_none_or(str::is_empty) {
                    let found = if node.as_str().is_some() { "an empty string" } else { node.type_name() };
                    self.error(node.pos, format!("spec.{field} must be a non-empty string, found {found}"));
                }
            } else {
                self.error(spec.pos, format!("spec.{field} is required for a {kind}"));
            }
        }
        for field in ["system", "domain", "subcomponentOf", "subdomainOf", "parent", "presence", "target"] {
            self.optional_str(spec, "spec", field);
        }
        // The owner of every kind that has one: a Group unless the reference says otherwise.
        if let Some((owner, pos)) = spec.get("owner").and_then(|n| n.as_str().map(|s| (s, n.pos))) {
            self.relate(emit, owner, pos, "spec.owner", Some(Kind::Group), "ownedBy");
        }
        let one = |this: &mut Self, emit: &mut RelationEmitter<'_>, field: &str, kind: Kind, relation| {
            if let Some(node) = spec.get(field)
                && let Some(text) = node.as_str()
            {
                this.relate(emit, text, node.pos, &format!("spec.{field}"), Some(kind), relation);
            }
        };
        let many =
            |this: &mut Self, emit: &mut RelationEmitter<'_>, field: &str, kind: Option<Kind>, relation, need: bool| {
                for (text, pos) in this.string_list(spec, "spec", field, need) {
                    this.relate(emit, text, pos, &format!("spec.{field}"), kind, relation);
                }
            };
        match kind {
            Kind::Component => {
                one(self, emit, "system", Kind::System, "partOf");
                one(self, emit, "subcomponentOf", Kind::Component, "partOf");
                many(self, emit, "providesApis", Some(Kind::Api), "providesApi", false);
                many(self, emit, "consumesApis", Some(Kind::Api), "consumesApi", false);
                many(self, emit, "dependsOn", None, "dependsOn", false);
                many(self, emit, "dependencyOf", None, "dependencyOf", false);
            }
            Kind::Api => {
                one(self, emit, "system", Kind::System, "partOf");
                // Current Backstage leaves the definition out for API types described otherwise (MCP servers'
                // remotes, model servers' endpoints); when present it is text or a substitution.
                match spec.get("definition") {
                    None => {}
                    Some(node) if node.as_str().is_some() => {}
                    Some(node) if is_substitution(node) => {}
                    Some(node) => self.error(
                        node.pos,
                        format!("spec.definition must be a string or a $text substitution, found {}", node.type_name()),
                    ),
                }
            }
            Kind::Resource => {
                one(self, emit, "system", Kind::System, "partOf");
                many(self, emit, "dependsOn", None, "dependsOn", false);
                many(self, emit, "dependencyOf", None, "dependencyOf", false);
            }
            Kind::System => one(self, emit, "domain", Kind::Domain, "partOf"),
            Kind::Domain => one(self, emit, "subdomainOf", Kind::Domain, "partOf"),
            Kind::Group => {
                one(self, emit, "parent", Kind::Group, "childOf");
                many(self, emit, "children", Some(Kind::Group), "parentOf", true);
                many(self, emit, "members", Some(Kind::User), "hasMember", false);
                self.profile(spec);
            }
            Kind::User => {
                many(self, emit, "memberOf", Some(Kind::Group), "memberOf", true);
                self.profile(spec);
            }
            Kind::Location => {
                if let Some(t) = spec.get("type").and_then(Node::as_str)
                    && t != "file"
                {
                    let pos = spec.get("type").map_or(spec.pos, |n| n.pos);
                    self.problems.push(Problem::warning(
                        pos,
                        format!("Location type `{t}` is not read; only file locations (relative paths and globs) are"),
                    ));
                    return;
                }
                if let Some(node) = spec.get("target")
                    && let Some(text) = node.as_str()
                {
                    targets.push(LocationTarget { target: text.to_owned(), pos: node.pos });
                }
                for (text, pos) in self.string_list(spec, "spec", "targets", false) {
                    targets.push(LocationTarget { target: text.to_owned(), pos });
                }
                if let Some(node) = spec.get("presence")
                    && node.as_str().is_some_and(|p| p != "required" && p != "optional")
                {
                    self.error(node.pos, "spec.presence must be `required` or `optional`");
                }
            }
            Kind::Template => {}
        }
    }

    fn profile(&mut self, spec: &Node) {
        let Some(profile) = spec.get("profile") else {
            return;
        };
        if profile.as_map().is_none() {
            if !profile.is_null() {
                self.error(profile.pos, format!("spec.profile must be a mapping, found {}", profile.type_name()));
            }
            return;
        }
        for field in ["displayName", "email", "picture"] {
            self.optional_str(profile, "spec.profile", field);
        }
    }

    fn relate(
        &mut self,
        emit: &mut RelationEmitter<'_>,
        text: &str,
        pos: Pos,
        field: &str,
        default_kind: Option<Kind>,
        relation: &'static str,
    ) {
        match EntityRef::parse(text, default_kind, emit.namespace) {
            Ok(target) => emit.emit(relation, target),
            Err(reason) => self.error(pos, format!("{field}: {reason}")),
        }
    }

    /// The JSON form of the document with every substitution done; failures are problems at the placeholder.
    fn substitute(&mut self, node: &Node, subst: &mut dyn Substitutions) -> Json {
        match &node.value {
            Value::Seq(items) => Json::Array(items.iter().map(|item| self.substitute(item, subst)).collect()),
            Value::Map(entries) => {
                if let Some((directive, target)) = substitution(node) {
                    return match target.as_str().map(|t| subst.resolve(directive, t)) {
                        Some(Ok(Substituted::Value(value))) => value,
                        Some(Ok(Substituted::Kept(warning))) => {
                            self.problems.push(Problem::warning(target.pos, warning));
                            node.to_json()
                        }
                        Some(Err(reason)) => {
                            self.error(target.pos, reason);
                            node.to_json()
                        }
                        None => {
                            self.error(
                                target.pos,
                                format!("{directive} takes a path or URL, found {}", target.type_name()),
                            );
                            node.to_json()
                        }
                    };
                }
                let mut out = Map::with_capacity(entries.len());
                for (key, value) in entries {
                    out.insert(key.key_text(), self.substitute(value, subst));
                }
                Json::Object(out)
            }
            _ => node.to_json(),
        }
    }
}

fn substitution(node: &Node) -> Option<(&'static str, &Node)> {
    let [(key, target)] = node.as_map()? else {
        return None;
    };
    let directive = SUBSTITUTIONS.into_iter().find(|d| key.as_str() == Some(*d))?;
    Some((directive, target))
}

fn is_substitution(node: &Node) -> bool {
    substitution(node).is_some()
}

struct RelationEmitter<'a> {
    source: &'a EntityRef,
    namespace: &'a str,
    relations: &'a mut Vec<Relation>,
}

impl RelationEmitter<'_> {
    /// Records the relation and its inverse, as Backstage's processors do.
    fn emit(&mut self, relation: &'static str, target: EntityRef) {
        if let Some(inverse) = inverse_of(relation) {
            self.relations.push(Relation { source: target.clone(), relation: inverse, target: self.source.clone() });
        }
        self.relations.push(Relation { source: self.source.clone(), relation, target });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, parse_documents};

    struct NoSubstitutions;
    impl Substitutions for NoSubstitutions {
        fn resolve(&mut self, directive: &str, target: &str) -> Result<Substituted, String> {
            Ok(Substituted::Kept(format!("{directive} {target} not read in tests")))
        }
    }

    fn read(text: &str) -> (Document, Vec<Problem>) {
        let docs = parse_documents(text, Limits::default()).expect("yaml");
        let mut problems = Vec::new();
        let doc = read_document(&docs[0], &mut NoSubstitutions, &mut problems);
        (doc, problems)
    }

    fn entity(text: &str) -> Entity {
        match read(text) {
            (Document::Entity(e), problems) => {
                assert!(problems.iter().all(|p| !p.is_error()), "{problems:?}");
                *e
            }
            (other, problems) => panic!("expected an entity, got {other:?} with {problems:?}"),
        }
    }

    const COMPONENT: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: checkout\n  \
                             tags: [rust, web]\nspec:\n  type: service\n  lifecycle: production\n  owner: payments\n  \
                             system: shop\n  dependsOn: ['resource:orders-db']\n  providesApis: [checkout-api]\n";

    #[test]
    fn component_relations_in_both_directions() {
        let e = entity(COMPONENT);
        assert_eq!(e.entity_ref.to_string(), "component:default/checkout");
        let rels: Vec<String> =
            e.relations.iter().map(|r| format!("{} {} {}", r.source, r.relation, r.target)).collect();
        for expected in [
            "component:default/checkout ownedBy group:default/payments",
            "group:default/payments ownerOf component:default/checkout",
            "component:default/checkout partOf system:default/shop",
            "system:default/shop hasPart component:default/checkout",
            "component:default/checkout dependsOn resource:default/orders-db",
            "resource:default/orders-db dependencyOf component:default/checkout",
            "component:default/checkout providesApi api:default/checkout-api",
            "api:default/checkout-api apiProvidedBy component:default/checkout",
        ] {
            assert!(rels.contains(&expected.to_owned()), "missing {expected} in {rels:#?}");
        }
        assert_eq!(rels.len(), 8);
        assert_eq!(e.owner().map(ToString::to_string).as_deref(), Some("group:default/payments"));
        assert_eq!(e.tags(), vec!["rust", "web"]);
        assert_eq!(e.body["metadata"]["namespace"], "default");
    }

    #[test]
    fn missing_required_fields_name_the_field_and_line() {
        let (doc, problems) =
            read("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\nspec:\n  type: service\n");
        assert!(matches!(doc, Document::Invalid { entity_ref: Some(_) }));
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(messages.contains(&"6:3: spec.lifecycle is required for a Component".to_owned()), "{messages:?}");
        assert!(messages.contains(&"6:3: spec.owner is required for a Component".to_owned()), "{messages:?}");
        assert!(problems.iter().all(|p| p.entity_ref.as_deref() == Some("component:default/x")));
    }

    #[test]
    fn bad_names_tags_and_kinds_are_errors() {
        let (_, problems) = read(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: bad--name\n  tags: [Rust]\n\
             spec: {type: service, lifecycle: x, owner: y}\n",
        );
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(messages.iter().any(|m| m.starts_with("4:9: metadata.name:")), "{messages:?}");
        assert!(messages.iter().any(|m| m.starts_with("5:10: metadata.tags: tag `Rust`")), "{messages:?}");
        let (doc, problems) = read("apiVersion: backstage.io/v1alpha1\nkind: Widget\nmetadata: {name: w}\nspec: {}\n");
        assert!(matches!(doc, Document::Invalid { entity_ref: None }));
        assert!(problems[0].message.starts_with("unknown kind `Widget`"));
    }

    #[test]
    fn depends_on_needs_a_kind() {
        let (_, problems) = read(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}\n\
             spec: {type: service, lifecycle: x, owner: y, dependsOn: [orders-db]}\n",
        );
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("needs a kind"), "{problems:?}");
    }

    #[test]
    fn groups_and_users() {
        let group = entity(
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-a, namespace: dev}\n\
             spec: {type: team, parent: org, children: [], members: [alice], profile: {displayName: Team A}}\n",
        );
        assert_eq!(group.display_name(), "Team A");
        let rels: Vec<String> =
            group.relations.iter().map(|r| format!("{} {} {}", r.source, r.relation, r.target)).collect();
        assert!(rels.contains(&"group:dev/team-a childOf group:dev/org".to_owned()));
        assert!(rels.contains(&"group:dev/team-a hasMember user:dev/alice".to_owned()));
        let (_, problems) = read("apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: bob}\nspec: {}\n");
        assert!(problems[0].message.contains("spec.memberOf is required"), "{problems:?}");
    }

    #[test]
    fn location_targets_and_non_descriptors() {
        let loc = entity(
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: all}\nspec:\n  targets:\n    - ./a.yaml\n    - ./b/*.yaml\n",
        );
        assert_eq!(loc.targets.len(), 2);
        assert_eq!(loc.targets[1].target, "./b/*.yaml");
        assert_eq!(loc.targets[1].pos, Pos::new(7, 7));
        assert!(matches!(read("version: 3\nservices: {}\n").0, Document::Skipped));
    }

    #[test]
    fn unsupported_api_version() {
        let (_, problems) = read("apiVersion: backstage.io/v2\nkind: Component\nmetadata: {name: a}\nspec: {}\n");
        assert!(problems[0].message.starts_with("unsupported apiVersion `backstage.io/v2`"), "{problems:?}");
        assert_eq!((problems[0].line, problems[0].col), (1, 13));
    }

    #[test]
    fn substitution_warning_keeps_entity() {
        let (doc, problems) = read(
            "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: a}\n\
             spec: {type: openapi, lifecycle: x, owner: y, definition: {$text: 'https://example.com/a.yaml'}}\n",
        );
        assert!(matches!(doc, Document::Entity(_)));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].severity, Severity::Warning);
    }
}
