//! What managers see of a scorecard, computed from stored results: per team the entities at each level (the team's
//! own and its whole subtree, so a director sees everything below), the pass rate of every rule, the services whose
//! error budget is most at risk, the change since a snapshot of a week ago, and trends from the daily snapshots.
//!
//! Plain functions of their inputs: the team tree, the scorecard, its results and snapshot rows. Reading them from
//! the store is the caller's business.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use store::maturity::{NO_LEVEL, ResultRow, SnapshotRow, SnapshotTotal};

use super::model::{Outcome, Scorecard};

/// How many services the at-risk lists keep.
pub const AT_RISK_LIMIT: usize = 10;

/// A level as stored ([`NO_LEVEL`] or an index) as an index into `levels` levels; a stored level the definition no
/// longer has counts as no level.
pub fn level_index(stored: i32, levels: usize) -> Option<usize> {
    if stored == NO_LEVEL {
        return None;
    }
    usize::try_from(stored).ok().filter(|level| *level < levels)
}

/// One Group of the team tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Team {
    pub entity_ref: String,
    /// What a person reads.
    pub name: String,
    /// Its parent's position in the tree.
    pub parent: Option<usize>,
    /// 0 for a root.
    pub depth: usize,
    /// One past the last team of its subtree: the subtree is `position..end` in tree order.
    pub end: usize,
}

/// The Groups in tree order: each root, then its subtree depth-first, siblings by name. A subtree is a contiguous
/// range. A Group with several parents is placed under the first (by reference); cycles are cut.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamTree {
    teams: Vec<Team>,
    by_ref: HashMap<String, usize>,
}

impl TeamTree {
    /// From every Group as `(entity_ref, display name)` and the `parentOf` relations as `(parent, child)`; relations
    /// naming a Group not in `groups` are left out.
    pub fn new(groups: &[(String, String)], parent_of: &[(String, String)]) -> TeamTree {
        let names: HashMap<&str, &str> = groups.iter().map(|(r, n)| (r.as_str(), n.as_str())).collect();
        let sort_key = |r: &&str| (names.get(r).copied().unwrap_or_default().to_lowercase(), (*r).to_owned());
        let mut edges: Vec<(&str, &str)> = parent_of
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .filter(|(p, c)| p != c && names.contains_key(p) && names.contains_key(c))
            .collect();
        edges.sort_unstable();
        let mut parent: HashMap<&str, &str> = HashMap::new();
        for (p, c) in edges {
            parent.entry(c).or_insert(p);
        }
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        for (c, p) in &parent {
            children.entry(p).or_default().push(c);
        }
        for list in children.values_mut() {
            list.sort_by_cached_key(sort_key);
        }
        let mut all: Vec<&str> = names.keys().copied().collect();
        all.sort_by_cached_key(sort_key);
        // Roots first; then whatever a cycle kept unreachable, each as a root of its own.
        let starts: Vec<&str> =
            all.iter().copied().filter(|r| !parent.contains_key(r)).chain(all.iter().copied()).collect();
        let mut teams: Vec<Team> = Vec::with_capacity(all.len());
        let mut by_ref: HashMap<String, usize> = HashMap::with_capacity(all.len());
        for start in starts {
            if by_ref.contains_key(start) {
                continue;
            }
            let mut stack: Vec<(&str, Option<usize>, usize)> = vec![(start, None, 0)];
            while let Some((team, parent, depth)) = stack.pop() {
                if by_ref.contains_key(team) {
                    continue;
                }
                let position = teams.len();
                by_ref.insert(team.to_owned(), position);
                teams.push(Team {
                    entity_ref: team.to_owned(),
                    name: names.get(team).copied().unwrap_or_default().to_owned(),
                    parent,
                    depth,
                    end: position + 1,
                });
                if let Some(list) = children.get(team) {
                    stack.extend(list.iter().rev().map(|child| (*child, Some(position), depth + 1)));
                }
            }
        }
        // Children come after their parents: a backwards pass carries each subtree's end up.
        for i in (0..teams.len()).rev() {
            if let Some(p) = teams[i].parent {
                teams[p].end = teams[p].end.max(teams[i].end);
            }
        }
        TeamTree { teams, by_ref }
    }

    pub fn teams(&self) -> &[Team] {
        &self.teams
    }

    pub fn len(&self) -> usize {
        self.teams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.teams.is_empty()
    }

    pub fn position(&self, entity_ref: &str) -> Option<usize> {
        self.by_ref.get(entity_ref).copied()
    }

    pub fn get(&self, position: usize) -> Option<&Team> {
        self.teams.get(position)
    }

    /// The positions of a team and every team below it.
    pub fn subtree(&self, position: usize) -> Range<usize> {
        self.teams.get(position).map_or(0..0, |team| position..team.end)
    }

    /// The entity refs of a team and every team below it.
    pub fn subtree_refs(&self, position: usize) -> Vec<String> {
        self.teams[self.subtree(position)].iter().map(|t| t.entity_ref.clone()).collect()
    }
}

/// How many entities stand at each level, and how many at none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LevelCounts {
    /// By level index.
    pub levels: Vec<u64>,
    pub none: u64,
}

impl LevelCounts {
    pub fn new(levels: usize) -> LevelCounts {
        LevelCounts { levels: vec![0; levels], none: 0 }
    }

    /// A level this scorecard does not have counts as none.
    pub fn add(&mut self, level: Option<usize>, n: u64) {
        match level.and_then(|l| self.levels.get_mut(l)) {
            Some(slot) => *slot += n,
            None => self.none += n,
        }
    }

    pub fn add_all(&mut self, other: &LevelCounts) {
        for (level, n) in other.levels.iter().enumerate() {
            self.add(Some(level), *n);
        }
        self.none += other.none;
    }

    pub fn get(&self, level: Option<usize>) -> u64 {
        match level {
            Some(l) => self.levels.get(l).copied().unwrap_or(0),
            None => self.none,
        }
    }

    pub fn total(&self) -> u64 {
        self.levels.iter().sum::<u64>() + self.none
    }

    /// These counts less `before`'s, level by level.
    pub fn minus(&self, before: &LevelCounts) -> Delta {
        let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        Delta {
            levels: (0..self.levels.len()).map(|l| signed(self.get(Some(l))) - signed(before.get(Some(l)))).collect(),
            none: signed(self.none) - signed(before.none),
        }
    }
}

/// A change of [`LevelCounts`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Delta {
    pub levels: Vec<i64>,
    pub none: i64,
}

impl Delta {
    pub fn get(&self, level: Option<usize>) -> i64 {
        match level {
            Some(l) => self.levels.get(l).copied().unwrap_or(0),
            None => self.none,
        }
    }

    pub fn is_zero(&self) -> bool {
        self.none == 0 && self.levels.iter().all(|d| *d == 0)
    }
}

/// Error budgets added up, for an average.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct BudgetSum {
    pub sum: f64,
    pub count: u64,
    pub min: Option<f64>,
}

impl BudgetSum {
    pub fn add(&mut self, remaining: f64) {
        if remaining.is_nan() {
            return;
        }
        self.sum += remaining;
        self.count += 1;
        self.min = Some(self.min.map_or(remaining, |m| m.min(remaining)));
    }

    pub fn add_all(&mut self, other: &BudgetSum) {
        self.sum += other.sum;
        self.count += other.count;
        self.min = match (self.min, other.min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// The average fraction left; `None` when no entity has a budget.
    pub fn average(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// How many entities passed, failed, or could not be told, on one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCounts {
    pub pass: u64,
    pub fail: u64,
    pub unknown: u64,
}

impl OutcomeCounts {
    /// A rule with no stored result (the definition changed since) counts as unknown.
    pub fn add(&mut self, outcome: Option<Outcome>) {
        match outcome {
            Some(Outcome::Pass) => self.pass += 1,
            Some(Outcome::Fail) => self.fail += 1,
            Some(Outcome::Unknown) | None => self.unknown += 1,
        }
    }

    pub fn add_all(&mut self, other: &OutcomeCounts) {
        self.pass += other.pass;
        self.fail += other.fail;
        self.unknown += other.unknown;
    }

    pub fn total(&self) -> u64 {
        self.pass + self.fail + self.unknown
    }

    /// Passes over every entity the rule applied to (an unknown is not a pass); `None` with none.
    pub fn pass_rate(&self) -> Option<f64> {
        (self.total() > 0).then(|| self.pass as f64 / self.total() as f64)
    }
}

/// A service whose error budget is low.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtRisk {
    pub entity_ref: String,
    pub owner_ref: Option<String>,
    pub level: Option<usize>,
    pub budget_remaining: f64,
}

/// One entity's stored result, as the rollup reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub entity_ref: String,
    pub owner_ref: Option<String>,
    pub level: Option<usize>,
    pub budget_remaining: Option<f64>,
    /// Each rule's outcome in the scorecard's rule order; `None` when the result has none for it.
    pub outcomes: Vec<Option<Outcome>>,
}

/// Reads stored results of one scorecard into [`Scored`]s.
pub struct ResultReader {
    levels: usize,
    rules: HashMap<String, usize>,
}

/// What the rollup reads of a stored rule result: borrowed where it can be, the reason skipped.
#[derive(Deserialize)]
struct StoredOutcome<'a> {
    #[serde(borrow)]
    rule: std::borrow::Cow<'a, str>,
    outcome: Outcome,
}

impl ResultReader {
    pub fn new(scorecard: &Scorecard) -> ResultReader {
        let rules = scorecard.rules.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect();
        ResultReader { levels: scorecard.levels.len(), rules }
    }

    /// Rules whose results cannot be read count as unknown.
    pub fn read(&self, row: &ResultRow) -> Scored {
        let mut outcomes = vec![None; self.rules.len()];
        for stored in serde_json::from_str::<Vec<StoredOutcome>>(&row.rules).unwrap_or_default() {
            if let Some(slot) = self.rules.get(stored.rule.as_ref()).and_then(|i| outcomes.get_mut(*i)) {
                *slot = Some(stored.outcome);
            }
        }
        Scored {
            entity_ref: row.entity_ref.clone(),
            owner_ref: row.owner_ref.clone(),
            level: level_index(row.level, self.levels),
            budget_remaining: row.budget_remaining,
            outcomes,
        }
    }
}

/// Everything counted over a set of entities: one team's own, a subtree, or all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    pub levels: LevelCounts,
    pub budget: BudgetSum,
    /// Per rule, in the scorecard's order.
    pub rules: Vec<OutcomeCounts>,
    /// The lowest budgets first, at most [`AT_RISK_LIMIT`].
    pub at_risk: Vec<AtRisk>,
}

impl Section {
    fn new(levels: usize, rules: usize) -> Section {
        Section {
            levels: LevelCounts::new(levels),
            budget: BudgetSum::default(),
            rules: vec![OutcomeCounts::default(); rules],
            at_risk: Vec::new(),
        }
    }

    fn add(&mut self, scored: &Scored) {
        self.levels.add(scored.level, 1);
        for (counts, outcome) in self.rules.iter_mut().zip(&scored.outcomes) {
            counts.add(*outcome);
        }
        if let Some(remaining) = scored.budget_remaining.filter(|b| !b.is_nan()) {
            self.budget.add(remaining);
            self.offer(AtRisk {
                entity_ref: scored.entity_ref.clone(),
                owner_ref: scored.owner_ref.clone(),
                level: scored.level,
                budget_remaining: remaining,
            });
        }
    }

    /// Keeps `candidate` if it is among the lowest budgets (ties by entity ref).
    fn offer(&mut self, candidate: AtRisk) {
        let position = self.at_risk.partition_point(|kept| {
            let by_budget = kept.budget_remaining.total_cmp(&candidate.budget_remaining);
            by_budget.then_with(|| kept.entity_ref.cmp(&candidate.entity_ref)).is_lt()
        });
        if position < AT_RISK_LIMIT {
            self.at_risk.insert(position, candidate);
            self.at_risk.truncate(AT_RISK_LIMIT);
        }
    }

    fn merge(&mut self, other: &Section) {
        self.levels.add_all(&other.levels);
        self.budget.add_all(&other.budget);
        for (mine, theirs) in self.rules.iter_mut().zip(&other.rules) {
            mine.add_all(theirs);
        }
        for candidate in &other.at_risk {
            self.offer(candidate.clone());
        }
    }
}

/// One team's counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamRollup {
    /// The entities the team itself owns.
    pub own: Section,
    /// The entities the team and every team below it own.
    pub subtree: Section,
}

/// A rule with its counts, for a pass-rate table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleRate {
    pub id: String,
    pub title: String,
    pub level: usize,
    #[serde(flatten)]
    pub counts: OutcomeCounts,
    pub pass_rate: Option<f64>,
}

/// One scorecard rolled up over the team tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rollup {
    pub levels: Vec<String>,
    /// `(id, title, level)` of each rule, in the scorecard's order.
    pub rules: Vec<(String, String, usize)>,
    /// One per team, in tree order.
    pub teams: Vec<TeamRollup>,
    /// Entities whose owner is not a team of the tree (a User, a missing entity, or none).
    pub elsewhere: Section,
    /// Every entity.
    pub all: Section,
}

impl Rollup {
    pub fn compute(scorecard: &Scorecard, tree: &TeamTree, results: impl IntoIterator<Item = Scored>) -> Rollup {
        let (levels, rules) = (scorecard.levels.len(), scorecard.rules.len());
        let mut own: Vec<Section> = (0..tree.len()).map(|_| Section::new(levels, rules)).collect();
        let mut elsewhere = Section::new(levels, rules);
        let mut all = Section::new(levels, rules);
        for scored in results {
            all.add(&scored);
            match scored.owner_ref.as_deref().and_then(|o| tree.position(o)).and_then(|p| own.get_mut(p)) {
                Some(section) => section.add(&scored),
                None => elsewhere.add(&scored),
            }
        }
        let mut subtree = own.clone();
        for i in (1..subtree.len()).rev() {
            if let Some(p) = tree.get(i).and_then(|t| t.parent) {
                // A parent always comes before its children.
                let (before, from) = subtree.split_at_mut(i);
                before[p].merge(&from[0]);
            }
        }
        Rollup {
            levels: scorecard.levels.clone(),
            rules: scorecard.rules.iter().map(|r| (r.id.clone(), r.title.clone(), r.level)).collect(),
            teams: own.into_iter().zip(subtree).map(|(own, subtree)| TeamRollup { own, subtree }).collect(),
            elsewhere,
            all,
        }
    }

    /// The rules with the counts of `section`.
    pub fn rule_rates(&self, section: &Section) -> Vec<RuleRate> {
        self.rules
            .iter()
            .zip(&section.rules)
            .map(|((id, title, level), counts)| RuleRate {
                id: id.clone(),
                title: title.clone(),
                level: *level,
                counts: *counts,
                pass_rate: counts.pass_rate(),
            })
            .collect()
    }
}

/// Level counts of one snapshot day, per team subtree, elsewhere and overall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    /// Per team (its subtree), in tree order.
    pub teams: Vec<LevelCounts>,
    pub elsewhere: LevelCounts,
    pub all: LevelCounts,
}

impl DayCounts {
    /// Rolls up snapshot rows (of one day) over the tree.
    pub fn of<'a>(tree: &TeamTree, levels: usize, rows: impl IntoIterator<Item = &'a SnapshotRow>) -> DayCounts {
        let mut teams = vec![LevelCounts::new(levels); tree.len()];
        let mut elsewhere = LevelCounts::new(levels);
        let mut all = LevelCounts::new(levels);
        for row in rows {
            let (level, n) = (level_index(row.level, levels), u64::try_from(row.entities).unwrap_or(0));
            all.add(level, n);
            match tree.position(&row.owner_ref).and_then(|p| teams.get_mut(p)) {
                Some(counts) => counts.add(level, n),
                None => elsewhere.add(level, n),
            }
        }
        for i in (1..teams.len()).rev() {
            if let Some(p) = tree.get(i).and_then(|t| t.parent) {
                let (before, from) = teams.split_at_mut(i);
                before[p].add_all(&from[0]);
            }
        }
        DayCounts { teams, elsewhere, all }
    }
}

/// The change of the level counts since a snapshot day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The snapshot day compared with.
    pub since: NaiveDateTime,
    pub before: DayCounts,
    /// Per team (its subtree), in tree order: now less then.
    pub teams: Vec<Delta>,
    pub elsewhere: Delta,
    pub all: Delta,
}

impl Change {
    /// The current counts of `rollup` against the snapshot rows of the day `since` (rows of other days are left
    /// out, so all the snapshots loaded may be given).
    pub fn since(rollup: &Rollup, tree: &TeamTree, since: NaiveDateTime, rows: &[SnapshotRow]) -> Change {
        let before = DayCounts::of(tree, rollup.levels.len(), rows.iter().filter(|r| r.taken_on == since));
        let teams = rollup.teams.iter().zip(&before.teams).map(|(now, then)| now.subtree.levels.minus(then)).collect();
        Change {
            since,
            teams,
            elsewhere: rollup.elsewhere.levels.minus(&before.elsewhere),
            all: rollup.all.levels.minus(&before.all),
            before,
        }
    }
}

/// One day of a trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    pub day: NaiveDateTime,
    pub levels: LevelCounts,
    /// The average error budget left of the entities with one; `None` when none has.
    pub budget_average: Option<f64>,
}

/// Snapshot rows added up per day and level, over the rows whose owner is in `owners` (every row when `None`):
/// what `store::maturity::snapshot_totals_since` reads in SQL, for rows already in memory. Oldest first.
pub fn totals(rows: &[SnapshotRow], owners: Option<&HashSet<String>>) -> Vec<SnapshotTotal> {
    let mut sums: BTreeMap<(NaiveDateTime, i32), SnapshotTotal> = BTreeMap::new();
    for row in rows.iter().filter(|r| owners.is_none_or(|owners| owners.contains(&r.owner_ref))) {
        let total = sums.entry((row.taken_on, row.level)).or_insert_with(|| SnapshotTotal {
            taken_on: row.taken_on,
            level: row.level,
            entities: 0,
            budget_sum: 0.0,
            budget_count: 0,
        });
        total.entities += i64::from(row.entities);
        total.budget_sum += row.budget_sum;
        total.budget_count += i64::from(row.budget_count);
    }
    sums.into_values().collect()
}

/// Per snapshot day, oldest first: the entities at each level and their average budget left.
pub fn trend(levels: usize, totals: &[SnapshotTotal]) -> Vec<TrendPoint> {
    let mut days: BTreeMap<NaiveDateTime, (LevelCounts, BudgetSum)> = BTreeMap::new();
    for total in totals {
        let (counts, budget) =
            days.entry(total.taken_on).or_insert_with(|| (LevelCounts::new(levels), BudgetSum::default()));
        counts.add(level_index(total.level, levels), u64::try_from(total.entities).unwrap_or(0));
        budget.sum += total.budget_sum;
        budget.count += u64::try_from(total.budget_count).unwrap_or(0);
    }
    days.into_iter()
        .map(|(day, (levels, budget))| TrendPoint { day, levels, budget_average: budget.average() })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::maturity::model::{Check, Condition, Rule, Selector};

    fn group(name: &str) -> String {
        format!("group:default/{name}")
    }

    /// engineering > (platform, commerce > (checkout, catalog)), and design on its own.
    fn tree() -> TeamTree {
        let groups: Vec<(String, String)> = ["engineering", "platform", "commerce", "checkout", "catalog", "design"]
            .iter()
            .map(|n| (group(n), n.to_string()))
            .collect();
        let edges: Vec<(String, String)> = [
            ("engineering", "platform"),
            ("engineering", "commerce"),
            ("commerce", "checkout"),
            ("commerce", "catalog"),
        ]
        .iter()
        .map(|(p, c)| (group(p), group(c)))
        .collect();
        TeamTree::new(&groups, &edges)
    }

    fn scorecard() -> Scorecard {
        let rule = |id: &str, level: usize| Rule {
            id: id.to_owned(),
            title: format!("Rule {id}"),
            level,
            condition: Condition::Check(Check::HasDescription),
            pos: Default::default(),
        };
        Scorecard {
            name: "readiness".to_owned(),
            title: None,
            description: None,
            applies_to: Selector::default(),
            levels: vec!["Bronze".to_owned(), "Silver".to_owned(), "Gold".to_owned()],
            rules: vec![rule("owner", 0), rule("runbook", 1), rule("slo", 2)],
            pos: Default::default(),
        }
    }

    fn scored(entity: &str, owner: Option<&str>, level: Option<usize>, budget: Option<f64>) -> Scored {
        let outcomes = (0..3)
            .map(|rule| match level {
                Some(l) if rule <= l => Some(Outcome::Pass),
                _ if rule == 2 => Some(Outcome::Unknown),
                _ => Some(Outcome::Fail),
            })
            .collect();
        Scored {
            entity_ref: format!("component:default/{entity}"),
            owner_ref: owner.map(group),
            level,
            budget_remaining: budget,
            outcomes,
        }
    }

    fn day(d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, d).and_then(|d| d.and_hms_opt(0, 0, 0)).expect("day")
    }

    fn snapshot(d: u32, owner: &str, level: i32, entities: i32, budget: (f64, i32)) -> SnapshotRow {
        SnapshotRow {
            scorecard: "readiness".to_owned(),
            taken_on: day(d),
            owner_ref: owner.to_owned(),
            level,
            entities,
            budget_sum: budget.0,
            budget_count: budget.1,
            budget_min: None,
        }
    }

    #[test]
    fn the_tree_is_in_order_with_contiguous_subtrees() {
        let tree = tree();
        let order: Vec<(&str, usize)> = tree.teams().iter().map(|t| (t.name.as_str(), t.depth)).collect();
        assert_eq!(
            order,
            [("design", 0), ("engineering", 0), ("commerce", 1), ("catalog", 2), ("checkout", 2), ("platform", 1)]
        );
        let engineering = tree.position(&group("engineering")).expect("engineering");
        assert_eq!(tree.subtree(engineering), 1..6);
        let commerce = tree.position(&group("commerce")).expect("commerce");
        assert_eq!(tree.subtree_refs(commerce), [group("commerce"), group("catalog"), group("checkout")]);
        assert_eq!(tree.get(commerce).and_then(|t| t.parent), Some(engineering));
        assert_eq!(tree.subtree(99), 0..0);
    }

    #[test]
    fn cycles_are_cut_and_second_parents_ignored() {
        let groups: Vec<(String, String)> = ["a", "b", "c", "d"].iter().map(|n| (group(n), n.to_string())).collect();
        let edges: Vec<(String, String)> = [("a", "b"), ("b", "a"), ("c", "d"), ("a", "d"), ("d", "d")]
            .iter()
            .map(|(p, c)| (group(p), group(c)))
            .collect();
        let tree = TeamTree::new(&groups, &edges);
        assert_eq!(tree.len(), 4, "every group once");
        let names: Vec<(&str, usize)> = tree.teams().iter().map(|t| (t.name.as_str(), t.depth)).collect();
        // c is the only root; a and b form a cycle and start at the first by name; d is under a (first parent by ref).
        assert_eq!(names, [("c", 0), ("a", 0), ("b", 1), ("d", 1)]);
        let c = tree.position(&group("c")).expect("c");
        assert_eq!(tree.subtree(c), 0..1, "d went to its first parent, a");
    }

    #[test]
    fn counts_roll_up_the_subtree_and_keep_the_teams_own() {
        let tree = tree();
        let results = vec![
            scored("cart", Some("checkout"), Some(2), Some(0.9)),
            scored("pay", Some("checkout"), Some(0), Some(-0.2)),
            scored("search", Some("catalog"), None, Some(0.1)),
            scored("shop", Some("commerce"), Some(1), None),
            scored("ci", Some("platform"), Some(2), Some(0.5)),
            scored("site", Some("design"), Some(0), None),
            scored("lost", Some("nobody"), None, Some(0.05)),
            scored("orphan", None, Some(1), None),
        ];
        let rollup = Rollup::compute(&scorecard(), &tree, results);
        let at = |name: &str| &rollup.teams[tree.position(&group(name)).expect("team")];
        assert_eq!(at("checkout").subtree.levels, LevelCounts { levels: vec![1, 0, 1], none: 0 });
        assert_eq!(at("commerce").own.levels, LevelCounts { levels: vec![0, 1, 0], none: 0 });
        assert_eq!(at("commerce").subtree.levels, LevelCounts { levels: vec![1, 1, 1], none: 1 });
        assert_eq!(at("engineering").own.levels.total(), 0);
        assert_eq!(at("engineering").subtree.levels, LevelCounts { levels: vec![1, 1, 2], none: 1 });
        assert_eq!(at("design").subtree.levels.total(), 1);
        assert_eq!(rollup.elsewhere.levels, LevelCounts { levels: vec![0, 1, 0], none: 1 });
        assert_eq!(rollup.all.levels, LevelCounts { levels: vec![2, 2, 2], none: 2 });
        assert_eq!(rollup.all.levels.total(), 8);

        let budget = at("commerce").subtree.budget;
        assert_eq!(budget.count, 3);
        assert!((budget.average().expect("average") - (0.9 - 0.2 + 0.1) / 3.0).abs() < 1e-9);
        assert_eq!(budget.min, Some(-0.2));
        assert_eq!(at("design").subtree.budget.average(), None);
    }

    #[test]
    fn pass_rates_count_unknown_apart_and_not_as_passes() {
        let tree = tree();
        let mut missing = scored("new", Some("platform"), Some(0), None);
        missing.outcomes[1] = None;
        let results = vec![
            scored("a", Some("platform"), Some(2), None),
            scored("b", Some("platform"), Some(0), None),
            scored("c", Some("checkout"), None, None),
            missing,
        ];
        let rollup = Rollup::compute(&scorecard(), &tree, results);
        let rates = rollup.rule_rates(&rollup.all);
        let counts: Vec<(&str, u64, u64, u64)> =
            rates.iter().map(|r| (r.id.as_str(), r.counts.pass, r.counts.fail, r.counts.unknown)).collect();
        assert_eq!(counts, [("owner", 3, 1, 0), ("runbook", 1, 2, 1), ("slo", 1, 0, 3)]);
        assert_eq!(rates[0].pass_rate, Some(0.75));
        assert_eq!(rates[2].pass_rate, Some(0.25), "unknowns are in the denominator");
        let platform = &rollup.teams[tree.position(&group("platform")).expect("platform")];
        assert_eq!(rollup.rule_rates(&platform.subtree)[0].counts.total(), 3);
        assert_eq!(OutcomeCounts::default().pass_rate(), None);
    }

    #[test]
    fn at_risk_keeps_the_lowest_budgets_per_subtree() {
        let tree = tree();
        let mut results: Vec<Scored> = (0..15)
            .map(|i| scored(&format!("svc-{i:02}"), Some("checkout"), Some(0), Some(f64::from(i) / 10.0 - 0.5)))
            .collect();
        results.push(scored("ci", Some("platform"), Some(1), Some(-0.45)));
        results.push(scored("nan", Some("platform"), Some(1), Some(f64::NAN)));
        results.push(scored("none", Some("platform"), Some(1), None));
        let rollup = Rollup::compute(&scorecard(), &tree, results);
        let refs = |section: &Section| -> Vec<String> {
            section.at_risk.iter().map(|a| a.entity_ref.trim_start_matches("component:default/").to_owned()).collect()
        };
        let all = refs(&rollup.all);
        assert_eq!(all.len(), AT_RISK_LIMIT);
        assert_eq!(&all[..3], ["svc-00", "ci", "svc-01"]);
        let engineering = &rollup.teams[tree.position(&group("engineering")).expect("engineering")];
        assert_eq!(refs(&engineering.subtree), all, "the subtree holds every service here");
        let checkout = &rollup.teams[tree.position(&group("checkout")).expect("checkout")];
        assert_eq!(refs(&checkout.subtree)[1], "svc-01");
        let platform = &rollup.teams[tree.position(&group("platform")).expect("platform")];
        assert_eq!(refs(&platform.subtree), ["ci"], "no budget, no place");
        assert!(rollup.all.at_risk.windows(2).all(|w| w[0].budget_remaining <= w[1].budget_remaining));
    }

    #[test]
    fn change_since_a_snapshot_day_per_team_and_overall() {
        let tree = tree();
        let results = vec![
            scored("cart", Some("checkout"), Some(2), None),
            scored("pay", Some("checkout"), Some(1), None),
            scored("search", Some("catalog"), Some(0), None),
            scored("lost", Some("nobody"), None, None),
        ];
        let rollup = Rollup::compute(&scorecard(), &tree, results);
        let rows = vec![
            snapshot(10, &group("checkout"), 0, 2, (0.0, 0)),
            snapshot(10, &group("catalog"), NO_LEVEL, 1, (0.0, 0)),
            snapshot(10, &group("platform"), 2, 1, (0.0, 0)),
            // Another day: left out.
            snapshot(11, &group("checkout"), 2, 5, (0.0, 0)),
        ];
        let change = Change::since(&rollup, &tree, day(10), &rows);
        let at = |name: &str| &change.teams[tree.position(&group(name)).expect("team")];
        assert_eq!(at("checkout"), &Delta { levels: vec![-2, 1, 1], none: 0 });
        assert_eq!(at("commerce"), &Delta { levels: vec![-1, 1, 1], none: -1 });
        assert_eq!(at("platform"), &Delta { levels: vec![0, 0, -1], none: 0 });
        assert_eq!(at("engineering"), &Delta { levels: vec![-1, 1, 0], none: -1 });
        assert!(at("design").is_zero());
        assert_eq!(change.elsewhere, Delta { levels: vec![0, 0, 0], none: 1 });
        assert_eq!(change.all, Delta { levels: vec![-1, 1, 0], none: 0 });
        assert_eq!(change.before.all.total(), 4);
        assert_eq!(change.all.get(Some(1)), 1);
    }

    #[test]
    fn trends_per_day_overall_and_for_a_subtree() {
        let rows = vec![
            snapshot(2, &group("checkout"), 1, 3, (1.5, 3)),
            snapshot(1, &group("checkout"), 0, 2, (0.4, 2)),
            snapshot(1, &group("platform"), 2, 1, (0.0, 0)),
            snapshot(2, &group("platform"), NO_LEVEL, 1, (-0.5, 1)),
            snapshot(2, &group("platform"), 7, 1, (0.0, 0)),
        ];
        let all = trend(3, &totals(&rows, None));
        assert_eq!(all.iter().map(|p| p.day).collect::<Vec<_>>(), [day(1), day(2)]);
        assert_eq!(all[0].levels, LevelCounts { levels: vec![2, 0, 1], none: 0 });
        assert_eq!(all[1].levels, LevelCounts { levels: vec![0, 3, 0], none: 2 }, "a level gone counts as none");
        assert_eq!(all[0].budget_average, Some(0.2));
        assert_eq!(all[1].budget_average, Some(0.25));

        let owners: HashSet<String> = [group("platform")].into_iter().collect();
        let platform = trend(3, &totals(&rows, Some(&owners)));
        assert_eq!(platform.len(), 2);
        assert_eq!(platform[0].levels.total(), 1);
        assert_eq!(platform[0].budget_average, None);
        assert_eq!(platform[1].budget_average, Some(-0.5));
        let checkout: HashSet<String> = [group("checkout")].into_iter().collect();
        assert_eq!(trend(3, &totals(&rows, Some(&checkout))).len(), 2);
        let nobody: HashSet<String> = HashSet::new();
        assert!(trend(3, &totals(&rows, Some(&nobody))).is_empty(), "no rows, no days");
    }

    #[test]
    fn stored_results_read_by_rule_id() {
        let card = scorecard();
        let row = ResultRow {
            scorecard: "readiness".to_owned(),
            entity_ref: "component:default/cart".to_owned(),
            owner_ref: Some(group("checkout")),
            level: 1,
            rules: r#"[{"rule":"slo","level":2,"outcome":"unknown","reason":"no data"},
                       {"rule":"owner","level":0,"outcome":"pass","reason":"ok"},
                       {"rule":"gone","level":0,"outcome":"fail","reason":"old"}]"#
                .to_owned(),
            failing: 1,
            budget_remaining: Some(0.3),
            evaluated_at: day(1),
        };
        let reader = ResultReader::new(&card);
        let scored = reader.read(&row);
        assert_eq!(scored.level, Some(1));
        assert_eq!(scored.outcomes, [Some(Outcome::Pass), None, Some(Outcome::Unknown)]);
        let broken = reader.read(&ResultRow { rules: "not json".to_owned(), level: NO_LEVEL, ..row.clone() });
        assert_eq!(broken.outcomes, [None, None, None]);
        assert_eq!(broken.level, None);
        assert_eq!(reader.read(&ResultRow { level: 3, ..row }).level, None, "a level the scorecard lost");
        assert_eq!(level_index(-7, 3), None);
    }
}
