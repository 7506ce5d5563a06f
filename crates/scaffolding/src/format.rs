//! Templates found by catalog ingestion: a Template is a catalog entity, and also a folder of skeletons that
//! ingestion and `portolan validate` check with the same `file:line:col` problems as descriptors.

use std::path::Path;

use catalog::descriptor::Problem;
use catalog::entity::{Kind, SCAFFOLDER_API_VERSION};
use catalog::ingest::ForeignFormat;
use catalog::yaml::Node;

use crate::validate::validate_template;

/// The [`ForeignFormat`] of scaffolder templates.
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateFormat;

impl ForeignFormat for TemplateFormat {
    fn name(&self) -> &'static str {
        "scaffolder-template"
    }

    fn claims(&self, doc: &Node) -> bool {
        let text = |key: &str| doc.get(key).and_then(Node::as_str);
        text("apiVersion").is_some_and(|v| v.eq_ignore_ascii_case(SCAFFOLDER_API_VERSION))
            && text("kind").and_then(Kind::parse) == Some(Kind::Template)
    }

    fn also_entity(&self) -> bool {
        true
    }

    /// The template's own checks: its steps, its form, and every skeleton folder beside it.
    fn check(&self, file: &Path, _docs: &[Node]) -> Vec<Problem> {
        validate_template(file).problems
    }
}
