//! Who is asking, and what they may do: OpenID Connect sign-in, sessions, API tokens, permissions by ownership, CSRF
//! tokens, rate limits, security headers and the audit log.
//!
//! Every request passes [`middleware::resolve`], which works out the [`Principal`] once (a Bearer token, a session
//! cookie, or nobody), refuses readers who must sign in, and leaves a [`Caller`] for the handlers. Writes ask
//! [`permissions`] and leave a line in the [`audit`] log.

pub mod audit;
pub mod csrf;
pub mod headers;
pub mod middleware;
pub mod oidc;
pub mod permissions;
pub mod rate_limit;
pub mod sessions;
pub mod tokens;

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Sign-in is off: the one person at this machine, who may do everything.
    Local,
    /// Nobody signed in.
    Anonymous,
    /// A person signed in through the OpenID provider.
    Person(Person),
    /// A machine with an API token.
    Token(TokenHolder),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The SHA-256 of the session cookie (the row's key).
    pub session: String,
    pub display_name: String,
    pub email: Option<String>,
    /// The catalog User they were matched to; `None` for a viewer the catalog does not know.
    pub user_ref: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHolder {
    pub name: String,
    /// The Group it acts for; `None` for a portal-wide token made with `portolan token create` and no `--team`.
    pub team: Option<String>,
}

impl Principal {
    /// How the audit log names it.
    pub fn actor(&self) -> String {
        match self {
            Principal::Local => "local".to_owned(),
            Principal::Anonymous => "anonymous".to_owned(),
            Principal::Person(person) => match (&person.user_ref, &person.email) {
                (Some(user), _) => user.clone(),
                (None, Some(email)) => format!("viewer:{email}"),
                (None, None) => format!("viewer:{}", person.display_name),
            },
            Principal::Token(token) => format!("token:{}", token.name),
        }
    }
}

/// Who is calling and from where, with this browser's CSRF token: what the access middleware leaves for handlers.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The client's address (the peer's, or the forwarded one when `trust_forwarded_for` is on).
    pub addr: Option<String>,
    pub csrf_token: String,
    /// Whether sign-in is on; when off every page says so.
    pub sign_in_on: bool,
}

impl Caller {
    pub fn of(req: &HttpRequest) -> Caller {
        req.extensions().get::<Caller>().cloned().unwrap_or_else(|| Caller {
            principal: Principal::Anonymous,
            addr: req.peer_addr().map(|a| a.ip().to_string()),
            csrf_token: String::new(),
            sign_in_on: true,
        })
    }

    /// What the top bar of every page shows.
    pub fn chrome(&self) -> Chrome {
        let (signed_in_as, viewer_only) = match &self.principal {
            Principal::Person(person) => (Some(person.display_name.clone()), person.user_ref.is_none()),
            Principal::Token(token) => (Some(format!("token {}", token.name)), false),
            Principal::Local | Principal::Anonymous => (None, false),
        };
        Chrome {
            sign_in_off: !self.sign_in_on,
            signed_in_as,
            viewer_only,
            can_sign_out: matches!(self.principal, Principal::Person(_)),
            csrf_token: self.csrf_token.clone(),
        }
    }
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = Ready<Result<Caller, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Caller::of(req)))
    }
}

/// The signed-in person (or the notice that sign-in is off) and the CSRF token of the sign-out form, for
/// `base.html`.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    pub sign_in_off: bool,
    pub signed_in_as: Option<String>,
    /// Signed in, but the catalog has no User for them: they can read and change nothing.
    pub viewer_only: bool,
    /// A browser session (not a token) that the sign-out form ends.
    pub can_sign_out: bool,
    pub csrf_token: String,
}

impl FromRequest for Chrome {
    type Error = actix_web::Error;
    type Future = Ready<Result<Chrome, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Caller::of(req).chrome()))
    }
}

/// A random secret of 32 bytes, hex-encoded: session cookies, sign-in cookies, CSRF tokens.
pub fn random_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The SHA-256 of a cookie's secret: the key its row is stored under.
pub fn secret_hash(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// What the access layer keeps for the life of the process.
pub struct AuthState {
    /// `None` when sign-in is off.
    pub oidc: Option<oidc::Oidc>,
    pub limits: rate_limit::RateLimits,
    /// Behind TLS (an `https` public URL): cookies are `Secure` and `__Host-` prefixed.
    pub secure_cookies: bool,
    /// The configured admin groups, as references.
    pub admin_groups: Vec<String>,
    pub session_lifetime: chrono::Duration,
}

impl AuthState {
    pub fn new(settings: &crate::settings::Settings, public_url: &str) -> anyhow::Result<AuthState> {
        let oidc = match &settings.oidc_issuer_url {
            Some(issuer) => Some(oidc::Oidc::new(oidc::OidcConfig {
                issuer: issuer.clone(),
                client_id: settings.oidc_client_id.clone(),
                client_secret: settings.oidc_client_secret.clone().unwrap_or_default(),
                scopes: settings.oidc_scopes.clone(),
                email_claim: settings.oidc_email_claim.clone(),
                name_claim: settings.oidc_name_claim.clone(),
                redirect_url: format!("{}/auth/callback", public_url.trim_end_matches('/')),
            })?),
            None => None,
        };
        Ok(AuthState {
            oidc,
            limits: rate_limit::RateLimits::new(settings.login_rate_per_minute, settings.token_rate_per_minute),
            secure_cookies: public_url.starts_with("https://"),
            admin_groups: permissions::admin_group_refs(&settings.admin_groups).map_err(anyhow::Error::msg)?,
            session_lifetime: chrono::Duration::hours(i64::try_from(settings.session_lifetime_hours).unwrap_or(12)),
        })
    }
}

/// Where to go after signing in: a path on this portal, never another site. Anything else (`https://evil.example`,
/// `//evil.example`, `/\evil.example`, control characters) becomes `/`.
pub fn safe_return_path(wanted: Option<&str>) -> String {
    let Some(path) = wanted.map(str::trim) else { return "/".to_owned() };
    let safe = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.chars().any(|c| c.is_control() || c == '\\')
        && path.len() <= 2048
        && !path.starts_with("/login")
        && !path.starts_with("/auth/");
    if safe { path.to_owned() } else { "/".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_portal_are_returned_to() {
        for good in ["/catalog", "/catalog?kind=component&q=a%2Fb", "/teams/payments", "/create/rust-http-service"] {
            assert_eq!(safe_return_path(Some(good)), good);
        }
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "evil.example",
            "javascript:alert(1)",
            "",
            "/login?return_to=//evil.example",
            "/auth/callback?code=x",
            "/%0d%0aSet-Cookie:x",
        ] {
            let kept = safe_return_path(Some(bad));
            assert!(kept == "/" || kept == bad && !bad.contains("evil"), "{bad:?} -> {kept:?}");
        }
        assert_eq!(safe_return_path(Some("/\\evil.example")), "/");
        assert_eq!(safe_return_path(None), "/");
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert_ne!(random_secret(), random_secret());
        assert_eq!(random_secret().len(), 64);
    }
}
