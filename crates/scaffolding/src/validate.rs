//! `validate_template`: everything about a template folder that can be known without running it — the folder itself
//! (read as a [`Bundle`]: no links, within the limits), the template file ([`crate::template`]), its form
//! ([`crate::form`]), the templates inside its steps, and every skeleton folder its fetch steps name (inside the
//! template, every file's template parsing). What `portolan validate` prints for a template. [`validate_bundle`] does
//! the same for a template already in memory.

use std::fmt;
use std::path::{Path, PathBuf};

use catalog::descriptor::Problem;
use catalog::entity::Kind;
use catalog::yaml::{Limits as YamlLimits, Pos, parse_documents};
use serde_json::Value as Json;

use crate::bundle::Bundle;
use crate::render::{Renderer, is_templated};
use crate::skeleton::{Fetch, Limits};
use crate::template::{Action, Step, Template, UnsupportedStep, read_template};

/// The file a template folder holds.
pub const TEMPLATE_FILE: &str = "template.yaml";

/// A template file larger than this is refused unread.
pub const MAX_TEMPLATE_BYTES: u64 = 4 * 1024 * 1024;

/// What validating one template found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The template file read.
    pub file: PathBuf,
    /// The template, when it has no error.
    pub template: Option<Template>,
    /// Errors and warnings, in the order of the file.
    pub problems: Vec<Problem>,
    /// The steps Portolan does not run, and why; the rest of the template is checked all the same.
    pub unsupported: Vec<UnsupportedStep>,
}

impl Report {
    /// No errors (warnings and unsupported steps allowed).
    pub fn is_valid(&self) -> bool {
        self.template.is_some() && self.errors().next().is_none()
    }

    /// Valid, and every step can run here.
    pub fn is_runnable(&self) -> bool {
        self.is_valid() && self.unsupported.is_empty()
    }

    /// The problems that make the template invalid (the others are warnings).
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.is_error())
    }
}

impl fmt::Display for Report {
    /// One `path:line:col: message` line per problem.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in &self.problems {
            writeln!(f, "{}:{problem}", self.file.display())?;
        }
        Ok(())
    }
}

/// Validates the template in a folder (its `template.yaml`) or in a file, with the default limits.
pub fn validate_template(path: &Path) -> Report {
    validate_template_with(path, &Renderer::default(), &Limits::default())
}

/// [`validate_template`] with a renderer and limits of one's own; the limits bound the files of the folder.
pub fn validate_template_with(path: &Path, renderer: &Renderer, limits: &Limits) -> Report {
    let file = if path.is_dir() { path.join(TEMPLATE_FILE) } else { path.to_owned() };
    match Bundle::read(path, limits) {
        Ok(bundle) => validate_bundle(&bundle, &file, renderer, limits),
        Err(e) => Report {
            file,
            template: None,
            problems: vec![Problem::error(e.pos(), e.to_string())],
            unsupported: Vec::new(),
        },
    }
}

/// Validates a template in memory, as [`validate_template_with`] does a folder; `file` names it in the report. A
/// bundle that [`Bundle::check`] refuses (only one built by hand) is an error at the top of the file.
pub fn validate_bundle(bundle: &Bundle, file: &Path, renderer: &Renderer, limits: &Limits) -> Report {
    let mut report = Report { file: file.to_owned(), template: None, problems: Vec::new(), unsupported: Vec::new() };
    if let Err(e) = bundle.check(limits) {
        report.problems.push(Problem::error(e.pos(), e.to_string()));
    }
    let doc = match read_document(&bundle.definition) {
        Ok(doc) => doc,
        Err(problem) => {
            report.problems.push(problem);
            return report;
        }
    };
    let reading = read_template(&doc);
    report.problems.extend(reading.problems);
    report.unsupported = reading.unsupported;
    for step in &reading.steps {
        check_fetch(step, bundle, renderer, &mut report.problems);
    }
    report.problems.sort_by_key(|p| (p.line, p.col));
    if report.errors().next().is_none() {
        report.template = reading.template;
    }
    report
}

/// Reads the text of a template file, without looking at any folder (see [`validate_bundle`] for that): the
/// template, when the text has no error, and the problems found either way.
pub fn read_template_text(text: &str) -> (Option<Template>, Vec<Problem>) {
    match read_document(text) {
        Ok(doc) => Template::read(&doc),
        Err(problem) => (None, vec![problem]),
    }
}

/// The one Template document of a template file's text.
fn read_document(text: &str) -> Result<catalog::yaml::Node, Problem> {
    let start = Pos::new(1, 1);
    let docs = parse_documents(text, YamlLimits::default()).map_err(|e| Problem::error(e.pos, e.message))?;
    let mut templates = docs.into_iter().filter(|doc| {
        !doc.is_null()
            && doc.get("kind").and_then(|k| k.as_str()).is_none_or(|k| Kind::parse(k) == Some(Kind::Template))
    });
    let first = templates.next().ok_or_else(|| Problem::error(start, "the file holds no Template document"))?;
    if let Some(second) = templates.next() {
        return Err(Problem::error(second.pos, "the file holds more than one Template document; keep one per file"));
    }
    Ok(first)
}

/// A fetch step's folder: inside the template, not empty, every template in it parsing.
fn check_fetch(step: &Step, bundle: &Bundle, renderer: &Renderer, problems: &mut Vec<Problem>) {
    if !matches!(step.action, Action::FetchTemplate | Action::FetchPlain) {
        return;
    }
    let Some(url) = step.input_str("url") else {
        return;
    };
    let path = format!("spec.steps[{}].input.url", step.index);
    let pos = step.input_pos.get("url").copied().unwrap_or(step.pos);
    if is_templated(url) {
        problems.push(Problem::warning(
            pos,
            format!("{path}: the folder is chosen when the template runs; not checked now"),
        ));
        return;
    }
    let skeleton = match bundle.skeleton(url) {
        Ok(skeleton) => skeleton,
        Err(e) => {
            problems.push(Problem::error(pos, format!("{path}: {e}")));
            return;
        }
    };
    // Options written as templates are known only when the step runs; the written ones shape the check.
    let literal: serde_json::Map<String, Json> = step
        .input
        .as_object()
        .map(|input| {
            input
                .iter()
                .filter(|(_, v)| !v.as_str().is_some_and(is_templated))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let Ok(fetch) = Fetch::from_input(&step.action, &Json::Object(literal)) else {
        return;
    };
    for error in skeleton.check(renderer, &fetch) {
        problems.push(Problem::error(pos, format!("{path}: {error}")));
    }
}
