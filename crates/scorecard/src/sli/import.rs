//! SLI history written at once, as whole blocks: hourly rollups for older hours and the minutes of recent ones,
//! for backfills from another system and for benchmarks that need months of data for thousands of SLOs.
//!
//! [`record`](super::record) is the way for live samples: it reads what is stored and replaces minute by minute.
//! [`import`] writes the blocks it covers whole, replacing what they held: a day's hour block holds exactly the
//! hours given for that day, an hour's minute block exactly the minutes given for that hour.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Timelike, Utc};
use store::DbConnection;
use store::sli::{self as sli_store, Block, HOURS, MINUTES};
use store::slos;

use super::blocks::{self, HourRollup, MinuteCount};
use super::{Sample, SampleError, SliError, StoredSlo, day_of, hour_of, minute_of, naive, slicing};
use crate::slo::{Bucket, rollup};

/// What [`import`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Imported {
    pub minute_blocks: usize,
    pub hour_blocks: usize,
}

/// Writes one SLO's history: `hours`, hourly rollups (60-minute buckets starting on whole hours, their slice fields
/// counted with the SLO's slicing), and `minutes`, samples of whole minutes (the last one given for a minute wins).
/// An hour with minutes gets its rollup from them, whatever `hours` says of it. The SLO's `data_until` moves to the
/// end of the newest data. A bucket that is not an hourly rollup is refused (by its index in `hours`), and nothing
/// is written.
pub fn import(
    conn: &mut DbConnection,
    slo: &StoredSlo,
    hours: &[Bucket],
    minutes: &[Sample],
) -> Result<Imported, SliError> {
    let refused: Vec<SampleError> = hours
        .iter()
        .enumerate()
        .filter(|(_, bucket)| bucket.minutes != 60 || hour_of(bucket.start) != bucket.start)
        .map(|(index, bucket)| SampleError {
            index,
            message: format!(
                "an imported hour must be a 60-minute rollup starting on a whole hour, not {} minutes from {}",
                bucket.minutes,
                bucket.start.to_rfc3339()
            ),
        })
        .collect();
    if !refused.is_empty() {
        return Err(SliError::Refused(refused));
    }

    let mut by_hour: BTreeMap<DateTime<Utc>, BTreeMap<u8, MinuteCount>> = BTreeMap::new();
    for sample in minutes {
        let minute = minute_of(sample.minute);
        let of_hour = u8::try_from(minute.minute()).unwrap_or(0);
        let count = MinuteCount { minute: of_hour, good: sample.good.min(sample.total), total: sample.total };
        by_hour.entry(hour_of(minute)).or_default().insert(of_hour, count);
    }

    let (slice, slice_target) = slicing(&slo.definition.spec);
    let mut days: BTreeMap<DateTime<Utc>, BTreeMap<u8, HourRollup>> = BTreeMap::new();
    for bucket in hours {
        let entry = blocks::rollup_entry(bucket);
        days.entry(day_of(bucket.start)).or_default().insert(entry.hour, entry);
    }
    let id = slo.row.id;
    let mut writes = Vec::with_capacity(by_hour.len() + days.len());
    for (hour, counts) in &by_hour {
        let counts: Vec<MinuteCount> = counts.values().copied().collect();
        let buckets: Vec<Bucket> = blocks::minute_buckets(*hour, &counts).collect();
        let entry = blocks::rollup_entry(&rollup(*hour, &buckets, slice, slice_target));
        days.entry(day_of(*hour)).or_default().insert(entry.hour, entry);
        writes.push(Block {
            slo_id: id,
            resolution: MINUTES.to_owned(),
            start: naive(*hour),
            data: blocks::encode_minutes(&counts),
        });
    }
    let minute_blocks = writes.len();
    for (day, rollups) in &days {
        let rollups: Vec<HourRollup> = rollups.values().copied().collect();
        writes.push(Block {
            slo_id: id,
            resolution: HOURS.to_owned(),
            start: naive(*day),
            data: blocks::encode_hours(&rollups),
        });
    }
    sli_store::put(conn, &writes)?;

    let newest_minute = by_hour
        .iter()
        .next_back()
        .and_then(|(hour, counts)| counts.keys().next_back().map(|m| *hour + Duration::minutes(i64::from(*m) + 1)));
    let newest_hour = hours.iter().map(|bucket| bucket.start + Duration::hours(1)).max();
    if let Some(until) = newest_minute.max(newest_hour) {
        slos::mark_data(conn, id, naive(until))?;
    }
    Ok(Imported { minute_blocks, hour_blocks: writes.len() - minute_blocks })
}

#[cfg(test)]
mod tests {
    use diesel::Connection;
    use store::slos::SloForm;
    use store::test_support::TestDb;

    use super::*;
    use crate::sli::{StoredDefinition, compact, evaluate_stored, record};
    use crate::slo::{AlertPolicy, BudgetingMethod, Indicator, MetricQuery, Objective, SloSpec, Source, Window};

    fn t(text: &str) -> DateTime<Utc> {
        text.parse().expect("RFC 3339 instant")
    }

    fn form(name: &str, method: &BudgetingMethod) -> SloForm {
        let push = MetricQuery { source: Source::Push, query: String::new() };
        let definition = StoredDefinition {
            spec: SloSpec {
                objective: Objective::new(0.99).expect("target"),
                window: Window::Rolling(Duration::days(3)),
                method: method.clone(),
                alerting: AlertPolicy::defaults_for(Duration::days(3)),
            },
            indicator: Indicator::Ratio { good: push.clone(), total: push },
        };
        SloForm {
            namespace: "default".to_owned(),
            name: name.to_owned(),
            service: "checkout".to_owned(),
            display_name: name.to_owned(),
            description: String::new(),
            path: "slo.yaml".to_owned(),
            line: 1,
            col: 1,
            source_kind: "push".to_owned(),
            definition: serde_json::to_string(&definition).expect("serializable"),
            problems: "[]".to_owned(),
            updated_at: store::now(),
        }
    }

    /// Three days of minutes with failures here and there.
    fn minutes(now: DateTime<Utc>) -> Vec<Sample> {
        (1..=3 * 24 * 60_i64)
            .map(|ago| {
                let total = 20 + (ago * 7 % 13) as u64;
                let bad = if ago % 97 < 3 { total / 4 } else { u64::from(ago % 11 == 0) };
                Sample { minute: minute_of(now) - Duration::minutes(ago), good: total - bad, total }
            })
            .collect()
    }

    #[test]
    fn imported_rollups_and_minutes_read_like_recorded_minutes() {
        let now = t("2026-03-04T12:34:56Z");
        let cutoff = hour_of(now - super::super::MINUTE_RETENTION);
        for db in TestDb::all() {
            let mut conn = db.store.conn().expect("connection");
            for method in [
                BudgetingMethod::Occurrences,
                BudgetingMethod::Timeslices { slice: Duration::minutes(5), slice_target: 0.95 },
            ] {
                let label = format!("{}: {method:?}", db.backend_name());
                let (recorded, imported) = ("recorded".to_owned(), "imported".to_owned());
                slos::upsert_many(&mut conn, &[form(&recorded, &method), form(&imported, &method)]).expect("SLOs");
                let stored = |conn: &mut DbConnection, name: &str| {
                    let row = slos::by_name(conn, "default", name).expect("query").expect("stored");
                    StoredSlo::from_row(row).expect("definition")
                };
                let (a, b) = (stored(&mut conn, &recorded), stored(&mut conn, &imported));
                let all = minutes(now);
                record(&mut conn, &a, &all).expect("recorded");
                compact(&mut conn, now).expect("compacted");

                // The same history as rollups of the old hours and the recent minutes.
                let (old, recent): (Vec<Sample>, Vec<Sample>) = all.iter().partition(|s| s.minute < cutoff);
                let mut old_hours: BTreeMap<DateTime<Utc>, Vec<Bucket>> = BTreeMap::new();
                for s in &old {
                    old_hours.entry(hour_of(s.minute)).or_default().push(Bucket::minute(s.minute, s.good, s.total));
                }
                let (slice, target) = slicing(&b.definition.spec);
                let hours: Vec<Bucket> =
                    old_hours.iter().map(|(hour, buckets)| rollup(*hour, buckets, slice, target)).collect();
                let written = import(&mut conn, &b, &hours, &recent).expect("imported");
                assert_eq!((written.minute_blocks, written.hour_blocks), (25, 4), "{label}");

                let a = evaluate_stored(&mut conn, a, now).expect("evaluated");
                let b = evaluate_stored(&mut conn, b, now).expect("evaluated");
                assert_eq!(a.evaluation, b.evaluation, "{label}");
                assert!(a.evaluation.error_budget.consumed.expect("data") > 0.0, "{label}");
                let until = |name: &str, conn: &mut DbConnection| {
                    slos::by_name(conn, "default", name).expect("query").expect("stored").data_until
                };
                assert_eq!(until(&recorded, &mut conn), until(&imported, &mut conn), "{label}");
                slos::delete(&mut conn, &[a.slo.row.id, b.slo.row.id]).expect("deleted");
            }
        }
    }

    #[test]
    fn evaluating_all_in_chunks_equals_evaluating_each() {
        let now = t("2026-03-04T12:34:56Z");
        for db in TestDb::all() {
            let mut conn = db.store.conn().expect("connection");
            // More SLOs than one chunk, with windows that read from different days.
            let count = 1_100;
            let forms: Vec<SloForm> = (0..count)
                .map(|i| {
                    let mut form = form(&format!("slo-{i:04}"), &BudgetingMethod::Occurrences);
                    if i % 3 == 0 {
                        let mut definition: StoredDefinition = serde_json::from_str(&form.definition).expect("json");
                        definition.spec.window = Window::Rolling(Duration::hours(2 + (i % 48) as i64));
                        form.definition = serde_json::to_string(&definition).expect("json");
                    }
                    form
                })
                .collect();
            conn.transaction(|conn| slos::upsert_many(conn, &forms)).expect("SLOs");
            let stored: Vec<StoredSlo> = slos::all(&mut conn)
                .expect("SLOs")
                .into_iter()
                .map(|row| StoredSlo::from_row(row).expect("definition"))
                .collect();
            conn.transaction(|conn| -> Result<(), SliError> {
                for (i, slo) in stored.iter().enumerate() {
                    let bad = (i % 7) as u64;
                    let hours = [Bucket { minutes: 60, ..Bucket::minute(hour_of(now) - Duration::hours(40), 90, 100) }];
                    let minutes = [Sample { minute: minute_of(now) - Duration::minutes(3), good: 50 - bad, total: 50 }];
                    import(conn, slo, if i % 5 == 0 { &[] } else { &hours }, &minutes)?;
                }
                Ok(())
            })
            .expect("imported");
            let all = crate::sli::evaluate_all(&mut conn, now).expect("evaluated");
            assert_eq!(all.len(), count, "{}", db.backend_name());
            for (slo, evaluation) in all.into_iter().step_by(37) {
                let one = evaluate_stored(&mut conn, slo, now).expect("evaluated");
                assert_eq!(one.evaluation, evaluation, "{}: {}", db.backend_name(), one.slo.row.name);
            }
        }
    }

    #[test]
    fn buckets_that_are_not_hourly_rollups_are_refused() {
        let db = TestDb::sqlite();
        let mut conn = db.store.conn().expect("connection");
        slos::upsert_many(&mut conn, &[form("x", &BudgetingMethod::Occurrences)]).expect("SLO");
        let row = slos::by_name(&mut conn, "default", "x").expect("query").expect("stored");
        let slo = StoredSlo::from_row(row).expect("definition");
        let hour = t("2026-03-04T10:00:00Z");
        let hours = [
            Bucket { minutes: 60, ..Bucket::minute(hour, 1, 1) },
            Bucket::minute(hour, 1, 1),
            Bucket { minutes: 60, ..Bucket::minute(hour + Duration::minutes(5), 1, 1) },
        ];
        let Err(SliError::Refused(refused)) = import(&mut conn, &slo, &hours, &[]) else { panic!("refused") };
        assert_eq!(refused.iter().map(|e| e.index).collect::<Vec<_>>(), [1, 2]);
        assert!(refused[0].message.contains("60-minute rollup"), "{}", refused[0].message);
        assert!(
            store::sli::blocks(
                &mut conn,
                &[slo.row.id],
                naive(hour - Duration::days(1)),
                naive(hour + Duration::days(1))
            )
            .expect("query")
            .is_empty()
        );
    }
}
