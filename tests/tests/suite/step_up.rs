//! Step-up against the real DC and the reference key: with `second_factor` on, no password is
//! written (password page or key flow) until the owner confirms with a code or a press on
//! their own key; a confirmation serves one write within five minutes.

use latchkey_api::relay::{ProgressStep, RelayEvent, RelayRequest};
use latchkey_api::step_up::{SecondFactorMode, StepUpStatus, UserTotpConfirmed};
use latchkey_api::CSRF_HEADER;
use latchkey_tests::keys::{key_password, password, RelayPage};
use latchkey_tests::secrets;
use latchkey_tests::{now, spawn_app, totp_code_at, AppOptions, TestApp, TestDc, TestUser, UserOptions};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::relay::{onboard, ready, user_with_key, ACCOUNT};

/// A signed-in browser whose cookie the relay can carry too.
struct Browser {
    url: String,
    cookie: String,
    csrf: String,
}

impl Browser {
    async fn sign_in(app: &TestApp, user: &TestUser) -> Browser {
        let response = reqwest::Client::new()
            .post(format!("{}/api/session", app.url))
            .json(&json!({ "username": user.sam, "password": user.password }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let view: Value = response.json().await.unwrap();
        Browser { url: app.url.clone(), cookie, csrf: view["csrf_token"].as_str().unwrap().to_string() }
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .header("cookie", &self.cookie)
            .header(CSRF_HEADER, &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    async fn status(&self) -> StepUpStatus {
        let response =
            reqwest::Client::new().get(format!("{}/api/step-up", self.url)).header("cookie", &self.cookie).send().await;
        response.unwrap().json().await.unwrap()
    }

    async fn change(&self, current: &str, new: &str) -> (StatusCode, String) {
        let (status, body) = self.post("/api/password/change", json!({ "current": current, "new": new })).await;
        (status, body["code"].as_str().unwrap_or_default().to_string())
    }

    /// Enrols an authenticator; its secret, the recovery codes, and the step of the code used.
    async fn enrol(&self) -> (String, Vec<String>, u64) {
        let (status, body) = self.post("/api/totp/enrol", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let enrolment: latchkey_api::TotpEnrolment = serde_json::from_value(body).unwrap();
        assert!(enrolment.qr_svg.contains("<svg"), "a QR code is drawn");
        assert!(enrolment.otpauth_url.contains(&enrolment.secret_base32));
        let at = now();
        let (status, body) =
            self.post("/api/totp/confirm", json!({ "code": totp_code_at(&enrolment.secret_base32, at) })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let confirmed: UserTotpConfirmed = serde_json::from_value(body).unwrap();
        (enrolment.secret_base32, confirmed.recovery_codes, at)
    }

    fn token_hash(&self) -> String {
        latchkey_server::session::hash_token(self.cookie.split_once('=').unwrap().1)
    }
}

fn options(mode: SecondFactorMode) -> AppOptions {
    AppOptions { second_factor: mode, ..AppOptions::default() }
}

fn results(entries: &[latchkey_server::store::AuditEntry], action: &str) -> Vec<String> {
    entries.iter().filter(|e| e.action == action).map(|e| e.result.clone()).collect()
}

#[tokio::test]
async fn a_change_waits_for_a_code_and_one_code_serves_one_change() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, options(SecondFactorMode::Totp)).await;
    let user = dc.create_user(UserOptions { name_prefix: Some("Ståle".into()), ..Default::default() }).await;
    let browser = Browser::sign_in(&app, &user).await;
    let status = browser.status().await;
    assert_eq!(status.mode, SecondFactorMode::Totp);
    assert!(!status.totp_enrolled && status.may_enrol && status.confirmed_until.is_none(), "{status:?}");

    // Refused without a confirmation, and nothing is written.
    let before = dc.password_last_set(&user.dn).await;
    assert_eq!(
        browser.change(&user.password, "Fresh-Step-1!").await,
        (StatusCode::FORBIDDEN, "step_up_required".into())
    );
    assert_eq!(dc.password_last_set(&user.dn).await, before);

    // Enrolled from the portal; the first code confirms the next change.
    let (secret, recovery, at) = browser.enrol().await;
    assert_eq!(recovery.len(), 8);
    assert_eq!(browser.post("/api/totp/enrol", json!({})).await.1["code"], "already_enrolled");
    let held = browser.status().await.confirmed_until.expect("a confirmation is held");
    assert!((295..=305).contains(&(held - now() as i64)), "good for five minutes: {held}");
    assert_eq!(browser.change(&user.password, "Fresh-Step-1!").await.0, StatusCode::OK);
    assert!(dc.binds(&user.dn, "Fresh-Step-1!").await);

    // One change only; the code already used is refused, the next one is taken.
    assert_eq!(
        browser.change("Fresh-Step-1!", "Fresh-Step-2!").await,
        (StatusCode::FORBIDDEN, "step_up_required".into())
    );
    let replayed = browser.post("/api/step-up/totp", json!({ "code": totp_code_at(&secret, at) })).await;
    assert_eq!((replayed.0, replayed.1["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("wrong_code")));
    let next = browser.post("/api/step-up/totp", json!({ "code": totp_code_at(&secret, at + 30) })).await;
    assert_eq!(next.0, StatusCode::OK, "{}", next.1);
    assert_eq!(browser.change("Fresh-Step-1!", "Fresh-Step-2!").await.0, StatusCode::OK);

    // A recovery code confirms once.
    assert_eq!(browser.post("/api/step-up/totp", json!({ "code": recovery[0] })).await.0, StatusCode::OK);
    assert_eq!(browser.change("Fresh-Step-2!", "Fresh-Step-3!").await.0, StatusCode::OK);
    assert_eq!(browser.post("/api/step-up/totp", json!({ "code": recovery[0] })).await.0, StatusCode::UNAUTHORIZED);
    assert!(dc.binds(&user.dn, "Fresh-Step-3!").await);

    let audit = app.state.store.audit_of(&user.sam).await.unwrap();
    assert_eq!(results(&audit, "totp_enrol"), ["success"]);
    assert_eq!(results(&audit, "step_up_totp"), ["wrong_code", "success", "success", "wrong_code"]);
    assert_eq!(
        results(&audit, "change_password"),
        ["step_up_required", "success", "step_up_required", "success", "success"]
    );
}

#[tokio::test]
async fn a_refused_write_keeps_the_confirmation_and_an_old_one_is_refused() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, options(SecondFactorMode::KeyOrTotp)).await;
    let user = dc.create_user(UserOptions::default()).await;
    let browser = Browser::sign_in(&app, &user).await;
    browser.enrol().await;
    // The directory refuses (wrong current password): the confirmation is still there.
    assert_eq!(browser.change("Not-The-Password-1", "Fresh-Keep-1!").await.1, "wrong_current_password");
    assert!(browser.status().await.confirmed_until.is_some());
    // One older than five minutes is refused; the positive control is the same write in time.
    app.state.store.grant_step_up(&browser.token_hash(), now() as i64 - 1).await.unwrap();
    assert_eq!(browser.change(&user.password, "Fresh-Keep-1!").await.1, "step_up_required");
    app.state.store.grant_step_up(&browser.token_hash(), now() as i64 + 60).await.unwrap();
    assert_eq!(browser.change(&user.password, "Fresh-Keep-1!").await.0, StatusCode::OK);
}

#[tokio::test]
async fn wrong_codes_are_limited_per_account() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, options(SecondFactorMode::Totp)).await;
    let user = dc.create_user(UserOptions::default()).await;
    let browser = Browser::sign_in(&app, &user).await;
    let (secret, _, at) = browser.enrol().await;
    let other_browser = Browser::sign_in(&app, &user).await;
    for n in 0..5 {
        let b = if n % 2 == 0 { &browser } else { &other_browser };
        assert_eq!(b.post("/api/step-up/totp", json!({ "code": "000000" })).await.1["code"], "wrong_code");
    }
    // The right code now waits too, from either session.
    let (status, body) =
        other_browser.post("/api/step-up/totp", json!({ "code": totp_code_at(&secret, at + 30) })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
}

#[tokio::test]
async fn who_has_no_factor_and_must_change_enrols_only_when_allowed() {
    let dc = TestDc::from_env();
    let strict = AppOptions { allow_enrolment_at_change: false, ..options(SecondFactorMode::Totp) };
    let app = spawn_app(&dc, strict).await;
    let user = dc.create_user(UserOptions::default()).await;
    dc.backdate_password(&user.dn, 50);
    let browser = Browser::sign_in(&app, &user).await;
    let status = browser.status().await;
    assert!(!status.may_enrol && !status.totp_enrolled);
    let (code, body) = browser.post("/api/totp/enrol", json!({})).await;
    assert_eq!((code, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("no_second_factor")));
    assert!(body["message"].as_str().unwrap().contains("the help desk on 0100"), "{body}");
    assert_eq!(browser.change(&user.password, "Fresh-Exp-1!").await.1, "no_second_factor");
    assert!(!dc.binds(&user.dn, &user.password).await, "still expired: the DC refuses the bind");

    // Allowed (the default): the expired user enrols on the spot and changes.
    let app = spawn_app(&dc, options(SecondFactorMode::Totp)).await;
    let browser = Browser::sign_in(&app, &user).await;
    assert!(browser.status().await.may_enrol);
    browser.enrol().await;
    assert_eq!(browser.change(&user.password, "Fresh-Exp-1!").await.0, StatusCode::OK);
    assert!(dc.binds(&user.dn, "Fresh-Exp-1!").await);
}

#[tokio::test]
async fn an_administrator_resets_an_enrolment_and_it_is_audited() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, options(SecondFactorMode::Totp)).await;
    let (admin, _, _) = crate::admin::admin(&dc, &app).await;
    let user = dc.create_user(UserOptions { name_prefix: Some("Émil".into()), ..Default::default() }).await;
    app.employ(&user).await;
    let browser = Browser::sign_in(&app, &user).await;
    browser.enrol().await;
    let path = format!("/api/admin/employees/{}", user.sam.to_uppercase());
    let detail: Value = admin.get(&path).await.json().await.unwrap();
    assert_eq!(detail["totp_enrolled"], true);

    // Not by the user themself.
    assert_eq!(browser.post(&format!("{path}/totp/reset"), json!({})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(admin.post(&format!("{path}/totp/reset"), json!({})).await.status(), StatusCode::OK);
    assert!(!browser.status().await.totp_enrolled);
    let detail: Value = admin.get(&path).await.json().await.unwrap();
    assert_eq!(detail["totp_enrolled"], false);
    let audit = app.state.store.audit_of(&user.sam).await.unwrap();
    assert_eq!(results(&audit, "admin_totp_reset"), ["success"]);
    // And the user may enrol again.
    browser.enrol().await;
}

#[tokio::test]
async fn the_own_key_confirms_with_a_press_and_a_denied_press_writes_nothing() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, options(SecondFactorMode::KeyOrTotp)).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-STEPKEY").await;
    // Onboarding asks for the press itself.
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut page, &mut key).await;
    let event =
        page.send(&mut key, RelayRequest::Onboard { account: ACCOUNT, password: password(&user.password) }).await;
    assert!(matches!(event, RelayEvent::Done { .. }), "{event:?}");
    assert_eq!(page.steps, [ProgressStep::ConfirmOnKey, ProgressStep::Verifying, ProgressStep::Storing]);

    // A press refused: nothing stored.
    key.set_presence(keysim::Presence::NeverConfirm);
    let refused = page
        .send(
            &mut key,
            RelayRequest::ChangeOnKey {
                account: ACCOUNT,
                password: password("Other-On-Key-1!"),
                confirm_unverified: true,
            },
        )
        .await;
    assert!(matches!(refused, RelayEvent::Refused { .. }), "{refused:?}");
    assert_eq!(key_password(&key, ACCOUNT).as_deref(), Some(user.password.as_str()));

    // A press confirms the session's next write on the password page (one).
    key.set_presence(keysim::Presence::AlwaysConfirm);
    let confirmed = page.send(&mut key, RelayRequest::ConfirmIdentity).await;
    assert!(matches!(confirmed, RelayEvent::Done { .. }), "{confirmed:?}");
    page.close().await;
    let browser = Browser { url: app.url.clone(), cookie: cookie.clone(), csrf: csrf_of(&app, &cookie).await };
    assert!(browser.status().await.key_confirms);
    assert_eq!(browser.change(&user.password, "Fresh-Press-1!").await.0, StatusCode::OK);
    assert_eq!(browser.change("Fresh-Press-1!", "Fresh-Press-2!").await.1, "step_up_required");
    let audit = app.state.store.audit_of("LK-STEPKEY").await.unwrap();
    assert_eq!(results(&audit, "step_up_key"), ["success"]);
}

/// In a session the key started, the key is not also the second factor once an authenticator
/// is enrolled: a change asks for its code.
#[tokio::test]
async fn a_session_the_key_started_asks_for_the_authenticator() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, options(SecondFactorMode::KeyOrTotp)).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-STEPKEYSESSION").await;
    onboard(&app, &user, &mut key, &cookie).await;
    let password_session = Browser { url: app.url.clone(), cookie: cookie.clone(), csrf: csrf_of(&app, &cookie).await };
    // Positive control: in a password session, the press confirms an enrolment.
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut page, &mut key).await;
    assert!(matches!(page.send(&mut key, RelayRequest::ConfirmIdentity).await, RelayEvent::Done { .. }));
    page.close().await;
    let (secret, _, at) = password_session.enrol().await;

    // Signed in with the key alone.
    let mut page = RelayPage::open(&app, None).await;
    ready(&mut page, &mut key).await;
    let RelayEvent::SignedIn { ticket } = page.send(&mut key, RelayRequest::SignIn).await else { panic!("no ticket") };
    page.close().await;
    let response =
        reqwest::Client::new().post(format!("{}/api/session/key", app.url)).json(&json!({ "ticket": ticket }));
    let response = response.send().await.unwrap();
    let key_cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let key_session =
        Browser { url: app.url.clone(), cookie: key_cookie.clone(), csrf: csrf_of(&app, &key_cookie).await };
    assert!(!key_session.status().await.key_confirms);
    let mut page = RelayPage::open(&app, Some(&key_cookie)).await;
    ready(&mut page, &mut key).await;
    let refused = page.send(&mut key, RelayRequest::ChangeEverywhere { account: ACCOUNT, password: None }).await;
    assert!(matches!(&refused, RelayEvent::Refused { code, .. } if code == "step_up_required"), "{refused:?}");
    assert!(matches!(page.send(&mut key, RelayRequest::ConfirmIdentity).await, RelayEvent::Refused { .. }));
    let confirmed = key_session.post("/api/step-up/totp", json!({ "code": totp_code_at(&secret, at + 30) })).await;
    assert_eq!(confirmed.0, StatusCode::OK, "{}", confirmed.1);
    let done = page.send(&mut key, RelayRequest::ChangeEverywhere { account: ACCOUNT, password: None }).await;
    assert!(matches!(done, RelayEvent::Done { .. }), "{done:?}");
    page.close().await;
}

#[tokio::test]
async fn with_codes_required_a_key_flow_waits_for_one() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, options(SecondFactorMode::Totp)).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-STEPTOTP").await;
    let browser = Browser { url: app.url.clone(), cookie: cookie.clone(), csrf: csrf_of(&app, &cookie).await };
    let (secret, _, at) = browser.enrol().await;
    onboard(&app, &user, &mut key, &cookie).await; // takes the enrolment's confirmation

    let before = dc.password_last_set(&user.dn).await;
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut page, &mut key).await;
    let refused = page.send(&mut key, RelayRequest::ChangeEverywhere { account: ACCOUNT, password: None }).await;
    assert!(matches!(&refused, RelayEvent::Refused { code, .. } if code == "step_up_required"), "{refused:?}");
    assert_eq!(dc.password_last_set(&user.dn).await, before, "the directory is untouched");
    assert_eq!(key_password(&key, ACCOUNT).as_deref(), Some(user.password.as_str()), "and the key");
    // The press is no factor here: ConfirmIdentity is refused.
    assert!(matches!(page.send(&mut key, RelayRequest::ConfirmIdentity).await, RelayEvent::Refused { .. }));

    assert_eq!(
        browser.post("/api/step-up/totp", json!({ "code": totp_code_at(&secret, at + 30) })).await.0,
        StatusCode::OK
    );
    let done = page.send(&mut key, RelayRequest::ChangeEverywhere { account: ACCOUNT, password: None }).await;
    assert!(matches!(done, RelayEvent::Done { .. }), "{done:?}");
    let held = key_password(&key, ACCOUNT).unwrap();
    assert!(dc.binds(&user.dn, &held).await);
    page.close().await;
}

#[tokio::test]
async fn a_database_copy_holds_no_authenticator_secret() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, options(SecondFactorMode::Totp)).await;
    let user = dc.create_user(UserOptions::default()).await;
    let browser = Browser::sign_in(&app, &user).await;
    let (secret, recovery, _) = browser.enrol().await;
    let stored = app.stored_bytes();
    assert!(!secrets::found_in(&user.sam, &stored).is_empty(), "positive control: the enrolment's row is there");
    let raw = totp_rs::Secret::Encoded(secret.clone()).to_bytes().unwrap();
    for snapshot in &stored {
        assert!(!secrets::contains(&snapshot.bytes, &raw), "raw secret in {}", snapshot.place);
        assert!(!secrets::contains(&snapshot.bytes, hex::encode(&raw).as_bytes()), "hex secret in {}", snapshot.place);
    }
    assert_eq!(secrets::found_in(&secret, &stored), Vec::<&str>::new());
    for code in &recovery {
        assert_eq!(secrets::found_in(code, &stored), Vec::<&str>::new(), "recovery codes are stored hashed");
    }
}

/// The CSRF token of the session behind `cookie`.
async fn csrf_of(app: &TestApp, cookie: &str) -> String {
    let response = reqwest::Client::new().get(format!("{}/api/session", app.url)).header("cookie", cookie).send().await;
    let view: Value = response.unwrap().json().await.unwrap();
    view["csrf_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_server_secret_rotates_and_the_old_one_opens_nothing() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, options(SecondFactorMode::Totp)).await;
    let user = dc.create_user(UserOptions::default()).await;
    let browser = Browser::sign_in(&app, &user).await;
    let (secret, _, at) = browser.enrol().await;
    let old_secret = app.state.config.secret_key_file.clone();
    let new_secret = old_secret.with_file_name("rotated.key");
    let binary = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("latchkey-server");
    let rotate = |secret_file: &std::path::Path, new_file: &std::path::Path| {
        std::process::Command::new(&binary)
            .args(["secret", "rotate", "--new-secret-file"])
            .arg(new_file)
            .env("LATCHKEY_DATABASE_URL", &app.state.config.database_url)
            .env("LATCHKEY_SECRET_KEY_FILE", secret_file)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let who = latchkey_server::identity::LoginKey::of(&user.sam);
    let sealed_before = app.state.store.totp(&who).await.unwrap().unwrap().secret;
    let done = rotate(&old_secret, &new_secret);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(
        String::from_utf8_lossy(&done.stdout).contains("1 TOTP secrets sealed"),
        "{}",
        String::from_utf8_lossy(&done.stdout)
    );
    let sealed_after = app.state.store.totp(&who).await.unwrap().unwrap().secret;
    assert!(sealed_after != sealed_before, "sealed again");

    // The old secret opens nothing any more: a command with it is refused.
    let refused = rotate(&old_secret, &old_secret.with_file_name("again.key"));
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("is not the server secret"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!old_secret.with_file_name("again.key").exists());

    // With the new one: the chain verifies and the user's authenticator still works.
    let after = AppOptions {
        database_url: Some(app.state.config.database_url.clone()),
        secret_key_file: Some(new_secret),
        ..options(SecondFactorMode::Totp)
    };
    let after = spawn_app(&dc, after).await;
    assert_eq!(after.state.store.verify_audit().await.unwrap(), None);
    let browser = Browser::sign_in(&after, &user).await;
    let (status, body) = browser.post("/api/step-up/totp", json!({ "code": totp_code_at(&secret, at + 30) })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(browser.change(&user.password, "Fresh-Rotated-1!").await.0, StatusCode::OK);
}
