//! Running a template: its steps in order, each logged as it starts and ends, with nothing half-made when one
//! fails.
//!
//! Fetch steps render into an in-memory workspace. Before the first step that leaves the process (publishing,
//! registering), the workspace's descriptor is checked and stamped with the template and version
//! ([`crate::register`]), so a value that broke its YAML stops the run before any repository exists. Whatever a step
//! made outside (a repository, a registered descriptor) is undone, newest first, when a later step fails.
//!
//! The catalog itself is reached through [`Registrar`], which the binary implements (ingesting a file is the
//! catalog's business, and the binary knows what else follows an ingest).

use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use crate::Values;
use crate::bundle::Bundle;
use crate::publish::{self, CommitInfo, Published};
use crate::register::{self, Stamped};
use crate::render::{Context, Renderer, RepoUrl};
use crate::skeleton::{FileTree, Limits, RelativePath, condition_holds, fetch_into, render_step_input};
use crate::template::{Action, Step, Template};

/// Puts descriptor files into the catalog, and takes them out again.
pub trait Registrar {
    /// Registers a descriptor file: it is in the catalog when this returns, and every refresh reads it from then on.
    /// Returns the refs of the entities the catalog now holds from it.
    fn register(&self, file: &Path) -> Result<Vec<String>, String>;
    /// Undoes [`register`](Self::register) for a run that failed afterwards (the file is gone by then).
    fn unregister(&self, file: &Path) -> Result<(), String>;
}

/// A line of a run's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The step's index, or `None` for the run as a whole.
    pub step: Option<usize>,
    pub kind: EventKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Started,
    Finished,
    Skipped,
    Failed,
    Log,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Started => "started",
            EventKind::Finished => "finished",
            EventKind::Skipped => "skipped",
            EventKind::Failed => "failed",
            EventKind::Log => "log",
        }
    }
}

/// Where a run publishes and whom it names.
pub struct Environment<'a> {
    /// The task's id: named in commit trailers and in the paths of registered archives.
    pub task_id: &'a str,
    /// The folder `publish:git` creates repositories in (and registered archives' descriptors in `.registered/`).
    pub repositories: &'a Path,
    /// How clones reach that folder (`https://git.example.com/`); `file://` paths when unset.
    pub remote_base: Option<&'a str>,
    /// The URL a `publish:archive` step's download is served at.
    pub archive_url: String,
    pub author_name: &'a str,
    pub author_email: &'a str,
    pub registrar: &'a dyn Registrar,
}

/// What a run produced.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// `links` (the template's `spec.output.links`, rendered), `entityRef`, `remoteUrl`, `repoContentsUrl`.
    pub output: Json,
    /// The `.tar.gz` of a `publish:archive` step: its file name and bytes.
    pub archive: Option<(String, Vec<u8>)>,
    /// The entities registered.
    pub registered: Vec<String>,
    pub files: usize,
}

/// Why a run failed: the step and the reason; by then everything it had made is undone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", .step.as_ref().map(|s| format!("step {s}: ")).unwrap_or_default())]
pub struct Failure {
    pub step: Option<String>,
    pub message: String,
}

/// Something a step made outside the process, undone when a later step fails.
enum Made {
    Repository(Published),
    Registered(PathBuf),
    Folder(PathBuf),
}

/// Runs every step of `template` with `parameters` (validated by the form already), logging through `log`.
pub fn run(
    template: &Template,
    bundle: &Bundle,
    parameters: &Values,
    renderer: &Renderer,
    limits: &Limits,
    env: &Environment<'_>,
    log: &mut dyn FnMut(Event),
) -> Result<Outcome, Failure> {
    let mut runner = Runner {
        template,
        bundle,
        renderer,
        limits: *limits,
        env,
        context: Context::new(parameters.clone()),
        workspace: FileTree::new(*limits),
        stamped: None,
        made: Vec::new(),
        outcome: Outcome::default(),
    };
    let result = runner.steps(log);
    match result {
        Ok(()) => {
            runner.outcome.files = runner.workspace.len();
            runner.outcome.output = runner.output();
            Ok(runner.outcome)
        }
        Err(failure) => {
            runner.undo(log);
            Err(failure)
        }
    }
}

struct Runner<'a> {
    template: &'a Template,
    bundle: &'a Bundle,
    renderer: &'a Renderer,
    limits: Limits,
    env: &'a Environment<'a>,
    context: Context,
    workspace: FileTree,
    /// The workspace's descriptor once checked and stamped: `(path in the workspace, result)`.
    stamped: Option<(RelativePath, Stamped)>,
    made: Vec<Made>,
    outcome: Outcome,
}

impl Runner<'_> {
    fn steps(&mut self, log: &mut dyn FnMut(Event)) -> Result<(), Failure> {
        for step in &self.template.steps {
            let index = Some(step.index);
            let label = step.label();
            let fail = |message: String| Failure { step: Some(label.clone()), message };
            if !condition_holds(self.renderer, step, &self.context).map_err(|e| fail(e.to_string()))? {
                log(Event { step: index, kind: EventKind::Skipped, message: format!("{label}: its `if` is false") });
                continue;
            }
            log(Event { step: index, kind: EventKind::Started, message: format!("{label} ({})", step.action) });
            match self.step(step, log) {
                Ok(message) => log(Event { step: index, kind: EventKind::Finished, message }),
                Err(message) => {
                    log(Event { step: index, kind: EventKind::Failed, message: message.clone() });
                    return Err(fail(message));
                }
            }
        }
        Ok(())
    }

    /// Runs one step; what it did, or why it failed.
    fn step(&mut self, step: &Step, log: &mut dyn FnMut(Event)) -> Result<String, String> {
        if let Action::Unsupported { name, reason } = &step.action {
            return Err(format!("`{name}` does not run in Portolan: {reason}"));
        }
        let input = render_step_input(self.renderer, step, &self.context).map_err(|e| e.to_string())?;
        let text = |key: &str| input.get(key).and_then(Json::as_str).filter(|s| !s.is_empty());
        match &step.action {
            Action::FetchTemplate | Action::FetchPlain => {
                let written =
                    fetch_into(self.bundle, self.renderer, &self.context, &step.action, &input, &mut self.workspace)
                        .map_err(|e| e.to_string())?;
                // The descriptor may have changed: it is checked again before it leaves.
                self.stamped = None;
                Ok(format!("{written} files rendered into the workspace ({} in all)", self.workspace.len()))
            }
            Action::DebugLog => {
                if let Some(message) = text("message") {
                    log(Event { step: Some(step.index), kind: EventKind::Log, message: message.to_owned() });
                }
                if input.get("listWorkspace").is_some_and(|v| v.as_bool() == Some(true) || v.is_string()) {
                    for path in self.workspace.paths() {
                        log(Event { step: Some(step.index), kind: EventKind::Log, message: path.to_string() });
                    }
                }
                Ok("logged".to_owned())
            }
            Action::PublishGit => self.publish_git(step, &input),
            Action::PublishArchive => self.publish_archive(step, &input),
            Action::CatalogRegister => self.register(step, &input),
            Action::Unsupported { .. } => Err("not supported".to_owned()),
        }
    }

    /// The part of the workspace a publish step takes (`sourcePath`), stamped first when the template registers.
    fn source(&mut self, input: &Json) -> Result<FileTree, String> {
        self.stamp_descriptor()?;
        let Some(source) = input.get("sourcePath").and_then(Json::as_str).filter(|s| !s.is_empty()) else {
            return Ok(self.workspace.clone());
        };
        let Some(prefix) = RelativePath::parse_target(source).map_err(|e| format!("sourcePath `{source}` {e}"))? else {
            return Ok(self.workspace.clone());
        };
        let mut tree = FileTree::new(self.limits);
        let prefix = format!("{prefix}/");
        for (path, contents) in self.workspace.iter() {
            if let Some(rest) = path.as_str().strip_prefix(&prefix) {
                let rest = RelativePath::parse(rest).map_err(|e| e.to_string())?;
                tree.insert(rest, contents.to_vec(), true).map_err(|e| e.to_string())?;
            }
        }
        if tree.is_empty() {
            return Err(format!("sourcePath `{source}` holds no file of the workspace"));
        }
        Ok(tree)
    }

    /// Checks and stamps the descriptor of the first `catalog:register` step, once, before anything leaves.
    fn stamp_descriptor(&mut self) -> Result<(), String> {
        if self.stamped.is_none() {
            self.stamped = stamp_workspace(self.template, &mut self.workspace)?;
        }
        Ok(())
    }

    fn publish_git(&mut self, step: &Step, input: &Json) -> Result<String, String> {
        let repo_url = input.get("repoUrl").and_then(Json::as_str).ok_or("input.repoUrl is required")?;
        let parsed = RepoUrl::parse(repo_url)?;
        let mut relative = Vec::new();
        if let Some(owner) = parsed.owner.as_deref().filter(|o| !o.is_empty()) {
            // An OwnerPicker value is an entity ref: the folder is the group's name.
            relative.push(owner.rsplit(['/', ':']).next().unwrap_or(owner).to_owned());
        }
        relative.push(parsed.repo.clone());
        for segment in &relative {
            let checked = RelativePath::parse(segment).map_err(|e| format!("repoUrl `{repo_url}`: `{segment}` {e}"))?;
            if checked.as_str().contains('/') || segment.starts_with('.') {
                return Err(format!("repoUrl `{repo_url}`: `{segment}` is not a plain folder name"));
            }
        }
        let tree = self.source(input)?;
        let dest = self.env.repositories.join(relative.join("/"));
        let text = |key: &str, default: &str| -> String {
            input.get(key).and_then(Json::as_str).filter(|s| !s.is_empty()).unwrap_or(default).to_owned()
        };
        let commit = CommitInfo {
            message: text("gitCommitMessage", "Initial commit"),
            author_name: text("gitAuthorName", self.env.author_name),
            author_email: text("gitAuthorEmail", self.env.author_email),
            branch: text("defaultBranch", "main"),
            task_id: Some(self.env.task_id.to_owned()),
        };
        let published = publish::publish_git(&tree, &dest, &commit).map_err(|e| e.to_string())?;
        let contents = format!("file://{}", published.path.display());
        let remote = match self.env.remote_base {
            Some(base) => format!("{}/{}", base.trim_end_matches('/'), relative.join("/")),
            None => contents.clone(),
        };
        let message = format!(
            "{} files committed to {} ({}, branch {}){}",
            tree.len(),
            published.path.display(),
            &published.commit[..published.commit.len().min(12)],
            published.branch,
            if published.already_existed { "; it was made by an earlier attempt of this task" } else { "" },
        );
        self.set_output(
            step,
            json!({"remoteUrl": remote, "repoContentsUrl": contents, "commitHash": published.commit}),
        );
        self.made.push(Made::Repository(published));
        Ok(message)
    }

    fn publish_archive(&mut self, step: &Step, input: &Json) -> Result<String, String> {
        let tree = self.source(input)?;
        let name =
            input.get("name").and_then(Json::as_str).filter(|s| !s.is_empty()).unwrap_or(self.template.name.as_str());
        let bytes = publish::archive(&tree, name).map_err(|e| e.to_string())?;
        let file_name = format!("{name}.tar.gz");
        let message = format!("{} files packed into {file_name} ({} bytes)", tree.len(), bytes.len());
        self.set_output(step, json!({"archiveUrl": self.env.archive_url, "fileName": file_name}));
        self.outcome.archive = Some((file_name, bytes));
        Ok(message)
    }

    fn register(&mut self, step: &Step, input: &Json) -> Result<String, String> {
        self.stamp_descriptor()?;
        let Some((relative, stamped)) = self.stamped.clone() else {
            return Ok("skipped: the workspace has no descriptor and the step is optional".to_owned());
        };
        let file = if let Some(url) = input.get("catalogInfoUrl").and_then(Json::as_str).filter(|s| !s.is_empty()) {
            self.published_file(url, "")?
        } else if let Some(url) = input.get("repoContentsUrl").and_then(Json::as_str).filter(|s| !s.is_empty()) {
            self.published_file(url, relative.as_str())?
        } else {
            // Nothing published where the catalog can read it (an archive): Portolan keeps the descriptor itself.
            let folder = self.env.repositories.join(".registered").join(self.env.task_id);
            std::fs::create_dir_all(&folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
            self.made.push(Made::Folder(folder.clone()));
            let file = folder.join("catalog-info.yaml");
            std::fs::write(&file, &stamped.text).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            file
        };
        let refs = self.env.registrar.register(&file)?;
        self.made.push(Made::Registered(file.clone()));
        let missing: Vec<&String> = stamped.entity_refs.iter().filter(|r| !refs.contains(r)).collect();
        if !missing.is_empty() {
            return Err(format!(
                "{} is registered but the catalog did not take {}",
                file.display(),
                missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        let entity_ref = stamped
            .entity_refs
            .iter()
            .find(|r| r.starts_with("component:"))
            .or(stamped.entity_refs.first())
            .cloned()
            .unwrap_or_default();
        self.set_output(step, json!({"entityRef": entity_ref, "catalogInfoUrl": format!("file://{}", file.display())}));
        self.outcome.registered.extend(stamped.entity_refs.iter().cloned());
        Ok(format!("{} registered from {}", stamped.entity_refs.join(", "), file.display()))
    }

    /// The file at `path` inside what a publish step of this run wrote (`file://` URLs only).
    fn published_file(&self, url: &str, path: &str) -> Result<PathBuf, String> {
        let base = url
            .strip_prefix("file://")
            .ok_or_else(|| format!("`{url}` is not a repository this run published; Portolan registers those"))?;
        let joined = if path.is_empty() { PathBuf::from(base) } else { Path::new(base).join(path) };
        let inside = self.made.iter().any(|made| matches!(made, Made::Repository(p) if joined.starts_with(&p.path)));
        if !inside || joined.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
            return Err(format!("`{}` is not inside a repository this run published", joined.display()));
        }
        Ok(joined)
    }

    fn set_output(&mut self, step: &Step, output: Json) {
        if let Some(id) = &step.id {
            self.context.set_step_output(id, output.clone());
        }
        if let (Json::Object(all), Json::Object(new)) = (&mut self.outcome.output, output.clone()) {
            all.extend(new);
        } else if self.outcome.output.is_null() {
            self.outcome.output = output;
        }
    }

    /// The run's output: what the steps said plus the template's links, rendered (a link that cannot render is
    /// left out, not a failure: everything is made by then).
    fn output(&self) -> Json {
        let mut output = match &self.outcome.output {
            Json::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        let mut links = Vec::new();
        for (i, link) in self.template.output.links.iter().enumerate() {
            let raw = json!({"title": link.title, "icon": link.icon, "url": link.url, "entityRef": link.entity_ref});
            if let Ok(Some(rendered)) =
                self.renderer.render_input(&format!("spec.output.links[{i}]"), &raw, &self.context)
            {
                let has_target = ["url", "entityRef"]
                    .iter()
                    .any(|k| rendered.get(*k).and_then(Json::as_str).is_some_and(|s| !s.is_empty()));
                if has_target {
                    links.push(rendered);
                }
            }
        }
        output.insert("links".to_owned(), Json::Array(links));
        Json::Object(output)
    }

    /// Undoes what was made outside, newest first; each undo is logged.
    fn undo(&mut self, log: &mut dyn FnMut(Event)) {
        while let Some(made) = self.made.pop() {
            let (what, result) = match made {
                Made::Repository(published) => (
                    format!("repository {}", published.path.display()),
                    publish::remove_published(&published).map_err(|e| e.to_string()),
                ),
                Made::Folder(folder) => (
                    format!("folder {}", folder.display()),
                    std::fs::remove_dir_all(&folder).map_err(|e| e.to_string()),
                ),
                Made::Registered(file) => {
                    // The file goes with its repository or folder, undone next; the catalog forgets it first.
                    let _ = std::fs::remove_file(&file);
                    (format!("registration of {}", file.display()), self.env.registrar.unregister(&file))
                }
            };
            let message = match result {
                Ok(()) => format!("undone: {what}"),
                Err(e) => format!("could not undo {what}: {e}"),
            };
            log(Event { step: None, kind: EventKind::Log, message });
        }
    }
}

/// Checks and stamps, in the workspace, the descriptor the template's first `catalog:register` step names (see
/// [`crate::register`]): what a run does before anything leaves the process, and what `portolan scaffold` writes.
/// `None` when the template registers nothing, or its descriptor is missing and the step is `optional`.
pub fn stamp_workspace(
    template: &Template,
    workspace: &mut FileTree,
) -> Result<Option<(RelativePath, Stamped)>, String> {
    let Some(step) = template.steps.iter().find(|s| s.action == Action::CatalogRegister) else {
        return Ok(None);
    };
    let path = descriptor_path(step);
    let relative = RelativePath::parse(path.trim_start_matches('/')).map_err(|e| format!("catalogInfoPath {e}"))?;
    let optional = step.input.get("optional").and_then(Json::as_bool).unwrap_or(false);
    let Some(text) = workspace.text(relative.as_str()) else {
        if optional {
            return Ok(None);
        }
        return Err(format!("the workspace has no {relative} to register (catalog:register's catalogInfoPath)"));
    };
    let stamped =
        register::stamp(relative.as_str(), text, &template.entity_ref.to_string(), &template.version.to_string())
            .map_err(|e| e.to_string())?;
    workspace.insert(relative.clone(), stamped.text.clone().into_bytes(), true).map_err(|e| e.to_string())?;
    Ok(Some((relative, stamped)))
}

/// The descriptor a `catalog:register` step names inside the workspace.
fn descriptor_path(step: &Step) -> String {
    step.input_str("catalogInfoPath").filter(|p| !p.contains("${{")).unwrap_or("/catalog-info.yaml").to_owned()
}
