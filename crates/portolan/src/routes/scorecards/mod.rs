//! What managers see of maturity scorecards, read from the stored results only (through the process's
//! [`Scoreboard`](crate::scoreboard::Scoreboard)):
//!
//! - `/scorecards`: every scorecard as a matrix of teams × levels (subtree counts, the change since a week ago), the
//!   pass rate of every rule, the services whose error budget is most at risk, and a trend chart;
//! - `/scorecards/{name}?team=&page=`: one scorecard, all its teams page by page, or one team's subtree with its own
//!   trend; `/scorecards/{name}/matrix.csv` and `/scorecards/{name}/results.csv` export it;
//! - `GET /api/v1/scorecards`, `GET /api/v1/scorecards/{name}`, `GET /api/v1/teams/{name}/scorecards`;
//! - the scorecard parts of the team page, the service page and `GET /api/v1/services/{namespace}/{name}`.
//!
//! Handlers turn the rollups into text and geometry; the templates only place them.

mod chart;
mod service;

use std::collections::HashMap;

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, get, web};
use askama::Template;
use askama_web::WebTemplate;
use catalog::browse::{self, EntityFilter, Facet, SloStatus};
use catalog::entity::{DEFAULT_NAMESPACE, EntityRef, Kind};
use catalog::index::CatalogIndex;
use chrono::NaiveDateTime;
use scorecard::maturity::rollup::{Delta, LevelCounts, Rollup, Section, TeamTree, TrendPoint, level_index};
use scorecard::maturity::{Outcome, RuleResult, Scorecard};
use serde_json::{Value as Json, json};
use store::maturity::{self, ResultRow};
use store::{DbConnection, StoreError};

pub use self::chart::TrendChart;
pub use self::service::{MaturityCard, TeamScorecards};
pub(crate) use self::service::{maturity_cards, service_json, team_scorecards};
use super::blocking;
use super::slos::Tick;
use crate::AppState;
use crate::auth::Chrome;
use crate::errors::AppError;
use crate::scoreboard::{self, Board, Boards};

/// How many team rows `/scorecards` shows of each scorecard (the scorecard's own page has them all, page by page).
pub const PREVIEW_ROWS: usize = 15;
/// Team rows per page of `/scorecards/{name}`.
pub const PAGE_ROWS: usize = 100;
/// Services per scorecard in `GET /api/v1/teams/{name}/scorecards`, unless `limit` says otherwise.
pub const API_SERVICES: i64 = 100;
pub const API_SERVICES_MAX: i64 = 1000;

fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// The boards and the catalog index, as one request reads them.
fn boards(state: &AppState, conn: &mut DbConnection) -> Result<std::sync::Arc<Boards>, AppError> {
    Ok(state.scoreboard.get(conn, now())?)
}

/// The team `?team=` names: a Group's ref or name (`checkout-team`, `group:default/checkout-team`).
fn focus(tree: &TeamTree, team: Option<&str>) -> Result<Option<usize>, AppError> {
    let Some(text) = team.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let entity_ref = EntityRef::parse(text, Some(Kind::Group), DEFAULT_NAMESPACE)
        .map_err(|e| AppError::bad_request("team", e.to_string()))?;
    tree.position(&entity_ref.to_string())
        .map(Some)
        .ok_or_else(|| AppError::not_found(format!("no team (Group) {entity_ref} in the catalog")))
}

fn board<'a>(boards: &'a Boards, name: &str) -> Result<&'a Board, AppError> {
    boards.board(name).ok_or_else(|| AppError::not_found(format!("no scorecard named {name}")))
}

/// A query string value.
fn encode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)]).map(|s| s.trim_start_matches('=').to_owned()).unwrap_or_default()
}

fn team_page_href(entity_ref: &str) -> String {
    match EntityRef::parse(entity_ref, Some(Kind::Group), DEFAULT_NAMESPACE) {
        Ok(r) if r.namespace() == DEFAULT_NAMESPACE => format!("/teams/{}", r.name()),
        Ok(r) => format!("/teams/{}?namespace={}", r.name(), r.namespace()),
        Err(_) => "/catalog?kind=group".to_owned(),
    }
}

fn focus_href(scorecard: &str, team_ref: &str) -> String {
    format!("/scorecards/{scorecard}?team={}", encode(team_ref))
}

/// An entity's name and page, from the index; its ref and no page when it is not in the catalog.
fn entity_link(index: &CatalogIndex, entity_ref: &str) -> (String, Option<String>) {
    match index.get(entity_ref) {
        Some(e) => (e.display_name.clone(), Some(browse::entity_path(&e.namespace, &e.kind, &e.name))),
        None => (entity_ref.to_owned(), None),
    }
}

/// A fraction as a whole percentage: `0.756` → `76 %`.
fn percent(fraction: f64) -> String {
    format!("{:.0} %", fraction * 100.0)
}

/// A budget left as a percentage with one decimal, never `-0.0 %`.
fn budget_text(fraction: f64) -> String {
    let value = fraction * 100.0;
    let value = if (value * 10.0).round() == 0.0 { 0.0 } else { value };
    format!("{value:.1} %")
}

/// `+3`, `-2`, or nothing for no change.
fn delta_text(delta: i64) -> String {
    match delta {
        0 => String::new(),
        d if d > 0 => format!("+{d}"),
        d => d.to_string(),
    }
}

fn fixed(value: f64) -> String {
    format!("{value:.1}")
}

/// The CSS class of a level (`None`: no level).
pub fn level_class(level: Option<usize>) -> String {
    match level {
        Some(l) => format!("lvl-{}", l % 6),
        None => "lvl-none".to_owned(),
    }
}

fn outcome_code(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::Unknown => "unknown",
    }
}

fn outcome_text(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "Passed",
        Outcome::Fail => "Failed",
        Outcome::Unknown => "Unknown",
    }
}

fn day_text(day: NaiveDateTime) -> String {
    day.format("%Y-%m-%d").to_string()
}

// ---------------------------------------------------------------------------------------------------------------------
// The matrix, rules, budgets at risk, change and trend of one scorecard.

/// A column of the matrix.
pub struct LevelHeader {
    pub name: String,
    pub class: String,
}

pub struct Cell {
    pub count: u64,
    /// `+2`, `-1`, empty without change.
    pub delta: String,
    /// `more` or `fewer`.
    pub delta_class: &'static str,
}

impl Cell {
    fn new(count: u64, delta: i64) -> Cell {
        Cell { count, delta: delta_text(delta), delta_class: if delta > 0 { "more" } else { "fewer" } }
    }
}

pub struct MatrixRow {
    pub label: String,
    pub team_ref: String,
    /// Focuses the scorecard on the team.
    pub focus_href: Option<String>,
    pub team_href: Option<String>,
    /// How deep below the first row's team (at most 8: a CSS class `depth-{n}` indents it).
    pub depth: usize,
    pub cells: Vec<Cell>,
    pub none: Cell,
    pub total: u64,
    /// What the team owns itself (the others are its sub-teams').
    pub own: u64,
    /// `team`, `elsewhere` or `total`.
    pub class: &'static str,
}

pub struct Matrix {
    pub headers: Vec<LevelHeader>,
    pub rows: Vec<MatrixRow>,
    /// Entities owned by no team, and all of them (only without a focus).
    pub footer: Vec<MatrixRow>,
    /// Teams with something to show, and which of them are shown.
    pub teams: usize,
    pub first: usize,
    pub last: usize,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    /// On `/scorecards`: the scorecard's page with every row.
    pub all_href: Option<String>,
    /// Since when the deltas run.
    pub since: Option<String>,
}

pub struct RuleView {
    pub id: String,
    pub title: String,
    pub level: String,
    pub level_class: String,
    pub pass: u64,
    pub fail: u64,
    pub unknown: u64,
    /// `75 %`, or `—` with no entity.
    pub rate: String,
    /// The widths of the pass, fail and unknown parts of a 100-wide bar, and where fail and unknown start.
    pub pass_width: String,
    pub fail_x: String,
    pub fail_width: String,
    pub unknown_x: String,
    pub unknown_width: String,
}

pub struct AtRiskView {
    pub name: String,
    pub href: Option<String>,
    pub owner: String,
    pub owner_href: Option<String>,
    pub level: String,
    pub level_class: String,
    pub budget: String,
    pub overspent: bool,
}

pub struct ChangeRow {
    pub label: String,
    pub class: String,
    pub before: u64,
    pub now: u64,
    pub delta: String,
    pub delta_class: &'static str,
}

pub struct ChangeView {
    pub since: String,
    pub rows: Vec<ChangeRow>,
    pub unchanged: bool,
}

/// Which team rows a matrix shows.
#[derive(Clone, Copy)]
enum Rows {
    /// The first [`PREVIEW_ROWS`], with a link to the rest.
    Preview,
    /// Page `n` (from 1) of [`PAGE_ROWS`].
    Page(usize),
}

/// One scorecard as a page shows it, over every team or one team's subtree.
pub struct BoardView {
    pub name: String,
    pub title: String,
    pub description: String,
    pub href: String,
    pub json_href: String,
    pub matrix_csv: String,
    pub results_csv: String,
    pub entities: u64,
    pub evaluated_at: Option<String>,
    pub matrix: Matrix,
    pub rules: Vec<RuleView>,
    pub at_risk: Vec<AtRiskView>,
    pub budget_average: Option<String>,
    pub change: Option<ChangeView>,
    pub chart: Option<TrendChart>,
}

impl BoardView {
    fn new(
        conn: &mut DbConnection,
        board: &Board,
        tree: &TeamTree,
        index: &CatalogIndex,
        focus: Option<usize>,
        rows: Rows,
    ) -> Result<BoardView, AppError> {
        let rollup = &board.rollup;
        let name = board.name().to_owned();
        let section: &Section = match focus.and_then(|p| rollup.teams.get(p)) {
            Some(team) => &team.subtree,
            None => &rollup.all,
        };
        let suffix = focus.and_then(|p| tree.get(p)).map(|t| format!("?team={}", encode(&t.entity_ref)));
        let suffix = suffix.unwrap_or_default();
        let team_trend = match focus {
            Some(p) => Some(board.team_trend(conn, tree, p)?),
            None => None,
        };
        let trend: &[TrendPoint] = team_trend.as_deref().map_or(&board.trend, |t| t.as_slice());
        let subject = match focus.and_then(|p| tree.get(p)) {
            Some(team) => format!("{} for {}", board.title(), team.name),
            None => board.title().to_owned(),
        };
        Ok(BoardView {
            href: format!("/scorecards/{name}"),
            json_href: format!("/api/v1/scorecards/{name}"),
            matrix_csv: format!("/scorecards/{name}/matrix.csv{suffix}"),
            results_csv: format!("/scorecards/{name}/results.csv{suffix}"),
            title: board.title().to_owned(),
            description: board.row.description.clone(),
            entities: section.levels.total(),
            evaluated_at: board.evaluated_at.map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()),
            matrix: matrix(board, tree, focus, rows),
            rules: rule_views(board, section),
            at_risk: section.at_risk.iter().map(|a| at_risk_view(board, index, a)).collect(),
            budget_average: section.budget.average().map(budget_text),
            change: change_view(board, section, focus),
            chart: TrendChart::new(format!("trend-{name}"), &subject, &board.scorecard.levels, trend),
            name,
        })
    }
}

fn matrix(board: &Board, tree: &TeamTree, focus: Option<usize>, rows: Rows) -> Matrix {
    let rollup = &board.rollup;
    let name = board.name();
    let levels = &board.scorecard.levels;
    let change = board.change.as_ref();
    let no_change = Delta::default();
    let row = |label: String, counts: &LevelCounts, own: u64, delta: &Delta, class: &'static str| MatrixRow {
        label,
        team_ref: String::new(),
        focus_href: None,
        team_href: None,
        depth: 0,
        cells: (0..levels.len()).map(|l| Cell::new(counts.get(Some(l)), delta.get(Some(l)))).collect(),
        none: Cell::new(counts.none, delta.none),
        total: counts.total(),
        own,
        class,
    };
    let range = match focus {
        Some(p) => tree.subtree(p),
        None => 0..tree.len(),
    };
    let base_depth = focus.and_then(|p| tree.get(p)).map_or(0, |t| t.depth);
    // Teams with nothing now and no change are left out: they would only be zeros.
    let shown: Vec<usize> = range
        .filter(|i| {
            let total = rollup.teams.get(*i).map_or(0, |t| t.subtree.levels.total());
            total > 0 || change.and_then(|c| c.teams.get(*i)).is_some_and(|d| !d.is_zero())
        })
        .collect();
    let (start, size) = match rows {
        Rows::Preview => (0, PREVIEW_ROWS),
        Rows::Page(n) => (n.saturating_sub(1).saturating_mul(PAGE_ROWS), PAGE_ROWS),
    };
    let start = start.min(shown.len());
    let end = (start + size).min(shown.len());
    let team_rows = shown[start..end]
        .iter()
        .filter_map(|i| {
            let (team, counts) = (tree.get(*i)?, rollup.teams.get(*i)?);
            let delta = change.and_then(|c| c.teams.get(*i)).unwrap_or(&no_change);
            let mut r = row(team.name.clone(), &counts.subtree.levels, counts.own.levels.total(), delta, "team");
            r.team_ref = team.entity_ref.clone();
            r.focus_href = Some(focus_href(name, &team.entity_ref));
            r.team_href = Some(team_page_href(&team.entity_ref));
            r.depth = team.depth.saturating_sub(base_depth).min(8);
            Some(r)
        })
        .collect();
    let mut footer = Vec::new();
    if focus.is_none() {
        if rollup.elsewhere.levels.total() > 0 {
            let delta = change.map_or(&no_change, |c| &c.elsewhere);
            let counts = &rollup.elsewhere.levels;
            footer.push(row("Not owned by a team".to_owned(), counts, counts.total(), delta, "elsewhere"));
        }
        let delta = change.map_or(&no_change, |c| &c.all);
        footer.push(row("All".to_owned(), &rollup.all.levels, rollup.all.levels.total(), delta, "total"));
    }
    let page_href = |n: usize| {
        let team = focus.and_then(|p| tree.get(p)).map(|t| format!("team={}&", encode(&t.entity_ref)));
        format!("/scorecards/{name}?{}page={n}", team.unwrap_or_default())
    };
    let (prev_href, next_href, all_href) = match rows {
        Rows::Preview => (None, None, (end < shown.len()).then(|| format!("/scorecards/{name}"))),
        Rows::Page(n) => ((n > 1).then(|| page_href(n - 1)), (end < shown.len()).then(|| page_href(n + 1)), None),
    };
    Matrix {
        headers: levels
            .iter()
            .enumerate()
            .map(|(l, level)| LevelHeader { name: level.clone(), class: level_class(Some(l)) })
            .collect(),
        rows: team_rows,
        footer,
        teams: shown.len(),
        first: if end > start { start + 1 } else { 0 },
        last: end,
        prev_href,
        next_href,
        all_href,
        since: change.map(|c| day_text(c.since)),
    }
}

fn rule_views(board: &Board, section: &Section) -> Vec<RuleView> {
    board
        .rollup
        .rule_rates(section)
        .into_iter()
        .map(|rate| {
            let total = rate.counts.total().max(1) as f64;
            let width = |n: u64| n as f64 / total * 100.0;
            let (pass, fail) = (width(rate.counts.pass), width(rate.counts.fail));
            RuleView {
                level: board.level_name(Some(rate.level)).unwrap_or_default().to_owned(),
                level_class: level_class(Some(rate.level)),
                pass: rate.counts.pass,
                fail: rate.counts.fail,
                unknown: rate.counts.unknown,
                rate: rate.pass_rate.map_or_else(|| "—".to_owned(), percent),
                pass_width: fixed(pass),
                fail_x: fixed(pass),
                fail_width: fixed(fail),
                unknown_x: fixed(pass + fail),
                unknown_width: fixed(width(rate.counts.unknown)),
                id: rate.id,
                title: rate.title,
            }
        })
        .collect()
}

fn at_risk_view(board: &Board, index: &CatalogIndex, at_risk: &scorecard::maturity::rollup::AtRisk) -> AtRiskView {
    let (name, href) = entity_link(index, &at_risk.entity_ref);
    let (owner, owner_href) = match at_risk.owner_ref.as_deref() {
        Some(owner) => {
            let (label, href) = entity_link(index, owner);
            (label, href.map(|_| team_page_href(owner)))
        }
        None => ("no owner".to_owned(), None),
    };
    AtRiskView {
        name,
        href,
        owner,
        owner_href,
        level: board.level_name(at_risk.level).unwrap_or("No level").to_owned(),
        level_class: level_class(at_risk.level),
        budget: budget_text(at_risk.budget_remaining),
        overspent: at_risk.budget_remaining <= 0.0,
    }
}

fn change_view(board: &Board, section: &Section, focus: Option<usize>) -> Option<ChangeView> {
    let change = board.change.as_ref()?;
    let before = match focus {
        Some(p) => change.before.teams.get(p)?,
        None => &change.before.all,
    };
    let now = &section.levels;
    let delta = now.minus(before);
    let levels = &board.scorecard.levels;
    let mut order: Vec<Option<usize>> = (0..levels.len()).rev().map(Some).collect();
    order.push(None);
    let rows = order
        .into_iter()
        .map(|level| {
            let d = delta.get(level);
            ChangeRow {
                label: board.level_name(level).unwrap_or("No level").to_owned(),
                class: level_class(level),
                before: before.get(level),
                now: now.get(level),
                delta: if d == 0 { "±0".to_owned() } else { delta_text(d) },
                delta_class: match (d, level) {
                    (0, _) => "same",
                    (d, Some(_)) if d > 0 => "more",
                    (_, Some(_)) => "fewer",
                    (d, None) if d > 0 => "more bad",
                    (_, None) => "fewer good",
                },
            }
        })
        .collect();
    Some(ChangeView { since: day_text(change.since), rows, unchanged: delta.is_zero() })
}

// ---------------------------------------------------------------------------------------------------------------------
// Pages.

#[derive(Template, WebTemplate)]
#[template(path = "scorecards/list.html")]
pub struct ScorecardsPage {
    pub chrome: Chrome,
    pub boards: Vec<BoardView>,
    pub unreadable: Vec<String>,
    pub teams: usize,
}

/// `GET /scorecards`
#[get("/scorecards")]
pub async fn list(state: web::Data<AppState>, chrome: Chrome) -> Result<ScorecardsPage, AppError> {
    blocking(move || {
        let mut conn = state.store.conn()?;
        let index = state.index.get(&mut conn)?;
        let boards = boards(&state, &mut conn)?;
        let views = boards
            .boards
            .iter()
            .map(|b| BoardView::new(&mut conn, b, &boards.tree, &index, None, Rows::Preview))
            .collect::<Result<_, _>>()?;
        Ok(ScorecardsPage { chrome, boards: views, unreadable: boards.unreadable.clone(), teams: boards.tree.len() })
    })
    .await
}

/// A level of a definition with its rules, for the scorecard's page.
pub struct DefinitionLevel {
    pub name: String,
    pub class: String,
    pub rules: Vec<(String, String)>,
}

/// A team above the focused one, for the breadcrumbs.
pub struct Crumb {
    pub name: String,
    pub href: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "scorecards/detail.html")]
pub struct ScorecardPage {
    pub chrome: Chrome,
    pub b: BoardView,
    pub definition: Vec<DefinitionLevel>,
    pub applies_to: Vec<(String, String)>,
    pub path: String,
    /// The focused team, with the teams above it.
    pub team: Option<(String, String)>,
    pub crumbs: Vec<Crumb>,
}

#[derive(serde::Deserialize)]
pub struct DetailQuery {
    team: Option<String>,
    page: Option<usize>,
}

/// `GET /scorecards/{name}?team=&page=`
#[get("/scorecards/{name}")]
pub async fn detail(
    state: web::Data<AppState>,
    name: web::Path<String>,
    query: web::Query<DetailQuery>,
    chrome: Chrome,
) -> Result<ScorecardPage, AppError> {
    let (name, query) = (name.into_inner(), query.into_inner());
    blocking(move || {
        let mut conn = state.store.conn()?;
        let index = state.index.get(&mut conn)?;
        let boards = boards(&state, &mut conn)?;
        let board = board(&boards, &name)?;
        let tree = &boards.tree;
        let focus = focus(tree, query.team.as_deref())?;
        let page = query.page.unwrap_or(1).max(1);
        let b = BoardView::new(&mut conn, board, tree, &index, focus, Rows::Page(page))?;
        let card = &board.scorecard;
        let definition = card
            .levels
            .iter()
            .enumerate()
            .map(|(l, level)| DefinitionLevel {
                name: level.clone(),
                class: level_class(Some(l)),
                rules: card.rules.iter().filter(|r| r.level == l).map(|r| (r.id.clone(), r.title.clone())).collect(),
            })
            .collect();
        let selector = &card.applies_to;
        let applies_to = [
            ("Kinds", &selector.kinds),
            ("Types", &selector.types),
            ("Lifecycles", &selector.lifecycles),
            ("Tags", &selector.tags),
            ("Owners", &selector.owners),
        ]
        .into_iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(label, values)| (label.to_owned(), values.join(", ")))
        .collect();
        let mut crumbs = Vec::new();
        let mut above = focus.and_then(|p| tree.get(p)).and_then(|t| t.parent);
        while let Some(p) = above {
            let Some(team) = tree.get(p) else { break };
            crumbs.push(Crumb { name: team.name.clone(), href: focus_href(&name, &team.entity_ref) });
            above = team.parent;
        }
        crumbs.reverse();
        let team = focus.and_then(|p| tree.get(p)).map(|t| (t.name.clone(), team_page_href(&t.entity_ref)));
        Ok(ScorecardPage {
            chrome,
            path: catalog::ingest::display(std::path::Path::new(&board.row.path)),
            b,
            definition,
            applies_to,
            team,
            crumbs,
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------------------------------------
// CSV exports.

fn csv_response(file_name: String, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(file_name)],
        })
        .body(bytes)
}

/// A scorecard name as a file name (they are DNS-like already; anything else becomes `-`).
fn file_stem(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }).collect()
}

#[derive(serde::Deserialize)]
pub struct TeamQuery {
    team: Option<String>,
}

/// `GET /scorecards/{name}/matrix.csv?team=`: every team in tree order with its subtree's count at each level, then
/// the entities owned by no team and all of them.
#[get("/scorecards/{name}/matrix.csv")]
pub async fn matrix_csv(
    state: web::Data<AppState>,
    name: web::Path<String>,
    query: web::Query<TeamQuery>,
) -> Result<HttpResponse, AppError> {
    let (name, query) = (name.into_inner(), query.into_inner());
    let (file_name, bytes) = blocking(move || {
        let mut conn = state.store.conn()?;
        let boards = boards(&state, &mut conn)?;
        let board = board(&boards, &name)?;
        let tree = &boards.tree;
        let focus = focus(tree, query.team.as_deref())?;
        let mut out = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = ["team", "team_ref", "parent_ref", "depth"].map(str::to_owned).to_vec();
        header.extend(board.scorecard.levels.iter().cloned());
        header.extend(["No level", "Total", "Own"].map(str::to_owned));
        out.write_record(&header).map_err(AppError::internal)?;
        let counts = |c: &LevelCounts| -> Vec<String> {
            let mut cells: Vec<String> = c.levels.iter().map(u64::to_string).collect();
            cells.push(c.none.to_string());
            cells.push(c.total().to_string());
            cells
        };
        let range = focus.map_or(0..tree.len(), |p| tree.subtree(p));
        for i in range {
            let (Some(team), Some(rolled)) = (tree.get(i), board.rollup.teams.get(i)) else { continue };
            let parent = team.parent.and_then(|p| tree.get(p)).map(|p| p.entity_ref.clone()).unwrap_or_default();
            let mut record = vec![team.name.clone(), team.entity_ref.clone(), parent, team.depth.to_string()];
            record.extend(counts(&rolled.subtree.levels));
            record.push(rolled.own.levels.total().to_string());
            out.write_record(&record).map_err(AppError::internal)?;
        }
        if focus.is_none() {
            for (label, c) in
                [("Not owned by a team", &board.rollup.elsewhere.levels), ("All", &board.rollup.all.levels)]
            {
                let mut record = vec![label.to_owned(), String::new(), String::new(), String::new()];
                record.extend(counts(c));
                record.push(c.total().to_string());
                out.write_record(&record).map_err(AppError::internal)?;
            }
        }
        let bytes = out.into_inner().map_err(AppError::internal)?;
        Ok((format!("{}-matrix.csv", file_stem(&name)), bytes))
    })
    .await?;
    Ok(csv_response(file_name, bytes))
}

/// Results per page of `results.csv`.
const EXPORT_PAGE: i64 = 2000;

/// `GET /scorecards/{name}/results.csv?team=`: one line per entity and rule, `entity,owner,level,rule,outcome,reason`,
/// by entity; every entity, or those of a team's subtree. Streamed page by page, so 50,000 entities never sit in
/// memory at once.
#[get("/scorecards/{name}/results.csv")]
pub async fn results_csv(
    state: web::Data<AppState>,
    name: web::Path<String>,
    query: web::Query<TeamQuery>,
) -> Result<HttpResponse, AppError> {
    let (name, query) = (name.into_inner(), query.into_inner());
    // What must hold before the first byte: the scorecard and the team exist.
    let (card, owners) = {
        let (state, name) = (state.clone(), name.clone());
        blocking(move || {
            let mut conn = state.store.conn()?;
            let row = maturity::scorecard(&mut conn, &name)
                .map_err(StoreError::from)?
                .ok_or_else(|| AppError::not_found(format!("no scorecard named {name}")))?;
            let card = scoreboard::read_definition(&row)
                .ok_or_else(|| AppError::internal(format!("the stored definition of {name} cannot be read")))?;
            let owners = match query.team.as_deref().filter(|t| !t.trim().is_empty()) {
                Some(team) => {
                    let tree = scoreboard::team_tree(&mut conn)?;
                    focus(&tree, Some(team))?.map(|p| tree.subtree_refs(p))
                }
                None => None,
            };
            Ok((card, owners))
        })
        .await?
    };
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(4);
    let file_name = format!("{}-results.csv", file_stem(&name));
    let store = state.store.clone();
    actix_web::rt::task::spawn_blocking(move || {
        // `false` once the client is gone: the export stops there. An error (logged as it is made) cuts the response
        // short, its headers being sent already.
        let send = |chunk: Result<web::Bytes, AppError>| {
            sender.blocking_send(chunk.map_err(|e| std::io::Error::other(e.to_string()))).is_ok()
        };
        // Sends a chunk; `false` when the export is over (the client went, or the chunk was an error).
        let next = |chunk: Result<Vec<u8>, AppError>| {
            let failed = chunk.is_err();
            send(chunk.map(web::Bytes::from)) && !failed
        };
        if !next(results_lines(&card, &[], true)) {
            return;
        }
        let mut after: Option<String> = None;
        loop {
            let page = store.conn().map_err(AppError::from).and_then(|mut conn| {
                maturity::results_after(&mut conn, &name, owners.as_deref(), after.as_deref(), EXPORT_PAGE)
                    .map_err(|e| AppError::from(StoreError::from(e)))
            });
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    send(Err(e));
                    return;
                }
            };
            let Some(last) = page.last() else { return };
            after = Some(last.entity_ref.clone());
            if !next(results_lines(&card, &page, false))
                || page.len() < usize::try_from(EXPORT_PAGE).unwrap_or(usize::MAX)
            {
                return;
            }
        }
    });
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(file_name)],
        })
        .streaming(body))
}

/// The CSV lines of these results, one per rule, after the header line when asked.
fn results_lines(card: &Scorecard, results: &[ResultRow], header: bool) -> Result<Vec<u8>, AppError> {
    let mut out = csv::Writer::from_writer(Vec::with_capacity(results.len() * 400));
    if header {
        out.write_record(["entity", "owner", "level", "rule", "outcome", "reason"]).map_err(AppError::internal)?;
    }
    for result in results {
        let level = level_index(result.level, card.levels.len()).and_then(|l| card.levels.get(l));
        let level = level.map_or("No level", String::as_str);
        let owner = result.owner_ref.as_deref().unwrap_or_default();
        for rule in rules_of(result) {
            out.write_record([
                result.entity_ref.as_str(),
                owner,
                level,
                rule.rule.as_str(),
                outcome_code(rule.outcome),
                rule.reason.as_str(),
            ])
            .map_err(AppError::internal)?;
        }
    }
    out.into_inner().map_err(AppError::internal)
}

// ---------------------------------------------------------------------------------------------------------------------
// JSON.

fn counts_json(levels: &[String], counts: &LevelCounts) -> Json {
    json!({
        "levels": levels.iter().enumerate().map(|(l, name)| json!({
            "index": l, "name": name, "count": counts.get(Some(l)),
        })).collect::<Vec<_>>(),
        "none": counts.none,
        "total": counts.total(),
    })
}

fn delta_json(levels: &[String], delta: &Delta) -> Json {
    json!({
        "levels": levels.iter().enumerate().map(|(l, name)| json!({
            "index": l, "name": name, "delta": delta.get(Some(l)),
        })).collect::<Vec<_>>(),
        "none": delta.none,
    })
}

fn rules_json(rollup: &Rollup, section: &Section) -> Json {
    Json::Array(
        rollup
            .rule_rates(section)
            .into_iter()
            .map(|r| {
                json!({
                    "id": r.id, "title": r.title, "level": r.level, "level_name": rollup.levels.get(r.level),
                    "pass": r.counts.pass, "fail": r.counts.fail, "unknown": r.counts.unknown,
                    "pass_rate": r.pass_rate,
                })
            })
            .collect(),
    )
}

/// A scorecard's summary: the definition, the counts of every entity and the pass rates.
fn board_json(board: &Board) -> Json {
    let rollup = &board.rollup;
    json!({
        "name": board.name(),
        "title": board.title(),
        "description": board.row.description,
        "levels": board.scorecard.levels,
        "definition": board.scorecard,
        "evaluated_at": board.evaluated_at,
        "totals": counts_json(&rollup.levels, &rollup.all.levels),
        "budget_average": rollup.all.budget.average(),
        "rules": rules_json(rollup, &rollup.all),
        "href": format!("/scorecards/{}", board.name()),
        "json": format!("/api/v1/scorecards/{}", board.name()),
    })
}

/// `GET /api/v1/scorecards`: every scorecard with its definition, totals and rule pass rates.
#[get("/scorecards")]
pub async fn api_list(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let body = blocking(move || {
        let mut conn = state.store.conn()?;
        let boards = boards(&state, &mut conn)?;
        Ok(json!({
            "items": boards.boards.iter().map(board_json).collect::<Vec<_>>(),
            "unreadable": boards.unreadable,
        }))
    })
    .await
    .map_err(AppError::api)?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/scorecards/{name}`: the definition, the matrix (every team, subtree counts and own), the pass rates,
/// the budgets most at risk, the change since a week ago and the trend.
#[get("/scorecards/{name}")]
pub async fn api_detail(state: web::Data<AppState>, name: web::Path<String>) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let body = blocking(move || {
        let mut conn = state.store.conn()?;
        let boards = boards(&state, &mut conn)?;
        let board = board(&boards, &name)?;
        let (rollup, tree, levels) = (&board.rollup, &boards.tree, &board.scorecard.levels);
        let change = board.change.as_ref();
        let matrix: Vec<Json> = tree
            .teams()
            .iter()
            .zip(&rollup.teams)
            .enumerate()
            .map(|(i, (team, counts))| {
                json!({
                    "team": team.entity_ref,
                    "name": team.name,
                    "parent": team.parent.and_then(|p| tree.get(p)).map(|p| &p.entity_ref),
                    "depth": team.depth,
                    "subtree": counts_json(levels, &counts.subtree.levels),
                    "own": counts_json(levels, &counts.own.levels),
                    "budget_average": counts.subtree.budget.average(),
                    "change": change.and_then(|c| c.teams.get(i)).map(|d| delta_json(levels, d)),
                })
            })
            .collect();
        let mut body = board_json(board);
        if let Some(obj) = body.as_object_mut() {
            obj.insert("matrix".to_owned(), Json::Array(matrix));
            obj.insert("elsewhere".to_owned(), counts_json(levels, &rollup.elsewhere.levels));
            obj.insert("at_risk".to_owned(), at_risk_json(board, &rollup.all));
            obj.insert(
                "change".to_owned(),
                change.map_or(Json::Null, |c| {
                    json!({ "since": c.since, "all": delta_json(levels, &c.all), "before": counts_json(levels, &c.before.all) })
                }),
            );
            obj.insert("trend".to_owned(), trend_json(levels, &board.trend));
        }
        Ok(body)
    })
    .await
    .map_err(AppError::api)?;
    Ok(HttpResponse::Ok().json(body))
}

fn at_risk_json(board: &Board, section: &Section) -> Json {
    Json::Array(
        section
            .at_risk
            .iter()
            .map(|a| {
                json!({
                    "ref": a.entity_ref, "owner": a.owner_ref, "level": a.level,
                    "level_name": board.level_name(a.level), "budget_remaining": a.budget_remaining,
                })
            })
            .collect(),
    )
}

fn trend_json(levels: &[String], points: &[TrendPoint]) -> Json {
    Json::Array(
        points
            .iter()
            .map(|p| json!({ "day": p.day, "counts": counts_json(levels, &p.levels), "budget_average": p.budget_average }))
            .collect(),
    )
}

#[derive(serde::Deserialize)]
pub struct TeamApiQuery {
    namespace: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// A stored result's rules; none when they cannot be read.
fn rules_of(result: &ResultRow) -> Vec<RuleResult> {
    serde_json::from_str(&result.rules).unwrap_or_default()
}

/// `GET /api/v1/teams/{name}/scorecards?namespace=&limit=&offset=`: per scorecard, the team's subtree at each level
/// (and what it owns itself), the change since a week ago, and its services (a page of `limit`, by ref) with their
/// level and failing rules.
#[get("/teams/{name}/scorecards")]
pub async fn api_team(
    state: web::Data<AppState>,
    name: web::Path<String>,
    query: web::Query<TeamApiQuery>,
) -> Result<HttpResponse, AppError> {
    let (name, query) = (name.into_inner(), query.into_inner());
    let limit = query.limit.unwrap_or(API_SERVICES);
    if !(1..=API_SERVICES_MAX).contains(&limit) {
        return Err(AppError::bad_request("limit", format!("must be from 1 to {API_SERVICES_MAX}")).api());
    }
    let offset = query.offset.unwrap_or(0);
    if offset < 0 {
        return Err(AppError::bad_request("offset", "must not be negative").api());
    }
    let body = blocking(move || {
        let mut conn = state.store.conn()?;
        let index = state.index.get(&mut conn)?;
        let boards = boards(&state, &mut conn)?;
        let tree = &boards.tree;
        let namespace = query.namespace.unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let team_ref = EntityRef::new(Kind::Group.as_str(), &namespace, &name).to_string();
        let position = tree
            .position(&team_ref)
            .ok_or_else(|| AppError::not_found(format!("no team (Group) {namespace}/{name} in the catalog")))?;
        let owners = tree.subtree_refs(position);
        let mut scorecards = Vec::new();
        for board in &boards.boards {
            let Some(counts) = board.rollup.teams.get(position) else { continue };
            let levels = &board.scorecard.levels;
            let titles: HashMap<&str, &str> =
                board.scorecard.rules.iter().map(|r| (r.id.as_str(), r.title.as_str())).collect();
            let rows = maturity::results_of_owners_page(&mut conn, board.name(), &owners, offset, limit)
                .map_err(StoreError::from)?;
            let total = counts.subtree.levels.total();
            let services: Vec<Json> = rows
                .iter()
                .map(|row| {
                    let level = level_index(row.level, levels.len());
                    let failing: Vec<Json> = rules_of(row)
                        .into_iter()
                        .filter(|r| r.outcome != Outcome::Pass)
                        .map(|r| {
                            json!({
                                "rule": r.rule, "title": titles.get(r.rule.as_str()), "level": r.level,
                                "outcome": outcome_code(r.outcome), "reason": r.reason,
                            })
                        })
                        .collect();
                    json!({
                        "ref": row.entity_ref,
                        "name": index.get(&row.entity_ref).map(|e| &e.display_name),
                        "owner": row.owner_ref,
                        "level": level,
                        "level_name": board.level_name(level),
                        "budget_remaining": row.budget_remaining,
                        "failing": failing,
                    })
                })
                .collect();
            let next = offset + i64::try_from(rows.len()).unwrap_or(0);
            scorecards.push(json!({
                "name": board.name(),
                "title": board.title(),
                "levels": levels,
                "subtree": counts_json(levels, &counts.subtree.levels),
                "own": counts_json(levels, &counts.own.levels),
                "budget_average": counts.subtree.budget.average(),
                "rules": rules_json(&board.rollup, &counts.subtree),
                "at_risk": at_risk_json(board, &counts.subtree),
                "change": board.change.as_ref().and_then(|c| Some(json!({
                    "since": c.since, "subtree": delta_json(levels, c.teams.get(position)?),
                }))),
                "services": services,
                "services_total": total,
                "next_offset": (u64::try_from(next).unwrap_or(0) < total).then_some(next),
            }));
        }
        let team = tree.get(position);
        Ok(json!({
            "team": { "ref": team_ref, "name": team.map(|t| &t.name), "subtree": owners },
            "scorecards": scorecards,
        }))
    })
    .await
    .map_err(AppError::api)?;
    Ok(HttpResponse::Ok().json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_read_well() {
        assert_eq!(budget_text(-0.0001), "0.0 %");
        assert_eq!(budget_text(-0.2), "-20.0 %");
        assert_eq!(delta_text(3), "+3");
        assert_eq!(delta_text(-2), "-2");
        assert_eq!(delta_text(0), "");
        assert_eq!(file_stem("readiness/../x"), "readiness-..-x");
        assert_eq!(encode("group:default/a b"), "group%3Adefault%2Fa+b");
        assert_eq!(team_page_href("group:dev/team-a"), "/teams/team-a?namespace=dev");
        assert_eq!(level_class(Some(7)), "lvl-1");
    }

    /// A root with 250 teams under it, each owning one entity at Bronze.
    fn wide_board() -> (Board, TeamTree) {
        use scorecard::maturity::rollup::Scored;
        let mut groups = vec![("group:default/root".to_owned(), "Root".to_owned())];
        groups.extend((0..250).map(|i| (format!("group:default/t{i:03}"), format!("Team {i:03}"))));
        let edges: Vec<(String, String)> =
            groups.iter().skip(1).map(|(r, _)| ("group:default/root".to_owned(), r.clone())).collect();
        let tree = TeamTree::new(&groups, &edges);
        let card: Scorecard = serde_json::from_value(json!({
            "name": "wide", "title": null, "description": null,
            "applies_to": { "kinds": [], "types": [], "lifecycles": [], "tags": [], "owners": [] },
            "levels": ["Bronze"], "rules": [],
        }))
        .expect("a scorecard");
        let results = groups.iter().skip(1).map(|(r, _)| Scored {
            entity_ref: format!("component:default/of-{r}"),
            owner_ref: Some(r.clone()),
            level: Some(0),
            budget_remaining: None,
            outcomes: Vec::new(),
        });
        let rollup = Rollup::compute(&card, &tree, results);
        let row = store::maturity::ScorecardRow {
            name: "wide".to_owned(),
            title: String::new(),
            description: String::new(),
            definition: String::new(),
            path: "/wide.yaml".to_owned(),
            updated_at: NaiveDateTime::default(),
        };
        (Board::new(row, card, rollup, None, Vec::new(), NaiveDateTime::default(), None), tree)
    }

    #[test]
    fn the_matrix_shows_a_bounded_number_of_rows() {
        let (board, tree) = wide_board();
        let preview = matrix(&board, &tree, None, Rows::Preview);
        assert_eq!(preview.rows.len(), PREVIEW_ROWS);
        assert_eq!((preview.teams, preview.first, preview.last), (251, 1, PREVIEW_ROWS));
        assert_eq!(preview.all_href.as_deref(), Some("/scorecards/wide"));
        assert_eq!(preview.rows[0].total, 250, "the root rolls every team up");
        assert_eq!(preview.footer.last().map(|r| r.total), Some(250));

        let first = matrix(&board, &tree, None, Rows::Page(1));
        assert_eq!(first.rows.len(), PAGE_ROWS);
        assert_eq!(first.prev_href, None);
        assert_eq!(first.next_href.as_deref(), Some("/scorecards/wide?page=2"));
        let last = matrix(&board, &tree, None, Rows::Page(3));
        assert_eq!((last.rows.len(), last.first, last.last), (51, 201, 251));
        assert_eq!(last.prev_href.as_deref(), Some("/scorecards/wide?page=2"));
        assert_eq!(last.next_href, None);
        let beyond = matrix(&board, &tree, None, Rows::Page(9));
        assert!(beyond.rows.is_empty());
        assert_eq!(beyond.first, 0);

        let root = tree.position("group:default/root");
        let focused = matrix(&board, &tree, root, Rows::Page(2));
        assert_eq!(focused.next_href.as_deref(), Some("/scorecards/wide?team=group%3Adefault%2Froot&page=3"));
        assert!(focused.footer.is_empty());
        assert!(focused.rows.iter().all(|r| r.depth == 1));
    }
}
