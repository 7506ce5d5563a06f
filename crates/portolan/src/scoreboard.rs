//! The scorecards as managers see them, held per process: every stored definition with its results rolled up over
//! the team tree, the change since the snapshot of a week ago, and the trend of the daily snapshots.
//!
//! Built from the stored tables (`store::maturity`) and kept until the catalog generation, the scorecards version
//! (`store::stats::SCORECARDS`, moved by every write of definitions, results or snapshots) or the day changes, so a
//! page at 50,000 entities reads one small row of stats instead of every result. While one request rebuilds, the
//! others keep reading the previous boards; only the very first build makes them wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use catalog::entity::Kind;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use scorecard::maturity::Scorecard;
use scorecard::maturity::rollup::{self, Change, LevelCounts, ResultReader, Rollup, TeamTree, TrendPoint};
use store::maturity::{self, ScorecardRow};
use store::{DbConnection, StoreResult, entities, stats};

/// How far back the trends go.
pub const TREND_DAYS: i64 = 90;
/// The change is against the newest snapshot at least this many days old.
pub const CHANGE_DAYS: i64 = 7;

/// One scorecard, rolled up.
pub struct Board {
    /// The definition as stored (`definition` emptied: `scorecard` holds it).
    pub row: ScorecardRow,
    pub scorecard: Scorecard,
    pub rollup: Rollup,
    /// Against the newest snapshot at least [`CHANGE_DAYS`] old; `None` before there is one.
    pub change: Option<Change>,
    /// Every entity's trend over the last [`TREND_DAYS`].
    pub trend: Vec<TrendPoint>,
    /// Where the trends start.
    pub trend_since: NaiveDateTime,
    /// When the newest result was evaluated.
    pub evaluated_at: Option<NaiveDateTime>,
    /// The trends of the teams asked for so far, by tree position.
    team_trends: Mutex<HashMap<usize, Arc<Vec<TrendPoint>>>>,
}

impl Board {
    pub fn new(
        row: ScorecardRow,
        scorecard: Scorecard,
        rollup: Rollup,
        change: Option<Change>,
        trend: Vec<TrendPoint>,
        trend_since: NaiveDateTime,
        evaluated_at: Option<NaiveDateTime>,
    ) -> Board {
        Board { row, scorecard, rollup, change, trend, trend_since, evaluated_at, team_trends: Mutex::default() }
    }

    pub fn name(&self) -> &str {
        &self.row.name
    }

    /// The title, or the name when the definition has none.
    pub fn title(&self) -> &str {
        if self.row.title.trim().is_empty() { &self.row.name } else { &self.row.title }
    }

    /// A level's name, `None` for no level.
    pub fn level_name(&self, level: Option<usize>) -> Option<&str> {
        level.and_then(|l| self.scorecard.levels.get(l)).map(String::as_str)
    }

    /// The trend of one team's subtree, on the days of the scorecard's trend (a day without its entities counts
    /// none); read once per board and team.
    pub fn team_trend(
        &self,
        conn: &mut DbConnection,
        tree: &TeamTree,
        position: usize,
    ) -> StoreResult<Arc<Vec<TrendPoint>>> {
        if let Some(hit) = self.team_trends.lock().ok().and_then(|cache| cache.get(&position).cloned()) {
            return Ok(hit);
        }
        let owners = tree.subtree_refs(position);
        let totals = maturity::snapshot_totals_since(conn, self.name(), self.trend_since, Some(&owners))?;
        let levels = self.scorecard.levels.len();
        let mut found: HashMap<NaiveDateTime, TrendPoint> =
            rollup::trend(levels, &totals).into_iter().map(|p| (p.day, p)).collect();
        let points: Vec<TrendPoint> = self
            .trend
            .iter()
            .map(|day| {
                found.remove(&day.day).unwrap_or_else(|| TrendPoint {
                    day: day.day,
                    levels: LevelCounts::new(levels),
                    budget_average: None,
                })
            })
            .collect();
        let points = Arc::new(points);
        if let Ok(mut cache) = self.team_trends.lock() {
            cache.insert(position, points.clone());
        }
        Ok(points)
    }
}

/// Every scorecard, rolled up over one team tree.
pub struct Boards {
    generation: i64,
    version: Option<i64>,
    day: NaiveDate,
    pub tree: TeamTree,
    /// By name.
    pub boards: Vec<Board>,
    /// The names of stored definitions that could not be read (logged when built).
    pub unreadable: Vec<String>,
}

impl Boards {
    pub fn board(&self, name: &str) -> Option<&Board> {
        self.boards.iter().find(|b| b.row.name == name)
    }
}

#[derive(Default)]
pub struct Scoreboard {
    current: RwLock<Option<Arc<Boards>>>,
    rebuilding: Mutex<()>,
}

impl Scoreboard {
    /// The boards as of `now`, rebuilt first when the catalog, the stored scorecards or the day moved.
    pub fn get(&self, conn: &mut DbConnection, now: NaiveDateTime) -> StoreResult<Arc<Boards>> {
        let found = stats::get_many(conn, &[stats::GENERATION, stats::SCORECARDS])?;
        let (generation, version) = (found.first().copied().flatten().unwrap_or(0), found.get(1).copied().flatten());
        let day = now.date();
        let current = |b: &Boards| b.generation == generation && b.version == version && b.day == day;
        let existing = self.current.read().map(|guard| guard.clone()).unwrap_or_default();
        if let Some(boards) = &existing
            && current(boards)
        {
            return Ok(boards.clone());
        }
        let _rebuild = match (self.rebuilding.try_lock(), &existing) {
            (Ok(guard), _) => guard,
            (Err(_), Some(boards)) => return Ok(boards.clone()),
            (Err(_), None) => self.rebuilding.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        };
        if let Some(boards) = self.current.read().ok().and_then(|g| g.clone())
            && current(&boards)
        {
            return Ok(boards);
        }
        let boards = Arc::new(build(conn, generation, version, now)?);
        if let Ok(mut slot) = self.current.write() {
            *slot = Some(boards.clone());
        }
        Ok(boards)
    }
}

impl Scoreboard {
    /// Builds the boards ahead of the next page, e.g. right after an evaluation or a snapshot, so that the first
    /// page after it does not pay for reading every result. A failure is logged: the next page retries.
    pub fn warm(&self, store: &store::Store) {
        let built = store.conn().and_then(|mut conn| self.get(&mut conn, chrono::Utc::now().naive_utc()).map(|_| ()));
        if let Err(e) = built {
            tracing::warn!(error = %e, "the scorecard boards could not be built ahead");
        }
    }
}

/// Every Group with its `parentOf` relations, as a tree.
pub fn team_tree(conn: &mut DbConnection) -> StoreResult<TeamTree> {
    let groups = entities::names_of_kind(conn, Kind::Group.as_str())?;
    let refs: Vec<String> = groups.iter().map(|(r, _)| r.clone()).collect();
    let edges: Vec<(String, String)> = entities::relations_from_refs(conn, &refs, Some("parentOf"))?
        .into_iter()
        .map(|r| (r.source_ref, r.target_ref))
        .collect();
    Ok(TeamTree::new(&groups, &edges))
}

/// A stored definition read back; `None` (logged) when it cannot be.
pub fn read_definition(row: &ScorecardRow) -> Option<Scorecard> {
    match serde_json::from_str::<Scorecard>(&row.definition) {
        Ok(scorecard) => Some(scorecard),
        Err(e) => {
            tracing::warn!(scorecard = %row.name, error = %e, "a stored scorecard definition cannot be read");
            None
        }
    }
}

fn build(conn: &mut DbConnection, generation: i64, version: Option<i64>, now: NaiveDateTime) -> StoreResult<Boards> {
    let tree = team_tree(conn)?;
    let today = now.date().and_hms_opt(0, 0, 0).unwrap_or(now);
    let trend_since = today - Duration::days(TREND_DAYS);
    let mut boards = Vec::new();
    let mut unreadable = Vec::new();
    for mut row in maturity::all_scorecards(conn)? {
        let Some(scorecard) = read_definition(&row) else {
            unreadable.push(row.name);
            continue;
        };
        row.definition = String::new();
        let reader = ResultReader::new(&scorecard);
        let results = maturity::results_of(conn, &row.name)?;
        let evaluated_at = results.iter().map(|r| r.evaluated_at).max();
        let rollup = Rollup::compute(&scorecard, &tree, results.iter().map(|r| reader.read(r)));
        drop(results);
        let week_ago = maturity::snapshot_day_at_or_before(conn, &row.name, now - Duration::days(CHANGE_DAYS))?;
        let change = match week_ago {
            Some(day) => Some(Change::since(&rollup, &tree, day, &maturity::snapshot_on(conn, &row.name, day)?)),
            None => None,
        };
        let totals = maturity::snapshot_totals_since(conn, &row.name, trend_since, None)?;
        let trend = rollup::trend(scorecard.levels.len(), &totals);
        boards.push(Board::new(row, scorecard, rollup, change, trend, trend_since, evaluated_at));
    }
    Ok(Boards { generation, version, day: now.date(), tree, boards, unreadable })
}
