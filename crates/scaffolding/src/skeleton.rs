//! Skeletons: a template's folders read into memory and rendered — file names and contents — into an in-memory
//! [`FileTree`], which is what a dry run shows and what publishing will write.
//!
//! Skeletons come from a [`Bundle`](crate::Bundle) ([`Bundle::skeleton`](crate::Bundle::skeleton)) or from a folder
//! ([`Skeleton::read`]); one walker reads folders for both, refusing a symbolic link anywhere, anything that is not a
//! file or a folder, names that are not UTF-8, and more files or bytes than the [`Limits`] allow. Rendering follows
//! `fetch:template`: each segment of a file's path is rendered on its own (a segment that renders empty skips the
//! file, as in Backstage), binary files are copied, `fetch:plain`
//! copies everything, `copyWithoutRender` globs copy contents and names as they are, `copyWithoutTemplating` globs
//! copy contents but render names, and `templateFileExtension` renders only files with that extension (and drops
//! it). A rendered path that is absolute, contains `..`, or otherwise leaves the target folder is refused, as is
//! output past the limits. Every refusal names the skeleton file and, where there is one, the rendered path.

use std::borrow::{Borrow, Cow};
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use walkdir::WalkDir;

use crate::Values;
use crate::bundle::Bundle;
use crate::render::{Context, RenderError, RenderErrorKind, Renderer, is_templated};
use crate::template::{Action, Step, Template};

/// Bounds on a skeleton and on the tree a run renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_files: usize,
    pub max_file_bytes: usize,
    pub max_total_bytes: usize,
    /// The fuel (see [`crate::render::Limits::fuel`]) every render into one tree may use together, so that a run's
    /// time is bounded as a whole, not only file by file.
    pub max_fuel: u64,
}

impl Default for Limits {
    /// 10,000 files, 10 MiB per file, 100 MiB in all, 50 million units of fuel (a few seconds).
    fn default() -> Self {
        Limits {
            max_files: 10_000,
            max_file_bytes: 10 * 1024 * 1024,
            max_total_bytes: 100 * 1024 * 1024,
            max_fuel: 50_000_000,
        }
    }
}

/// A path inside a generated tree: `/`-separated segments, none empty, `.` or `..`; never absolute.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelativePath(String);

/// Why a text is not a [`RelativePath`]; written to follow the path in a message (`` `/etc` is absolute ``).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("is empty")]
    Empty,
    #[error("is absolute")]
    Absolute,
    #[error("contains `..`, which leaves the target folder")]
    ParentSegment,
    #[error("has an empty segment (`//` or a trailing `/`)")]
    EmptySegment,
    #[error("contains a backslash")]
    Backslash,
    #[error("contains a control character")]
    ControlCharacter,
    #[error("has a segment longer than 255 bytes")]
    TooLong,
}

impl RelativePath {
    /// A path as a template or a skeleton writes it; `./` segments are dropped.
    pub fn parse(text: &str) -> Result<RelativePath, PathError> {
        if text.is_empty() {
            return Err(PathError::Empty);
        }
        if text.starts_with('/') {
            return Err(PathError::Absolute);
        }
        if text.contains('\\') {
            return Err(PathError::Backslash);
        }
        if text.chars().any(char::is_control) {
            return Err(PathError::ControlCharacter);
        }
        let mut segments = Vec::new();
        for segment in text.split('/') {
            match segment {
                "" => return Err(PathError::EmptySegment),
                ".." => return Err(PathError::ParentSegment),
                "." => {}
                s if s.len() > 255 => return Err(PathError::TooLong),
                s => segments.push(s),
            }
        }
        if segments.is_empty() {
            return Err(PathError::Empty);
        }
        Ok(RelativePath(segments.join("/")))
    }

    /// A target folder (`targetPath`): like [`RelativePath::parse`], but empty, `.` and `./` mean the root (`None`)
    /// and a trailing `/` is allowed.
    pub fn parse_target(text: &str) -> Result<Option<RelativePath>, PathError> {
        let trimmed = text.strip_suffix('/').unwrap_or(text);
        if trimmed.is_empty() || trimmed == "." {
            return if text.starts_with('/') { Err(PathError::Absolute) } else { Ok(None) };
        }
        RelativePath::parse(trimmed).map(Some)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `self/other`.
    pub fn join(&self, other: &RelativePath) -> RelativePath {
        RelativePath(format!("{}/{}", self.0, other.0))
    }
}

impl fmt::Display for RelativePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Borrow<str> for RelativePath {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Why a file did not fit in a [`FileTree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TreeLimitError {
    #[error("the file is {size} bytes, more than the limit of {limit} per file")]
    FileTooLarge { size: usize, limit: usize },
    #[error("the files would hold more than {limit} bytes in all")]
    TotalTooLarge { limit: usize },
    #[error("there would be more than {limit} files")]
    TooManyFiles { limit: usize },
}

/// Generated files by path, within [`Limits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTree {
    files: BTreeMap<RelativePath, Vec<u8>>,
    total_bytes: usize,
    fuel_spent: u64,
    limits: Limits,
}

impl FileTree {
    /// An empty tree that holds no more than `limits` allow.
    pub fn new(limits: Limits) -> FileTree {
        FileTree { files: BTreeMap::new(), total_bytes: 0, fuel_spent: 0, limits }
    }

    /// Renders one template for this tree, charging its fuel to the tree's budget.
    fn render(
        &mut self,
        renderer: &Renderer,
        name: &str,
        source: &str,
        context: &minijinja::Value,
        cap: usize,
    ) -> Result<String, RenderError> {
        if self.fuel_spent >= self.limits.max_fuel {
            return Err(RenderError {
                name: name.to_owned(),
                line: None,
                kind: RenderErrorKind::OutOfFuel,
                message: format!(
                    "not rendered: the files before it used the whole budget of {} units of work for one run",
                    self.limits.max_fuel
                ),
            });
        }
        let (text, fuel) = renderer.render_capped(name, source, context, cap)?;
        self.fuel_spent = self.fuel_spent.saturating_add(fuel);
        Ok(text)
    }

    /// Adds a file; an existing file is kept unless `replace` (as Backstage's fetch actions do). Returns whether the
    /// file was written.
    pub fn insert(&mut self, path: RelativePath, contents: Vec<u8>, replace: bool) -> Result<bool, TreeLimitError> {
        let existing = self.files.get(&path).map(Vec::len);
        if existing.is_some() && !replace {
            return Ok(false);
        }
        if contents.len() > self.limits.max_file_bytes {
            return Err(TreeLimitError::FileTooLarge { size: contents.len(), limit: self.limits.max_file_bytes });
        }
        let total = self.total_bytes - existing.unwrap_or(0) + contents.len();
        if total > self.limits.max_total_bytes {
            return Err(TreeLimitError::TotalTooLarge { limit: self.limits.max_total_bytes });
        }
        if existing.is_none() && self.files.len() >= self.limits.max_files {
            return Err(TreeLimitError::TooManyFiles { limit: self.limits.max_files });
        }
        self.total_bytes = total;
        self.files.insert(path, contents);
        Ok(true)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn total_bytes(&self) -> usize {
        self.total_bytes
    }

    /// How many more bytes the tree takes.
    pub fn remaining_bytes(&self) -> usize {
        self.limits.max_total_bytes.saturating_sub(self.total_bytes)
    }

    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// A file's contents when they are UTF-8 text.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(|bytes| std::str::from_utf8(bytes).ok())
    }

    /// The files in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&RelativePath, &[u8])> {
        self.files.iter().map(|(path, bytes)| (path, bytes.as_slice()))
    }

    pub fn paths(&self) -> impl Iterator<Item = &RelativePath> {
        self.files.keys()
    }

    pub fn into_files(self) -> BTreeMap<RelativePath, Vec<u8>> {
        self.files
    }
}

/// Why the files of a folder (or of an archive, see [`crate::bundle`]) could not be taken into memory. Each names the
/// file, as a path below the folder read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("`{file}` is a symbolic link; a template holds files and folders only (a link could point outside it)")]
    Symlink { file: String },
    #[error("`{file}` is not a regular file or folder")]
    Special { file: String },
    #[error("`{file}` has a name that is not UTF-8")]
    NotUtf8 { file: String },
    #[error("more than {limit} files: `{file}` is one too many")]
    TooManyFiles { file: String, limit: usize },
    #[error("`{file}` is {size} bytes, more than the limit of {limit} per file")]
    FileTooLarge { file: String, size: u64, limit: usize },
    #[error("more than {limit} bytes in all: `{file}` does not fit")]
    TooLarge { file: String, limit: usize },
}

/// Why a skeleton could not be read or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkeletonError {
    /// The folder could not be read (see [`Skeleton::read`]).
    #[error("{0}")]
    Read(#[from] ReadError),
    #[error("the skeleton folder `{url}` {reason}")]
    Folder { url: String, reason: String },
    #[error("`{file}` renders to the path `{rendered}`, which {reason}; refused")]
    UnsafePath { file: String, rendered: String, reason: PathError },
    #[error("`{file}` and `{other}` both render to `{rendered}`")]
    Collision { file: String, other: String, rendered: String },
    #[error("`{file}` renders to `{rendered}`, but {reason}")]
    Limit { file: String, rendered: String, reason: TreeLimitError },
    #[error("{0}")]
    Render(#[from] RenderError),
}

/// How a fetch step copies a skeleton.
#[derive(Debug, Clone, Default)]
pub struct Fetch {
    /// `targetPath`: where in the tree the files go.
    pub target: Option<RelativePath>,
    /// `false` for `fetch:plain`: copy everything as it is.
    pub render: bool,
    pub copy_without_render: Vec<glob::Pattern>,
    pub copy_without_templating: Vec<glob::Pattern>,
    /// `templateFileExtension`, dot included (`.njk`).
    pub template_extension: Option<String>,
    /// `replace`: overwrite files an earlier step wrote.
    pub replace: bool,
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
}

impl Fetch {
    /// `fetch:template` with no options.
    pub fn template() -> Fetch {
        Fetch { render: true, ..Fetch::default() }
    }

    /// `fetch:plain`.
    pub fn plain() -> Fetch {
        Fetch::default()
    }

    /// The options of a fetch step from its rendered input.
    pub fn from_input(action: &Action, input: &Json) -> Result<Fetch, String> {
        let mut fetch = match action {
            Action::FetchTemplate => Fetch::template(),
            Action::FetchPlain => Fetch::plain(),
            other => return Err(format!("{other} is not a fetch action")),
        };
        if let Some(target) = input.get("targetPath").and_then(Json::as_str) {
            fetch.target =
                RelativePath::parse_target(target).map_err(|reason| format!("targetPath `{target}` {reason}"))?;
        }
        fetch.replace = flag(input, "replace")?;
        if *action == Action::FetchPlain {
            return Ok(fetch);
        }
        fetch.copy_without_render = globs(input, "copyWithoutRender")?;
        fetch.copy_without_templating = globs(input, "copyWithoutTemplating")?;
        if !fetch.copy_without_render.is_empty() && !fetch.copy_without_templating.is_empty() {
            return Err("copyWithoutRender and copyWithoutTemplating cannot be used together".to_owned());
        }
        fetch.template_extension = match input.get("templateFileExtension") {
            None | Some(Json::Null | Json::Bool(false)) => None,
            Some(Json::Bool(true)) => Some(".njk".to_owned()),
            Some(Json::String(ext)) if !ext.is_empty() => {
                Some(if ext.starts_with('.') { ext.clone() } else { format!(".{ext}") })
            }
            Some(other) => return Err(format!("templateFileExtension must be true or an extension, found {other}")),
        };
        if flag(input, "cookiecutterCompat")? {
            return Err("cookiecutterCompat is not supported".to_owned());
        }
        fetch.trim_blocks = flag(input, "trimBlocks")?;
        fetch.lstrip_blocks = flag(input, "lstripBlocks")?;
        Ok(fetch)
    }

    /// What happens to one skeleton file: render its name, render its contents, and the path to render.
    fn plan<'p>(&self, path: &'p str) -> (bool, bool, &'p str) {
        if !self.render {
            return (false, false, path);
        }
        if let Some(ext) = &self.template_extension {
            return match path.strip_suffix(ext.as_str()) {
                Some(stripped) if !stripped.is_empty() && !stripped.ends_with('/') => (true, true, stripped),
                _ => (true, false, path),
            };
        }
        if matches_any(&self.copy_without_render, path) {
            (false, false, path)
        } else if matches_any(&self.copy_without_templating, path) {
            (true, false, path)
        } else {
            (true, true, path)
        }
    }
}

fn flag(input: &Json, field: &str) -> Result<bool, String> {
    match input.get(field) {
        None | Some(Json::Null) => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(Json::String(s)) if s == "true" => Ok(true),
        Some(Json::String(s)) if s == "false" || s.is_empty() => Ok(false),
        Some(other) => Err(format!("{field} must be true or false, found {other}")),
    }
}

fn globs(input: &Json, field: &str) -> Result<Vec<glob::Pattern>, String> {
    let Some(value) = input.get(field).filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let items = value.as_array().ok_or_else(|| format!("{field} must be a list of globs"))?;
    items
        .iter()
        .map(|item| {
            let text = item.as_str().ok_or_else(|| format!("{field} must be a list of globs, found {item}"))?;
            glob::Pattern::new(text).map_err(|e| format!("{field}: `{text}` is not a valid glob: {e}"))
        })
        .collect()
}

/// Whether a skeleton file's path matches one of the globs. As in Backstage, a glob selects files: a folder's name
/// alone does not cover the files below it (write `folder/**`).
fn matches_any(patterns: &[glob::Pattern], path: &str) -> bool {
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    patterns.iter().any(|pattern| pattern.matches_with(path, options))
}

/// Text files are rendered; a file with a NUL byte or that is not UTF-8 is binary and copied.
fn is_binary(contents: &[u8]) -> bool {
    contents.iter().take(8192).any(|b| *b == 0) || std::str::from_utf8(contents).is_err()
}

/// One file of a skeleton.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkeletonFile {
    /// The path below the skeleton folder, `/`-separated, as written (placeholders included).
    pub path: String,
    pub contents: Vec<u8>,
}

/// A skeleton folder read into memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skeleton {
    /// How messages name the folder: the step's `url` without `./` (`skeleton`).
    label: String,
    files: Vec<SkeletonFile>,
}

impl Skeleton {
    /// A skeleton of files already in memory, by path below the folder `label` names in messages (`skeleton`; `.`
    /// or empty for the template's own folder). The files are kept in path order.
    pub fn from_files(label: &str, files: impl IntoIterator<Item = (String, Vec<u8>)>) -> Skeleton {
        let mut files: Vec<SkeletonFile> =
            files.into_iter().map(|(path, contents)| SkeletonFile { path, contents }).collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Skeleton { label: folder_label(label).to_owned(), files }
    }

    /// Reads every file below `dir` (a folder, not a link to one), refusing links, special files and what exceeds the
    /// limits. `label` names the folder in messages.
    pub fn read(dir: &Path, label: &str, limits: &Limits) -> Result<Skeleton, SkeletonError> {
        let label = folder_label(label);
        let root =
            fs::symlink_metadata(dir).map_err(|e| ReadError::Io { path: dir.to_owned(), message: e.to_string() })?;
        if root.file_type().is_symlink() {
            return Err(ReadError::Symlink { file: if label.is_empty() { "." } else { label }.to_owned() }.into());
        }
        if !root.is_dir() {
            return Err(SkeletonError::Folder { url: label.to_owned(), reason: "is not a folder".to_owned() });
        }
        let files = read_folder(dir, label, limits, &|_| false)?;
        Ok(Skeleton::from_files(label, files))
    }

    pub fn files(&self) -> &[SkeletonFile] {
        &self.files
    }

    /// A file as messages name it: `skeleton/README.md`.
    fn shown(&self, path: &str) -> String {
        if self.label.is_empty() { path.to_owned() } else { format!("{}/{path}", self.label) }
    }

    /// Parses every template of the skeleton (names and contents) without rendering: the syntax errors, each with its
    /// file and line.
    pub fn check(&self, renderer: &Renderer, fetch: &Fetch) -> Vec<SkeletonError> {
        let mut errors = Vec::new();
        for file in &self.files {
            let shown = self.shown(&file.path);
            let (render_name, render_contents, name) = fetch.plan(&file.path);
            if render_name {
                for segment in name.split('/').filter(|s| is_templated(s)) {
                    if let Err(e) = renderer.check(&format!("{shown} (its name)"), segment) {
                        errors.push(SkeletonError::Render(e));
                    }
                }
            }
            if render_contents
                && !is_binary(&file.contents)
                && let Ok(text) = std::str::from_utf8(&file.contents)
                && let Err(e) = renderer.check(&shown, text)
            {
                errors.push(SkeletonError::Render(e));
            }
        }
        errors
    }

    /// Renders the skeleton into `tree` with the context's `values` (and `parameters`); returns how many files were
    /// written.
    pub fn render_into(
        &self,
        renderer: &Renderer,
        context: &Context,
        fetch: &Fetch,
        tree: &mut FileTree,
    ) -> Result<usize, SkeletonError> {
        let renderer: Cow<'_, Renderer> = if fetch.trim_blocks || fetch.lstrip_blocks {
            Cow::Owned(renderer.with_block_whitespace(fetch.trim_blocks, fetch.lstrip_blocks))
        } else {
            Cow::Borrowed(renderer)
        };
        let value = context.to_value();
        let mut written: BTreeMap<RelativePath, String> = BTreeMap::new();
        for file in &self.files {
            let shown = self.shown(&file.path);
            let (render_name, render_contents, name) = fetch.plan(&file.path);
            let path = if render_name {
                match render_path(&renderer, &shown, name, &value, tree)? {
                    Some(path) => path,
                    None => continue,
                }
            } else {
                RelativePath::parse(name).map_err(|reason| SkeletonError::UnsafePath {
                    file: shown.clone(),
                    rendered: name.to_owned(),
                    reason,
                })?
            };
            let path = match &fetch.target {
                Some(target) => target.join(&path),
                None => path,
            };
            if let Some(other) = written.get(&path) {
                return Err(SkeletonError::Collision { file: shown, other: other.clone(), rendered: path.to_string() });
            }
            let contents = match std::str::from_utf8(&file.contents) {
                Ok(text) if render_contents && !is_binary(&file.contents) => {
                    let cap = tree.limits.max_file_bytes.min(tree.remaining_bytes());
                    tree.render(&renderer, &shown, text, &value, cap)?.into_bytes()
                }
                _ => file.contents.clone(),
            };
            let inserted = tree
                .insert(path.clone(), contents, fetch.replace)
                .map_err(|reason| SkeletonError::Limit { file: shown.clone(), rendered: path.to_string(), reason })?;
            if inserted {
                written.insert(path, shown);
            }
        }
        Ok(written.len())
    }
}

/// A folder as messages name it: `./skeleton/` is `skeleton`, the template's own folder (`.`) is empty.
fn folder_label(label: &str) -> &str {
    let label = label.trim_start_matches("./").trim_end_matches('/');
    if label == "." { "" } else { label }
}

/// Renders a skeleton path segment by segment: a value cannot smuggle in a leading `/`, and a segment that renders
/// empty means the file is left out (`None`).
fn render_path(
    renderer: &Renderer,
    shown: &str,
    path: &str,
    context: &minijinja::Value,
    tree: &mut FileTree,
) -> Result<Option<RelativePath>, SkeletonError> {
    let mut rendered = Vec::new();
    for segment in path.split('/') {
        let text = if is_templated(segment) {
            tree.render(renderer, &format!("{shown} (its name)"), segment, context, 4096)?
        } else {
            segment.to_owned()
        };
        if text.is_empty() {
            return Ok(None);
        }
        rendered.push(text);
    }
    let joined = rendered.join("/");
    RelativePath::parse(&joined).map(Some).map_err(|reason| SkeletonError::UnsafePath {
        file: shown.to_owned(),
        rendered: joined,
        reason,
    })
}

/// Reads every file below `dir` into memory, by `/`-separated path below it: the walker behind [`Skeleton::read`] and
/// [`Bundle::read`](crate::Bundle::read). Refuses a symbolic link anywhere below `dir` (`dir` itself may be one),
/// anything that is neither a file nor a folder, a name that is not UTF-8, and more files or bytes than the limits
/// allow, before reading what would not fit. Files and folders whose path `skip` accepts are left out unread. Messages
/// name files as `prefix/path`.
pub(crate) fn read_folder(
    dir: &Path,
    prefix: &str,
    limits: &Limits,
    skip: &dyn Fn(&str) -> bool,
) -> Result<BTreeMap<String, Vec<u8>>, ReadError> {
    let shown = |path: &str| if prefix.is_empty() { path.to_owned() } else { format!("{prefix}/{path}") };
    let io = |path: &Path, e: &dyn fmt::Display| ReadError::Io { path: path.to_owned(), message: e.to_string() };
    let relative = |path: &Path| -> Result<String, ReadError> {
        let relative = path.strip_prefix(dir).map_err(|e| io(path, &e))?;
        let segments: Option<Vec<&str>> = relative.components().map(|c| c.as_os_str().to_str()).collect();
        let segments = segments.ok_or_else(|| ReadError::NotUtf8 { file: shown(&relative.to_string_lossy()) })?;
        Ok(segments.join("/"))
    };
    let walk = WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1)
        .into_iter()
        .filter_entry(|entry| relative(entry.path()).map_or(true, |path| !skip(&path)));
    let mut files = BTreeMap::new();
    let mut total: usize = 0;
    for entry in walk {
        let entry = entry.map_err(|e| io(e.path().unwrap_or(dir), &e))?;
        let path = relative(entry.path())?;
        let file_type = entry.file_type();
        if file_type.is_symlink() {
            return Err(ReadError::Symlink { file: shown(&path) });
        }
        if file_type.is_dir() {
            continue;
        }
        if !file_type.is_file() {
            return Err(ReadError::Special { file: shown(&path) });
        }
        let size = entry.metadata().map_err(|e| io(entry.path(), &e))?.len();
        admit(limits, files.len(), total, &shown(&path), size)?;
        // Read no more than fits: the file may have grown since it was measured.
        let mut contents = Vec::new();
        fs::File::open(entry.path())
            .and_then(|file| file.take(limits.max_file_bytes as u64 + 1).read_to_end(&mut contents))
            .map_err(|e| io(entry.path(), &e))?;
        admit(limits, files.len(), total, &shown(&path), contents.len() as u64)?;
        total += contents.len();
        files.insert(path, contents);
    }
    Ok(files)
}

/// Whether one more file, `file` of `size` bytes, fits in `limits` after `count` files of `total` bytes.
pub(crate) fn admit(limits: &Limits, count: usize, total: usize, file: &str, size: u64) -> Result<(), ReadError> {
    if count >= limits.max_files {
        return Err(ReadError::TooManyFiles { file: file.to_owned(), limit: limits.max_files });
    }
    if size > limits.max_file_bytes as u64 {
        return Err(ReadError::FileTooLarge { file: file.to_owned(), size, limit: limits.max_file_bytes });
    }
    if total.saturating_add(usize::try_from(size).unwrap_or(usize::MAX)) > limits.max_total_bytes {
        return Err(ReadError::TooLarge { file: file.to_owned(), limit: limits.max_total_bytes });
    }
    Ok(())
}

/// What a dry run produced: the files a run would publish, and what each step would do.
#[derive(Debug, Clone)]
pub struct DryRun {
    pub files: FileTree,
    pub steps: Vec<PlannedStep>,
}

/// One step of a dry run.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedStep {
    pub index: usize,
    pub label: String,
    pub action: String,
    /// The input rendered with the parameters (outputs of earlier steps are not known in a dry run).
    pub input: Json,
    pub outcome: Outcome,
}

/// What a step did in a dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A fetch step wrote this many files.
    Fetched { files: usize },
    /// Publishing, registration and logging are only described.
    WouldRun,
    /// Its `if` rendered false.
    Skipped,
    /// Portolan does not run its action.
    NotSupported { reason: String },
}

/// Why a dry run stopped, and at which step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("step {step}: {error}")]
pub struct DryRunError {
    pub step: String,
    pub error: StepError,
}

/// What stopped a step of a dry run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("{0}")]
    Render(#[from] RenderError),
    #[error("{0}")]
    Skeleton(#[from] SkeletonError),
    #[error("{0}")]
    Input(String),
}

/// Renders every fetch step of a template with these parameters (already validated by the form) into one tree,
/// without running anything else: what `--dry-run` and the dry-run page show. The fetch steps' folders come from the
/// template's `bundle` ([`Bundle::skeleton`]); the tree keeps to `limits`.
pub fn dry_run(
    template: &Template,
    bundle: &Bundle,
    parameters: &Values,
    renderer: &Renderer,
    limits: &Limits,
) -> Result<DryRun, DryRunError> {
    let context = Context::new(parameters.clone());
    let mut files = FileTree::new(*limits);
    let mut steps = Vec::new();
    for step in &template.steps {
        let label = step.label();
        let fail = |error: StepError| DryRunError { step: label.clone(), error };
        let mut planned = PlannedStep {
            index: step.index,
            label: label.clone(),
            action: step.action.name().to_owned(),
            input: step.input.clone(),
            outcome: Outcome::WouldRun,
        };
        if !condition_holds(renderer, step, &context).map_err(|e| fail(e.into()))? {
            planned.outcome = Outcome::Skipped;
            steps.push(planned);
            continue;
        }
        if let Action::Unsupported { reason, .. } = &step.action {
            planned.outcome = Outcome::NotSupported { reason: (*reason).to_owned() };
            steps.push(planned);
            continue;
        }
        let input = render_step_input(renderer, step, &context).map_err(|e| fail(e.into()))?;
        planned.input = input.clone();
        if matches!(step.action, Action::FetchTemplate | Action::FetchPlain) {
            let written = fetch_into(bundle, renderer, &context, &step.action, &input, &mut files).map_err(fail)?;
            planned.outcome = Outcome::Fetched { files: written };
        }
        steps.push(planned);
    }
    Ok(DryRun { files, steps })
}

/// Whether a step runs: its `if` rendered with the context is true (Backstage's truthiness); a step without one
/// runs.
pub(crate) fn condition_holds(renderer: &Renderer, step: &Step, context: &Context) -> Result<bool, RenderError> {
    let Some(condition) = &step.condition else {
        return Ok(true);
    };
    let value = renderer.render_input(&format!("spec.steps[{}].if", step.index), condition, context)?;
    Ok(truthy(value.as_ref()))
}

/// A step's input rendered with the context; an empty mapping when it has none.
pub(crate) fn render_step_input(renderer: &Renderer, step: &Step, context: &Context) -> Result<Json, RenderError> {
    Ok(renderer
        .render_input(&format!("spec.steps[{}].input", step.index), &step.input, context)?
        .unwrap_or_else(|| Json::Object(serde_json::Map::new())))
}

/// Runs a fetch step with its rendered input: the folder of the bundle its `url` names, rendered with the step's
/// `values` into `tree`. Returns how many files were written.
pub(crate) fn fetch_into(
    bundle: &Bundle,
    renderer: &Renderer,
    context: &Context,
    action: &Action,
    input: &Json,
    tree: &mut FileTree,
) -> Result<usize, StepError> {
    let fetch = Fetch::from_input(action, input).map_err(StepError::Input)?;
    let url = input
        .get("url")
        .and_then(Json::as_str)
        .filter(|url| !url.is_empty())
        .ok_or_else(|| StepError::Input("input.url did not render to a folder".to_owned()))?;
    let skeleton = bundle.skeleton(url)?;
    let values = input.get("values").and_then(Json::as_object).cloned().unwrap_or_default();
    Ok(skeleton.render_into(renderer, &context.clone().with_values(values), &fetch, tree)?)
}

/// Backstage's truthiness of a rendered `if`.
fn truthy(value: Option<&Json>) -> bool {
    match value {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) => !s.is_empty() && s != "false",
        Some(Json::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
        Some(Json::Array(items)) => !items.is_empty(),
        Some(Json::Object(_)) => true,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(RelativePath::parse("./a/./b.txt").map(|p| p.to_string()), Ok("a/b.txt".to_owned()));
        assert_eq!(RelativePath::parse("/etc/passwd"), Err(PathError::Absolute));
        assert_eq!(RelativePath::parse("../../etc/passwd"), Err(PathError::ParentSegment));
        assert_eq!(RelativePath::parse("a/../../b"), Err(PathError::ParentSegment));
        assert_eq!(RelativePath::parse("a//b"), Err(PathError::EmptySegment));
        assert_eq!(RelativePath::parse("a\\..\\b"), Err(PathError::Backslash));
        assert_eq!(RelativePath::parse("a\0b"), Err(PathError::ControlCharacter));
        assert_eq!(RelativePath::parse("./."), Err(PathError::Empty));
        assert_eq!(RelativePath::parse(&"x".repeat(256)), Err(PathError::TooLong));
        assert_eq!(RelativePath::parse_target("./"), Ok(None));
        assert_eq!(RelativePath::parse_target("docs/").map(|p| p.map(|p| p.to_string())), Ok(Some("docs".to_owned())));
        assert_eq!(RelativePath::parse_target("/"), Err(PathError::Absolute));
    }

    #[test]
    fn trees_keep_their_limits() {
        let limits = Limits { max_files: 2, max_file_bytes: 4, max_total_bytes: 6, ..Limits::default() };
        let mut tree = FileTree::new(limits);
        let path = |p: &str| RelativePath::parse(p).expect("valid");
        assert_eq!(tree.insert(path("a"), b"1234".to_vec(), false), Ok(true));
        assert_eq!(tree.insert(path("a"), b"x".to_vec(), false), Ok(false), "kept");
        assert_eq!(tree.text("a"), Some("1234"));
        assert_eq!(
            tree.insert(path("b"), b"12345".to_vec(), false),
            Err(TreeLimitError::FileTooLarge { size: 5, limit: 4 })
        );
        assert_eq!(tree.insert(path("b"), b"123".to_vec(), false), Err(TreeLimitError::TotalTooLarge { limit: 6 }));
        assert_eq!(tree.insert(path("b"), b"12".to_vec(), false), Ok(true));
        assert_eq!(tree.insert(path("c"), b"".to_vec(), false), Err(TreeLimitError::TooManyFiles { limit: 2 }));
        assert_eq!(tree.insert(path("a"), b"1".to_vec(), true), Ok(true), "replaced");
        assert_eq!((tree.len(), tree.total_bytes(), tree.remaining_bytes()), (2, 3, 3));
    }

    #[test]
    fn globs_match_files() {
        let patterns = |list: &[&str]| list.iter().map(|p| glob::Pattern::new(p).expect("glob")).collect::<Vec<_>>();
        assert!(matches_any(&patterns(&[".github/workflows/*"]), ".github/workflows/ci.yml"));
        assert!(!matches_any(&patterns(&[".github/workflows/*"]), ".github/workflows/deep/ci.yml"));
        assert!(!matches_any(&patterns(&[".github/workflows"]), ".github/workflows/deep/ci.yml"));
        assert!(matches_any(&patterns(&[".github/**"]), ".github/workflows/deep/ci.yml"));
        assert!(matches_any(&patterns(&["**/*.png"]), "assets/img/logo.png"));
        assert!(!matches_any(&patterns(&["*.png"]), "assets/logo.png"));
    }

    #[test]
    fn fetch_options_from_input() {
        let fetch = Fetch::from_input(
            &Action::FetchTemplate,
            &json!({"url": "./s", "targetPath": "./app", "copyWithoutTemplating": ["*.bin"], "replace": true}),
        )
        .expect("valid");
        assert_eq!(fetch.target.as_ref().map(ToString::to_string).as_deref(), Some("app"));
        assert!(fetch.replace && fetch.render);
        assert_eq!(fetch.plan("x.bin"), (true, false, "x.bin"));
        assert_eq!(fetch.plan("x.txt"), (true, true, "x.txt"));
        let fetch = Fetch::from_input(&Action::FetchTemplate, &json!({"templateFileExtension": true})).expect("valid");
        assert_eq!(fetch.plan("main.rs.njk"), (true, true, "main.rs"));
        assert_eq!(fetch.plan("logo.svg"), (true, false, "logo.svg"));
        assert_eq!(Fetch::plain().plan("${{ x }}.txt"), (false, false, "${{ x }}.txt"));
        let err = Fetch::from_input(&Action::FetchTemplate, &json!({"targetPath": "../up"})).expect_err("escapes");
        assert_eq!(err, "targetPath `../up` contains `..`, which leaves the target folder");
        assert!(
            Fetch::from_input(
                &Action::FetchTemplate,
                &json!({"copyWithoutRender": ["a"], "copyWithoutTemplating": ["b"]})
            )
            .is_err()
        );
    }

    #[test]
    fn truthiness() {
        for falsy in [None, Some(json!(false)), Some(json!("")), Some(json!("false")), Some(json!(0)), Some(json!([]))]
        {
            assert!(!truthy(falsy.as_ref()), "{falsy:?}");
        }
        for true_ in [json!(true), json!("yes"), json!(1), json!(["a"]), json!({})] {
            assert!(truthy(Some(&true_)), "{true_}");
        }
    }

    #[test]
    fn binary_detection() {
        assert!(is_binary(&[0x89, b'P', b'N', b'G', 0, 1]));
        assert!(is_binary(&[0xff, 0xfe]));
        assert!(!is_binary("héllo ${{ values.x }}".as_bytes()));
    }
}
