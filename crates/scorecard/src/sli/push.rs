//! Checking SLI samples pushed through the events API, each on its own, before anything is written.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::{Sample, minute_of};

/// One pushed sample as it arrives: `{"timestamp": RFC 3339, "good": N, "total": N}`.
pub type PushedSample = Value;

/// Why one sample was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SampleError {
    /// Its index in the body.
    pub index: usize,
    pub message: String,
}

/// Checks every pushed sample: an object with an RFC 3339 `timestamp` no later than `now`'s minute, and `good`
/// and `total` whole numbers with `0 ≤ good ≤ total`. Timestamps are truncated to their minute. Either all samples
/// are good, or every bad one is reported with its index.
pub fn check_samples(items: &[PushedSample], now: DateTime<Utc>) -> Result<Vec<Sample>, Vec<SampleError>> {
    let mut samples = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match check_one(item, now) {
            Ok(sample) => samples.push(sample),
            Err(message) => errors.push(SampleError { index, message }),
        }
    }
    if errors.is_empty() { Ok(samples) } else { Err(errors) }
}

fn check_one(item: &Value, now: DateTime<Utc>) -> Result<Sample, String> {
    let Some(object) = item.as_object() else {
        return Err("a sample must be an object with timestamp, good and total".to_owned());
    };
    if let Some(unknown) = object.keys().find(|key| !matches!(key.as_str(), "timestamp" | "good" | "total")) {
        return Err(format!("unknown field `{unknown}`; a sample has timestamp, good and total"));
    }
    let timestamp = match object.get("timestamp") {
        Some(Value::String(text)) => DateTime::parse_from_rfc3339(text)
            .map_err(|e| format!("timestamp `{text}` is not an RFC 3339 date and time: {e}"))?
            .with_timezone(&Utc),
        Some(_) => return Err("timestamp must be a string in RFC 3339 form".to_owned()),
        None => return Err("timestamp is required".to_owned()),
    };
    let minute = minute_of(timestamp);
    if minute > minute_of(now) {
        return Err(format!("timestamp {} is in the future", timestamp.to_rfc3339()));
    }
    let good = count(object.get("good"), "good")?;
    let total = count(object.get("total"), "total")?;
    if good > total {
        return Err(format!("good ({good}) is greater than total ({total})"));
    }
    Ok(Sample { minute, good, total })
}

fn count(value: Option<&Value>, field: &str) -> Result<u64, String> {
    match value {
        None => Err(format!("{field} is required")),
        Some(Value::Number(number)) => match (number.as_u64(), number.as_i64()) {
            (Some(n), _) => Ok(n),
            (None, Some(negative)) => Err(format!("{field} is negative ({negative})")),
            (None, None) if number.as_f64().is_some_and(|n| n < 0.0) => Err(format!("{field} is negative ({number})")),
            (None, None) => Err(format!("{field} must be a whole number, not {number}")),
        },
        Some(other) => Err(format!("{field} must be a number, not {other}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-03-01T12:30:20Z".parse().expect("instant")
    }

    #[test]
    fn good_samples_are_truncated_to_their_minute() {
        let items = vec![
            json!({"timestamp": "2026-03-01T12:29:59.9Z", "good": 9, "total": 10}),
            json!({"timestamp": "2026-03-01T14:30:50+02:00", "good": 0, "total": 0}),
        ];
        let samples = check_samples(&items, now()).expect("accepted");
        assert_eq!(samples[0].minute.to_rfc3339(), "2026-03-01T12:29:00+00:00");
        assert_eq!((samples[0].good, samples[0].total), (9, 10));
        // The current minute is not the future.
        assert_eq!(samples[1].minute.to_rfc3339(), "2026-03-01T12:30:00+00:00");
    }

    #[test]
    fn every_bad_sample_is_refused_with_its_index() {
        let items = vec![
            json!({"timestamp": "2026-03-01T12:00:00Z", "good": 5, "total": 10}),
            json!({"timestamp": "2026-03-01T12:00:00Z", "good": 11, "total": 10}),
            json!({"timestamp": "2026-03-01T12:00:00Z", "good": -1, "total": 10}),
            json!({"timestamp": "2026-03-01T12:31:00Z", "good": 1, "total": 1}),
            json!({"timestamp": "yesterday", "good": 1, "total": 1}),
            json!({"timestamp": "2026-03-01T12:00:00Z", "good": 1.5, "total": 2}),
            json!({"timestamp": "2026-03-01T12:00:00Z", "total": 2}),
            json!([1, 2]),
            json!({"timestamp": "2026-03-01T12:00:00Z", "good": 1, "total": 2, "bad": 1}),
        ];
        let errors = check_samples(&items, now()).expect_err("refused");
        let shown: Vec<(usize, &str)> = errors.iter().map(|e| (e.index, e.message.as_str())).collect();
        assert_eq!(
            shown,
            [
                (1, "good (11) is greater than total (10)"),
                (2, "good is negative (-1)"),
                (3, "timestamp 2026-03-01T12:31:00+00:00 is in the future"),
                (4, "timestamp `yesterday` is not an RFC 3339 date and time: premature end of input"),
                (5, "good must be a whole number, not 1.5"),
                (6, "good is required"),
                (7, "a sample must be an object with timestamp, good and total"),
                (8, "unknown field `bad`; a sample has timestamp, good and total"),
            ]
        );
    }
}
