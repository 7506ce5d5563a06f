//! Who may change what. Reading is open to anyone signed in (or to anyone, when configured). Writing is owned: the
//! members of the Group that owns a thing, and of the groups above it, may change it; a team's API token acts for
//! that team and the teams below it; members of the admin groups may do everything. The decision itself
//! ([`decide`]) is a pure function over what the catalog says; [`authorize`] gathers that and asks it.

use actix_web::http::StatusCode;
use catalog::entity::{EntityRef, Kind};
use catalog::people;
use serde_json::Value;
use store::DbConnection;

use super::{Caller, Principal, audit};
use crate::errors::AppError;

/// What a write needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need<'a> {
    /// To act for the owner of something (a Group or a User reference).
    OwnerOf(&'a str),
    /// To be an admin.
    Admin,
}

/// What the catalog says about the principal and the owner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The Groups the person is a member of.
    pub member_of: Vec<String>,
    /// The configured admin Groups.
    pub admin_groups: Vec<String>,
    /// The owner and every group above it, nearest first.
    pub owner_chain: Vec<String>,
}

/// Why a write was refused: the person must sign in (401), or may not (403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    SignInRequired(String),
    Forbidden(String),
}

impl Denial {
    pub fn reason(&self) -> &str {
        match self {
            Denial::SignInRequired(reason) | Denial::Forbidden(reason) => reason,
        }
    }
}

/// Decides whether `principal` may do `doing` (written for people: "scaffold a service for group:default/data").
pub fn decide(principal: &Principal, need: Need<'_>, facts: &Facts, doing: &str) -> Result<(), Denial> {
    let admins = || facts.admin_groups.join(", ");
    let owner_clause = || match facts.owner_chain.split_first() {
        Some((owner, [])) => format!("it belongs to {owner}"),
        Some((owner, above)) => format!("it belongs to {owner} (under {})", above.join(", ")),
        None => "it has no owner".to_owned(),
    };
    let only = |need: Need<'_>| match need {
        Need::OwnerOf(_) if facts.admin_groups.is_empty() => "only its owners may".to_owned(),
        Need::OwnerOf(_) => format!("only its owners and admins ({}) may", admins()),
        Need::Admin if facts.admin_groups.is_empty() => {
            "no admin groups are configured (admin_groups), so nobody may".to_owned()
        }
        Need::Admin => format!("only admins (members of {}) may", admins()),
    };
    let owns = |groups: &[String]| match need {
        Need::OwnerOf(_) => groups.iter().any(|g| facts.owner_chain.contains(g)),
        Need::Admin => false,
    };
    match principal {
        Principal::Local => Ok(()),
        Principal::Anonymous => Err(Denial::SignInRequired(format!("sign in to {doing}"))),
        Principal::Token(token) => match &token.team {
            None => Ok(()),
            Some(team) if owns(std::slice::from_ref(team)) => Ok(()),
            Some(team) => Err(Denial::Forbidden(match need {
                Need::OwnerOf(_) => {
                    format!("token `{}` acts for {team}, and may not {doing}: {}", token.name, owner_clause())
                }
                Need::Admin => format!("token `{}` acts for {team}; {} {doing}", token.name, only(need)),
            })),
        },
        Principal::Person(person) => {
            if facts.member_of.iter().any(|g| facts.admin_groups.contains(g)) {
                return Ok(());
            }
            let Some(user) = &person.user_ref else {
                let who = person.email.as_deref().unwrap_or(&person.display_name);
                return Err(Denial::Forbidden(format!(
                    "you are signed in as a viewer: the catalog has no User for {who}, so you may read but not {doing}"
                )));
            };
            if owns(&facts.member_of) || matches!(need, Need::OwnerOf(owner) if owner == user) {
                return Ok(());
            }
            let groups = if facts.member_of.is_empty() {
                format!("{user} is a member of no group")
            } else {
                format!("{user} is a member of {}", facts.member_of.join(", "))
            };
            Err(Denial::Forbidden(match need {
                Need::OwnerOf(_) => format!("you may not {doing}: {}, and {groups}", owner_clause()),
                Need::Admin => format!("{} {doing}, and {groups}", only(need)),
            }))
        }
    }
}

/// Normalises configured admin groups (`platform`, `group:default/platform`) to references.
pub fn admin_group_refs(configured: &[String]) -> Result<Vec<String>, String> {
    configured
        .iter()
        .map(|g| {
            EntityRef::parse(g, Some(Kind::Group), catalog::entity::DEFAULT_NAMESPACE)
                .map(|r| r.to_string())
                .map_err(|e| format!("admin_groups: {e}"))
        })
        .collect()
}

/// Gathers the facts for `principal` and decides; a denial is written to the audit log and answered as 401/403.
pub fn authorize(
    conn: &mut DbConnection,
    admin_groups: &[String],
    caller: &Caller,
    need: Need<'_>,
    action: &str,
    doing: &str,
) -> Result<(), AppError> {
    let principal = &caller.principal;
    let member_of = match principal {
        Principal::Person(person) => match &person.user_ref {
            Some(user) => people::groups_of(conn, user).map_err(AppError::internal)?,
            None => Vec::new(),
        },
        _ => Vec::new(),
    };
    let (owner_chain, target) = match need {
        Need::OwnerOf(owner) => (people::ancestors(conn, owner).map_err(AppError::internal)?, owner.to_owned()),
        Need::Admin => (Vec::new(), "portal".to_owned()),
    };
    let token_team;
    let principal = match principal {
        // A token's team as written when it was made (`payments`) or as a reference.
        Principal::Token(token) => {
            token_team = Principal::Token(super::TokenHolder {
                name: token.name.clone(),
                team: token.team.as_deref().map(|t| {
                    EntityRef::parse(t, Some(Kind::Group), catalog::entity::DEFAULT_NAMESPACE)
                        .map_or_else(|_| t.to_owned(), |r| r.to_string())
                }),
            });
            &token_team
        }
        other => other,
    };
    let facts = Facts { member_of, admin_groups: admin_groups.to_vec(), owner_chain };
    decide(principal, need, &facts, doing).map_err(|denial| {
        let details = serde_json::json!({ "reason": denial.reason() });
        if let Err(e) = audit::record(conn, caller, action, &target, audit::Outcome::Denied, &details) {
            tracing::error!(error = %e, "a denial could not be written to the audit log");
        }
        denied(&denial)
    })
}

/// For writes that are only scheduled by the request (a refresh, a snapshot): asks, on behalf of the owner `owner`
/// (admins only when `None`), and writes the allowed line at once.
pub async fn permit(
    state: &actix_web::web::Data<crate::AppState>,
    caller: &Caller,
    owner: Option<String>,
    action: &'static str,
    target: String,
    doing: String,
) -> Result<(), AppError> {
    let (state, caller) = (state.clone(), caller.clone());
    crate::routes::blocking(move || {
        let mut conn = state.store.conn()?;
        let need = owner.as_deref().map_or(Need::Admin, Need::OwnerOf);
        authorize(&mut conn, &state.auth.admin_groups, &caller, need, action, &doing)?;
        audit::record(&mut conn, &caller, action, &target, audit::Outcome::Allowed, &Value::Null)
            .map_err(AppError::internal)
    })
    .await
}

/// A denial as the error every page and API call answers with.
pub fn denied(denial: &Denial) -> AppError {
    match denial {
        Denial::SignInRequired(reason) => AppError::unauthorized(reason.clone()),
        Denial::Forbidden(reason) => AppError::new(StatusCode::FORBIDDEN, "forbidden", reason.clone(), Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Person, TokenHolder};
    use super::*;

    fn person(user: Option<&str>) -> Principal {
        Principal::Person(Person {
            session: "s".into(),
            display_name: "Alice".into(),
            email: Some("alice@northwind.example".into()),
            user_ref: user.map(str::to_owned),
        })
    }

    fn token(team: Option<&str>) -> Principal {
        Principal::Token(TokenHolder { name: "ci".into(), team: team.map(str::to_owned) })
    }

    fn facts(member_of: &[&str], admins: &[&str], chain: &[&str]) -> Facts {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        Facts { member_of: owned(member_of), admin_groups: owned(admins), owner_chain: owned(chain) }
    }

    const CHECKOUT: &[&str] = &["group:default/checkout-team", "group:default/commerce", "group:default/engineering"];
    const OWNER: Need<'static> = Need::OwnerOf("group:default/checkout-team");

    #[test]
    fn members_of_the_owner_and_of_the_groups_above_it_may_write() {
        let alice = person(Some("user:default/alice"));
        assert_eq!(decide(&alice, OWNER, &facts(&["group:default/checkout-team"], &[], CHECKOUT), "x"), Ok(()));
        assert_eq!(decide(&alice, OWNER, &facts(&["group:default/commerce"], &[], CHECKOUT), "x"), Ok(()));
        let Err(Denial::Forbidden(reason)) =
            decide(&alice, OWNER, &facts(&["group:default/data"], &[], CHECKOUT), "push events")
        else {
            panic!("a member of another team is refused");
        };
        assert!(reason.contains("you may not push events"), "{reason}");
        assert!(reason.contains("belongs to group:default/checkout-team (under group:default/commerce"), "{reason}");
        assert!(reason.contains("user:default/alice is a member of group:default/data"), "{reason}");
    }

    #[test]
    fn a_member_of_a_child_team_may_not_write_for_its_parent() {
        let chain = &["group:default/commerce", "group:default/engineering"];
        let alice = person(Some("user:default/alice"));
        let verdict = decide(&alice, Need::OwnerOf("group:default/commerce"), &facts(&[CHECKOUT[0]], &[], chain), "x");
        assert!(matches!(verdict, Err(Denial::Forbidden(_))));
    }

    #[test]
    fn admins_may_do_everything_and_only_they_may_do_admin_things() {
        let bob = person(Some("user:default/bob"));
        let admin = facts(&["group:default/platform"], &["group:default/platform"], CHECKOUT);
        assert_eq!(decide(&bob, OWNER, &admin, "x"), Ok(()));
        assert_eq!(decide(&bob, Need::Admin, &admin, "x"), Ok(()));
        let alice = person(Some("user:default/alice"));
        let Err(Denial::Forbidden(reason)) =
            decide(&alice, Need::Admin, &facts(&[CHECKOUT[0]], &["group:default/platform"], &[]), "read the audit log")
        else {
            panic!("a team member is no admin");
        };
        assert!(
            reason.starts_with("only admins (members of group:default/platform) may read the audit log"),
            "{reason}"
        );
        let none = decide(&alice, Need::Admin, &facts(&[CHECKOUT[0]], &[], &[]), "read the audit log");
        assert!(matches!(none, Err(Denial::Forbidden(r)) if r.contains("no admin groups are configured")));
    }

    #[test]
    fn a_person_owns_what_is_owned_by_their_user() {
        let alice = person(Some("user:default/alice"));
        let need = Need::OwnerOf("user:default/alice");
        assert_eq!(decide(&alice, need, &facts(&[], &[], &["user:default/alice"]), "x"), Ok(()));
        let other = Need::OwnerOf("user:default/bob");
        assert!(decide(&alice, other, &facts(&[], &[], &["user:default/bob"]), "x").is_err());
    }

    #[test]
    fn viewers_and_anonymous_callers_change_nothing_and_local_use_changes_everything() {
        let viewer = person(None);
        let Err(Denial::Forbidden(reason)) = decide(&viewer, OWNER, &facts(&[], &[], CHECKOUT), "scaffold") else {
            panic!("a viewer is refused");
        };
        assert!(reason.contains("viewer") && reason.contains("alice@northwind.example"), "{reason}");
        assert!(matches!(decide(&Principal::Anonymous, OWNER, &Facts::default(), "x"), Err(Denial::SignInRequired(_))));
        assert_eq!(decide(&Principal::Local, Need::Admin, &Facts::default(), "x"), Ok(()));
    }

    #[test]
    fn a_team_token_acts_for_its_team_and_the_teams_below_it() {
        let commerce = token(Some("group:default/commerce"));
        assert_eq!(decide(&commerce, OWNER, &facts(&[], &[], CHECKOUT), "x"), Ok(()));
        let data = token(Some("group:default/data"));
        let Err(Denial::Forbidden(reason)) = decide(&data, OWNER, &facts(&[], &[], CHECKOUT), "push events") else {
            panic!("another team's token is refused");
        };
        assert!(reason.starts_with("token `ci` acts for group:default/data, and may not push events"), "{reason}");
        assert!(decide(&data, Need::Admin, &facts(&[], &["group:default/platform"], &[]), "x").is_err());
        assert_eq!(decide(&token(None), Need::Admin, &Facts::default(), "x"), Ok(()), "a portal-wide token");
    }
}
