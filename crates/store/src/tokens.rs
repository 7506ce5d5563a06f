//! API tokens for machines (CI pushing SLI events, registering services). Only a hash of each secret is stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::api_tokens;
use crate::{DbConnection, with_backend};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    /// The team it acts for, when scoped to one.
    pub team: Option<String>,
    pub secret_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    /// Who made it: `user:default/alice`, or `cli` for `portolan token create`.
    pub created_by: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct TokenForm<'a> {
    pub name: &'a str,
    pub team: Option<&'a str>,
    pub secret_hash: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub created_by: Option<&'a str>,
}

/// Stores a new token; fails on a name or hash already taken.
pub fn insert(conn: &mut DbConnection, form: &TokenForm<'_>) -> QueryResult<i64> {
    with_backend!(conn, |c| diesel::insert_into(api_tokens::table).values(form).returning(api_tokens::id).get_result(c))
}

pub fn by_hash(conn: &mut DbConnection, secret_hash: &str) -> QueryResult<Option<TokenRow>> {
    api_tokens::table
        .filter(api_tokens::secret_hash.eq(secret_hash))
        .select(TokenRow::as_select())
        .first(conn)
        .optional()
}

pub fn by_name(conn: &mut DbConnection, name: &str) -> QueryResult<Option<TokenRow>> {
    api_tokens::table.filter(api_tokens::name.eq(name)).select(TokenRow::as_select()).first(conn).optional()
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<TokenRow>> {
    api_tokens::table.order(api_tokens::name).select(TokenRow::as_select()).load(conn)
}

/// A team's tokens, newest first.
pub fn of_team(conn: &mut DbConnection, team: &str) -> QueryResult<Vec<TokenRow>> {
    api_tokens::table
        .filter(api_tokens::team.eq(team))
        .order((api_tokens::created_at.desc(), api_tokens::id.desc()))
        .select(TokenRow::as_select())
        .load(conn)
}

pub fn touch(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(api_tokens::table.find(id)).set(api_tokens::last_used_at.eq(at)).execute(conn).map(drop)
}

/// Revokes a token by name; returns whether one was found that was not revoked already.
pub fn revoke(conn: &mut DbConnection, name: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let changed =
        diesel::update(api_tokens::table.filter(api_tokens::name.eq(name).and(api_tokens::revoked_at.is_null())))
            .set(api_tokens::revoked_at.eq(at))
            .execute(conn)?;
    Ok(changed > 0)
}
