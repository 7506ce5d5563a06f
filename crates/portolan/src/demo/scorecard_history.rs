//! Eight weeks of scorecard history for the demo organisation, so that `serve --demo` shows trends, the change since
//! last week and level changes from the first page load.
//!
//! The history ends at each service's level today, as the evaluation finds it, and walks back from there with a
//! fixed seed: most teams improved over the weeks (a service climbed one or two levels at some point, and its
//! error budgets were lower before), while one team, [`REGRESSING_OWNER`], slid back in the last three weeks (its
//! services were higher before, with more budget). Only the levels and budgets are made up; the teams, services and
//! today's results are the catalog's.

use rand::{Rng, SeedableRng};
use rand_xoshiro::SplitMix64;

/// The seed of every demo scorecard history.
pub const SEED: u64 = 0x7363_6f72_6563_6172;

/// How many days of history are written before today.
pub const DAYS: i64 = 56;

/// The team whose levels went down lately: commerce lost a parcel carrier last week.
pub const REGRESSING_OWNER: &str = "group:default/commerce";

/// How far back the regressing team's changes lie, at most.
const REGRESSION_DAYS: i64 = 21;

/// One service's result today, where its history ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Today<'a> {
    pub entity_ref: &'a str,
    pub owner_ref: Option<&'a str>,
    /// A stored level: an index into the levels, or `store::maturity::NO_LEVEL` (-1).
    pub level: i32,
    pub budget: Option<f64>,
}

/// One level change: on the day `ago` days before today, the level moved by `delta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    ago: i64,
    delta: i32,
}

/// How one service got to where it is today.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    level: i32,
    budget: Option<f64>,
    steps: Vec<Step>,
    /// How much the budget moved over the whole history (positive: it grew towards today).
    budget_gain: f64,
    /// The phase of the budget's day-to-day wobble.
    phase: f64,
}

/// FNV-1a, to derive a seed from a scorecard and a service.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

impl Story {
    /// The story of one service of one scorecard with `levels` levels.
    pub fn of(scorecard: &str, levels: usize, today: &Today<'_>) -> Story {
        let top = i32::try_from(levels).unwrap_or(i32::MAX).saturating_sub(1);
        let mut rng = SplitMix64::seed_from_u64(SEED ^ fnv1a(scorecard) ^ fnv1a(today.entity_ref).rotate_left(29));
        let regressing = today.owner_ref == Some(REGRESSING_OWNER);
        let roll: f64 = rng.random();
        let (wanted, room, delta, within) = if regressing {
            // Down from above: it was higher before.
            (
                if roll < 0.3 {
                    0
                } else if roll < 0.8 {
                    1
                } else {
                    2
                },
                top - today.level,
                -1,
                REGRESSION_DAYS,
            )
        } else {
            // Up from below: it was lower before (no level at all is as low as it goes).
            (
                if roll < 0.4 {
                    0
                } else if roll < 0.85 {
                    1
                } else {
                    2
                },
                today.level + 1,
                1,
                DAYS,
            )
        };
        let mut steps: Vec<Step> = (0..wanted.min(room.max(0)))
            .map(|_| Step { ago: 1 + (rng.random::<f64>() * (within - 1) as f64) as i64, delta })
            .collect();
        steps.sort_by_key(|step| step.ago);
        let magnitude = 0.05 + rng.random::<f64>() * 0.25;
        Story {
            level: today.level,
            budget: today.budget,
            steps,
            budget_gain: if regressing { -magnitude } else { magnitude },
            phase: rng.random::<f64>() * std::f64::consts::TAU,
        }
    }

    /// The level and budget on the day `ago` days before today (0: today's).
    pub fn on(&self, ago: i64) -> (i32, Option<f64>) {
        // A change `step.ago` days ago applies from that day on: days further back had the level before it.
        let level = self.level - self.steps.iter().filter(|step| ago > step.ago).map(|step| step.delta).sum::<i32>();
        let budget = self.budget.map(|today| {
            if ago == 0 {
                return today;
            }
            let trend = self.budget_gain * ago as f64 / DAYS as f64;
            let wobble = 0.02 * (ago as f64 * 0.9 + self.phase).sin();
            (today - trend + wobble).clamp(-0.5, 1.0)
        });
        (level, budget)
    }

    /// How many times the level changed in the history.
    pub fn changes(&self) -> usize {
        self.steps.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today<'a>(entity_ref: &'a str, owner: &'a str, level: i32) -> Today<'a> {
        Today { entity_ref, owner_ref: Some(owner), level, budget: Some(0.6) }
    }

    #[test]
    fn stories_end_today_and_move_the_way_their_team_did() {
        let mut improved = 0;
        let mut regressed = 0;
        for i in 0..200 {
            let name = format!("component:default/s{i}");
            for (owner, level) in [("group:default/platform", 2), ("group:default/platform", -1), (REGRESSING_OWNER, 0)]
            {
                let story = Story::of("readiness", 3, &today(&name, owner, level));
                assert_eq!(story.on(0), (level, Some(0.6)), "today is today");
                let (first, budget) = story.on(DAYS);
                assert!((-1..=2).contains(&first), "{first}");
                assert!(budget.is_some_and(|b| (-0.5..=1.0).contains(&b)));
                if owner == REGRESSING_OWNER {
                    assert!(first >= level, "the regressing team was higher before");
                    assert_eq!(story.on(REGRESSION_DAYS).0, first, "its changes are recent");
                    assert!(budget.is_some_and(|b| b > 0.6 - 0.03), "and had more budget");
                    regressed += usize::from(first > level);
                } else {
                    assert!(first <= level, "the others were lower before");
                    improved += usize::from(first < level);
                }
                // Oldest first, the levels only ever move the team's way.
                let levels: Vec<i32> = (0..=DAYS).rev().map(|ago| story.on(ago).0).collect();
                let rising = owner != REGRESSING_OWNER;
                assert!(levels.windows(2).all(|w| if rising { w[0] <= w[1] } else { w[0] >= w[1] }), "{levels:?}");
                assert_eq!(story.changes(), usize::try_from((first - level).abs()).unwrap_or(usize::MAX));
            }
        }
        assert!(improved > 100 && regressed > 100, "{improved} improved, {regressed} regressed");
        let a = Story::of("slos", 3, &today("component:default/a", "group:default/data", 1));
        assert_eq!(a, Story::of("slos", 3, &today("component:default/a", "group:default/data", 1)), "deterministic");
        let none =
            Story::of("slos", 3, &Today { budget: None, ..today("component:default/a", "group:default/data", 1) });
        assert_eq!(none.on(10).1, None, "no budget stays no budget");
    }
}
