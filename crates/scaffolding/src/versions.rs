//! Template versions and drift.
//!
//! Every version of a template ever ingested is kept with its whole folder (see [`crate::bundle`]), keyed by its
//! `portolan.dev/version`. After each catalog refresh, [`sync`] reads every Template entity's folder again and keeps
//! what is new; a version whose files changed without a new version number is kept with the newer files and said
//! loudly. Which version is the latest is semver's call. A service's drift is where its
//! `portolan.dev/template-version` stands among the versions known: up to date, N versions behind, or not from a
//! known template — [`drift`], a pure function.

use std::path::Path;

use catalog::entity::EntityRef;
use chrono::NaiveDateTime;
use semver::Version;
use serde::Serialize;
use store::templates::{self, Saved, VersionForm, VersionSummary};
use store::{DbConnection, QueryResult};

use crate::bundle::Bundle;
use crate::render::Renderer;
use crate::skeleton::Limits;
use crate::template::Template;
use crate::validate::validate_bundle;

/// The pure drift of a service against its template lives in the catalog, whose "Golden path" facet counts it.
pub use catalog::golden_path::{Drift, drift, template_ref};

/// What [`sync`] found.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// Templates read (valid or not).
    pub templates: usize,
    /// `(template ref, version)` kept for the first time.
    pub new: Vec<(String, String)>,
    /// `(template ref, version)` whose files changed without a new version number.
    pub changed: Vec<(String, String)>,
    /// `(file, message)`: templates that could not be kept (their earlier versions stay).
    pub problems: Vec<(String, String)>,
}

/// Reads the folder of every Template in the catalog and keeps each version not kept yet. When it kept a new or
/// changed version, it moves the catalog generation, so that the catalog index counts drift against it.
pub fn sync(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<SyncReport> {
    let mut report = SyncReport::default();
    let limits = Limits::default();
    let renderer = Renderer::default();
    for (entity_ref, path) in store::entities::files_of_kind(conn, "Template")? {
        report.templates += 1;
        let file = Path::new(&path);
        let bundle = match Bundle::read(file, &limits) {
            Ok(bundle) => bundle,
            Err(e) => {
                report.problems.push((path.clone(), e.to_string()));
                continue;
            }
        };
        // An unchanged version is known by its hash: no need to compile every template in it or pack it again.
        if let (Some(known), _) = crate::validate::read_template_text(&bundle.definition)
            && known.entity_ref.to_string() == entity_ref
            && templates::content_hash(
                conn,
                known.entity_ref.namespace(),
                known.entity_ref.name(),
                &known.version.to_string(),
            )?
            .is_some_and(|hash| hash == bundle.content_hash())
        {
            continue;
        }
        let checked = validate_bundle(&bundle, file, &renderer, &limits);
        let first_error = checked.errors().next().map(ToString::to_string);
        let Some(template) = checked.template.filter(|t| t.entity_ref.to_string() == entity_ref) else {
            // The file holds the template that failed, or another one: its errors were reported by the ingest.
            let first = first_error.unwrap_or_else(|| "it holds another template".to_owned());
            report.problems.push((path.clone(), first));
            continue;
        };
        match record(conn, &template, &bundle, &path, now)? {
            Saved::New => report.new.push((entity_ref, template.version.to_string())),
            Saved::Changed => report.changed.push((entity_ref, template.version.to_string())),
            Saved::Same => {}
        }
    }
    if !report.new.is_empty() || !report.changed.is_empty() {
        // The catalog's "Golden path" facet counts drift against the versions kept: a new generation rebuilds it.
        store::stats::increment(conn, store::stats::GENERATION)?;
    }
    Ok(report)
}

/// Keeps one version of a template (the demo's history is recorded this way too).
pub fn record(
    conn: &mut DbConnection,
    template: &Template,
    bundle: &Bundle,
    path: &str,
    now: NaiveDateTime,
) -> QueryResult<Saved> {
    let version = template.version.to_string();
    let tags = serde_json::to_string(&template.tags).unwrap_or_else(|_| "[]".to_owned());
    let packed = bundle.pack();
    let hash = bundle.content_hash();
    let form = VersionForm {
        namespace: template.entity_ref.namespace(),
        name: template.entity_ref.name(),
        version: &version,
        title: template.display_title(),
        description: template.description.as_deref().unwrap_or(""),
        owner: template.owner.as_deref(),
        template_type: &template.template_type,
        tags: &tags,
        path,
        content_hash: &hash,
        bundle: &packed,
    };
    templates::save(conn, &form, now)
}

/// A version as stored, with its semver parsed.
#[derive(Debug, Clone)]
pub struct KnownVersion {
    pub version: Version,
    pub summary: VersionSummary,
}

/// The versions of each template, newest first: `(template ref, versions)`, by ref.
pub fn all_versions(conn: &mut DbConnection) -> QueryResult<Vec<(String, Vec<KnownVersion>)>> {
    let mut grouped: std::collections::BTreeMap<String, Vec<KnownVersion>> = std::collections::BTreeMap::new();
    for summary in templates::all(conn)? {
        let Ok(version) = Version::parse(&summary.version) else {
            continue;
        };
        let key = format!("template:{}/{}", summary.namespace, summary.name);
        grouped.entry(key).or_default().push(KnownVersion { version, summary });
    }
    for versions in grouped.values_mut() {
        versions.sort_by(|a, b| b.version.cmp(&a.version));
    }
    Ok(grouped.into_iter().collect())
}

/// A template the catalog holds, at its latest version: what `/create` lists.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub entity_ref: String,
    pub name: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub owner: Option<String>,
    pub template_type: String,
    pub version: String,
    /// How many versions are kept.
    pub versions: usize,
}

/// The templates in the catalog with a version kept, by title.
pub fn listings(conn: &mut DbConnection) -> QueryResult<Vec<Listing>> {
    let present: std::collections::HashSet<String> =
        store::entities::files_of_kind(conn, "Template")?.into_iter().map(|(entity_ref, _)| entity_ref).collect();
    let mut listings: Vec<Listing> = all_versions(conn)?
        .into_iter()
        .filter(|(entity_ref, _)| present.contains(entity_ref))
        .filter_map(|(entity_ref, versions)| {
            let latest = versions.first()?;
            Some(Listing {
                name: latest.summary.name.clone(),
                title: latest.summary.title.clone(),
                description: latest.summary.description.clone(),
                tags: serde_json::from_str(&latest.summary.tags).unwrap_or_default(),
                owner: latest.summary.owner.clone(),
                template_type: latest.summary.template_type.clone(),
                version: latest.version.to_string(),
                versions: versions.len(),
                entity_ref,
            })
        })
        .collect();
    listings.sort_by(|a, b| a.title.to_lowercase().cmp(&b.title.to_lowercase()).then(a.name.cmp(&b.name)));
    Ok(listings)
}

/// The latest kept version of a template, loaded; `None` when none is kept.
pub fn load_latest(conn: &mut DbConnection, template: &EntityRef) -> Result<Option<(Template, Bundle)>, LoadError> {
    let Some(latest) = versions_of(conn, template)?.into_iter().next() else {
        return Ok(None);
    };
    load(conn, template, &latest.to_string()).map(Some)
}

/// The versions of one template, newest first.
pub fn versions_of(conn: &mut DbConnection, template: &EntityRef) -> QueryResult<Vec<Version>> {
    let mut versions: Vec<Version> = templates::versions_of(conn, template.namespace(), template.name())?
        .iter()
        .filter_map(|v| Version::parse(&v.version).ok())
        .collect();
    versions.sort_by(|a, b| b.cmp(a));
    Ok(versions)
}

/// Why a stored version could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Query(#[from] store::QueryError),
    #[error("template {template} has no version {version}")]
    Missing { template: String, version: String },
    #[error("template {template} {version} is stored but cannot be read: {reason}")]
    Corrupt { template: String, version: String, reason: String },
}

/// One stored version, unpacked and read: what a task runs and what drift renders.
pub fn load(conn: &mut DbConnection, template: &EntityRef, version: &str) -> Result<(Template, Bundle), LoadError> {
    let missing = || LoadError::Missing { template: template.to_string(), version: version.to_owned() };
    let packed = templates::bundle(conn, template.namespace(), template.name(), version)?.ok_or_else(missing)?;
    let corrupt =
        |reason: String| LoadError::Corrupt { template: template.to_string(), version: version.to_owned(), reason };
    let limits = Limits::default();
    let bundle = Bundle::unpack(&packed, &limits).map_err(|e| corrupt(e.to_string()))?;
    let checked = validate_bundle(&bundle, Path::new(crate::validate::TEMPLATE_FILE), &Renderer::default(), &limits);
    let first_error = checked.errors().next().map(ToString::to_string);
    let template =
        checked.template.ok_or_else(|| corrupt(first_error.unwrap_or_else(|| "it does not validate".to_owned())))?;
    Ok((template, bundle))
}
