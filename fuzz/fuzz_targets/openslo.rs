//! OpenSLO v1 and Sloth (`prometheus/v1`, `sloth.slok.dev`) files: `parse_documents` then
//! `scorecard::slo::read_slo_documents` per file and `resolve` across files, as ingestion does. The input is up to two
//! files, split at the first NUL byte, so that references between files are exercised too.
//!
//! Invariants:
//! - no panic, and the work is bounded;
//! - every problem has a message and a line:column inside the text of the file it is reported on;
//! - every resolved SLO is valid: a target strictly between 0 and 1, a spec that passes `SloSpec::validate`, a
//!   positive error budget, and a position inside its own file;
//! - resolving never invents problems for files that were not given.
#![no_main]

use catalog::yaml::{Limits, parse_documents};
use libfuzzer_sys::fuzz_target;
use portolan_fuzz::{assert_problems_within, assert_within, parts};
use scorecard::slo::{SloFile, read_slo_documents, resolve};

fuzz_target!(|data: &[u8]| {
    let texts = parts(data, 2);
    let mut files: Vec<(String, SloFile)> = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let path = format!("slos-{i}.yaml");
        match parse_documents(text, Limits::default()) {
            Ok(docs) => {
                let file = read_slo_documents(&docs);
                assert_problems_within(text, &file.problems);
                for draft in &file.slos {
                    assert_within(text, draft.pos.line, draft.pos.col, &draft.name);
                }
                files.push((path, file));
            }
            Err(e) => assert_within(text, e.pos.line, e.pos.col, &e),
        }
    }

    let resolved = resolve(&files);
    let text_of = |path: &str| {
        let index = files.iter().position(|(p, _)| p == path).expect("a problem on a file that was not given");
        let number: usize = files[index].0["slos-".len()..].trim_end_matches(".yaml").parse().expect("index");
        &texts[number]
    };
    for problem in &resolved.problems {
        assert_problems_within(text_of(&problem.path), std::slice::from_ref(&problem.problem));
    }
    for slo in &resolved.slos {
        let target = slo.spec.objective.target();
        assert!(target > 0.0 && target < 1.0, "{}: target {target} is not in (0, 1)", slo.name);
        let budget = slo.spec.objective.error_budget();
        assert!(budget > 0.0 && budget < 1.0, "{}: error budget {budget} is not in (0, 1)", slo.name);
        slo.spec.validate().unwrap_or_else(|e| panic!("{}: an invalid SLO was accepted: {e}", slo.name));
        assert_within(text_of(&slo.path), slo.pos.line, slo.pos.col, &slo.name);
    }
});
