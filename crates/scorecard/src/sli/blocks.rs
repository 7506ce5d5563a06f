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
    match fast::minutes(data) {
        Some(minutes) => Ok(minutes),
        None => postcard::from_bytes(data).map_err(|e| CorruptBlock { start, reason: e.to_string() }),
    }
}

pub fn encode_hours(hours: &[HourRollup]) -> Vec<u8> {
    postcard::to_allocvec(hours).unwrap_or_default()
}

pub fn decode_hours(start: DateTime<Utc>, data: &[u8]) -> Result<Vec<HourRollup>, CorruptBlock> {
    match fast::hours(data) {
        Some(hours) => Ok(hours),
        None => postcard::from_bytes(data).map_err(|e| CorruptBlock { start, reason: e.to_string() }),
    }
}

/// Decoding without serde's generic machinery, a few times faster (evaluating every SLO decodes millions of
/// entries). It reads postcard's wire format for these two types exactly: a sequence is its length as a varint, then
/// its elements; a `u8` is one byte, `u32` and `u64` are LEB128 varints, an `f64` is 8 little-endian bytes. Anything
/// it is not sure of (a varint at its longest, a length longer than the data could hold) gives `None`, and postcard
/// decodes the block instead, so the result, or the error, is always postcard's.
mod fast {
    use super::{HourRollup, MinuteCount};

    struct Reader<'a> {
        data: &'a [u8],
        at: usize,
    }

    impl Reader<'_> {
        fn byte(&mut self) -> Option<u8> {
            let byte = *self.data.get(self.at)?;
            self.at += 1;
            Some(byte)
        }

        /// A varint of at most `max_bytes - 1` bytes (the longest form, whose last byte may overflow, is left to
        /// postcard). Up to three bytes, the common lengths, are read without a loop.
        #[inline(always)]
        fn varint(&mut self, max_bytes: u32) -> Option<u64> {
            match self.data.get(self.at..)? {
                [b0, ..] if *b0 < 0x80 => {
                    self.at += 1;
                    Some(u64::from(*b0))
                }
                [b0, b1, ..] if *b1 < 0x80 => {
                    self.at += 2;
                    Some(u64::from(b0 & 0x7f) | u64::from(*b1) << 7)
                }
                [b0, b1, b2, ..] if *b2 < 0x80 && max_bytes > 3 => {
                    self.at += 3;
                    Some(u64::from(b0 & 0x7f) | u64::from(b1 & 0x7f) << 7 | u64::from(*b2) << 14)
                }
                _ => self.long_varint(max_bytes),
            }
        }

        fn long_varint(&mut self, max_bytes: u32) -> Option<u64> {
            let mut value = 0_u64;
            for i in 0..max_bytes - 1 {
                let byte = self.byte()?;
                value |= u64::from(byte & 0x7f) << (7 * i);
                if byte & 0x80 == 0 {
                    return Some(value);
                }
            }
            None
        }

        fn u64(&mut self) -> Option<u64> {
            self.varint(10)
        }

        fn u32(&mut self) -> Option<u32> {
            u32::try_from(self.varint(5)?).ok()
        }

        fn f64(&mut self) -> Option<f64> {
            let bytes = self.data.get(self.at..self.at + 8)?;
            self.at += 8;
            Some(f64::from_le_bytes(bytes.try_into().ok()?))
        }

        /// A sequence's length, when the rest of the data could hold that many elements of `min_size` bytes.
        fn len(&mut self, min_size: usize) -> Option<usize> {
            let len = usize::try_from(self.u64()?).ok()?;
            (len <= (self.data.len() - self.at) / min_size).then_some(len)
        }
    }

    pub(super) fn minutes(data: &[u8]) -> Option<Vec<MinuteCount>> {
        let mut r = Reader { data, at: 0 };
        let len = r.len(3)?;
        let mut out = Vec::with_capacity(len);
        for _ in 0..len {
            out.push(MinuteCount { minute: r.byte()?, good: r.u64()?, total: r.u64()? });
        }
        Some(out)
    }

    pub(super) fn hours(data: &[u8]) -> Option<Vec<HourRollup>> {
        let mut r = Reader { data, at: 0 };
        let len = r.len(13)?;
        let mut out = Vec::with_capacity(len);
        for _ in 0..len {
            out.push(HourRollup {
                hour: r.byte()?,
                good: r.u64()?,
                total: r.u64()?,
                good_slices: r.u32()?,
                slices: r.u32()?,
                ratio_sum: r.f64()?,
            });
        }
        Some(out)
    }
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

/// The minute buckets of a minute block starting at `hour` (a whole hour). From a whole hour or day, setting the
/// minute or hour of the naive time is what adding comes to, at a fraction of the cost: an evaluation of every SLO
/// reads millions of buckets.
pub fn minute_buckets(hour: DateTime<Utc>, minutes: &[MinuteCount]) -> impl Iterator<Item = Bucket> + '_ {
    let start = hour.naive_utc();
    let whole = start.time().num_seconds_from_midnight().is_multiple_of(3600) && start.nanosecond() == 0;
    minutes.iter().map(move |m| {
        let at = if whole { start.with_minute(u32::from(m.minute)).map(|t| t.and_utc()) } else { None };
        Bucket::minute(at.unwrap_or_else(|| hour + Duration::minutes(i64::from(m.minute))), m.good, m.total)
    })
}

/// The hourly bucket of one rollup of an hour block starting at `day`.
pub fn hour_bucket(day: DateTime<Utc>, rollup: &HourRollup) -> Bucket {
    let start = day.naive_utc();
    let whole = start.time() == chrono::NaiveTime::MIN;
    let at = if whole { start.with_hour(u32::from(rollup.hour)).map(|t| t.and_utc()) } else { None };
    Bucket {
        start: at.unwrap_or_else(|| day + Duration::hours(i64::from(rollup.hour))),
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

    proptest::proptest! {
        #[test]
        fn fast_decoding_reads_what_postcard_reads(
            minutes in proptest::collection::vec((0..=255_u8, proptest::num::u64::ANY, proptest::num::u64::ANY), 0..70),
            hours in proptest::collection::vec(
                (0..=255_u8, proptest::num::u64::ANY, proptest::num::u64::ANY, proptest::num::u32::ANY,
                    proptest::num::u32::ANY, proptest::num::f64::ANY),
                0..30,
            ),
            garbage in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
            cut in 0..400_usize,
        ) {
            let start: DateTime<Utc> = "2026-03-01T10:00:00Z".parse().expect("instant");
            let minutes: Vec<MinuteCount> =
                minutes.into_iter().map(|(minute, good, total)| MinuteCount { minute, good, total }).collect();
            let hours: Vec<HourRollup> = hours
                .into_iter()
                .map(|(hour, good, total, good_slices, slices, ratio_sum)| HourRollup {
                    hour, good, total, good_slices, slices, ratio_sum,
                })
                .collect();
            let (m, h) = (encode_minutes(&minutes), encode_hours(&hours));
            proptest::prop_assert_eq!(decode_minutes(start, &m).expect("decodes"), minutes);
            let decoded = decode_hours(start, &h).expect("decodes");
            // NaN is not equal to itself: compare the bits.
            let bits = |hours: &[HourRollup]| {
                hours.iter().map(|r| (r.hour, r.good, r.total, r.good_slices, r.slices, r.ratio_sum.to_bits())).collect::<Vec<_>>()
            };
            proptest::prop_assert_eq!(bits(&decoded), bits(&hours));
            // Cut or garbage blocks: the same answer as postcard's, error or not.
            for data in [&m[..cut.min(m.len())], &h[..cut.min(h.len())], &garbage[..]] {
                let postcard_minutes: Result<Vec<MinuteCount>, _> = postcard::from_bytes(data);
                proptest::prop_assert_eq!(
                    decode_minutes(start, data).map_err(|e| e.reason),
                    postcard_minutes.map_err(|e| e.to_string())
                );
                let postcard_hours: Result<Vec<HourRollup>, _> = postcard::from_bytes(data);
                proptest::prop_assert_eq!(
                    decode_hours(start, data).map(|h| bits(&h)).map_err(|e| e.reason),
                    postcard_hours.map(|h| bits(&h)).map_err(|e| e.to_string())
                );
            }
        }
    }

    #[test]
    fn buckets_start_where_adding_would_put_them() {
        let hour: DateTime<Utc> = "2026-03-01T10:00:00Z".parse().expect("instant");
        let minutes: Vec<MinuteCount> = (0..=200).map(|m| MinuteCount { minute: m, good: 1, total: 1 }).collect();
        for (m, bucket) in minute_buckets(hour, &minutes).enumerate() {
            assert_eq!(bucket.start, hour + Duration::minutes(m as i64));
        }
        let odd = hour + Duration::seconds(90);
        assert_eq!(minute_buckets(odd, &minutes[..2]).last().map(|b| b.start), Some(odd + Duration::minutes(1)));
        for h in 0..=255_u8 {
            let rollup = HourRollup { hour: h, good: 1, total: 1, good_slices: 0, slices: 0, ratio_sum: 0.0 };
            assert_eq!(hour_bucket(day_of(hour), &rollup).start, day_of(hour) + Duration::hours(i64::from(h)));
        }
    }

    #[test]
    fn instants_truncate_to_their_minute_hour_and_day() {
        let at: DateTime<Utc> = "2026-03-01T10:17:42.5Z".parse().expect("instant");
        assert_eq!(minute_of(at).to_rfc3339(), "2026-03-01T10:17:00+00:00");
        assert_eq!(hour_of(at).to_rfc3339(), "2026-03-01T10:00:00+00:00");
        assert_eq!(day_of(at).to_rfc3339(), "2026-03-01T00:00:00+00:00");
    }
}
