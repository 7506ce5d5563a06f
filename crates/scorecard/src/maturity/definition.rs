//! Scorecards as written: `apiVersion: portolan.dev/v1`, `kind: Scorecard` documents found in catalog locations,
//! read from the positioned YAML tree with every problem at its line and column and named by its field path
//! (`spec.rules[2].fraction`), the way descriptors are. The format is described in `docs/formats.md`.
//!
//! - [`read_scorecard`] reads one document; a scorecard with errors is refused (`None`), with its problems.
//! - [`ScorecardFormat`] hands the documents to catalog ingestion and `portolan validate` (a name defined in two
//!   places is an error on the second).
//! - [`scorecards_from_documents`] reads the file texts ingestion kept under [`FORMAT`] into the scorecards to
//!   evaluate: those with errors are left out, and a name keeps its first definition by path order.
//!
//! The choices the format makes:
//!
//! * A rule is a check with its parameters beside `check` (`check: hasLink`, `type: runbook`), or `all:`/`any:` of
//!   such conditions, nested at most [`MAX_NESTING`] deep. Unknown fields are errors everywhere under `spec` (a typo
//!   would otherwise change what is measured); unknown `metadata` fields are warnings.
//! * `spec.appliesTo` lists are compared without case; a single string counts as a list of one. Owners are entity
//!   references whose kind defaults to Group and namespace to `default` (`payments` → `group:default/payments`).
//!   Without `appliesTo.kind` the scorecard applies to every kind, Groups and Users included: a warning says so.
//! * Level names, rule ids and scorecard names are unique without case. A level that no rule uses gets a warning:
//!   it is reached by every entity that reaches the level below it.

use std::collections::HashMap;
use std::path::Path;

use catalog::descriptor::Problem;
use catalog::entity::{DEFAULT_NAMESPACE, EntityRef, Kind, check_key, check_kind, check_name, check_tag};
use catalog::fields::{FieldReader, join, present};
use catalog::ingest::{FileProblem, ForeignFormat};
use catalog::yaml::{Limits, Node, Pos, Value, parse_documents};

use super::model::{Check, Condition, Rule, Scorecard, Selector};

/// The `apiVersion` of scorecards.
pub const API_VERSION: &str = "portolan.dev/v1";
/// The `kind` of scorecards.
pub const KIND: &str = "Scorecard";
/// The format name under which ingestion keeps files holding scorecards (`store::sources::documents`).
pub const FORMAT: &str = "scorecard";
/// How deep `all` and `any` may nest in one rule.
pub const MAX_NESTING: usize = 8;

/// Every check by the name files give it, with the parameters it takes.
pub const CHECKS: [(&str, &[&str]); 13] = [
    ("ownerIsGroup", &[]),
    ("hasDescription", &[]),
    ("hasLink", &["type"]),
    ("hasAnnotation", &["key"]),
    ("hasTag", &["tag"]),
    ("lifecycleIn", &["lifecycles"]),
    ("fromGoldenPath", &[]),
    ("templateUpToDate", &["maxBehind"]),
    ("hasSlo", &[]),
    ("slosMeetTarget", &[]),
    ("budgetAbove", &["fraction"]),
    ("noPageAlert", &[]),
    ("dependenciesNotDeprecated", &[]),
];

const TOP_FIELDS: [&str; 4] = ["apiVersion", "kind", "metadata", "spec"];
const METADATA_FIELDS: [&str; 3] = ["name", "title", "description"];
const SPEC_FIELDS: [&str; 3] = ["appliesTo", "levels", "rules"];
const SELECTOR_FIELDS: [&str; 5] = ["kind", "type", "lifecycle", "tag", "owner"];
const RULE_FIELDS: [&str; 3] = ["id", "title", "level"];
const FORMS: [&str; 3] = ["check", "all", "any"];

impl Check {
    /// The name files give the check (`hasLink`).
    pub fn name(&self) -> &'static str {
        match self {
            Check::OwnerIsGroup => "ownerIsGroup",
            Check::HasDescription => "hasDescription",
            Check::HasLink { .. } => "hasLink",
            Check::HasAnnotation { .. } => "hasAnnotation",
            Check::HasTag { .. } => "hasTag",
            Check::LifecycleIn { .. } => "lifecycleIn",
            Check::FromGoldenPath => "fromGoldenPath",
            Check::TemplateWithin { .. } => "templateUpToDate",
            Check::HasSlo => "hasSlo",
            Check::SlosMeetTarget => "slosMeetTarget",
            Check::BudgetAbove { .. } => "budgetAbove",
            Check::NoPageAlert => "noPageAlert",
            Check::DependenciesNotDeprecated => "dependenciesNotDeprecated",
        }
    }

    /// What the check asks, as a sentence: the title of a rule that gives none.
    pub fn sentence(&self) -> String {
        match self {
            Check::OwnerIsGroup => "Owned by a Group of the catalog".to_owned(),
            Check::HasDescription => "Has a description".to_owned(),
            Check::HasLink { link_type } => format!("Has a link of type {link_type}"),
            Check::HasAnnotation { key } => format!("Has the annotation {key}"),
            Check::HasTag { tag } => format!("Tagged {tag}"),
            Check::LifecycleIn { lifecycles } => format!("Lifecycle is {}", or_list(lifecycles)),
            Check::FromGoldenPath => "Made from a golden-path template".to_owned(),
            Check::TemplateWithin { max_behind: 0 } => "On the latest version of its golden-path template".to_owned(),
            Check::TemplateWithin { max_behind: 1 } => "At most 1 version behind its golden-path template".to_owned(),
            Check::TemplateWithin { max_behind } => {
                format!("At most {max_behind} versions behind its golden-path template")
            }
            Check::HasSlo => "Has an SLO".to_owned(),
            Check::SlosMeetTarget => "Every SLO meets its objective".to_owned(),
            Check::BudgetAbove { fraction } => {
                format!("Every SLO has more than {} of its error budget left", percent(*fraction))
            }
            Check::NoPageAlert => "No page alert firing on its SLOs".to_owned(),
            Check::DependenciesNotDeprecated => "Depends on nothing deprecated".to_owned(),
        }
    }
}

/// What a condition asks, as a sentence: `All of: has a description; has a link of type runbook`.
pub fn describe(condition: &Condition) -> String {
    let text = describe_nested(condition, false);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

fn describe_nested(condition: &Condition, nested: bool) -> String {
    let (label, conditions) = match condition {
        Condition::Check(check) => return lower_first(&check.sentence()),
        Condition::All(conditions) => ("all of", conditions),
        Condition::Any(conditions) => ("one of", conditions),
    };
    let parts: Vec<String> = conditions.iter().map(|c| describe_nested(c, true)).collect();
    let text = format!("{label}: {}", parts.join("; "));
    if nested { format!("({text})") } else { text }
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `a`, `a or b`, `a, b or c`.
pub(crate) fn or_list(items: &[String]) -> String {
    joined(items, "or")
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn and_list(items: &[&str]) -> String {
    let items: Vec<String> = items.iter().map(|s| (*s).to_owned()).collect();
    joined(&items, "and")
}

fn joined(items: &[String], word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {word} {last}", rest.join(", ")),
    }
}

/// A fraction as people read it: `0.25` is `25 %`, `0.1234` is `12.3 %`.
pub(crate) fn percent(fraction: f64) -> String {
    let value = fraction * 100.0 + 0.0;
    if (value - value.round()).abs() < 0.05 { format!("{:.0} %", value.round() + 0.0) } else { format!("{value:.1} %") }
}

/// Reads one `Scorecard` document. The scorecard is `None` when the document has errors; the problems (errors and
/// warnings) are returned either way.
pub fn read_scorecard(doc: &Node) -> (Option<Scorecard>, Vec<Problem>) {
    let mut reader = FieldReader::default();
    let card = Reading { r: &mut reader }.document(doc);
    let card = card.filter(|_| reader.errors() == 0);
    (card, reader.into_problems())
}

/// Whether a document is a scorecard: `apiVersion: portolan.dev/v1` and `kind: Scorecard` (without case).
pub fn is_scorecard_document(doc: &Node) -> bool {
    let text = |key: &str| doc.get(key).and_then(Node::as_str).map(str::trim);
    text("apiVersion").is_some_and(|v| v.eq_ignore_ascii_case(API_VERSION))
        && text("kind").is_some_and(|k| k.eq_ignore_ascii_case(KIND))
}

/// Scorecards found in catalog locations: checked by ingestion and `portolan validate` like descriptors.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScorecardFormat;

impl ForeignFormat for ScorecardFormat {
    fn name(&self) -> &'static str {
        FORMAT
    }

    fn claims(&self, doc: &Node) -> bool {
        is_scorecard_document(doc)
    }

    fn check(&self, _file: &Path, docs: &[Node]) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut names = Names::default();
        for doc in docs.iter().filter(|doc| is_scorecard_document(doc)) {
            problems.extend(read_scorecard(doc).1);
            if let Some((name, pos)) = name_of(doc)
                && let Some(duplicate) = names.claim("", name, pos)
            {
                problems.push(duplicate.problem);
            }
        }
        problems
    }

    /// A scorecard name defined in two files (or twice in one), reported on each definition after the first by
    /// path order.
    fn check_together(
        &self,
        files: &[(String, Vec<Node>)],
        _entities: &std::collections::HashSet<String>,
    ) -> Vec<FileProblem> {
        let mut order: Vec<&(String, Vec<Node>)> = files.iter().collect();
        order.sort_by(|a, b| a.0.cmp(&b.0));
        let mut names = Names::default();
        let mut problems = Vec::new();
        for (path, docs) in order {
            for doc in docs.iter().filter(|doc| is_scorecard_document(doc)) {
                if let Some((name, pos)) = name_of(doc) {
                    problems.extend(names.claim(path, name, pos));
                }
            }
        }
        problems
    }
}

/// Reads the scorecards of the files ingestion kept (`(path, text)`, as `store::sources::documents` gives them
/// under [`FORMAT`]). A scorecard with errors is left out; a name defined twice keeps its first definition, by path
/// order and then by order in the file, even when that one has errors (so a broken edit does not hand its name to
/// another file). Each scorecard comes with its path; the problems are those of every file, warnings included.
pub fn scorecards_from_documents(files: &[(String, String)]) -> (Vec<(Scorecard, String)>, Vec<FileProblem>) {
    let mut order: Vec<&(String, String)> = files.iter().collect();
    order.sort_by(|a, b| a.0.cmp(&b.0));
    let mut names = Names::default();
    let mut cards = Vec::new();
    let mut problems = Vec::new();
    for (path, text) in order {
        let docs = match parse_documents(text, Limits::default()) {
            Ok(docs) => docs,
            Err(e) => {
                problems.push(FileProblem { path: path.clone(), problem: Problem::error(e.pos, e.message) });
                continue;
            }
        };
        for doc in docs.iter().filter(|doc| is_scorecard_document(doc)) {
            let (card, found) = read_scorecard(doc);
            problems.extend(found.into_iter().map(|problem| FileProblem { path: path.clone(), problem }));
            let duplicate = name_of(doc).and_then(|(name, pos)| names.claim(path, name, pos));
            match (card, duplicate) {
                (_, Some(duplicate)) => problems.push(duplicate),
                (Some(card), None) => cards.push((card, path.clone())),
                (None, None) => {}
            }
        }
    }
    (cards, problems)
}

/// A document's `metadata.name`, when it is a valid name, and where it is written.
fn name_of(doc: &Node) -> Option<(&str, Pos)> {
    let node = doc.get("metadata")?.get("name")?;
    let name = node.as_str()?.trim();
    check_name(name).ok()?;
    Some((name, node.pos))
}

/// The scorecard names seen so far (without case), with where each was first defined.
#[derive(Default)]
struct Names {
    first: HashMap<String, (String, Pos)>,
}

impl Names {
    /// Claims `name` for the definition at `path` and `pos`; the error on it when the name is taken.
    fn claim(&mut self, path: &str, name: &str, pos: Pos) -> Option<FileProblem> {
        let key = name.to_ascii_lowercase();
        if let Some((first_path, first_pos)) = self.first.get(&key) {
            let message = if first_path == path {
                format!(
                    "scorecard `{name}` is defined twice in this file (first at {first_pos}); this definition is \
                     ignored"
                )
            } else {
                format!("scorecard `{name}` is already defined in {first_path}:{first_pos}; this definition is ignored")
            };
            return Some(FileProblem { path: path.to_owned(), problem: Problem::error(pos, message) });
        }
        self.first.insert(key, (path.to_owned(), pos));
        None
    }
}

/// Reads one document, reporting into a [`FieldReader`].
struct Reading<'a> {
    r: &'a mut FieldReader,
}

impl Reading<'_> {
    fn document(&mut self, doc: &Node) -> Option<Scorecard> {
        if doc.as_map().is_none() {
            self.r.error(doc.pos, format!("a Scorecard must be a mapping, found {}", doc.type_name()));
            return None;
        }
        self.unknown_fields(doc, "", &TOP_FIELDS, "a Scorecard has apiVersion, kind, metadata and spec", true);
        if let Some(version) = self.r.required_string(doc, "", "apiVersion")
            && !version.trim().eq_ignore_ascii_case(API_VERSION)
        {
            let pos = pos_of(doc, "apiVersion");
            self.r.error(pos, format!("apiVersion must be {API_VERSION} for a Scorecard, not `{version}`"));
        }
        if let Some(kind) = self.r.required_string(doc, "", "kind")
            && !kind.trim().eq_ignore_ascii_case(KIND)
        {
            self.r.error(pos_of(doc, "kind"), format!("kind must be {KIND}, not `{kind}`"));
        }

        let metadata = self.r.required_mapping(doc, "", "metadata");
        let name = metadata.and_then(|m| self.name(m));
        let title = metadata.and_then(|m| self.text(m, "metadata", "title"));
        let description = metadata.and_then(|m| self.text(m, "metadata", "description"));
        if let Some(metadata) = metadata {
            let hint = "a Scorecard's metadata has name, title and description";
            self.unknown_fields(metadata, "metadata", &METADATA_FIELDS, hint, false);
        }

        let spec = self.r.required_mapping(doc, "", "spec");
        let (applies_to, levels, rules) = match spec {
            Some(spec) => {
                let hint = "spec has appliesTo, levels and rules";
                self.unknown_fields(spec, "spec", &SPEC_FIELDS, hint, true);
                let applies_to = self.selector(spec);
                let levels = self.levels(spec);
                let rules = self.rules(spec, levels.as_deref());
                (applies_to, levels, rules)
            }
            None => (Selector::default(), None, None),
        };
        if let (Some(levels), Some(rules)) = (&levels, &rules) {
            self.levels_without_rules(levels, rules);
        }
        let ((name, pos), levels, rules) = (name?, levels?, rules?);
        Some(Scorecard {
            name,
            title,
            description,
            applies_to,
            levels: levels.into_iter().map(|(level, _)| level).collect(),
            rules,
            pos,
        })
    }

    fn name(&mut self, metadata: &Node) -> Option<(String, Pos)> {
        let name = self.r.required_string(metadata, "metadata", "name")?.trim();
        let pos = pos_of(metadata, "name");
        if let Err(reason) = check_name(name) {
            self.r.error(pos, format!("metadata.name: {reason}"));
            return None;
        }
        Some((name.to_owned(), pos))
    }

    /// An optional non-empty string, trimmed.
    fn text(&mut self, parent: &Node, path: &str, field: &str) -> Option<String> {
        self.r.optional_string(parent, path, field).map(|text| text.trim().to_owned())
    }

    /// Reports each key of `node` not in `known`: an error, or a warning when `strict` is false.
    fn unknown_fields(&mut self, node: &Node, path: &str, known: &[&str], hint: &str, strict: bool) {
        for (key, _) in node.as_map().unwrap_or_default() {
            let text = key.key_text();
            if known.contains(&text.as_str()) {
                continue;
            }
            let suggestion = suggest(&text, known).map(|s| format!(" (did you mean {s}?)")).unwrap_or_default();
            let message = if strict {
                format!("{} is not a known field{suggestion}; {hint}", join(path, &text))
            } else {
                format!("{} is not read{suggestion}; {hint}", join(path, &text))
            };
            if strict {
                self.r.error(key.pos, message);
            } else {
                self.r.warning(key.pos, message);
            }
        }
    }

    /// A string or a list of strings, each non-empty and trimmed, with its position.
    fn strings(&mut self, node: &Node, path: &str) -> Option<Vec<(String, Pos)>> {
        let items: Vec<(&Node, String)> = match &node.value {
            Value::Str(_) => vec![(node, path.to_owned())],
            Value::Seq(items) => items.iter().enumerate().map(|(i, item)| (item, format!("{path}[{i}]"))).collect(),
            _ => {
                self.r.error(node.pos, format!("{path} must be a list of strings, found {}", node.type_name()));
                return None;
            }
        };
        let before = self.r.errors();
        let mut out = Vec::with_capacity(items.len());
        for (item, item_path) in items {
            match item.as_str().map(str::trim) {
                Some("") => self.r.error(item.pos, format!("{item_path} must not be empty")),
                Some(text) => out.push((text.to_owned(), item.pos)),
                None => self.r.error(item.pos, format!("{item_path} must be a string, found {}", item.type_name())),
            }
        }
        (self.r.errors() == before).then_some(out)
    }

    fn selector(&mut self, spec: &Node) -> Selector {
        let Some(node) = present(spec, "appliesTo") else {
            self.r.warning(
                spec.pos,
                "spec.appliesTo is not given: the scorecard applies to every entity, Groups and Users included",
            );
            return Selector::default();
        };
        if self.r.mapping(node, "spec.appliesTo").is_none() {
            return Selector::default();
        }
        let path = "spec.appliesTo";
        let hint = "appliesTo has kind, type, lifecycle, tag and owner";
        self.unknown_fields(node, path, &SELECTOR_FIELDS, hint, true);
        let kinds = self.selector_values(node, "kind", |text| check_kind(text).map(|()| text.to_ascii_lowercase()));
        let types = self.selector_values(node, "type", |text| Ok(text.to_ascii_lowercase()));
        let lifecycles = self.selector_values(node, "lifecycle", |text| Ok(text.to_ascii_lowercase()));
        let tags = self.selector_values(node, "tag", |text| {
            let tag = text.to_ascii_lowercase();
            check_tag(&tag).map(|()| tag)
        });
        let owners = self.selector_values(node, "owner", |text| {
            EntityRef::parse(text, Some(Kind::Group), DEFAULT_NAMESPACE)
                .map(|owner| owner.to_string())
                .map_err(|e| e.to_string())
        });
        if kinds.is_empty() {
            self.r.warning(
                node.pos,
                "spec.appliesTo.kind is not given: the scorecard applies to entities of every kind, Groups and \
                 Users included",
            );
        }
        Selector { kinds, types, lifecycles, tags, owners }
    }

    /// The values of one `appliesTo` list, each normalised (or refused) by `normalise`, without repeats.
    fn selector_values(
        &mut self,
        node: &Node,
        field: &str,
        normalise: impl Fn(&str) -> Result<String, String>,
    ) -> Vec<String> {
        let Some(list) = present(node, field) else {
            return Vec::new();
        };
        let path = join("spec.appliesTo", field);
        let mut out: Vec<String> = Vec::new();
        for (text, pos) in self.strings(list, &path).unwrap_or_default() {
            match normalise(&text) {
                Ok(value) if !out.contains(&value) => out.push(value),
                Ok(_) => {}
                Err(reason) => self.r.error(pos, format!("{path}: {reason}")),
            }
        }
        out
    }

    /// `spec.levels`: at least one, each a non-empty string, unique without case.
    fn levels(&mut self, spec: &Node) -> Option<Vec<(String, Pos)>> {
        let node = self.r.required(spec, "spec", "levels")?;
        let Some(items) = node.as_seq() else {
            self.r.error(node.pos, format!("spec.levels must be a list of level names, found {}", node.type_name()));
            return None;
        };
        if items.is_empty() {
            self.r.error(node.pos, "spec.levels must name at least one level, lowest first (Bronze, Silver, Gold)");
            return None;
        }
        let levels = self.strings(node, "spec.levels")?;
        let before = self.r.errors();
        for (i, (level, pos)) in levels.iter().enumerate() {
            if let Some((_, first)) = levels[..i].iter().find(|(other, _)| other.eq_ignore_ascii_case(level)) {
                self.r.error(*pos, format!("spec.levels[{i}] `{level}` is listed twice (first at {first})"));
            }
        }
        (self.r.errors() == before).then_some(levels)
    }

    /// `spec.rules`: at least one; `levels` is `None` when they could not be read (levels are then not checked).
    fn rules(&mut self, spec: &Node, levels: Option<&[(String, Pos)]>) -> Option<Vec<Rule>> {
        let node = self.r.required(spec, "spec", "rules")?;
        let items = self.r.list(node, "spec.rules")?;
        if items.is_empty() {
            self.r.error(node.pos, "spec.rules must hold at least one rule");
            return None;
        }
        let before = self.r.errors();
        let mut ids: HashMap<String, Pos> = HashMap::new();
        let mut rules = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("spec.rules[{i}]");
            if self.r.mapping(item, &path).is_none() {
                continue;
            }
            if let Some(rule) = self.rule(item, &path, levels, &mut ids) {
                rules.push(rule);
            }
        }
        (self.r.errors() == before).then_some(rules)
    }

    fn rule(
        &mut self,
        item: &Node,
        path: &str,
        levels: Option<&[(String, Pos)]>,
        ids: &mut HashMap<String, Pos>,
    ) -> Option<Rule> {
        let id = self.r.required_string(item, path, "id").map(str::trim);
        let id = id.and_then(|id| {
            let pos = pos_of(item, "id");
            if let Err(reason) = check_name(id) {
                self.r.error(pos, format!("{path}.id: {reason}"));
                return None;
            }
            if let Some(first) = ids.get(&id.to_ascii_lowercase()) {
                self.r.error(pos, format!("{path}.id `{id}` is already the id of the rule at {first}"));
                return None;
            }
            ids.insert(id.to_ascii_lowercase(), pos);
            Some(id.to_owned())
        });
        let title = self.text(item, path, "title");
        let level = self.r.required_string(item, path, "level").map(str::trim);
        let level = match (level, levels) {
            (Some(level), Some(levels)) => {
                let index = levels.iter().position(|(name, _)| name.eq_ignore_ascii_case(level));
                if index.is_none() {
                    let names: Vec<String> = levels.iter().map(|(name, _)| name.clone()).collect();
                    self.r.error(
                        pos_of(item, "level"),
                        format!("{path}.level `{level}` is not one of spec.levels ({})", names.join(", ")),
                    );
                }
                index
            }
            // The levels have errors of their own: the rule's level cannot be told.
            _ => None,
        };
        let condition = self.condition(item, path, 0, &RULE_FIELDS, "a rule");
        let (id, level, condition) = (id?, level?, condition?);
        let title = title.unwrap_or_else(|| describe(&condition));
        Some(Rule { id, title, level, condition, pos: item.pos })
    }

    /// A check with its parameters, or `all`/`any` of conditions; `nesting` counts the `all`/`any` around it and
    /// `extra` the other fields its mapping may hold (a rule's id, title and level).
    fn condition(&mut self, node: &Node, path: &str, nesting: usize, extra: &[&str], what: &str) -> Option<Condition> {
        let forms: Vec<&str> = FORMS.into_iter().filter(|form| node.get(form).is_some()).collect();
        let form = match forms.as_slice() {
            [form] => *form,
            [] => {
                let known: Vec<&str> = extra.iter().chain(&FORMS).copied().collect();
                let hint = format!("{what} has {}", and_list(&known));
                self.unknown_fields(node, path, &known, &hint, true);
                self.r.error(node.pos, format!("{path} needs check, all or any"));
                return None;
            }
            [first, second, ..] => {
                self.r.error(
                    key_pos(node, second),
                    format!("{path} has both {first} and {second}; give one of check, all or any"),
                );
                return None;
            }
        };
        let form_path = join(path, form);
        let Some(value) = present(node, form) else {
            self.r.error(key_pos(node, form), format!("{form_path} must not be empty"));
            return None;
        };
        if form == "check" {
            let name = self.r.string(value, &form_path)?.trim();
            let Some((name, params)) = CHECKS.iter().find(|(known, _)| *known == name) else {
                let names: Vec<&str> = CHECKS.iter().map(|(known, _)| *known).collect();
                let suggestion = suggest(name, &names).map(|s| format!(" (did you mean {s}?)")).unwrap_or_default();
                self.r.error(
                    value.pos,
                    format!(
                        "{form_path} `{name}` is not a known check{suggestion}; the checks are {}",
                        names.join(", ")
                    ),
                );
                return None;
            };
            let known: Vec<&str> = extra.iter().chain(&["check"]).chain(params.iter()).copied().collect();
            let hint = format!("{what} checking {name} has {}", and_list(&known));
            let before = self.r.errors();
            self.unknown_fields(node, path, &known, &hint, true);
            let check = self.check(node, path, name);
            return check.filter(|_| self.r.errors() == before).map(Condition::Check);
        }

        let known: Vec<&str> = extra.iter().chain(&[form]).copied().collect();
        let hint = format!("{what} with {form} has {}", and_list(&known));
        self.unknown_fields(node, path, &known, &hint, true);
        if nesting + 1 > MAX_NESTING {
            self.r.error(value.pos, format!("{form_path}: all and any nest at most {MAX_NESTING} deep"));
            return None;
        }
        let items = self.r.list(value, &form_path)?;
        if items.is_empty() {
            self.r.error(value.pos, format!("{form_path} must hold at least one condition"));
            return None;
        }
        let before = self.r.errors();
        let mut conditions = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{form_path}[{i}]");
            if self.r.mapping(item, &item_path).is_none() {
                continue;
            }
            conditions.extend(self.condition(item, &item_path, nesting + 1, &[], "a condition"));
        }
        if self.r.errors() != before {
            return None;
        }
        Some(if form == "all" { Condition::All(conditions) } else { Condition::Any(conditions) })
    }

    /// The check `name` (one of [`CHECKS`]) with its parameters read from `node`.
    fn check(&mut self, node: &Node, path: &str, name: &str) -> Option<Check> {
        Some(match name {
            "ownerIsGroup" => Check::OwnerIsGroup,
            "hasDescription" => Check::HasDescription,
            "hasLink" => {
                let link_type = self.param_string(node, path, name, "type", "runbook")?;
                Check::HasLink { link_type }
            }
            "hasAnnotation" => {
                let key = self.param_string(node, path, name, "key", "backstage.io/techdocs-ref")?;
                if let Err(reason) = check_key(&key) {
                    self.r.error(pos_of(node, "key"), format!("{path}.key: {reason}"));
                    return None;
                }
                Check::HasAnnotation { key }
            }
            "hasTag" => {
                let tag = self.param_string(node, path, name, "tag", "pci")?.to_ascii_lowercase();
                if let Err(reason) = check_tag(&tag) {
                    self.r.error(pos_of(node, "tag"), format!("{path}.tag: {reason}"));
                    return None;
                }
                Check::HasTag { tag }
            }
            "lifecycleIn" => {
                let field_path = join(path, "lifecycles");
                let Some(list) = present(node, "lifecycles") else {
                    self.r.error(
                        node.pos,
                        format!(
                            "{field_path} is required: lifecycleIn needs the lifecycles it accepts, such as \
                                 `lifecycles: [production]`"
                        ),
                    );
                    return None;
                };
                let mut lifecycles: Vec<String> = Vec::new();
                for (text, _) in self.strings(list, &field_path)? {
                    let lifecycle = text.to_ascii_lowercase();
                    if !lifecycles.contains(&lifecycle) {
                        lifecycles.push(lifecycle);
                    }
                }
                if lifecycles.is_empty() {
                    self.r.error(list.pos, format!("{field_path} must name at least one lifecycle"));
                    return None;
                }
                Check::LifecycleIn { lifecycles }
            }
            "fromGoldenPath" => Check::FromGoldenPath,
            "templateUpToDate" => Check::TemplateWithin { max_behind: self.max_behind(node, path)? },
            "hasSlo" => Check::HasSlo,
            "slosMeetTarget" => Check::SlosMeetTarget,
            "budgetAbove" => Check::BudgetAbove { fraction: self.fraction(node, path)? },
            "noPageAlert" => Check::NoPageAlert,
            "dependenciesNotDeprecated" => Check::DependenciesNotDeprecated,
            _ => return None,
        })
    }

    /// A required, non-empty string parameter, trimmed.
    fn param_string(&mut self, node: &Node, path: &str, check: &str, param: &str, example: &str) -> Option<String> {
        let field_path = join(path, param);
        let Some(value) = present(node, param) else {
            self.r.error(node.pos, format!("{field_path} is required: {check} needs it, such as `{param}: {example}`"));
            return None;
        };
        match self.r.string(value, &field_path)?.trim() {
            "" => {
                self.r.error(value.pos, format!("{field_path} must not be empty"));
                None
            }
            text => Some(text.to_owned()),
        }
    }

    /// `maxBehind`: a whole number of versions, at least 0; 0 when not given.
    fn max_behind(&mut self, node: &Node, path: &str) -> Option<usize> {
        let Some(value) = present(node, "maxBehind") else {
            return Some(0);
        };
        let field_path = join(path, "maxBehind");
        match value.value {
            Value::Int(count) if count >= 0 => Some(usize::try_from(count).unwrap_or(usize::MAX)),
            Value::Int(count) => {
                self.r.error(value.pos, format!("{field_path} must not be negative, found {count}"));
                None
            }
            _ => {
                let found = match &value.value {
                    Value::Float(f) => f.to_string(),
                    _ => value.type_name().to_owned(),
                };
                self.r.error(value.pos, format!("{field_path} must be a whole number of versions, found {found}"));
                None
            }
        }
    }

    /// `fraction`: a number from 0 to 1, required.
    fn fraction(&mut self, node: &Node, path: &str) -> Option<f64> {
        let field_path = join(path, "fraction");
        let Some(value) = present(node, "fraction") else {
            self.r.error(
                node.pos,
                format!(
                    "{field_path} is required: budgetAbove needs the fraction of the error budget that must be \
                         left, such as `fraction: 0.25`"
                ),
            );
            return None;
        };
        let number = match &value.value {
            Value::Int(i) => *i as f64,
            Value::Float(f) => *f,
            Value::Str(text) => {
                let hint = text
                    .trim()
                    .strip_suffix('%')
                    .and_then(|p| p.trim().parse::<f64>().ok())
                    .map_or_else(String::new, |p| format!("; write {} as {}", text.trim(), p / 100.0));
                self.r.error(value.pos, format!("{field_path} must be a number from 0 to 1, found a string{hint}"));
                return None;
            }
            _ => {
                let found = value.type_name();
                self.r.error(value.pos, format!("{field_path} must be a number from 0 to 1, found {found}"));
                return None;
            }
        };
        if !(0.0..=1.0).contains(&number) {
            self.r.error(
                value.pos,
                format!("{field_path} must be from 0 to 1 (0.25 asks for a quarter of the budget), found {number}"),
            );
            return None;
        }
        Some(number)
    }

    /// A warning on each level no rule uses.
    fn levels_without_rules(&mut self, levels: &[(String, Pos)], rules: &[Rule]) {
        for (i, (level, pos)) in levels.iter().enumerate() {
            if rules.iter().any(|rule| rule.level == i) {
                continue;
            }
            let message = match i.checked_sub(1).and_then(|below| levels.get(below)) {
                Some((below, _)) => {
                    format!("level {level} has no rules: every entity that reaches {below} reaches {level} too")
                }
                None => format!("level {level} has no rules: every entity it applies to reaches {level}"),
            };
            self.r.warning(*pos, message);
        }
    }
}

/// Where `parent.field` is written; the parent when it is not.
fn pos_of(parent: &Node, field: &str) -> Pos {
    parent.get(field).map_or(parent.pos, |node| node.pos)
}

/// Where the key `field` of a mapping is written; the mapping when it is not there.
fn key_pos(parent: &Node, field: &str) -> Pos {
    let entries = parent.as_map().unwrap_or_default();
    entries.iter().find(|(key, _)| key.as_str() == Some(field)).map_or(parent.pos, |(key, _)| key.pos)
}

/// The known word `text` was probably meant to be: the same once case, `-`, `_` and a final `s` are ignored, or
/// one or two typing slips away (one for words of up to four letters).
fn suggest<'k>(text: &str, known: &[&'k str]) -> Option<&'k str> {
    let fold = |s: &str| {
        let folded: String = s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
        folded.strip_suffix('s').map(str::to_owned).unwrap_or(folded)
    };
    let wanted = fold(text);
    let slips = if wanted.len() <= 4 { 1 } else { 2 };
    let candidates = || known.iter().copied().filter(|k| *k != text);
    candidates().find(|k| fold(k) == wanted).or_else(|| {
        candidates()
            .map(|k| (k, distance(&fold(k), &wanted)))
            .filter(|(_, d)| *d <= slips)
            .min_by_key(|(_, d)| *d)
            .map(|(k, _)| k)
    })
}

/// The number of insertions, deletions, substitutions and swaps of neighbours that turn `a` into `b`.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * width + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut best =
                    (d[(i - 1) * width + j] + 1).min(d[i * width + j - 1] + 1).min(d[(i - 1) * width + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(d[(i - 2) * width + j - 2] + 1);
                }
                best
            };
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests;
