//! The maturity jobs: read the scorecard definitions from the ingested files, evaluate every scorecard over every
//! entity of the catalog and store the results (the store records each level change), and roll the stored results
//! up into a day's snapshot.
//!
//! [`evaluate_and_store`] runs after every catalog refresh that changed something and on a schedule (SLO budgets
//! move without the catalog changing); [`snapshot`] runs once a day and on demand. Both are safe to run again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::time::{Duration, Instant};

use catalog::ingest::FileProblem;
use chrono::{DateTime, NaiveDateTime, NaiveTime, Timelike, Utc};
use store::maturity::{self, NO_LEVEL, ResultRow, ScorecardRow, SnapshotRow};
use store::{DbConnection, Store, StoreError, sources};

use super::definition::{FORMAT, scorecards_from_documents};
use super::evaluate::evaluate;
use super::facts::{self, in_parallel};
use super::model::{EntityFacts, EntityResult, Outcome, Scorecard};

/// The owner a snapshot row names for entities without an owner.
pub const UNOWNED: &str = "";

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Query(#[from] store::QueryError),
    #[error("scorecard `{name}` cannot be stored as JSON: {reason}")]
    Json { name: String, reason: String },
}

/// A scorecard to evaluate, with the file it is defined in.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub scorecard: Scorecard,
    pub path: String,
    /// Whether its file now has errors and this is its last good definition, as stored.
    pub kept: bool,
}

/// The scorecards defined in the ingested files, and the problems of those files.
#[derive(Debug, Clone, Default)]
pub struct Definitions {
    /// By name.
    pub scorecards: Vec<Definition>,
    pub problems: Vec<FileProblem>,
}

/// Reads the scorecards of every file ingestion kept under [`FORMAT`]. A scorecard no longer read from a file that
/// now has errors keeps its last good definition (as stored by the last evaluation), the way an SLO does.
pub fn read_definitions(conn: &mut DbConnection) -> Result<Definitions, JobError> {
    let files: Vec<(String, String)> =
        sources::documents(conn, FORMAT)?.into_iter().map(|(path, _, body)| (path, body)).collect();
    let (read, problems) = scorecards_from_documents(&files);
    let kept_files: HashSet<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
    let broken: HashSet<&str> = problems
        .iter()
        .filter(|p| p.problem.is_error())
        .map(|p| p.path.as_str())
        .filter(|path| kept_files.contains(path))
        .collect();
    let mut names: HashSet<String> = HashSet::new();
    let mut scorecards = Vec::with_capacity(read.len());
    for (scorecard, path) in read {
        if names.insert(scorecard.name.clone()) {
            scorecards.push(Definition { scorecard, path, kept: false });
        }
    }
    for row in maturity::all_scorecards(conn)? {
        if broken.contains(row.path.as_str())
            && !names.contains(&row.name)
            && let Ok(scorecard) = serde_json::from_str::<Scorecard>(&row.definition)
        {
            names.insert(row.name.clone());
            scorecards.push(Definition { scorecard, path: row.path, kept: true });
        }
    }
    scorecards.sort_by(|a, b| a.scorecard.name.cmp(&b.scorecard.name));
    Ok(Definitions { scorecards, problems })
}

/// The stored form of a definition; `stored` is what was stored under its name, whose `updated_at` is kept when
/// nothing changed.
pub fn definition_row(
    definition: &Definition,
    stored: Option<&ScorecardRow>,
    at: NaiveDateTime,
) -> Result<ScorecardRow, JobError> {
    let card = &definition.scorecard;
    let json =
        serde_json::to_string(card).map_err(|e| JobError::Json { name: card.name.clone(), reason: e.to_string() })?;
    let mut row = ScorecardRow {
        name: card.name.clone(),
        title: card.title.clone().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| card.name.clone()),
        description: card.description.clone().unwrap_or_default(),
        definition: json,
        path: definition.path.clone(),
        updated_at: at,
    };
    let unchanged = |stored: &ScorecardRow| (ScorecardRow { updated_at: stored.updated_at, ..row.clone() }) == *stored;
    if let Some(stored) = stored.filter(|stored| unchanged(stored)) {
        row.updated_at = stored.updated_at;
    }
    Ok(row)
}

/// One entity's stored result.
pub fn result_row(card: &Scorecard, facts: &EntityFacts, result: &EntityResult, at: NaiveDateTime) -> ResultRow {
    ResultRow {
        scorecard: card.name.clone(),
        entity_ref: facts.entity_ref.clone(),
        owner_ref: facts.owner_ref.clone(),
        level: result.level.and_then(|level| i32::try_from(level).ok()).unwrap_or(NO_LEVEL),
        rules: serde_json::to_string(&result.rules).unwrap_or_else(|_| "[]".to_owned()),
        failing: i32::try_from(result.rules.iter().filter(|rule| rule.outcome != Outcome::Pass).count())
            .unwrap_or(i32::MAX),
        budget_remaining: lowest_budget(facts),
        evaluated_at: at,
    }
}

/// The lowest error budget left among the entity's SLOs that have data.
pub fn lowest_budget(facts: &EntityFacts) -> Option<f64> {
    facts
        .slos
        .iter()
        .flatten()
        .filter_map(|slo| slo.budget_remaining)
        .filter(|budget| budget.is_finite())
        .reduce(f64::min)
}

/// The stored results of one scorecard over every entity it applies to, in the order of `facts`.
pub fn evaluate_rows(card: &Scorecard, facts: &[EntityFacts], at: NaiveDateTime) -> Vec<ResultRow> {
    in_parallel(facts, |facts| evaluate(card, facts).map(|result| result_row(card, facts, &result, at)))
        .into_iter()
        .flatten()
        .collect()
}

/// How long each phase of [`evaluate_and_store`] took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Phases {
    /// Reading the definitions and storing them.
    pub definitions: Duration,
    /// Evaluating every SLO from its SLI data.
    pub slos: Duration,
    /// Reading the catalog and joining it into facts.
    pub facts: Duration,
    /// Evaluating every scorecard over every entity (pure).
    pub evaluation: Duration,
    /// Writing the results (one transaction per scorecard).
    pub storing: Duration,
    pub total: Duration,
}

/// What [`evaluate_and_store`] did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Scorecards evaluated (those kept from before their file broke included).
    pub scorecards: usize,
    /// Of them, kept from before their file broke.
    pub kept: usize,
    /// Entities in the catalog (0 when no scorecard is defined: the catalog is then not read).
    pub entities: usize,
    /// SLOs evaluated.
    pub slos: usize,
    /// Results stored: one per scorecard and entity it applies to.
    pub results: usize,
    /// Entities whose level changed (or that were evaluated for the first time).
    pub level_changes: usize,
    /// The problems of the scorecard files, warnings included.
    pub problems: Vec<FileProblem>,
    /// Why the SLOs could not be evaluated, when they could not: the checks on SLOs are then unknown.
    pub slo_error: Option<String>,
    pub elapsed: Phases,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = |d: Duration| d.as_secs_f64();
        if self.scorecards == 0 {
            return write!(f, "Scorecards: none defined");
        }
        write!(f, "Scorecards: {} evaluated over {} entities", self.scorecards, self.entities)?;
        if self.kept > 0 {
            write!(f, " ({} kept from before their file broke)", self.kept)?;
        }
        write!(
            f,
            ": {} results, {} level changes, in {:.2}s (SLOs {:.2}s, facts {:.2}s, evaluation {:.2}s, storing {:.2}s)",
            self.results,
            self.level_changes,
            seconds(self.elapsed.total),
            seconds(self.elapsed.slos),
            seconds(self.elapsed.facts),
            seconds(self.elapsed.evaluation),
            seconds(self.elapsed.storing),
        )?;
        if let Some(error) = &self.slo_error {
            write!(f, "; SLO checks unknown: {error}")?;
        }
        Ok(())
    }
}

/// An instant as the store keeps it: naive UTC, whole milliseconds.
pub fn stored_instant(at: DateTime<Utc>) -> NaiveDateTime {
    let at = at.naive_utc();
    at.with_nanosecond(at.nanosecond() / 1_000_000 * 1_000_000).unwrap_or(at)
}

/// Reads the definitions, stores them, gathers the facts of every entity at `now`, evaluates every scorecard over
/// them and stores each scorecard's results in one transaction, rewriting only the results that changed
/// (`store::maturity::sync_results`, which records the level changes).
pub fn evaluate_and_store(store: &Store, now: DateTime<Utc>) -> Result<Report, JobError> {
    let started = Instant::now();
    let at = stored_instant(now);
    let mut report = Report::default();

    let phase = Instant::now();
    let mut conn = store.conn()?;
    let definitions = read_definitions(&mut conn)?;
    let stored: HashMap<String, ScorecardRow> =
        maturity::all_scorecards(&mut conn)?.into_iter().map(|row| (row.name.clone(), row)).collect();
    let rows = definitions
        .scorecards
        .iter()
        .map(|d| definition_row(d, stored.get(&d.scorecard.name), at))
        .collect::<Result<Vec<_>, _>>()?;
    store.transaction::<_, JobError>(|c| Ok(maturity::replace_scorecards(c, &rows)?))?;
    report.scorecards = definitions.scorecards.len();
    report.kept = definitions.scorecards.iter().filter(|d| d.kept).count();
    report.problems = definitions.problems;
    report.elapsed.definitions = phase.elapsed();
    if definitions.scorecards.is_empty() {
        // Nothing to evaluate: the SLOs and the catalog are not read.
        report.elapsed.total = started.elapsed();
        return Ok(report);
    }

    let phase = Instant::now();
    let slos = match facts::slo_facts(&mut conn, now) {
        Ok(slos) => Some(slos),
        Err(e) => {
            report.slo_error = Some(e.to_string());
            None
        }
    };
    report.slos = slos.iter().flat_map(|slos| slos.values()).map(Vec::len).sum();
    report.elapsed.slos = phase.elapsed();

    let phase = Instant::now();
    let facts = facts::catalog_facts(&mut conn, slos.as_ref())?;
    drop(conn);
    report.entities = facts.len();
    report.elapsed.facts = phase.elapsed();

    for definition in &definitions.scorecards {
        let card = &definition.scorecard;
        let phase = Instant::now();
        let results = evaluate_rows(card, &facts, at);
        report.elapsed.evaluation += phase.elapsed();
        let phase = Instant::now();
        report.results += results.len();
        report.level_changes +=
            store.transaction::<_, JobError>(|c| Ok(maturity::sync_results(c, &card.name, &results, at)?))?;
        report.elapsed.storing += phase.elapsed();
    }
    report.elapsed.total = started.elapsed();
    Ok(report)
}

/// The start of the day (UTC) an instant falls on: the key of a day's snapshot.
pub fn start_of_day(at: NaiveDateTime) -> NaiveDateTime {
    at.date().and_time(NaiveTime::MIN)
}

/// One day's snapshot rows of one scorecard from its results as `(owner_ref, level, budget_remaining)`: per owner
/// ([`UNOWNED`] for none) and level, how many entities and their budgets (sum, count and lowest of those with one).
pub fn snapshot_rows<'a>(
    scorecard: &str,
    day: NaiveDateTime,
    results: impl IntoIterator<Item = (Option<&'a str>, i32, Option<f64>)>,
) -> Vec<SnapshotRow> {
    let mut groups: BTreeMap<(&str, i32), SnapshotRow> = BTreeMap::new();
    for (owner, level, budget) in results {
        let owner = owner.unwrap_or(UNOWNED);
        let row = groups.entry((owner, level)).or_insert_with(|| SnapshotRow {
            scorecard: scorecard.to_owned(),
            taken_on: day,
            owner_ref: owner.to_owned(),
            level,
            entities: 0,
            budget_sum: 0.0,
            budget_count: 0,
            budget_min: None,
        });
        row.entities += 1;
        if let Some(budget) = budget.filter(|b| b.is_finite()) {
            row.budget_sum += budget;
            row.budget_count += 1;
            row.budget_min = Some(row.budget_min.map_or(budget, |min| min.min(budget)));
        }
    }
    groups.into_values().collect()
}

/// What [`snapshot`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotReport {
    /// The day snapshotted (its start, UTC).
    pub day: NaiveDateTime,
    pub scorecards: usize,
    /// Rows written: one per scorecard, owner and level.
    pub rows: usize,
}

/// Rolls the stored results of every scorecard (or of the `only` ones) up into the snapshot of the day `day` falls
/// on, replacing that day's snapshot: one transaction per scorecard.
pub fn snapshot(store: &Store, day: NaiveDateTime, only: Option<&[String]>) -> Result<SnapshotReport, JobError> {
    let day = start_of_day(day);
    let mut conn = store.conn()?;
    let names: Vec<String> = maturity::all_scorecards(&mut conn)?
        .into_iter()
        .map(|row| row.name)
        .filter(|name| only.is_none_or(|only| only.contains(name)))
        .collect();
    let mut report = SnapshotReport { day, ..SnapshotReport::default() };
    for name in &names {
        let levels = maturity::result_levels(&mut conn, name)?;
        let results = levels.iter().map(|r| (r.owner_ref.as_deref(), r.level, r.budget_remaining));
        let rows = snapshot_rows(name, day, results);
        store.transaction::<_, JobError>(|c| Ok(maturity::replace_snapshot(c, name, day, &rows)?))?;
        report.scorecards += 1;
        report.rows += rows.len();
    }
    Ok(report)
}

/// The scorecards without a snapshot on the day `day` falls on.
pub fn snapshots_missing(conn: &mut DbConnection, day: NaiveDateTime) -> Result<Vec<String>, JobError> {
    let day = start_of_day(day);
    let mut missing = Vec::new();
    for row in maturity::all_scorecards(conn)? {
        if maturity::snapshot_day_at_or_before(conn, &row.name, day)? != Some(day) {
            missing.push(row.name);
        }
    }
    Ok(missing)
}

#[cfg(test)]
mod tests;
