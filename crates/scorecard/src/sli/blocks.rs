//! The packed form of SLI data: a minute block holds the minutes of one hour, an hour block the hourly rollups
//! of one day. Blocks are encoded with postcard (variable-length integers), so a minute of a few thousand events
//! takes a handful of bytes and 10,000 SLOs × 30 days stay small.

use chrono::{DateTime, Duration, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::slo::Bucket;

/// The events of one minute of a minute block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteCount {
    /// The minute of the hour, 0–59.
    pub minute: u8,
    pub good: u64,
    pub total: u64,
}

/// The rollup of one hour of an hour block.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HourRollup {
    /// The hour of the day, 0–23.
    pub hour: u8,
    pub good: u64,
    pub total: u64,
    pub good_slices: u32,
    pub slices: u32,
    pub ratio_sum: f64,
}

/// A block that cannot be read back: the database was written by something else.
#[derive(Debug, thiserror::Error)]
#[error("an SLI block starting at {start} cannot be decoded: {reason}")]
pub struct CorruptBlock {
    pub start: DateTime<Utc>,
    pub reason: String,
}

pub fn encode_minutes(minutes: &[MinuteCount]) -> Vec<u8> {
    postcard::to_allocvec(minutes).unwrap_or_default()
}

pub fn decode_minutes(start: DateTime<Utc>, data: &[u8]) -> Result<Vec<MinuteCount>, CorruptBlock> {
    postcard::from_bytes(data).map_err(|e| CorruptBlock { start, reason: e.to_string() })
}

pub fn encode_hours(hours: &[HourRollup]) -> Vec<u8> {
    postcard::to_allocvec(hours).unwrap_or_default()
}

pub fn decode_hours(start: DateTime<Utc>, data: &[u8]) -> Result<Vec<HourRollup>, CorruptBlock> {
    postcard::from_bytes(data).map_err(|e| CorruptBlock { start, reason: e.to_string() })
}

/// The start of the hour holding `at`.
pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.with_nanosecond(0).and_then(|t| t.with_second(0)).and_then(|t| t.with_minute(0)).unwrap_or(at)
}

/// The start of the UTC day holding `at`.
pub fn day_of(at: DateTime<Utc>) -> DateTime<Utc> {
    hour_of(at).with_hour(0).unwrap_or(at)
}

/// The start of the minute holding `at`.
pub fn minute_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.with_nanosecond(0).and_then(|t| t.with_second(0)).unwrap_or(at)
}

/// The minute buckets of a minute block starting at `hour`.
pub fn minute_buckets(hour: DateTime<Utc>, minutes: &[MinuteCount]) -> impl Iterator<Item = Bucket> + '_ {
    minutes.iter().map(move |m| Bucket::minute(hour + Duration::minutes(i64::from(m.minute)), m.good, m.total))
}

/// The hourly bucket of one rollup of an hour block starting at `day`.
pub fn hour_bucket(day: DateTime<Utc>, rollup: &HourRollup) -> Bucket {
    Bucket {
        start: day + Duration::hours(i64::from(rollup.hour)),
        minutes: 60,
        good: rollup.good,
        total: rollup.total,
        good_slices: rollup.good_slices,
        slices: rollup.slices,
        ratio_sum: rollup.ratio_sum,
    }
}

/// The rollup entry of an hourly bucket.
pub fn rollup_entry(bucket: &Bucket) -> HourRollup {
    HourRollup {
        hour: u8::try_from(bucket.start.hour()).unwrap_or(0),
        good: bucket.good,
        total: bucket.total,
        good_slices: bucket.good_slices,
        slices: bucket.slices,
        ratio_sum: bucket.ratio_sum,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_stay_small() {
        let start: DateTime<Utc> = "2026-03-01T10:00:00Z".parse().expect("instant");
        let minutes: Vec<MinuteCount> =
            (0..60).map(|m| MinuteCount { minute: m, good: 4_990 + u64::from(m), total: 5_000 }).collect();
        let data = encode_minutes(&minutes);
        assert_eq!(decode_minutes(start, &data).expect("decodes"), minutes);
        // One byte for the minute, two for each count below 16,384, and the length.
        assert!(data.len() <= 60 * 5 + 1, "{} bytes", data.len());

        let hours = vec![HourRollup { hour: 3, good: 9, total: 10, good_slices: 11, slices: 12, ratio_sum: 11.5 }];
        assert_eq!(decode_hours(start, &encode_hours(&hours)).expect("decodes"), hours);
        let error = decode_hours(start, &[0xff, 0xff]).expect_err("garbage refused");
        assert!(error.to_string().contains("2026-03-01 10:00:00 UTC"), "{error}");
    }

    #[test]
    fn instants_truncate_to_their_minute_hour_and_day() {
        let at: DateTime<Utc> = "2026-03-01T10:17:42.5Z".parse().expect("instant");
        assert_eq!(minute_of(at).to_rfc3339(), "2026-03-01T10:17:00+00:00");
        assert_eq!(hour_of(at).to_rfc3339(), "2026-03-01T10:00:00+00:00");
        assert_eq!(day_of(at).to_rfc3339(), "2026-03-01T00:00:00+00:00");
    }
}
