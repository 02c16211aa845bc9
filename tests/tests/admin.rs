//! Administration against the real DC: members of the administrators' group, after a TOTP
//! code, reset an employee's password; it reaches the employee's key sealed, and nobody else.

use latchkey_api::relay::RelayEvent;
use latchkey_api::{AdminState, SessionView};
use latchkey_tests::keys::{key_password, new_key, password, provision, session_cookie, RelayPage};
use latchkey_tests::{spawn_app, AppOptions, TestApp, TestDc, TestUser, UserOptions};
use reqwest::StatusCode;
use serde_json::{json, Value};
use totp_rs::{Algorithm, Secret, TOTP};

fn totp_code(secret_base32: &str) -> String {
    let secret = Secret::Encoded(secret_base32.to_string()).to_bytes().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    TOTP::new(Algorithm::SHA1, 6, 1, 30, secret).unwrap().generate(now)
}

async fn signed_in(app: &TestApp, user: &TestUser) -> (TestApp, SessionView) {
    let mut client = app.another_client();
    let response = client.sign_in(&user.sam, &user.password).await;
    assert_eq!(response.status(), StatusCode::OK);
    let view: SessionView = response.json().await.unwrap();
    (client, view)
}

/// An administrator with an enrolled authenticator, signed in and past the second factor.
async fn admin(dc: &TestDc, app: &TestApp) -> (TestApp, TestUser, String) {
    let user = dc.create_user(UserOptions::default()).await;
    dc.add_to_group(&user.dn, &dc.admin_group).await;
    let (client, view) = signed_in(app, &user).await;
    assert_eq!(view.admin, Some(AdminState::EnrolTotp));
    let enrolment: Value = client.post("/api/admin/totp/enrol", json!({})).await.json().await.unwrap();
    let secret = enrolment["secret_base32"].as_str().unwrap().to_string();
    assert!(enrolment["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/Latchkey:"));
    let confirmed = client.post("/api/admin/totp/confirm", json!({ "code": totp_code(&secret) })).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    (client, user, secret)
}

async fn code_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn administration_needs_the_group_and_a_second_factor() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let employee = dc.create_user(UserOptions::default()).await;
    let reset = format!("/api/admin/employees/{}/reset", employee.sam);

    // Nobody signed in; a plain user.
    let (status, code) = code_of(app.another_client().post(&reset, json!({})).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let (user_client, view) = signed_in(&app, &employee).await;
    assert_eq!(view.admin, None);
    for path in [reset.as_str(), "/api/admin/totp/enrol", "/api/admin/totp/verify", "/api/admin/totp/confirm"] {
        let (status, _) = code_of(user_client.post(path, json!({ "code": "000000" })).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} refused to a user");
    }

    // A member of the group: nothing before the authenticator is enrolled and a code given.
    let member = dc.create_user(UserOptions::default()).await;
    dc.add_to_group(&member.dn, &dc.admin_group).await;
    let (client, view) = signed_in(&app, &member).await;
    assert_eq!(view.admin, Some(AdminState::EnrolTotp));
    let (status, code) = code_of(client.post(&reset, json!({})).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "second_factor_required"));
    let enrolment: Value = client.post("/api/admin/totp/enrol", json!({})).await.json().await.unwrap();
    let secret = enrolment["secret_base32"].as_str().unwrap().to_string();
    let (status, code) = code_of(client.post("/api/admin/totp/confirm", json!({ "code": "000000" })).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "wrong_code"));
    let codes: Value =
        client.post("/api/admin/totp/confirm", json!({ "code": totp_code(&secret) })).await.json().await.unwrap();
    let recovery: Vec<String> = serde_json::from_value(codes["codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 8);
    assert_eq!(client.get("/api/session").await.json::<SessionView>().await.unwrap().admin, Some(AdminState::Active));

    // A new session asks for a code again; a recovery code works once.
    let (client, view) = signed_in(&app, &member).await;
    assert_eq!(view.admin, Some(AdminState::VerifyTotp));
    let used = client.post("/api/admin/totp/verify", json!({ "code": recovery[0] })).await;
    assert_eq!(used.status(), StatusCode::OK);
    let (again, _) = signed_in(&app, &member).await;
    let (status, code) = code_of(again.post("/api/admin/totp/verify", json!({ "code": recovery[0] })).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "wrong_code"), "a recovery code works once");
    let ok = again.post("/api/admin/totp/verify", json!({ "code": totp_code(&secret) })).await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_reset_reaches_the_employees_key_sealed_and_nobody_else() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (admin, admin_user, _) = admin(&dc, &app).await;

    // The employee's key, activated and onboarded.
    let employee = dc.create_user(UserOptions::default()).await;
    let (mut key, made) = new_key("LK-RESET-1");
    let code = provision(&app, &employee, &made).await;
    let cookie = session_cookie(&app, &employee).await;
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    page.connect(&mut key).await;
    page.send(&mut key, latchkey_api::relay::RelayRequest::Activate { code }).await;
    let onboarded = page
        .send(
            &mut key,
            latchkey_api::relay::RelayRequest::Onboard { account: 1, password: password(&employee.password) },
        )
        .await;
    assert!(matches!(onboarded, RelayEvent::Done { .. }), "{onboarded:?}");
    page.close().await;

    // Generated: the answer names the key, never the password.
    let response = admin.post(&format!("/api/admin/employees/{}/reset", employee.sam), json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["queued_for"], json!(["LK-RESET-1"]));
    assert!(!dc.binds(&employee.dn, &employee.password).await, "the directory has the new password");

    // The key takes it on its next connection.
    let mut page = RelayPage::open(&app, None).await;
    let ready = page.connect(&mut key).await;
    let RelayEvent::Ready { notice, .. } = &ready else { panic!("{ready:?}") };
    assert!(notice.as_deref().unwrap_or_default().contains("administrator"), "{notice:?}");
    page.close().await;
    let delivered = key_password(&key, 1).unwrap();
    assert!(dc.binds(&employee.dn, &delivered).await, "what the key holds binds");
    assert!(!body.contains(&delivered), "the reset's answer never held it");
    let database = std::fs::read(app.database_path()).unwrap();
    let wal = std::fs::read(app.database_path().with_extension("sqlite-wal")).unwrap_or_default();
    for bytes in [&database, &wal] {
        assert!(!contains(bytes, delivered.as_bytes()), "no plaintext password in the database");
    }
    let audit = app.state.store.audit_of(&employee.sam).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "admin_reset" && e.actor == admin_user.sam && e.result == "success"));

    // Typed, with "must change at next logon": checked against the policy first.
    let weak =
        admin.post(&format!("/api/admin/employees/{}/reset", employee.sam), json!({ "password": "short" })).await;
    assert_eq!(code_of(weak).await.1, "policy_violation");
    let typed = "Harbour-Signal-2207";
    let response = admin
        .post(
            &format!("/api/admin/employees/{}/reset", employee.sam),
            json!({ "password": typed, "must_change": true }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(dc.read(&employee.dn, "pwdLastSet").await.as_deref(), Some("0"));
    let mut page = RelayPage::open(&app, None).await;
    page.connect(&mut key).await;
    page.close().await;
    assert_eq!(key_password(&key, 1).as_deref(), Some(typed));
    assert!(app
        .state
        .store
        .pending_deliveries(app.state.store.key_by_serial("LK-RESET-1").await.unwrap().unwrap().id)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn the_audit_log_detects_an_edited_entry() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let user = dc.create_user(UserOptions::default()).await;
    let mut client = app.another_client();
    client.sign_in(&user.sam, "Wrong-Password-1").await;
    client.sign_in(&user.sam, &user.password).await;
    client.change(&user.password, "Lantern-Quarry-5512").await;
    assert_eq!(app.state.store.verify_audit().await.unwrap(), None, "an untouched chain verifies");

    // Someone turns the failed sign-in into a success, straight in the database.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", app.database_path().display())).await.unwrap();
    let first: i64 = sqlx::query_scalar("SELECT MIN(id) FROM audit").fetch_one(&pool).await.unwrap();
    sqlx::query("UPDATE audit SET result = 'success' WHERE id = ?").bind(first).execute(&pool).await.unwrap();
    let broken = app.state.store.verify_audit().await.unwrap();
    assert_eq!(broken.map(|b| b.id), Some(first));

    // Deleting an entry in the middle breaks the chain at the next one.
    sqlx::query("UPDATE audit SET result = 'invalid_credentials' WHERE id = ?")
        .bind(first)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(app.state.store.verify_audit().await.unwrap(), None);
    sqlx::query("DELETE FROM audit WHERE id = ?").bind(first + 1).execute(&pool).await.unwrap();
    assert_eq!(app.state.store.verify_audit().await.unwrap().map(|b| b.id), Some(first + 2));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
