//! Sessions: a random secret in an `HttpOnly` cookie, its SHA-256 as the key of a `sessions` row. Any process reads
//! the row, so sessions survive restarts and work behind a load balancer; signing out deletes it.

use actix_web::cookie::{Cookie, SameSite, time};
use catalog::people::MatchedUser;
use chrono::{Duration, NaiveDateTime};
use store::DbConnection;
use store::sessions::{self, SessionRow};

use super::oidc::Identity;
use super::{Person, random_secret, secret_hash};

pub const SESSION: &str = "portolan_session";
pub const LOGIN: &str = "portolan_login";

/// How often a session's last use is written (not on every request).
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// A cookie's name: `__Host-` prefixed behind TLS, so no other site (not even a sibling subdomain) can set it.
pub fn cookie_name(base: &str, secure: bool) -> String {
    if secure { format!("__Host-{base}") } else { base.to_owned() }
}

/// An `HttpOnly` cookie for the whole portal; `max_age` `None` removes it.
pub fn cookie(
    name: String,
    value: String,
    secure: bool,
    same_site: SameSite,
    max_age: Option<Duration>,
) -> Cookie<'static> {
    let mut cookie = Cookie::build(name, value).path("/").http_only(true).secure(secure).same_site(same_site).finish();
    match max_age {
        Some(age) => cookie.set_max_age(time::Duration::seconds(age.num_seconds())),
        None => cookie.make_removal(),
    }
    cookie
}

/// Opens a session for someone the provider vouched for; returns the cookie's secret.
pub fn open(
    conn: &mut DbConnection,
    identity: &Identity,
    user: Option<&MatchedUser>,
    lifetime: Duration,
    now: NaiveDateTime,
) -> store::QueryResult<String> {
    let secret = random_secret();
    let row = SessionRow {
        id_hash: secret_hash(&secret),
        issuer: identity.issuer.clone(),
        subject: identity.subject.clone(),
        email: identity.email.clone(),
        display_name: user.map_or_else(|| identity.display_name.clone(), |u| u.display_name.clone()),
        user_ref: user.map(|u| u.entity_ref.clone()),
        created_at: now,
        expires_at: now + lifetime,
        last_seen_at: now,
    };
    sessions::insert(conn, &row)?;
    Ok(secret)
}

/// The person a session cookie belongs to, when the session is live.
pub fn person(conn: &mut DbConnection, secret: &str, now: NaiveDateTime) -> store::QueryResult<Option<Person>> {
    let id_hash = secret_hash(secret);
    let Some(row) = sessions::live(conn, &id_hash, now)? else { return Ok(None) };
    if now - row.last_seen_at >= TOUCH_EVERY {
        sessions::touch(conn, &id_hash, now)?;
    }
    Ok(Some(Person { session: row.id_hash, display_name: row.display_name, email: row.email, user_ref: row.user_ref }))
}
