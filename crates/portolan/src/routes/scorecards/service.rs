//! The scorecard parts of other pages: the service page (its level per scorecard and every rule's result), the
//! `scorecards` of `GET /api/v1/services/{namespace}/{name}`, and the team page (its subtree per scorecard, its
//! services' levels and failing rules, its SLO summary).

use super::*;

/// Every stored definition that can be read, by name.
fn definitions(conn: &mut DbConnection) -> Result<HashMap<String, (String, Scorecard)>, AppError> {
    Ok(maturity::all_scorecards(conn)
        .map_err(StoreError::from)?
        .into_iter()
        .filter_map(|row| {
            let card = scoreboard::read_definition(&row)?;
            let title = if row.title.trim().is_empty() { row.name.clone() } else { row.title.clone() };
            Some((row.name, (title, card)))
        })
        .collect())
}

/// One rule's result on the service page.
pub struct RuleLine {
    pub id: String,
    pub title: String,
    /// `pass`, `fail` or `unknown` (also a CSS class).
    pub outcome: &'static str,
    pub outcome_text: &'static str,
    pub reason: String,
}

pub struct LevelRules {
    pub name: String,
    pub class: String,
    pub reached: bool,
    pub rules: Vec<RuleLine>,
}

/// A service against one scorecard.
pub struct MaturityCard {
    pub name: String,
    pub title: String,
    pub href: String,
    pub anchor: String,
    /// The level reached, `None` for none.
    pub level: Option<String>,
    pub level_class: String,
    /// The next level, and how many of its rules do not pass yet.
    pub next: Option<(String, usize)>,
    pub passing: usize,
    pub failing: usize,
    pub unknown: usize,
    pub levels: Vec<LevelRules>,
    pub evaluated_at: String,
    /// Its latest level changes, newest first (`2026-11-20: Bronze → Silver`).
    pub history: Vec<String>,
}

/// How many level changes the service page shows per scorecard.
const HISTORY: usize = 5;

/// The scorecards' results of one entity, with the definitions: `(name, title, scorecard, result, rules)`.
type EntityResults = Vec<(String, String, Scorecard, ResultRow, Vec<RuleResult>)>;

fn entity_results(conn: &mut DbConnection, entity_ref: &str) -> Result<EntityResults, AppError> {
    let rows = maturity::results_of_entity(conn, entity_ref).map_err(StoreError::from)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut definitions = definitions(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let (title, card) = definitions.remove(&row.scorecard)?;
            let rules = rules_of(&row);
            Some((row.scorecard.clone(), title, card, row, rules))
        })
        .collect())
}

/// The Maturity card and section of a service's page.
pub(crate) fn maturity_cards(conn: &mut DbConnection, entity_ref: &str) -> Result<Vec<MaturityCard>, AppError> {
    let results = entity_results(conn, entity_ref)?;
    let changes = if results.is_empty() {
        Vec::new()
    } else {
        let limit = i64::try_from(HISTORY * results.len()).unwrap_or(i64::MAX);
        maturity::level_changes_of_entity(conn, entity_ref, limit).map_err(StoreError::from)?
    };
    Ok(results
        .into_iter()
        .map(|(name, title, card, row, results)| {
            let by_id: HashMap<&str, &RuleResult> = results.iter().map(|r| (r.rule.as_str(), r)).collect();
            let level = level_index(row.level, card.levels.len());
            let line = |rule: &scorecard::maturity::Rule| {
                let (outcome, reason) = match by_id.get(rule.id.as_str()) {
                    Some(r) => (r.outcome, r.reason.clone()),
                    None => (Outcome::Unknown, "Not evaluated since the scorecard changed.".to_owned()),
                };
                RuleLine {
                    id: rule.id.clone(),
                    title: rule.title.clone(),
                    outcome: outcome_code(outcome),
                    outcome_text: outcome_text(outcome),
                    reason,
                }
            };
            let levels: Vec<LevelRules> = card
                .levels
                .iter()
                .enumerate()
                .map(|(l, level_name)| LevelRules {
                    name: level_name.clone(),
                    class: level_class(Some(l)),
                    reached: level.is_some_and(|reached| l <= reached),
                    rules: card.rules.iter().filter(|r| r.level == l).map(line).collect(),
                })
                .collect();
            let count = |code: &str| levels.iter().flat_map(|l| &l.rules).filter(|r| r.outcome == code).count();
            let name_of = |stored: i32| {
                level_index(stored, card.levels.len())
                    .and_then(|l| card.levels.get(l))
                    .map_or("no level", String::as_str)
                    .to_owned()
            };
            let history = changes
                .iter()
                .filter(|c| c.scorecard == name)
                .take(HISTORY)
                .map(|c| match c.from_level {
                    Some(from) => format!("{}: {} → {}", day_text(c.at), name_of(from), name_of(c.to_level)),
                    None => format!("{}: first scored, {}", day_text(c.at), name_of(c.to_level)),
                })
                .collect();
            let next_index = level.map_or(0, |l| l + 1);
            let next = levels
                .get(next_index)
                .map(|l| (l.name.clone(), l.rules.iter().filter(|r| r.outcome != "pass").count()));
            MaturityCard {
                href: format!("/scorecards/{name}"),
                anchor: format!("scorecard-{}", file_stem(&name)),
                level: level.and_then(|l| card.levels.get(l)).cloned(),
                level_class: level_class(level),
                next,
                passing: count("pass"),
                failing: count("fail"),
                unknown: count("unknown"),
                levels,
                evaluated_at: row.evaluated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                history,
                name,
                title,
            }
        })
        .collect())
}

/// The `scorecards` of `GET /api/v1/services/{namespace}/{name}`: the level and every rule's result per scorecard.
pub(crate) fn service_json(conn: &mut DbConnection, entity_ref: &str) -> Result<Json, AppError> {
    Ok(Json::Array(
        entity_results(conn, entity_ref)?
            .into_iter()
            .map(|(name, title, card, row, results)| {
                let by_id: HashMap<&str, &RuleResult> = results.iter().map(|r| (r.rule.as_str(), r)).collect();
                let level = level_index(row.level, card.levels.len());
                let rules: Vec<Json> = card
                    .rules
                    .iter()
                    .map(|rule| {
                        let found = by_id.get(rule.id.as_str());
                        json!({
                            "id": rule.id,
                            "title": rule.title,
                            "level": rule.level,
                            "level_name": card.levels.get(rule.level),
                            "outcome": outcome_code(found.map_or(Outcome::Unknown, |r| r.outcome)),
                            "reason": found.map_or("Not evaluated since the scorecard changed.", |r| r.reason.as_str()),
                        })
                    })
                    .collect();
                json!({
                    "name": name,
                    "title": title,
                    "levels": card.levels,
                    "level": level.map(|l| json!({ "index": l, "name": card.levels.get(l) })),
                    "failing": row.failing,
                    "budget_remaining": row.budget_remaining,
                    "evaluated_at": row.evaluated_at,
                    "rules": rules,
                    "href": format!("/scorecards/{name}"),
                })
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------------------------------------------------------------
// The team page.

pub struct TeamLevel {
    pub name: String,
    pub class: String,
    pub count: u64,
    pub own: u64,
    /// Since a week ago, `+2`, `-1` or empty.
    pub delta: String,
    pub delta_class: &'static str,
}

/// A scorecard over a team's subtree.
pub struct TeamBoard {
    pub name: String,
    pub title: String,
    /// The scorecard focused on the team.
    pub href: String,
    pub levels: Vec<TeamLevel>,
    pub total: u64,
}

/// A service's level on one scorecard, with what it fails.
pub struct ServiceCell {
    /// Whether the scorecard has a result for it (it applies).
    pub applies: bool,
    pub level: String,
    pub level_class: String,
    /// The titles of its failing rules, and how many are unknown.
    pub failing: Vec<String>,
    pub unknown: usize,
}

pub struct ServiceLevels {
    pub name: String,
    pub href: String,
    pub cells: Vec<ServiceCell>,
}

/// The SLO statuses of the services of a team's subtree.
pub struct SloSummary {
    pub services: i64,
    pub met: i64,
    pub at_risk: i64,
    pub exhausted: i64,
    /// The other statuses (no data, stale, no SLOs) with their counts and catalog links.
    pub others: Vec<(String, i64, String)>,
    pub met_href: String,
    pub at_risk_href: String,
    pub exhausted_href: String,
}

/// What the team page shows of scorecards and SLOs.
pub struct TeamScorecards {
    pub boards: Vec<TeamBoard>,
    pub headers: Vec<(String, String)>,
    pub services: Vec<ServiceLevels>,
    /// How many Components the subtree owns, when more than the services shown.
    pub services_total: i64,
    pub slo: SloSummary,
}

/// The scorecards and SLO summary of the team `team_ref`, whose subtree is `subtree`, for the services of `owned`
/// (Components only; at most what the team page lists).
pub(crate) fn team_scorecards(
    state: &AppState,
    conn: &mut DbConnection,
    index: &CatalogIndex,
    team_ref: &str,
    subtree: &[String],
    owned: &[browse::ListItem],
) -> Result<TeamScorecards, AppError> {
    let boards = boards(state, conn)?;
    let position = boards.tree.position(team_ref);
    let team_boards: Vec<TeamBoard> = boards
        .boards
        .iter()
        .filter_map(|board| {
            let counts = board.rollup.teams.get(position?)?;
            let delta = board.change.as_ref().and_then(|c| c.teams.get(position?));
            let levels = &board.scorecard.levels;
            let mut order: Vec<Option<usize>> = (0..levels.len()).rev().map(Some).collect();
            order.push(None);
            let levels = order
                .into_iter()
                .map(|level| {
                    let d = delta.map_or(0, |d| d.get(level));
                    TeamLevel {
                        name: board.level_name(level).unwrap_or("No level").to_owned(),
                        class: level_class(level),
                        count: counts.subtree.levels.get(level),
                        own: counts.own.levels.get(level),
                        delta: delta_text(d),
                        delta_class: if d > 0 { "more" } else { "fewer" },
                    }
                })
                .collect();
            Some(TeamBoard {
                name: board.name().to_owned(),
                title: board.title().to_owned(),
                href: focus_href(board.name(), team_ref),
                levels,
                total: counts.subtree.levels.total(),
            })
        })
        .collect();
    let services: Vec<&browse::ListItem> = owned.iter().filter(|i| i.entity.kind == Kind::Component.as_str()).collect();
    let refs: Vec<String> = services.iter().map(|i| i.entity.entity_ref.clone()).collect();
    let mut results: HashMap<(String, String), ResultRow> = HashMap::new();
    for row in maturity::results_of_entities(conn, &refs).map_err(StoreError::from)? {
        results.insert((row.scorecard.clone(), row.entity_ref.clone()), row);
    }
    let service_rows = services
        .iter()
        .map(|item| ServiceLevels {
            name: item.entity.display_name.clone(),
            href: item.path(),
            cells: boards
                .boards
                .iter()
                .map(|board| {
                    let Some(row) = results.get(&(board.name().to_owned(), item.entity.entity_ref.clone())) else {
                        return ServiceCell {
                            applies: false,
                            level: String::new(),
                            level_class: String::new(),
                            failing: Vec::new(),
                            unknown: 0,
                        };
                    };
                    let level = level_index(row.level, board.scorecard.levels.len());
                    let rules = rules_of(row);
                    let title = |id: &str| {
                        board
                            .scorecard
                            .rules
                            .iter()
                            .find(|r| r.id == id)
                            .map_or_else(|| id.to_owned(), |r| r.title.clone())
                    };
                    ServiceCell {
                        applies: true,
                        level: board.level_name(level).unwrap_or("No level").to_owned(),
                        level_class: level_class(level),
                        failing: rules.iter().filter(|r| r.outcome == Outcome::Fail).map(|r| title(&r.rule)).collect(),
                        unknown: rules.iter().filter(|r| r.outcome == Outcome::Unknown).count(),
                    }
                })
                .collect(),
        })
        .collect();
    let component = vec![Kind::Component.as_str().to_owned()];
    let filter = EntityFilter { kinds: component, owners: subtree.to_vec(), ..EntityFilter::default() };
    let selection = index.select(&filter);
    let statuses: Vec<(String, i64)> =
        selection.facets.iter().find(|(f, _)| *f == Facet::SloStatus).map(|(_, v)| v.clone()).unwrap_or_default();
    let count = |status: SloStatus| statuses.iter().find(|(s, _)| s == status.as_str()).map_or(0, |(_, n)| *n);
    let link = |status: SloStatus| {
        let filter = EntityFilter { slo_statuses: vec![status], ..filter.clone() };
        let query = browse::ListQuery { filter, ..browse::ListQuery::default() };
        format!("/catalog?{}", serde_urlencoded::to_string(query.filter_params()).unwrap_or_default())
    };
    let others = [SloStatus::Stale, SloStatus::NoData, SloStatus::NoSlos]
        .into_iter()
        .filter(|s| count(*s) > 0)
        .map(|s| {
            let label = match s {
                SloStatus::NoSlos => "without SLOs",
                SloStatus::NoData => "without data",
                _ => "stale",
            };
            (label.to_owned(), count(s), link(s))
        })
        .collect();
    let slo = SloSummary {
        services: selection.total,
        met: count(SloStatus::Healthy),
        at_risk: count(SloStatus::AtRisk),
        exhausted: count(SloStatus::Exhausted),
        others,
        met_href: link(SloStatus::Healthy),
        at_risk_href: link(SloStatus::AtRisk),
        exhausted_href: link(SloStatus::Exhausted),
    };
    Ok(TeamScorecards {
        headers: boards.boards.iter().map(|b| (b.title().to_owned(), focus_href(b.name(), team_ref))).collect(),
        boards: team_boards,
        services_total: selection.total,
        services: service_rows,
        slo,
    })
}
