//! JSON API bodies, read the way their routes read them, every input both ways:
//! - `POST /api/v1/slos/{namespace}/{name}/events`: a JSON array of at most 10,000 samples, checked by
//!   `scorecard::sli::check_samples` (`crates/portolan/src/routes/sli_events.rs`);
//! - `POST /api/v1/scaffold`: a `ScaffoldRequest` (`template`, `version`, `values`; no other field) whose values are
//!   validated by `Form::validate_json` against the form of the demo `rust-http-service` golden path
//!   (`crates/portolan/src/routes/scaffold.rs`).
//!
//! Invariants:
//! - no panic;
//! - samples: either every sample is accepted — one per item, truncated to its minute, not after now's minute,
//!   `good ≤ total`, with the counts the item gave — or the refusals are non-empty, by increasing index within the
//!   body, with messages; an item is refused in the batch exactly when it is refused on its own;
//! - scaffold values: accepted values keep every non-null value submitted as it was, carry the form's defaults, and
//!   are accepted again as they are (validation is a fixed point); refusals are non-empty and name only the form's
//!   fields.
#![no_main]

use std::sync::OnceLock;

use chrono::{DateTime, Timelike, Utc};
use libfuzzer_sys::fuzz_target;
use scaffolding::Values;
use scaffolding::form::Form;
use scaffolding::validate::read_template_text;
use scorecard::sli::{check_samples, minute_of};
use serde_json::Value;

/// `MAX_SAMPLES` of the events route.
const MAX_SAMPLES: usize = 10_000;

/// The route's `ScaffoldRequest`, field for field (it lives in the web crate, which the fuzz targets do not build).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ScaffoldRequest {
    template: String,
    version: Option<String>,
    #[serde(default)]
    values: Values,
}

fn form() -> &'static Form {
    static FORM: OnceLock<Form> = OnceLock::new();
    FORM.get_or_init(|| {
        let text = include_str!("../../crates/portolan/demo/catalog/golden-paths/rust-http-service/template.yaml");
        let (template, problems) = read_template_text(text);
        template.unwrap_or_else(|| panic!("the demo template does not read: {problems:?}")).form
    })
}

fn now() -> DateTime<Utc> {
    "2026-11-24T12:30:20.5Z".parse().expect("an instant")
}

fuzz_target!(|data: &[u8]| {
    samples(data);
    scaffold(data);
});

fn samples(body: &[u8]) {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    if items.len() > MAX_SAMPLES {
        return;
    }
    let now = now();
    match check_samples(&items, now) {
        Ok(samples) => {
            assert_eq!(samples.len(), items.len(), "a sample was dropped");
            for (sample, item) in samples.iter().zip(&items) {
                assert!(sample.good <= sample.total, "good > total accepted: {item}");
                assert!(sample.minute <= minute_of(now), "a sample in the future accepted: {item}");
                assert_eq!((sample.minute.second(), sample.minute.nanosecond()), (0, 0), "not a minute: {item}");
                assert_eq!(Some(sample.good), item["good"].as_u64(), "good changed: {item}");
                assert_eq!(Some(sample.total), item["total"].as_u64(), "total changed: {item}");
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "refused without a reason");
            assert!(errors.windows(2).all(|w| w[0].index < w[1].index), "refusals out of order");
            for error in &errors {
                assert!(error.index < items.len(), "a refusal of item {} of {}", error.index, items.len());
                assert!(!error.message.trim().is_empty());
            }
            for (index, item) in items.iter().enumerate() {
                let alone = check_samples(std::slice::from_ref(item), now).is_err();
                let in_batch = errors.iter().any(|e| e.index == index);
                assert_eq!(alone, in_batch, "item {index} is judged differently alone: {item}");
            }
        }
    }
}

fn scaffold(body: &[u8]) {
    let Ok(request) = serde_json::from_slice::<ScaffoldRequest>(body) else {
        return;
    };
    let form = form();
    match form.validate_json(&request.values) {
        Ok(values) => {
            for (key, value) in request.values.iter().filter(|(_, v)| !v.is_null()) {
                assert_eq!(values.get(key), Some(value), "the submitted value of {key} was changed");
            }
            for (key, default) in form.defaults() {
                assert!(values.contains_key(&key), "the default of {key} ({default}) is missing");
            }
            let again = form.validate_json(&values);
            assert_eq!(again.as_ref(), Ok(&values), "accepted values are refused when submitted again");
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "refused without a reason");
            for (field, messages) in &errors.fields {
                assert!(form.field(field).is_some(), "a refusal names `{field}`, which is no field of the form");
                assert!(!messages.is_empty() && messages.iter().all(|m| !m.trim().is_empty()));
            }
        }
    }
}
