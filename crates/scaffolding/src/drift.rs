//! Drift: what changed between two rendered trees — typically a service's golden-path template at the version the
//! service was made from and at the latest version, both rendered with the service's own parameters.
//!
//! [`diff_trees`] gives a structured unified diff, file by file and hunk by hunk with the line numbers on both sides,
//! that a page can lay out as a table; [`TreeDiff`]'s `Display` writes the classic unified diff text for the CLI and
//! the API. A file with a NUL byte or that is not UTF-8 is binary: it is only said to have changed. A file's diff is
//! cut after [`MAX_LINES_PER_FILE`] lines, and marked so.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::Serialize;
use similar::{Algorithm, ChangeTag, DiffOp, TextDiff};

use crate::skeleton::{FileTree, RelativePath};

/// How many lines (context included) one file's diff shows at most.
pub const MAX_LINES_PER_FILE: usize = 2000;

/// How long one file may be diffed before the diff settles for a coarser (still correct) result.
const DIFF_TIMEOUT: Duration = Duration::from_secs(1);

/// The files that differ between two trees, in path order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeDiff {
    pub files: Vec<FileDiff>,
}

/// How one file changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDiff {
    pub path: String,
    pub change: Change,
    /// One side is binary: no hunks, only the fact that the file changed.
    pub binary: bool,
    pub hunks: Vec<Hunk>,
    /// Lines added and removed in the whole file, including any past the cut.
    pub added_lines: usize,
    pub removed_lines: usize,
    /// The hunks stop after [`MAX_LINES_PER_FILE`] lines; the last one is cut short (its header says what it shows).
    pub truncated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Removed,
    Modified,
}

/// A run of changes with its context lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hunk {
    /// `@@ -a,b +c,d @@`, as in a unified diff.
    pub header: String,
    pub lines: Vec<Line>,
}

/// One line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub kind: LineKind,
    /// The line's number in the old file (from 1), for context and removed lines.
    pub old_no: Option<usize>,
    /// The line's number in the new file (from 1), for context and added lines.
    pub new_no: Option<usize>,
    /// The text without its line ending.
    pub text: String,
    /// The last line of its file, with no newline after it.
    pub missing_newline: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Context,
    Added,
    Removed,
}

/// Counts of a [`TreeDiff`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub added_files: usize,
    pub removed_files: usize,
    pub modified_files: usize,
    pub added_lines: usize,
    pub removed_lines: usize,
}

/// The files of `new` that are not in `old`, not in it any more, or differ from it, with `context_lines` unchanged
/// lines around each change.
pub fn diff_trees(old: &FileTree, new: &FileTree, context_lines: usize) -> TreeDiff {
    let paths: BTreeSet<&str> = old.paths().chain(new.paths()).map(RelativePath::as_str).collect();
    let files = paths
        .into_iter()
        .filter_map(|path| {
            let (before, after) = (old.get(path), new.get(path));
            (before != after).then(|| diff_file(path, before, after, context_lines))
        })
        .collect();
    TreeDiff { files }
}

/// A side of a file as text: empty when missing, `None` when binary.
fn as_text(bytes: Option<&[u8]>) -> Option<&str> {
    match bytes {
        None => Some(""),
        Some(bytes) if is_binary(bytes) => None,
        Some(bytes) => std::str::from_utf8(bytes).ok(),
    }
}

/// A NUL byte, or not UTF-8.
fn is_binary(bytes: &[u8]) -> bool {
    bytes.contains(&0) || std::str::from_utf8(bytes).is_err()
}

fn diff_file(path: &str, before: Option<&[u8]>, after: Option<&[u8]>, context_lines: usize) -> FileDiff {
    let change = match (before, after) {
        (None, _) => Change::Added,
        (_, None) => Change::Removed,
        _ => Change::Modified,
    };
    let mut file = FileDiff {
        path: path.to_owned(),
        change,
        binary: false,
        hunks: Vec::new(),
        added_lines: 0,
        removed_lines: 0,
        truncated: false,
    };
    let (Some(old), Some(new)) = (as_text(before), as_text(after)) else {
        file.binary = true;
        return file;
    };
    let diff = TextDiff::configure().algorithm(Algorithm::Myers).timeout(DIFF_TIMEOUT).diff_lines(old, new);
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => file.added_lines += 1,
            ChangeTag::Delete => file.removed_lines += 1,
            ChangeTag::Equal => {}
        }
    }
    let mut budget = MAX_LINES_PER_FILE;
    'groups: for group in diff.grouped_ops(context_lines) {
        let mut lines = Vec::new();
        for op in &group {
            for change in diff.iter_changes(op) {
                if budget == 0 {
                    file.truncated = true;
                    if !lines.is_empty() {
                        file.hunks.push(hunk(&group, lines));
                    }
                    break 'groups;
                }
                budget -= 1;
                let value = change.value();
                lines.push(Line {
                    kind: match change.tag() {
                        ChangeTag::Equal => LineKind::Context,
                        ChangeTag::Insert => LineKind::Added,
                        ChangeTag::Delete => LineKind::Removed,
                    },
                    old_no: change.old_index().map(|i| i + 1),
                    new_no: change.new_index().map(|i| i + 1),
                    text: value.strip_suffix('\n').unwrap_or(value).to_owned(),
                    missing_newline: change.missing_newline(),
                });
            }
        }
        file.hunks.push(hunk(&group, lines));
    }
    file
}

/// A hunk of these lines, which start at the first operation of the group (all of it, or a cut-short beginning).
fn hunk(group: &[DiffOp], lines: Vec<Line>) -> Hunk {
    let (old_start, new_start) = group.first().map_or((0, 0), |op| (op.old_range().start, op.new_range().start));
    let old_len = lines.iter().filter(|line| line.old_no.is_some()).count();
    let new_len = lines.iter().filter(|line| line.new_no.is_some()).count();
    Hunk { header: format!("@@ -{} +{} @@", range(old_start, old_len), range(new_start, new_len)), lines }
}

/// A side of a hunk header, as GNU diff writes it: `start,len`, `start` alone for one line, and the line before for
/// none.
fn range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    }
}

impl TreeDiff {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for file in &self.files {
            match file.change {
                Change::Added => summary.added_files += 1,
                Change::Removed => summary.removed_files += 1,
                Change::Modified => summary.modified_files += 1,
            }
            summary.added_lines += file.added_lines;
            summary.removed_lines += file.removed_lines;
        }
        summary
    }
}

impl fmt::Display for Summary {
    /// `1 added, 0 removed, 2 modified files; +12 -3 lines`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} added, {} removed, {} modified files; +{} -{} lines",
            self.added_files, self.removed_files, self.modified_files, self.added_lines, self.removed_lines
        )
    }
}

impl fmt::Display for TreeDiff {
    /// A unified diff: `--- a/path` and `+++ b/path` (`/dev/null` for a side without the file), the hunks, `\ No
    /// newline at end of file` where due; `Binary files … differ` for a binary file, and a note after a cut one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for file in &self.files {
            let old = if file.change == Change::Added { "/dev/null".to_owned() } else { format!("a/{}", file.path) };
            let new = if file.change == Change::Removed { "/dev/null".to_owned() } else { format!("b/{}", file.path) };
            if file.binary {
                writeln!(f, "Binary files {old} and {new} differ")?;
                continue;
            }
            writeln!(f, "--- {old}")?;
            writeln!(f, "+++ {new}")?;
            for hunk in &file.hunks {
                writeln!(f, "{}", hunk.header)?;
                for line in &hunk.lines {
                    let sign = match line.kind {
                        LineKind::Context => ' ',
                        LineKind::Added => '+',
                        LineKind::Removed => '-',
                    };
                    writeln!(f, "{sign}{}", line.text)?;
                    if line.missing_newline {
                        writeln!(f, "\\ No newline at end of file")?;
                    }
                }
            }
            if file.truncated {
                writeln!(f, "[the diff of {} stops after {MAX_LINES_PER_FILE} lines]", file.path)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skeleton::Limits;

    fn tree(files: &[(&str, &[u8])]) -> FileTree {
        let mut tree = FileTree::new(Limits::default());
        for (path, contents) in files {
            let path = RelativePath::parse(path).expect("valid path");
            tree.insert(path, contents.to_vec(), false).expect("within limits");
        }
        tree
    }

    fn numbered(range: std::ops::RangeInclusive<usize>) -> String {
        range.map(|n| format!("line {n}\n")).collect()
    }

    #[test]
    fn added_removed_modified_and_unchanged_files() {
        let old =
            tree(&[("README.md", b"# svc\n"), ("gone.txt", b"bye\n"), ("same.txt", b"same\n"), ("x.rs", b"a\nb\n")]);
        let new = tree(&[
            ("README.md", b"# svc\n"),
            ("new.txt", b"hi\nthere\n"),
            ("same.txt", b"same\n"),
            ("x.rs", b"a\nc\n"),
        ]);
        let diff = diff_trees(&old, &new, 3);
        let changes: Vec<(&str, Change)> = diff.files.iter().map(|f| (f.path.as_str(), f.change)).collect();
        assert_eq!(changes, [("gone.txt", Change::Removed), ("new.txt", Change::Added), ("x.rs", Change::Modified)]);
        assert_eq!(
            diff.summary(),
            Summary { added_files: 1, removed_files: 1, modified_files: 1, added_lines: 3, removed_lines: 2 }
        );
        assert_eq!(diff.summary().to_string(), "1 added, 1 removed, 1 modified files; +3 -2 lines");
        assert_eq!(
            diff.to_string(),
            "--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n\
             --- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+hi\n+there\n\
             --- a/x.rs\n+++ b/x.rs\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
        );
        assert!(diff_trees(&old, &old, 3).is_empty());
        assert_eq!(diff_trees(&old, &old, 3).to_string(), "");
    }

    #[test]
    fn hunks_carry_line_numbers_and_context() {
        let old = numbered(1..=20);
        let new =
            old.replace("line 5\n", "line five\n").replace("line 16\n", "").replace("line 18\n", "line 18\nextra\n");
        let (old, new) = (tree(&[("f", old.as_bytes())]), tree(&[("f", new.as_bytes())]));

        let diff = diff_trees(&old, &new, 1);
        let hunks = &diff.files[0].hunks;
        let headers: Vec<&str> = hunks.iter().map(|h| h.header.as_str()).collect();
        assert_eq!(headers, ["@@ -4,3 +4,3 @@", "@@ -15,5 +15,5 @@"]);
        let line = |kind, old_no, new_no, text: &str| Line {
            kind,
            old_no,
            new_no,
            text: text.to_owned(),
            missing_newline: false,
        };
        assert_eq!(
            hunks[0].lines,
            [
                line(LineKind::Context, Some(4), Some(4), "line 4"),
                line(LineKind::Removed, Some(5), None, "line 5"),
                line(LineKind::Added, None, Some(5), "line five"),
                line(LineKind::Context, Some(6), Some(6), "line 6"),
            ]
        );
        assert_eq!(
            hunks[1].lines,
            [
                line(LineKind::Context, Some(15), Some(15), "line 15"),
                line(LineKind::Removed, Some(16), None, "line 16"),
                line(LineKind::Context, Some(17), Some(16), "line 17"),
                line(LineKind::Context, Some(18), Some(17), "line 18"),
                line(LineKind::Added, None, Some(18), "extra"),
                line(LineKind::Context, Some(19), Some(19), "line 19"),
            ]
        );

        let wide = diff_trees(&old, &new, 3);
        assert_eq!(wide.files[0].hunks.len(), 2, "changes 11 lines apart stay apart with 3 lines of context");
        assert_eq!(wide.files[0].hunks[0].header, "@@ -2,7 +2,7 @@");
        let merged = diff_trees(&old, &new, 6);
        assert_eq!(merged.files[0].hunks.len(), 1, "and merge with 6");
        assert_eq!(merged.files[0].hunks[0].header, "@@ -1,20 +1,20 @@");
        let bare = diff_trees(&old, &new, 0);
        let headers: Vec<&str> = bare.files[0].hunks.iter().map(|h| h.header.as_str()).collect();
        assert_eq!(headers, ["@@ -5 +5 @@", "@@ -16 +15,0 @@", "@@ -18,0 +18 @@"]);
    }

    #[test]
    fn missing_newline_at_end() {
        let diff = diff_trees(&tree(&[("f", b"a\nb")]), &tree(&[("f", b"a\nb\n")]), 3);
        assert_eq!(diff.to_string(), "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
        assert!(diff.files[0].hunks[0].lines[1].missing_newline);
    }

    #[test]
    fn binary_files_only_change() {
        let png: &[u8] = &[0x89, b'P', b'N', b'G', 0, 1, 2];
        let latin1: &[u8] = b"caf\xe9\n";
        let old = tree(&[("logo.png", png), ("notes.txt", b"text\n"), ("old.bin", png)]);
        let new = tree(&[("logo.png", &[0x89, b'P', b'N', b'G', 0, 9]), ("new.bin", png), ("notes.txt", latin1)]);
        let diff = diff_trees(&old, &new, 3);
        let files: Vec<(&str, Change, bool, usize)> =
            diff.files.iter().map(|f| (f.path.as_str(), f.change, f.binary, f.hunks.len())).collect();
        assert_eq!(
            files,
            [
                ("logo.png", Change::Modified, true, 0),
                ("new.bin", Change::Added, true, 0),
                ("notes.txt", Change::Modified, true, 0),
                ("old.bin", Change::Removed, true, 0),
            ]
        );
        assert_eq!(
            diff.to_string(),
            "Binary files a/logo.png and b/logo.png differ\nBinary files /dev/null and b/new.bin differ\n\
             Binary files a/notes.txt and b/notes.txt differ\nBinary files a/old.bin and /dev/null differ\n"
        );
        assert_eq!(diff.summary().added_lines + diff.summary().removed_lines, 0);
    }

    #[test]
    fn long_diffs_are_cut() {
        let new = numbered(1..=2500);
        let diff = diff_trees(&tree(&[]), &tree(&[("big.txt", new.as_bytes())]), 3);
        let file = &diff.files[0];
        assert!(file.truncated);
        assert_eq!(file.hunks.len(), 1);
        assert_eq!(file.hunks[0].header, "@@ -0,0 +1,2000 @@", "the header says what is shown");
        assert_eq!(file.hunks[0].lines.len(), MAX_LINES_PER_FILE);
        assert_eq!(file.hunks[0].lines.last().map(|l| l.text.as_str()), Some("line 2000"));
        assert_eq!(file.added_lines, 2500, "the counts cover the whole file");
        assert!(diff.to_string().ends_with("+line 2000\n[the diff of big.txt stops after 2000 lines]\n"));

        // Every other line changes: the cut falls in a later hunk with context 0.
        let old = numbered(1..=3000);
        let new: String =
            (1..=3000).map(|n| if n % 2 == 0 { format!("changed {n}\n") } else { format!("line {n}\n") }).collect();
        let diff = diff_trees(&tree(&[("f", old.as_bytes())]), &tree(&[("f", new.as_bytes())]), 0);
        let file = &diff.files[0];
        assert!(file.truncated);
        assert_eq!(file.hunks.iter().map(|h| h.lines.len()).sum::<usize>(), MAX_LINES_PER_FILE);
        assert_eq!((file.added_lines, file.removed_lines), (1500, 1500));

        let exact = numbered(1..=MAX_LINES_PER_FILE);
        let diff = diff_trees(&tree(&[]), &tree(&[("f", exact.as_bytes())]), 3);
        assert!(!diff.files[0].truncated, "exactly the cap is not cut");
    }

    #[test]
    fn empty_files() {
        let diff = diff_trees(&tree(&[("keep", b"")]), &tree(&[(".gitkeep", b""), ("keep", b"")]), 3);
        assert_eq!(diff.files.len(), 1);
        assert_eq!((diff.files[0].change, diff.files[0].hunks.len()), (Change::Added, 0));
        assert_eq!(diff.to_string(), "--- /dev/null\n+++ b/.gitkeep\n");
    }
}
