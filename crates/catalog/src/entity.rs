//! The entity model: kinds, names and references, with Backstage's rules for what a valid one is.

use std::fmt;

use serde::{Deserialize, Serialize};

pub const BACKSTAGE_API_VERSION: &str = "backstage.io/v1alpha1";
pub const SCAFFOLDER_API_VERSION: &str = "scaffolder.backstage.io/v1beta3";
pub const DEFAULT_NAMESPACE: &str = "default";

/// The kinds of entity the catalog knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    Component,
    Api,
    System,
    Domain,
    Resource,
    Group,
    User,
    Location,
    Template,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Component,
        Kind::Api,
        Kind::System,
        Kind::Domain,
        Kind::Resource,
        Kind::Group,
        Kind::User,
        Kind::Location,
        Kind::Template,
    ];

    /// Kinds are matched without regard to case, as Backstage does.
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(text))
    }

    /// The spelling Backstage writes in descriptors.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Component => "Component",
            Kind::Api => "API",
            Kind::System => "System",
            Kind::Domain => "Domain",
            Kind::Resource => "Resource",
            Kind::Group => "Group",
            Kind::User => "User",
            Kind::Location => "Location",
            Kind::Template => "Template",
        }
    }

    /// The apiVersion a descriptor of this kind carries.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Template => SCAFFOLDER_API_VERSION,
            _ => BACKSTAGE_API_VERSION,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reference to an entity: `kind:namespace/name`, compared and stored in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityRef {
    kind: String,
    namespace: String,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("`{0}` is not an entity reference: it is empty")]
    Empty(String),
    #[error("`{0}` needs a kind, written as kind:name (for example component:{0})")]
    MissingKind(String),
    #[error("`{text}` has an invalid {part}: {reason}")]
    Invalid { text: String, part: &'static str, reason: String },
}

impl EntityRef {
    /// A reference from parts already known to be valid names.
    pub fn new(kind: &str, namespace: &str, name: &str) -> EntityRef {
        EntityRef {
            kind: kind.to_ascii_lowercase(),
            namespace: namespace.to_ascii_lowercase(),
            name: name.to_ascii_lowercase(),
        }
    }

    /// Parses `[kind:][namespace/]name`, filling the kind and namespace from context where they are left out.
    pub fn parse(text: &str, default_kind: Option<Kind>, default_namespace: &str) -> Result<EntityRef, RefError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(RefError::Empty(text.to_owned()));
        }
        let (kind, rest) = match trimmed.split_once(':') {
            Some((kind, rest)) => (kind.to_owned(), rest),
            None => match default_kind {
                Some(kind) => (kind.as_str().to_owned(), trimmed),
                None => return Err(RefError::MissingKind(trimmed.to_owned())),
            },
        };
        let (namespace, name) = match rest.split_once('/') {
            Some((namespace, name)) => (namespace, name),
            None => (default_namespace, rest),
        };
        let invalid = |part, reason: String| RefError::Invalid { text: trimmed.to_owned(), part, reason };
        if let Err(reason) = check_kind(&kind) {
            return Err(invalid("kind", reason));
        }
        if let Err(reason) = check_namespace(&namespace.to_ascii_lowercase()) {
            return Err(invalid("namespace", reason));
        }
        if let Err(reason) = check_name(name) {
            return Err(invalid("name", reason));
        }
        Ok(EntityRef::new(&kind, namespace, name))
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shortest form that reads back to this reference in the given context (`checkout`, `group:payments`).
    pub fn humanize(&self, default_kind: Option<&str>) -> String {
        let mut out = String::new();
        if default_kind.is_none_or(|k| !k.eq_ignore_ascii_case(&self.kind)) {
            out.push_str(&self.kind);
            out.push(':');
        }
        if self.namespace != DEFAULT_NAMESPACE {
            out.push_str(&self.namespace);
            out.push('/');
        }
        out.push_str(&self.name);
        out
    }
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.kind, self.namespace, self.name)
    }
}

/// `[a-zA-Z][a-zA-Z0-9]*`, at most 63 characters.
pub fn check_kind(text: &str) -> Result<(), String> {
    let mut chars = text.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric()) || text.len() > 63 {
        return Err(format!("`{text}` must be letters and digits starting with a letter, at most 63 characters"));
    }
    Ok(())
}

/// Backstage's object names: 1–63 characters of `[a-zA-Z0-9]` separated by single `-`, `_` or `.`.
pub fn check_name(text: &str) -> Result<(), String> {
    if text.is_empty() || text.len() > 63 {
        return Err(format!("`{text}` must be 1 to 63 characters long"));
    }
    let bytes = text.as_bytes();
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    let sep = |b: u8| matches!(b, b'-' | b'_' | b'.');
    let first_last_ok = bytes.first().copied().is_some_and(alnum) && bytes.last().copied().is_some_and(alnum);
    let inner_ok = bytes.iter().all(|b| alnum(*b) || sep(*b)) && !bytes.windows(2).any(|w| sep(w[0]) && sep(w[1]));
    if !first_last_ok || !inner_ok {
        return Err(format!(
            "`{text}` must be letters and digits, optionally separated by single `-`, `_` or `.`, starting and ending \
             with a letter or digit"
        ));
    }
    Ok(())
}

/// DNS labels: 1–63 characters of `[a-z0-9]` separated by single `-`.
pub fn check_namespace(text: &str) -> Result<(), String> {
    if is_dns_label(text) {
        Ok(())
    } else {
        Err(format!("`{text}` must be 1 to 63 lower-case letters and digits, optionally separated by single `-`"))
    }
}

fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

fn is_dns_subdomain(text: &str) -> bool {
    !text.is_empty() && text.len() <= 253 && text.split('.').all(is_dns_label)
}

/// Label and annotation keys: an optional DNS-subdomain prefix and `/`, then a name (`backstage.io/techdocs-ref`).
pub fn check_key(text: &str) -> Result<(), String> {
    let (prefix, name) = match text.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, text),
    };
    if let Some(prefix) = prefix
        && !is_dns_subdomain(prefix)
    {
        return Err(format!("the prefix of `{text}` must be a DNS subdomain such as `example.com`"));
    }
    check_name(name).map_err(|reason| format!("the key `{text}` is invalid: {reason}"))
}

/// Label values: empty, or a valid name.
pub fn check_label_value(text: &str) -> Result<(), String> {
    if text.is_empty() { Ok(()) } else { check_name(text) }
}

/// Tags: 1–63 characters of `[a-z0-9:+#]` separated by single `-`.
pub fn check_tag(text: &str) -> Result<(), String> {
    let ok = !text.is_empty()
        && text.len() <= 63
        && text.split('-').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b':' | b'+' | b'#'))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tag `{text}` must be 1 to 63 characters of lower-case letters, digits, `:`, `+` or `#`, separated by \
             single `-`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_take_defaults_from_context() {
        let r = EntityRef::parse("team-a", Some(Kind::Group), "default").expect("valid");
        assert_eq!(r.to_string(), "group:default/team-a");
        let r = EntityRef::parse("Component:Prod/Checkout", None, "default").expect("valid");
        assert_eq!(r.to_string(), "component:prod/checkout");
        let r = EntityRef::parse("user:guest", Some(Kind::Group), "development").expect("valid");
        assert_eq!(r.to_string(), "user:development/guest");
    }

    #[test]
    fn refs_without_kind_need_a_default() {
        assert_eq!(EntityRef::parse("artists-db", None, "default"), Err(RefError::MissingKind("artists-db".into())));
        assert!(matches!(EntityRef::parse("component:bad name", None, "default"), Err(RefError::Invalid { .. })));
        assert!(matches!(EntityRef::parse("  ", None, "default"), Err(RefError::Empty(_))));
    }

    #[test]
    fn humanize_drops_what_context_supplies() {
        let r = EntityRef::new("group", "default", "team-a");
        assert_eq!(r.humanize(Some("Group")), "team-a");
        assert_eq!(r.humanize(None), "group:team-a");
        assert_eq!(EntityRef::new("user", "dev", "guest").humanize(None), "user:dev/guest");
    }

    #[test]
    fn names_follow_backstage_rules() {
        for ok in ["a", "artist-lookup", "A.b_c-d", "x1", &"a".repeat(63)] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "a b", "ä", &"a".repeat(64)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn namespaces_tags_and_keys() {
        assert!(check_namespace("default").is_ok());
        assert!(check_namespace("Default").is_err());
        assert!(check_namespace("a_b").is_err());
        assert!(check_tag("java").is_ok());
        assert!(check_tag("c++").is_ok());
        assert!(check_tag("Java").is_err());
        assert!(check_tag("a--b").is_err());
        assert!(check_key("backstage.io/techdocs-ref").is_ok());
        assert!(check_key("simple").is_ok());
        assert!(check_key("Bad_Prefix/x").is_err());
        assert!(check_key("example.com/").is_err());
        assert!(check_label_value("").is_ok());
    }

    #[test]
    fn kinds_parse_case_insensitively() {
        assert_eq!(Kind::parse("api"), Some(Kind::Api));
        assert_eq!(Kind::parse("COMPONENT"), Some(Kind::Component));
        assert_eq!(Kind::parse("Widget"), None);
    }
}
