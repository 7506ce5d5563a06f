//! Sign-in through a real OpenID provider (the `oidc-provider` npm package, `tests/oidc-provider`), driven over HTTP:
//! the redirect, the provider's login and consent forms, the callback; sessions shared by two `serve` processes and
//! ended by signing out; permissions by ownership; team tokens; the audit log; and the attacks each part must stop.

mod support;

use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::{Client, Url};
use serde_json::{Value, json};
use store::test_support::TestDb;
use support::oidc::{self, OidcProvider};
use support::{TestApp, select, text};

fn location(response: &reqwest::Response) -> String {
    response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

fn query_param(url: &Url, name: &str) -> String {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// Starts a sign-in at the portal and logs in at the provider: the callback URL, not yet followed.
async fn log_in_at_provider(client: &Client, app: &TestApp, login: &str, return_to: &str) -> Url {
    let start =
        client.get(format!("{}/login", app.base)).query(&[("return_to", return_to)]).send().await.expect("GET /login");
    assert_eq!(start.status(), 303, "{:?}", start.text().await);
    oidc::log_in(client, &location(&start), login).await
}

/// A sign-in driven by hand, as someone copying cookies would: the `portolan_login=…` cookie the portal set, and the
/// callback URL the provider sent back (not yet followed).
async fn sign_in_by_hand(app: &TestApp, login: &str) -> (String, Url) {
    let bare = Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let start = bare.get(format!("{}/login", app.base)).send().await.expect("GET /login");
    let cookie = start
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("portolan_login="))
        .and_then(|c| c.split(';').next())
        .expect("the sign-in cookie")
        .to_owned();
    (cookie, oidc::log_in(&oidc::browser(), &location(&start), login).await)
}

fn bare() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// A browser signed in as `login`; asserts it came back to `return_to`.
async fn signed_in(app: &TestApp, login: &str, return_to: &str) -> Client {
    let client = oidc::browser();
    let callback = log_in_at_provider(&client, app, login, return_to).await;
    let back = client.get(callback).send().await.expect("callback");
    assert_eq!(back.status(), 303, "{:?}", back.text().await);
    assert_eq!(location(&back), return_to);
    client
}

async fn page(client: &Client, url: &str) -> (u16, scraper::Html) {
    let response = client.get(url).send().await.expect("GET");
    let status = response.status().as_u16();
    (status, scraper::Html::parse_document(&response.text().await.expect("body")))
}

fn who(doc: &scraper::Html) -> String {
    select(doc, ".session .who").first().map(text).unwrap_or_default()
}

fn form_token(doc: &scraper::Html) -> String {
    doc.select(&scraper::Selector::parse("input[name=csrf_token]").expect("selector"))
        .next()
        .and_then(|input| input.value().attr("value"))
        .expect("a form with a CSRF token")
        .to_owned()
}

async fn audit(app: &TestApp, action: &str) -> Vec<store::audit::AuditRow> {
    let (store, action) = (app.db.store.clone(), action.to_owned());
    tokio::task::spawn_blocking(move || {
        let filter = store::audit::AuditFilter { action: Some(action), ..Default::default() };
        store::audit::newest(&mut store.conn().expect("connection"), &filter, 100).expect("audit")
    })
    .await
    .expect("join")
}

#[actix_web::test]
async fn a_person_signs_in_on_one_process_is_known_to_another_and_signs_out_of_both() {
    for db in TestDb::all() {
        let backend = db.backend_name();
        let Some((app, _provider)) = TestApp::spawn_signed_in(db, |_| {}).await else { return };
        let sibling = app.sibling().await;

        // Nobody signed in: pages send the browser to sign in, the API answers 401, health stays open.
        let anonymous = oidc::browser();
        let response = anonymous.get(format!("{}/catalog?kind=component", app.base)).send().await.expect("GET");
        assert_eq!(
            (response.status().as_u16(), location(&response)),
            (303, "/login?return_to=%2Fcatalog%3Fkind%3Dcomponent".to_owned())
        );
        let response = anonymous.get(format!("{}/api/v1/entities", app.base)).send().await.expect("GET");
        assert_eq!(response.status(), 401, "{backend}");
        assert_eq!(anonymous.get(format!("{}/healthz", app.base)).send().await.expect("GET").status(), 200);

        let alice = signed_in(&app, "alice", "/teams/checkout-team").await;
        let (status, doc) = page(&alice, &format!("{}/teams/checkout-team", app.base)).await;
        assert_eq!((status, who(&doc)), (200, "Alice Andersen".to_owned()), "{backend}");
        // The session lives in the database: the other process knows her, pages and API alike.
        let (status, doc) = page(&alice, &format!("{sibling}/catalog")).await;
        assert_eq!((status, who(&doc)), (200, "Alice Andersen".to_owned()), "{backend}");
        let api = alice.get(format!("{sibling}/api/v1/entities?kind=group")).send().await.expect("GET");
        assert_eq!(api.status(), 200);
        // A browser session does not write through the API: that takes a token.
        let refresh = alice.post(format!("{sibling}/api/v1/refresh")).send().await.expect("POST");
        assert_eq!(refresh.status(), 401);
        let body: Value = refresh.json().await.expect("json");
        assert!(body["error"]["message"].as_str().unwrap_or_default().contains("API token"), "{body}");

        // Signing out: a form without its CSRF token is refused; with it, the session ends on both processes.
        let session_cookie = alice
            .get(format!("{}/catalog", app.base))
            .send()
            .await
            .expect("GET")
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .count();
        assert_eq!(session_cookie, 0, "a signed-in page sets no new cookies");
        let refused = alice.post(format!("{}/logout", app.base)).form(&[("csrf_token", "forged")]).send().await;
        assert_eq!(refused.expect("POST").status(), 403);
        let token = form_token(&doc);
        let out = alice.post(format!("{sibling}/logout")).form(&[("csrf_token", &token)]).send().await.expect("POST");
        assert_eq!((out.status().as_u16(), location(&out)), (303, "/logout".to_owned()));
        let (status, doc) = page(&alice, &format!("{}/logout", app.base)).await;
        assert_eq!(status, 200);
        assert!(doc.html().contains("You have signed out of Portolan"));
        for base in [&app.base, &sibling] {
            let response = alice.get(format!("{base}/catalog")).send().await.expect("GET");
            assert_eq!(response.status(), 303, "{backend}: signed out everywhere");
        }

        let logins = audit(&app, "session.login").await;
        assert_eq!(logins.len(), 1, "{backend}");
        assert_eq!((logins[0].actor.as_str(), logins[0].outcome.as_str()), ("user:default/alice", "allowed"));
        assert_eq!(logins[0].client_addr.as_deref(), Some("127.0.0.1"));
        assert_eq!(audit(&app, "session.logout").await.len(), 1);
    }
}

#[actix_web::test]
async fn a_session_survives_a_restart_and_a_stolen_cookie_dies_with_the_session() {
    let Some((app, _provider)) = TestApp::spawn_signed_in(TestDb::sqlite(), |_| {}).await else { return };
    let alice = signed_in(&app, "alice", "/catalog").await;
    let (_, doc) = page(&alice, &format!("{}/catalog", app.base)).await;
    let restarted = app.sibling().await;
    let (status, doc_after) = page(&alice, &format!("{restarted}/catalog")).await;
    assert_eq!((status, who(&doc_after)), (200, "Alice Andersen".to_owned()), "a new process knows the session");

    // A fresh sign-in whose Set-Cookie is kept by hand, as a thief would.
    let (login_cookie, callback) = sign_in_by_hand(&app, "kwame").await;
    let bare = bare();
    let back = bare.get(callback).header("cookie", login_cookie).send().await.expect("callback");
    let set_cookie: Vec<String> =
        back.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect();
    let session = set_cookie.iter().find(|c| c.starts_with("portolan_session=")).expect("session cookie").clone();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax") && session.contains("Path=/"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain http on loopback: no Secure flag ({session})");
    let pair = session.split(';').next().expect("name=value").to_owned();
    let stolen = |base: String| {
        let (bare, pair) = (bare.clone(), pair.clone());
        async move { bare.get(format!("{base}/catalog")).header("cookie", pair).send().await.expect("GET").status() }
    };
    assert_eq!(stolen(app.base.clone()).await, 200);
    // kwame signs out (in the browser the cookie came from, now carrying it): the copied cookie is worth nothing.
    let csrf = form_token(&doc);
    let out = bare
        .post(format!("{}/logout", app.base))
        .header("cookie", format!("{pair}; portolan_csrf={csrf}"))
        .form(&[("csrf_token", &csrf)])
        .send()
        .await
        .expect("POST");
    assert_eq!(out.status(), 303);
    assert_eq!(stolen(app.base.clone()).await, 303);
    assert_eq!(stolen(restarted).await, 303);
}

#[actix_web::test]
async fn the_callback_refuses_a_wrong_state_a_replayed_code_and_a_stolen_code() {
    let Some((app, provider)) = TestApp::spawn_signed_in(TestDb::sqlite(), |_| {}).await else { return };
    let reason = |body: String| {
        let doc = scraper::Html::parse_document(&body);
        select(&doc, ".error-message").first().map(text).unwrap_or(body)
    };

    // State mismatch: the callback's state is not the one this browser left with.
    let browser = oidc::browser();
    let mut callback = log_in_at_provider(&browser, &app, "alice", "/catalog").await;
    let code = query_param(&callback, "code");
    callback.query_pairs_mut().clear().append_pair("code", &code).append_pair("state", "forged-state");
    let response = browser.get(callback).send().await.expect("callback");
    assert_eq!(response.status(), 400);
    assert!(
        response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .all(|c| !c.to_str().unwrap_or("").starts_with("portolan_session="))
    );
    assert!(reason(response.text().await.expect("body")).contains("state does not match"));
    assert_eq!(browser.get(format!("{}/catalog", app.base)).send().await.expect("GET").status(), 303, "not signed in");

    // A replayed callback, cookie and all: the sign-in was used up by the first one.
    let (login_cookie, callback) = sign_in_by_hand(&app, "alice").await;
    let first = bare().get(callback.clone()).header("cookie", &login_cookie).send().await.expect("callback");
    assert_eq!(first.status(), 303);
    let again = bare().get(callback.clone()).header("cookie", &login_cookie).send().await.expect("replay");
    assert_eq!(again.status(), 400);
    assert!(reason(again.text().await.expect("body")).contains("expired or was finished already"));
    // The browser that finished it forgot its sign-in cookie, and so does any browser that never started one.
    let browser = oidc::browser();
    let callback = log_in_at_provider(&browser, &app, "alice", "/catalog").await;
    assert_eq!(browser.get(callback.clone()).send().await.expect("callback").status(), 303);
    let again = browser.get(callback.clone()).send().await.expect("replay");
    assert_eq!(again.status(), 400);
    assert!(reason(again.text().await.expect("body")).contains("started no sign-in"));
    // The same URL from a browser that never started a sign-in.
    let elsewhere = oidc::browser().get(callback).send().await.expect("replay elsewhere");
    assert_eq!(elsewhere.status(), 400);
    assert!(reason(elsewhere.text().await.expect("body")).contains("started no sign-in"));

    // A code stolen from alice's redirect, injected into the attacker's own sign-in: the attacker's PKCE verifier is
    // not the one alice's code was issued for, and the provider refuses the trade.
    let victim = oidc::browser();
    let stolen = log_in_at_provider(&victim, &app, "alice", "/catalog").await;
    let attacker = oidc::browser();
    let own = log_in_at_provider(&attacker, &app, "stranger", "/catalog").await;
    let mut injected = own.clone();
    injected
        .query_pairs_mut()
        .clear()
        .append_pair("code", &query_param(&stolen, "code"))
        .append_pair("state", &query_param(&own, "state"));
    let response = attacker.get(injected).send().await.expect("callback");
    assert_eq!(response.status(), 403);
    assert!(reason(response.text().await.expect("body")).contains("refused the code"));
    assert_eq!(attacker.get(format!("{}/catalog", app.base)).send().await.expect("GET").status(), 303);

    // And the provider itself never trades a code without its verifier (the portal always sends one).
    let (verifier, challenge) = oidc::pkce_pair();
    let redirect = format!("{}/auth/callback", app.base);
    let mut url = Url::parse(&format!("{}/auth", provider.issuer)).expect("url");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "portolan")
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", "openid email")
        .append_pair("state", "s")
        .append_pair("nonce", "n")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let code = query_param(&oidc::log_in(&oidc::browser(), url.as_str(), "alice").await, "code");
    assert_eq!(provider.exchange(&code, &redirect, None).await.status(), 400);
    assert_eq!(
        provider.exchange(&code, &redirect, Some(&verifier)).await.status(),
        200,
        "the verifier is what it lacked"
    );
}

#[actix_web::test]
async fn after_sign_in_the_browser_only_ever_goes_to_a_path_on_the_portal() {
    let Some((app, _provider)) = TestApp::spawn_signed_in(TestDb::sqlite(), |_| {}).await else { return };
    for (wanted, landed) in [
        ("https://evil.example/phish", "/"),
        ("//evil.example/phish", "/"),
        ("/\\evil.example", "/"),
        ("/scorecards?team=commerce", "/scorecards?team=commerce"),
    ] {
        let browser = oidc::browser();
        let callback = log_in_at_provider(&browser, &app, "alice", wanted).await;
        let back = browser.get(callback).send().await.expect("callback");
        assert_eq!((back.status().as_u16(), location(&back)), (303, landed.to_owned()), "return_to {wanted}");
    }
}

/// A real ID token from the provider for `client`, with the nonce it was asked with.
async fn real_id_token(provider: &OidcProvider, app: &TestApp, client: (&str, &str), login: &str) -> (String, String) {
    let (verifier, challenge) = oidc::pkce_pair();
    let redirect = format!("{}/auth/callback", app.base);
    let nonce = format!("nonce-{login}");
    let mut url = Url::parse(&format!("{}/auth", provider.issuer)).expect("url");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client.0)
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", "openid email profile")
        .append_pair("state", "s")
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let code = query_param(&oidc::log_in(&oidc::browser(), url.as_str(), login).await, "code");
    let response = provider.exchange_as(client.0, client.1, &code, &redirect, Some(&verifier)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    (body["id_token"].as_str().expect("id_token").to_owned(), nonce)
}

#[actix_web::test]
async fn id_tokens_that_are_forged_expired_or_for_another_client_are_refused() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use portolan::auth::oidc::{Oidc, OidcConfig};

    let Some((app, provider)) = TestApp::spawn_signed_in(TestDb::sqlite(), |_| {}).await else { return };
    let portal = Oidc::new(OidcConfig {
        issuer: provider.issuer.clone(),
        client_id: "portolan".to_owned(),
        client_secret: "portolan-secret".to_owned(),
        scopes: vec!["openid".to_owned(), "email".to_owned()],
        email_claim: "email".to_owned(),
        name_claim: "preferred_username".to_owned(),
        redirect_url: format!("{}/auth/callback", app.base),
    })
    .expect("client");
    let now = chrono::Utc::now();
    let (token, nonce) = real_id_token(&provider, &app, ("portolan", "portolan-secret"), "alice").await;
    let claims = portal.verify_id_token(&token, &nonce, now).await.expect("the real token holds");
    assert_eq!(claims["email"], "alice@northwind.example");

    let refused = |result: Result<Value, portolan::auth::oidc::OidcError>| result.expect_err("refused").to_string();
    assert!(refused(portal.verify_id_token(&token, "another-nonce", now).await).contains("once"), "nonce");
    let expired = refused(portal.verify_id_token(&token, &nonce, now + chrono::Duration::hours(2)).await);
    assert!(expired.contains("expired"), "{expired}");

    // Forged: alice's token with priya's email in it, and the provider's signature left on.
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
    payload["email"] = json!("priya@northwind.example");
    let forged_payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    let why = refused(portal.verify_id_token(&tampered, &nonce, now).await);
    assert!(why.to_lowercase().contains("signature"), "{why}");
    // Forged: no signature at all.
    let unsigned = format!("{}.{forged_payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#));
    refused(portal.verify_id_token(&unsigned, &nonce, now).await);
    // Forged: signed with a key of the forger's own, under the provider's key id.
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
    let forged = sign_with_own_key(header["kid"].as_str(), &payload);
    let why = refused(portal.verify_id_token(&forged, &nonce, now).await);
    assert!(why.to_lowercase().contains("signature"), "{why}");

    // Wrong audience: a real token, issued to another client of the same provider.
    let (other, other_nonce) = real_id_token(&provider, &app, ("other-client", "other-secret"), "alice").await;
    assert_eq!(oidc::jwt_claims(&other)["aud"], "other-client");
    let why = refused(portal.verify_id_token(&other, &other_nonce, now).await);
    assert!(why.to_lowercase().contains("audience"), "{why}");
}

/// An RS256 JWT of `claims` signed with a fresh RSA key made by `openssl` (not the provider's).
fn sign_with_own_key(kid: Option<&str>, claims: &Value) -> String {
    use openidconnect::core::CoreRsaPrivateSigningKey;
    use openidconnect::{JsonWebKeyId, PrivateSigningKey};
    let pem =
        std::process::Command::new("openssl").args(["genrsa", "-traditional", "2048"]).output().expect("openssl runs");
    assert!(pem.status.success(), "{}", String::from_utf8_lossy(&pem.stderr));
    let pem = String::from_utf8(pem.stdout).expect("pem");
    let key = CoreRsaPrivateSigningKey::from_pem(&pem, kid.map(|k| JsonWebKeyId::new(k.to_owned()))).expect("key");
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
    let signing_input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let signature = key
        .sign(&openidconnect::core::CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, signing_input.as_bytes())
        .expect("signs");
    format!("{signing_input}.{}", b64(&signature))
}

/// The demo Rust golden path's form, filled in for `owner`.
fn service_form(csrf: &str, name: &str, owner: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrf_token", csrf.to_owned()),
        ("name", name.to_owned()),
        ("description", "A service made in a sign-in test".to_owned()),
        ("owner", owner.to_owned()),
        ("port", "8080".to_owned()),
        ("availabilityTarget", "0.999".to_owned()),
        ("sliSource", "push".to_owned()),
        ("action", "create".to_owned()),
    ]
}

async fn create_service(client: &Client, app: &TestApp, name: &str, owner: &str) -> (u16, String) {
    let (_, form) = page(client, &format!("{}/create/rust-http-service", app.base)).await;
    let response = client
        .post(format!("{}/create/rust-http-service", app.base))
        .form(&service_form(&form_token(&form), name, owner))
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    let landed = location(&response);
    let body = response.text().await.expect("body");
    let doc = scraper::Html::parse_document(&body);
    (status, select(&doc, ".error-message").first().map(text).unwrap_or(landed))
}

#[actix_web::test]
async fn writes_follow_ownership_and_every_one_is_in_the_audit_log() {
    let Some((app, _provider)) = TestApp::spawn_signed_in(TestDb::sqlite(), |_| {}).await else { return };
    let alice = signed_in(&app, "alice", "/create").await;

    // A member of checkout-team may make services for it, not for data.
    let (status, why) = create_service(&alice, &app, "alices-data-service", "group:default/data").await;
    assert_eq!(status, 403, "{why}");
    assert!(why.contains("you may not create a service for group:default/data"), "{why}");
    assert!(why.contains("user:default/alice is a member of group:default/checkout-team"), "{why}");
    let (status, task) = create_service(&alice, &app, "alices-service", "group:default/checkout-team").await;
    assert_eq!(status, 303, "{task}");
    assert!(task.starts_with("/tasks/"), "{task}");
    // A member of the team above may too; a viewer the catalog does not know may not.
    let kwame = signed_in(&app, "kwame", "/create").await;
    let (status, _) = create_service(&kwame, &app, "kwames-service", "group:default/checkout-team").await;
    assert_eq!(status, 303);
    let stranger = signed_in(&app, "stranger", "/create").await;
    let (_, doc) = page(&stranger, &format!("{}/create", app.base)).await;
    assert!(who(&doc).contains("(viewer)"), "{}", who(&doc));
    let (status, why) = create_service(&stranger, &app, "strangers-service", "group:default/checkout-team").await;
    assert_eq!(status, 403);
    assert!(why.contains("signed in as a viewer") && why.contains("stranger@elsewhere.example"), "{why}");

    // Team tokens: alice manages checkout-team's, not data's.
    let (status, doc) = page(&alice, &format!("{}/teams/checkout-team/tokens", app.base)).await;
    assert_eq!(status, 200);
    let csrf = form_token(&doc);
    let (status, _) = page(&alice, &format!("{}/teams/data/tokens", app.base)).await;
    assert_eq!(status, 403);
    let no_csrf = alice
        .post(format!("{}/teams/checkout-team/tokens", app.base))
        .form(&[("name", "ci"), ("expires_in_days", "30")])
        .send()
        .await
        .expect("POST");
    assert_eq!(no_csrf.status(), 403, "a form without its CSRF token");
    let made = alice
        .post(format!("{}/teams/checkout-team/tokens", app.base))
        .form(&[("csrf_token", csrf.as_str()), ("name", "checkout-ci"), ("expires_in_days", "30")])
        .send()
        .await
        .expect("POST");
    assert_eq!(made.status(), 201);
    assert_eq!(made.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let doc = scraper::Html::parse_document(&made.text().await.expect("body"));
    let secret = select(&doc, "#new-token").first().map(text).expect("the secret, shown once");
    assert!(secret.starts_with("ptl_"), "{secret}");
    let (_, listed) = page(&alice, &format!("{}/teams/checkout-team/tokens", app.base)).await;
    assert!(!listed.html().contains(&secret), "shown once only");
    assert!(listed.html().contains("checkout-ci") && listed.html().contains("user:default/alice"));

    // The token refreshes what checkout-team owns, not the whole catalog.
    let (status, body) =
        app.post_json("/api/v1/refresh?entity=component:default/checkout-service", Some(&secret), &json!({})).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = app.post_json("/api/v1/refresh", Some(&secret), &json!({})).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("token `checkout-ci` acts for group:default/checkout-team; only admins"),
        "{body}"
    );

    // Revoked: refused at once.
    let revoke = alice
        .post(format!("{}/teams/checkout-team/tokens/checkout-ci/revoke", app.base))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .expect("POST");
    assert_eq!(revoke.status(), 303);
    let (status, body) =
        app.post_json("/api/v1/refresh?entity=component:default/checkout-service", Some(&secret), &json!({})).await;
    assert_eq!((status, body["error"]["message"].as_str()), (401, Some("the token was revoked")));
    // Expired: refused too.
    let expired = {
        let store = app.db.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = store.conn().expect("connection");
            let past = store::now() - chrono::Duration::days(2);
            let team = Some("group:default/checkout-team");
            portolan::auth::tokens::create(&mut conn, "old", team, Some(chrono::Duration::days(1)), "test", past)
                .expect("token")
                .secret
        })
        .await
        .expect("join")
    };
    let (status, body) =
        app.post_json("/api/v1/refresh?entity=component:default/checkout-service", Some(&expired), &json!({})).await;
    assert_eq!((status, body["error"]["message"].as_str()), (401, Some("the token has expired")));

    // The audit log is for admins: bob (platform) reads it, alice may not.
    let (status, _) = page(&alice, &format!("{}/admin/audit", app.base)).await;
    assert_eq!(status, 403);
    let bob = signed_in(&app, "bob", "/admin/audit").await;
    let (status, doc) = page(&bob, &format!("{}/admin/audit?outcome=denied", app.base)).await;
    assert_eq!(status, 200);
    let rows: Vec<String> = select(&doc, "table.audit tbody tr").iter().map(text).collect();
    assert!(
        rows.iter().any(|r| r.contains("user:default/alice")
            && r.contains("scaffold.create")
            && r.contains("group:default/data")),
        "{rows:#?}"
    );
    assert!(rows.iter().any(|r| r.contains("viewer:stranger@elsewhere.example")), "{rows:#?}");
    assert!(rows.iter().any(|r| r.contains("token:checkout-ci") && r.contains("catalog.refresh")), "{rows:#?}");
    assert!(rows.iter().all(|r| r.contains("denied")), "{rows:#?}");
    let allowed: Vec<String> = audit(&app, "scaffold.create")
        .await
        .iter()
        .filter(|e| e.outcome == "allowed")
        .map(|e| e.actor.clone())
        .collect();
    assert_eq!(allowed, ["user:default/kwame", "user:default/alice"]);
    let tokens: Vec<(String, String)> = [audit(&app, "token.create").await, audit(&app, "token.revoke").await]
        .concat()
        .into_iter()
        .map(|e| (e.actor, e.target))
        .collect();
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    assert!(tokens.iter().all(|(actor, team)| actor == "user:default/alice" && team == "group:default/checkout-team"));
}

#[actix_web::test]
async fn people_are_matched_by_email_then_by_name_and_strangers_may_be_refused() {
    let Some((app, _provider)) = TestApp::spawn_signed_in(TestDb::sqlite(), |s| s.allow_unknown_users = false).await
    else {
        return;
    };
    // bob-by-name's email is unknown, his preferred_username is bob.
    let bob = signed_in(&app, "bob-by-name", "/catalog").await;
    let (_, doc) = page(&bob, &format!("{}/catalog", app.base)).await;
    assert!(!who(&doc).is_empty() && !who(&doc).contains("viewer"), "{}", who(&doc));
    let logins = audit(&app, "session.login").await;
    assert_eq!(logins[0].actor, "user:default/bob");

    let stranger = oidc::browser();
    let callback = log_in_at_provider(&stranger, &app, "stranger", "/catalog").await;
    let refused = stranger.get(callback).send().await.expect("callback");
    assert_eq!(refused.status(), 403);
    let body = refused.text().await.expect("body");
    assert!(body.contains("stranger@elsewhere.example signed in, but the catalog has no User"), "{body}");
    assert_eq!(stranger.get(format!("{}/catalog", app.base)).send().await.expect("GET").status(), 303);
    let denied = audit(&app, "session.login").await;
    assert!(denied.iter().any(|e| e.outcome == "denied" && e.target == "stranger@elsewhere.example"), "{denied:?}");
}

#[actix_web::test]
async fn sign_in_is_rate_limited_and_bodies_are_bounded() {
    let Some((app, _provider)) = TestApp::spawn_signed_in(TestDb::sqlite(), |s| s.login_rate_per_minute = 3).await
    else {
        return;
    };
    let client = oidc::browser();
    for _ in 0..3 {
        assert_eq!(client.get(format!("{}/login", app.base)).send().await.expect("GET").status(), 303);
    }
    let slowed = client.get(format!("{}/login", app.base)).send().await.expect("GET");
    assert_eq!(slowed.status(), 429);
    let retry: u64 = slowed
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=20).contains(&retry), "{retry}");

    let secret = support::token(&app.db, "big", Some("group:default/checkout-team")).await;
    let huge = "x".repeat(300 * 1024);
    let (status, _) = app.post_json("/api/v1/scaffold", Some(&secret), &json!({"template": huge})).await;
    assert_eq!(status, 413);
    let (status, _) = app
        .post_json(
            "/api/v1/slos/default/checkout-availability/events",
            Some(&secret),
            &json!([{"x": "x".repeat(5 * 1024 * 1024)}]),
        )
        .await;
    assert_eq!(status, 413);
    let form =
        client.post(format!("{}/logout", app.base)).form(&[("csrf_token", huge.as_str())]).send().await.expect("POST");
    assert_eq!(form.status(), 413);
}

#[actix_web::test]
async fn with_sign_in_off_every_page_says_so_and_a_remote_address_is_refused() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    for path in ["/catalog", "/teams/checkout-team", "/scorecards", "/create", "/no-such-page"] {
        let doc = scraper::Html::parse_document(&app.get(path).await.text().await.expect("body"));
        let notice = select(&doc, ".sign-in-off-notice").first().map(text).unwrap_or_default();
        assert!(notice.starts_with("Sign-in is off: everyone who can reach this portal"), "{path}: {notice:?}");
    }
    let login = app.client.get(format!("{}/login?return_to=/scorecards", app.base)).send().await.expect("GET");
    assert_eq!(login.url().path(), "/scorecards", "nothing to sign in to");
    let headers = app.get("/catalog").await.headers().clone();
    let csp = headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers.get("x-frame-options").and_then(|v| v.to_str().ok()), Some("DENY"));

    let open = portolan::settings::Settings { bind: "0.0.0.0:0".to_owned(), ..app.settings.clone() };
    let refused = portolan::Application::build(open).await.err().expect("refused on a remote address");
    assert!(refused.to_string().contains("sign-in is off"), "{refused}");
}

#[actix_web::test]
async fn behind_tls_cookies_are_secure_and_host_bound_and_reading_may_be_open() {
    let app = TestApp::spawn_configured(TestDb::sqlite(), Vec::new(), |s| {
        support::sign_in_required(s);
        s.public_url = Some("https://portal.example.com".to_owned());
        s.anonymous_read = true;
    })
    .await;
    // Anyone may read when told so; the top bar offers to sign in.
    let response = app.get("/teams/checkout-team").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let doc = scraper::Html::parse_document(&response.text().await.expect("body"));
    assert_eq!(select(&doc, ".session a.sign-in").first().map(text).as_deref(), Some("Sign in"));
    assert!(select(&doc, ".sign-in-off-notice").is_empty());
    let hsts = headers.get("strict-transport-security").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(hsts.starts_with("max-age="), "{hsts:?}");
    let csrf = headers.get(SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(
        csrf.starts_with("__Host-portolan_csrf=") && csrf.contains("Secure") && csrf.contains("SameSite=Strict"),
        "{csrf}"
    );
    // Reading is open; writing is not.
    let (status, _) = app.post_json("/api/v1/refresh", None, &json!({})).await;
    assert_eq!(status, 401);
    let (status, body) = app.post_json("/api/v1/scorecards/snapshot", None, &json!({})).await;
    assert_eq!(status, 401, "{body}");
}

#[actix_web::test]
async fn the_terminal_makes_tokens_only_for_teams_the_catalog_knows() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let settings = app.settings.clone();
    let result = tokio::task::spawn_blocking(move || {
        let unknown = portolan::cli::token_create(&settings, "ci-x", Some("no-such-team"), Some(30)).err();
        let known = portolan::cli::token_create(&settings, "ci-checkout", Some("checkout-team"), Some(30)).ok();
        (unknown.map(|e| e.to_string()), known)
    })
    .await
    .expect("join");
    let unknown = result.0.expect("an unknown team is refused");
    assert!(unknown.contains("--team: there is no group:default/no-such-team in the catalog"), "{unknown}");
    assert!(result.1.is_some());
    let mut conn = app.db.store.conn().expect("connection");
    let row = store::tokens::by_name(&mut conn, "ci-checkout").expect("query").expect("made");
    assert_eq!((row.team.as_deref(), row.created_by.as_deref()), (Some("group:default/checkout-team"), Some("cli")));
    assert!(store::tokens::by_name(&mut conn, "ci-x").expect("query").is_none());
    let filter = store::audit::AuditFilter { action: Some("token.create".into()), ..Default::default() };
    let logged = store::audit::newest(&mut conn, &filter, 10).expect("audit");
    assert_eq!(logged.len(), 1);
    assert!(logged[0].actor.starts_with("cli:") && logged[0].target == "group:default/checkout-team", "{logged:?}");
}
