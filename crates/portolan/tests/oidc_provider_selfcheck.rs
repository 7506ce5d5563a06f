//! The test OpenID provider itself (`tests/oidc-provider`, driven by `tests/support/oidc.rs`): a scripted login
//! gives a code, the code gives an ID token with the account's claims, and the provider refuses what it must.

#[path = "support/oidc.rs"]
mod oidc;

use oidc::{OidcProvider, browser, jwt_claims, log_in, pkce_pair};
use reqwest::{StatusCode, Url};

const REDIRECT_URI: &str = "http://127.0.0.1:1/auth/callback";

fn start() -> Option<OidcProvider> {
    OidcProvider::start(&[
        ("portolan", "portolan-secret", REDIRECT_URI),
        ("other-client", "other-secret", REDIRECT_URI),
    ])
}

/// The authorization URL a client would send the browser to, by hand.
fn authorization_url(provider: &OidcProvider, client_id: &str, state: &str, nonce: &str, challenge: &str) -> String {
    let url = Url::parse_with_params(
        &format!("{}/auth", provider.issuer),
        [
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid email profile"),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .expect("authorization URL");
    url.into()
}

/// Logs in as `login` through a new browser and returns the code, after checking the redirect back.
async fn code_for(provider: &OidcProvider, client_id: &str, login: &str, nonce: &str, challenge: &str) -> String {
    let back = log_in(&browser(), &authorization_url(provider, client_id, "the-state", nonce, challenge), login).await;
    assert_eq!(back.as_str().split('?').next(), Some(REDIRECT_URI), "{back}");
    let param = |name: &str| back.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    assert_eq!(param("state").as_deref(), Some("the-state"), "{back}");
    assert_eq!(param("iss").as_deref(), Some(provider.issuer.as_str()), "{back}");
    param("code").unwrap_or_else(|| panic!("no code in {back}"))
}

async fn json(response: reqwest::Response) -> (StatusCode, serde_json::Value) {
    let status = response.status();
    (status, response.json().await.expect("a JSON answer"))
}

#[tokio::test]
async fn a_login_gives_a_code_that_gives_an_id_token_once() {
    let Some(provider) = start() else { return };
    let (verifier, challenge) = pkce_pair();
    let code = code_for(&provider, "portolan", "alice", "the-nonce", &challenge).await;

    let (status, body) = json(provider.exchange(&code, REDIRECT_URI, Some(&verifier)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id_token = body["id_token"].as_str().unwrap_or_else(|| panic!("no id_token: {body}"));
    let claims = jwt_claims(id_token);
    assert_eq!(claims["iss"], provider.issuer.as_str(), "{claims}");
    assert_eq!(claims["aud"], "portolan", "{claims}");
    assert_eq!(claims["sub"], "alice", "{claims}");
    assert_eq!(claims["nonce"], "the-nonce", "{claims}");
    assert_eq!(claims["email"], "alice@northwind.example", "{claims}");
    assert_eq!(claims["email_verified"], true, "{claims}");
    assert_eq!(claims["name"], "Alice", "{claims}");
    assert_eq!(claims["preferred_username"], "alice", "{claims}");
    let lifetime = claims["exp"].as_i64().unwrap_or_default() - claims["iat"].as_i64().unwrap_or_default();
    assert_eq!(lifetime, 3600, "{claims}");

    // A code works once.
    let (status, body) = json(provider.exchange(&code, REDIRECT_URI, Some(&verifier)).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
}

#[tokio::test]
async fn a_code_needs_its_pkce_verifier() {
    let Some(provider) = start() else { return };

    let (_, challenge) = pkce_pair();
    let code = code_for(&provider, "portolan", "alice", "n1", &challenge).await;
    let (status, body) = json(provider.exchange(&code, REDIRECT_URI, None).await).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &"invalid_grant".into()), "without: {body}");

    let (_, challenge) = pkce_pair();
    let (wrong, _) = pkce_pair();
    let code = code_for(&provider, "portolan", "alice", "n2", &challenge).await;
    let (status, body) = json(provider.exchange(&code, REDIRECT_URI, Some(&wrong)).await).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &"invalid_grant".into()), "wrong: {body}");

    // And the authorization endpoint wants a challenge in the first place: it sends the browser back with an error.
    let url = authorization_url(&provider, "portolan", "s", "n3", "x")
        .replace("&code_challenge=x&code_challenge_method=S256", "");
    let response = browser().get(&url).send().await.expect("the provider answers");
    let location = response.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_owned();
    assert!(location.starts_with(REDIRECT_URI) && location.contains("error=invalid_request"), "{location}");
}

#[tokio::test]
async fn the_test_accounts_and_the_second_client() {
    let Some(provider) = start() else { return };
    let (verifier, challenge) = pkce_pair();
    let code = code_for(&provider, "other-client", "bob-by-name", "n", &challenge).await;

    // The code was issued to other-client: the first client cannot use it.
    let (status, body) = json(provider.exchange(&code, REDIRECT_URI, Some(&verifier)).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let code = code_for(&provider, "other-client", "bob-by-name", "n", &challenge).await;
    let response = provider.exchange_as("other-client", "other-secret", &code, REDIRECT_URI, Some(&verifier)).await;
    let (status, body) = json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = jwt_claims(body["id_token"].as_str().unwrap_or_default());
    assert_eq!(claims["aud"], "other-client", "{claims}");
    assert_eq!(claims["email"], "bob.personal@gmail.example", "{claims}");
    assert_eq!(claims["preferred_username"], "bob", "{claims}");

    // A browser that has logged in goes straight back next time, with a code for the same account.
    let browser = browser();
    let url = authorization_url(&provider, "portolan", "s", "n", &challenge);
    log_in(&browser, &url, "stranger").await;
    let back = log_in(&browser, &url, "someone-else").await;
    let code = back.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).unwrap_or_default();
    let (status, body) = json(provider.exchange(&code, REDIRECT_URI, Some(&verifier)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = jwt_claims(body["id_token"].as_str().unwrap_or_default());
    assert_eq!(claims["email"], "stranger@elsewhere.example", "{claims}");
}

#[tokio::test]
async fn id_tokens_live_as_long_as_asked() {
    let Some(provider) = OidcProvider::start_with_id_token_ttl(&[("portolan", "portolan-secret", REDIRECT_URI)], 5)
    else {
        return;
    };
    let (verifier, challenge) = pkce_pair();
    let code = code_for(&provider, "portolan", "noah", "n", &challenge).await;
    let (status, body) = json(provider.exchange(&code, REDIRECT_URI, Some(&verifier)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = jwt_claims(body["id_token"].as_str().unwrap_or_default());
    assert_eq!(claims["exp"].as_i64().unwrap_or_default() - claims["iat"].as_i64().unwrap_or_default(), 5, "{claims}");
    assert_eq!(claims["name"], "Noah", "{claims}");
}
