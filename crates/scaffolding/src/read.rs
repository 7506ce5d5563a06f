//! Typed fields out of a YAML tree, each problem reported where it is written and named by its field path
//! (`spec.steps[1].input.url`), the way the catalog reports descriptors.

use catalog::descriptor::Problem;
use catalog::yaml::{Node, Pos, Value};

/// Collects the problems of the document being read.
#[derive(Debug, Default)]
pub(crate) struct Reader {
    problems: Vec<Problem>,
    errors: usize,
}

impl Reader {
    pub(crate) fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    /// How many errors have been reported so far.
    pub(crate) fn errors(&self) -> usize {
        self.errors
    }

    pub(crate) fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.errors += 1;
        self.problems.push(Problem::error(pos, message));
    }

    pub(crate) fn warning(&mut self, pos: Pos, message: impl Into<String>) {
        self.problems.push(Problem::warning(pos, message));
    }

    /// `parent.field`, required: missing (or null) is an error at the parent.
    pub(crate) fn required<'n>(&mut self, parent: &'n Node, path: &str, field: &str) -> Option<&'n Node> {
        let node = present(parent, field);
        if node.is_none() {
            self.error(parent.pos, format!("{} is required", join(path, field)));
        }
        node
    }

    pub(crate) fn mapping<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n Node> {
        if node.as_map().is_some() {
            Some(node)
        } else {
            self.error(node.pos, format!("{path} must be a mapping, found {}", node.type_name()));
            None
        }
    }

    /// A non-empty string.
    pub(crate) fn string<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n str> {
        match node.as_str() {
            Some("") => {
                self.error(node.pos, format!("{path} must not be empty"));
                None
            }
            Some(text) => Some(text),
            None => {
                self.error(node.pos, format!("{path} must be a string, found {}", node.type_name()));
                None
            }
        }
    }

    /// `parent.field`, a required non-empty string.
    pub(crate) fn required_string<'n>(&mut self, parent: &'n Node, path: &str, field: &str) -> Option<&'n str> {
        let node = self.required(parent, path, field)?;
        self.string(node, &join(path, field))
    }

    /// `parent.field`, a non-empty string when present.
    pub(crate) fn optional_string<'n>(&mut self, parent: &'n Node, path: &str, field: &str) -> Option<&'n str> {
        let node = present(parent, field)?;
        self.string(node, &join(path, field))
    }

    /// `parent.field`, a boolean when present.
    pub(crate) fn optional_bool(&mut self, parent: &Node, path: &str, field: &str) -> Option<bool> {
        let node = present(parent, field)?;
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.error(
                    node.pos,
                    format!("{} must be true or false, found {}", join(path, field), node.type_name()),
                );
                None
            }
        }
    }

    /// `parent.field`, a list of strings when present; each string with its position.
    pub(crate) fn string_list<'n>(&mut self, parent: &'n Node, path: &str, field: &str) -> Vec<(&'n str, Pos)> {
        let Some(node) = present(parent, field) else {
            return Vec::new();
        };
        let path = join(path, field);
        let Some(items) = node.as_seq() else {
            self.error(node.pos, format!("{path} must be a list, found {}", node.type_name()));
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(text) => out.push((text, item.pos)),
                None => self.error(item.pos, format!("{path}[{i}] must be a string, found {}", item.type_name())),
            }
        }
        out
    }
}

/// `parent.field` when it is there and not null.
pub(crate) fn present<'n>(parent: &'n Node, field: &str) -> Option<&'n Node> {
    parent.get(field).filter(|node| !node.is_null())
}

/// `path.field`, or `field` at the top.
pub(crate) fn join(path: &str, field: &str) -> String {
    if path.is_empty() { field.to_owned() } else { format!("{path}.{field}") }
}

/// The node a JSON Pointer (`/properties/name/pattern`) names inside a tree, for positioning what a JSON tool reports.
pub(crate) fn node_at<'n>(root: &'n Node, pointer: &str) -> Option<&'n Node> {
    let mut node = root;
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        node = match &node.value {
            Value::Map(_) => node.get(&segment)?,
            Value::Seq(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// The dotted field path of a JSON Pointer, as problems name fields (`properties.name.pattern`).
pub(crate) fn pointer_path(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.parse::<usize>().is_ok() {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use catalog::yaml::{Limits, parse_documents};

    use super::*;

    #[test]
    fn pointers_find_nodes_and_name_paths() {
        let docs = parse_documents("a:\n  b: [x, {c: 1}]\n  'd/e': 2\n", Limits::default()).expect("yaml");
        let c = node_at(&docs[0], "/a/b/1/c").expect("found");
        assert_eq!(c.pos, Pos::new(2, 14));
        assert!(node_at(&docs[0], "/a/d~1e").is_some());
        assert!(node_at(&docs[0], "/a/nope").is_none());
        assert_eq!(pointer_path("/a/b/1/c"), "a.b[1].c");
        assert_eq!(pointer_path(""), "");
    }
}
