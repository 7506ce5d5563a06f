//! OpenID Connect sign-in: the authorization-code flow with PKCE (S256), state and nonce, on the `oauth2` crate
//! through its sibling `openidconnect` (discovery, and ID tokens checked against the provider's published keys:
//! signature, issuer, audience, expiry, nonce, and the access-token hash when given). Any standard provider works
//! from its issuer URL: Keycloak, Dex, Okta, Google, Azure AD.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, TokenResponse,
};
use serde_json::Value;
use tokio::sync::Mutex;

/// How long what the provider published (endpoints, keys) is trusted before it is fetched again.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// How long the provider may take to answer.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    pub email_claim: String,
    pub name_claim: String,
    /// `<public_url>/auth/callback`.
    pub redirect_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the sign-in provider {issuer} did not answer as an OpenID provider: {reason}")]
    Discovery { issuer: String, reason: String },
    #[error("the sign-in provider refused the code: {0}")]
    Exchange(String),
    #[error("the sign-in provider's ID token was refused: {0}")]
    IdToken(String),
    #[error("the sign-in provider sent no ID token")]
    NoIdToken,
    #[error("the sign-in provider's user info could not be read: {0}")]
    UserInfo(String),
}

/// A sign-in just begun: where to send the browser, and what the callback must check.
#[derive(Debug, Clone)]
pub struct Begun {
    pub url: url::Url,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    /// The configured email claim.
    pub email: Option<String>,
    /// The configured name claim (`preferred_username` by default).
    pub name: Option<String>,
    /// `name`, else the name claim, else the email, else the subject.
    pub display_name: String,
}

pub struct Oidc {
    config: OidcConfig,
    http: reqwest::Client,
    discovered: Mutex<Option<(Instant, Arc<Discovered>)>>,
}

struct Discovered {
    client: Client,
    userinfo: Option<url::Url>,
}

impl Oidc {
    pub fn new(config: OidcConfig) -> anyhow::Result<Oidc> {
        // The provider is never followed elsewhere: its answers are read where they were asked for.
        let http =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(PROVIDER_TIMEOUT).build()?;
        RedirectUrl::new(config.redirect_url.clone())?;
        IssuerUrl::new(config.issuer.clone())?;
        Ok(Oidc { config, http, discovered: Mutex::new(None) })
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// The provider's description, fetched on first use and again after [`DISCOVERY_TTL`].
    async fn discovered(&self) -> Result<Arc<Discovered>, OidcError> {
        let mut cached = self.discovered.lock().await;
        if let Some((at, discovered)) = cached.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(discovered.clone());
        }
        let fail = |reason: String| OidcError::Discovery { issuer: self.config.issuer.clone(), reason };
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|e| fail(e.to_string()))?;
        let metadata =
            CoreProviderMetadata::discover_async(issuer, &self.http).await.map_err(|e| fail(error_chain(&e)))?;
        let userinfo = metadata.userinfo_endpoint().map(|u| u.url().clone());
        let redirect = RedirectUrl::new(self.config.redirect_url.clone()).map_err(|e| fail(e.to_string()))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(redirect);
        let discovered = Arc::new(Discovered { client, userinfo });
        *cached = Some((Instant::now(), discovered.clone()));
        Ok(discovered)
    }

    /// Starts a sign-in: a fresh state, nonce and PKCE verifier, and the provider's authorization URL.
    pub async fn begin(&self) -> Result<Begun, OidcError> {
        let discovered = self.discovered().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = discovered.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in self.config.scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Begun {
            url,
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Finishes a sign-in: trades the code (with the PKCE verifier) for tokens and checks the ID token.
    pub async fn finish(&self, code: &str, nonce: &str, pkce_verifier: &str) -> Result<Identity, OidcError> {
        let discovered = self.discovered().await?;
        let client = &discovered.client;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Exchange(token_error(&e)))?;
        let id_token = response.id_token().ok_or(OidcError::NoIdToken)?;
        let verifier = client.id_token_verifier();
        let claims = match id_token.claims(&verifier, &Nonce::new(nonce.to_owned())) {
            Ok(claims) => claims,
            Err(e) => {
                // The provider may have rotated its keys: the next sign-in fetches them again.
                *self.discovered.lock().await = None;
                return Err(OidcError::IdToken(error_chain(&e)));
            }
        };
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token.signing_alg().map_err(|e| OidcError::IdToken(e.to_string()))?;
            let key = id_token.signing_key(&verifier).map_err(|e| OidcError::IdToken(e.to_string()))?;
            let actual = AccessTokenHash::from_token(response.access_token(), alg, key)
                .map_err(|e| OidcError::IdToken(e.to_string()))?;
            if actual != *expected {
                return Err(OidcError::IdToken("the access token does not match the ID token's at_hash".to_owned()));
            }
        }
        let mut payload = payload(&id_token.to_string())?;
        if payload.get(&self.config.email_claim).is_none()
            && let Some(userinfo) = &discovered.userinfo
        {
            let info = self.user_info(userinfo, response.access_token().secret()).await?;
            if info.get("sub") != payload.get("sub") {
                return Err(OidcError::UserInfo("its subject is not the ID token's".to_owned()));
            }
            if let (Value::Object(payload), Value::Object(info)) = (&mut payload, info) {
                for (claim, value) in info {
                    payload.entry(claim).or_insert(value);
                }
            }
        }
        Ok(self.identity(&payload))
    }

    /// Checks an ID token as the callback does, at `now`: what the token says, when everything holds.
    pub async fn verify_id_token(&self, raw: &str, nonce: &str, now: DateTime<Utc>) -> Result<Value, OidcError> {
        let discovered = self.discovered().await?;
        let id_token: CoreIdToken = raw.parse().map_err(|e| OidcError::IdToken(format!("not a signed JWT: {e}")))?;
        let verifier = discovered.client.id_token_verifier().set_time_fn(move || now);
        id_token.claims(&verifier, &Nonce::new(nonce.to_owned())).map_err(|e| OidcError::IdToken(error_chain(&e)))?;
        payload(raw)
    }

    async fn user_info(&self, url: &url::Url, access_token: &str) -> Result<Value, OidcError> {
        let response = self
            .http
            .get(url.clone())
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(|e| OidcError::UserInfo(error_chain(&e)))?;
        if !response.status().is_success() {
            return Err(OidcError::UserInfo(format!("HTTP {}", response.status())));
        }
        response.json().await.map_err(|e| OidcError::UserInfo(error_chain(&e)))
    }

    fn identity(&self, claims: &Value) -> Identity {
        let text = |claim: &str| {
            claims.get(claim).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
        };
        let subject = text("sub").unwrap_or_default();
        let email = text(&self.config.email_claim);
        let name = text(&self.config.name_claim);
        let display_name =
            text("name").or_else(|| name.clone()).or_else(|| email.clone()).unwrap_or_else(|| subject.clone());
        Identity {
            issuer: text("iss").unwrap_or_else(|| self.config.issuer.clone()),
            subject,
            email,
            name,
            display_name,
        }
    }
}

/// The claims of a JWT whose signature was checked already.
fn payload(raw: &str) -> Result<Value, OidcError> {
    let part = raw.split('.').nth(1).ok_or_else(|| OidcError::IdToken("not a JWT".to_owned()))?;
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|e| OidcError::IdToken(format!("payload: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| OidcError::IdToken(format!("payload: {e}")))
}

fn token_error<RE: std::error::Error + 'static, T: openidconnect::ErrorResponse + 'static>(
    error: &RequestTokenError<RE, T>,
) -> String {
    match error {
        RequestTokenError::ServerResponse(response) => response.to_string(),
        other => error_chain(other),
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
