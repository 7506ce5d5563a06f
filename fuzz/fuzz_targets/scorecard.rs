//! Scorecard definitions (`portolan.dev/v1` `Scorecard`): `scorecard::maturity::scorecards_from_documents`, which
//! parses each file's YAML and reads every Scorecard document, as the maturity job does. The input is up to two files,
//! split at the first NUL byte, so that a name defined in both is exercised too.
//!
//! Invariants:
//! - no panic, and the work is bounded;
//! - every problem has a message and a line:column inside the text of the file it is reported on;
//! - the scorecards returned have distinct names (without case); each has levels, rules with distinct ids and levels
//!   that exist, and positions inside its file;
//! - a scorecard survives being stored: its JSON (what the maturity job writes) reads back to the same scorecard;
//! - every rule can be described and evaluated against an entity of which nothing is known.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use portolan_fuzz::{assert_problems_within, assert_within, parts};
use scorecard::maturity::definition::describe;
use scorecard::maturity::{EntityFacts, Scorecard, evaluate, scorecards_from_documents};

fuzz_target!(|data: &[u8]| {
    let texts = parts(data, 2);
    let files: Vec<(String, String)> =
        texts.iter().enumerate().map(|(i, text)| (format!("scorecards-{i}.yaml"), text.clone())).collect();
    let text_of =
        |path: &str| &files.iter().find(|(p, _)| p == path).unwrap_or_else(|| panic!("{path} was not given")).1;

    let (cards, problems) = scorecards_from_documents(&files);
    for problem in &problems {
        assert_problems_within(text_of(&problem.path), std::slice::from_ref(&problem.problem));
    }

    let mut names = HashSet::new();
    let facts = EntityFacts {
        entity_ref: "component:default/fuzz".to_owned(),
        kind: "component".to_owned(),
        ..EntityFacts::default()
    };
    for (card, path) in &cards {
        let text = text_of(path);
        assert!(names.insert(card.name.to_ascii_lowercase()), "scorecard {} is returned twice", card.name);
        assert_within(text, card.pos.line, card.pos.col, &card.name);
        assert!(!card.levels.is_empty(), "{} has no levels", card.name);
        let mut ids = HashSet::new();
        for rule in &card.rules {
            assert!(ids.insert(rule.id.as_str()), "{}: rule {} is there twice", card.name, rule.id);
            assert!(
                rule.level < card.levels.len(),
                "{}: rule {} is at a level that does not exist",
                card.name,
                rule.id
            );
            assert_within(text, rule.pos.line, rule.pos.col, &rule.id);
            let _ = describe(&rule.condition);
        }

        let stored = serde_json::to_string(card).expect("a scorecard is written as JSON");
        let mut read: Scorecard = serde_json::from_str(&stored)
            .unwrap_or_else(|e| panic!("{}: the stored scorecard does not read back: {e}\n{stored}", card.name));
        read.pos = card.pos;
        for (read_rule, rule) in read.rules.iter_mut().zip(&card.rules) {
            read_rule.pos = rule.pos;
        }
        assert_eq!(&read, card, "the stored scorecard reads back differently:\n{stored}");

        let _ = evaluate(card, &facts);
    }
});
