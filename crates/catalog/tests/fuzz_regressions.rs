//! Inputs the fuzz targets (fuzz/, see docs/fuzzing.md) found, kept as tests so that what they broke stays fixed.

use std::path::Path;

use catalog::ingest::{IngestOptions, read_file};
use catalog::yaml::{Limits, Node, Pos, Value, parse_documents};

/// The lines of a text as YAML ends them (`\n`, `\r\n`, a lone `\r`), each as its number of characters.
fn line_lengths(text: &str) -> Vec<usize> {
    text.replace("\r\n", "\n").replace('\r', "\n").split('\n').map(|line| line.chars().count()).collect()
}

fn assert_within(text: &str, pos: Pos) {
    let lines = line_lengths(text);
    assert!(pos.line >= 1 && pos.col >= 1, "{text:?}: {pos} is not counted from 1");
    let length = lines
        .get(pos.line as usize - 1)
        .unwrap_or_else(|| panic!("{text:?}: line {} is past the end of the text ({} lines)", pos.line, lines.len()));
    assert!(pos.col as usize <= length + 1, "{text:?}: {pos} is past the end of its line ({length} characters)");
}

/// fuzz/artifacts/descriptor/crash-955266bb… (minimized to `:\n\xff`, read lossily), and the same shape in the
/// openslo (crash-b4d5093e…) and scorecard (crash-6e867572…) targets: a text that does not end with a line break and
/// fails at its end got an error on the line after its last, which does not exist (`a: [` at 2:1).
#[test]
fn a_syntax_error_at_the_end_of_a_text_without_a_final_line_break_is_on_its_last_line() {
    for (text, pos) in [
        ("a: [", Pos::new(1, 5)),
        (":\nx", Pos::new(2, 2)),
        (":\n\u{fffd}", Pos::new(2, 2)),
        (":\n\u{e9}", Pos::new(2, 2)),
    ] {
        let err = parse_documents(text, Limits::default()).expect_err("broken YAML");
        assert_eq!(err.pos, pos, "{text:?}: {err}");
    }
    // With the line break, the end of the text is the start of the (empty) line after it.
    let err = parse_documents("a: [\n", Limits::default()).expect_err("broken YAML");
    assert_eq!(err.pos, Pos::new(2, 1), "{err}");
}

#[test]
fn syntax_errors_at_the_end_of_cut_files_stay_inside_them() {
    let cases = [
        // The descriptor target's crash, as read lossily from its bytes.
        ":\n\u{fffd}",
        // The scorecard target's first file: a scorecard cut in the middle of a key.
        "apiVersion: portolan.dev/v1\nkind: Scorecard\nmetadata:\n  name: production-readiness\nspec:\n  \
         levels: [Bronze, Silver, Gold]\n  rules:\n    - id: supported-lifecycle\n      title: Lifecycle is \
         production or experimental\n      lev",
        // The openslo target's first file: an SLO cut after a key, with bytes that are not UTF-8.
        "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: x\nspec:\n  timeWindow:\n    - duration: 28d\n      \
         isRolling: true\n  budgetingMethod: RatioTimeslices\n  objective\u{fffd}\u{fffd}\u{10}",
        // Line breaks YAML counts: `\r\n` and a lone `\r`.
        "a: 1\r\nb: [1,",
        "a: 1\rb: {c",
        "- \"open",
        "k: 'open",
        "? [",
    ];
    for text in cases {
        let err = parse_documents(text, Limits::default()).expect_err("broken YAML");
        assert_within(text, err.pos);
        // What ingestion reports for the file is that error, at the same place.
        let parsed =
            read_file(Path::new("/nowhere/catalog-info.yaml"), text, Path::new("/nowhere"), &IngestOptions::default());
        assert_eq!(parsed.problems.len(), 1, "{text:?}: {:?}", parsed.problems);
        assert_eq!((parsed.problems[0].line, parsed.problems[0].col), (err.pos.line, err.pos.col));
    }
}

/// fuzz/artifacts/scorecard/crash-e95f3988… (found in the 180 s run): the same at the end of a text, but for a node
/// rather than an error. An empty key or value there (`? ` with nothing after it) stood on the line after the last, and
/// so did the problems about it (`10:1: null is not a known field` in a 9-line file).
#[test]
fn an_empty_node_at_the_end_of_a_text_without_a_final_line_break_is_on_its_last_line() {
    for text in ["a: 1\n? ", "a: 1\n?  \n  ", "a: 1\r\nb:", "- x\n-", "k: [a,\n ]\n? x\n:"] {
        let docs = parse_documents(text, Limits::default()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let mut stack: Vec<&Node> = docs.iter().collect();
        while let Some(node) = stack.pop() {
            assert_within(text, node.pos);
            match &node.value {
                Value::Seq(items) => stack.extend(items),
                Value::Map(entries) => stack.extend(entries.iter().flat_map(|(k, v)| [k, v])),
                _ => {}
            }
        }
    }
    let docs = parse_documents("a: 1\n? ", Limits::default()).expect("valid YAML");
    let entries = docs[0].as_map().expect("a mapping");
    assert_eq!((entries[1].0.pos, entries[1].1.pos), (Pos::new(2, 3), Pos::new(2, 3)));
}

#[test]
fn problems_about_an_empty_key_at_the_end_of_a_descriptor_stay_inside_it() {
    let text = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n? ";
    let parsed =
        read_file(Path::new("/nowhere/catalog-info.yaml"), text, Path::new("/nowhere"), &IngestOptions::default());
    assert!(!parsed.problems.is_empty(), "an empty key is a problem");
    for problem in &parsed.problems {
        assert_within(text, Pos::new(problem.line, problem.col));
    }
}

/// fuzz/artifacts/scorecard/crash-8473b004… (the second file of that input): a `%` directive followed by characters
/// that cannot be printed failed at 1:12 on a line of 9 characters.
#[test]
fn a_syntax_error_is_never_past_the_end_of_its_line() {
    for text in ["%\u{fffd}\u{fffd}\u{fffd}\u{10}\u{0}ard\nmetadata:\n  x: slo\n", "%\u{10}\n"] {
        let err = parse_documents(text, Limits::default()).expect_err("broken YAML");
        assert_within(text, err.pos);
    }
}
