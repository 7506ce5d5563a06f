//! Domain types of a service level objective: its target, how its budget is counted, over which window,
//! and the SLI data it is evaluated on.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::alerts::AlertPolicy;

/// Why an SLO definition was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum SloError {
    /// The objective's target is not strictly between 0 and 1.
    InvalidTarget(f64),
    /// A time slice is not a whole, positive number of minutes that divides an hour.
    InvalidSlice(Duration),
    /// A slice target is not greater than 0 and at most 1.
    InvalidSliceTarget(f64),
    /// A rolling window is not positive.
    InvalidWindow(Duration),
}

impl fmt::Display for SloError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidTarget(target) => write!(f, "target {target} must be between 0 and 1 (exclusive)"),
            Self::InvalidSlice(slice) => write!(
                f,
                "time slice of {} s must be a whole number of minutes that divides an hour",
                slice.num_seconds()
            ),
            Self::InvalidSliceTarget(target) => {
                write!(f, "slice target {target} must be greater than 0 and at most 1")
            }
            Self::InvalidWindow(length) => write!(f, "rolling window of {} s must be positive", length.num_seconds()),
        }
    }
}

impl std::error::Error for SloError {}

/// The target of an SLO: the fraction `T` of good events (or good time) it promises, `0 < T < 1`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ObjectiveFields")]
pub struct Objective {
    target: f64,
}

impl Objective {
    /// An objective with the given target; refuses targets that are not strictly between 0 and 1 (and NaN).
    pub fn new(target: f64) -> Result<Self, SloError> {
        if target > 0.0 && target < 1.0 { Ok(Self { target }) } else { Err(SloError::InvalidTarget(target)) }
    }

    /// The target `T`.
    pub fn target(&self) -> f64 {
        self.target
    }

    /// The error budget `B = 1 − T`: the fraction of events (or time) that may be bad.
    ///
    /// `1 − T` is rounded to 15 decimal places (targets are written with fewer), so that a decimal target gives the
    /// budget people write: `1 − 0.99` in binary floating point is 0.010000000000000009, and a service exactly on its
    /// budget would read as having 8.9 × 10⁻¹⁶ of it left instead of none.
    pub fn error_budget(&self) -> f64 {
        let budget = 1.0 - self.target;
        let rounded = (budget * 1e15).round() / 1e15;
        if rounded > 0.0 && rounded.is_finite() { rounded } else { budget }
    }
}

/// An objective as stored, checked again when read.
#[derive(Deserialize)]
struct ObjectiveFields {
    target: f64,
}

impl TryFrom<ObjectiveFields> for Objective {
    type Error = SloError;

    fn try_from(fields: ObjectiveFields) -> Result<Self, SloError> {
        Objective::new(fields.target)
    }
}

/// How good and bad are counted against the budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum BudgetingMethod {
    /// Every event counts: the SLI is good events / all events over the window.
    Occurrences,
    /// Time is cut into slices (aligned to the Unix epoch); a slice is good when its own ratio is at least
    /// `slice_target`.
    ///
    /// A slice *has data* when it holds at least one event. Slices without data are neither good nor bad:
    /// the SLI is good slices / slices with data. The budget, though, is `B ×` **all** the slices of the
    /// window, with data or not (`window length / slice length`; for a calendar window the whole period,
    /// elapsed or not), so `consumed = bad slices / (B × slices in the window)`. This is the classic
    /// time-based budget ("43.2 bad minutes in 30 days" for 99.9 % with one-minute slices): fixed for the
    /// window, neither shrunk nor grown by missing data, each bad slice spending the same share. It differs
    /// from `(1 − SLI) / B` whenever slices lack data.
    Timeslices {
        /// The slice length: a whole number of minutes that divides an hour.
        #[serde(with = "crate::seconds")]
        slice: Duration,
        /// The ratio a slice needs to be good, `0 < slice_target ≤ 1`.
        slice_target: f64,
    },
    /// Time is cut into slices (aligned to the Unix epoch) and the SLI is the mean of the ratios of the slices
    /// with data (at least one event), `consumed = (1 − SLI) / B`.
    RatioTimeslices {
        /// The slice length: a whole number of minutes that divides an hour.
        #[serde(with = "crate::seconds")]
        slice: Duration,
    },
}

/// The length of a calendar window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarLength {
    /// One day (24 hours in UTC).
    Day,
    /// Seven days.
    Week,
    /// One calendar month.
    Month,
    /// Three calendar months.
    Quarter,
    /// Twelve calendar months.
    Year,
}

/// The compliance window an SLO is evaluated over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// The last `length` before the evaluation instant: the half-open range `[at − length, at)`.
    Rolling(#[serde(with = "crate::seconds")] Duration),
    /// Consecutive calendar periods of `length` counted from `start` (see [`calendar_bounds`]).
    ///
    /// [`calendar_bounds`]: super::calendar_bounds
    Calendar {
        /// The start of one period; the others follow and precede it back to back.
        start: DateTime<Utc>,
        /// The length of each period.
        length: CalendarLength,
    },
}

/// SLI data as stored: the events of one minute, or an hourly rollup of older minutes.
///
/// A bucket covers `[start, start + minutes)` and is aligned to its size (a minute bucket starts on a whole
/// minute, a rollup on a whole hour). It belongs to a range `[from, to)` when its `start` lies in it, so a
/// range boundary that falls inside a rollup is only as precise as the rollup. Buckets must not overlap.
///
/// `good` above `total` is read as `total`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// The first instant covered.
    pub start: DateTime<Utc>,
    /// The length in minutes: 1 for recent data, 60 for rollups.
    pub minutes: u32,
    /// Good events.
    pub good: u64,
    /// All events.
    pub total: u64,
    /// Rollups only: slices with data whose ratio reached the SLO's slice target. Ignored for minute buckets.
    pub good_slices: u32,
    /// Rollups only: slices with data (at least one event). Ignored for minute buckets.
    pub slices: u32,
    /// Rollups only: the sum of the ratios of the slices with data. Ignored for minute buckets.
    pub ratio_sum: f64,
}

impl Bucket {
    /// A one-minute bucket; its slice fields are derived at evaluation time and left at zero here.
    pub fn minute(start: DateTime<Utc>, good: u64, total: u64) -> Self {
        Self { start, minutes: 1, good, total, good_slices: 0, slices: 0, ratio_sum: 0.0 }
    }
}

/// One SLO: what it promises, over which window, how it is counted and when it alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloSpec {
    /// The target.
    pub objective: Objective,
    /// The compliance window.
    pub window: Window,
    /// How the budget is counted.
    pub method: BudgetingMethod,
    /// The burn-rate alert rules.
    pub alerting: AlertPolicy,
}

impl SloSpec {
    /// Checks what the types alone cannot: a rolling window is positive, a slice is a whole number of
    /// minutes dividing an hour (so that hourly rollups hold whole slices) and a slice target is in `(0, 1]`.
    pub fn validate(&self) -> Result<(), SloError> {
        if let Window::Rolling(length) = self.window
            && length <= Duration::zero()
        {
            return Err(SloError::InvalidWindow(length));
        }
        match self.method {
            BudgetingMethod::Occurrences => Ok(()),
            BudgetingMethod::Timeslices { slice, slice_target } => {
                validate_slice(slice)?;
                if slice_target > 0.0 && slice_target <= 1.0 {
                    Ok(())
                } else {
                    Err(SloError::InvalidSliceTarget(slice_target))
                }
            }
            BudgetingMethod::RatioTimeslices { slice } => validate_slice(slice),
        }
    }
}

fn validate_slice(slice: Duration) -> Result<(), SloError> {
    let whole_minutes = slice > Duration::zero() && slice.subsec_nanos() == 0 && slice.num_seconds() % 60 == 0;
    if whole_minutes && 60 % slice.num_minutes() == 0 { Ok(()) } else { Err(SloError::InvalidSlice(slice)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(window: Window, method: BudgetingMethod) -> SloSpec {
        SloSpec {
            objective: Objective::new(0.99).expect("valid target"),
            window,
            method,
            alerting: AlertPolicy::defaults_for(Duration::days(30)),
        }
    }

    #[test]
    fn objective_refuses_targets_outside_the_open_unit_interval() {
        for target in [0.0, 1.0, 1.5, -0.1, f64::NAN, f64::INFINITY] {
            assert!(Objective::new(target).is_err(), "{target} accepted");
        }
        let error = Objective::new(1.5).expect_err("1.5 refused");
        assert_eq!(error.to_string(), "target 1.5 must be between 0 and 1 (exclusive)");
        assert_eq!(
            Objective::new(f64::NAN).expect_err("NaN refused").to_string(),
            "target NaN must be between 0 and 1 (exclusive)"
        );
    }

    #[test]
    fn error_budget_is_one_minus_target() {
        let objective = Objective::new(0.999).expect("valid target");
        assert_eq!(objective.target(), 0.999);
        assert!((objective.error_budget() - 0.001).abs() < 1e-12);
        assert_eq!(Objective::new(0.75).expect("valid target").error_budget(), 0.25);
        // Decimal targets give the decimal budget, so one bad event in a hundred spends exactly all of 99 %.
        for (target, budget, total) in [(0.99, 0.01, 100u32), (0.999, 0.001, 1000), (0.9995, 0.0005, 2000)] {
            let objective = Objective::new(target).expect("valid target");
            assert_eq!(objective.error_budget(), budget);
            assert_eq!((1.0 / f64::from(total)) / objective.error_budget(), 1.0, "{target}");
        }
        let tiny = Objective::new(1.0 - 1e-13).expect("valid target");
        assert!(tiny.error_budget() > 0.0);
    }

    #[test]
    fn validate_checks_windows_slices_and_slice_targets() {
        let five = Duration::minutes(5);
        assert_eq!(spec(Window::Rolling(Duration::days(28)), BudgetingMethod::Occurrences).validate(), Ok(()));
        assert_eq!(
            spec(Window::Rolling(Duration::zero()), BudgetingMethod::Occurrences).validate(),
            Err(SloError::InvalidWindow(Duration::zero()))
        );
        let rolling = Window::Rolling(Duration::days(1));
        for slice in [Duration::minutes(1), five, Duration::minutes(20), Duration::hours(1)] {
            assert_eq!(spec(rolling.clone(), BudgetingMethod::RatioTimeslices { slice }).validate(), Ok(()));
        }
        for slice in [Duration::zero(), Duration::seconds(90), Duration::minutes(7), Duration::hours(2)] {
            assert_eq!(
                spec(rolling.clone(), BudgetingMethod::RatioTimeslices { slice }).validate(),
                Err(SloError::InvalidSlice(slice))
            );
        }
        assert_eq!(
            spec(rolling.clone(), BudgetingMethod::Timeslices { slice: five, slice_target: 1.0 }).validate(),
            Ok(())
        );
        for slice_target in [0.0, 1.01, f64::NAN] {
            let method = BudgetingMethod::Timeslices { slice: five, slice_target };
            assert!(spec(rolling.clone(), method).validate().is_err(), "{slice_target} accepted");
        }
        assert_eq!(
            SloError::InvalidSlice(Duration::minutes(7)).to_string(),
            "time slice of 420 s must be a whole number of minutes that divides an hour"
        );
    }
}
