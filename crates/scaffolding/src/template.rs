//! The template model: Backstage `scaffolder.backstage.io/v1beta3` `kind: Template` documents read from positioned
//! YAML — metadata with the `portolan.dev/version` semver annotation, the owner and type, the form
//! ([`crate::form`]), the steps with their actions and inputs, and the output links — each problem reported with
//! `line:col` and its field path, like the catalog's descriptor errors.
//!
//! Portolan runs six actions: `fetch:template`, `fetch:plain`, `publish:git`, `publish:archive`, `catalog:register`
//! and `debug:log`. Backstage's other built-in actions (`publish:github`, `publish:gitlab`, …) are known: a step using
//! one is reported as not supported here, with the reason, and the rest of the template is still checked. Any other
//! action is an error naming it and its step.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use catalog::descriptor::Problem;
use catalog::entity::{
    DEFAULT_NAMESPACE, EntityRef, Kind, SCAFFOLDER_API_VERSION, check_key, check_name, check_namespace, check_tag,
};
use catalog::yaml::{Node, Pos, Value};
use semver::Version;
use serde_json::Value as Json;

use crate::form::Form;
use crate::read::{Reader, join, present};
use crate::render::{Renderer, RepoUrl, is_templated};
use crate::skeleton::RelativePath;

/// The annotation that carries a template's semantic version.
pub const VERSION_ANNOTATION: &str = "portolan.dev/version";

/// A valid template.
#[derive(Debug, Clone)]
pub struct Template {
    /// `metadata.name` as written.
    pub name: String,
    /// `template:<namespace>/<name>`.
    pub entity_ref: EntityRef,
    pub title: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub annotations: BTreeMap<String, String>,
    /// From the `portolan.dev/version` annotation.
    pub version: Version,
    /// `spec.owner` as written.
    pub owner: Option<String>,
    /// `spec.type`: service, website, documentation, …
    pub template_type: String,
    /// `spec.parameters` as a form.
    pub form: Form,
    pub steps: Vec<Step>,
    pub output: Output,
    pub pos: Pos,
}

impl Template {
    /// Reads one YAML document. The template is `None` when the document has errors; the problems (errors and
    /// warnings, unsupported steps among them) are returned either way.
    pub fn read(doc: &Node) -> (Option<Template>, Vec<Problem>) {
        let reading = read_template(doc);
        (reading.template, reading.problems)
    }

    /// The title, or the name when there is none.
    pub fn display_title(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.name)
    }

    /// The steps whose action Portolan does not run.
    pub fn unsupported_steps(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|step| !step.action.is_supported())
    }

    /// Whether every step can run here.
    pub fn is_runnable(&self) -> bool {
        self.unsupported_steps().next().is_none()
    }
}

/// One entry of `spec.steps`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Its place in `spec.steps`, from 0.
    pub index: usize,
    pub id: Option<String>,
    pub name: Option<String>,
    pub action: Action,
    /// The input as written, templates not rendered yet; an empty mapping when there is none.
    pub input: Json,
    /// `if`: a template or a boolean; the step is skipped when it renders false, empty or `"false"`.
    pub condition: Option<Json>,
    pub pos: Pos,
    /// Where each top-level input value is written, for problems found later (a skeleton folder that is missing).
    pub input_pos: BTreeMap<String, Pos>,
}

impl Step {
    /// How messages name the step: `` `fetch` (Fetch Skeleton) ``, or its number when it has neither id nor name.
    pub fn label(&self) -> String {
        match (&self.id, &self.name) {
            (Some(id), Some(name)) => format!("`{id}` ({name})"),
            (Some(id), None) => format!("`{id}`"),
            (None, Some(name)) => format!("`{name}`"),
            (None, None) => format!("#{}", self.index + 1),
        }
    }

    /// A top-level input value as written.
    pub fn input_str(&self, key: &str) -> Option<&str> {
        self.input.get(key).and_then(Json::as_str)
    }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Renders a skeleton folder of the template into the workspace.
    FetchTemplate,
    /// Copies a folder of the template into the workspace as it is.
    FetchPlain,
    /// Creates a git repository with the workspace as its first commit, in Portolan's repositories folder.
    PublishGit,
    /// Packs the workspace as a `.tar.gz` download.
    PublishArchive,
    /// Puts the generated `catalog-info.yaml` into the catalog.
    CatalogRegister,
    /// Writes a message (and optionally the workspace's files) to the task log.
    DebugLog,
    /// A Backstage action Portolan knows but does not run, and why.
    Unsupported { name: String, reason: &'static str },
}

const HOSTED_REASON: &str = "it publishes to a hosted git service, which Portolan does not reach; publish with \
                             `publish:git` (a new repository in Portolan's repositories folder, which any git server \
                             can serve) or `publish:archive` (a .tar.gz download)";

/// Backstage's built-in actions that Portolan does not run, with the reason.
const KNOWN_UNSUPPORTED: [(&str, &str); 22] = [
    ("publish:github", HOSTED_REASON),
    ("publish:github:pull-request", HOSTED_REASON),
    ("publish:gitlab", HOSTED_REASON),
    ("publish:gitlab:merge-request", HOSTED_REASON),
    ("publish:bitbucket", HOSTED_REASON),
    ("publish:bitbucketCloud", HOSTED_REASON),
    ("publish:bitbucketCloud:pull-request", HOSTED_REASON),
    ("publish:bitbucketServer", HOSTED_REASON),
    ("publish:bitbucketServer:pull-request", HOSTED_REASON),
    ("publish:azure", HOSTED_REASON),
    ("publish:gerrit", HOSTED_REASON),
    ("publish:gerrit:review", HOSTED_REASON),
    ("publish:gitea", HOSTED_REASON),
    ("fetch:template:file", "it fetches a single file; Portolan fetches folders of the template (`fetch:template`)"),
    ("fetch:plain:file", "it fetches a single file; Portolan fetches folders of the template (`fetch:plain`)"),
    ("fetch:cookiecutter", "it runs cookiecutter in a container; Portolan renders skeletons itself (`fetch:template`)"),
    ("fetch:rails", "it runs `rails new` in a container; Portolan renders skeletons itself (`fetch:template`)"),
    ("fs:delete", "it edits the workspace after fetching; leave the files out of the skeleton instead"),
    ("fs:rename", "it edits the workspace after fetching; name the files in the skeleton instead"),
    (
        "catalog:write",
        "it writes catalog-info.yaml; put that file in the skeleton and register it with `catalog:register`",
    ),
    ("catalog:fetch", "it reads catalog entities, which steps cannot do in Portolan"),
    ("debug:wait", "it only waits"),
];

/// Prefixes of Backstage modules' actions that act on hosted services (`github:repo:create`, …).
const HOSTED_PREFIXES: [&str; 8] =
    ["github:", "gitlab:", "bitbucket:", "bitbucketCloud:", "bitbucketServer:", "azure:", "gerrit:", "gitea:"];

impl Action {
    /// The actions Portolan runs.
    pub const SUPPORTED: [&'static str; 6] =
        ["fetch:template", "fetch:plain", "publish:git", "publish:archive", "catalog:register", "debug:log"];

    /// The action of that name; `None` when it is unknown.
    pub fn parse(name: &str) -> Option<Action> {
        Some(match name {
            "fetch:template" => Action::FetchTemplate,
            "fetch:plain" => Action::FetchPlain,
            "publish:git" => Action::PublishGit,
            "publish:archive" => Action::PublishArchive,
            "catalog:register" => Action::CatalogRegister,
            "debug:log" => Action::DebugLog,
            _ => {
                let reason =
                    KNOWN_UNSUPPORTED.iter().find(|(known, _)| *known == name).map(|(_, reason)| *reason).or_else(
                        || {
                            HOSTED_PREFIXES
                                .iter()
                                .any(|p| name.starts_with(p))
                                .then_some("it acts on a hosted git service, which Portolan does not reach")
                        },
                    )?;
                Action::Unsupported { name: name.to_owned(), reason }
            }
        })
    }

    /// The name templates write (`fetch:template`).
    pub fn name(&self) -> &str {
        match self {
            Action::FetchTemplate => "fetch:template",
            Action::FetchPlain => "fetch:plain",
            Action::PublishGit => "publish:git",
            Action::PublishArchive => "publish:archive",
            Action::CatalogRegister => "catalog:register",
            Action::DebugLog => "debug:log",
            Action::Unsupported { name, .. } => name,
        }
    }

    pub fn is_supported(&self) -> bool {
        !matches!(self, Action::Unsupported { .. })
    }

    /// The input keys the action reads.
    fn inputs(&self) -> &'static [&'static str] {
        match self {
            Action::FetchTemplate => &[
                "url",
                "targetPath",
                "values",
                "copyWithoutRender",
                "copyWithoutTemplating",
                "templateFileExtension",
                "cookiecutterCompat",
                "replace",
                "trimBlocks",
                "lstripBlocks",
            ],
            Action::FetchPlain => &["url", "targetPath", "replace"],
            Action::PublishGit => &[
                "repoUrl",
                "description",
                "defaultBranch",
                "sourcePath",
                "gitCommitMessage",
                "gitAuthorName",
                "gitAuthorEmail",
            ],
            Action::PublishArchive => &["name", "sourcePath"],
            Action::CatalogRegister => &["catalogInfoPath", "repoContentsUrl", "catalogInfoUrl", "optional"],
            Action::DebugLog => &["message", "listWorkspace", "extra"],
            Action::Unsupported { .. } => &[],
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `spec.output`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    pub links: Vec<OutputLink>,
}

/// A link shown when a run ends: a URL or an entity of the catalog (templates, usually).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputLink {
    pub title: Option<String>,
    pub icon: Option<String>,
    pub url: Option<String>,
    pub entity_ref: Option<String>,
}

/// A step Portolan does not run, for the validation report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedStep {
    pub index: usize,
    /// How messages name the step (see [`Step::label`]).
    pub label: String,
    pub action: String,
    pub reason: String,
    pub pos: Pos,
}

impl fmt::Display for UnsupportedStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {} uses `{}`, which Portolan does not run: {}", self.label, self.action, self.reason)
    }
}

/// Everything reading a document found, valid or not.
pub(crate) struct Reading {
    pub(crate) template: Option<Template>,
    pub(crate) problems: Vec<Problem>,
    pub(crate) unsupported: Vec<UnsupportedStep>,
    /// The steps that could be read, even when the template has errors, so that their folders are checked too.
    pub(crate) steps: Vec<Step>,
}

pub(crate) fn read_template(doc: &Node) -> Reading {
    let mut reader = Reader::default();
    let renderer = Renderer::default();
    let mut unsupported = Vec::new();
    let mut steps = Vec::new();
    let template =
        TemplateReader { reader: &mut reader, renderer: &renderer }.document(doc, &mut unsupported, &mut steps);
    let template = template.filter(|_| reader.errors() == 0);
    Reading { template, problems: reader.into_problems(), unsupported, steps }
}

struct TemplateReader<'a> {
    reader: &'a mut Reader,
    renderer: &'a Renderer,
}

impl TemplateReader<'_> {
    fn document(
        &mut self,
        doc: &Node,
        unsupported: &mut Vec<UnsupportedStep>,
        read_steps: &mut Vec<Step>,
    ) -> Option<Template> {
        if doc.as_map().is_none() {
            self.reader.error(doc.pos, format!("a template must be a mapping, found {}", doc.type_name()));
            return None;
        }
        let api_version = self.reader.required_string(doc, "", "apiVersion");
        if let Some(version) = api_version
            && !version.eq_ignore_ascii_case(SCAFFOLDER_API_VERSION)
        {
            let pos = present(doc, "apiVersion").map_or(doc.pos, |n| n.pos);
            self.reader
                .error(pos, format!("apiVersion must be {SCAFFOLDER_API_VERSION} for a Template, not `{version}`"));
        }
        if let Some(kind) = self.reader.required_string(doc, "", "kind")
            && Kind::parse(kind) != Some(Kind::Template)
        {
            let pos = present(doc, "kind").map_or(doc.pos, |n| n.pos);
            self.reader.error(pos, format!("kind must be Template, not `{kind}`"));
        }
        let metadata = self.reader.required(doc, "", "metadata").and_then(|m| self.reader.mapping(m, "metadata"));
        let identity = metadata.and_then(|m| self.identity(m));
        let title = metadata.and_then(|m| self.reader.optional_string(m, "metadata", "title")).map(str::to_owned);
        let description =
            metadata.and_then(|m| self.reader.optional_string(m, "metadata", "description")).map(str::to_owned);
        let tags = metadata.map(|m| self.tags(m)).unwrap_or_default();
        let annotations = metadata.map(|m| self.annotations(m)).unwrap_or_default();
        let version = metadata.and_then(|m| self.version(m));

        let spec = self.reader.required(doc, "", "spec").and_then(|s| self.reader.mapping(s, "spec"));
        let template_type = spec.and_then(|s| self.reader.required_string(s, "spec", "type")).map(str::to_owned);
        let owner = spec.and_then(|s| self.owner(s, identity.as_ref().map(|(_, r)| r.namespace())));
        let form = Form::read_with(spec.and_then(|s| present(s, "parameters")), self.reader);
        let fields: BTreeSet<String> = form.fields().map(|f| f.name.clone()).collect();
        let steps = spec.map(|s| self.steps(s, &fields, unsupported)).unwrap_or_default();
        read_steps.clone_from(&steps);
        let step_ids: Vec<String> = steps.iter().filter_map(|s| s.id.clone()).collect();
        let output =
            spec.and_then(|s| present(s, "output")).map(|o| self.output(o, &fields, &step_ids)).unwrap_or_default();

        let ((name, entity_ref), version, template_type) = (identity?, version?, template_type?);
        Some(Template {
            name,
            entity_ref,
            title,
            description,
            tags,
            annotations,
            version,
            owner,
            template_type,
            form,
            steps,
            output,
            pos: doc.pos,
        })
    }

    fn identity(&mut self, metadata: &Node) -> Option<(String, EntityRef)> {
        let name = self.reader.required_string(metadata, "metadata", "name");
        if let Some(name) = name
            && let Err(reason) = check_name(name)
        {
            let pos = present(metadata, "name").map_or(metadata.pos, |n| n.pos);
            self.reader.error(pos, format!("metadata.name: {reason}"));
            return None;
        }
        let namespace = match self.reader.optional_string(metadata, "metadata", "namespace") {
            Some(namespace) => match check_namespace(namespace) {
                Ok(()) => namespace,
                Err(reason) => {
                    let pos = present(metadata, "namespace").map_or(metadata.pos, |n| n.pos);
                    self.reader.error(pos, format!("metadata.namespace: {reason}"));
                    return None;
                }
            },
            None => DEFAULT_NAMESPACE,
        };
        let name = name?;
        Some((name.to_owned(), EntityRef::new(Kind::Template.as_str(), namespace, name)))
    }

    fn tags(&mut self, metadata: &Node) -> Vec<String> {
        let mut tags = Vec::new();
        for (tag, pos) in self.reader.string_list(metadata, "metadata", "tags") {
            match check_tag(tag) {
                Ok(()) => tags.push(tag.to_owned()),
                Err(reason) => self.reader.error(pos, format!("metadata.tags: {reason}")),
            }
        }
        tags
    }

    fn annotations(&mut self, metadata: &Node) -> BTreeMap<String, String> {
        let mut annotations = BTreeMap::new();
        let Some(node) = present(metadata, "annotations") else {
            return annotations;
        };
        let Some(entries) = self.reader.mapping(node, "metadata.annotations").and_then(Node::as_map) else {
            return annotations;
        };
        for (key, value) in entries {
            let key_text = key.key_text();
            if let Err(reason) = check_key(&key_text) {
                self.reader.error(key.pos, format!("metadata.annotations: {reason}"));
            }
            match value.as_str() {
                Some(text) => {
                    annotations.insert(key_text, text.to_owned());
                }
                // The version gets its own message below.
                None if key_text == VERSION_ANNOTATION => {}
                None => self.reader.error(
                    value.pos,
                    format!("metadata.annotations.{key_text} must be a string, found {}", value.type_name()),
                ),
            }
        }
        annotations
    }

    fn version(&mut self, metadata: &Node) -> Option<Version> {
        let path = format!("metadata.annotations.{VERSION_ANNOTATION}");
        let Some(node) = present(metadata, "annotations").and_then(|a| present(a, VERSION_ANNOTATION)) else {
            let pos = present(metadata, "annotations").map_or(metadata.pos, |a| a.pos);
            self.reader.warning(
                pos,
                format!(
                    "{path} is missing, so the template is read as version 0.0.0; give it a semantic version (for \
                     example `{VERSION_ANNOTATION}: 1.0.0`) so that each service can be compared with the version it \
                     came from"
                ),
            );
            return Some(Version::new(0, 0, 0));
        };
        let text = match &node.value {
            Value::Str(text) => text.clone(),
            Value::Int(_) | Value::Float(_) => {
                self.reader.error(
                    node.pos,
                    format!("{path} must be a string: YAML read it as a number; write a full version such as `1.0.0`"),
                );
                return None;
            }
            _ => {
                self.reader.error(node.pos, format!("{path} must be a string, found {}", node.type_name()));
                return None;
            }
        };
        match Version::parse(text.trim()) {
            Ok(version) => Some(version),
            Err(e) => {
                self.reader.error(
                    node.pos,
                    format!("{path}: `{text}` is not a semantic version MAJOR.MINOR.PATCH (for example 1.4.0): {e}"),
                );
                None
            }
        }
    }

    fn owner(&mut self, spec: &Node, namespace: Option<&str>) -> Option<String> {
        let owner = self.reader.optional_string(spec, "spec", "owner")?;
        if let Err(reason) = EntityRef::parse(owner, Some(Kind::Group), namespace.unwrap_or(DEFAULT_NAMESPACE)) {
            let pos = present(spec, "owner").map_or(spec.pos, |n| n.pos);
            self.reader.warning(pos, format!("spec.owner: {reason}; the template is listed without an owner link"));
        }
        Some(owner.to_owned())
    }

    fn steps(&mut self, spec: &Node, fields: &BTreeSet<String>, unsupported: &mut Vec<UnsupportedStep>) -> Vec<Step> {
        let Some(node) = self.reader.required(spec, "spec", "steps") else {
            return Vec::new();
        };
        let Some(items) = node.as_seq() else {
            self.reader.error(node.pos, format!("spec.steps must be a list, found {}", node.type_name()));
            return Vec::new();
        };
        let ids: Vec<Option<String>> =
            items.iter().map(|item| present(item, "id").and_then(Node::as_str).map(str::to_owned)).collect();
        let mut steps: Vec<Step> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let path = format!("spec.steps[{index}]");
            if self.reader.mapping(item, &path).is_none() {
                continue;
            }
            let id = self.reader.optional_string(item, &path, "id").map(str::to_owned);
            if let Some(id) = &id
                && ids[..index].iter().flatten().any(|earlier| earlier == id)
            {
                let pos = present(item, "id").map_or(item.pos, |n| n.pos);
                self.reader.error(pos, format!("{path}.id: another step already has the id `{id}`"));
            }
            let name = self.reader.optional_string(item, &path, "name").map(str::to_owned);
            let mut step = Step {
                index,
                id,
                name,
                action: Action::DebugLog,
                input: Json::Object(serde_json::Map::new()),
                condition: None,
                pos: item.pos,
                input_pos: BTreeMap::new(),
            };
            if let Some(each) = present(item, "each") {
                self.reader.error(each.pos, format!("{path}.each: steps that repeat over a list are not supported"));
            }
            let earlier: Vec<String> = ids[..index].iter().flatten().cloned().collect();
            let later: Vec<String> = ids[index..].iter().flatten().cloned().collect();
            let scope = Scope { fields, earlier: &earlier, later: &later };
            if let Some(condition) = present(item, "if") {
                match &condition.value {
                    Value::Bool(_) | Value::Str(_) => {
                        self.templates(condition, &format!("{path}.if"), &scope);
                        step.condition = Some(condition.to_json());
                    }
                    _ => self.reader.error(
                        condition.pos,
                        format!("{path}.if must be a template or true/false, found {}", condition.type_name()),
                    ),
                }
            }
            let input_path = format!("{path}.input");
            let input = present(item, "input").and_then(|i| self.reader.mapping(i, &input_path));
            if let Some(input) = input {
                step.input = input.to_json();
                for (key, value) in input.as_map().unwrap_or_default() {
                    step.input_pos.insert(key.key_text(), value.pos);
                }
                self.templates(input, &input_path, &scope);
            }
            let Some(action_name) = self.reader.required_string(item, &path, "action") else {
                continue;
            };
            let action_pos = present(item, "action").map_or(item.pos, |n| n.pos);
            let Some(action) = Action::parse(action_name) else {
                self.reader.error(
                    action_pos,
                    format!(
                        "{path}.action: unknown action `{action_name}` in step {}; Portolan runs {}",
                        step.label(),
                        Action::SUPPORTED.join(", ")
                    ),
                );
                continue;
            };
            step.action = action;
            if let Action::Unsupported { name, reason } = &step.action {
                let entry = UnsupportedStep {
                    index,
                    label: step.label(),
                    action: name.clone(),
                    reason: (*reason).to_owned(),
                    pos: action_pos,
                };
                self.reader.warning(
                    action_pos,
                    format!(
                        "{path}.action: {entry}; the step is not run (Portolan runs {})",
                        Action::SUPPORTED.join(", ")
                    ),
                );
                unsupported.push(entry);
            } else {
                let empty = Node { value: Value::Map(Vec::new()), pos: item.pos };
                self.input(&step.action, input.unwrap_or(&empty), &input_path);
            }
            steps.push(step);
        }
        steps
    }

    /// The shape of a supported action's input; values that are templates are checked when they are rendered.
    fn input(&mut self, action: &Action, input: &Node, path: &str) {
        for (key, _) in input.as_map().unwrap_or_default() {
            let key_text = key.key_text();
            if !action.inputs().contains(&key_text.as_str()) {
                self.reader.warning(
                    key.pos,
                    format!(
                        "{path}.{key_text} is not an input of {action}; it is ignored (its inputs: {})",
                        action.inputs().join(", ")
                    ),
                );
            }
        }
        match action {
            Action::FetchTemplate | Action::FetchPlain => {
                if let Some(url) = self.reader.required(input, path, "url") {
                    self.location(url, &join(path, "url"));
                }
                self.relative_path(input, path, "targetPath");
                self.boolean(input, path, "replace");
                if *action == Action::FetchTemplate {
                    self.fetch_template(input, path);
                }
            }
            Action::PublishGit => {
                if let Some(node) = self.reader.required(input, path, "repoUrl")
                    && let Some(text) = self.literal_string(node, &join(path, "repoUrl"))
                    && let Err(reason) = RepoUrl::parse(text)
                {
                    self.reader.error(node.pos, format!("{path}.repoUrl: {reason}"));
                }
                for field in ["description", "gitCommitMessage", "gitAuthorName", "gitAuthorEmail"] {
                    if let Some(node) = present(input, field) {
                        self.literal_string(node, &join(path, field));
                    }
                }
                if let Some(node) = present(input, "defaultBranch")
                    && let Some(branch) = self.literal_string(node, &join(path, "defaultBranch"))
                    && !is_branch_name(branch)
                {
                    self.reader.error(node.pos, format!("{path}.defaultBranch: `{branch}` is not a valid branch name"));
                }
                self.relative_path(input, path, "sourcePath");
            }
            Action::PublishArchive => {
                if let Some(node) = present(input, "name")
                    && let Some(name) = self.literal_string(node, &join(path, "name"))
                    && (name.contains(['/', '\\']) || name.starts_with('.'))
                {
                    self.reader.error(node.pos, format!("{path}.name: `{name}` must be a plain file name"));
                }
                self.relative_path(input, path, "sourcePath");
            }
            Action::CatalogRegister => {
                if let Some(node) = present(input, "catalogInfoUrl") {
                    self.reader.error(
                        node.pos,
                        format!(
                            "{path}.catalogInfoUrl: Portolan registers the catalog-info.yaml the template generated; \
                             name it with catalogInfoPath (default /catalog-info.yaml) instead of a remote URL"
                        ),
                    );
                }
                if let Some(node) = present(input, "catalogInfoPath")
                    && let Some(text) = self.literal_string(node, &join(path, "catalogInfoPath"))
                    && let Err(reason) = RelativePath::parse(text.trim_start_matches('/'))
                {
                    self.reader.error(node.pos, format!("{path}.catalogInfoPath: `{text}` {reason}"));
                }
                if let Some(node) = present(input, "repoContentsUrl") {
                    self.literal_string(node, &join(path, "repoContentsUrl"));
                }
                self.boolean(input, path, "optional");
            }
            Action::DebugLog => {
                if let Some(node) = present(input, "listWorkspace")
                    && !is_template_string(node)
                    && !matches!(&node.value, Value::Bool(_))
                    && !matches!(node.as_str(), Some("with-filenames" | "with-contents"))
                {
                    self.reader.error(
                        node.pos,
                        format!("{path}.listWorkspace must be true, false, with-filenames or with-contents"),
                    );
                }
            }
            Action::Unsupported { .. } => {}
        }
    }

    fn fetch_template(&mut self, input: &Node, path: &str) {
        if let Some(values) = present(input, "values") {
            self.reader.mapping(values, &join(path, "values"));
        }
        let mut globs = 0;
        for field in ["copyWithoutRender", "copyWithoutTemplating"] {
            if present(input, field).is_some() {
                globs += 1;
            }
            for (pattern, pos) in self.reader.string_list(input, path, field) {
                if let Err(e) = glob::Pattern::new(pattern) {
                    self.reader.error(pos, format!("{path}.{field}: `{pattern}` is not a valid glob: {e}"));
                }
            }
        }
        if globs == 2 {
            let pos = present(input, "copyWithoutTemplating").map_or(input.pos, |n| n.pos);
            self.reader
                .error(pos, format!("{path}: copyWithoutRender and copyWithoutTemplating cannot be used together"));
        }
        if let Some(node) = present(input, "templateFileExtension") {
            match &node.value {
                Value::Bool(_) => {}
                Value::Str(ext) if !ext.is_empty() && !ext.contains('/') => {}
                _ => self.reader.error(
                    node.pos,
                    format!("{path}.templateFileExtension must be true or a file extension such as .njk"),
                ),
            }
            if globs > 0 {
                self.reader.error(
                    node.pos,
                    format!("{path}.templateFileExtension cannot be combined with copyWithoutRender or copyWithoutTemplating"),
                );
            }
        }
        if let Some(node) = present(input, "cookiecutterCompat")
            && matches!(node.value, Value::Bool(true))
        {
            self.reader.error(
                node.pos,
                format!("{path}.cookiecutterCompat is not supported: skeletons use ${{{{ values.x }}}}, not cookiecutter's {{{{ cookiecutter.x }}}}"),
            );
        }
        for field in ["trimBlocks", "lstripBlocks"] {
            self.boolean(input, path, field);
        }
    }

    /// A folder of the template, written as a relative path (checked against the folder by `validate_template`).
    fn location(&mut self, node: &Node, path: &str) {
        let Some(url) = self.literal_string(node, path) else {
            return;
        };
        if url.contains("://") {
            self.reader.error(
                node.pos,
                format!("{path}: `{url}` is a remote location; Portolan fetches folders inside the template, such as ./skeleton"),
            );
        } else if url.starts_with('/') || url.starts_with('\\') {
            self.reader.error(
                node.pos,
                format!("{path}: `{url}` must be relative to the template's folder, such as ./skeleton"),
            );
        }
    }

    fn relative_path(&mut self, input: &Node, path: &str, field: &str) {
        let Some(node) = present(input, field) else {
            return;
        };
        let field_path = join(path, field);
        if let Some(text) = self.literal_string(node, &field_path)
            && let Err(reason) = RelativePath::parse_target(text)
        {
            self.reader.error(node.pos, format!("{field_path}: `{text}` {reason}"));
        }
    }

    fn boolean(&mut self, input: &Node, path: &str, field: &str) {
        if let Some(node) = present(input, field)
            && !is_template_string(node)
            && !matches!(node.value, Value::Bool(_))
        {
            self.reader
                .error(node.pos, format!("{}: must be true or false, found {}", join(path, field), node.type_name()));
        }
    }

    /// A string input's text when it is written out (not a template); an error when it is not a string at all.
    fn literal_string<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n str> {
        let text = self.reader.string(node, path)?;
        (!is_templated(text)).then_some(text)
    }

    /// Every template in a value: it must parse, and what it reads must exist by then.
    fn templates(&mut self, node: &Node, path: &str, scope: &Scope<'_>) {
        match &node.value {
            Value::Str(text) if is_templated(text) => {
                if let Err(e) = self.renderer.check(path, text) {
                    let line = match e.line {
                        Some(line) if line > 1 => format!(" (line {line} of the value)"),
                        _ => String::new(),
                    };
                    self.reader.error(node.pos, format!("{path}: {}{line}", e.message));
                    return;
                }
                for reference in self.renderer.references(text) {
                    self.reference(&reference, node.pos, path, scope);
                }
            }
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.templates(item, &format!("{path}[{i}]"), scope);
                }
            }
            Value::Map(entries) => {
                for (key, value) in entries {
                    self.templates(value, &join(path, &key.key_text()), scope);
                }
            }
            _ => {}
        }
    }

    fn reference(&mut self, reference: &str, pos: Pos, path: &str, scope: &Scope<'_>) {
        let mut parts = reference.split('.');
        let root = parts.next().unwrap_or_default();
        let first = parts.next();
        match (root, first) {
            ("parameters", Some(name)) if !scope.fields.contains(name) => self.reader.warning(
                pos,
                format!("{path}: `parameters.{name}` is not a field of the form; it renders empty"),
            ),
            ("steps", Some(id)) if scope.later.iter().any(|l| l == id) => self.reader.error(
                pos,
                format!("{path}: `{reference}` reads step `{id}`, which runs later; a step sees the output of earlier steps only"),
            ),
            ("steps", Some(id)) if !scope.earlier.iter().any(|e| e == id) => self.reader.error(
                pos,
                format!("{path}: `{reference}` reads step `{id}`, but no step has that id"),
            ),
            ("parameters" | "steps", _) => {}
            (other, _) => self.reader.warning(
                pos,
                format!("{path}: `{other}` is not available here (steps read `parameters` and `steps`); it renders empty"),
            ),
        }
    }

    fn output(&mut self, node: &Node, fields: &BTreeSet<String>, step_ids: &[String]) -> Output {
        let mut output = Output::default();
        if self.reader.mapping(node, "spec.output").is_none() {
            return output;
        }
        let Some(links) = present(node, "links") else {
            return output;
        };
        let Some(items) = links.as_seq() else {
            self.reader.error(links.pos, format!("spec.output.links must be a list, found {}", links.type_name()));
            return output;
        };
        let scope = Scope { fields, earlier: step_ids, later: &[] };
        for (i, link) in items.iter().enumerate() {
            let path = format!("spec.output.links[{i}]");
            if self.reader.mapping(link, &path).is_none() {
                continue;
            }
            self.templates(link, &path, &scope);
            let mut text = |field: &str| self.reader.optional_string(link, &path, field).map(str::to_owned);
            let entry = OutputLink {
                title: text("title"),
                icon: text("icon"),
                url: text("url"),
                entity_ref: text("entityRef"),
            };
            if entry.url.is_none() && entry.entity_ref.is_none() {
                self.reader.error(link.pos, format!("{path} needs a url or an entityRef"));
            }
            output.links.push(entry);
        }
        output
    }
}

/// What a template in a step may read: the form's fields and the ids of the steps before it.
struct Scope<'a> {
    fields: &'a BTreeSet<String>,
    earlier: &'a [String],
    later: &'a [String],
}

fn is_template_string(node: &Node) -> bool {
    node.as_str().is_some_and(is_templated)
}

/// Git's rules for branch names, the ones a template could break.
fn is_branch_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['-', '/', '.'])
        && !name.ends_with(['/', '.'])
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && !name.chars().any(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
}

#[cfg(test)]
mod tests {
    use catalog::yaml::{Limits, parse_documents};

    use super::*;

    const HEAD: &str = "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: rust-service\n  \
                        title: Rust service\n  tags: [rust, recommended]\n  annotations:\n    portolan.dev/version: 1.2.0\n";

    fn read(text: &str) -> Reading {
        let docs = parse_documents(text, Limits::default()).expect("yaml");
        read_template(&docs[0])
    }

    fn messages(reading: &Reading) -> Vec<String> {
        reading.problems.iter().map(ToString::to_string).collect()
    }

    fn with_steps(steps: &str) -> String {
        format!(
            "{HEAD}spec:\n  owner: group:platform\n  type: service\n  parameters:\n    - title: About\n      properties:\n        \
             name: {{type: string}}\n  steps:\n{steps}"
        )
    }

    #[test]
    fn reads_a_template() {
        let reading = read(&with_steps(
            "    - id: fetch\n      name: Fetch\n      action: fetch:template\n      input:\n        url: ./skeleton\n        \
             values:\n          name: ${{ parameters.name }}\n    - id: publish\n      action: publish:git\n      if: ${{ parameters.name }}\n      \
             input:\n        repoUrl: git.example.com?owner=platform&repo=${{ parameters.name }}\n        defaultBranch: main\n    \
             - id: register\n      action: catalog:register\n      input:\n        catalogInfoPath: /catalog-info.yaml\n  output:\n    \
             links:\n      - title: Repository\n        url: ${{ steps.publish.output.remoteUrl }}\n",
        ));
        assert!(reading.problems.is_empty(), "{:#?}", messages(&reading));
        let template = reading.template.expect("valid");
        assert_eq!(template.entity_ref.to_string(), "template:default/rust-service");
        assert_eq!(template.version, Version::new(1, 2, 0));
        assert_eq!((template.display_title(), template.template_type.as_str()), ("Rust service", "service"));
        assert_eq!(template.tags, ["rust", "recommended"]);
        assert_eq!(template.steps.len(), 3);
        assert_eq!(template.steps[0].action, Action::FetchTemplate);
        assert_eq!(template.steps[0].input_str("url"), Some("./skeleton"));
        assert_eq!(template.steps[0].input_pos.get("url"), Some(&Pos::new(21, 14)));
        assert_eq!(template.steps[1].condition, Some(Json::String("${{ parameters.name }}".into())));
        assert_eq!(template.output.links[0].url.as_deref(), Some("${{ steps.publish.output.remoteUrl }}"));
        assert!(template.is_runnable());
    }

    #[test]
    fn version_is_semver_and_missing_reads_as_zero() {
        let base = with_steps("    - action: debug:log\n");
        let missing = read(&base.replace("  annotations:\n    portolan.dev/version: 1.2.0\n", ""));
        assert_eq!(missing.template.as_ref().map(|t| t.version.to_string()), Some("0.0.0".to_owned()));
        assert_eq!(
            messages(&missing),
            ["4:3: warning: metadata.annotations.portolan.dev/version is missing, so the template is read as version \
                 0.0.0; give it a semantic version (for example `portolan.dev/version: 1.0.0`) so that each service can \
                 be compared with the version it came from"]
        );
        let invalid = read(&base.replace("1.2.0", "1.2"));
        assert!(messages(&invalid)[0].starts_with("8:27: metadata.annotations.portolan.dev/version must be a string"));
        let invalid = read(&base.replace("1.2.0", "v1.2.x"));
        assert!(
            messages(&invalid)[0]
                .starts_with("8:27: metadata.annotations.portolan.dev/version: `v1.2.x` is not a semantic version"),
            "{:?}",
            messages(&invalid)
        );
    }

    #[test]
    fn unknown_action_names_it_and_its_step() {
        let reading = read(&with_steps("    - id: deploy\n      name: Deploy it\n      action: kubernetes:apply\n"));
        assert!(reading.template.is_none());
        assert_eq!(
            messages(&reading),
            [
                "19:15: spec.steps[0].action: unknown action `kubernetes:apply` in step `deploy` (Deploy it); Portolan runs \
              fetch:template, fetch:plain, publish:git, publish:archive, catalog:register, debug:log"
            ]
        );
    }

    #[test]
    fn known_backstage_actions_are_reported_not_refused() {
        let reading = read(&with_steps(
            "    - id: publish\n      name: Publish\n      action: publish:github\n      input: {repoUrl: '${{ parameters.name }}'}\n    \
             - id: issue\n      action: github:issues:label\n",
        ));
        let template = reading.template.as_ref().expect("valid: the steps are only not run");
        assert!(!template.is_runnable());
        assert_eq!(reading.unsupported.len(), 2);
        assert_eq!(reading.unsupported[0].action, "publish:github");
        assert!(reading.unsupported[0].to_string().starts_with(
            "step `publish` (Publish) uses `publish:github`, which Portolan does not run: it publishes to a hosted git service"
        ));
        assert!(reading.problems.iter().all(|p| !p.is_error()));
        assert!(messages(&reading)[0].contains("Portolan runs fetch:template, fetch:plain, publish:git"));
    }

    #[test]
    fn inputs_are_checked_per_action() {
        let reading = read(&with_steps(
            "    - action: fetch:template\n      input:\n        targetPath: ../outside\n        copyWithoutRender: ['[']\n        \
             copyWithoutTemplating: [a]\n        colour: blue\n    - action: fetch:plain\n      input: {url: 'https://example.com/x', targetPath: /etc}\n    \
             - action: publish:git\n      input: {repoUrl: 'github.com?owner=a', defaultBranch: 'bad branch'}\n    \
             - action: catalog:register\n      input: {catalogInfoUrl: 'https://x/catalog-info.yaml', catalogInfoPath: '../x.yaml'}\n    \
             - action: fetch:template\n      input: {url: /abs, cookiecutterCompat: true, replace: maybe}\n",
        ));
        let messages = messages(&reading);
        for expected in [
            "spec.steps[0].input.url is required",
            "spec.steps[0].input.targetPath: `../outside` contains `..`",
            "spec.steps[0].input.copyWithoutRender: `[` is not a valid glob",
            "spec.steps[0].input: copyWithoutRender and copyWithoutTemplating cannot be used together",
            "warning: spec.steps[0].input.colour is not an input of fetch:template",
            "spec.steps[1].input.url: `https://example.com/x` is a remote location",
            "spec.steps[1].input.targetPath: `/etc` is absolute",
            "spec.steps[2].input.repoUrl: `github.com?owner=a` names no repository",
            "spec.steps[2].input.defaultBranch: `bad branch` is not a valid branch name",
            "spec.steps[3].input.catalogInfoUrl: Portolan registers the catalog-info.yaml the template generated",
            "spec.steps[3].input.catalogInfoPath: `../x.yaml` contains `..`",
            "spec.steps[4].input.url: `/abs` must be relative",
            "spec.steps[4].input.cookiecutterCompat is not supported",
            "spec.steps[4].input.replace: must be true or false",
        ] {
            assert!(messages.iter().any(|m| m.contains(expected)), "missing {expected} in {messages:#?}");
        }
        assert_eq!(messages.len(), 14, "{messages:#?}");
    }

    #[test]
    fn templates_in_steps_must_parse_and_read_what_exists() {
        let reading = read(&with_steps(
            "    - id: first\n      action: debug:log\n      input:\n        message: ${{ steps.second.output.x }} ${{ parameters.nope }}\n        \
             extra: \"${{ parameters.name | }}\"\n    - id: second\n      action: debug:log\n      input:\n        message: ${{ steps.ghost.output.x }}\n  \
             output:\n    links:\n      - title: nothing\n",
        ));
        let messages = messages(&reading);
        for expected in [
            "20:18: spec.steps[0].input.message: `steps.second.output.x` reads step `second`, which runs later",
            "20:18: warning: spec.steps[0].input.message: `parameters.nope` is not a field of the form",
            "21:16: spec.steps[0].input.extra: syntax error",
            "25:18: spec.steps[1].input.message: `steps.ghost.output.x` reads step `ghost`, but no step has that id",
            "28:9: spec.output.links[0] needs a url or an entityRef",
        ] {
            assert!(messages.iter().any(|m| m.starts_with(expected)), "missing {expected} in {messages:#?}");
        }
        assert_eq!(messages.len(), 5, "{messages:#?}");
    }

    #[test]
    fn metadata_and_spec_problems() {
        let reading = read(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: Bad Name\n  tags: [Rust]\n  \
             annotations: {portolan.dev/version: 1.0.0}\nspec:\n  owner: 'not valid!'\n  steps: []\n",
        );
        let messages = messages(&reading);
        for expected in [
            "1:13: apiVersion must be scaffolder.backstage.io/v1beta3 for a Template",
            "2:7: kind must be Template, not `Component`",
            "4:9: metadata.name:",
            "5:10: metadata.tags: tag `Rust`",
            "8:3: spec.type is required",
            "8:10: warning: spec.owner:",
        ] {
            assert!(messages.iter().any(|m| m.starts_with(expected)), "missing {expected} in {messages:#?}");
        }
    }

    #[test]
    fn branch_names() {
        for ok in ["main", "release/1.x", "feature-a"] {
            assert!(is_branch_name(ok), "{ok}");
        }
        for bad in ["", "-x", "a..b", "a b", "x.lock", "a:b", "a/"] {
            assert!(!is_branch_name(bad), "{bad}");
        }
    }
}
