//! Typed fields out of a YAML tree (the catalog's [`FieldReader`](catalog::fields::FieldReader)), and JSON Pointers
//! into it for what a JSON tool reports.

use catalog::yaml::{Node, Value};

pub(crate) use catalog::fields::{FieldReader as Reader, join, present};

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
    use catalog::yaml::{Limits, Pos, parse_documents};

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
