//! People and the teams they belong to: who a signed-in person is in the catalog, which Groups they are members of,
//! and which teams an owner sits under. What the portal's permissions are decided from.

use std::collections::HashSet;

use serde_json::Value;
use store::{DbConnection, entities};

use crate::entity::Kind;

/// A catalog `User` a signed-in person was matched to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedUser {
    pub entity_ref: String,
    /// `spec.profile.displayName`, else the title, else the name.
    pub display_name: String,
}

/// The catalog User with this email (`spec.profile.email`, compared without regard to case), else the User named
/// `name` in the default namespace, else in any namespace when only one has that name.
pub fn match_user(
    conn: &mut DbConnection,
    email: Option<&str>,
    name: Option<&str>,
) -> store::QueryResult<Option<MatchedUser>> {
    if let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) {
        for (entity_ref, body) in entities::bodies_of_kind_containing_any_case(conn, Kind::User.as_str(), email)? {
            let Ok(body) = serde_json::from_str::<Value>(&body) else { continue };
            let profile_email = body.pointer("/spec/profile/email").and_then(Value::as_str).unwrap_or_default();
            if profile_email.trim().eq_ignore_ascii_case(email) {
                return Ok(Some(matched(entity_ref, &body)));
            }
        }
    }
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else { return Ok(None) };
    let name = name.to_ascii_lowercase();
    let mut same_name: Vec<String> = entities::names_of_kind(conn, Kind::User.as_str())?
        .into_iter()
        .filter(|(entity_ref, _)| entity_ref.rsplit('/').next() == Some(name.as_str()))
        .map(|(entity_ref, _)| entity_ref)
        .collect();
    same_name.sort();
    let default_ref = format!("user:{}/{name}", crate::entity::DEFAULT_NAMESPACE);
    let chosen = match same_name.as_slice() {
        [only] => only.clone(),
        several if several.contains(&default_ref) => default_ref,
        _ => return Ok(None),
    };
    let Some(row) = entities::by_ref(conn, &chosen)? else { return Ok(None) };
    let body = serde_json::from_str::<Value>(&row.body).unwrap_or(Value::Null);
    Ok(Some(matched(chosen, &body)))
}

fn matched(entity_ref: String, body: &Value) -> MatchedUser {
    let text = |pointer: &str| body.pointer(pointer).and_then(Value::as_str).filter(|s| !s.trim().is_empty());
    let display_name = text("/spec/profile/displayName")
        .or_else(|| text("/metadata/title"))
        .or_else(|| text("/metadata/name"))
        .unwrap_or(&entity_ref)
        .to_owned();
    MatchedUser { entity_ref, display_name }
}

/// The Groups a User is a member of (its `memberOf` relations), sorted.
pub fn groups_of(conn: &mut DbConnection, user_ref: &str) -> store::QueryResult<Vec<String>> {
    let mut groups: Vec<String> = entities::relations_from(conn, user_ref)?
        .into_iter()
        .filter(|r| r.relation_type == "memberOf")
        .map(|r| r.target_ref)
        .collect();
    groups.sort();
    groups.dedup();
    Ok(groups)
}

/// A group and every group above it, nearest first, following `childOf` relations (cycles are cut).
pub fn ancestors(conn: &mut DbConnection, group_ref: &str) -> store::QueryResult<Vec<String>> {
    follow(conn, group_ref, "childOf")
}

/// `start` and everything reached from it by relations of one type, breadth-first (cycles are cut).
pub fn follow(conn: &mut DbConnection, start: &str, relation_type: &str) -> store::QueryResult<Vec<String>> {
    let mut reached = vec![start.to_owned()];
    let mut seen: HashSet<String> = reached.iter().cloned().collect();
    let mut frontier = reached.clone();
    while !frontier.is_empty() {
        let next = entities::relations_from_refs(conn, &frontier, Some(relation_type))?;
        frontier = next.into_iter().map(|r| r.target_ref).filter(|t| seen.insert(t.clone())).collect();
        reached.extend(frontier.iter().cloned());
    }
    Ok(reached)
}
