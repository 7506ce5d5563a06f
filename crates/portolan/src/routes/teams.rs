//! `/teams/{name}`: a Group, its place in the tree, its people, and what it and its sub-teams own (with how many of
//! their services are behind their golden path, their SLO statuses, and their levels on each scorecard).

use actix_web::{get, web};
use askama::Template;
use askama_web::WebTemplate;
use catalog::browse::{self, TeamView};
use catalog::entity::DEFAULT_NAMESPACE;

use super::blocking;
use crate::AppState;
use crate::auth::Chrome;
use crate::errors::AppError;

#[derive(Template, WebTemplate)]
#[template(path = "teams/team.html")]
pub struct TeamPage {
    pub chrome: Chrome,
    pub t: TeamView,
    pub email: Option<String>,
    pub description: Option<String>,
    pub sub_teams: usize,
    /// Children and members beyond the first [`browse::SECTION_ENTITIES`] of each, which are not listed.
    pub children_more: usize,
    pub members_more: usize,
    /// The catalog list of the owned services behind their golden path.
    pub behind_href: String,
    /// Its subtree on each scorecard, its services' levels and failing rules, and their SLO statuses.
    pub scorecards: super::scorecards::TeamScorecards,
}

/// `name` may carry a namespace: `/teams/dev/team-a` is not a route, so `dev.team-a` is not either; teams outside
/// the default namespace are reached as `/teams/{name}?namespace=dev`.
#[derive(serde::Deserialize)]
pub struct TeamQuery {
    namespace: Option<String>,
}

/// Keeps the first [`browse::SECTION_ENTITIES`]; returns how many it dropped.
fn listed<T>(entities: &mut Vec<T>) -> usize {
    let more = entities.len().saturating_sub(browse::SECTION_ENTITIES);
    entities.truncate(browse::SECTION_ENTITIES);
    more
}

#[get("/teams/{name}")]
pub async fn team(
    state: web::Data<AppState>,
    name: web::Path<String>,
    query: web::Query<TeamQuery>,
    chrome: Chrome,
) -> Result<TeamPage, AppError> {
    let name = name.into_inner();
    let namespace = query.into_inner().namespace.unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
    blocking(move || {
        let mut conn = state.store.conn()?;
        let index = state.index.get(&mut conn)?;
        let mut t = browse::team(&mut conn, &index, &namespace, &name)?
            .ok_or_else(|| AppError::not_found(format!("no team (Group) {namespace}/{name} in the catalog")))?;
        let profile = t.group.body.get("spec").and_then(|s| s.get("profile"));
        let email = profile.and_then(|p| p.get("email")).and_then(|e| e.as_str()).map(str::to_owned);
        let description = t.group.row.description.clone();
        let behind = serde_urlencoded::to_string(t.behind_query().filter_params()).map_err(AppError::internal)?;
        let behind_href = format!("/catalog?{behind}");
        let scorecards = super::scorecards::team_scorecards(
            &state,
            &mut conn,
            &index,
            &t.group.row.entity_ref,
            &t.subtree,
            &t.owned,
        )?;
        let (children_more, members_more) = (listed(&mut t.children), listed(&mut t.members));
        Ok(TeamPage {
            chrome,
            children_more,
            members_more,
            sub_teams: t.subtree.len().saturating_sub(1),
            email,
            description,
            behind_href,
            scorecards,
            t,
        })
    })
    .await
}
