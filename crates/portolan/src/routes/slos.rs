//! SLOs: `GET /api/v1/slos/{namespace}/{name}?at=`, and the SLO and error-budget cards, details and burn-down
//! charts of the service page. Both read [`SloView`]; the page's view structs only turn it into text and geometry.

use actix_web::{HttpRequest, HttpResponse, get, web};
use catalog::descriptor::Problem;
use chrono::{DateTime, Duration, Utc};
use scorecard::sli::SliError;
use scorecard::sli::overview::{self, SloView, WindowType};
use scorecard::slo::{BurnDownPoint, PolicyState, Severity, Status};
use store::DbConnection;

use super::blocking;
use crate::AppState;
use crate::errors::AppError;

/// A failure to read SLOs is ours, never the caller's.
pub(crate) fn sli_error(error: SliError) -> AppError {
    AppError::internal(error)
}

/// The `at` query parameter: an RFC 3339 instant, now when absent.
pub(crate) fn parse_at(req: &HttpRequest) -> Result<DateTime<Utc>, AppError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).map_err(|e| AppError::bad_request("query", e.to_string()))?;
    match pairs.into_iter().find(|(key, _)| key == "at") {
        None => Ok(Utc::now()),
        Some((_, text)) => DateTime::parse_from_rfc3339(&text).map(|at| at.with_timezone(&Utc)).map_err(|e| {
            AppError::bad_request("at", format!("`{text}` is not an RFC 3339 instant like 2026-03-01T12:00:00Z ({e})"))
        }),
    }
}

/// `GET /api/v1/slos/{namespace}/{name}?at=RFC3339`: the SLO evaluated at `at` (default now).
#[get("/slos/{namespace}/{name}")]
pub async fn get_slo(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (namespace, name) = path.into_inner();
    let at = parse_at(&req).map_err(AppError::api)?;
    let view = blocking(move || {
        let mut conn = state.store.conn()?;
        overview::slo_view(&mut conn, &namespace, &name, at)
            .map_err(sli_error)?
            .ok_or_else(|| AppError::not_found(format!("no SLO {namespace}/{name}")))
    })
    .await
    .map_err(AppError::api)?;
    Ok(HttpResponse::Ok().json(view))
}

/// The SLO cards of the Component `namespace`/`service` at `at`.
pub(crate) fn cards(
    conn: &mut DbConnection,
    namespace: &str,
    service: &str,
    at: DateTime<Utc>,
) -> Result<Vec<SloCard>, AppError> {
    let views = overview::slos_of_service(conn, namespace, service, at).map_err(sli_error)?;
    Ok(views.into_iter().enumerate().map(|(index, view)| SloCard::new(view, index)).collect())
}

/// One SLO on the service page, as text and geometry: the template only places it.
pub struct SloCard {
    /// The element id of its details, for links from the cards.
    pub anchor: String,
    pub json_href: String,
    pub title: String,
    pub name: String,
    pub description: String,
    pub defined_at: String,
    /// `healthy`, `at_risk`, `exhausted`, `no_data` or `stale` (also a CSS class).
    pub status: &'static str,
    pub status_text: &'static str,
    /// E.g. `99.9 % over a rolling 30d`.
    pub objective: String,
    pub method: String,
    /// The SLI as a percentage, `None` without data.
    pub sli: Option<String>,
    /// E.g. `5,940 good of 6,000 events`.
    pub events: String,
    /// The remaining budget as a percentage (negative when overspent), `None` without data.
    pub remaining: Option<String>,
    pub bar: Option<BudgetBar>,
    pub overspent: bool,
    pub freeze: bool,
    pub time_to_exhaustion: Option<String>,
    pub burn_rates: Vec<BurnRateView>,
    pub alerts: Vec<AlertView>,
    pub firing: usize,
    /// Where the data comes from, in words.
    pub source: &'static str,
    pub data_until: Option<String>,
    /// Why and since when the source fails, when it does.
    pub stale: Option<StaleView>,
    /// What the window is, in words, for "no data in …".
    pub window_text: String,
    pub problems: Vec<Problem>,
    pub chart: Option<BurnDownChart>,
}

/// The remaining budget as a bar: `width` of 100, empty when spent.
pub struct BudgetBar {
    pub width: String,
    pub label: String,
}

pub struct BurnRateView {
    pub window: &'static str,
    /// `—` for a window without events.
    pub value: String,
    /// Spending faster than the budget allows (above 1).
    pub hot: bool,
}

pub struct AlertView {
    pub severity: &'static str,
    pub windows: String,
    pub threshold: String,
    pub burns: String,
    pub firing: bool,
}

pub struct StaleView {
    pub since: String,
    pub reason: String,
}

/// The burn-rate windows, in order.
const BURN_WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

impl SloCard {
    fn new(view: SloView, index: usize) -> SloCard {
        let evaluation = &view.evaluation;
        let remaining = evaluation.error_budget.remaining;
        let window_text = match view.window_type {
            WindowType::Rolling => format!("the last {}", view.window),
            WindowType::Calendar => format!("the calendar period since {}", when(view.period.start)),
        };
        let objective = match view.window_type {
            WindowType::Rolling => format!("{} over a rolling {}", percent_trimmed(view.target), view.window),
            WindowType::Calendar => format!("{} per calendar {}", percent_trimmed(view.target), calendar(&view.window)),
        };
        let method = match (view.budgeting_method, &view.slice, view.slice_target) {
            ("timeslices", Some(slice), Some(target)) => {
                format!("counted by {slice} slices, each good at {} or better", percent_trimmed(target))
            }
            ("ratio_timeslices", Some(slice), _) => format!("the mean good ratio of {slice} slices"),
            _ => "counted by events".to_owned(),
        };
        let time_to_exhaustion = remaining.map(|_| match evaluation.time_to_exhaustion {
            Some(left) if left <= Duration::zero() => "none: the budget is already spent".to_owned(),
            Some(left) => format!("about {} at the last hour's burn rate", span(left)),
            None => "not being spent (no bad events in the last hour)".to_owned(),
        });
        let burn_rates = BURN_WINDOWS
            .iter()
            .map(|&window| {
                let burn = evaluation.burn_rates.get(window).copied().flatten();
                BurnRateView {
                    window,
                    value: burn.map_or_else(|| "—".to_owned(), |burn| format!("{burn:.2}")),
                    hot: burn.is_some_and(|burn| burn > 1.0),
                }
            })
            .collect();
        let alerts: Vec<AlertView> = evaluation
            .alerts
            .iter()
            .map(|alert| AlertView {
                severity: match alert.severity {
                    Severity::Page => "page",
                    Severity::Ticket => "ticket",
                },
                windows: format!("{} and {}", alert.long_window, alert.short_window),
                threshold: trimmed(alert.threshold, 2),
                burns: format!("{} / {}", burn_text(alert.long_burn), burn_text(alert.short_burn)),
                firing: alert.firing,
            })
            .collect();
        let chart = BurnDownChart::new(&view, index);
        SloCard {
            anchor: format!("slo-{}", view.name),
            json_href: format!("/api/v1/slos/{}/{}", view.namespace, view.name),
            title: if view.display_name.is_empty() { view.name.clone() } else { view.display_name.clone() },
            description: view.description.clone(),
            defined_at: view.defined_at.clone(),
            status: status_code(evaluation.status),
            status_text: status_text(evaluation.status),
            objective,
            method,
            sli: evaluation.sli.ratio.map(percent_floor),
            events: format!("{} good of {} events", grouped(evaluation.sli.good), grouped(evaluation.sli.total)),
            remaining: remaining.map(|remaining| percent(remaining, 1)),
            bar: remaining.map(|remaining| BudgetBar {
                width: format!("{:.1}", remaining.clamp(0.0, 1.0) * 100.0),
                label: format!("{} of the error budget left", percent(remaining, 1)),
            }),
            overspent: remaining.is_some_and(|remaining| remaining <= 0.0),
            freeze: evaluation.policy == PolicyState::Freeze,
            time_to_exhaustion,
            burn_rates,
            firing: alerts.iter().filter(|alert| alert.firing).count(),
            alerts,
            source: match view.source.as_str() {
                "push" => "pushed to the events API",
                "prometheus" => "polled from Prometheus",
                _ => "a source Portolan does not read (only Push and Prometheus are)",
            },
            data_until: view.data_until.map(when),
            stale: view.stale_since.map(|since| StaleView {
                since: when(since),
                reason: view.stale_reason.clone().unwrap_or_else(|| "no reason recorded".to_owned()),
            }),
            window_text,
            problems: view.problems.clone(),
            name: view.name.clone(),
            chart,
        }
    }
}

/// A tick on an axis of the chart, with its grid line.
pub struct Tick {
    /// Where its grid line is: a y for the vertical axis, an x for the horizontal one.
    pub pos: String,
    pub label_x: String,
    pub label_y: String,
    pub label: String,
    /// `start`, `middle` or `end`.
    pub anchor: &'static str,
}

/// The burn-down of one SLO, laid out for `templates/partials/burn_down.html`.
pub struct BurnDownChart {
    /// Prefix of the ids of its `<title>` and `<desc>`.
    pub id: String,
    pub title: String,
    pub desc: String,
    pub width: u32,
    pub height: u32,
    pub left: String,
    pub right: String,
    pub top: String,
    pub bottom: String,
    /// The 0 % line.
    pub zero_y: String,
    /// The remaining budget, as SVG polyline points.
    pub line: String,
    /// Where spending the budget evenly over the window would be.
    pub even_line: String,
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    pub end_x: String,
    pub end_y: String,
    pub end_label: String,
    pub overspent: bool,
    /// The y axis label's position and rotation.
    pub y_label_transform: String,
    pub x_label_x: String,
    pub x_label_y: String,
}

const CHART_WIDTH: u32 = 560;
const CHART_HEIGHT: u32 = 220;
const MARGIN_LEFT: f64 = 64.0;
const MARGIN_RIGHT: f64 = 20.0;
const MARGIN_TOP: f64 = 12.0;
const MARGIN_BOTTOM: f64 = 44.0;

impl BurnDownChart {
    /// `None` without points (no data): the page says so instead of drawing a full budget.
    fn new(view: &SloView, index: usize) -> Option<BurnDownChart> {
        let points: &[BurnDownPoint] = &view.burn_down;
        let (first, last) = (points.first()?, points.last()?);
        let (left, right) = (MARGIN_LEFT, f64::from(CHART_WIDTH) - MARGIN_RIGHT);
        let (top, bottom) = (MARGIN_TOP, f64::from(CHART_HEIGHT) - MARGIN_BOTTOM);
        let lowest = points.iter().map(|point| point.remaining).fold(0.0_f64, f64::min);
        // The axis runs from 100 % down to 0 %, or to the next quarter below the lowest point when overspent.
        let floor = if lowest < 0.0 { (lowest * 4.0).floor() / 4.0 } else { 0.0 };
        let y = |remaining: f64| top + (1.0 - remaining) / (1.0 - floor) * (bottom - top);
        let (start, end) = (first.at, last.at);
        let span_ms = (end - start).num_milliseconds().max(1) as f64;
        let x = |at: DateTime<Utc>| left + (at - start).num_milliseconds() as f64 / span_ms * (right - left);
        let line = points
            .iter()
            .map(|point| format!("{:.1},{:.1}", x(point.at), y(point.remaining)))
            .collect::<Vec<_>>()
            .join(" ");
        // Spending evenly, the budget of the whole period runs out at its end; `at` may be before it.
        let period_ms = (view.period.end - start).num_milliseconds().max(1) as f64;
        let even_at_end = 1.0 - (end - start).num_milliseconds() as f64 / period_ms;
        let even_line = format!("{:.1},{:.1} {:.1},{:.1}", x(start), y(1.0), x(end), y(even_at_end));
        let mut levels = vec![1.0, 0.5, 0.0];
        if floor < 0.0 {
            levels.push(floor);
        }
        let y_ticks = levels
            .into_iter()
            .map(|level| Tick {
                pos: fixed(y(level)),
                label_x: fixed(left - 6.0),
                label_y: fixed(y(level) + 4.0),
                label: percent(level, 0),
                anchor: "end",
            })
            .collect();
        let middle = start + (end - start) / 2;
        let x_ticks = [(start, "start"), (middle, "middle"), (end, "end")]
            .into_iter()
            .map(|(at, anchor)| Tick {
                pos: fixed(x(at)),
                label_x: fixed(x(at)),
                label_y: fixed(bottom + 16.0),
                label: at.format("%-d %b %H:%M").to_string(),
                anchor,
            })
            .collect();
        let end_remaining = percent(last.remaining, 1);
        Some(BurnDownChart {
            id: format!("burn-down-{index}"),
            title: format!("Error budget burn-down of {}", view.name),
            desc: format!(
                "The error budget left from the start of the window, {}, when all of it is left, to {}, when {} is \
                 left. The dashed line spends the budget evenly over the window.",
                when(start),
                when(end),
                end_remaining
            ),
            width: CHART_WIDTH,
            height: CHART_HEIGHT,
            left: fixed(left),
            right: fixed(right),
            top: fixed(top),
            bottom: fixed(bottom),
            zero_y: fixed(y(0.0)),
            line,
            even_line,
            y_ticks,
            x_ticks,
            end_x: fixed(x(end)),
            end_y: fixed(y(last.remaining)),
            end_label: format!("{end_remaining} left at {}", when(end)),
            overspent: last.remaining <= 0.0,
            y_label_transform: format!("translate(14 {:.1}) rotate(-90)", (top + bottom) / 2.0),
            x_label_x: fixed((left + right) / 2.0),
            x_label_y: fixed(f64::from(CHART_HEIGHT) - 6.0),
        })
    }
}

fn fixed(value: f64) -> String {
    format!("{value:.1}")
}

fn status_code(status: Status) -> &'static str {
    scorecard::sli::status_name(status)
}

fn status_text(status: Status) -> &'static str {
    match status {
        Status::Healthy => "Healthy",
        Status::AtRisk => "At risk",
        Status::Exhausted => "Budget exhausted",
        Status::NoData => "No data",
        Status::Stale => "Stale",
    }
}

fn calendar(window: &str) -> &str {
    match window {
        "1d" => "day",
        "1w" => "week",
        "1M" => "month",
        "1Q" => "quarter",
        "1Y" => "year",
        other => other,
    }
}

/// An instant as the page writes it.
fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A fraction as a percentage with `decimals` decimals: `-0.123` → `-12.3 %`.
fn percent(fraction: f64, decimals: usize) -> String {
    let value = fraction * 100.0;
    // Never write `-0.0 %`.
    let value = if format!("{value:.decimals$}").trim_start_matches('-').trim_matches(['0', '.']).is_empty() {
        0.0
    } else {
        value
    };
    format!("{value:.decimals$} %")
}

/// A target as a percentage without trailing zeros: `0.999` → `99.9 %`.
fn percent_trimmed(fraction: f64) -> String {
    format!("{} %", trimmed(fraction * 100.0, 4))
}

/// An SLI as a percentage, rounded down to three decimals so that a hair below 100 % never reads 100 %.
fn percent_floor(fraction: f64) -> String {
    format!("{} %", trimmed((fraction * 100_000.0).floor() / 1000.0, 3))
}

fn trimmed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text }
}

fn burn_text(burn: Option<f64>) -> String {
    burn.map_or_else(|| "—".to_owned(), |burn| format!("{burn:.2}"))
}

/// A count with thousands separators: `12345` → `12,345`.
fn grouped(count: u64) -> String {
    let digits = count.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A duration in its two largest units: `2 d 3 h`, `5 h 20 min`, `12 min`.
fn span(duration: Duration) -> String {
    let minutes = duration.num_minutes();
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (366.., _) => "more than a year".to_owned(),
        (1.., 0) => format!("{days} d"),
        (1.., _) => format!("{days} d {hours} h"),
        (0, 1..) => format!("{hours} h {minutes} min"),
        _ => format!("{} min", minutes.max(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(percent(-0.1234, 1), "-12.3 %");
        assert_eq!(percent(-0.0000001, 1), "0.0 %");
        assert_eq!(percent(0.375, 1), "37.5 %");
        assert_eq!(percent_trimmed(0.999), "99.9 %");
        assert_eq!(percent_trimmed(0.99), "99 %");
        assert_eq!(percent_trimmed(0.9995), "99.95 %");
        assert_eq!(percent_floor(0.999_999_9), "99.999 %");
        assert_eq!(percent_floor(1.0), "100 %");
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(span(Duration::minutes(3 * 1440 + 125)), "3 d 2 h");
        assert_eq!(span(Duration::minutes(2 * 1440)), "2 d");
        assert_eq!(span(Duration::minutes(125)), "2 h 5 min");
        assert_eq!(span(Duration::seconds(20)), "1 min");
        assert_eq!(span(Duration::MAX), "more than a year");
    }
}
