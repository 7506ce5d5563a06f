//! The trend chart of a scorecard: levels over time as stacked areas and the average budget left, laid out in Rust
//! for `templates/scorecards/trend.html`.

use super::*;

/// One band of the stacked trend.
pub struct TrendArea {
    pub class: String,
    pub label: String,
    pub points: String,
}

/// Levels over time as stacked areas, and the average budget left as a line on its own axis, laid out for
/// `templates/scorecards/trend.html`.
pub struct TrendChart {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub width: u32,
    pub height: u32,
    pub left: String,
    pub right: String,
    pub top: String,
    pub bottom: String,
    pub areas: Vec<TrendArea>,
    /// The average budget left, as polyline points; `None` when no day had a budget.
    pub budget_line: Option<String>,
    pub y_ticks: Vec<Tick>,
    pub budget_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    pub y_label_transform: String,
    pub budget_label_transform: String,
    pub caption: String,
}

const CHART_WIDTH: u32 = 640;
const CHART_HEIGHT: u32 = 240;
const MARGIN_LEFT: f64 = 52.0;
const MARGIN_RIGHT: f64 = 56.0;
const MARGIN_TOP: f64 = 12.0;
const MARGIN_BOTTOM: f64 = 40.0;

impl TrendChart {
    /// `None` without a snapshot.
    pub fn new(id: String, subject: &str, levels: &[String], points: &[TrendPoint]) -> Option<TrendChart> {
        let (first, last) = (points.first()?, points.last()?);
        let (left, right) = (MARGIN_LEFT, f64::from(CHART_WIDTH) - MARGIN_RIGHT);
        let (top, bottom) = (MARGIN_TOP, f64::from(CHART_HEIGHT) - MARGIN_BOTTOM);
        let span = (last.day - first.day).num_seconds().max(1) as f64;
        // One day alone is drawn across the whole width.
        let xs: Vec<f64> = if points.len() == 1 {
            vec![left, right]
        } else {
            points.iter().map(|p| left + (p.day - first.day).num_seconds() as f64 / span * (right - left)).collect()
        };
        let columns: Vec<&TrendPoint> = if points.len() == 1 { vec![first, first] } else { points.iter().collect() };
        let highest = columns.iter().map(|p| p.levels.total()).max().unwrap_or(0).max(1);
        let ceiling = nice_ceiling(highest);
        let y = |count: f64| bottom - count / ceiling as f64 * (bottom - top);
        // Bottom up: the highest level first, no level on top.
        let mut order: Vec<Option<usize>> = (0..levels.len()).rev().map(Some).collect();
        order.push(None);
        let mut base = vec![0_u64; columns.len()];
        let mut areas = Vec::new();
        for level in order {
            let upper: Vec<u64> = columns.iter().zip(&base).map(|(p, b)| b + p.levels.get(level)).collect();
            let mut coords: Vec<String> =
                xs.iter().zip(&upper).map(|(x, u)| format!("{x:.1},{:.1}", y(*u as f64))).collect();
            coords.extend(xs.iter().zip(&base).rev().map(|(x, b)| format!("{x:.1},{:.1}", y(*b as f64))));
            let label = level.and_then(|l| levels.get(l)).map_or_else(|| "No level".to_owned(), Clone::clone);
            areas.push(TrendArea { class: level_class(level), label, points: coords.join(" ") });
            base = upper;
        }
        let budgets: Vec<(f64, f64)> =
            xs.iter().zip(&columns).filter_map(|(x, p)| p.budget_average.map(|b| (*x, b))).collect();
        let lowest = budgets.iter().map(|(_, b)| *b).fold(0.0_f64, f64::min);
        let floor = if lowest < 0.0 { (lowest * 4.0).floor() / 4.0 } else { 0.0 };
        let budget_y = |fraction: f64| top + (1.0 - fraction) / (1.0 - floor) * (bottom - top);
        let budget_line = (!budgets.is_empty())
            .then(|| budgets.iter().map(|(x, b)| format!("{x:.1},{:.1}", budget_y(*b))).collect::<Vec<_>>().join(" "));
        let halves = if ceiling.is_multiple_of(2) { vec![0, ceiling / 2, ceiling] } else { vec![0, ceiling] };
        let y_ticks = halves
            .into_iter()
            .map(|count| Tick {
                pos: fixed(y(count as f64)),
                label_x: fixed(left - 6.0),
                label_y: fixed(y(count as f64) + 4.0),
                label: count.to_string(),
                anchor: "end",
            })
            .collect();
        let mut budget_levels = vec![1.0, 0.5, 0.0];
        if floor < 0.0 {
            budget_levels.push(floor);
        }
        let budget_ticks = if budget_line.is_some() {
            budget_levels
                .into_iter()
                .map(|fraction| Tick {
                    pos: fixed(budget_y(fraction)),
                    label_x: fixed(right + 6.0),
                    label_y: fixed(budget_y(fraction) + 4.0),
                    label: percent(fraction),
                    anchor: "start",
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut x_ticks = vec![(first.day, left, "start"), (last.day, right, "end")];
        if points.len() > 2 {
            let middle = &points[points.len() / 2];
            let x = xs.get(points.len() / 2).copied().unwrap_or(left);
            x_ticks.insert(1, (middle.day, x, "middle"));
        }
        let x_ticks = x_ticks
            .into_iter()
            .map(|(day, x, anchor)| Tick {
                pos: fixed(x),
                label_x: fixed(x),
                label_y: fixed(bottom + 16.0),
                label: day.format("%-d %b").to_string(),
                anchor,
            })
            .collect();
        let now_counts: Vec<String> = (0..levels.len())
            .rev()
            .map(|l| format!("{} {}", last.levels.get(Some(l)), levels.get(l).map_or("", String::as_str)))
            .chain(std::iter::once(format!("{} at no level", last.levels.none)))
            .collect();
        let budget = last.budget_average.map_or_else(|| "no budget data".to_owned(), budget_text);
        Some(TrendChart {
            title: format!("Levels of {subject} over time"),
            desc: format!(
                "Entities at each level per day from {} to {}, stacked, with the average error budget left. On {}: \
                 {}; average budget left {}.",
                day_text(first.day),
                day_text(last.day),
                day_text(last.day),
                now_counts.join(", "),
                budget
            ),
            id,
            width: CHART_WIDTH,
            height: CHART_HEIGHT,
            left: fixed(left),
            right: fixed(right),
            top: fixed(top),
            bottom: fixed(bottom),
            areas,
            budget_line,
            y_ticks,
            budget_ticks,
            x_ticks,
            y_label_transform: format!("translate(14 {:.1}) rotate(-90)", (top + bottom) / 2.0),
            budget_label_transform: format!(
                "translate({:.1} {:.1}) rotate(90)",
                f64::from(CHART_WIDTH) - 10.0,
                (top + bottom) / 2.0
            ),
            caption: format!(
                "{} daily snapshot{} from {} to {}; the line is the average error budget left ({budget} on the last \
                 day).",
                points.len(),
                if points.len() == 1 { "" } else { "s" },
                day_text(first.day),
                day_text(last.day)
            ),
        })
    }
}

/// 1, 2 or 5 times a power of ten, at least `n`.
fn nice_ceiling(n: u64) -> u64 {
    let mut step = 1_u64;
    loop {
        for factor in [1, 2, 5] {
            if step.saturating_mul(factor) >= n {
                return step.saturating_mul(factor);
            }
        }
        step = step.saturating_mul(10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(50_000), 50_000);
        assert_eq!(nice_ceiling(50_001), 100_000);
    }

    #[test]
    fn the_trend_stacks_levels_and_draws_the_budget() {
        let day =
            |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).and_then(|d| d.and_hms_opt(0, 0, 0)).expect("day");
        let point = |d: u32, counts: [u64; 2], none: u64, budget: Option<f64>| TrendPoint {
            day: day(d),
            levels: LevelCounts { levels: counts.to_vec(), none },
            budget_average: budget,
        };
        let levels = vec!["Bronze".to_owned(), "Gold".to_owned()];
        let points = [point(1, [2, 1], 1, Some(0.5)), point(2, [3, 1], 0, None), point(3, [1, 3], 1, Some(-0.3))];
        let chart = TrendChart::new("t".to_owned(), "x", &levels, &points).expect("a chart");
        assert_eq!(chart.areas.iter().map(|a| a.class.as_str()).collect::<Vec<_>>(), ["lvl-1", "lvl-0", "lvl-none"]);
        // Each band is a closed outline: upper edge left to right, lower edge back.
        assert!(chart.areas.iter().all(|a| a.points.split(' ').count() == 6));
        assert_eq!(chart.budget_line.as_deref().map(|l| l.split(' ').count()), Some(2), "days without budget skipped");
        assert_eq!(chart.budget_ticks.last().map(|t| t.label.as_str()), Some("-50 %"));
        assert_eq!(chart.y_ticks.iter().map(|t| t.label.as_str()).collect::<Vec<_>>(), ["0", "5"]);
        assert_eq!(chart.x_ticks.len(), 3);
        let one = TrendChart::new("t".to_owned(), "x", &levels, &points[..1]).expect("one day");
        assert!(one.areas.iter().all(|a| a.points.split(' ').count() == 4), "one day spans the width");
        assert!(TrendChart::new("t".to_owned(), "x", &levels, &[]).is_none());
    }
}
