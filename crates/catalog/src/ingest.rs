//! Ingestion: from root paths (files or folders) to stored entities.
//!
//! Two passes. The first walks everything reachable (folders recursively, Location targets and globs) and decides per
//! file, by a hash of its bytes and of the files it substitutes in, whether it changed. The second removes what
//! vanished and rewrites only changed files, a batch of files per transaction. A broken file keeps its last good
//! entities; an entity defined twice is a conflict reported on the second file; a file that disappears removes what it
//! alone produced.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use store::entities::{self as entity_rows, EntityForm, EntityWrite, RelationRow};
use store::{DbConnection, Store, StoreError, sources, stats};

use crate::descriptor::{Document, Entity, LocationTarget, Problem, Substituted, Substitutions, read_document};
use crate::yaml::{self, Limits, Pos, parse_documents, utf8_error_pos};

/// A document format another part of Portolan owns (SLOs, scorecards), found in the same locations as catalog
/// descriptors. Ingestion hands it the documents it claims, so they are checked with the same file:line:col problems
/// instead of being refused as an unknown apiVersion.
pub trait ForeignFormat: Send + Sync {
    /// What the format is called in logs and debug output.
    fn name(&self) -> &'static str;
    /// Whether this format takes the document (by its apiVersion, kind or version key).
    fn claims(&self, doc: &yaml::Node) -> bool;
    /// Checks one file's documents of this format (`file` for what lies beside it, a template's skeletons).
    fn check(&self, file: &Path, docs: &[yaml::Node]) -> Vec<Problem>;
    /// Whether the documents it claims are catalog entities too, read as such besides this format's own check (a
    /// Template is an entity, and a folder of skeletons).
    fn also_entity(&self) -> bool {
        false
    }
    /// Checks the documents of every file together (each file given by its shown path), for what no single file
    /// shows: a reference to another file, a name defined twice, a service missing from `entities` (the references
    /// of every entity read). Problems [`check`](Self::check) found may be given again; callers drop repeats.
    fn check_together(&self, _files: &[(String, Vec<yaml::Node>)], _entities: &HashSet<String>) -> Vec<FileProblem> {
        Vec::new()
    }
}

/// The foreign formats ingestion knows, in the order they are asked.
#[derive(Clone, Default)]
pub struct Formats(pub Vec<Arc<dyn ForeignFormat>>);

impl fmt::Debug for Formats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter().map(|format| format.name())).finish()
    }
}

/// What ingestion may do; all of it is configuration.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Formats other crates own, checked where they are found.
    pub formats: Formats,
    /// Whether `$text`/`$json`/`$yaml` may fetch http(s) URLs.
    pub allow_remote_substitutions: bool,
    pub remote_timeout: Duration,
    pub max_file_bytes: u64,
    pub yaml_limits: Limits,
    /// Files written per transaction.
    pub batch_size: usize,
    /// How long a file that is no longer reached keeps its entities: a folder that vanishes for a moment (an
    /// unmounted share, a checkout being replaced) deletes nothing until it has been gone this long. Zero deletes at
    /// once.
    pub vanished_grace: Duration,
    /// Whether a location that does not exist fails the whole ingest (`portolan ingest PATH`) or is only reported,
    /// its files then counting as vanished (the refresh loop).
    pub missing_location_is_error: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            formats: Formats::default(),
            allow_remote_substitutions: false,
            remote_timeout: Duration::from_secs(5),
            max_file_bytes: 4 * 1024 * 1024,
            yaml_limits: Limits::default(),
            batch_size: 1000,
            vanished_grace: Duration::ZERO,
            missing_location_is_error: true,
        }
    }
}

/// A problem in a named file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    pub path: String,
    pub problem: Problem,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path, self.problem)
    }
}

/// What one ingestion did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub files: usize,
    pub files_unchanged: usize,
    pub problems: Vec<FileProblem>,
    /// Files whose documents of a foreign format were written, dropped or removed with their file.
    pub foreign_changed: usize,
    /// Files no longer reached whose entities are kept until their grace period is over.
    pub files_missing: usize,
    pub elapsed: Duration,
}

impl Report {
    pub fn error_count(&self) -> usize {
        self.problems.iter().filter(|p| p.problem.is_error()).count()
    }

    pub fn changed(&self) -> bool {
        self.added + self.updated + self.removed + self.foreign_changed > 0
    }
}

/// Hears how far ingestion has come (a terminal progress bar, logs).
pub trait Progress: Sync {
    fn discovering(&self) {}
    fn writing(&self, _changed_files: usize) {}
    fn file_done(&self) {}
    fn finished(&self) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {reason}")]
    Root { path: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<store::QueryError> for IngestError {
    fn from(e: store::QueryError) -> Self {
        IngestError::Store(StoreError::Query(e))
    }
}

/// A root as given: the canonical path and the folder substitutions must stay inside.
#[derive(Debug, Clone)]
struct Root {
    path: PathBuf,
    key: String,
    boundary: PathBuf,
}

fn roots_of(paths: &[PathBuf]) -> Result<Vec<Root>, IngestError> {
    paths.iter().map(|p| root_of(p)).collect()
}

fn root_of(p: &Path) -> Result<Root, IngestError> {
    let path = p.canonicalize().map_err(|e| IngestError::Root { path: display(p), reason: e.to_string() })?;
    let boundary = if path.is_dir() { path.clone() } else { path.parent().unwrap_or(&path).to_path_buf() };
    Ok(Root { key: path.to_string_lossy().into_owned(), path, boundary })
}

/// The configured locations: those that exist, and the keys and problems of those that do not (when that is no
/// error), whose stored files are then simply not reached.
#[derive(Default)]
struct Locations {
    roots: Vec<Root>,
    missing_keys: Vec<String>,
    problems: Vec<FileProblem>,
}

fn present_roots(paths: &[PathBuf], options: &IngestOptions) -> Result<Locations, IngestError> {
    let mut found = Locations::default();
    for p in paths {
        match root_of(p) {
            Ok(root) => found.roots.push(root),
            Err(e) if options.missing_location_is_error => return Err(e),
            Err(e) => {
                let absolute = std::path::absolute(p).unwrap_or_else(|_| p.clone());
                found.missing_keys.push(absolute.to_string_lossy().into_owned());
                let message = format!(
                    "the location cannot be read ({e}); its entities are kept until it has been gone for {} s",
                    options.vanished_grace.as_secs()
                );
                found
                    .problems
                    .push(FileProblem { path: display(p), problem: Problem::warning(Pos::new(1, 1), message) });
            }
        }
    }
    Ok(found)
}

/// The configured locations' keys, as stored with each source.
pub fn root_keys(paths: &[PathBuf]) -> Result<Vec<String>, IngestError> {
    Ok(roots_of(paths)?.into_iter().map(|r| r.key).collect())
}

/// A path as people read it: relative to the working directory when under it.
pub fn display(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    cwd.as_deref().and_then(|cwd| path.strip_prefix(cwd).ok()).unwrap_or(path).to_string_lossy().into_owned()
}

/// A file reached by the walk, with what the first pass learned of it.
struct Reached {
    path: PathBuf,
    key: String,
    root: usize,
    /// The file's bytes, kept only when it changed (the second pass parses them).
    bytes: Option<Vec<u8>>,
    unchanged: bool,
    /// Whether the database knew this file before this run (a new file has no entities to compare with).
    known: bool,
    read_problem: Option<Problem>,
}

/// What reading one file produced.
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub entities: Vec<Entity>,
    /// Entities whose documents were refused; their last good version is kept.
    pub refused: Vec<String>,
    pub problems: Vec<Problem>,
    pub dependencies: Vec<PathBuf>,
    pub targets: Vec<LocationTarget>,
    /// Whether the file's YAML could be read; a file that cannot keeps what it held before.
    pub readable: bool,
    /// The documents foreign formats claimed, by format name.
    pub foreign: Vec<(&'static str, Vec<yaml::Node>)>,
}

impl ParsedFile {
    fn error_count(&self) -> usize {
        self.problems.iter().filter(|p| p.is_error()).count()
    }
}

#[derive(Serialize, Deserialize)]
struct StoredTarget {
    target: String,
    line: u32,
    col: u32,
}

/// Reads one file's documents into entities, with substitutions relative to the file.
pub fn read_file(path: &Path, text: &str, boundary: &Path, options: &IngestOptions) -> ParsedFile {
    let mut parsed = ParsedFile::default();
    let documents = match parse_documents(text, options.yaml_limits) {
        Ok(docs) => docs,
        Err(e) => {
            parsed.problems.push(Problem::error(e.pos, e.message));
            return parsed;
        }
    };
    let mut subst = FileSubstitutions {
        dir: path.parent().unwrap_or(boundary).to_path_buf(),
        boundary: boundary.to_path_buf(),
        options,
        dependencies: Vec::new(),
    };
    let mut seen = HashSet::new();
    parsed.readable = true;
    let mut claimed: Vec<Vec<yaml::Node>> = vec![Vec::new(); options.formats.0.len()];
    for doc in &documents {
        if let Some(i) = options.formats.0.iter().position(|format| format.claims(doc)) {
            claimed[i].push(doc.clone());
            if !options.formats.0[i].also_entity() {
                continue;
            }
        }
        match read_document(doc, &mut subst, &mut parsed.problems) {
            Document::Entity(entity) => {
                let key = entity.entity_ref.to_string();
                if !seen.insert(key.clone()) {
                    let mut problem = Problem::error(entity.pos, format!("{key} is defined twice in this file"));
                    problem.entity_ref = Some(key);
                    parsed.problems.push(problem);
                    continue;
                }
                parsed.targets.extend(entity.targets.iter().cloned());
                parsed.entities.push(*entity);
            }
            Document::Invalid { entity_ref: Some(r) } => parsed.refused.push(r.to_string()),
            Document::Invalid { entity_ref: None } | Document::Skipped => {}
        }
    }
    for (format, docs) in options.formats.0.iter().zip(claimed) {
        if !docs.is_empty() {
            // An entity's own checks may have said the same at the same place already.
            for problem in format.check(path, &docs) {
                let said =
                    |p: &&Problem| p.line == problem.line && p.col == problem.col && p.is_error() == problem.is_error();
                if !parsed.problems.iter().any(|p| said(&p)) {
                    parsed.problems.push(problem);
                }
            }
            if !format.also_entity() {
                parsed.foreign.push((format.name(), docs));
            }
        }
    }
    parsed.problems.sort_by_key(|p| (p.line, p.col));
    parsed.dependencies = subst.dependencies;
    parsed
}

struct FileSubstitutions<'o> {
    dir: PathBuf,
    boundary: PathBuf,
    options: &'o IngestOptions,
    dependencies: Vec<PathBuf>,
}

impl Substitutions for FileSubstitutions<'_> {
    fn resolve(&mut self, directive: &str, target: &str) -> Result<Substituted, String> {
        let text = if target.starts_with("http://") || target.starts_with("https://") {
            if !self.options.allow_remote_substitutions {
                return Ok(Substituted::Kept(format!(
                    "{directive} {target} was not fetched: remote substitutions are off \
                     (catalog.allow_remote_substitutions)"
                )));
            }
            match fetch(target, self.options) {
                Ok(text) => text,
                Err(reason) => {
                    return Ok(Substituted::Kept(format!("{directive} {target} was not fetched: {reason}")));
                }
            }
        } else {
            let relative = target.strip_prefix("file:").unwrap_or(target);
            let path = self
                .dir
                .join(relative)
                .canonicalize()
                .map_err(|e| format!("{directive} `{target}` cannot be read: {e}"))?;
            if !path.starts_with(&self.boundary) {
                return Err(format!(
                    "{directive} `{target}` is outside the catalog location {}",
                    self.boundary.display()
                ));
            }
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if len > self.options.max_file_bytes {
                return Err(format!(
                    "{directive} `{target}` is {len} bytes; the limit is {}",
                    self.options.max_file_bytes
                ));
            }
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{directive} `{target}` cannot be read: {e}"))?;
            self.dependencies.push(path);
            text
        };
        match directive {
            "$json" => serde_json::from_str(&text)
                .map(Substituted::Value)
                .map_err(|e| format!("$json `{target}` is not JSON: line {} column {}: {e}", e.line(), e.column())),
            "$yaml" => {
                let docs = parse_documents(&text, self.options.yaml_limits)
                    .map_err(|e| format!("$yaml `{target}` at {}: {}", e.pos, e.message))?;
                Ok(Substituted::Value(docs.first().map_or(Json::Null, yaml::Node::to_json)))
            }
            _ => Ok(Substituted::Value(Json::String(text))),
        }
    }
}

fn fetch(url: &str, options: &IngestOptions) -> Result<String, String> {
    let client =
        reqwest::blocking::Client::builder().timeout(options.remote_timeout).build().map_err(|e| e.to_string())?;
    let response = client.get(url).send().and_then(|r| r.error_for_status()).map_err(|e| e.to_string())?;
    if response.content_length().is_some_and(|len| len > options.max_file_bytes) {
        return Err(format!("the response is larger than {} bytes", options.max_file_bytes));
    }
    response.text().map_err(|e| e.to_string())
}

fn content_hash(bytes: &[u8], dependencies: &[PathBuf]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    for dep in dependencies {
        hasher.update(dep.to_string_lossy().as_bytes());
        hasher.update([0]);
        match std::fs::read(dep) {
            Ok(content) => hasher.update(&content),
            Err(_) => hasher.update(b"\0missing"),
        }
    }
    hex::encode(hasher.finalize())
}

fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// The file that makes a folder a golden-path template's: below it are skeletons, not descriptors.
pub const TEMPLATE_FILE: &str = "template.yaml";

/// The YAML files under a folder, in a stable order, skipping hidden folders. Of a folder holding a
/// [`TEMPLATE_FILE`], only that file is read: the rest of it is the template's skeletons, whose `catalog-info.yaml`
/// files are templates of descriptors, not descriptors.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut template_folders: HashMap<PathBuf, bool> = HashMap::new();
    let mut in_template_folder = |path: &Path| {
        let Some(parent) = path.parent() else {
            return false;
        };
        *template_folders.entry(parent.to_owned()).or_insert_with(|| parent.join(TEMPLATE_FILE).is_file())
    };
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(move |e| {
            e.depth() == 0
                || (!e.file_name().to_string_lossy().starts_with('.')
                    && (e.file_name() == TEMPLATE_FILE || !in_template_folder(e.path())))
        })
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && is_yaml(e.path()))
        .map(walkdir::DirEntry::into_path)
        .collect()
}

/// Resolves Location targets (relative paths and globs) against the folder of the file that names them.
fn resolve_targets(file: &Path, targets: &[LocationTarget], problems: &mut Vec<Problem>) -> Vec<PathBuf> {
    let dir = file.parent().unwrap_or(file);
    let mut found = Vec::new();
    for t in targets {
        let target = t.target.strip_prefix("file:").unwrap_or(&t.target);
        if target.contains("://") {
            problems.push(Problem::warning(t.pos, format!("target `{target}` is a URL; only file targets are read")));
            continue;
        }
        let joined = dir.join(target);
        let pattern = joined.to_string_lossy();
        if target.contains(['*', '?', '[']) {
            match glob::glob(&pattern) {
                Ok(paths) => {
                    let mut matched: Vec<PathBuf> = paths.filter_map(Result::ok).filter(|p| p.is_file()).collect();
                    matched.sort();
                    if matched.is_empty() {
                        problems.push(Problem::warning(t.pos, format!("target `{target}` matches no file")));
                    }
                    found.extend(matched.into_iter().filter_map(|p| p.canonicalize().ok()));
                }
                Err(e) => problems.push(Problem::error(t.pos, format!("target `{target}` is not a valid glob: {e}"))),
            }
        } else {
            match joined.canonicalize() {
                Ok(path) if path.is_dir() => found.extend(walk(&path)),
                Ok(path) => found.push(path),
                Err(_) => problems.push(Problem::error(t.pos, format!("target `{target}` does not exist"))),
            }
        }
    }
    found
}

fn read_bytes(path: &Path, options: &IngestOptions) -> Result<Vec<u8>, Problem> {
    let start = Pos::new(1, 1);
    let len = std::fs::metadata(path).map_err(|e| Problem::error(start, format!("cannot read: {e}")))?.len();
    if len > options.max_file_bytes {
        return Err(Problem::error(
            start,
            format!("the file is {len} bytes; the limit is {} bytes (catalog.max_file_bytes)", options.max_file_bytes),
        ));
    }
    std::fs::read(path).map_err(|e| Problem::error(start, format!("cannot read: {e}")))
}

fn as_text(bytes: &[u8]) -> Result<&str, Problem> {
    std::str::from_utf8(bytes)
        .map_err(|e| Problem::error(utf8_error_pos(bytes, e.valid_up_to()), "the file is not UTF-8 text".to_owned()))
}

/// The first pass: every file reachable from the roots, and whether it changed since it was stored.
fn discover(roots: &[Root], stored: &HashMap<String, sources::SourceRow>, options: &IngestOptions) -> Vec<Reached> {
    let mut queue: VecDeque<(PathBuf, usize)> = VecDeque::new();
    for (i, root) in roots.iter().enumerate() {
        if root.path.is_dir() {
            queue.extend(walk(&root.path).into_iter().map(|p| (p, i)));
        } else {
            queue.push_back((root.path.clone(), i));
        }
    }
    let mut seen = HashSet::new();
    let mut reached = Vec::new();
    while let Some((path, root)) = queue.pop_front() {
        let key = path.to_string_lossy().into_owned();
        if !seen.insert(key.clone()) {
            continue;
        }
        let mut file = Reached {
            known: stored.contains_key(&key),
            path,
            key,
            root,
            bytes: None,
            unchanged: false,
            read_problem: None,
        };
        match read_bytes(&file.path, options) {
            Err(problem) => file.read_problem = Some(problem),
            Ok(bytes) => {
                let previous = stored.get(&file.key);
                let deps: Vec<PathBuf> = previous
                    .and_then(|s| serde_json::from_str::<Vec<PathBuf>>(&s.dependencies).ok())
                    .unwrap_or_default();
                let hash = content_hash(&bytes, &deps);
                let targets: Vec<LocationTarget> = match previous {
                    Some(s) if s.content_hash == hash && s.error_count == 0 => {
                        file.unchanged = true;
                        serde_json::from_str::<Vec<StoredTarget>>(&s.targets)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|t| LocationTarget { target: t.target, pos: Pos::new(t.line, t.col) })
                            .collect()
                    }
                    // Only files that mention a Location can reach others; the rest wait for the second pass.
                    _ if bytes.windows(8).any(|w| w.eq_ignore_ascii_case(b"location")) => match as_text(&bytes) {
                        Ok(text) => {
                            read_file(&file.path, text, &roots[root].boundary, &first_pass_options(options)).targets
                        }
                        Err(_) => Vec::new(),
                    },
                    _ => Vec::new(),
                };
                let mut problems = Vec::new();
                for target in resolve_targets(&file.path, &targets, &mut problems) {
                    queue.push_back((target, root));
                }
                if problems.iter().any(Problem::is_error) {
                    file.unchanged = false;
                }
                if !file.unchanged {
                    file.bytes = Some(bytes);
                }
            }
        }
        reached.push(file);
    }
    reached
}

/// The first pass only needs Location targets: it never fetches.
fn first_pass_options(options: &IngestOptions) -> IngestOptions {
    IngestOptions { allow_remote_substitutions: false, ..options.clone() }
}

fn parse_reached(file: &Reached, root: &Root, options: &IngestOptions) -> ParsedFile {
    match (&file.bytes, &file.read_problem) {
        (_, Some(problem)) => ParsedFile { problems: vec![problem.clone()], ..ParsedFile::default() },
        (Some(bytes), None) => match as_text(bytes) {
            Ok(text) => read_file(&file.path, text, &root.boundary, options),
            Err(problem) => ParsedFile { problems: vec![problem], ..ParsedFile::default() },
        },
        (None, None) => ParsedFile::default(),
    }
}

/// The stored form of an entity.
pub fn entity_write(entity: &Entity, source_id: i64, now: chrono::NaiveDateTime) -> EntityWrite {
    let body = entity.body.to_string();
    let etag = hex::encode(&Sha256::digest(body.as_bytes())[..10]);
    let tags = entity.tags();
    let title = entity.metadata_str("title").map(str::to_owned);
    let description = entity.metadata_str("description").map(str::to_owned);
    let spec_type = entity.spec_str("type").map(str::to_owned);
    let lifecycle = entity.spec_str("lifecycle").map(str::to_owned);
    let display_name = entity.display_name().to_owned();
    let search_text = [
        Some(entity.name()),
        Some(display_name.as_str()),
        title.as_deref(),
        description.as_deref(),
        spec_type.as_deref(),
        Some(entity.kind.as_str()),
    ]
    .into_iter()
    .flatten()
    .chain(tags.iter().map(String::as_str))
    .collect::<Vec<_>>()
    .join(" ")
    .to_lowercase();
    EntityWrite {
        form: EntityForm {
            entity_ref: entity.entity_ref.to_string(),
            kind: entity.kind.as_str().to_owned(),
            namespace: entity.entity_ref.namespace().to_owned(),
            name: entity.name().to_owned(),
            title,
            description,
            spec_type,
            lifecycle,
            owner_ref: entity.owner().map(ToString::to_string),
            sort_name: entity.name().to_lowercase(),
            display_name,
            search_text,
            body,
            etag,
            source_id,
            updated_at: now,
        },
        tags,
        relations: entity
            .relations
            .iter()
            .map(|r| RelationRow {
                source_ref: r.source.to_string(),
                relation_type: r.relation.to_owned(),
                target_ref: r.target.to_string(),
            })
            .collect(),
    }
}

/// Reads the roots into the store and reports what changed.
pub fn ingest(
    store: &Store,
    paths: &[PathBuf],
    options: &IngestOptions,
    progress: &dyn Progress,
) -> Result<Report, IngestError> {
    let started = Instant::now();
    let Locations { roots, missing_keys, problems: root_problems } = present_roots(paths, options)?;
    let mut keys: Vec<String> = roots.iter().map(|r| r.key.clone()).collect();
    keys.extend(missing_keys);
    progress.discovering();
    let stored: HashMap<String, sources::SourceRow> = {
        let mut conn = store.conn()?;
        sources::under_roots(&mut conn, &keys)?.into_iter().map(|s| (s.path.clone(), s)).collect()
    };
    let reached = discover(&roots, &stored, options);
    let mut report = Report { files: reached.len(), problems: root_problems, ..Report::default() };

    // What vanished goes first, so that an entity moved to another file is not a conflict with its old self. What
    // vanished less than the grace period ago stays, noted as missing.
    let reached_keys: HashSet<&str> = reached.iter().map(|f| f.key.as_str()).collect();
    let now = chrono::Utc::now().naive_utc();
    let grace = chrono::Duration::from_std(options.vanished_grace).unwrap_or(chrono::Duration::MAX);
    let (vanished, missing): (Vec<&sources::SourceRow>, Vec<&sources::SourceRow>) = stored
        .values()
        .filter(|s| !reached_keys.contains(s.path.as_str()))
        .partition(|s| grace.is_zero() || s.missing_since.is_some_and(|since| now - since >= grace));
    let vanished: Vec<i64> = vanished.into_iter().map(|s| s.id).collect();
    let missing: Vec<i64> = missing.into_iter().map(|s| s.id).collect();
    report.files_missing = missing.len();
    let back: Vec<i64> =
        reached.iter().filter_map(|f| stored.get(&f.key)).filter(|s| s.missing_since.is_some()).map(|s| s.id).collect();
    let unchanged_ids: Vec<i64> =
        reached.iter().filter(|f| f.unchanged).filter_map(|f| stored.get(&f.key)).map(|s| s.id).collect();
    report.files_unchanged = unchanged_ids.len();
    report.foreign_changed += vanished.len();
    store.transaction::<_, IngestError>(|conn| {
        report.removed += usize::try_from(entity_rows::count_by_source(conn, &vanished)?).unwrap_or(0);
        sources::delete(conn, &vanished)?;
        sources::mark_missing(conn, &missing, now)?;
        sources::mark_present(conn, &back)?;
        report.unchanged += usize::try_from(entity_rows::count_by_source(conn, &unchanged_ids)?).unwrap_or(0);
        Ok(())
    })?;

    let changed: Vec<&Reached> = reached.iter().filter(|f| !f.unchanged).collect();
    progress.writing(changed.len());
    for (n, batch) in changed.chunks(options.batch_size.max(1)).enumerate() {
        store.transaction::<_, IngestError>(|conn| write_batch(conn, batch, &roots, options, &mut report))?;
        // Keep the planner's statistics in step with tables that grow from empty (after 1, 2, 4 and 8 batches): by
        // then it plans index lookups, and more rows only confirm them (analyzing large tables costs seconds).
        if (n + 1).is_power_of_two() && n < 8 {
            store::analyze(&mut *store.conn()?)?;
        }
        for _ in batch {
            progress.file_done();
        }
    }
    report.elapsed = started.elapsed();
    store.transaction::<_, IngestError>(|conn| {
        if report.changed() {
            stats::increment(conn, stats::GENERATION)?;
        }
        stats::set(conn, stats::LAST_REFRESH_MS, i64::try_from(report.elapsed.as_millis()).unwrap_or(i64::MAX))?;
        stats::set(conn, stats::LAST_REFRESH_AT, chrono::Utc::now().timestamp())?;
        Ok(())
    })?;
    progress.finished();
    Ok(report)
}

/// Takes one file out of the catalog, with its entities: for a file registered by a run that then failed. Returns how
/// many entities went.
pub fn forget(store: &Store, path: &Path) -> Result<usize, IngestError> {
    let key = path.to_string_lossy().into_owned();
    store.transaction::<_, IngestError>(|conn| {
        let ids: Vec<i64> = sources::under_roots(conn, std::slice::from_ref(&key))?
            .into_iter()
            .filter(|s| s.path == key)
            .map(|s| s.id)
            .collect();
        let removed = usize::try_from(entity_rows::count_by_source(conn, &ids)?).unwrap_or(0);
        if !ids.is_empty() {
            sources::delete(conn, &ids)?;
            stats::increment(conn, stats::GENERATION)?;
        }
        Ok(removed)
    })
}

/// A changed file, read and checked, ready to write.
struct Prepared<'a> {
    file: &'a Reached,
    root: &'a Root,
    parsed: ParsedFile,
    hash: String,
    targets: String,
    dependencies: String,
}

impl Prepared<'_> {
    fn new<'a>(file: &'a Reached, root: &'a Root, options: &IngestOptions) -> Prepared<'a> {
        let mut parsed = parse_reached(file, root, options);
        let targets: Vec<StoredTarget> = parsed
            .targets
            .iter()
            .map(|t| StoredTarget { target: t.target.clone(), line: t.pos.line, col: t.pos.col })
            .collect();
        // Resolution problems (a missing target) belong to this file too.
        resolve_targets(&file.path, &parsed.targets, &mut parsed.problems);
        Prepared {
            hash: content_hash(file.bytes.as_deref().unwrap_or_default(), &parsed.dependencies),
            targets: serde_json::to_string(&targets).unwrap_or_else(|_| "[]".into()),
            dependencies: serde_json::to_string(&parsed.dependencies).unwrap_or_else(|_| "[]".into()),
            file,
            root,
            parsed,
        }
    }

    fn form<'s>(&'s self, problems: &'s str, now: chrono::NaiveDateTime) -> sources::SourceForm<'s> {
        sources::SourceForm {
            path: &self.file.key,
            root: &self.root.key,
            content_hash: &self.hash,
            targets: &self.targets,
            dependencies: &self.dependencies,
            problems,
            error_count: i32::try_from(self.parsed.error_count()).unwrap_or(i32::MAX),
            refreshed_at: now,
        }
    }
}

fn problems_json(problems: &[Problem]) -> String {
    serde_json::to_string(problems).unwrap_or_else(|_| "[]".into())
}

/// Writes a batch of changed files in a handful of statements: their sources, then every entity decision at once.
fn write_batch(
    conn: &mut DbConnection,
    batch: &[&Reached],
    roots: &[Root],
    options: &IngestOptions,
    report: &mut Report,
) -> Result<(), IngestError> {
    let now = store::now();
    let mut prepared: Vec<Prepared<'_>> = batch.iter().map(|f| Prepared::new(f, &roots[f.root], options)).collect();
    let problem_texts: Vec<String> = prepared.iter().map(|p| problems_json(&p.parsed.problems)).collect();
    let forms: Vec<sources::SourceForm<'_>> =
        prepared.iter().zip(&problem_texts).map(|(p, problems)| p.form(problems, now)).collect();
    let ids: HashMap<String, i64> =
        sources::save_many(conn, &forms)?.into_iter().map(|(id, path)| (path, id)).collect();
    drop(forms);
    let source_ids: Vec<i64> = prepared.iter().map(|p| ids.get(&p.file.key).copied().unwrap_or_default()).collect();

    // What the known files held before, and who holds the references new to their file.
    let known: Vec<i64> = prepared.iter().zip(&source_ids).filter(|(p, _)| p.file.known).map(|(_, id)| *id).collect();
    let mut previous: HashMap<i64, HashMap<String, entity_rows::EntityOrigin>> = HashMap::new();
    for origin in entity_rows::of_sources(conn, &known)? {
        previous.entry(origin.source_id).or_default().insert(origin.entity_ref.clone(), origin);
    }
    let candidates: Vec<String> = prepared
        .iter()
        .zip(&source_ids)
        .flat_map(|(p, id)| {
            let own = previous.get(id);
            p.parsed
                .entities
                .iter()
                .map(|e| e.entity_ref.to_string())
                .filter(move |r| own.is_none_or(|own| !own.contains_key(r)))
        })
        .collect();
    let taken: HashMap<String, entity_rows::EntityOrigin> =
        entity_rows::origins(conn, &candidates)?.into_iter().map(|o| (o.entity_ref.clone(), o)).collect();

    let mut claimed: HashMap<String, String> = HashMap::new();
    let mut inserts = Vec::new();
    let mut gone = Vec::new();
    let mut conflicted = Vec::new();
    for (i, (p, source_id)) in prepared.iter_mut().zip(&source_ids).enumerate() {
        let own = previous.remove(source_id).unwrap_or_default();
        let mut kept: HashSet<String> = p.parsed.refused.iter().cloned().collect();
        let mut conflicts = Vec::new();
        for entity in &p.parsed.entities {
            let write = entity_write(entity, *source_id, now);
            let key = write.form.entity_ref.clone();
            if let Some(old) = own.get(&key) {
                if old.etag == write.form.etag {
                    report.unchanged += 1;
                } else {
                    entity_rows::update(conn, old.id, &write)?;
                    report.updated += 1;
                }
                kept.insert(key);
                continue;
            }
            let holder = match (taken.get(&key), claimed.get(&key)) {
                (Some(other), _) => Some(
                    sources::by_id(conn, other.source_id)?
                        .map_or_else(|| "another file".to_owned(), |s| display(Path::new(&s.path))),
                ),
                (None, Some(path)) => Some(path.clone()),
                (None, None) => None,
            };
            match holder {
                Some(other) => {
                    let mut problem = Problem::error(
                        entity.pos,
                        format!("{key} is already defined in {other}; this definition is ignored"),
                    );
                    problem.entity_ref = Some(key);
                    conflicts.push(problem);
                }
                None => {
                    claimed.insert(key.clone(), display(&p.file.path));
                    kept.insert(key);
                    inserts.push(write);
                }
            }
        }
        // A file with errors keeps everything it had; a clean one drops what it no longer defines.
        if p.parsed.error_count() == 0 && conflicts.is_empty() {
            gone.extend(own.values().filter(|o| !kept.contains(&o.entity_ref)).map(|o| o.id));
        }
        if !conflicts.is_empty() {
            p.parsed.problems.extend(conflicts);
            conflicted.push(i);
        }
    }
    entity_rows::insert_many(conn, &inserts, now)?;
    report.added += inserts.len();
    for (p, source_id) in prepared.iter().zip(&source_ids) {
        report.foreign_changed += keep_foreign_documents(conn, p, *source_id)?;
    }
    report.removed += entity_rows::delete(conn, &gone)?;
    for i in conflicted {
        let p = &prepared[i];
        let problems = problems_json(&p.parsed.problems);
        sources::save(conn, &p.form(&problems, now))?;
    }
    for p in prepared {
        if !p.parsed.problems.is_empty() {
            let shown = display(&p.file.path);
            report
                .problems
                .extend(p.parsed.problems.into_iter().map(|problem| FileProblem { path: shown.clone(), problem }));
        }
    }
    Ok(())
}

/// Keeps the text of a readable file for each foreign format that claimed documents of it, so that its owner can
/// read them again; a file that cannot be read keeps what it had. Returns 1 when anything was written or dropped.
fn keep_foreign_documents(conn: &mut DbConnection, p: &Prepared<'_>, source_id: i64) -> Result<usize, IngestError> {
    if !p.parsed.readable {
        return Ok(0);
    }
    let text = p.file.bytes.as_deref().and_then(|bytes| as_text(bytes).ok()).unwrap_or_default();
    let formats: Vec<&str> = p.parsed.foreign.iter().map(|(format, _)| *format).collect();
    for format in &formats {
        sources::save_document(conn, source_id, format, text)?;
    }
    // A file read for the first time has nothing stored to drop.
    let dropped = if p.file.known { sources::drop_documents(conn, source_id, &formats)? } else { 0 };
    Ok(usize::from(!p.parsed.foreign.is_empty() || dropped > 0))
}

/// The same checks as [`ingest`], writing nothing: for a service repository's own CI.
pub fn validate(paths: &[PathBuf], options: &IngestOptions) -> Result<Report, IngestError> {
    let started = Instant::now();
    let roots = roots_of(paths)?;
    let reached = discover(&roots, &HashMap::new(), options);
    let mut report = Report { files: reached.len(), ..Report::default() };
    let mut defined: HashMap<String, String> = HashMap::new();
    let mut foreign: HashMap<&str, Vec<(String, Vec<yaml::Node>)>> = HashMap::new();
    for file in &reached {
        let shown = display(&file.path);
        let mut parsed = parse_reached(file, &roots[file.root], options);
        for (format, docs) in std::mem::take(&mut parsed.foreign) {
            foreign.entry(format).or_default().push((shown.clone(), docs));
        }
        resolve_targets(&file.path, &parsed.targets, &mut parsed.problems);
        for entity in &parsed.entities {
            let key = entity.entity_ref.to_string();
            if let Some(first) = defined.get(&key) {
                let mut problem = Problem::error(
                    entity.pos,
                    format!("{key} is already defined in {first}; this definition is ignored"),
                );
                problem.entity_ref = Some(key);
                parsed.problems.push(problem);
            } else {
                defined.insert(key, shown.clone());
                report.added += 1;
            }
        }
        report.problems.extend(parsed.problems.into_iter().map(|problem| FileProblem { path: shown.clone(), problem }));
    }
    let entities: HashSet<String> = defined.into_keys().collect();
    for format in &options.formats.0 {
        if let Some(files) = foreign.get(format.name()) {
            for problem in format.check_together(files, &entities) {
                if !report.problems.contains(&problem) {
                    report.problems.push(problem);
                }
            }
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}
