//! The sandboxed template renderer (`${{ }}`, `{% %}`, `{# #}`, Backstage's filters) and skeleton rendering into a
//! file tree, as a `fetch:template` step and a dry run do. The input is split at NUL bytes into up to four parts:
//! a template text (also used as a skeleton file's path), a parameter value (`parameters.name` and `values.name`), a
//! `targetPath`, and the contents of a second skeleton file. Block whitespace options follow the template's length.
//!
//! Invariants:
//! - no panic, and the work is bounded (the fuel budget; libFuzzer's `-timeout` catches what escapes it);
//! - `Renderer::check` and `Renderer::render` agree on syntax: a template that checks never fails to render with a
//!   syntax error, and one that does not check fails to render with the same error;
//! - a render's output keeps to the cap, and a render error's line lies inside the template;
//! - a step input that is a template renders to JSON or an error, never something that cannot be written;
//! - a rendered tree never leaves its root: every path is a plain relative path (no `..`, `.`, empty segment,
//!   leading `/`, backslash or control character) that parses back to itself, stays below the root when joined to
//!   it, and lies below `targetPath` when one is given; the tree keeps to its file and byte limits.
#![no_main]

use std::path::{Component, Path};

use libfuzzer_sys::fuzz_target;
use portolan_fuzz::parts;
use scaffolding::render::{Context, Limits as RenderLimits, RenderErrorKind, Renderer};
use scaffolding::skeleton::{Fetch, FileTree, Limits as TreeLimits, RelativePath, Skeleton};
use scaffolding::template::Action;
use serde_json::json;

const RENDER_LIMITS: RenderLimits = RenderLimits { fuel: 100_000, max_output_bytes: 256 * 1024, recursion: 200 };
const TREE_LIMITS: TreeLimits =
    TreeLimits { max_files: 8, max_file_bytes: 64 * 1024, max_total_bytes: 256 * 1024, max_fuel: 400_000 };

fuzz_target!(|data: &[u8]| {
    let mut parts = parts(data, 4);
    parts.resize(4, String::new());
    let [source, value, target, second] = [&parts[0], &parts[1], &parts[2], &parts[3]];
    let parameters = json!({"name": value, "count": 3, "tags": ["a", value], "repoUrl": "github.com?owner=o&repo=r"});
    let parameters = parameters.as_object().cloned().expect("an object");
    let context = Context::new(parameters.clone()).with_values(parameters);
    let renderer = Renderer::new(RENDER_LIMITS);
    let renderer = match source.len() % 4 {
        0 => renderer,
        n => renderer.with_block_whitespace(n & 1 == 1, n & 2 == 2),
    };

    // One template, rendered and checked.
    let lines = source.split('\n').count();
    let rendered = renderer.render("fuzz.txt", source, &context);
    let checked = renderer.check("fuzz.txt", source);
    match (&rendered, &checked) {
        (Err(e), Ok(())) => {
            assert_ne!(e.kind, RenderErrorKind::Syntax, "render says syntax error, check says none: {e}")
        }
        (Err(e), Err(c)) if c.kind == RenderErrorKind::Syntax => assert_eq!(e, c, "render and check disagree"),
        (Ok(_), Err(c)) => panic!("a template that does not check rendered: {c}"),
        _ => {}
    }
    match &rendered {
        Ok(out) => assert!(out.len() <= RENDER_LIMITS.max_output_bytes, "output of {} bytes", out.len()),
        Err(e) => {
            assert_eq!(e.name, "fuzz.txt");
            if let Some(line) = e.line {
                assert!(line >= 1 && line <= lines, "error on line {line} of a {lines}-line template: {e}");
            }
        }
    }

    // The same text as a step input: a string that is one `${{ expression }}` keeps the expression's type.
    if let Ok(Some(input)) = renderer.render_input("spec.steps[0].input.x", &json!(source), &context) {
        serde_json::to_string(&input).expect("a rendered input is JSON");
    }

    // A skeleton of two files whose names and contents are templates, fetched into `targetPath`.
    let input = json!({"targetPath": target, "trimBlocks": source.len() % 2 == 1});
    let Ok(fetch) = Fetch::from_input(&Action::FetchTemplate, &input) else {
        return;
    };
    let skeleton = Skeleton::from_files(
        "skeleton",
        [
            (source.clone(), second.as_bytes().to_vec()),
            ("static/${{ values.name }}.txt".to_owned(), source.as_bytes().to_vec()),
        ],
    );
    let mut tree = FileTree::new(TREE_LIMITS);
    let written = skeleton.render_into(&renderer, &context, &fetch, &mut tree);
    if let Ok(written) = written {
        assert!(written <= tree.len());
    }
    assert!(tree.len() <= TREE_LIMITS.max_files);
    let mut total = 0;
    for (path, contents) in tree.iter() {
        let text = path.as_str();
        assert_eq!(RelativePath::parse(text).as_ref(), Ok(path), "`{text}` is not a plain relative path");
        assert!(!text.starts_with('/') && !text.contains('\\'), "`{text}` leaves the root");
        assert!(!text.chars().any(char::is_control), "`{text}` has a control character");
        for segment in text.split('/') {
            assert!(!matches!(segment, "" | "." | ".."), "`{text}` has the segment `{segment}`");
        }
        let root = Path::new("/fuzz-root");
        let joined = root.join(text);
        assert!(joined.starts_with(root), "`{text}` joins to {} outside the root", joined.display());
        assert!(
            joined.strip_prefix(root).expect("below").components().all(|c| matches!(c, Component::Normal(_))),
            "`{text}` is not a plain path below the root"
        );
        if let Some(target) = &fetch.target {
            assert!(text.starts_with(&format!("{}/", target.as_str())), "`{text}` is not below targetPath `{target}`");
        }
        assert!(contents.len() <= TREE_LIMITS.max_file_bytes);
        total += contents.len();
    }
    assert_eq!(total, tree.total_bytes());
    assert!(total <= TREE_LIMITS.max_total_bytes);
});
