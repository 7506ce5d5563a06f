//! Bundles: a template as data — the text of its `template.yaml` and every other file of its folder — so that a
//! version can be stored in a database and validated, dry-run or run later from memory alone.
//!
//! [`Bundle::read`] takes a template folder from disk (the walker [`Skeleton::read`] uses, with the same refusals);
//! [`Bundle::pack`] writes a deterministic `.tar.gz` and [`Bundle::unpack`] reads one back in memory, refusing any
//! entry that would leave the template's folder, links, devices, and more files or bytes than the [`Limits`] allow
//! (counting the bytes it decompresses, so a small archive cannot unpack to gigabytes). [`Bundle::content_hash`]
//! tells versions apart, and [`Bundle::skeleton`] is the folder a fetch step names.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use catalog::yaml::{Pos, utf8_error_pos};
use flate2::read::GzDecoder;
use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};
use tar::EntryType;

use crate::skeleton::{Limits, PathError, ReadError, RelativePath, Skeleton, SkeletonError, admit, read_folder};
use crate::validate::{MAX_TEMPLATE_BYTES, TEMPLATE_FILE};

/// A template folder in memory.
///
/// The paths of `files` are plain relative paths (as [`RelativePath`] writes them: no `.` or `..` segment, no leading
/// or doubled `/`) and never `template.yaml`, which is the `definition`. [`Bundle::read`] and [`Bundle::unpack`] hold
/// to this; [`Bundle::check`] tells whether a bundle built by hand does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The text of `template.yaml`.
    pub definition: String,
    /// Every other file below the template's folder, by `/`-separated path below it.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Why a bundle could not be read, unpacked or accepted. Each names the file or archive entry at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// A file or entry that cannot be taken in: a link, a special file, a name that is not UTF-8, past the limits.
    #[error("{0}")]
    Read(#[from] ReadError),
    #[error("`{file}` is {size} bytes, more than the limit of {limit} for a template file")]
    DefinitionTooLarge { file: String, size: u64, limit: u64 },
    /// The template file is not UTF-8; `pos` is where the first bad byte is.
    #[error("`{file}` is not UTF-8 text")]
    DefinitionNotText { file: String, pos: Pos },
    #[error("the archive holds no `template.yaml`")]
    MissingDefinition,
    #[error("`{file}` clashes with the template file, which a bundle keeps as `template.yaml`")]
    DefinitionClash { file: String },
    #[error("the path `{entry}` {reason}; refused")]
    UnsafePath { entry: String, reason: PathError },
    #[error("the path `{entry}` is not written plainly (as `{plain}`)")]
    NotPlain { entry: String, plain: String },
    #[error("`{entry}` is a {kind}; a bundle holds files and folders only")]
    EntryType { entry: String, kind: &'static str },
    #[error("`{entry}` appears more than once in the archive")]
    Duplicate { entry: String },
    #[error("the archive unpacks to more than {limit} bytes{}; refused", after_entry(.after))]
    ArchiveTooLarge { limit: u64, after: Option<String> },
    #[error("the archive cannot be read{}: {message}", after_entry(.after))]
    Archive { message: String, after: Option<String> },
}

fn after_entry(after: &Option<String>) -> String {
    after.as_ref().map(|entry| format!(" after the entry `{entry}`")).unwrap_or_default()
}

impl BundleError {
    /// Where in the template file the problem is: the first bad byte of a file that is not UTF-8, else its start.
    pub fn pos(&self) -> Pos {
        match self {
            BundleError::DefinitionNotText { pos, .. } => *pos,
            _ => Pos::new(1, 1),
        }
    }
}

impl Bundle {
    /// Reads a template folder — `path` is the folder holding `template.yaml`, or the template file itself — and every
    /// file below the folder but `.git` folders. Refuses symbolic links anywhere below the folder (the template file
    /// included; `path` itself may be one), special files and names that are not UTF-8; the files other than the
    /// template file keep to `limits`, the template file to [`MAX_TEMPLATE_BYTES`].
    pub fn read(path: &Path, limits: &Limits) -> Result<Bundle, BundleError> {
        let io = |path: &Path, e: io::Error| ReadError::Io { path: path.to_owned(), message: e.to_string() };
        let (dir, file) = if fs::metadata(path).map_err(|e| io(path, e))?.is_dir() {
            (path.to_owned(), path.join(TEMPLATE_FILE))
        } else {
            let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
            (dir.to_owned(), path.to_owned())
        };
        let name = file
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| ReadError::NotUtf8 { file: file.to_string_lossy().into_owned() })?
            .to_owned();
        let definition = read_definition(&file, &name)?;
        let skip = |path: &str| path == name || path == ".git" || path.ends_with("/.git");
        let files = read_folder(&dir, "", limits, &skip)?;
        if files.contains_key(TEMPLATE_FILE) {
            return Err(BundleError::DefinitionClash { file: TEMPLATE_FILE.to_owned() });
        }
        Ok(Bundle { definition, files })
    }

    /// Whether the bundle keeps to the rules [`Bundle::read`] and [`Bundle::unpack`] enforce: plain relative paths,
    /// no second `template.yaml`, a template file within [`MAX_TEMPLATE_BYTES`] and files within `limits`. For bundles
    /// built by hand.
    pub fn check(&self, limits: &Limits) -> Result<(), BundleError> {
        let size = self.definition.len() as u64;
        if size > MAX_TEMPLATE_BYTES {
            let file = TEMPLATE_FILE.to_owned();
            return Err(BundleError::DefinitionTooLarge { file, size, limit: MAX_TEMPLATE_BYTES });
        }
        let mut total: usize = 0;
        for (count, (path, contents)) in self.files.iter().enumerate() {
            let plain = RelativePath::parse(path)
                .map_err(|reason| BundleError::UnsafePath { entry: path.clone(), reason })?
                .to_string();
            if plain != *path {
                return Err(BundleError::NotPlain { entry: path.clone(), plain });
            }
            if path == TEMPLATE_FILE {
                return Err(BundleError::DefinitionClash { file: path.clone() });
            }
            admit(limits, count, total, path, contents.len() as u64)?;
            total += contents.len();
        }
        Ok(())
    }

    /// The bundle as a `.tar.gz`: `template.yaml` first, then the files in path order, each a regular file with mode
    /// 0644, owner 0 and time 0, in a gzip stream with time 0 — the same bundle always packs to the same bytes. A file
    /// whose path [`Bundle::check`] refuses (possible only in a bundle built by hand) is left out.
    pub fn pack(&self) -> Vec<u8> {
        // Writing into memory does not fail, and every path written is a plain relative path, which tar accepts.
        self.write_archive().unwrap_or_default()
    }

    fn write_archive(&self) -> io::Result<Vec<u8>> {
        let gzip = GzBuilder::new().mtime(0).operating_system(255).write(Vec::new(), Compression::default());
        let mut archive = tar::Builder::new(gzip);
        let files = self
            .files
            .iter()
            .filter(|(path, _)| {
                path.as_str() != TEMPLATE_FILE && RelativePath::parse(path).is_ok_and(|p| p.as_str() == path.as_str())
            })
            .map(|(path, contents)| (path.as_str(), contents.as_slice()));
        for (path, contents) in std::iter::once((TEMPLATE_FILE, self.definition.as_bytes())).chain(files) {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(EntryType::Regular);
            header.set_mode(0o644);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            header.set_size(contents.len() as u64);
            archive.append_data(&mut header, path, contents)?;
        }
        let mut gzip = archive.into_inner()?;
        gzip.flush()?;
        gzip.finish()
    }

    /// Reads a `.tar.gz` (as [`Bundle::pack`] writes, or `tar -czf` of a template folder) in memory; nothing is
    /// written to disk. Folder entries are allowed; an entry is refused when its path is absolute, contains `..`,
    /// is not UTF-8 or otherwise not a plain relative path, when it is a link, a device or anything but a file or a
    /// folder, when it appears twice, and when the files pass `limits`. The decompressed stream itself is bounded, so
    /// that a small archive cannot unpack to gigabytes. `template.yaml` must be there, UTF-8, within
    /// [`MAX_TEMPLATE_BYTES`].
    pub fn unpack(bytes: &[u8], limits: &Limits) -> Result<Bundle, BundleError> {
        let budget = unpacked_budget(limits);
        let exceeded = Cell::new(false);
        let stream = Bounded { inner: GzDecoder::new(bytes), remaining: budget, exceeded: &exceeded };
        let mut archive = tar::Archive::new(stream);
        let mut last: Option<String> = None;
        let broken = |e: io::Error, after: &Option<String>| {
            if exceeded.get() {
                BundleError::ArchiveTooLarge { limit: budget, after: after.clone() }
            } else {
                BundleError::Archive { message: e.to_string(), after: after.clone() }
            }
        };
        let mut definition = None;
        let mut files = BTreeMap::new();
        let mut seen = BTreeSet::new();
        let mut total: usize = 0;
        for entry in archive.entries().map_err(|e| broken(e, &None))? {
            let mut entry = entry.map_err(|e| broken(e, &last))?;
            let name = String::from_utf8(entry.path_bytes().into_owned())
                .map_err(|e| ReadError::NotUtf8 { file: String::from_utf8_lossy(e.as_bytes()).into_owned() })?;
            last = Some(name.clone());
            let unsafe_path = |reason| BundleError::UnsafePath { entry: name.clone(), reason };
            let entry_type = entry.header().entry_type();
            if entry_type.is_dir() {
                RelativePath::parse_target(&name).map_err(unsafe_path)?;
                continue;
            }
            if !entry_type.is_file() && !entry_type.is_contiguous() {
                return Err(refused_type(name.clone(), entry_type));
            }
            let path = RelativePath::parse(&name).map_err(unsafe_path)?.to_string();
            if !seen.insert(path.clone()) {
                return Err(BundleError::Duplicate { entry: name });
            }
            let size = entry.size();
            if path == TEMPLATE_FILE {
                if size > MAX_TEMPLATE_BYTES {
                    return Err(BundleError::DefinitionTooLarge { file: name, size, limit: MAX_TEMPLATE_BYTES });
                }
                let bytes = read_entry(&mut entry, size).map_err(|e| broken(e, &last))?;
                let text = String::from_utf8(bytes).map_err(|e| BundleError::DefinitionNotText {
                    file: name.clone(),
                    pos: utf8_error_pos(e.as_bytes(), e.utf8_error().valid_up_to()),
                })?;
                definition = Some(text);
                continue;
            }
            admit(limits, files.len(), total, &path, size)?;
            let contents = read_entry(&mut entry, size).map_err(|e| broken(e, &last))?;
            total += contents.len();
            files.insert(path, contents);
        }
        let definition = definition.ok_or(BundleError::MissingDefinition)?;
        Ok(Bundle { definition, files })
    }

    /// A SHA-256 (in hex) of the template file and every file with its path, each length-prefixed so that no two
    /// bundles share a hash by moving bytes between a path and its contents.
    pub fn content_hash(&self) -> String {
        let mut hasher = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_be_bytes());
            hasher.update(bytes);
        };
        field(b"portolan template bundle 1");
        field(self.definition.as_bytes());
        field(&(self.files.len() as u64).to_be_bytes());
        for (path, contents) in &self.files {
            field(path.as_bytes());
            field(contents);
        }
        hex::encode(hasher.finalize())
    }

    /// The folder a fetch step's `url` names (`./skeleton`, `skeleton/`, `.`), relative to the template's folder and
    /// inside it; `.` is the whole folder, `template.yaml` included. Refuses remote locations, absolute paths and
    /// paths that leave the template's folder; a folder with no files does not exist.
    pub fn skeleton(&self, url: &str) -> Result<Skeleton, SkeletonError> {
        let refuse = |reason: &str| SkeletonError::Folder { url: url.to_owned(), reason: reason.to_owned() };
        if url.contains("://") {
            return Err(refuse("is a remote location; Portolan fetches folders inside the template"));
        }
        if url.starts_with('/') || url.starts_with('\\') {
            return Err(refuse("must be relative to the template's folder"));
        }
        let mut segments: Vec<&str> = Vec::new();
        for segment in url.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    if segments.pop().is_none() {
                        return Err(refuse("leaves the template's folder"));
                    }
                }
                segment => segments.push(segment),
            }
        }
        let folder = segments.join("/");
        if folder.is_empty() {
            let definition = (TEMPLATE_FILE.to_owned(), self.definition.as_bytes().to_vec());
            return Ok(Skeleton::from_files("", std::iter::once(definition).chain(self.files.clone())));
        }
        if folder == TEMPLATE_FILE || self.files.contains_key(&folder) {
            return Err(refuse("is not a folder"));
        }
        let prefix = format!("{folder}/");
        let files: Vec<(String, Vec<u8>)> = self
            .files
            .range::<str, _>((std::ops::Bound::Included(prefix.as_str()), std::ops::Bound::Unbounded))
            .map_while(|(path, contents)| Some((path.strip_prefix(&prefix)?.to_owned(), contents.clone())))
            .collect();
        if files.is_empty() {
            return Err(refuse("does not exist"));
        }
        Ok(Skeleton::from_files(&folder, files))
    }
}

/// The template file of a folder: a file (not a link), within [`MAX_TEMPLATE_BYTES`], UTF-8.
fn read_definition(file: &Path, name: &str) -> Result<String, BundleError> {
    let io = |e: io::Error| ReadError::Io { path: file.to_owned(), message: e.to_string() };
    let metadata = fs::symlink_metadata(file).map_err(io)?;
    if metadata.file_type().is_symlink() {
        return Err(ReadError::Symlink { file: name.to_owned() }.into());
    }
    if !metadata.is_file() {
        return Err(ReadError::Special { file: name.to_owned() }.into());
    }
    let too_large = |size| BundleError::DefinitionTooLarge { file: name.to_owned(), size, limit: MAX_TEMPLATE_BYTES };
    if metadata.len() > MAX_TEMPLATE_BYTES {
        return Err(too_large(metadata.len()));
    }
    let mut bytes = Vec::new();
    fs::File::open(file).and_then(|f| f.take(MAX_TEMPLATE_BYTES + 1).read_to_end(&mut bytes)).map_err(io)?;
    if bytes.len() as u64 > MAX_TEMPLATE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| BundleError::DefinitionNotText {
        file: name.to_owned(),
        pos: utf8_error_pos(e.as_bytes(), e.utf8_error().valid_up_to()),
    })
}

/// What an entry that is neither a file nor a folder is.
fn refused_type(entry: String, entry_type: EntryType) -> BundleError {
    if entry_type.is_symlink() {
        return ReadError::Symlink { file: entry }.into();
    }
    let kind = if entry_type.is_hard_link() {
        "hard link"
    } else if entry_type.is_character_special() || entry_type.is_block_special() {
        "device"
    } else if entry_type.is_fifo() {
        "named pipe"
    } else if entry_type.is_gnu_sparse() {
        "sparse file"
    } else {
        "entry of an unknown type"
    };
    BundleError::EntryType { entry, kind }
}

/// An entry's data, whose size was checked before.
fn read_entry(entry: &mut impl Read, size: u64) -> io::Result<Vec<u8>> {
    let mut contents = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    entry.take(size).read_to_end(&mut contents)?;
    Ok(contents)
}

/// How many decompressed bytes an archive within `limits` can take: its files and template file, and for each entry
/// room for headers and a long name.
fn unpacked_budget(limits: &Limits) -> u64 {
    const PER_ENTRY: u64 = 4096;
    const SLACK: u64 = 1024 * 1024;
    (limits.max_total_bytes as u64)
        .saturating_add(MAX_TEMPLATE_BYTES)
        .saturating_add((limits.max_files as u64).saturating_add(1).saturating_mul(PER_ENTRY))
        .saturating_add(SLACK)
}

/// A reader that fails once more than `remaining` bytes come through, and says so in `exceeded`.
struct Bounded<'a, R> {
    inner: R,
    remaining: u64,
    exceeded: &'a Cell<bool>,
}

impl<R: Read> Read for Bounded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            // The end of the stream is fine; one more byte is not.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.exceeded.set(true);
            return Err(io::Error::other("the archive unpacks to more bytes than allowed"));
        }
        let room = buf.len().min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..room])?;
        self.remaining -= read as u64;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use tempfile::TempDir;

    use super::*;

    const DEFINITION: &str = "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\n";

    fn folder(files: &[(&str, &[u8])]) -> TempDir {
        let dir = TempDir::new().expect("temp dir");
        for (path, contents) in files {
            let target = dir.path().join(path);
            fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            fs::write(target, contents).expect("write");
        }
        dir
    }

    fn sample() -> Bundle {
        let files = [
            ("skeleton/README.md", b"# ${{ values.name }}\n".to_vec()),
            ("skeleton/src/main.rs", b"fn main() {}\n".to_vec()),
            ("skeleton/logo.png", vec![0x89, b'P', b'N', b'G', 0, 0xff]),
            ("docs/index.md", b"".to_vec()),
        ];
        Bundle {
            definition: DEFINITION.to_owned(),
            files: files.into_iter().map(|(path, contents)| (path.to_owned(), contents)).collect(),
        }
    }

    /// An archive written header by header, as an attacker would: `(path, type, data)`; links point to `/etc/passwd`.
    fn raw_archive(entries: &[(&[u8], EntryType, &[u8])]) -> Vec<u8> {
        let mut archive = tar::Builder::new(Vec::new());
        for (path, entry_type, data) in entries {
            let mut header = tar::Header::new_gnu();
            let gnu = header.as_gnu_mut().expect("a GNU header");
            gnu.name[..path.len()].copy_from_slice(path);
            if entry_type.is_symlink() || entry_type.is_hard_link() {
                gnu.linkname[..11].copy_from_slice(b"/etc/passwd");
            }
            header.set_entry_type(*entry_type);
            header.set_mode(0o644);
            header.set_size(data.len() as u64);
            header.set_cksum();
            archive.append(&header, *data).expect("append");
        }
        gzip(&archive.into_inner().expect("tar"))
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
        gzip.write_all(bytes).expect("gzip");
        gzip.finish().expect("gzip")
    }

    fn unpack_error(entries: &[(&[u8], EntryType, &[u8])]) -> BundleError {
        Bundle::unpack(&raw_archive(entries), &Limits::default()).expect_err("refused")
    }

    #[test]
    fn a_folder_is_read_whole_but_git() {
        let dir = folder(&[
            ("template.yaml", DEFINITION.as_bytes()),
            ("skeleton/README.md", b"# ${{ values.name }}\n"),
            ("skeleton/src/main.rs", b"fn main() {}\n"),
            ("skeleton/logo.png", &[0x89, b'P', b'N', b'G', 0, 0xff]),
            ("docs/index.md", b""),
            (".git/HEAD", b"ref: refs/heads/main\n"),
            ("skeleton/vendored/.git/config", b"[core]\n"),
        ]);
        let bundle = Bundle::read(dir.path(), &Limits::default()).expect("readable");
        assert_eq!(bundle, sample());
        let by_file = Bundle::read(&dir.path().join("template.yaml"), &Limits::default()).expect("readable");
        assert_eq!(by_file, bundle, "the folder or its template file");

        // A template file of another name is the definition; a `template.yaml` beside it would be a second one.
        let dir = folder(&[("service.yaml", DEFINITION.as_bytes()), ("skeleton/a.txt", b"a")]);
        let bundle = Bundle::read(&dir.path().join("service.yaml"), &Limits::default()).expect("readable");
        assert_eq!(bundle.files.keys().collect::<Vec<_>>(), ["skeleton/a.txt"]);
        fs::write(dir.path().join("template.yaml"), DEFINITION).expect("write");
        assert_eq!(
            Bundle::read(&dir.path().join("service.yaml"), &Limits::default()),
            Err(BundleError::DefinitionClash { file: "template.yaml".to_owned() })
        );
    }

    #[test]
    fn reading_a_folder_keeps_to_the_limits() {
        let dir = folder(&[
            ("template.yaml", DEFINITION.as_bytes()),
            ("a.txt", b"12345"),
            ("b/c.txt", b"123"),
            ("d.txt", b"1"),
        ]);
        let read = |limits: Limits| Bundle::read(dir.path(), &limits).map_err(|e| e.to_string());
        let limits = Limits { max_files: 3, max_file_bytes: 5, max_total_bytes: 9, ..Limits::default() };
        assert_eq!(read(limits).map(|b| b.files.len()), Ok(3), "the template file does not count");
        assert_eq!(
            read(Limits { max_files: 2, ..limits }),
            Err("more than 2 files: `d.txt` is one too many".to_owned())
        );
        assert_eq!(
            read(Limits { max_file_bytes: 4, ..limits }),
            Err("`a.txt` is 5 bytes, more than the limit of 4 per file".to_owned())
        );
        assert_eq!(
            read(Limits { max_total_bytes: 8, ..limits }),
            Err("more than 8 bytes in all: `d.txt` does not fit".to_owned())
        );

        let dir = folder(&[("template.yaml", b"kind: Template\nname: caf\xe9\n")]);
        let error = Bundle::read(dir.path(), &Limits::default()).expect_err("not UTF-8");
        assert_eq!(error.to_string(), "`template.yaml` is not UTF-8 text");
        assert_eq!(error.pos(), Pos::new(2, 10));
        let missing = TempDir::new().expect("temp dir");
        let error = Bundle::read(missing.path(), &Limits::default()).expect_err("no template file");
        assert!(
            error.to_string().starts_with("cannot read ") && error.to_string().contains("template.yaml"),
            "{error}"
        );
        assert_eq!(error.pos(), Pos::new(1, 1));
    }

    #[cfg(unix)]
    #[test]
    fn links_and_special_files_in_a_folder_are_refused() {
        let dir = folder(&[("template.yaml", DEFINITION.as_bytes()), ("skeleton/README.md", b"hi")]);
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("skeleton/passwd")).expect("symlink");
        let error = Bundle::read(dir.path(), &Limits::default()).expect_err("refused");
        assert_eq!(error, BundleError::Read(ReadError::Symlink { file: "skeleton/passwd".to_owned() }));
        assert_eq!(
            error.to_string(),
            "`skeleton/passwd` is a symbolic link; a template holds files and folders only (a link could point \
             outside it)"
        );

        // The template file itself, and a link to a folder inside the template.
        let dir = folder(&[("real.yaml", DEFINITION.as_bytes()), ("skeleton/a.txt", b"a")]);
        std::os::unix::fs::symlink(dir.path().join("real.yaml"), dir.path().join("template.yaml")).expect("symlink");
        let error = Bundle::read(dir.path(), &Limits::default()).expect_err("refused");
        assert_eq!(error, BundleError::Read(ReadError::Symlink { file: "template.yaml".to_owned() }));
        fs::remove_file(dir.path().join("template.yaml")).expect("remove");
        fs::rename(dir.path().join("real.yaml"), dir.path().join("template.yaml")).expect("rename");
        std::os::unix::fs::symlink(dir.path().join("skeleton"), dir.path().join("alias")).expect("symlink");
        let error = Bundle::read(dir.path(), &Limits::default()).expect_err("refused");
        assert_eq!(error, BundleError::Read(ReadError::Symlink { file: "alias".to_owned() }));

        // A socket is neither a file nor a folder.
        let dir = folder(&[("template.yaml", DEFINITION.as_bytes())]);
        let _listener = std::os::unix::net::UnixListener::bind(dir.path().join("sock")).expect("socket");
        let error = Bundle::read(dir.path(), &Limits::default()).expect_err("refused");
        assert_eq!(error.to_string(), "`sock` is not a regular file or folder");
    }

    #[test]
    fn packing_is_deterministic_and_unpacks_to_the_same_bundle() {
        let bundle = sample();
        let packed = bundle.pack();
        assert_eq!(packed, bundle.pack(), "the same bytes every time");
        assert_eq!(packed, bundle.clone().pack());
        let unpacked = Bundle::unpack(&packed, &Limits::default()).expect("unpacks");
        assert_eq!(unpacked, bundle);
        assert_eq!(unpacked.content_hash(), bundle.content_hash());
        assert_eq!(unpacked.pack(), packed);

        let mut archive = tar::Archive::new(GzDecoder::new(packed.as_slice()));
        let entries: Vec<(String, u32, u64, u64)> = archive
            .entries()
            .expect("entries")
            .map(|entry| {
                let entry = entry.expect("entry");
                let header = entry.header();
                let path = String::from_utf8(entry.path_bytes().into_owned()).expect("UTF-8");
                (path, header.mode().expect("mode"), header.mtime().expect("mtime"), header.uid().expect("uid"))
            })
            .collect();
        let paths: Vec<&str> = entries.iter().map(|(path, ..)| path.as_str()).collect();
        assert_eq!(
            paths,
            ["template.yaml", "docs/index.md", "skeleton/README.md", "skeleton/logo.png", "skeleton/src/main.rs"]
        );
        assert!(entries.iter().all(|(_, mode, mtime, uid)| (*mode, *mtime, *uid) == (0o644, 0, 0)), "{entries:?}");

        // Long paths go through tar's long-name entries and come back whole.
        let mut long = bundle.clone();
        let deep = format!("skeleton/{}/{}.txt", "d".repeat(120), "f".repeat(200));
        long.files.insert(deep.clone(), b"deep".to_vec());
        let unpacked = Bundle::unpack(&long.pack(), &Limits::default()).expect("unpacks");
        assert_eq!(unpacked.files.get(&deep).map(Vec::as_slice), Some(b"deep".as_slice()));
        assert_eq!(unpacked, long);
    }

    #[test]
    fn content_hashes_tell_bundles_apart() {
        let bundle = sample();
        assert_eq!(bundle.content_hash().len(), 64);
        assert_eq!(bundle.content_hash(), sample().content_hash());
        let mut other = bundle.clone();
        other.definition.push(' ');
        assert_ne!(other.content_hash(), bundle.content_hash());
        let mut other = bundle.clone();
        other.files.insert("skeleton/empty".to_owned(), Vec::new());
        assert_ne!(other.content_hash(), bundle.content_hash(), "an empty file counts");
        let one = |path: &str, contents: &[u8]| Bundle {
            definition: String::new(),
            files: BTreeMap::from([(path.to_owned(), contents.to_vec())]),
        };
        assert_ne!(one("ab", b"c").content_hash(), one("a", b"bc").content_hash());
        let empty = Bundle { definition: String::new(), files: BTreeMap::new() };
        assert_ne!(empty.content_hash(), one("", b"").content_hash());
    }

    #[test]
    fn archive_entries_that_escape_are_refused() {
        let unsafe_path = |entry: &str, reason| BundleError::UnsafePath { entry: entry.to_owned(), reason };
        let template: (&[u8], EntryType, &[u8]) = (b"template.yaml", EntryType::Regular, DEFINITION.as_bytes());
        for (path, reason) in [
            ("../../etc/passwd", PathError::ParentSegment),
            ("/etc/passwd", PathError::Absolute),
            ("skeleton/../../x", PathError::ParentSegment),
            ("a\\..\\b", PathError::Backslash),
            ("a//b", PathError::EmptySegment),
        ] {
            let error = unpack_error(&[template, (path.as_bytes(), EntryType::Regular, b"root::0:0")]);
            assert_eq!(error, unsafe_path(path, reason));
        }
        assert_eq!(
            unpack_error(&[template, (b"../up/", EntryType::Directory, b"")]),
            unsafe_path("../up/", PathError::ParentSegment)
        );
        assert_eq!(
            unpack_error(&[(b"/template.yaml", EntryType::Regular, DEFINITION.as_bytes())]).to_string(),
            "the path `/template.yaml` is absolute; refused"
        );

        let error = unpack_error(&[template, (b"passwd", EntryType::Symlink, b"")]);
        assert_eq!(error, BundleError::Read(ReadError::Symlink { file: "passwd".to_owned() }));
        for (entry_type, kind) in [
            (EntryType::Link, "hard link"),
            (EntryType::Char, "device"),
            (EntryType::Block, "device"),
            (EntryType::Fifo, "named pipe"),
        ] {
            let error = unpack_error(&[template, (b"skeleton/x", entry_type, b"")]);
            assert_eq!(error, BundleError::EntryType { entry: "skeleton/x".to_owned(), kind });
            assert_eq!(error.to_string(), format!("`skeleton/x` is a {kind}; a bundle holds files and folders only"));
        }

        // A PAX header can rename the entry after it: the name that counts is the one checked.
        let record = b"25 path=../../etc/passwd\n";
        let error =
            unpack_error(&[template, (b"pax", EntryType::XHeader, record), (b"harmless", EntryType::Regular, b"x")]);
        assert_eq!(error, unsafe_path("../../etc/passwd", PathError::ParentSegment));

        assert_eq!(
            unpack_error(&[template, (b"a.txt", EntryType::Regular, b"1"), (b"./a.txt", EntryType::Regular, b"2")]),
            BundleError::Duplicate { entry: "./a.txt".to_owned() }
        );
        assert_eq!(unpack_error(&[(b"a.txt", EntryType::Regular, b"1")]), BundleError::MissingDefinition);
        assert_eq!(
            unpack_error(&[(b"template.yaml", EntryType::Regular, b"a\nb\xff")]),
            BundleError::DefinitionNotText { file: "template.yaml".to_owned(), pos: Pos::new(2, 2) }
        );
        let error = Bundle::unpack(b"not gzip at all", &Limits::default()).expect_err("refused");
        assert!(error.to_string().starts_with("the archive cannot be read: "), "{error}");
        let mut truncated = sample().pack();
        truncated.truncate(truncated.len() / 2);
        assert!(matches!(Bundle::unpack(&truncated, &Limits::default()), Err(BundleError::Archive { .. })));
    }

    #[test]
    fn archives_as_tar_writes_them_are_read() {
        // `tar -czf t.tgz -C folder .`: a root folder entry, `./` before every path, folders of their own.
        let archive = raw_archive(&[
            (b"./", EntryType::Directory, b""),
            (b"./skeleton/", EntryType::Directory, b""),
            (b"./skeleton/README.md", EntryType::Regular, b"hi"),
            (b"./template.yaml", EntryType::Regular, DEFINITION.as_bytes()),
        ]);
        let bundle = Bundle::unpack(&archive, &Limits::default()).expect("unpacks");
        assert_eq!(bundle.definition, DEFINITION);
        assert_eq!(bundle.files, BTreeMap::from([("skeleton/README.md".to_owned(), b"hi".to_vec())]));
    }

    #[test]
    fn unpacking_keeps_to_the_limits_and_bounds_what_it_decompresses() {
        let limits = Limits { max_files: 2, max_file_bytes: 1024, max_total_bytes: 1500, ..Limits::default() };
        let template: (&[u8], EntryType, &[u8]) = (b"template.yaml", EntryType::Regular, DEFINITION.as_bytes());
        let kib = vec![b'x'; 1024];
        let unpack = |entries: &[(&[u8], EntryType, &[u8])]| Bundle::unpack(&raw_archive(entries), &limits);
        let file = |path: &'static [u8], data: &'static [u8]| (path, EntryType::Regular, data);
        assert!(unpack(&[template, file(b"a", b"1"), file(b"b", b"2")]).is_ok());
        assert_eq!(
            unpack(&[template, file(b"a", b"1"), file(b"b", b"2"), file(b"c", b"3")]),
            Err(ReadError::TooManyFiles { file: "c".to_owned(), limit: 2 }.into())
        );
        let over = [kib.as_slice(), b"!"].concat();
        let big = [template, (b"big".as_slice(), EntryType::Regular, over.as_slice())];
        assert_eq!(
            Bundle::unpack(&raw_archive(&big), &limits),
            Err(ReadError::FileTooLarge { file: "big".to_owned(), size: 1025, limit: 1024 }.into())
        );
        let two = [template, (b"a".as_slice(), EntryType::Regular, kib.as_slice()), (b"b", EntryType::Regular, &kib)];
        assert_eq!(
            Bundle::unpack(&raw_archive(&two), &limits),
            Err(ReadError::TooLarge { file: "b".to_owned(), limit: 1500 }.into())
        );

        // A gzip bomb: 10 MiB of zeros, a few kilobytes packed, declared as one huge file, then as a folder's data
        // that tar would skip over. Neither is decompressed past the budget.
        let bomb = |entry_type: EntryType| {
            let size: u64 = 10 * 1024 * 1024;
            let mut header = tar::Header::new_gnu();
            header.set_path("bomb").expect("path");
            header.set_entry_type(entry_type);
            header.set_size(size);
            header.set_cksum();
            let mut archive = tar::Builder::new(Vec::new());
            archive.append(&header, io::repeat(0).take(size)).expect("append");
            gzip(&archive.into_inner().expect("tar"))
        };
        let file_bomb = bomb(EntryType::Regular);
        assert!(file_bomb.len() < 64 * 1024, "{} bytes", file_bomb.len());
        assert_eq!(
            Bundle::unpack(&file_bomb, &limits),
            Err(ReadError::FileTooLarge { file: "bomb".to_owned(), size: 10 * 1024 * 1024, limit: 1024 }.into())
        );
        let budget = unpacked_budget(&limits);
        assert!(budget < 10 * 1024 * 1024, "{budget}");
        assert_eq!(
            Bundle::unpack(&bomb(EntryType::Directory), &limits),
            Err(BundleError::ArchiveTooLarge { limit: budget, after: Some("bomb".to_owned()) })
        );
        let definition_bomb = {
            let mut header = tar::Header::new_gnu();
            header.set_path("template.yaml").expect("path");
            header.set_size(MAX_TEMPLATE_BYTES + 1);
            header.set_cksum();
            let mut archive = tar::Builder::new(Vec::new());
            archive.append(&header, io::repeat(b'#').take(MAX_TEMPLATE_BYTES + 1)).expect("append");
            gzip(&archive.into_inner().expect("tar"))
        };
        assert_eq!(
            Bundle::unpack(&definition_bomb, &limits).map_err(|e| e.to_string()),
            Err(format!(
                "`template.yaml` is {} bytes, more than the limit of {MAX_TEMPLATE_BYTES} for a template file",
                MAX_TEMPLATE_BYTES + 1
            ))
        );
    }

    #[test]
    fn skeletons_are_folders_inside_the_bundle() {
        let bundle = sample();
        let paths = |skeleton: &Skeleton| skeleton.files().iter().map(|f| f.path.clone()).collect::<Vec<_>>();
        for url in ["./skeleton", "skeleton/", "skeleton", "docs/../skeleton", "./skeleton/./"] {
            let skeleton = bundle.skeleton(url).expect(url);
            assert_eq!(paths(&skeleton), ["README.md", "logo.png", "src/main.rs"], "{url}");
        }
        assert_eq!(paths(&bundle.skeleton("skeleton/src").expect("nested")), ["main.rs"]);
        let whole = bundle.skeleton(".").expect("the whole folder");
        assert_eq!(paths(&whole).first().map(String::as_str), Some("docs/index.md"));
        assert!(paths(&whole).contains(&"template.yaml".to_owned()), "{:?}", paths(&whole));
        assert_eq!(whole.files().len(), bundle.files.len() + 1);

        let refused = |url: &str| bundle.skeleton(url).expect_err(url).to_string();
        assert_eq!(refused("../"), "the skeleton folder `../` leaves the template's folder");
        assert_eq!(refused("skeleton/../../x"), "the skeleton folder `skeleton/../../x` leaves the template's folder");
        assert_eq!(refused("/etc"), "the skeleton folder `/etc` must be relative to the template's folder");
        assert!(
            refused("https://github.com/acme/t/tree/main/skeleton")
                .ends_with("is a remote location; Portolan fetches folders inside the template")
        );
        assert_eq!(refused("./skel"), "the skeleton folder `./skel` does not exist");
        assert_eq!(refused("./skeleton/README.md"), "the skeleton folder `./skeleton/README.md` is not a folder");
        assert_eq!(refused("template.yaml"), "the skeleton folder `template.yaml` is not a folder");
    }

    #[test]
    fn bundles_built_by_hand_are_checked() {
        let limits = Limits::default();
        assert_eq!(sample().check(&limits), Ok(()));
        let with = |path: &str| {
            let mut bundle = sample();
            bundle.files.insert(path.to_owned(), b"x".to_vec());
            bundle
        };
        assert_eq!(
            with("../x").check(&limits),
            Err(BundleError::UnsafePath { entry: "../x".to_owned(), reason: PathError::ParentSegment })
        );
        assert_eq!(
            with("./x").check(&limits),
            Err(BundleError::NotPlain { entry: "./x".to_owned(), plain: "x".to_owned() })
        );
        assert_eq!(
            with("template.yaml").check(&limits),
            Err(BundleError::DefinitionClash { file: "template.yaml".to_owned() })
        );
        assert_eq!(
            sample().check(&Limits { max_files: 3, ..limits }),
            Err(ReadError::TooManyFiles { file: "skeleton/src/main.rs".to_owned(), limit: 3 }.into())
        );
        // What a bundle cannot hold is left out of its archive.
        for path in ["../x", "./x", "template.yaml", "/abs"] {
            assert_eq!(with(path).pack(), sample().pack(), "{path}");
        }
    }
}
