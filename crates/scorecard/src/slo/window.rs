//! Where a window starts and ends at a given instant.

use chrono::{DateTime, Datelike, Duration, Months, Utc};

use super::model::{CalendarLength, Window};

/// The period of `window` at `at`, as a half-open range `[from, to)`.
///
/// * A rolling window gives `[at − length, at)`.
/// * A calendar window gives the period that contains `at`, counting back to back from `start` in UTC, in
///   both directions. Days and weeks are fixed lengths (24 h, 7 × 24 h); months, quarters and years are
///   calendar months: period `k` starts at `start` plus `k` (3 `k`, 12 `k`) months, each computed from
///   `start` rather than from the previous period, and a day of month that the target month lacks is
///   clamped to its last day (a start on January 31 gives periods starting February 28 or 29, March 31, …).
///
/// Instants beyond chrono's range saturate at its limits.
pub fn calendar_bounds(window: &Window, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    match *window {
        Window::Rolling(length) => (offset(at, -length), at),
        Window::Calendar { start, length } => match length {
            CalendarLength::Day => fixed_period(start, Duration::days(1), at),
            CalendarLength::Week => fixed_period(start, Duration::weeks(1), at),
            CalendarLength::Month => month_period(start, 1, at),
            CalendarLength::Quarter => month_period(start, 3, at),
            CalendarLength::Year => month_period(start, 12, at),
        },
    }
}

/// `at + delta`, saturating at chrono's limits.
pub(crate) fn offset(at: DateTime<Utc>, delta: Duration) -> DateTime<Utc> {
    at.checked_add_signed(delta).unwrap_or(if delta < Duration::zero() {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

fn fixed_period(start: DateTime<Utc>, period: Duration, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let period_ms = period.num_milliseconds();
    let index = (at - start).num_milliseconds().div_euclid(period_ms);
    let from = offset(start, Duration::milliseconds(index.saturating_mul(period_ms)));
    (from, offset(from, period))
}

fn month_period(start: DateTime<Utc>, months: i64, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let nth = |index: i64| add_months(start, index * months);
    // `start + diff months` falls in the month of `at`, so the period holding `at` is the one
    // containing that month, or the one before when `at` precedes `start`'s day and time of month.
    let diff = i64::from(at.year() - start.year()) * 12 + i64::from(at.month()) - i64::from(start.month());
    let mut index = diff.div_euclid(months);
    if nth(index) > at {
        index -= 1;
    }
    (nth(index), nth(index + 1))
}

fn add_months(start: DateTime<Utc>, months: i64) -> DateTime<Utc> {
    let shifted = u32::try_from(months.unsigned_abs())
        .ok()
        .map(Months::new)
        .and_then(|count| if months < 0 { start.checked_sub_months(count) } else { start.checked_add_months(count) });
    shifted.unwrap_or(if months < 0 { DateTime::<Utc>::MIN_UTC } else { DateTime::<Utc>::MAX_UTC })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        text.parse().expect("RFC 3339 instant")
    }

    fn calendar(start: &str, length: CalendarLength) -> Window {
        Window::Calendar { start: t(start), length }
    }

    #[test]
    fn rolling_window_is_the_half_open_range_before_at() {
        let at = t("2026-03-10T12:34:00Z");
        assert_eq!(calendar_bounds(&Window::Rolling(Duration::days(28)), at), (t("2026-02-10T12:34:00Z"), at));
    }

    #[test]
    fn calendar_month_is_the_month_containing_at() {
        let window = calendar("2026-01-01T00:00:00Z", CalendarLength::Month);
        assert_eq!(
            calendar_bounds(&window, t("2026-02-15T00:00:00Z")),
            (t("2026-02-01T00:00:00Z"), t("2026-03-01T00:00:00Z"))
        );
        // The start of a period belongs to it, its end to the next one.
        assert_eq!(
            calendar_bounds(&window, t("2026-03-01T00:00:00Z")),
            (t("2026-03-01T00:00:00Z"), t("2026-04-01T00:00:00Z"))
        );
        assert_eq!(
            calendar_bounds(&window, t("2026-02-28T23:59:59Z")),
            (t("2026-02-01T00:00:00Z"), t("2026-03-01T00:00:00Z"))
        );
        // Before the start, periods run backwards.
        assert_eq!(
            calendar_bounds(&window, t("2025-12-31T23:00:00Z")),
            (t("2025-12-01T00:00:00Z"), t("2026-01-01T00:00:00Z"))
        );
        // Leap February.
        assert_eq!(
            calendar_bounds(&window, t("2028-02-29T12:00:00Z")),
            (t("2028-02-01T00:00:00Z"), t("2028-03-01T00:00:00Z"))
        );
    }

    #[test]
    fn calendar_months_count_from_start_day_and_clamp_to_month_end() {
        let window = calendar("2026-01-31T06:00:00Z", CalendarLength::Month);
        assert_eq!(
            calendar_bounds(&window, t("2026-03-15T00:00:00Z")),
            (t("2026-02-28T06:00:00Z"), t("2026-03-31T06:00:00Z"))
        );
        assert_eq!(
            calendar_bounds(&window, t("2026-03-31T05:59:59Z")),
            (t("2026-02-28T06:00:00Z"), t("2026-03-31T06:00:00Z"))
        );
        assert_eq!(
            calendar_bounds(&window, t("2026-04-10T00:00:00Z")),
            (t("2026-03-31T06:00:00Z"), t("2026-04-30T06:00:00Z"))
        );
    }

    #[test]
    fn calendar_quarters_years_weeks_and_days() {
        let quarter = calendar("2026-01-01T00:00:00Z", CalendarLength::Quarter);
        assert_eq!(
            calendar_bounds(&quarter, t("2026-05-20T00:00:00Z")),
            (t("2026-04-01T00:00:00Z"), t("2026-07-01T00:00:00Z"))
        );
        assert_eq!(
            calendar_bounds(&quarter, t("2025-11-20T00:00:00Z")),
            (t("2025-10-01T00:00:00Z"), t("2026-01-01T00:00:00Z"))
        );
        let year = calendar("2024-07-01T00:00:00Z", CalendarLength::Year);
        assert_eq!(
            calendar_bounds(&year, t("2026-03-01T00:00:00Z")),
            (t("2025-07-01T00:00:00Z"), t("2026-07-01T00:00:00Z"))
        );
        // 2026-01-05 is a Monday.
        let week = calendar("2026-01-05T00:00:00Z", CalendarLength::Week);
        assert_eq!(
            calendar_bounds(&week, t("2026-02-15T10:00:00Z")),
            (t("2026-02-09T00:00:00Z"), t("2026-02-16T00:00:00Z"))
        );
        assert_eq!(
            calendar_bounds(&week, t("2026-01-04T23:59:59Z")),
            (t("2025-12-29T00:00:00Z"), t("2026-01-05T00:00:00Z"))
        );
        let day = calendar("2026-01-01T09:00:00Z", CalendarLength::Day);
        assert_eq!(
            calendar_bounds(&day, t("2026-02-15T08:59:00Z")),
            (t("2026-02-14T09:00:00Z"), t("2026-02-15T09:00:00Z"))
        );
    }
}
