//! Multiwindow, multi-burn-rate alerts (SRE Workbook, chapter 5, "Alerting on SLOs", approach 6).

use chrono::Duration;
use serde::{Deserialize, Serialize};

/// Who an alert goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Wake someone up.
    Page,
    /// Open a ticket.
    Ticket,
}

/// One alert rule: fires when the burn rate is strictly above `threshold` over both windows.
///
/// The long window says the budget is really being spent; the short one that it still is, so the alert
/// resets soon after the problem stops.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    /// Who is told.
    pub severity: Severity,
    /// The long window, e.g. 1 h.
    #[serde(with = "crate::seconds")]
    pub long_window: Duration,
    /// The short window, e.g. 5 min.
    #[serde(with = "crate::seconds")]
    pub short_window: Duration,
    /// The burn rate both windows must exceed.
    pub threshold: f64,
}

impl AlertRule {
    /// Whether the rule fires for these burn rates: both known and both strictly above the threshold.
    pub fn is_firing(&self, long_burn: Option<f64>, short_burn: Option<f64>) -> bool {
        long_burn.is_some_and(|burn| burn > self.threshold) && short_burn.is_some_and(|burn| burn > self.threshold)
    }
}

/// The alert rules of an SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertPolicy {
    /// The rules, evaluated independently.
    pub rules: Vec<AlertRule>,
}

/// The SRE Workbook's defaults: severity, long window and short window (in minutes), and the fraction of
/// the period's budget that burning at the threshold over the long window spends.
const DEFAULT_RULES: [(Severity, i64, i64, f64); 4] = [
    (Severity::Page, 60, 5, 0.02),
    (Severity::Page, 6 * 60, 30, 0.05),
    (Severity::Ticket, 24 * 60, 2 * 60, 0.10),
    (Severity::Ticket, 3 * 24 * 60, 6 * 60, 0.10),
];

impl AlertPolicy {
    /// The SRE Workbook's four default rules for an SLO period of `period`: page on 2 % of the budget
    /// spent in 1 h (confirmed over 5 min) or 5 % in 6 h (30 min); ticket on 10 % in 1 d (2 h) or 10 % in
    /// 3 d (6 h). For 30 days the thresholds are 14.4, 6, 3 and 1; see [`alert_threshold`].
    pub fn defaults_for(period: Duration) -> Self {
        let rules = DEFAULT_RULES
            .iter()
            .map(|&(severity, long, short, fraction)| {
                let long_window = Duration::minutes(long);
                AlertRule {
                    severity,
                    long_window,
                    short_window: Duration::minutes(short),
                    threshold: alert_threshold(fraction, period, long_window),
                }
            })
            .collect();
        Self { rules }
    }
}

/// The burn rate that spends `budget_fraction` of the budget of `period` in `long_window`:
/// `budget_fraction × period / long_window`.
pub fn alert_threshold(budget_fraction: f64, period: Duration, long_window: Duration) -> f64 {
    budget_fraction * period.num_milliseconds() as f64 / long_window.num_milliseconds() as f64
}

/// The state of one alert rule at the evaluation instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertState {
    /// Who is told.
    pub severity: Severity,
    /// The long window, e.g. `"1h"`.
    pub long_window: String,
    /// The short window, e.g. `"5m"`.
    pub short_window: String,
    /// The burn rate both windows must exceed.
    pub threshold: f64,
    /// Whether the rule fires.
    pub firing: bool,
    /// The burn rate over the long window, `None` without events.
    pub long_burn: Option<f64>,
    /// The burn rate over the short window, `None` without events.
    pub short_burn: Option<f64>,
}

/// A window length as a short label in its largest whole unit: `"5m"`, `"1h"`, `"3d"`, `"90s"`.
pub(crate) fn window_label(length: Duration) -> String {
    let seconds = length.num_seconds();
    match seconds {
        0 => "0s".to_owned(),
        _ if seconds % 86_400 == 0 => format!("{}d", seconds / 86_400),
        _ if seconds % 3_600 == 0 => format!("{}h", seconds / 3_600),
        _ if seconds % 60 == 0 => format!("{}m", seconds / 60),
        _ => format!("{seconds}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thresholds(period: Duration) -> Vec<(Severity, String, String, f64)> {
        AlertPolicy::defaults_for(period)
            .rules
            .into_iter()
            .map(|rule| {
                (rule.severity, window_label(rule.long_window), window_label(rule.short_window), rule.threshold)
            })
            .collect()
    }

    fn assert_thresholds(period: Duration, expected: [f64; 4]) {
        let rules = thresholds(period);
        let windows: Vec<_> =
            rules.iter().map(|(severity, long, short, _)| (*severity, long.as_str(), short.as_str())).collect();
        assert_eq!(
            windows,
            [
                (Severity::Page, "1h", "5m"),
                (Severity::Page, "6h", "30m"),
                (Severity::Ticket, "1d", "2h"),
                (Severity::Ticket, "3d", "6h")
            ]
        );
        for ((_, long, _, threshold), expected) in rules.iter().zip(expected) {
            assert!((threshold - expected).abs() < 1e-9, "{long}: {threshold} instead of {expected}");
        }
    }

    /// SRE Workbook, table 5-8, for a 30-day period.
    #[test]
    fn default_thresholds_for_thirty_days() {
        assert_thresholds(Duration::days(30), [14.4, 6.0, 3.0, 1.0]);
    }

    #[test]
    fn default_thresholds_for_twenty_eight_days() {
        assert_thresholds(Duration::days(28), [13.44, 5.6, 2.8, 0.933_333_333_333]);
        assert!((thresholds(Duration::days(28))[3].3 - 2.8 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn rules_fire_strictly_above_the_threshold_over_both_windows() {
        let page = AlertPolicy::defaults_for(Duration::days(30)).rules.remove(0);
        let threshold = page.threshold;
        assert_eq!(threshold, 14.4);
        assert!(!page.is_firing(Some(threshold), Some(threshold)), "exactly {threshold} fires");
        assert!(!page.is_firing(Some(14.4), Some(20.0)));
        assert!(page.is_firing(Some(14.41), Some(20.0)));
        assert!(!page.is_firing(Some(20.0), Some(14.0)), "the short window must agree");
        assert!(!page.is_firing(Some(20.0), None));
        assert!(!page.is_firing(None, Some(20.0)));
    }

    #[test]
    fn window_labels() {
        let labels: Vec<_> = [Duration::minutes(5), Duration::minutes(30), Duration::hours(2), Duration::days(3)]
            .into_iter()
            .chain([Duration::seconds(90), Duration::minutes(90), Duration::zero()])
            .map(window_label)
            .collect();
        assert_eq!(labels, ["5m", "30m", "2h", "3d", "90s", "90m", "0s"]);
    }
}
