//! API tokens for machines: random secrets shown once, stored as SHA-256 hashes, with expiry, last use and
//! revocation. A token is `ptl_` followed by 32 random bytes in hex; a hash of such a secret cannot be reversed, so
//! a fast hash is the right one (as for GitHub's and GitLab's tokens), and looking it up by hash compares no secret.

use chrono::{Duration, NaiveDateTime};
use rand::RngCore;
use sha2::{Digest, Sha256};
use store::DbConnection;
use store::tokens::{self, TokenForm, TokenRow};

/// What every Portolan token starts with, so that secret scanners can find leaked ones.
pub const PREFIX: &str = "ptl_";

/// A new token: its secret (shown once) and its row.
#[derive(Debug)]
pub struct Created {
    pub secret: String,
    pub row: TokenRow,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("a token named `{0}` exists already; revoke it or choose another name")]
    NameTaken(String),
    #[error("token names are 1 to 64 letters, digits, `-`, `_` or `.`; `{0}` is not")]
    BadName(String),
    #[error(transparent)]
    Query(#[from] store::QueryError),
}

/// Why a presented token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Unknown,
    Revoked,
    Expired,
}

impl Refused {
    pub fn reason(self) -> &'static str {
        match self {
            Refused::Unknown => "the token is not known",
            Refused::Revoked => "the token was revoked",
            Refused::Expired => "the token has expired",
        }
    }
}

pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates a token named `name`, for `team` (a Group reference) when given, valid for `valid_for` when given, made
/// by `created_by`.
pub fn create(
    conn: &mut DbConnection,
    name: &str,
    team: Option<&str>,
    valid_for: Option<Duration>,
    created_by: &str,
    now: NaiveDateTime,
) -> Result<Created, TokenError> {
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid_name {
        return Err(TokenError::BadName(name.to_owned()));
    }
    if tokens::by_name(conn, name)?.is_some() {
        return Err(TokenError::NameTaken(name.to_owned()));
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{PREFIX}{}", hex::encode(bytes));
    let secret_hash = hash(&secret);
    let form = TokenForm {
        name,
        team,
        secret_hash: &secret_hash,
        created_at: now,
        expires_at: valid_for.map(|d| now + d),
        created_by: Some(created_by),
    };
    tokens::insert(conn, &form)?;
    let row = tokens::by_name(conn, name)?.ok_or(store::QueryError::NotFound)?;
    Ok(Created { secret, row })
}

/// The token a secret belongs to, when it is known, not revoked and not expired; records its use (to the minute).
pub fn authenticate(
    conn: &mut DbConnection,
    secret: &str,
    now: NaiveDateTime,
) -> Result<Result<TokenRow, Refused>, TokenError> {
    let presented = hash(secret);
    let Some(row) = tokens::by_hash(conn, &presented)? else {
        return Ok(Err(Refused::Unknown));
    };
    // The row was found by its hash; comparing again in constant time keeps the decision itself free of timing.
    if !super::same_secret(&row.secret_hash, &presented) {
        return Ok(Err(Refused::Unknown));
    }
    if row.revoked_at.is_some() {
        return Ok(Err(Refused::Revoked));
    }
    if row.expires_at.is_some_and(|expires| expires <= now) {
        return Ok(Err(Refused::Expired));
    }
    // Last use to the minute: a busy token does not write on every request.
    if row.last_used_at.is_none_or(|used| now - used >= Duration::minutes(1)) {
        tokens::touch(conn, row.id, now)?;
    }
    Ok(Ok(row))
}

#[cfg(test)]
mod tests {
    use store::test_support::TestDb;

    use super::*;

    #[test]
    fn tokens_are_stored_hashed_and_refused_when_revoked_or_expired() {
        for db in TestDb::all() {
            let mut conn = db.store.conn().expect("connection");
            let now = store::now();
            let created = create(&mut conn, "ci-checkout", Some("payments"), None, "cli", now).expect("created");
            assert!(created.secret.starts_with(PREFIX) && created.secret.len() == PREFIX.len() + 64);
            assert_ne!(created.row.secret_hash, created.secret);
            assert!(!created.row.secret_hash.contains(&created.secret[PREFIX.len()..]));
            assert!(matches!(
                create(&mut conn, "ci-checkout", None, None, "cli", now),
                Err(TokenError::NameTaken(name)) if name == "ci-checkout"
            ));
            assert!(matches!(create(&mut conn, "has space", None, None, "cli", now), Err(TokenError::BadName(_))));

            let used = authenticate(&mut conn, &created.secret, now).expect("query").expect("accepted");
            assert_eq!((used.name.as_str(), used.team.as_deref()), ("ci-checkout", Some("payments")));
            assert_eq!(tokens::by_name(&mut conn, "ci-checkout").expect("query").expect("row").last_used_at, Some(now));
            let soon = now + Duration::seconds(30);
            authenticate(&mut conn, &created.secret, soon).expect("query").expect("accepted");
            let used = tokens::by_name(&mut conn, "ci-checkout").expect("query").expect("row").last_used_at;
            assert_eq!(used, Some(now), "not written again within the minute");
            let later = now + Duration::minutes(2);
            authenticate(&mut conn, &created.secret, later).expect("query").expect("accepted");
            let used = tokens::by_name(&mut conn, "ci-checkout").expect("query").expect("row").last_used_at;
            assert_eq!(used, Some(later));
            assert_eq!(authenticate(&mut conn, "ptl_0000", now).expect("query").err(), Some(Refused::Unknown));

            assert!(tokens::revoke(&mut conn, "ci-checkout", now).expect("revoked"));
            assert_eq!(authenticate(&mut conn, &created.secret, now).expect("query").err(), Some(Refused::Revoked));

            let short = create(&mut conn, "short", None, Some(Duration::days(1)), "cli", now).expect("created");
            assert!(authenticate(&mut conn, &short.secret, now + Duration::hours(23)).expect("query").is_ok());
            let later = now + Duration::days(1);
            assert_eq!(authenticate(&mut conn, &short.secret, later).expect("query").err(), Some(Refused::Expired));
        }
    }
}
