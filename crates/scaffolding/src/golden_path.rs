//! A service against its golden path: which template and version it came from, how far behind the latest it is,
//! and what changed since — the skeleton of both versions rendered with the service's own parameters and diffed.
//!
//! The parameters are those its scaffolder run recorded; for a service made elsewhere (or before Portolan), what the
//! catalog knows of it stands in: its name, description, owner and system, over each form's defaults. The page says
//! which it was.

use catalog::entity::EntityRef;
use semver::Version;
use serde::Serialize;
use serde_json::Value as Json;
use store::{DbConnection, QueryResult};

use crate::Values;
use crate::drift::{TreeDiff, diff_trees};
use crate::render::Renderer;
use crate::skeleton::{Limits, dry_run};
use crate::versions::{self, Drift, LoadError, drift, template_ref};

/// The golden-path card of a service.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The template as the service names it.
    pub template: String,
    /// The template's catalog ref, when the annotation is one.
    pub template_ref: Option<String>,
    /// Its name, for `/create/{name}`.
    pub template_name: Option<String>,
    pub version: Option<String>,
    pub latest_version: Option<String>,
    pub drift: Drift,
}

/// Where a service that names `template` at `version` stands (`None` when it names no template).
pub fn status(conn: &mut DbConnection, template: Option<&str>, version: Option<&str>) -> QueryResult<Option<Status>> {
    let Some(template) = template.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let entity_ref = template_ref(template);
    let known: Vec<Version> = match &entity_ref {
        Some(r) => versions::versions_of(conn, r)?,
        None => Vec::new(),
    };
    let full = entity_ref.as_ref().map(ToString::to_string);
    Ok(Some(Status {
        drift: drift(Some(full.as_deref().unwrap_or(template)), version, &known),
        template: template.to_owned(),
        template_ref: full,
        template_name: entity_ref.as_ref().map(|r| r.name().to_owned()),
        version: version.map(str::to_owned),
        latest_version: known.first().map(ToString::to_string),
    }))
}

/// What changed in the template between a service's version and the latest.
#[derive(Debug, Serialize)]
pub struct Changes {
    pub template: String,
    pub from: String,
    pub to: String,
    /// Whether the parameters are those the service was made with (otherwise taken from its descriptor).
    pub parameters_recorded: bool,
    pub parameters: Values,
    pub diff: TreeDiff,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangesError {
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("{0}")]
    Query(#[from] store::QueryError),
    #[error("the service names no golden-path template")]
    NoTemplate,
    #[error("template {template} {version} cannot be rendered with this service's parameters: {reason}")]
    Render { template: String, version: String, reason: String },
}

/// The skeleton diff between the service's version (`from`) and `to` (the latest when `None`), both rendered with
/// the service's parameters. `entity` is the service's ref; `body` its descriptor.
pub fn changes(
    conn: &mut DbConnection,
    entity: &str,
    body: &Json,
    status: &Status,
    to: Option<&str>,
) -> Result<Changes, ChangesError> {
    let template = status.template_ref.as_deref().ok_or(ChangesError::NoTemplate)?;
    let entity_ref = template_ref(template).ok_or(ChangesError::NoTemplate)?;
    let from = status.version.clone().ok_or(ChangesError::NoTemplate)?;
    let to = to.map(str::to_owned).or_else(|| status.latest_version.clone()).ok_or(ChangesError::NoTemplate)?;
    let recorded = store::registrations::scaffolded(conn, entity)?
        .filter(|row| row.template_ref == template)
        .and_then(|row| serde_json::from_str::<Values>(&row.parameters).ok());
    let parameters_recorded = recorded.is_some();
    let parameters = recorded.unwrap_or_else(|| from_descriptor(body));
    let old = render(conn, &entity_ref, &from, &parameters)?;
    let new = render(conn, &entity_ref, &to, &parameters)?;
    Ok(Changes {
        template: template.to_owned(),
        diff: diff_trees(&old, &new, 3),
        from,
        to,
        parameters_recorded,
        parameters,
    })
}

fn render(
    conn: &mut DbConnection,
    template: &EntityRef,
    version: &str,
    parameters: &Values,
) -> Result<crate::skeleton::FileTree, ChangesError> {
    let (loaded, bundle) = versions::load(conn, template, version)?;
    let failed =
        |reason: String| ChangesError::Render { template: template.to_string(), version: version.to_owned(), reason };
    // Each version's own defaults fill what the service's parameters do not say.
    let mut values = loaded.form.defaults();
    for (key, value) in parameters {
        if loaded.form.field(key).is_some() {
            values.insert(key.clone(), value.clone());
        }
    }
    let renderer = Renderer::default();
    dry_run(&loaded, &bundle, &values, &renderer, &Limits::default())
        .map(|run| run.files)
        .map_err(|e| failed(e.to_string()))
}

/// Parameters a service's descriptor suggests: `name`, `description`, `owner`, `system`.
fn from_descriptor(body: &Json) -> Values {
    let mut values = Values::new();
    let mut put = |key: &str, value: Option<&Json>| {
        if let Some(text) = value.and_then(Json::as_str).filter(|s| !s.is_empty()) {
            values.insert(key.to_owned(), Json::String(text.to_owned()));
        }
    };
    put("name", body.pointer("/metadata/name"));
    put("description", body.pointer("/metadata/description"));
    put("owner", body.pointer("/spec/owner"));
    put("system", body.pointer("/spec/system"));
    values
}
