//! Catalog descriptor files: `catalog::ingest::read_file`, which parses a whole file's YAML (`parse_documents` with
//! the default limits), reads every document into a validated entity and hands SLO and scorecard documents to their
//! formats, as ingestion and `portolan validate` do.
//!
//! Invariants:
//! - no panic, and the work is bounded (libFuzzer's `-timeout` and `-rss_limit_mb` catch hangs and bombs);
//! - every problem has a message and a line:column inside the file's text, and problems come sorted by position;
//! - a file whose YAML does not parse yields exactly one error and nothing else;
//! - every entity's reference is valid (it parses back to itself) and differs from every other entity's of the file;
//!   every relation it states starts or ends at it;
//! - `$text`/`$json`/`$yaml` substitutions read only inside the catalog location: every dependency lies below the
//!   boundary, and the secret placed beside the location never shows in any entity.
#![no_main]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use catalog::entity::EntityRef;
use catalog::ingest::{Formats, IngestOptions, read_file};
use catalog::yaml::parse_documents;
use libfuzzer_sys::fuzz_target;
use portolan_fuzz::{assert_problems_within, text};

const SECRET: &str = "fuzz-secret-outside-the-catalog-location";

struct Setup {
    boundary: PathBuf,
    file: PathBuf,
    options: IngestOptions,
}

/// A catalog location in a scratch folder, with files a descriptor may substitute in (`notes.txt`, `data.json`,
/// `data.yaml`, `sub/more.txt`) and, beside the location, `secret.txt`, which no substitution may read.
fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let scratch = std::env::temp_dir().join(format!("portolan-fuzz-descriptor-{}", std::process::id()));
        let boundary = scratch.join("catalog");
        std::fs::create_dir_all(boundary.join("sub")).expect("scratch folder");
        std::fs::write(scratch.join("secret.txt"), SECRET).expect("secret");
        std::fs::write(boundary.join("notes.txt"), "some notes\n").expect("notes");
        std::fs::write(boundary.join("data.json"), r#"{"a": [1, 2, {"b": null}]}"#).expect("json");
        std::fs::write(boundary.join("data.yaml"), "a: [1, 2]\nb: {c: d}\n").expect("yaml");
        std::fs::write(boundary.join("sub/more.txt"), "more\n").expect("more");
        let boundary = boundary.canonicalize().expect("canonical");
        let file = boundary.join("catalog-info.yaml");
        let options = IngestOptions {
            formats: Formats(vec![Arc::new(scorecard::slo::SloFormat), Arc::new(scorecard::maturity::ScorecardFormat)]),
            ..IngestOptions::default()
        };
        Setup { boundary, file, options }
    })
}

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    let setup = setup();
    let parsed = read_file(&setup.file, &text, &setup.boundary, &setup.options);

    assert_problems_within(&text, &parsed.problems);
    assert!(
        parsed.problems.windows(2).all(|w| (w[0].line, w[0].col) <= (w[1].line, w[1].col)),
        "problems are not sorted by position"
    );

    let yaml_ok = parse_documents(&text, setup.options.yaml_limits).is_ok();
    assert_eq!(parsed.readable, yaml_ok, "readable must say whether the YAML parsed");
    if !yaml_ok {
        assert_eq!(parsed.problems.len(), 1, "unreadable YAML gives one problem");
        assert!(parsed.problems[0].is_error());
        assert!(parsed.entities.is_empty() && parsed.foreign.is_empty() && parsed.dependencies.is_empty());
    }

    let mut seen = HashSet::new();
    for entity in &parsed.entities {
        let shown = entity.entity_ref.to_string();
        let again = EntityRef::parse(&shown, None, "default").expect("an entity's reference parses");
        assert_eq!(again, entity.entity_ref, "{shown} does not parse back to itself");
        assert!(seen.insert(shown.clone()), "{shown} is returned twice");
        for relation in &entity.relations {
            assert!(
                relation.source == entity.entity_ref || relation.target == entity.entity_ref,
                "{shown} states a relation between two other entities: {relation:?}"
            );
        }
        let body = entity.body.to_string();
        assert!(!body.contains(SECRET), "{shown} holds a file from outside the catalog location");
    }
    for dependency in &parsed.dependencies {
        assert!(dependency.starts_with(&setup.boundary), "{} is outside the location", dependency.display());
    }
});
