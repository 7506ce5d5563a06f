//! Golden-path template versions: every version of every template ever ingested, with its folder packed, so that old
//! and new can be rendered side by side. Which version is the latest is semver's call, made by the caller.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::DbConnection;
use crate::schema::template_versions;

/// A version without its packed folder: what lists and drift need.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = template_versions)]
pub struct VersionSummary {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub title: String,
    pub description: String,
    pub owner: Option<String>,
    pub template_type: String,
    /// A JSON array of strings.
    pub tags: String,
    /// The template file it was read from.
    pub path: String,
    pub content_hash: String,
    pub first_seen: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = template_versions)]
pub struct VersionForm<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub version: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub owner: Option<&'a str>,
    pub template_type: &'a str,
    pub tags: &'a str,
    pub path: &'a str,
    pub content_hash: &'a str,
    pub bundle: &'a [u8],
}

/// What [`save`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// A version not seen before.
    New,
    /// A version seen before whose contents changed (the template was edited without a new version).
    Changed,
    /// Exactly as stored.
    Same,
}

/// Stores a version; the first time it was seen is kept across changes.
pub fn save(conn: &mut DbConnection, form: &VersionForm<'_>, now: NaiveDateTime) -> QueryResult<Saved> {
    let key = template_versions::table.find((form.namespace, form.name, form.version));
    let stored: Option<String> = key.select(template_versions::content_hash).first(conn).optional()?;
    match stored {
        Some(hash) if hash == form.content_hash => Ok(Saved::Same),
        Some(_) => {
            diesel::update(key).set((form, template_versions::updated_at.eq(now))).execute(conn)?;
            Ok(Saved::Changed)
        }
        None => {
            diesel::insert_into(template_versions::table)
                .values((form, template_versions::first_seen.eq(now), template_versions::updated_at.eq(now)))
                .execute(conn)?;
            Ok(Saved::New)
        }
    }
}

/// The content hash of one version, when it is kept.
pub fn content_hash(
    conn: &mut DbConnection,
    namespace: &str,
    name: &str,
    version: &str,
) -> QueryResult<Option<String>> {
    template_versions::table
        .find((namespace, name, version))
        .select(template_versions::content_hash)
        .first(conn)
        .optional()
}

/// Every version of every template, by name then in the order stored (callers sort by semver).
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<VersionSummary>> {
    template_versions::table
        .order((template_versions::namespace, template_versions::name, template_versions::version))
        .select(VersionSummary::as_select())
        .load(conn)
}

/// The versions of one template.
pub fn versions_of(conn: &mut DbConnection, namespace: &str, name: &str) -> QueryResult<Vec<VersionSummary>> {
    template_versions::table
        .filter(template_versions::namespace.eq(namespace).and(template_versions::name.eq(name)))
        .select(VersionSummary::as_select())
        .load(conn)
}

/// One version's packed folder.
pub fn bundle(conn: &mut DbConnection, namespace: &str, name: &str, version: &str) -> QueryResult<Option<Vec<u8>>> {
    template_versions::table.find((namespace, name, version)).select(template_versions::bundle).first(conn).optional()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TestDb;

    #[test]
    fn versions_are_kept_and_changes_noticed() {
        for db in TestDb::all() {
            let mut conn = db.store.conn().expect("conn");
            let now = crate::now();
            let form = |version: &'static str, hash: &'static str, bundle: &'static [u8]| VersionForm {
                namespace: "default",
                name: "rust-http-service",
                version,
                title: "Rust HTTP service",
                description: "",
                owner: Some("platform"),
                template_type: "service",
                tags: "[]",
                path: "/t/template.yaml",
                content_hash: hash,
                bundle,
            };
            assert_eq!(save(&mut conn, &form("1.0.0", "a", b"one"), now), Ok(Saved::New));
            assert_eq!(save(&mut conn, &form("1.0.0", "a", b"one"), now), Ok(Saved::Same));
            assert_eq!(save(&mut conn, &form("1.1.0", "b", b"two"), now), Ok(Saved::New));
            let later = now + chrono::Duration::minutes(5);
            assert_eq!(save(&mut conn, &form("1.0.0", "c", b"three"), later), Ok(Saved::Changed));
            let versions = versions_of(&mut conn, "default", "rust-http-service").expect("versions");
            assert_eq!(versions.len(), 2, "{}", db.backend_name());
            let first = versions.iter().find(|v| v.version == "1.0.0").expect("1.0.0");
            assert_eq!((first.content_hash.as_str(), first.first_seen, first.updated_at), ("c", now, later));
            assert_eq!(bundle(&mut conn, "default", "rust-http-service", "1.0.0"), Ok(Some(b"three".to_vec())));
            assert_eq!(bundle(&mut conn, "default", "rust-http-service", "9.0.0"), Ok(None));
            assert_eq!(all(&mut conn).map(|v| v.len()), Ok(2));
        }
    }
}
