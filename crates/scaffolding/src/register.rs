//! The descriptor a run registers: the generated `catalog-info.yaml` must be a valid catalog file, and it is
//! stamped with the template it came from (`backstage.io/source-template`, `portolan.dev/template-version`).
//!
//! Both are decided before anything is published, so that a value that breaks the YAML (a description with `: ` or
//! a quote, rendered without `| dump`) stops the run with the file's line and column, and leaves nothing behind.
//! The annotations are written into the text where they belong, keeping the file as its template wrote it (comments,
//! order, quoting); a shape Portolan cannot edit safely (flow-style `metadata`) is an error that says so.

use std::path::Path;

use catalog::descriptor::{Entity, Problem};
use catalog::entity::Kind;
use catalog::ingest::{IngestOptions, read_file};
use catalog::yaml::{Limits, Node, Pos, parse_documents};

/// The annotations a run stamps, defined beside the catalog's drift facet that reads them.
pub use catalog::golden_path::{SOURCE_TEMPLATE_ANNOTATION, TEMPLATE_VERSION_ANNOTATION};

/// Why a generated descriptor cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    #[error("{file} is not a valid catalog file:\n{}", lines(.file, .problems))]
    Invalid { file: String, problems: Vec<Problem> },
    #[error("{file} holds no catalog entity")]
    Empty { file: String },
    #[error("{file}:{pos}: {reason}")]
    Shape { file: String, pos: Pos, reason: String },
}

fn lines(file: &str, problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  {file}:{p}")).collect::<Vec<_>>().join("\n")
}

/// A descriptor ready to register.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamped {
    /// The text with the annotations written in.
    pub text: String,
    /// The entities it defines, as refs (`component:default/orders`).
    pub entity_refs: Vec<String>,
}

/// Checks a generated descriptor (shown as `file` in messages) and stamps every entity in it with its template and
/// version.
pub fn stamp(file: &str, text: &str, template_ref: &str, version: &str) -> Result<Stamped, RegisterError> {
    check(file, text)?;
    let docs = parse_documents(text, Limits::default()).map_err(|e| RegisterError::Invalid {
        file: file.to_owned(),
        problems: vec![Problem::error(e.pos, e.message)],
    })?;
    let wanted = [(SOURCE_TEMPLATE_ANNOTATION, template_ref), (TEMPLATE_VERSION_ANNOTATION, version)];
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    // Edits go from the bottom up, so the positions of those still to come stay true.
    let mut edits = Vec::new();
    for doc in docs.iter().filter(|doc| is_entity(doc)) {
        let Some(metadata) = doc.get("metadata") else {
            continue;
        };
        edits.extend(plan(file, &lines, metadata, &wanted)?);
    }
    edits.sort_by_key(|edit| std::cmp::Reverse(edit.line()));
    for edit in edits {
        edit.apply(&mut lines);
    }
    let stamped = lines.join("\n");
    let after = check(file, &stamped)?;
    for entity in after.iter().filter(|e| e.kind != Kind::Location) {
        for (key, value) in wanted {
            let found = entity.body.pointer(&format!("/metadata/annotations/{}", key.replace('/', "~1")));
            if found.and_then(|v| v.as_str()) != Some(value) {
                return Err(RegisterError::Shape {
                    file: file.to_owned(),
                    pos: entity.pos,
                    reason: format!("the annotation {key} could not be written into this file"),
                });
            }
        }
    }
    Ok(Stamped { text: stamped, entity_refs: after.iter().map(|e| e.entity_ref.to_string()).collect() })
}

/// The entities of a descriptor text, or every error in it.
pub fn check(file: &str, text: &str) -> Result<Vec<Entity>, RegisterError> {
    // No substitutions reach outside: the boundary is a folder that cannot exist.
    let boundary = Path::new("/nonexistent/portolan-generated");
    let parsed = read_file(&boundary.join(file), text, boundary, &IngestOptions::default());
    let errors: Vec<Problem> = parsed.problems.into_iter().filter(Problem::is_error).collect();
    if !errors.is_empty() {
        return Err(RegisterError::Invalid { file: file.to_owned(), problems: errors });
    }
    if parsed.entities.is_empty() {
        return Err(RegisterError::Empty { file: file.to_owned() });
    }
    Ok(parsed.entities)
}

fn is_entity(doc: &Node) -> bool {
    doc.get("kind").and_then(Node::as_str).and_then(Kind::parse).is_some_and(|kind| kind != Kind::Location)
}

/// One change to the text.
enum Edit {
    /// New lines before line `before` (1-based).
    Insert { before: u32, lines: Vec<String> },
    /// The rest of line `line` from column `col` (1-based, in characters) becomes `text`.
    Replace { line: u32, col: u32, text: String },
}

impl Edit {
    fn line(&self) -> u32 {
        match self {
            Edit::Insert { before, .. } => *before,
            Edit::Replace { line, .. } => *line,
        }
    }

    fn apply(self, lines: &mut Vec<String>) {
        match self {
            Edit::Insert { before, lines: new } => {
                let at = (before as usize).saturating_sub(1).min(lines.len());
                lines.splice(at..at, new);
            }
            Edit::Replace { line, col, text } => {
                if let Some(target) = lines.get_mut((line as usize).saturating_sub(1)) {
                    let keep: String = target.chars().take((col as usize).saturating_sub(1)).collect();
                    *target = format!("{keep}{text}");
                }
            }
        }
    }
}

/// The edits that put `wanted` into one entity's `metadata.annotations`.
fn plan(file: &str, lines: &[String], metadata: &Node, wanted: &[(&str, &str)]) -> Result<Vec<Edit>, RegisterError> {
    let shape = |pos: Pos, reason: &str| RegisterError::Shape {
        file: file.to_owned(),
        pos,
        reason: format!("{reason}; write it as a block mapping so that Portolan can add the template's annotations"),
    };
    let Some(meta_entries) = metadata.as_map() else {
        return Ok(Vec::new());
    };
    if is_flow(lines, metadata.pos) {
        return Err(shape(metadata.pos, "metadata is a flow mapping"));
    }
    let Some((first_key, _)) = meta_entries.first() else {
        return Ok(Vec::new());
    };
    let quoted = |value: &str| serde_json::to_string(value).unwrap_or_default();
    let annotations = meta_entries.iter().find(|(key, _)| key.as_str() == Some("annotations"));
    let Some((annotations_key, annotations)) = annotations else {
        let indent = " ".repeat(first_key.pos.col.saturating_sub(1) as usize);
        let mut new = vec![format!("{indent}annotations:")];
        new.extend(wanted.iter().map(|(key, value)| format!("{indent}  {key}: {}", quoted(value))));
        return Ok(vec![Edit::Insert { before: first_key.pos.line, lines: new }]);
    };
    let entries = match annotations.as_map() {
        Some(entries) if !entries.is_empty() && !is_flow(lines, annotations.pos) => entries,
        _ if annotations.is_null() => {
            // `annotations:` with nothing under it: the keys go on the lines after it.
            let indent = " ".repeat(annotations_key.pos.col.saturating_sub(1) as usize + 2);
            let new = wanted.iter().map(|(key, value)| format!("{indent}{key}: {}", quoted(value))).collect();
            return Ok(vec![Edit::Insert { before: annotations_key.pos.line + 1, lines: new }]);
        }
        _ => return Err(shape(annotations.pos, "metadata.annotations is not a block mapping")),
    };
    let (first, _) = &entries[0];
    let indent = " ".repeat(first.pos.col.saturating_sub(1) as usize);
    let mut edits = Vec::new();
    let mut missing = Vec::new();
    for (key, value) in wanted {
        match entries.iter().find(|(k, _)| k.as_str() == Some(key)) {
            Some((k, v)) if v.pos.line == k.pos.line && !matches!(v.value, catalog::yaml::Value::Map(_)) => {
                edits.push(Edit::Replace { line: v.pos.line, col: v.pos.col, text: quoted(value) });
            }
            Some((k, _)) => return Err(shape(k.pos, &format!("the annotation {key} spans several lines"))),
            None => missing.push(format!("{indent}{key}: {}", quoted(value))),
        }
    }
    if !missing.is_empty() {
        edits.push(Edit::Insert { before: first.pos.line, lines: missing });
    }
    Ok(edits)
}

/// Whether the node at `pos` is written in flow style (`{ … }`).
fn is_flow(lines: &[String], pos: Pos) -> bool {
    lines
        .get((pos.line as usize).saturating_sub(1))
        .and_then(|line| line.chars().nth((pos.col as usize).saturating_sub(1)))
        .is_some_and(|c| c == '{')
}

#[cfg(test)]
mod tests {
    use super::*;

    const REF: &str = "template:default/rust-http-service";

    fn annotations(text: &str) -> serde_json::Value {
        let entities = check("catalog-info.yaml", text).expect("valid");
        entities[0].body["metadata"]["annotations"].clone()
    }

    #[test]
    fn adds_annotations_where_there_were_none() {
        let text = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders # the name\n  \
                    description: Orders\nspec:\n  type: service\n  lifecycle: experimental\n  owner: team-a\n";
        let stamped = stamp("catalog-info.yaml", text, REF, "1.2.0").expect("stamped");
        assert_eq!(stamped.entity_refs, ["component:default/orders"]);
        assert!(stamped.text.contains("  name: orders # the name\n"), "comments kept:\n{}", stamped.text);
        let a = annotations(&stamped.text);
        assert_eq!(a[SOURCE_TEMPLATE_ANNOTATION], REF);
        assert_eq!(a[TEMPLATE_VERSION_ANNOTATION], "1.2.0");
    }

    #[test]
    fn adds_to_and_replaces_in_existing_annotations() {
        let text = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders\n  annotations:\n    \
                    github.com/project-slug: acme/orders\n    portolan.dev/template-version: 0.0.1\nspec:\n  type: \
                    service\n  lifecycle: experimental\n  owner: team-a\n";
        let stamped = stamp("catalog-info.yaml", text, REF, "2.0.0").expect("stamped");
        let a = annotations(&stamped.text);
        assert_eq!(a["github.com/project-slug"], "acme/orders");
        assert_eq!(a[TEMPLATE_VERSION_ANNOTATION], "2.0.0");
        assert_eq!(a[SOURCE_TEMPLATE_ANNOTATION], REF);
    }

    #[test]
    fn stamps_every_entity_of_a_file() {
        let doc = |name: &str| {
            format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n    name: {name}\n    annotations:\n\
                 spec:\n    type: service\n    lifecycle: experimental\n    owner: team-a\n"
            )
        };
        let text = format!("{}---\n{}", doc("a"), doc("b"));
        let stamped = stamp("catalog-info.yaml", &text, REF, "1.0.0").expect("stamped");
        let entities = check("catalog-info.yaml", &stamped.text).expect("valid");
        assert_eq!(entities.len(), 2);
        for entity in entities {
            assert_eq!(entity.body["metadata"]["annotations"][TEMPLATE_VERSION_ANNOTATION], "1.0.0");
        }
    }

    #[test]
    fn a_value_that_broke_the_yaml_is_refused_with_its_line() {
        // A description rendered without `| dump`: `Orders: the "fast" one` breaks the mapping.
        let text = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders\n  description: \
                    Orders: the \"fast\" one\nspec:\n  type: service\n  lifecycle: experimental\n  owner: team-a\n";
        let err = stamp("catalog-info.yaml", text, REF, "1.0.0").expect_err("broken");
        let RegisterError::Invalid { problems, .. } = &err else { panic!("{err}") };
        assert_eq!(problems[0].line, 5, "{err}");
        assert!(err.to_string().starts_with("catalog-info.yaml is not a valid catalog file:\n  catalog-info.yaml:5:"));
    }

    #[test]
    fn invalid_descriptors_and_empty_files_are_refused() {
        let no_owner = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders\nspec:\n  type: \
                        service\n  lifecycle: experimental\n";
        assert!(matches!(stamp("c.yaml", no_owner, REF, "1.0.0"), Err(RegisterError::Invalid { .. })));
        assert!(matches!(stamp("c.yaml", "# nothing\n", REF, "1.0.0"), Err(RegisterError::Empty { .. })));
    }

    #[test]
    fn flow_style_metadata_is_refused_with_a_reason() {
        let text = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: orders}\nspec:\n  type: \
                    service\n  lifecycle: experimental\n  owner: team-a\n";
        let err = stamp("catalog-info.yaml", text, REF, "1.0.0").expect_err("flow");
        assert!(matches!(err, RegisterError::Shape { pos: Pos { line: 3, .. }, .. }), "{err}");
    }
}
