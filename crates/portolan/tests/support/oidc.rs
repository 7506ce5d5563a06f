//! A real OpenID provider for the sign-in tests: `tests/oidc-provider/provider.mjs` (the `oidc-provider` npm
//! package) in a child process, a scripted login through its development login and consent forms, and the token
//! endpoint for the tests that check what the provider itself refuses.
//!
//! The provider needs `npm ci` in `crates/portolan/tests/oidc-provider`. Without it the tests skip with a message,
//! except under `CI=true`, where a missing install or a provider that does not start fails the test.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha256};

const READY: &str = "oidc-provider listening on ";
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Redirects and form posts `log_in` follows before it gives up (a normal login takes 6).
const MAX_HOPS: usize = 10;

/// A running provider; dropping it stops the process. It also stops by itself when this process ends, as its stdin
/// closes then.
pub struct OidcProvider {
    /// `http://127.0.0.1:PORT`, as the provider writes it in its discovery document and tokens.
    pub issuer: String,
    /// The first client given to [`OidcProvider::start`].
    pub client_id: String,
    pub client_secret: String,
    child: Child,
}

impl OidcProvider {
    /// A provider on a free port with these clients, each `(client_id, client_secret, redirect_uri)`; the first one
    /// is kept in the fields. ID tokens live an hour. `None` (after saying so) when the provider is not installed
    /// and `CI` is not `true`.
    pub fn start(clients: &[(&str, &str, &str)]) -> Option<OidcProvider> {
        OidcProvider::start_with_id_token_ttl(clients, 3600)
    }

    /// [`OidcProvider::start`], with ID tokens that expire this many seconds after they are issued.
    pub fn start_with_id_token_ttl(clients: &[(&str, &str, &str)], id_token_ttl_secs: u64) -> Option<OidcProvider> {
        let (client_id, client_secret, _) = *clients.first().expect("at least one client");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider");
        if !dir.join("node_modules/oidc-provider").is_dir() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the OIDC provider is not installed: run `npm ci` in {} (CI=true never skips these tests)",
                dir.display()
            );
            eprintln!(
                "skipped: the OIDC provider is not installed (run npm ci in crates/portolan/tests/oidc-provider)"
            );
            return None;
        }

        let clients_json = serde_json::Value::Array(
            clients
                .iter()
                .map(|(id, secret, redirect_uri)| {
                    serde_json::json!({"client_id": id, "client_secret": secret, "redirect_uris": [redirect_uri]})
                })
                .collect(),
        );
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("PORT", "0")
            .env("CLIENTS", clients_json.to_string())
            .env("ID_TOKEN_TTL_SECS", id_token_ttl_secs.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("the OIDC provider does not start (`node provider.mjs` in {}): {e}", dir.display())
            });

        // Wait for the ready line, then keep draining stdout so the provider never blocks on a full pipe.
        let stdout = child.stdout.take().expect("piped stdout");
        let (ready, issuer) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match line.strip_prefix(READY) {
                    Some(url) => {
                        let _ = ready.send(url.trim().to_owned());
                    }
                    None => eprintln!("oidc-provider: {line}"),
                }
            }
        });
        match issuer.recv_timeout(START_TIMEOUT) {
            Ok(issuer) => Some(OidcProvider {
                issuer,
                client_id: client_id.to_owned(),
                client_secret: client_secret.to_owned(),
                child,
            }),
            Err(e) => {
                let _ = child.kill();
                let status = child.wait().map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                let why = match e {
                    mpsc::RecvTimeoutError::Timeout => format!("not ready after {START_TIMEOUT:?}"),
                    mpsc::RecvTimeoutError::Disconnected => "stopped before it was ready".to_owned(),
                };
                panic!("the OIDC provider in {} {why} ({status}); its errors are above", dir.display());
            }
        }
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// Exchanges an authorization code at the token endpoint as the first client (client_secret_basic), with the
    /// PKCE verifier when given. The response as it comes: 200 with `id_token`, or 400 with `error`.
    pub async fn exchange(&self, code: &str, redirect_uri: &str, verifier: Option<&str>) -> reqwest::Response {
        self.exchange_as(&self.client_id, &self.client_secret, code, redirect_uri, verifier).await
    }

    /// [`OidcProvider::exchange`] as another of the provider's clients.
    pub async fn exchange_as(
        &self,
        client_id: &str,
        client_secret: &str,
        code: &str,
        redirect_uri: &str,
        verifier: Option<&str>,
    ) -> reqwest::Response {
        let mut form = vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect_uri)];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        reqwest::Client::new()
            .post(self.token_endpoint())
            .basic_auth(client_id, Some(client_secret))
            .form(&form)
            .send()
            .await
            .expect("the token endpoint answers")
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PKCE pair: a random verifier and its S256 challenge, both base64url without padding.
pub fn pkce_pair() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The claims of a JWT (its middle part), unverified.
pub fn jwt_claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).unwrap_or_else(|| panic!("not a JWT: {jwt}"));
    let bytes = URL_SAFE_NO_PAD.decode(payload).unwrap_or_else(|e| panic!("JWT payload is not base64url ({e}): {jwt}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("JWT payload is not JSON ({e}): {jwt}"))
}

/// A client that behaves enough like a browser for [`log_in`]: it keeps cookies and does not follow redirects.
/// Cookies are per host, not per port: the provider's (`_session`, `_interaction`, `_interaction_resume` and their
/// `.sig`) also go to a portal on 127.0.0.1, and the portal's to the provider.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a reqwest client")
}

/// Logs in as `login` (an account of provider.mjs, e.g. "alice") the way a browser would: from the authorization URL
/// on the provider, through its login form and its consent form, to the redirect back to the client. Returns that
/// redirect URL (with `code`, `state` and `iss`) without requesting it.
///
/// `client` must keep cookies (`cookie_store(true)`) and must not follow redirects (`redirect(Policy::none())`), as
/// [`browser`] does. A client already logged in on this provider goes straight back with a code for that same
/// account, whatever `login` says (the provider remembers its session): use a new client to log in as someone else.
/// Anything unexpected panics with what came back, including a provider that redirects back with an `error`, and an
/// unknown login name (the provider shows the login form again).
pub async fn log_in(client: &reqwest::Client, authorization_url: &str, login: &str) -> Url {
    let mut url = Url::parse(authorization_url).unwrap_or_else(|e| panic!("{authorization_url}: {e}"));
    let provider = url.origin();
    let mut response = client.get(url.clone()).send().await.expect("the provider answers");
    let mut logged_in = false;
    for _ in 0..MAX_HOPS {
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or_else(|| panic!("{status} from {url} without a Location"));
            let next = url.join(location).unwrap_or_else(|e| panic!("Location {location} from {url}: {e}"));
            if next.origin() != provider {
                let has = |name: &str| next.query_pairs().any(|(k, _)| k == name);
                assert!(!has("error") || has("code"), "the provider refused the login: {next}");
                return next;
            }
            url = next;
            response = client.get(url.clone()).send().await.expect("the provider answers");
            continue;
        }

        let body = response.text().await.unwrap_or_default();
        if status != StatusCode::OK || !url.path().starts_with("/interaction/") {
            // An unknown login name is only noticed once the provider looks the account up, as a server_error.
            let hint = if logged_in { format!(" (is {login:?} an account in provider.mjs?)") } else { String::new() };
            panic!("{status} from {url} while logging in as {login}{hint}: {}", excerpt(&body));
        }
        // The development forms post back to the interaction's own URL; `prompt` says which form it is.
        let form: &[(&str, &str)] = if body.contains(r#"name="prompt" value="login""#) {
            assert!(!logged_in, "the provider asks to log in again (is {login:?} an account in provider.mjs?)");
            logged_in = true;
            &[("prompt", "login"), ("login", login), ("password", "x")]
        } else if body.contains(r#"name="prompt" value="consent""#) {
            &[("prompt", "consent")]
        } else {
            panic!("neither the login nor the consent form at {url}: {}", excerpt(&body));
        };
        response = client.post(url.clone()).form(form).send().await.expect("the provider answers");
    }
    panic!("logging in as {login} took more than {MAX_HOPS} steps; the last was {url}");
}

/// The text of an HTML page, without its head and tags, shortened: enough to read an error page in a panic.
fn excerpt(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        rest = &rest[start..];
        let end =
            if rest.starts_with("<head") { rest.find("</head>").map(|i| i + 7) } else { rest.find('>').map(|i| i + 1) };
        rest = &rest[end.unwrap_or(rest.len())..];
        text.push(' ');
    }
    text.push_str(rest);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().take(600).collect()
}
