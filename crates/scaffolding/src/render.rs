//! The sandboxed renderer: minijinja configured for Backstage's template syntax — `${{ … }}` for values, Nunjucks-style
//! `{% if %}`/`{% for %}` blocks, `{# … #}` comments — with the filters Backstage templates use (`parseRepoUrl`,
//! `parseEntityRef`, `pick`, `projectSlug`, `dump`, besides minijinja's own `lower`, `upper`, `replace`, …).
//!
//! The sandbox: the environment has no loader, so a template reads no file (`{% include %}`, `{% import %}` and
//! `{% extends %}` fail with a clear error) and sees no environment variable, only the [`Context`] it is given. Every
//! render has a fuel budget (minijinja counts instructions and the bytes a template builds, so a loop without end or a
//! string bomb stops), an output cap checked as the output is written, and a recursion limit. Auto-escaping is off:
//! the output is source code, not HTML.

use std::collections::BTreeSet;
use std::fmt;
use std::io;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior, Value};
use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::Values;

/// Bounds on one render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// minijinja fuel per render: about one unit per instruction and one per 64 bytes a template builds or writes,
    /// so it bounds both time and memory.
    pub fuel: u64,
    /// The largest output of one render, in bytes.
    pub max_output_bytes: usize,
    /// How deeply macros, loops and blocks may nest while rendering.
    pub recursion: usize,
}

impl Default for Limits {
    /// A million units of fuel (about 64 MB built at most, well under a second), 10 MiB of output, 200 levels.
    fn default() -> Self {
        Limits { fuel: 1_000_000, max_output_bytes: 10 * 1024 * 1024, recursion: 200 }
    }
}

/// What went wrong while rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderErrorKind {
    /// The template does not parse.
    Syntax,
    /// The fuel budget ran out: the template loops too long or builds too much.
    OutOfFuel,
    /// The output grew past the cap.
    OutputTooLarge,
    /// The template tried to include, import or extend another file.
    NoFileAccess,
    /// Anything else: an unknown filter, a filter refusing its input, the recursion limit, …
    Failed,
}

/// A render that failed, naming the template (a skeleton file, a file name, a field of template.yaml) and the line
/// inside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RenderError {
    /// What was being rendered: a skeleton file's path, or a field path such as `spec.steps[0].input.values.name`.
    pub name: String,
    /// The line inside that template, counted from 1, when known.
    pub line: Option<usize>,
    pub kind: RenderErrorKind,
    pub message: String,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.name, self.message),
            None => write!(f, "{}: {}", self.name, self.message),
        }
    }
}

/// What a template can see: `parameters` (the form's values), `values` (a `fetch:template` step's values) and
/// `steps.<id>.output` (what earlier steps produced). Nothing else: no environment, no files.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Context {
    parameters: Values,
    values: Values,
    steps: Values,
}

impl Context {
    /// A context holding the form's values as `parameters`.
    pub fn new(parameters: Values) -> Context {
        Context { parameters, ..Context::default() }
    }

    /// The same context with `values` set, as a `fetch:template` step renders its skeleton.
    pub fn with_values(mut self, values: Values) -> Context {
        self.values = values;
        self
    }

    /// Makes a finished step's output visible as `steps.<id>.output`.
    pub fn set_step_output(&mut self, step_id: &str, output: Json) {
        let mut step = Map::new();
        step.insert("output".to_owned(), output);
        self.steps.insert(step_id.to_owned(), Json::Object(step));
    }

    pub fn parameters(&self) -> &Values {
        &self.parameters
    }

    pub fn values(&self) -> &Values {
        &self.values
    }

    pub(crate) fn to_value(&self) -> Value {
        Value::from(Serde(self))
    }
}

/// The template engine, configured once and shared; cloning is cheap enough to vary the block whitespace per step.
#[derive(Clone)]
pub struct Renderer {
    env: Environment<'static>,
    limits: Limits,
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renderer").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new(Limits::default())
    }
}

impl Renderer {
    /// A renderer with the Backstage syntax, the filters and the sandbox, bounded by `limits`.
    pub fn new(limits: Limits) -> Renderer {
        let mut env = Environment::new();
        set_syntax(&mut env, false, false);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // Nunjucks lets `a.b.c` through when `a` is undefined; so do Backstage templates.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_fuel(Some(limits.fuel));
        env.set_recursion_limit(limits.recursion);
        env.add_filter("dump", filters::dump);
        env.add_filter("parseRepoUrl", filters::parse_repo_url);
        env.add_filter("parseEntityRef", filters::parse_entity_ref);
        env.add_filter("pick", filters::pick);
        env.add_filter("projectSlug", filters::project_slug);
        Renderer { env, limits }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The same renderer with Nunjucks' `trimBlocks` and `lstripBlocks` set, as a `fetch:template` step may ask.
    pub fn with_block_whitespace(&self, trim_blocks: bool, lstrip_blocks: bool) -> Renderer {
        let mut renderer = self.clone();
        set_syntax(&mut renderer.env, trim_blocks, lstrip_blocks);
        renderer
    }

    /// Renders a template text; `name` is what errors call it (a file's path, a field's path).
    pub fn render(&self, name: &str, source: &str, context: &Context) -> Result<String, RenderError> {
        self.render_capped(name, source, &context.to_value(), self.limits.max_output_bytes).map(|(text, _)| text)
    }

    /// Renders with an output cap below the configured one (what is left of a file tree's budget, a file name);
    /// returns the output and the fuel it used.
    pub(crate) fn render_capped(
        &self,
        name: &str,
        source: &str,
        context: &Value,
        cap: usize,
    ) -> Result<(String, u64), RenderError> {
        let cap = cap.min(self.limits.max_output_bytes);
        let template = self.env.template_from_named_str(name, source).map_err(|e| self.convert(name, &e))?;
        let mut out = CappedOutput { bytes: Vec::new(), cap, overflowed: false };
        match template.render_captured_to(context.clone(), &mut out) {
            Ok(captured) => {
                let fuel = captured.state().fuel_levels().map_or(0, |(consumed, _)| consumed);
                let text = String::from_utf8(out.bytes).map_err(|_| RenderError {
                    name: name.to_owned(),
                    line: None,
                    kind: RenderErrorKind::Failed,
                    message: "the output is not UTF-8".to_owned(),
                })?;
                Ok((text, fuel))
            }
            Err(_) if out.overflowed => Err(RenderError {
                name: name.to_owned(),
                line: None,
                kind: RenderErrorKind::OutputTooLarge,
                message: format!("the output is larger than the limit of {cap} bytes"),
            }),
            Err(e) => Err(self.convert(name, &e)),
        }
    }

    /// Renders a step's input the way Backstage does: every string inside is a template; a string that is one
    /// `${{ expression }}` keeps the expression's type (a list stays a list, `parseRepoUrl` gives a mapping); a value
    /// that renders to nothing (undefined, or an empty string) is left out. `None` when the whole input is left out.
    pub fn render_input(&self, name: &str, input: &Json, context: &Context) -> Result<Option<Json>, RenderError> {
        self.input_value(name, input, &context.to_value())
    }

    fn input_value(&self, name: &str, input: &Json, context: &Value) -> Result<Option<Json>, RenderError> {
        match input {
            Json::String(text) => self.input_string(name, text, context),
            Json::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    out.push(self.input_value(&format!("{name}[{i}]"), item, context)?.unwrap_or(Json::Null));
                }
                Ok(Some(Json::Array(out)))
            }
            Json::Object(entries) => {
                let mut out = Map::new();
                for (key, value) in entries {
                    if let Some(value) = self.input_value(&format!("{name}.{key}"), value, context)? {
                        out.insert(key.clone(), value);
                    }
                }
                Ok(Some(Json::Object(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    fn input_string(&self, name: &str, text: &str, context: &Value) -> Result<Option<Json>, RenderError> {
        if let Some(expression) = single_expression(text) {
            let compiled = self.env.compile_expression(expression).map_err(|e| self.convert(name, &e))?;
            let value = compiled.eval(context.clone()).map_err(|e| self.convert(name, &e))?;
            if value.is_undefined() {
                return Ok(None);
            }
            let json = serde_json::to_value(&value).map_err(|e| RenderError {
                name: name.to_owned(),
                line: None,
                kind: RenderErrorKind::Failed,
                message: format!("the value cannot be written as JSON: {e}"),
            })?;
            return Ok(Some(json));
        }
        if !is_templated(text) {
            return Ok(Some(Json::String(text.to_owned())));
        }
        let (rendered, _) = self.render_capped(name, text, context, self.limits.max_output_bytes)?;
        Ok((!rendered.is_empty()).then_some(Json::String(rendered)))
    }

    /// Parses a template without rendering it: its syntax errors, with their lines.
    pub fn check(&self, name: &str, source: &str) -> Result<(), RenderError> {
        self.env.template_from_named_str(name, source).map(|_| ()).map_err(|e| self.convert(name, &e))
    }

    /// The variables a template reads from its context, as dotted paths (`parameters.name`,
    /// `steps.publish.output.remoteUrl`); empty when it does not parse.
    pub fn references(&self, source: &str) -> BTreeSet<String> {
        match single_expression(source) {
            Some(expression) => self
                .env
                .compile_expression(expression)
                .map(|e| e.undeclared_variables(true).into_iter().collect())
                .unwrap_or_default(),
            None => self
                .env
                .template_from_str(source)
                .map(|t| t.undeclared_variables(true).into_iter().collect())
                .unwrap_or_default(),
        }
    }

    fn convert(&self, name: &str, error: &Error) -> RenderError {
        let detail = error.detail().unwrap_or_default();
        let (kind, message) = match error.kind() {
            ErrorKind::SyntaxError => (RenderErrorKind::Syntax, format!("syntax error: {detail}")),
            ErrorKind::OutOfFuel => (
                RenderErrorKind::OutOfFuel,
                format!(
                    "rendering stopped when it had used its budget of {} units of work: the template loops too long \
                     or builds too much",
                    self.limits.fuel
                ),
            ),
            ErrorKind::TemplateNotFound | ErrorKind::BadInclude => (
                RenderErrorKind::NoFileAccess,
                format!("templates cannot include, import or extend other files ({detail})"),
            ),
            other if detail.is_empty() => (RenderErrorKind::Failed, other.to_string()),
            other => (RenderErrorKind::Failed, format!("{other}: {detail}")),
        };
        RenderError { name: name.to_owned(), line: error.line(), kind, message }
    }
}

fn set_syntax(env: &mut Environment<'static>, trim_blocks: bool, lstrip_blocks: bool) {
    // Nunjucks keeps a template's last newline (Jinja drops it); files must come out as they were written.
    let syntax = SyntaxConfig::builder()
        .variable_delimiters("${{", "}}")
        .trim_blocks(trim_blocks)
        .lstrip_blocks(lstrip_blocks)
        .keep_trailing_newline(true)
        .build();
    // The delimiters are constants that minijinja accepts; the tests render `${{ }}` to prove it.
    if let Ok(syntax) = syntax {
        env.set_syntax(syntax);
    }
}

/// Whether a text holds template markup at all.
pub(crate) fn is_templated(text: &str) -> bool {
    text.contains("${{") || text.contains("{%") || text.contains("{#")
}

/// The expression of a text that is exactly one `${{ expression }}`.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("${{")?.strip_suffix("}}")?;
    (!inner.contains("}}") && !inner.contains("${{") && !inner.trim().is_empty()).then_some(inner)
}

/// A writer that refuses to grow past its cap, so a template cannot fill the memory with output.
struct CappedOutput {
    bytes: Vec<u8>,
    cap: usize,
    overflowed: bool,
}

impl io::Write for CappedOutput {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.bytes.len().saturating_add(data.len()) > self.cap {
            self.overflowed = true;
            return Err(io::Error::other("output limit reached"));
        }
        self.bytes.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A repository location as Backstage's `RepoUrlPicker` writes it: `host?owner=…&repo=…` (GitLab and Bitbucket add
/// `organization`, `workspace`, `project`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoUrl {
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub repo: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

impl RepoUrl {
    /// Reads `host?owner=…&repo=…`; the reason when it is not one, written for the person who typed it.
    pub fn parse(text: &str) -> Result<RepoUrl, String> {
        const FORM: &str =
            "a repository location is written host?owner=…&repo=… (for example github.com?owner=team&repo=name)";
        if text.contains("://") {
            return Err(format!("`{text}` has a scheme; {FORM}"));
        }
        let url =
            url::Url::parse(&format!("https://{text}")).map_err(|e| format!("`{text}` is not valid ({e}); {FORM}"))?;
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) if !host.is_empty() => host.to_owned(),
            _ => return Err(format!("`{text}` has no host; {FORM}")),
        };
        let param = |name: &str| {
            url.query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
                .filter(|v| !v.is_empty())
        };
        let Some(repo) = param("repo") else {
            return Err(format!("`{text}` names no repository (repo=…); {FORM}"));
        };
        Ok(RepoUrl {
            host,
            owner: param("owner"),
            repo,
            organization: param("organization"),
            workspace: param("workspace"),
            project: param("project"),
        })
    }

    /// `owner/repo`, as the `projectSlug` filter writes it.
    pub fn slug(&self) -> Option<String> {
        self.owner.as_ref().map(|owner| format!("{owner}/{}", self.repo))
    }
}

mod filters {
    use std::collections::BTreeMap;

    use minijinja::value::{Serde, ValueKind};
    use minijinja::{Error, ErrorKind, Value};
    use serde::Serialize;

    use super::RepoUrl;

    fn invalid(message: String) -> Error {
        Error::new(ErrorKind::InvalidOperation, message)
    }

    /// Nunjucks' `dump`: the value as JSON (`JSON.stringify`), indented when asked; nothing for undefined.
    pub(super) fn dump(value: Value, indent: Option<usize>) -> Result<String, Error> {
        if value.is_undefined() {
            return Ok(String::new());
        }
        let json = serde_json::to_value(&value).map_err(|e| invalid(format!("dump: {e}")))?;
        match indent.filter(|n| *n > 0) {
            None => serde_json::to_string(&json).map_err(|e| invalid(format!("dump: {e}"))),
            Some(spaces) => {
                let indent = " ".repeat(spaces.min(10));
                let mut out = Vec::new();
                let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
                let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
                json.serialize(&mut serializer).map_err(|e| invalid(format!("dump: {e}")))?;
                String::from_utf8(out).map_err(|e| invalid(format!("dump: {e}")))
            }
        }
    }

    pub(super) fn parse_repo_url(text: &str) -> Result<Value, Error> {
        RepoUrl::parse(text).map(|repo| Value::from(Serde(repo))).map_err(|e| invalid(format!("parseRepoUrl: {e}")))
    }

    pub(super) fn project_slug(text: &str) -> Result<String, Error> {
        let repo = RepoUrl::parse(text).map_err(|e| invalid(format!("projectSlug: {e}")))?;
        repo.slug().ok_or_else(|| invalid(format!("projectSlug: `{text}` names no owner (owner=…)")))
    }

    fn attr_string(value: &Value, name: &str) -> Option<String> {
        value.get_attr(name).ok().filter(|v| v.kind() == ValueKind::String).map(|v| v.to_string())
    }

    /// Backstage's `parseEntityRef`: `[kind:][namespace/]name` (or a mapping with those keys) into `kind`,
    /// `namespace` and `name`, with `defaultKind` and `defaultNamespace` from the optional context.
    pub(super) fn parse_entity_ref(value: Value, context: Option<Value>) -> Result<Value, Error> {
        let default_kind = context.as_ref().and_then(|c| attr_string(c, "defaultKind"));
        let default_namespace = context.as_ref().and_then(|c| attr_string(c, "defaultNamespace"));
        let (kind, namespace, name) = match value.kind() {
            ValueKind::String => {
                let text = value.to_string();
                let text = text.trim();
                let slash = text.find('/');
                let colon = text.find(':').filter(|c| slash.is_none_or(|s| *c < s));
                let kind = colon.map(|c| text[..c].to_owned());
                let name_start = match (colon, slash) {
                    (_, Some(s)) => s + 1,
                    (Some(c), None) => c + 1,
                    (None, None) => 0,
                };
                let namespace = slash.map(|s| text[colon.map_or(0, |c| c + 1)..s].to_owned());
                (kind, namespace, Some(text[name_start..].to_owned()))
            }
            ValueKind::Map => {
                (attr_string(&value, "kind"), attr_string(&value, "namespace"), attr_string(&value, "name"))
            }
            _ => return Err(invalid(format!("parseEntityRef: expected an entity reference, found {}", value.kind()))),
        };
        let original = value.to_string();
        let kind = kind.or(default_kind).filter(|k| !k.is_empty()).ok_or_else(|| {
            invalid(format!("parseEntityRef: `{original}` has no kind (write it as kind:name, or pass defaultKind)"))
        })?;
        let namespace = namespace.or(default_namespace).unwrap_or_else(|| "default".to_owned());
        let name = name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| invalid(format!("parseEntityRef: `{original}` has no name")))?;
        if namespace.is_empty() {
            return Err(invalid(format!("parseEntityRef: `{original}` has an empty namespace")));
        }
        let parts = BTreeMap::from([("kind", kind), ("namespace", namespace), ("name", name)]);
        Ok(Value::from(Serde(parts)))
    }

    /// Backstage's `pick` (lodash `get`): the value at a dotted path inside a mapping; undefined when missing.
    pub(super) fn pick(value: Value, path: &str) -> Value {
        let mut current = value;
        for segment in path.split('.') {
            let next = match (current.kind(), segment.parse::<i64>()) {
                (ValueKind::Seq, Ok(index)) => current.get_item(&Value::from(index)),
                _ => current.get_attr(segment),
            };
            match next {
                Ok(next) if !next.is_undefined() => current = next,
                _ => return Value::UNDEFINED,
            }
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn values(json: Json) -> Values {
        match json {
            Json::Object(map) => map,
            _ => Values::new(),
        }
    }

    fn ctx(values_json: Json) -> Context {
        Context::new(values(json!({"name": "checkout", "repoUrl": "github.com?owner=shop&repo=checkout"})))
            .with_values(values(values_json))
    }

    fn render(source: &str) -> Result<String, RenderError> {
        Renderer::default().render("t.txt", source, &ctx(json!({"name": "svc", "list": ["a", "b"]})))
    }

    #[test]
    fn backstage_delimiters_and_nunjucks_blocks() {
        assert_eq!(render("${{ values.name }}-${{ parameters.name }}").expect("renders"), "svc-checkout");
        assert_eq!(render("{% for x in values.list %}[${{ x | upper }}]{% endfor %}").expect("renders"), "[A][B]");
        assert_eq!(render("{% if values.missing %}yes{% else %}no{% endif %}").expect("renders"), "no");
        assert_eq!(render("{{ plain }} and ${{ values.name }}").expect("renders"), "{{ plain }} and svc");
        assert_eq!(render("a\n{#- comment #}\nb\n").expect("renders"), "a\nb\n", "the trailing newline is kept");
        assert_eq!(render("${{ steps.publish.output.remoteUrl }}|").expect("chained undefined"), "|");
        assert_eq!(render("<${{ values.name | replace('s', 'S') | lower }}>").expect("renders"), "<svc>");
    }

    #[test]
    fn backstage_filters() {
        assert_eq!(
            render("${{ (parameters.repoUrl | parseRepoUrl).owner }}/${{ (parameters.repoUrl | parseRepoUrl).repo }}")
                .expect("renders"),
            "shop/checkout"
        );
        assert_eq!(render("${{ parameters.repoUrl | projectSlug }}").expect("renders"), "shop/checkout");
        assert_eq!(render("${{ 'group:ops/team-a' | parseEntityRef | pick('namespace') }}").expect("renders"), "ops");
        assert_eq!(
            render("${{ ('team-a' | parseEntityRef({'defaultKind': 'group'})).kind }}").expect("renders"),
            "group"
        );
        let err = render("${{ 'team-a' | parseEntityRef }}").expect_err("no kind");
        assert!(err.message.contains("has no kind"), "{err}");
        assert_eq!(
            render("${{ values.name | dump }} ${{ values.list | dump }}").expect("renders"),
            "\"svc\" [\"a\",\"b\"]"
        );
        assert_eq!(render("${{ values.nothing | dump }}|").expect("renders"), "|");
        let err = render("${{ 'github.com?owner=x' | parseRepoUrl }}").expect_err("no repo");
        assert!(err.message.contains("names no repository"), "{err}");
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let err = render("line one\n{% if %}\n").expect_err("syntax");
        assert_eq!((err.kind, err.line), (RenderErrorKind::Syntax, Some(2)));
        assert!(err.to_string().starts_with("t.txt:2: syntax error"), "{err}");
        let err = render("a\nb\n${{ values.name | nosuch }}").expect_err("unknown filter");
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("nosuch"), "{err}");
    }

    #[test]
    fn no_file_access() {
        for source in ["{% include 'etc/passwd' %}", "{% import 'x.j2' as x %}", "{% extends 'base' %}"] {
            let err = render(source).expect_err("no loader");
            assert_eq!(err.kind, RenderErrorKind::NoFileAccess, "{source}: {err}");
            assert!(err.message.contains("cannot include, import or extend"), "{err}");
        }
        assert!(render("${{ env }}${{ environ }}").expect("undefined").is_empty());
    }

    #[test]
    fn endless_loops_run_out_of_fuel() {
        let started = std::time::Instant::now();
        let err = render("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}")
            .expect_err("must stop");
        assert_eq!(err.kind, RenderErrorKind::OutOfFuel, "{err}");
        assert!(started.elapsed().as_secs() < 10, "stopped in {:?}", started.elapsed());
        let err = render("{% set s = 'x' * 1000000000 %}${{ s | length }}").expect_err("string bomb");
        assert_eq!(err.kind, RenderErrorKind::OutOfFuel, "{err}");
    }

    #[test]
    fn output_is_capped() {
        let kib = "x".repeat(1024);
        let source =
            format!("{{% for a in range(100000) %}}{{% for b in range(100000) %}}{kib}{{% endfor %}}{{% endfor %}}");
        let err = render(&source).expect_err("gigabytes");
        assert_eq!(err.kind, RenderErrorKind::OutputTooLarge, "{err}");
        assert!(err.message.contains("10485760 bytes"), "{err}");
        let small = Renderer::new(Limits { max_output_bytes: 10, ..Limits::default() });
        assert!(small.render("n", "0123456789", &Context::default()).is_ok());
        let err = small.render("n", "0123456789A", &Context::default()).expect_err("11 bytes");
        assert_eq!(err.kind, RenderErrorKind::OutputTooLarge);
    }

    #[test]
    fn recursion_is_limited() {
        let err = render("{% macro f(n) %}${{ f(n + 1) }}{% endmacro %}${{ f(0) }}").expect_err("recursion");
        assert_eq!(err.kind, RenderErrorKind::Failed, "{err}");
        assert!(err.message.contains("recursion"), "{err}");
    }

    #[test]
    fn inputs_keep_types_and_drop_empties() {
        let renderer = Renderer::default();
        let context = ctx(json!({}));
        let input = json!({
            "destination": "${{ parameters.repoUrl | parseRepoUrl }}",
            "name": "${{ parameters.name }}",
            "description": "This is ${{ parameters.name }}",
            "missing": "${{ parameters.nope }}",
            "later": "${{ steps.publish.output.remoteUrl }}",
            "list": ["${{ parameters.name }}", 3],
            "flag": true
        });
        let rendered = renderer.render_input("input", &input, &context).expect("renders").expect("present");
        assert_eq!(
            rendered,
            json!({
                "destination": {"host": "github.com", "owner": "shop", "repo": "checkout"},
                "name": "checkout",
                "description": "This is checkout",
                "list": ["checkout", 3],
                "flag": true
            })
        );
        let err = renderer.render_input("spec.steps[0].input.x", &json!("${{ a | }}"), &context).expect_err("syntax");
        assert!(err.to_string().starts_with("spec.steps[0].input.x:1: syntax error"), "{err}");
    }

    #[test]
    fn references_are_dotted_paths() {
        let renderer = Renderer::default();
        let refs = renderer.references("${{ parameters.name }} {% for x in parameters.list %}${{ x }}{% endfor %}");
        assert_eq!(refs.into_iter().collect::<Vec<_>>(), vec!["parameters.list", "parameters.name"]);
        let refs = renderer.references("${{ steps.publish.output.remoteUrl }}");
        assert!(refs.contains("steps.publish.output.remoteUrl"), "{refs:?}");
    }

    #[test]
    fn block_whitespace_options() {
        let renderer = Renderer::default().with_block_whitespace(true, true);
        let out = renderer.render("t", "a\n  {% if true %}\nb\n  {% endif %}\nc\n", &Context::default()).expect("ok");
        assert_eq!(out, "a\nb\nc\n");
    }

    #[test]
    fn repo_urls() {
        let repo = RepoUrl::parse("gitlab.example.com:8443?owner=a&repo=b&project=p").expect("valid");
        assert_eq!(repo.host, "gitlab.example.com:8443");
        assert_eq!(repo.slug().as_deref(), Some("a/b"));
        assert_eq!(repo.project.as_deref(), Some("p"));
        assert!(RepoUrl::parse("https://github.com?repo=x").is_err());
        assert!(RepoUrl::parse("?repo=x").is_err());
        assert!(RepoUrl::parse("github.com?owner=a").is_err());
    }
}
