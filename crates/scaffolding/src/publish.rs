//! Publishing a rendered [`FileTree`]: as a git repository on disk ([`publish_git`]), or as a `.tar.gz`
//! ([`archive`]).
//!
//! A repository is built whole in a temporary folder beside its destination and renamed into place, so that a reader
//! never sees half of one and a failed run leaves nothing behind. It is an ordinary (non-bare) repository: the files
//! are its work tree, one commit holds them on the requested branch, and `receive.denyCurrentBranch` is
//! `updateInstead`, so that people who clone it through a git server can push back and the work tree follows.
//!
//! Files are written `0644`, or `0755` when their contents start with `#!`. A path with a `.git` segment is refused
//! (a template must not write into the repository's own metadata), as is a path below another file of the tree.
//!
//! A run is retried safely: the commit carries the task's id as a `Portolan-Task: <id>` trailer, and publishing to a
//! repository whose HEAD carries the same trailer returns it as [`Published::already_existed`] instead of refusing.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use git2::{Branch, ErrorCode, ObjectType, Repository, RepositoryInitOptions, Signature};

use crate::skeleton::{FileTree, RelativePath};

/// The trailer that names the task a commit was published by.
pub const TASK_TRAILER: &str = "Portolan-Task";

/// The modification time of every entry of an [`archive`]: 1980-01-01T00:00:00Z, as reproducible builds use.
pub const ARCHIVE_MTIME: u64 = 315_532_800;

const TEMP_PREFIX: &str = ".portolan-publish-";
const REMOVE_PREFIX: &str = ".portolan-remove-";

/// The commit [`publish_git`] makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    /// The branch name, without `refs/heads/` (`main`).
    pub branch: String,
    /// The scaffolder task, written as a `Portolan-Task` trailer; what makes a retried run recognise its repository.
    pub task_id: Option<String>,
}

impl CommitInfo {
    fn check(&self) -> Result<(), PublishError> {
        let invalid = |reason: String| Err(PublishError::InvalidCommit { reason });
        if self.message.trim().is_empty() {
            return invalid("the commit message is empty".to_owned());
        }
        if self.branch.starts_with("refs/") || !Branch::name_is_valid(&self.branch).unwrap_or(false) {
            return invalid(format!("`{}` is not a valid branch name", self.branch));
        }
        for (what, value) in [("author name", &self.author_name), ("author email", &self.author_email)] {
            if value.trim().is_empty() {
                return invalid(format!("the {what} is empty"));
            }
            if value.contains(['<', '>']) || value.chars().any(char::is_control) {
                return invalid(format!(
                    "the {what} `{}` contains `<`, `>` or a control character",
                    value.escape_debug()
                ));
            }
        }
        if let Some(task) = &self.task_id
            && (task.trim().is_empty() || task.trim() != task || task.chars().any(char::is_control))
        {
            return invalid(format!("the task id `{}` must be one non-empty line", task.escape_debug()));
        }
        Ok(())
    }

    /// The message as committed: trimmed, with the task trailer in a paragraph of its own.
    fn full_message(&self) -> String {
        let mut text = format!("{}\n", self.message.trim());
        if let Some(task) = &self.task_id {
            text.push_str(&format!("\n{TASK_TRAILER}: {task}\n"));
        }
        text
    }
}

/// A repository [`publish_git`] made, or found already made by an earlier run of the same task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub path: PathBuf,
    /// The HEAD commit, in hex.
    pub commit: String,
    pub branch: String,
    /// The task whose trailer the commit carries; what [`remove_published`] checks.
    pub task_id: Option<String>,
    /// The repository was there already, published by an earlier run of the same task.
    pub already_existed: bool,
}

/// Why a tree could not be published or read back. Every message names the path or file concerned.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("`{}` already exists and is not a repository published by this task; refusing to overwrite it", path.display())]
    Exists { path: PathBuf },
    #[error("cannot publish: {reason}")]
    InvalidCommit { reason: String },
    #[error("`{file}` cannot be published: {reason}")]
    UnsafePath { file: String, reason: String },
    #[error("the archive folder `{root}` {reason}")]
    InvalidRoot { root: String, reason: String },
    #[error("could not write `{file}`: {source}")]
    Write { file: String, source: io::Error },
    #[error("`{}`: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("git repository `{}`: {}", path.display(), source.message())]
    Git { path: PathBuf, source: git2::Error },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> PublishError + '_ {
    move |source| PublishError::Io { path: path.to_owned(), source }
}

fn git_error(path: &Path) -> impl FnOnce(git2::Error) -> PublishError + '_ {
    move |source| PublishError::Git { path: path.to_owned(), source }
}

/// Publishes `tree` as a new git repository at `dest`, its files checked out and committed once on
/// `commit.branch`; creates `dest`'s parent folder if missing.
///
/// When `dest` already exists, it is returned with [`Published::already_existed`] if it is a repository whose HEAD
/// carries this task's `Portolan-Task` trailer (the run is a retry), and refused with [`PublishError::Exists`]
/// otherwise; it is never changed. The repository is built in a temporary folder beside `dest` and renamed into
/// place, so a failure leaves neither `dest` nor the temporary folder. (A folder that appears at `dest` between the
/// check and the rename is replaced if empty, as `rename(2)` does; refused otherwise.)
pub fn publish_git(tree: &FileTree, dest: &Path, commit: &CommitInfo) -> Result<Published, PublishError> {
    commit.check()?;
    if let Some(existing) = existing(dest, commit)? {
        return Ok(existing);
    }
    let parent = parent_of(dest);
    fs::create_dir_all(parent).map_err(io_error(parent))?;
    let temp = tempfile::Builder::new().prefix(TEMP_PREFIX).tempdir_in(parent).map_err(io_error(parent))?;
    let id = build_repository(tree, temp.path(), dest, commit)?;
    if let Err(source) = fs::rename(temp.path(), dest) {
        // Another run may have won the race; it is still refused unless it is this task's.
        return match existing(dest, commit)? {
            Some(existing) => Ok(existing),
            None => Err(PublishError::Io { path: dest.to_owned(), source }),
        };
    }
    // Renamed: there is nothing left to clean up.
    let _ = temp.keep();
    Ok(Published {
        path: dest.to_owned(),
        commit: id.to_string(),
        branch: commit.branch.clone(),
        task_id: commit.task_id.clone(),
        already_existed: false,
    })
}

/// The folder `dest` goes in (`.` for a bare name).
fn parent_of(dest: &Path) -> &Path {
    match dest.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// `None` when `dest` does not exist; the repository when it is this task's; [`PublishError::Exists`] otherwise.
fn existing(dest: &Path, commit: &CommitInfo) -> Result<Option<Published>, PublishError> {
    let metadata = match fs::symlink_metadata(dest) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(PublishError::Io { path: dest.to_owned(), source }),
    };
    let exists = || PublishError::Exists { path: dest.to_owned() };
    let Some(task) = &commit.task_id else {
        return Err(exists());
    };
    if !metadata.is_dir() {
        return Err(exists());
    }
    let repo = open_work_tree(dest).ok_or_else(exists)?;
    let head = repo.head().map_err(|_| exists())?;
    let id = head.peel_to_commit().ok().filter(|c| carries_task(c, task)).ok_or_else(exists)?.id();
    Ok(Some(Published {
        path: dest.to_owned(),
        commit: id.to_string(),
        branch: head.shorthand().unwrap_or(&commit.branch).to_owned(),
        task_id: Some(task.clone()),
        already_existed: true,
    }))
}

/// The non-bare repository whose work tree is `path`, if that is what `path` is.
fn open_work_tree(path: &Path) -> Option<Repository> {
    let repo = Repository::open(path).ok()?;
    let workdir = repo.workdir()?.canonicalize().ok()?;
    (workdir == path.canonicalize().ok()?).then_some(repo)
}

/// Whether a commit's message carries `Portolan-Task: <task>`.
fn carries_task(commit: &git2::Commit<'_>, task: &str) -> bool {
    let Ok(message) = commit.message() else {
        return false;
    };
    git2::message_trailers_strs(message)
        .is_ok_and(|trailers| trailers.iter().any(|(key, value)| key == TASK_TRAILER && value.trim() == task))
}

/// Makes the repository in `dir` (messages name `dest`, where it is going) and returns its commit.
fn build_repository(tree: &FileTree, dir: &Path, dest: &Path, commit: &CommitInfo) -> Result<git2::Oid, PublishError> {
    let git = git_error(dest);
    let mut options = RepositoryInitOptions::new();
    options.initial_head(&commit.branch).external_template(false).no_reinit(true).mkpath(false);
    let repo = Repository::init_opts(dir, &options).map_err(git)?;
    repo.config()
        .and_then(|mut config| config.set_str("receive.denyCurrentBranch", "updateInstead"))
        .map_err(git_error(dest))?;
    write_files(tree, dir)?;
    let mut index = repo.index().map_err(git_error(dest))?;
    for path in tree.paths() {
        index.add_path(Path::new(path.as_str())).map_err(git_error(dest))?;
    }
    index.write().map_err(git_error(dest))?;
    let tree_id = index.write_tree().map_err(git_error(dest))?;
    let git_tree = repo.find_tree(tree_id).map_err(git_error(dest))?;
    let signature = Signature::now(&commit.author_name, &commit.author_email).map_err(git_error(dest))?;
    repo.commit(Some("HEAD"), &signature, &signature, &commit.full_message(), &git_tree, &[]).map_err(git_error(dest))
}

/// Writes every file of the tree below `dir` with its [`file_mode`].
fn write_files(tree: &FileTree, dir: &Path) -> Result<(), PublishError> {
    for (path, contents) in tree.iter() {
        check_path(tree, path)?;
        let write = |source| PublishError::Write { file: path.to_string(), source };
        let full = dir.join(path.as_str());
        if let Some(folder) = full.parent() {
            fs::create_dir_all(folder).map_err(write)?;
        }
        fs::write(&full, contents).map_err(write)?;
        set_mode(&full, file_mode(contents)).map_err(write)?;
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// `0755` for a script (contents starting with `#!`), `0644` otherwise.
fn file_mode(contents: &[u8]) -> u32 {
    if contents.starts_with(b"#!") { 0o755 } else { 0o644 }
}

/// Refuses a `.git` segment (in any case), and a path below another file of the tree.
fn check_path(tree: &FileTree, path: &RelativePath) -> Result<(), PublishError> {
    let refuse = |reason: String| PublishError::UnsafePath { file: path.to_string(), reason };
    let text = path.as_str();
    if text.split('/').any(|segment| segment.eq_ignore_ascii_case(".git")) {
        return Err(refuse("a `.git` folder would be the repository's own metadata".to_owned()));
    }
    for (end, _) in text.match_indices('/') {
        let folder = &text[..end];
        if tree.get(folder).is_some() {
            return Err(refuse(format!("`{folder}` is a file of the same tree, so it cannot also be a folder")));
        }
    }
    Ok(())
}

/// Removes a repository that [`publish_git`] returned, to roll back a run whose later step failed.
///
/// The rule: the folder is removed only while it is still exactly what the run published — a repository whose work
/// tree is `published.path`, whose HEAD is `published.commit`, and whose HEAD commit carries the run's
/// `Portolan-Task` trailer when it has a task. So a retried run ([`Published::already_existed`]) removes the
/// repository its own task made earlier, but a repository someone has pushed to since, or anything else now at that
/// path, is left alone and reported as an error. A path that no longer exists is not an error. The folder is first
/// renamed away beside itself, so it disappears at once even if deleting its files is slow or fails.
pub fn remove_published(published: &Published) -> io::Result<()> {
    let path = &published.path;
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
        Ok(metadata) if !metadata.is_dir() => return Err(not_removed(path, "it is not a folder")),
        Ok(_) => {}
    }
    {
        let repo = open_work_tree(path).ok_or_else(|| not_removed(path, "it is not a git repository"))?;
        let head = repo
            .head()
            .and_then(|head| head.peel_to_commit())
            .map_err(|e| not_removed(path, &format!("its HEAD cannot be read ({})", e.message())))?;
        if head.id().to_string() != published.commit {
            return Err(not_removed(path, &format!("its HEAD is no longer {}", published.commit)));
        }
        if let Some(task) = &published.task_id
            && !carries_task(&head, task)
        {
            return Err(not_removed(path, &format!("its HEAD does not carry `{TASK_TRAILER}: {task}`")));
        }
    }
    let trash = tempfile::Builder::new().prefix(REMOVE_PREFIX).tempdir_in(parent_of(path))?;
    fs::rename(path, trash.path().join("repository"))?;
    trash.close()
}

fn not_removed(path: &Path, reason: &str) -> io::Error {
    io::Error::other(format!("`{}` was not removed: {reason}", path.display()))
}

/// A file of the HEAD commit of the repository at `repo`; `None` when HEAD has no file at `path` (or a folder).
pub fn read_head_file(repo: &Path, path: &str) -> Result<Option<Vec<u8>>, PublishError> {
    let path = RelativePath::parse(path)
        .map_err(|reason| PublishError::UnsafePath { file: path.to_owned(), reason: reason.to_string() })?;
    let repository = Repository::open(repo).map_err(git_error(repo))?;
    let tree = repository.head().and_then(|head| head.peel_to_tree()).map_err(git_error(repo))?;
    let entry = match tree.get_path(Path::new(path.as_str())) {
        Ok(entry) => entry,
        Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(PublishError::Git { path: repo.to_owned(), source: e }),
    };
    if entry.kind() != Some(ObjectType::Blob) {
        return Ok(None);
    }
    let blob = repository.find_blob(entry.id()).map_err(git_error(repo))?;
    Ok(Some(blob.content().to_vec()))
}

/// The tree as a `.tar.gz` with every file below the folder `root/` (one path segment): folders `0755`, files as in
/// a repository, owner 0, every time [`ARCHIVE_MTIME`], entries in path order, so that the same tree always packs to
/// the same bytes. Paths are checked as for a repository.
pub fn archive(tree: &FileTree, root: &str) -> Result<Vec<u8>, PublishError> {
    let invalid = |reason: String| PublishError::InvalidRoot { root: root.to_owned(), reason };
    let root = RelativePath::parse(root).map_err(|reason| invalid(reason.to_string()))?;
    if root.as_str().contains('/') {
        return Err(invalid("must be a single folder name".to_owned()));
    }
    let root = root.as_str();
    let packing = |source| PublishError::Io { path: PathBuf::from(format!("{root}.tar.gz")), source };
    let gzip = GzBuilder::new().mtime(0).operating_system(255).write(Vec::new(), Compression::default());
    let mut builder = tar::Builder::new(gzip);
    let mut folders = BTreeSet::new();
    append_folder(&mut builder, root).map_err(packing)?;
    for (path, contents) in tree.iter() {
        check_path(tree, path)?;
        let text = path.as_str();
        for (end, _) in text.match_indices('/') {
            let folder = &text[..end];
            if folders.insert(folder) {
                append_folder(&mut builder, &format!("{root}/{folder}")).map_err(packing)?;
            }
        }
        let mut header = header(tar::EntryType::Regular, file_mode(contents), contents.len() as u64);
        builder.append_data(&mut header, format!("{root}/{text}"), contents).map_err(packing)?;
    }
    let gzip = builder.into_inner().map_err(packing)?;
    gzip.finish().map_err(packing)
}

fn append_folder<W: io::Write>(builder: &mut tar::Builder<W>, path: &str) -> io::Result<()> {
    let mut header = header(tar::EntryType::Directory, 0o755, 0);
    builder.append_data(&mut header, format!("{path}/"), io::empty())
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(ARCHIVE_MTIME);
    header.set_uid(0);
    header.set_gid(0);
    header
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::skeleton::Limits;

    fn tree(files: &[(&str, &str)]) -> FileTree {
        let mut tree = FileTree::new(Limits::default());
        for (path, contents) in files {
            let path = RelativePath::parse(path).expect("valid path");
            tree.insert(path, contents.as_bytes().to_vec(), false).expect("within limits");
        }
        tree
    }

    fn service() -> FileTree {
        tree(&[
            ("README.md", "# payments\n"),
            ("src/main.rs", "fn main() {}\n"),
            ("scripts/run.sh", "#!/bin/sh\necho run\n"),
            ("catalog-info.yaml", "kind: Component\n"),
        ])
    }

    fn commit(task: Option<&str>) -> CommitInfo {
        CommitInfo {
            message: "Create payments from the rust-service template".to_owned(),
            author_name: "Portolan".to_owned(),
            author_email: "portolan@example.com".to_owned(),
            branch: "main".to_owned(),
            task_id: task.map(str::to_owned),
        }
    }

    /// The names in a folder, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("readable")
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[cfg(unix)]
    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).expect("exists").permissions().mode() & 0o777
    }

    #[test]
    fn publishes_a_repository() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dest = temp.path().join("repos/payments");
        let published = publish_git(&service(), &dest, &commit(Some("task-1"))).expect("published");
        assert_eq!(published.path, dest);
        assert_eq!(published.branch, "main");
        assert!(!published.already_existed);
        assert_eq!(listing(&temp.path().join("repos")), ["payments"], "no temporary folder left");

        for (path, contents) in service().iter() {
            assert_eq!(read_head_file(&dest, path.as_str()).expect("readable").as_deref(), Some(contents), "{path}");
            assert_eq!(fs::read(dest.join(path.as_str())).expect("in the work tree"), contents, "{path}");
        }
        assert_eq!(read_head_file(&dest, "missing.txt").expect("readable"), None);
        assert_eq!(read_head_file(&dest, "src").expect("readable"), None, "a folder");

        let repo = Repository::open(&dest).expect("a repository");
        assert!(!repo.is_bare());
        let head = repo.head().expect("HEAD");
        assert_eq!(head.name().ok(), Some("refs/heads/main"));
        let head = head.peel_to_commit().expect("a commit");
        assert_eq!(head.id().to_string(), published.commit);
        assert_eq!(head.parent_count(), 0, "one commit");
        assert_eq!(
            head.message().ok(),
            Some("Create payments from the rust-service template\n\nPortolan-Task: task-1\n")
        );
        assert_eq!(head.author().email().ok(), Some("portolan@example.com"));
        let config = repo.config().expect("config").snapshot().expect("snapshot");
        assert_eq!(config.get_str("receive.denyCurrentBranch").expect("set"), "updateInstead");
        assert!(repo.statuses(None).expect("status").is_empty(), "the work tree is clean");

        let tree = head.tree().expect("tree");
        let mode = |path: &str| tree.get_path(Path::new(path)).expect("in HEAD").filemode();
        assert_eq!((mode("scripts/run.sh"), mode("README.md")), (0o100755, 0o100644));
        #[cfg(unix)]
        assert_eq!((mode_of(&dest.join("scripts/run.sh")), mode_of(&dest.join("README.md"))), (0o755, 0o644));
    }

    #[test]
    fn no_task_no_trailer() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dest = temp.path().join("svc");
        let info = CommitInfo { branch: "trunk".to_owned(), ..commit(None) };
        let published = publish_git(&service(), &dest, &info).expect("published");
        let repo = Repository::open(&dest).expect("a repository");
        let head = repo.head().expect("HEAD");
        assert_eq!(head.shorthand().ok(), Some("trunk"));
        assert_eq!(published.branch, "trunk");
        assert_eq!(head.peel_to_commit().expect("commit").message().ok(), Some(&*format!("{}\n", info.message)));
    }

    #[test]
    fn clones_and_pushes_back() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dest = temp.path().join("svc");
        let published = publish_git(&service(), &dest, &commit(Some("task-1"))).expect("published");

        let clone_dir = temp.path().join("clone");
        let url = dest.to_str().expect("UTF-8 path");
        let clone = git2::build::RepoBuilder::new().clone(url, &clone_dir).expect("cloned");
        assert_eq!(fs::read_to_string(clone_dir.join("README.md")).expect("checked out"), "# payments\n");
        assert_eq!(clone.head().expect("HEAD").shorthand().ok(), Some("main"));

        fs::write(clone_dir.join("README.md"), "# payments, edited\n").expect("written");
        let mut index = clone.index().expect("index");
        index.add_path(Path::new("README.md")).expect("added");
        index.write().expect("written");
        let tree = clone.find_tree(index.write_tree().expect("tree")).expect("tree");
        let parent = clone.head().and_then(|h| h.peel_to_commit()).expect("parent");
        let signature = Signature::now("Dev", "dev@example.com").expect("signature");
        clone.commit(Some("HEAD"), &signature, &signature, "Edit\n", &tree, &[&parent]).expect("committed");

        let pushed = clone.find_remote("origin").and_then(|mut origin| origin.push(&["refs/heads/main"], None));
        match pushed {
            // git (through a git server) honours `updateInstead`; libgit2's local transport refuses any push into a
            // non-bare repository, so only the setting can be checked here.
            Err(e) => {
                assert!(e.message().contains("non-bare"), "{}", e.message());
                let config = Repository::open(&dest).and_then(|r| r.config()?.snapshot()).expect("config");
                assert_eq!(config.get_str("receive.denyCurrentBranch").expect("set"), "updateInstead");
                assert_eq!(fs::read_to_string(dest.join("README.md")).expect("unchanged"), "# payments\n");
            }
            Ok(()) => {
                assert_eq!(fs::read_to_string(dest.join("README.md")).expect("updated"), "# payments, edited\n");
                assert_ne!(read_head_file(&dest, "README.md").expect("read"), None);
                let head = Repository::open(&dest).and_then(|r| Ok(r.head()?.peel_to_commit()?.id())).expect("head");
                assert_ne!(head.to_string(), published.commit);
            }
        }
    }

    #[test]
    fn an_existing_destination_is_refused() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dest = temp.path().join("svc");
        fs::create_dir(&dest).expect("created");
        fs::write(dest.join("keep.txt"), "mine").expect("written");
        let err = publish_git(&service(), &dest, &commit(Some("task-1"))).expect_err("exists");
        assert!(matches!(&err, PublishError::Exists { path } if *path == dest), "{err:?}");
        assert!(err.to_string().contains(&dest.display().to_string()), "{err}");
        assert_eq!(listing(&dest), ["keep.txt"]);
        assert_eq!(fs::read_to_string(dest.join("keep.txt")).expect("kept"), "mine");
        assert_eq!(listing(temp.path()), ["svc"], "no temporary folder left");

        let file = temp.path().join("file");
        fs::write(&file, "x").expect("written");
        assert!(matches!(publish_git(&service(), &file, &commit(None)), Err(PublishError::Exists { .. })));
    }

    #[test]
    fn a_retried_task_finds_its_repository() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dest = temp.path().join("svc");
        let first = publish_git(&service(), &dest, &commit(Some("task-1"))).expect("published");
        let other = tree(&[("README.md", "something else\n")]);
        let again = publish_git(&other, &dest, &commit(Some("task-1"))).expect("a retry");
        assert!(again.already_existed);
        assert_eq!((&again.commit, &again.branch, &again.path), (&first.commit, &first.branch, &first.path));
        assert_eq!(fs::read_to_string(dest.join("README.md")).expect("unchanged"), "# payments\n");

        let err = publish_git(&service(), &dest, &commit(Some("task-2"))).expect_err("another task");
        assert!(matches!(err, PublishError::Exists { .. }), "{err:?}");
        let err = publish_git(&service(), &dest, &commit(None)).expect_err("no task");
        assert!(matches!(err, PublishError::Exists { .. }), "{err:?}");
        assert_eq!(listing(temp.path()), ["svc"]);
    }

    #[test]
    fn a_failure_midway_leaves_nothing() {
        let temp = tempfile::tempdir().expect("temp dir");
        let parent = temp.path().join("repos");
        let dest = parent.join("svc");
        // `a` is written before `a/b` is found to need it as a folder: the repository is half made by then.
        let clash = tree(&[("README.md", "hi\n"), ("a", "file\n"), ("a/b", "below a file\n")]);
        let err = publish_git(&clash, &dest, &commit(Some("task-1"))).expect_err("a clash");
        assert_eq!(
            err.to_string(),
            "`a/b` cannot be published: `a` is a file of the same tree, so it cannot also be a folder"
        );
        assert!(!dest.exists());
        assert_eq!(listing(&parent), Vec::<String>::new(), "no temporary folder left");

        let sneaky = tree(&[("README.md", "hi\n"), ("sub/.GIT/hooks/post-checkout", "#!/bin/sh\n")]);
        let err = publish_git(&sneaky, &dest, &commit(None)).expect_err("a .git path");
        assert!(matches!(&err, PublishError::UnsafePath { file, .. } if file == "sub/.GIT/hooks/post-checkout"));
        assert!(!dest.exists());
        assert_eq!(listing(&parent), Vec::<String>::new());
    }

    #[test]
    fn commit_info_is_checked() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dest = temp.path().join("svc");
        let cases = [
            (CommitInfo { branch: "a..b".to_owned(), ..commit(None) }, "`a..b` is not a valid branch name"),
            (CommitInfo { branch: "refs/heads/main".to_owned(), ..commit(None) }, "not a valid branch name"),
            (CommitInfo { message: "  \n".to_owned(), ..commit(None) }, "the commit message is empty"),
            (CommitInfo { author_email: "<x>".to_owned(), ..commit(None) }, "author email `<x>`"),
            (commit(Some("task\nPortolan-Task: other")), "must be one non-empty line"),
        ];
        for (info, expected) in cases {
            let err = publish_git(&service(), &dest, &info).expect_err("invalid");
            assert!(err.to_string().contains(expected), "{err}");
        }
        assert!(!temp.path().join("svc").exists());
    }

    #[test]
    fn removes_only_what_the_run_published() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dest = temp.path().join("svc");
        let published = publish_git(&service(), &dest, &commit(Some("task-1"))).expect("published");
        let retried = publish_git(&service(), &dest, &commit(Some("task-1"))).expect("retried");
        remove_published(&retried).expect("removed: the task's own repository");
        assert_eq!(listing(temp.path()), Vec::<String>::new(), "nothing left beside it");
        remove_published(&published).expect("already gone is fine");

        let published = publish_git(&service(), &dest, &commit(Some("task-1"))).expect("published");
        let other_task = Published { task_id: Some("task-2".to_owned()), ..published.clone() };
        let err = remove_published(&other_task).expect_err("another task's trailer");
        assert!(err.to_string().contains("does not carry `Portolan-Task: task-2`"), "{err}");

        // Someone pushes: HEAD moves on, and the repository is theirs to keep.
        let repo = Repository::open(&dest).expect("repository");
        let parent = repo.head().and_then(|h| h.peel_to_commit()).expect("head");
        let signature = Signature::now("Dev", "dev@example.com").expect("signature");
        repo.commit(Some("HEAD"), &signature, &signature, "More\n", &parent.tree().expect("tree"), &[&parent])
            .expect("committed");
        let err = remove_published(&published).expect_err("HEAD moved");
        assert!(err.to_string().contains("its HEAD is no longer"), "{err}");
        assert!(dest.join("README.md").exists());

        let plain = temp.path().join("plain");
        fs::create_dir(&plain).expect("created");
        let err = remove_published(&Published { path: plain.clone(), ..published }).expect_err("not a repository");
        assert!(err.to_string().contains("not a git repository"), "{err}");
        assert!(plain.exists());
    }

    /// The entries of a `.tar.gz`: path, mode, mtime and contents.
    fn unpack(bytes: &[u8]) -> Vec<(String, u32, u64, Vec<u8>)> {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
        let mut entries = Vec::new();
        for entry in archive.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let path = entry.path().expect("path").to_string_lossy().into_owned();
            let header = entry.header();
            let (mode, mtime) = (header.mode().expect("mode"), header.mtime().expect("mtime"));
            let mut contents = Vec::new();
            entry.read_to_end(&mut contents).expect("contents");
            entries.push((path, mode, mtime, contents));
        }
        entries
    }

    #[test]
    fn archives_below_a_root_folder() {
        let packed = archive(&service(), "payments").expect("packed");
        let entries = unpack(&packed);
        let paths: Vec<&str> = entries.iter().map(|(path, ..)| path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "payments/",
                "payments/README.md",
                "payments/catalog-info.yaml",
                "payments/scripts/",
                "payments/scripts/run.sh",
                "payments/src/",
                "payments/src/main.rs",
            ]
        );
        for (path, mode, mtime, contents) in &entries {
            assert_eq!(*mtime, ARCHIVE_MTIME, "{path}");
            match path.strip_prefix("payments/").filter(|p| !p.is_empty() && !p.ends_with('/')) {
                Some(file) => {
                    assert_eq!(service().get(file), Some(contents.as_slice()), "{path}");
                    assert_eq!(*mode, if file == "scripts/run.sh" { 0o755 } else { 0o644 }, "{path}");
                }
                None => assert_eq!(*mode, 0o755, "{path}"),
            }
        }
        assert_eq!(archive(&service(), "payments").expect("packed again"), packed, "byte-identical");

        let long = format!("{}/file.txt", "deep".repeat(40));
        let packed = archive(&tree(&[(&long, "x")]), "r").expect("a long path");
        assert!(unpack(&packed).iter().any(|(path, ..)| *path == format!("r/{long}")));
    }

    #[test]
    fn archive_roots_are_checked() {
        for (root, reason) in [
            ("a/b", "must be a single folder name"),
            ("..", "contains `..`"),
            ("", "is empty"),
            ("/abs", "is absolute"),
        ] {
            let err = archive(&service(), root).expect_err("refused");
            assert!(matches!(&err, PublishError::InvalidRoot { root: r, .. } if r == root), "{err:?}");
            assert!(err.to_string().contains(reason), "{root}: {err}");
        }
        let clash = tree(&[("a", "file"), ("a/b", "below")]);
        assert!(matches!(archive(&clash, "root"), Err(PublishError::UnsafePath { .. })));
    }
}
