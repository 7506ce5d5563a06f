//! Inputs the fuzz targets (fuzz/, see docs/fuzzing.md) found, kept as tests so that what they broke stays fixed.

use scorecard::maturity::scorecards_from_documents;

/// fuzz/artifacts/scorecard/crash-e95f3988… (and crash-6e867572… before it): a scorecard file that does not end with
/// a line break, cut after an empty key or in the middle of one, got a problem on the line after its last
/// (`10:1: null is not a known field` in a 9-line file). The fix is in `catalog::yaml`.
#[test]
fn problems_at_the_end_of_a_scorecard_without_a_final_line_break_stay_inside_it() {
    let card = "apiVersion: portolan.dev/v1\nkind: Scorecard\nmetadata:\n  name: slo\nspec:\n  levels: [Bronze]\n  \
                rules:\n    - id: owned\n      level: Bronze\n      check: ownerIsGroup\n";
    for text in [format!("{card}? "), format!("{card}    - id: cut\n      lev"), format!("{card}  x: [")] {
        let lines: Vec<usize> = text.split('\n').map(|line| line.chars().count()).collect();
        let (_, problems) = scorecards_from_documents(&[("scorecard.yaml".to_owned(), text.clone())]);
        assert!(!problems.is_empty(), "{text:?}");
        for problem in problems.iter().map(|p| &p.problem) {
            let length = lines
                .get(problem.line as usize - 1)
                .unwrap_or_else(|| panic!("{text:?}: {problem} is on line {} of {}", problem.line, lines.len()));
            assert!(problem.col >= 1 && problem.col as usize <= length + 1, "{text:?}: {problem}");
        }
    }
}
