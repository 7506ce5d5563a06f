//! Typed fields out of a positioned YAML tree, for the formats read beside descriptors (SLOs, templates): each thing
//! wrong is reported where it is written and named by its field path (`spec.objectives[0].target`), the way
//! descriptors are.

use crate::descriptor::Problem;
use crate::yaml::{Node, Pos, Value};

/// Collects the problems of the documents being read.
#[derive(Debug, Default)]
pub struct FieldReader {
    problems: Vec<Problem>,
    errors: usize,
}

impl FieldReader {
    /// The problems reported so far.
    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    /// How many errors have been reported so far: a document is refused when it added any.
    pub fn errors(&self) -> usize {
        self.errors
    }

    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.errors += 1;
        self.problems.push(Problem::error(pos, message));
    }

    pub fn warning(&mut self, pos: Pos, message: impl Into<String>) {
        self.problems.push(Problem::warning(pos, message));
    }

    /// `parent.field`, required: missing (or null) is an error at the parent.
    pub fn required<'n>(&mut self, parent: &'n Node, path: &str, field: &str) -> Option<&'n Node> {
        let node = present(parent, field);
        if node.is_none() {
            self.error(parent.pos, format!("{} is required", join(path, field)));
        }
        node
    }

    pub fn mapping<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n Node> {
        if node.as_map().is_some() {
            Some(node)
        } else {
            self.error(node.pos, format!("{path} must be a mapping, found {}", node.type_name()));
            None
        }
    }

    pub fn list<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Node]> {
        let items = node.as_seq();
        if items.is_none() {
            self.error(node.pos, format!("{path} must be a list, found {}", node.type_name()));
        }
        items
    }

    /// A non-empty string.
    pub fn string<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n str> {
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

    pub fn number(&mut self, node: &Node, path: &str) -> Option<f64> {
        match node.value {
            Value::Int(i) => Some(i as f64),
            Value::Float(f) => Some(f),
            _ => {
                self.error(node.pos, format!("{path} must be a number, found {}", node.type_name()));
                None
            }
        }
    }

    pub fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.error(node.pos, format!("{path} must be true or false, found {}", node.type_name()));
                None
            }
        }
    }

    /// `parent.field`, a required non-empty string.
    pub fn required_string<'n>(&mut self, parent: &'n Node, path: &str, field: &str) -> Option<&'n str> {
        let node = self.required(parent, path, field)?;
        self.string(node, &join(path, field))
    }

    /// `parent.field`, a non-empty string when present.
    pub fn optional_string<'n>(&mut self, parent: &'n Node, path: &str, field: &str) -> Option<&'n str> {
        let node = present(parent, field)?;
        self.string(node, &join(path, field))
    }

    /// `parent.field`, a required mapping.
    pub fn required_mapping<'n>(&mut self, parent: &'n Node, path: &str, field: &str) -> Option<&'n Node> {
        let node = self.required(parent, path, field)?;
        self.mapping(node, &join(path, field))
    }

    /// `parent.field`, a boolean when present.
    pub fn optional_bool(&mut self, parent: &Node, path: &str, field: &str) -> Option<bool> {
        let node = present(parent, field)?;
        self.boolean(node, &join(path, field))
    }

    /// `parent.field`, a list of strings when present; each string with its position.
    pub fn string_list<'n>(&mut self, parent: &'n Node, path: &str, field: &str) -> Vec<(&'n str, Pos)> {
        let Some(node) = present(parent, field) else {
            return Vec::new();
        };
        let path = join(path, field);
        let Some(items) = self.list(node, &path) else {
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
pub fn present<'n>(parent: &'n Node, field: &str) -> Option<&'n Node> {
    parent.get(field).filter(|node| !node.is_null())
}

/// A field's path: `spec` and `service` make `spec.service`; an empty path is the document itself.
pub fn join(path: &str, field: &str) -> String {
    if path.is_empty() { field.to_owned() } else { format!("{path}.{field}") }
}
