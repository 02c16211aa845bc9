//! The JSON API against a real Samba AD DC: one test per answer the directory can give.

use latchkey_api::{ErrorKind, Password};
use latchkey_server::config::LimitsConfig;
use latchkey_server::directory::{BindAs, DirectoryError};
use latchkey_server::store::AuditSearch;
use latchkey_tests::app::error_code;
use latchkey_tests::evidence::{BindLog, LockoutEvidence};
use latchkey_tests::{spawn_app, AppOptions, TestApp, TestDc, TestUser, UserOptions};
use reqwest::StatusCode;
use serde_json::Value;

fn dc() -> TestDc {
    TestDc::from_env()
}

/// The user's change from their current password to `new`, done by the server's directory part
/// alone, none of the portal's own checks before it: what the DC itself says.
async fn dc_asked_straight(app: &TestApp, user: &TestUser, new: &str, bind_as: BindAs) -> Result<(), DirectoryError> {
    let directory = app.state.directory().unwrap();
    let facts = directory.account_facts(&user.dn).await.unwrap();
    directory.change_password(&facts.user, &Password::new(&user.password), &Password::new(new), bind_as, None).await
}

fn failed_rules(body: &Value) -> Vec<String> {
    body["report"]["rules"]
        .as_array()
        .expect("report")
        .iter()
        .filter(|r| r["outcome"] == "failed")
        .map(|r| match &r["rule"] {
            Value::String(code) => code.clone(),
            Value::Object(tagged) => tagged.keys().next().cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .collect()
}

#[tokio::test]
async fn change_succeeds_and_ends_other_sessions() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    let mut other = app.another_client();
    assert_eq!(other.sign_in(&user.sam, &user.password).await.status(), StatusCode::OK);
    assert_eq!(app.sign_in(&user.sam, &user.password).await.status(), StatusCode::OK);

    let status: Value = app.get("/api/password/status").await.json().await.unwrap();
    assert_eq!(status["may_change"], true);
    assert_eq!(status["policy"]["min_length"], 10);
    assert_eq!(status["policy"]["complexity"], true);
    assert_eq!(status["policy_source"], "domain");
    assert!(status["expires_at"].as_i64().unwrap() > status["now"].as_i64().unwrap());

    let new = "Fresh-Orbit-2093";
    let response = app.change(&user.password, new).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["sessions_ended"], 1);

    assert!(dc.binds(&user.dn, new).await, "the new password binds");
    assert!(!dc.binds(&user.dn, &user.password).await, "the old one does not");
    assert_eq!(other.get("/api/session").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/session").await.status(), StatusCode::OK);

    let audit = app.state.store.audit_of(&user.sam).await.unwrap();
    let actions: Vec<_> = audit.iter().map(|e| (e.action.as_str(), e.result.as_str())).collect();
    assert_eq!(actions, vec![("sign_in", "success"), ("sign_in", "success"), ("change_password", "success")]);
    assert!(audit.iter().all(|e| e.client_addr.as_deref() == Some("127.0.0.1")));
}

#[tokio::test]
async fn wrong_current_password_is_named_and_changes_nothing() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    app.sign_in(&user.sam, &user.password).await;
    let (status, body) = error_code(app.change("Not-The-Password-1", "Fresh-Orbit-2093").await).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("wrong_current_password")));
    assert!(dc.binds(&user.dn, &user.password).await);
}

#[tokio::test]
async fn weak_passwords_report_every_failed_rule() {
    let dc = dc();
    let user = dc.create_user(UserOptions { display_name: Some("Jane Quill".into()), ..Default::default() }).await;
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    app.sign_in(&user.sam, &user.password).await;

    let (status, body) = error_code(app.change(&user.password, "quill").await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "policy_violation");
    assert_eq!(failed_rules(&body), vec!["min_length", "no_name_parts", "categories"]);
    assert!(body["message"].as_str().unwrap().contains("At least 10 characters"));

    let (_, body) = error_code(app.change(&user.password, "alllowercaseletters").await).await;
    assert_eq!(failed_rules(&body), vec!["categories"]);

    let (_, body) = error_code(app.change(&user.password, "P@ssw0rd123").await).await;
    assert_eq!(body["code"], "policy_violation");
    assert!(failed_rules(&body).contains(&"not_blocklisted".to_string()), "{body}");

    let (_, body) = error_code(app.change(&user.password, &user.password).await).await;
    assert_eq!(failed_rules(&body), vec!["differs_from_current"]);

    assert!(dc.binds(&user.dn, &user.password).await, "nothing changed");
}

#[tokio::test]
async fn password_in_history_is_refused_by_the_dc_and_named() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    app.sign_in(&user.sam, &user.password).await;
    assert_eq!(app.change(&user.password, "Fresh-Orbit-2093").await.status(), StatusCode::OK);
    let (status, body) = error_code(app.change("Fresh-Orbit-2093", &user.password).await).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("in_history")));
    assert!(dc.binds(&user.dn, "Fresh-Orbit-2093").await);
}

#[tokio::test]
async fn too_young_names_the_moment_it_becomes_allowed() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    dc.apply_pso(&format!("{}-young", user.sam), &user.dn, 4, 12).await;
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    app.sign_in(&user.sam, &user.password).await;

    let status: Value = app.get("/api/password/status").await.json().await.unwrap();
    assert!(status["policy_source"]["fine_grained"]["name"].is_string(), "{}", status["policy_source"]);
    assert_eq!(status["policy"]["min_length"], 12);
    let allowed_at = status["earliest_change"].as_i64().expect("earliest change shown up front");

    let (code, body) = error_code(app.change(&user.password, "Fresh-Orbit-2093").await).await;
    assert_eq!((code, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("too_young")));
    assert_eq!(body["allowed_at"].as_i64(), Some(allowed_at));

    let wait = (allowed_at - status["now"].as_i64().unwrap()).max(0) as u64 + 1;
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    assert_eq!(app.change(&user.password, "Fresh-Orbit-2093").await.status(), StatusCode::OK);
    assert!(dc.binds(&user.dn, "Fresh-Orbit-2093").await);
}

/// The portal refuses a change before the minimum age itself; the DC holds the line too: the
/// directory part, asked straight, is refused by the DC, and the refusal is named too_young.
#[tokio::test]
async fn the_dc_itself_refuses_a_change_before_the_minimum_age() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    dc.apply_pso(&format!("{}-dcyoung", user.sam), &user.dn, 4, 12).await;
    let app = spawn_app(&dc, AppOptions::default()).await;
    let new = "Fresh-Orbit-2093";
    let before = dc.read(&user.dn, "pwdLastSet").await;

    let refused = dc_asked_straight(&app, &user, new, BindAs::User).await;
    assert!(matches!(refused, Err(DirectoryError::PolicyRefused)), "{refused:?}");
    let facts = app.state.directory().unwrap().account_facts(&user.dn).await.unwrap();
    let now = latchkey_tests::now() as i64;
    let named = latchkey_server::service::password::classify_refusal(&facts, now, &user.password, new);
    assert!(matches!(named, ErrorKind::TooYoung { .. }), "{named:?}");
    assert_eq!(dc.read(&user.dn, "pwdLastSet").await, before, "nothing changed");

    // The same call once the minimum age has passed goes through.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    dc_asked_straight(&app, &user, new, BindAs::User).await.unwrap();
    assert!(dc.binds(&user.dn, new).await);
}

#[tokio::test]
async fn must_change_user_signs_in_and_completes_the_change() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    dc.set_must_change(&user.dn).await;
    assert!(!dc.binds(&user.dn, &user.password).await, "773: the DC refuses the bind");
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    let body: Value = app.sign_in(&user.sam, &user.password).await.json().await.unwrap();
    assert_eq!(body["change_required"], "must_change");
    assert_eq!(app.change(&user.password, "Fresh-Orbit-2093").await.status(), StatusCode::OK);
    assert!(dc.binds(&user.dn, "Fresh-Orbit-2093").await);
    let session: Value = app.get("/api/session").await.json().await.unwrap();
    assert_eq!(session["change_required"], Value::Null);
}

#[tokio::test]
async fn expired_user_signs_in_and_completes_the_change() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    dc.backdate_password(&user.dn, 50);
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    let body: Value = app.sign_in(&user.sam, &user.password).await.json().await.unwrap();
    assert_eq!(body["change_required"], "expired");
    assert_eq!(app.change(&user.password, "Fresh-Orbit-2093").await.status(), StatusCode::OK);
    assert!(dc.binds(&user.dn, "Fresh-Orbit-2093").await);
}

#[tokio::test]
async fn user_who_may_not_change_is_told_up_front() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    dc.deny_password_change(&user.dn);
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    app.sign_in(&user.sam, &user.password).await;
    let status: Value = app.get("/api/password/status").await.json().await.unwrap();
    assert_eq!(status["may_change"], false);
    let (code, body) = error_code(app.change(&user.password, "Fresh-Orbit-2093").await).await;
    assert_eq!((code, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_permitted")));
    // The DC refuses it as well, asked straight (the portal's refusal came first).
    let refused = dc_asked_straight(&app, &user, "Fresh-Orbit-2093", BindAs::User).await;
    assert!(matches!(refused, Err(DirectoryError::NotPermitted)), "{refused:?}");
    assert!(dc.binds(&user.dn, &user.password).await);
}

#[tokio::test]
async fn locked_out_user_is_told_so() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    dc.lock_out(&user.dn).await;
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    let (code, body) = error_code(app.sign_in(&user.sam, &user.password).await).await;
    assert_eq!((code, body["code"].as_str()), (StatusCode::LOCKED, Some("locked_out")));
}

#[tokio::test]
async fn user_locked_out_after_signing_in_cannot_change() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    app.sign_in(&user.sam, &user.password).await;
    dc.lock_out(&user.dn).await;
    let before = (dc.read(&user.dn, "pwdLastSet").await, LockoutEvidence::read(&dc, &user.dn).await);
    let binds = BindLog::mark(&dc);
    let (code, body) = error_code(app.change(&user.password, "Fresh-Orbit-2093").await).await;
    assert_eq!((code, body["code"].as_str()), (StatusCode::LOCKED, Some("locked_out")));
    assert_eq!(binds.of(&dc, &user.sam).await, [], "the portal did not even try");
    let after = (dc.read(&user.dn, "pwdLastSet").await, LockoutEvidence::read(&dc, &user.dn).await);
    assert_eq!(after, before, "the password and the lockout are as they were");
    assert!(before.0.is_some() && before.1.lockout_time != 0, "read what there is to compare");
    // The DC refuses it as well, asked straight.
    let refused = dc_asked_straight(&app, &user, "Fresh-Orbit-2093", BindAs::Service).await;
    assert!(matches!(refused, Err(DirectoryError::LockedOut)), "{refused:?}");
    assert_eq!(dc.read(&user.dn, "pwdLastSet").await, before.0, "still unchanged");
}

#[tokio::test]
async fn disabled_user_is_told_so() {
    let dc = dc();
    let user = dc.create_user(UserOptions { disabled: true, ..Default::default() }).await;
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    let (code, body) = error_code(app.sign_in(&user.sam, &user.password).await).await;
    assert_eq!((code, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("disabled")));
}

#[tokio::test]
async fn wrong_or_empty_sign_in_is_refused_alike() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    for (name, password) in
        [(user.sam.as_str(), "Wrong-Pass-123"), ("nobody-here", "Wrong-Pass-123"), (user.sam.as_str(), "")]
    {
        let (code, body) = error_code(app.sign_in(name, password).await).await;
        assert_eq!((code, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
    }
    let bad_pwd_count = dc.read(&user.dn, "badPwdCount").await;
    assert_eq!(bad_pwd_count.as_deref(), Some("1"), "one wrong password, one count: no retries");
}

#[tokio::test]
async fn rate_limit_stops_guessing_before_the_lockout() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let limits = LimitsConfig { per_account: 3, per_address: 100, window_secs: 600, operations_per_account: 100 };
    let mut app = spawn_app(&dc, AppOptions { limits, ..Default::default() }).await;
    for _ in 0..3 {
        assert_eq!(app.sign_in(&user.sam, "Wrong-Pass-123").await.status(), StatusCode::UNAUTHORIZED);
    }
    let response = app.sign_in(&user.sam.to_uppercase(), &user.password).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(dc.read(&user.dn, "badPwdCount").await.as_deref(), Some("3"), "the refused try never reached the DC");
    assert!(!dc.is_locked_out(&user.dn).await);
}

#[tokio::test]
async fn directory_down_is_503_and_nothing_half_done() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let options = AppOptions { directory_url: Some("ldaps://127.0.0.1:1".into()), ..Default::default() };
    let mut app = spawn_app(&dc, options).await;
    let (code, body) = error_code(app.sign_in(&user.sam, &user.password).await).await;
    assert_eq!((code, body["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("directory_unavailable")));
    assert!(body["message"].as_str().unwrap().contains("Nothing was changed"));
    assert_eq!(app.get("/api/session").await.status(), StatusCode::UNAUTHORIZED, "no session was made");
    assert_eq!(app.get("/readyz").await.status(), StatusCode::SERVICE_UNAVAILABLE);
    let audit = app.state.store.audit_of(&user.sam).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].result, "directory_unavailable");
}

#[tokio::test]
async fn state_changes_need_the_csrf_token() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    app.sign_in(&user.sam, &user.password).await;
    app.csrf = Some("forged".into());
    let (code, body) = error_code(app.change(&user.password, "Fresh-Orbit-2093").await).await;
    assert_eq!((code, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("csrf_rejected")));
    assert!(dc.binds(&user.dn, &user.password).await);
}

#[tokio::test]
async fn ready_when_directory_and_database_answer() {
    let dc = dc();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["directory"], "ok");
    assert_eq!(body["database"], "ok");
}

#[tokio::test]
async fn check_reports_blocklist_and_strength_from_the_server() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    app.sign_in(&user.sam, &user.password).await;
    let weak: Value =
        app.post("/api/password/check", serde_json::json!({"candidate": "Password123!"})).await.json().await.unwrap();
    assert!(failed_rules(&weak).contains(&"not_blocklisted".to_string()), "{weak}");
    assert!(weak["strength"]["score"].as_u64().unwrap() <= 1);
    let strong: Value = app
        .post("/api/password/check", serde_json::json!({"candidate": "Tr4vel-Lantern-Orbit"}))
        .await
        .json()
        .await
        .unwrap();
    assert!(failed_rules(&strong).is_empty(), "{strong}");
    assert!(strong["strength"]["score"].as_u64().unwrap() >= 3);
}

#[tokio::test]
async fn starttls_works_like_ldaps() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    // The DC's own host, on the plain LDAP port, upgraded by StartTLS.
    let host = dc.url.trim_start_matches("ldaps://").split(':').next().unwrap().to_string();
    let options =
        AppOptions { directory_url: Some(format!("ldap://{host}:389")), starttls: true, ..Default::default() };
    let mut app = spawn_app(&dc, options).await;
    assert_eq!(app.sign_in(&user.sam, &user.password).await.status(), StatusCode::OK);
    assert_eq!(app.change(&user.password, "Fresh-Orbit-2093").await.status(), StatusCode::OK);
    assert!(dc.binds(&user.dn, "Fresh-Orbit-2093").await);
}

#[tokio::test]
async fn a_directory_certificate_nobody_vouches_for_is_refused() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let mut app = spawn_app(&dc, AppOptions { system_roots_only: true, ..Default::default() }).await;
    let binds = BindLog::mark(&dc);
    let (code, body) = error_code(app.sign_in(&user.sam, &user.password).await).await;
    assert_eq!((code, body["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("directory_unavailable")));
    let ready: Value = app.get("/readyz").await.json().await.unwrap();
    assert!(ready["directory"].as_str().unwrap().to_lowercase().contains("certificate"), "{ready}");
    assert_eq!(binds.of(&dc, &user.sam).await, [], "no bind reached the DC: no password was sent");
    // The same sign-in through a server that trusts the DC's CA does reach it.
    let mut trusting = spawn_app(&dc, AppOptions::default()).await;
    let binds = BindLog::mark(&dc);
    assert_eq!(trusting.sign_in(&user.sam, &user.password).await.status(), StatusCode::OK);
    assert!(!binds.of(&dc, &user.sam).await.is_empty(), "the control's bind is in the DC's log");
}

#[tokio::test]
async fn nobody_can_lock_an_account_through_the_portal_by_name_or_upn_or_replica() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let upn = format!("{}@{}", user.sam, dc.realm());
    // Configured far above the domain's lockout threshold (5): clamped to 4 wrong passwords.
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    assert_eq!(app.state.config.limits.per_account, 50);
    for name in [&user.sam, &upn, &user.sam.to_uppercase(), &upn] {
        assert_eq!(app.sign_in(name, "Wrong-Pass-123").await.status(), StatusCode::UNAUTHORIZED);
    }
    // Each wrong one reached the directory once (read before any right bind could zero it).
    assert_eq!(dc.read(&user.dn, "badPwdCount").await.as_deref(), Some("4"));
    let (status, body) = error_code(app.sign_in(&upn, &user.password).await).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    // A second server on the same database counts the same guesses.
    let options = AppOptions {
        database_url: Some(app.state.config.database_url.clone()),
        secret_key_file: Some(app.state.config.secret_key_file.clone()),
        ..AppOptions::default()
    };
    let mut replica = spawn_app(&dc, options).await;
    assert_eq!(replica.sign_in(&user.sam, "Wrong-Pass-123").await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(dc.read(&user.dn, "badPwdCount").await.as_deref(), Some("4"), "the refused tries never reached the DC");
    assert!(!dc.is_locked_out(&user.dn).await);
    // Positive control: another account is not held back.
    let other = dc.create_user(UserOptions::default()).await;
    assert_eq!(replica.sign_in(&other.sam, &other.password).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_first_session_with_a_typo_meets_no_limit_under_the_default_limits() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let limits = latchkey_server::Config::default().limits;
    let mut app = spawn_app(&dc, AppOptions { limits, ..Default::default() }).await;
    assert_eq!(app.sign_in(&user.sam, "Start-Pass-typo").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.sign_in(&user.sam, &user.password).await.status(), StatusCode::OK);
    let mut current = user.password.clone();
    for (round, new) in ["Meadow-Falcon-3391", "Harbour-Signal-2207", "Copper-Heron-7723"].iter().enumerate() {
        assert_eq!(app.get("/api/password/status").await.status(), StatusCode::OK);
        for candidate in ["short", "Meadow-Falcon", new] {
            let check = app.post("/api/password/check", serde_json::json!({ "candidate": candidate })).await;
            assert_eq!(check.status(), StatusCode::OK);
        }
        assert_eq!(app.change(&current, new).await.status(), StatusCode::OK, "change {round}");
        current = new.to_string();
        assert_eq!(app.sign_in(&user.sam, &current).await.status(), StatusCode::OK, "sign-in {round}");
    }
}

#[tokio::test]
async fn the_client_address_comes_from_forwarding_headers_only_behind_a_trusted_proxy() {
    let dc = dc();
    let limits = LimitsConfig { per_account: 3, per_address: 3, window_secs: 600, operations_per_account: 100 };
    let proxied =
        AppOptions { trusted_proxies: vec!["127.0.0.1/32".into()], limits: limits.clone(), ..Default::default() };
    let app = spawn_app(&dc, proxied).await;
    let attempt = |app: &latchkey_tests::TestApp, name: String, from: &'static str| {
        let request = app
            .client
            .post(format!("{}/api/session", app.url))
            .header("x-forwarded-for", format!("203.0.113.66, {from}"))
            .json(&serde_json::json!({ "username": name, "password": "Wrong-Pass-123" }));
        async move { request.send().await.unwrap().status() }
    };
    // Three from one client behind the proxy; the fourth is refused, another client is not.
    for n in 0..3 {
        assert_eq!(attempt(&app, format!("nobody{n}"), "198.51.100.1").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(attempt(&app, "nobody3".into(), "198.51.100.1").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(attempt(&app, "nobody4".into(), "198.51.100.2").await, StatusCode::UNAUTHORIZED, "another client");
    let audit = app.state.store.audit_of("nobody0").await.unwrap();
    assert_eq!(audit[0].client_addr.as_deref(), Some("198.51.100.1"), "the audit names the client, not the proxy");

    // Without trusted proxies the header is the client's own claim: ignored.
    let direct = spawn_app(&dc, AppOptions { limits, ..Default::default() }).await;
    assert_eq!(attempt(&direct, "nobody5".into(), "198.51.100.3").await, StatusCode::UNAUTHORIZED);
    let audit = direct.state.store.audit_of("nobody5").await.unwrap();
    assert_eq!(audit[0].client_addr.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn a_huge_user_name_is_refused_and_audited_only_in_part() {
    let dc = dc();
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    let huge = "x".repeat(12 * 1024);
    assert_eq!(app.sign_in(&huge, "Wrong-Pass-123").await.status(), StatusCode::UNAUTHORIZED);
    let entries = app
        .state
        .store
        .search_audit(&AuditSearch { actions: &["sign_in"], target: "xxxx", ..Default::default() }, 10)
        .await
        .unwrap();
    let entry = entries.first().expect("the refusal is audited");
    assert!(entry.target.chars().count() <= 257 && entry.target.ends_with('…'), "{} chars", entry.target.len());
    // Positive control: an ordinary name is kept whole.
    assert_eq!(app.sign_in("someone-unknown", "Wrong-Pass-123").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.state.store.audit_of("someone-unknown").await.unwrap().len(), 1);
}

/// A name with control characters is audited with them shown as U+FFFD, in the log itself:
/// nothing is left waiting in the spool. U+0000 (which PostgreSQL's text cannot hold) is
/// refused at the edge, in a body or in a query.
#[tokio::test]
async fn a_name_with_control_characters_is_audited_in_the_log() {
    let dc = dc();
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    let (status, body) = error_code(app.sign_in("zoë\u{0}admin", "Wrong-Pass-123").await).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")), "{body}");
    let (status, _) = error_code(app.get("/api/recovery/options?username=zo%00e").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.sign_in("zoë\u{7}\nadmin", "Wrong-Pass-123").await.status(), StatusCode::UNAUTHORIZED);
    let logged = app.state.store.audit_of("zoë\u{FFFD}\u{FFFD}admin").await.unwrap();
    assert_eq!(logged.len(), 1, "the refusal is in the audit log");
    let spool = app.state.config.secret_key_file.with_extension("audit-spool");
    assert!(std::fs::read_to_string(&spool).unwrap_or_default().is_empty(), "nothing spooled");
    // Positive control: the name without them is kept as typed.
    assert_eq!(app.sign_in("zoë-admin", "Wrong-Pass-123").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.state.store.audit_of("zoë-admin").await.unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_guesses_and_the_directorys_longer_window_still_lock_no_one() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    // The portal's window is a minute here; the test domain remembers wrong passwords 30 minutes.
    let app = spawn_app(&dc, AppOptions::default()).await;
    assert_eq!(app.state.config.limits.window_secs, 60);
    let upn = format!("{}@{}", user.sam, dc.realm());
    let guesses = (0..12).map(|i| {
        let client = app.another_client();
        let name = if i % 2 == 0 { user.sam.clone() } else { upn.clone() };
        async move {
            client
                .post("/api/session", serde_json::json!({ "username": name, "password": "Wrong-Pass-123" }))
                .await
                .status()
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    let sent = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let held = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    // Never more than the allowance (four, below the domain's threshold of five); under load a
    // burst may stop short of it, which only errs on the safe side.
    assert!((1..=4).contains(&sent) && sent + held == 12, "{statuses:?}");
    assert_eq!(dc.read(&user.dn, "badPwdCount").await, Some(sent.to_string()), "at once, still below the threshold");
    for _ in sent..4 {
        let mut client = app.another_client();
        assert_eq!(client.sign_in(&user.sam, "Wrong-Pass-123").await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(dc.read(&user.dn, "badPwdCount").await.as_deref(), Some("4"), "the allowance, and no more");

    // Two minutes on, the portal's own window has passed but the directory's has not.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.state.config.database_url).await.unwrap();
    let rewind = |secs: i64| {
        sqlx::query("UPDATE password_failures SET first_at = first_at - $1, last_at = last_at - $2")
            .bind(secs)
            .bind(secs)
            .execute(&pool)
    };
    rewind(120).await.unwrap();
    let mut client = app.another_client();
    assert_eq!(client.sign_in(&user.sam, "Wrong-Pass-123").await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(dc.read(&user.dn, "badPwdCount").await.as_deref(), Some("4"));
    assert!(!dc.is_locked_out(&user.dn).await);
    // Positive control: the account is not locked (the right password binds, which zeroes the
    // directory's count); once the portal's window has passed too, the portal lets it in.
    assert!(dc.binds(&user.dn, &user.password).await);
    rewind(31 * 60).await.unwrap();
    assert_eq!(client.sign_in(&user.sam, &user.password).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_directorys_own_count_stops_the_portal_when_its_own_has_lapsed() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    assert_eq!(app.sign_in(&user.sam, "Wrong-Pass-123").await.status(), StatusCode::UNAUTHORIZED);
    // The portal's count lapses (its row rewound past any window); the directory's has not.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.state.config.database_url).await.unwrap();
    sqlx::query("UPDATE password_failures SET first_at = first_at - 7200, last_at = last_at - 7200")
        .execute(&pool)
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(app.sign_in(&user.sam, "Wrong-Pass-123").await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(dc.read(&user.dn, "badPwdCount").await.as_deref(), Some("4"));
    // The portal counted 3 now, the directory 4: one more would lock, so it is not sent.
    assert_eq!(app.sign_in(&user.sam, "Wrong-Pass-123").await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(dc.read(&user.dn, "badPwdCount").await.as_deref(), Some("4"));
    assert!(!dc.is_locked_out(&user.dn).await);
}

/// Signing out ends the session on the server: the cookie it had is worth nothing afterwards,
/// even sent again by hand.
#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let app = spawn_app(&dc, AppOptions::default()).await;
    let response = app
        .client
        .post(format!("{}/api/session", app.url))
        .json(&serde_json::json!({ "username": user.sam, "password": user.password }))
        .send()
        .await
        .unwrap();
    let set = |response: &reqwest::Response| -> Vec<String> {
        response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect()
    };
    let signed_in = set(&response);
    assert!(signed_in[0].starts_with("latchkey_session=") && signed_in[0].contains("HttpOnly"), "{signed_in:?}");
    // The page's hint carries nothing of the session.
    assert!(signed_in[1].starts_with("latchkey_signed_in=1;") && !signed_in[1].contains("HttpOnly"), "{signed_in:?}");
    let cookie = signed_in[0].split(';').next().unwrap().to_string();
    let view: Value = response.json().await.unwrap();
    let csrf = view["csrf_token"].as_str().unwrap().to_string();
    let by_hand = reqwest::Client::new();
    let current = || by_hand.get(format!("{}/api/session", app.url)).header("cookie", &cookie).send();
    assert_eq!(current().await.unwrap().status(), StatusCode::OK, "the session works before");

    let out = by_hand
        .delete(format!("{}/api/session", app.url))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert!(out.status().is_success(), "{}", out.status());
    let cleared = set(&out);
    assert!(cleared.len() == 2 && cleared.iter().all(|c| c.contains("Max-Age=0")), "both cleared: {cleared:?}");
    assert!(cleared[1].starts_with("latchkey_signed_in="), "{cleared:?}");
    assert_eq!(current().await.unwrap().status(), StatusCode::UNAUTHORIZED, "the same cookie, after");
    let audit = app.state.store.audit_of(&user.sam).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "sign_out" && e.result == "success"));
}

/// A logon name is a value in the DC's filter, never filter syntax: a wildcard or a filter
/// fragment finds nobody, so no one's password is tried; the exact name signs in.
#[tokio::test]
async fn a_logon_name_cannot_change_the_directorys_search() {
    let dc = dc();
    // A prefix no other user has: unescaped, each name below would match this user alone.
    let prefix = format!("esc{}x", latchkey_tests::now() % 100_000);
    let user = dc.create_user(UserOptions { name_prefix: Some(prefix.clone()), ..Default::default() }).await;
    let mut app = spawn_app(&dc, AppOptions::default()).await;
    let binds = BindLog::mark(&dc);
    let sam = &user.sam;
    for name in [format!("{prefix}*"), format!("{sam})(sAMAccountName={sam}"), format!("{sam})(|(cn=*")] {
        let (status, body) = error_code(app.sign_in(&name, &user.password).await).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")), "{name}");
    }
    assert_eq!(binds.of(&dc, &user.sam).await, [], "nobody's password was tried");
    assert_eq!(app.sign_in(&user.sam, &user.password).await.status(), StatusCode::OK, "the exact name works");
}

/// `check-config` prints the effective configuration with the directory's password masked.
#[tokio::test]
async fn check_config_masks_the_service_password() {
    let binary = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("latchkey-server");
    assert!(binary.exists(), "{} is not built (the test command builds it)", binary.display());
    let secret = "Not-For-Printing-7731";
    let output = std::process::Command::new(binary)
        .arg("check-config")
        .env("LATCHKEY_DIRECTORY__URL", "ldaps://dc.example.test")
        .env("LATCHKEY_DIRECTORY__SERVICE_ACCOUNT", "svc@example.test")
        .env("LATCHKEY_DIRECTORY__SERVICE_PASSWORD", secret)
        .env("LATCHKEY_DATABASE_URL", format!("postgres://latchkey:{secret}@db.example.test/latchkey"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("ldaps://dc.example.test") && printed.contains("svc@example.test"), "{printed}");
    assert!(!printed.contains(secret) && !String::from_utf8_lossy(&output.stderr).contains(secret));
    assert!(printed.contains("\"service_password\": \"***\""), "{printed}");
    assert!(printed.contains("postgres://latchkey:***@db.example.test/latchkey"), "{printed}");
}

/// The complexity categories, character by character, against the DC itself: a password of two
/// categories plus one character, on three bases (lowercase + digits, uppercase + digits, other
/// letters + digits), so a character counted in the wrong category shows. Wherever the portal
/// accepts, the DC must; where the DC is laxer (Samba counts some characters Windows does not),
/// the portal follows the documented Windows rule.
#[tokio::test]
async fn the_portal_never_accepts_a_password_the_dc_refuses_for_complexity() {
    let dc = dc();
    let user = dc.create_user(UserOptions { display_name: Some("Zed Quin".into()), ..Default::default() }).await;
    let app = spawn_app(&dc, AppOptions::default()).await;
    let directory = app.state.directory().unwrap();
    let mut current = user.password.clone();
    let chars = [
        'A', 'É', 'Ж', 'Ω', 'ǅ', 'ʰ', 'ª', '漢', 'ש', 'ー', '#', '/', 'ß', 'ĸ', 'ς', 'ა', '𐐨', '𝐀', 'Ⓐ', 'Ⅻ', '٣', '²',
        '€', '😀', '§', ' ',
    ];
    let bases = ["qwzxvbnm", "QWZXVBNM", "漢字漢字漢字漢字"];
    let (mut both_accept, mut both_refuse, mut dc_laxer) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (base, c)) in bases.iter().flat_map(|b| chars.iter().map(move |c| (*b, *c))).enumerate() {
        let candidate = format!("{base}{i:02}{c}");
        let facts = directory.account_facts(&user.dn).await.unwrap();
        let portal = latchkey_policy::check(
            &candidate,
            None,
            &facts.policy,
            &facts.user.account(),
            &latchkey_policy::NoBlocklist,
        );
        let portal_accepts = portal.failures().next().is_none();
        let dc_accepts = directory
            .change_password(&facts.user, &Password::new(&current), &Password::new(&candidate), BindAs::User, None)
            .await
            .is_ok();
        assert!(!portal_accepts || dc_accepts, "{c:?}: the portal accepts {candidate:?}, the DC refuses it");
        let seen = (&base[..3], c);
        match (portal_accepts, dc_accepts) {
            (true, true) => both_accept.push(seen),
            (false, false) => both_refuse.push(seen),
            _ => dc_laxer.push(seen),
        }
        if dc_accepts {
            current = candidate;
        }
    }
    println!(
        "complexity, portal and DC agree accepting {both_accept:?}, refusing {both_refuse:?}; DC laxer on {dc_laxer:?}"
    );
    // Controls: a plain uppercase letter and an ASCII symbol add a category for both; a space
    // and a lowercase Greek letter add none for either. (Samba also counts currency signs,
    // other symbols and other scripts' digits, which Windows does not: the portal refuses them.)
    assert!(both_accept.contains(&("qwz", 'A')) && both_accept.contains(&("QWZ", '#')), "{both_accept:?}");
    assert!(both_refuse.contains(&("qwz", ' ')) && both_refuse.contains(&("qwz", 'ς')), "{both_refuse:?}");
    assert!(both_refuse.contains(&("QWZ", 'Ж')) && both_accept.contains(&("漢", 'Ж')), "{both_refuse:?}");
    assert!(dc.binds(&user.dn, &current).await, "the last accepted password is the one that binds");
}

/// The service account's connections are a pool of four (the default), made once and kept:
/// reads make no new connection once all four exist; a user's own bind is a connection of its
/// own, closed after.
#[tokio::test]
async fn the_service_connections_are_a_kept_pool() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let proxy = latchkey_tests::dc_proxy::DcProxy::start(&dc.url).await;
    let app = spawn_app(&dc, AppOptions { directory_url: Some(proxy.url.clone()), ..Default::default() }).await;
    let mut client = app.another_client();
    assert_eq!(client.sign_in(&user.sam, &user.password).await.status(), StatusCode::OK);
    // Each status read asks for the account's facts on the next connection of the pool.
    for _ in 0..8 {
        assert_eq!(client.get("/api/password/status").await.status(), StatusCode::OK);
    }
    let warmed = proxy.connections();
    assert_eq!(warmed, 4 + 1, "four service connections and the sign-in's own bind");
    for _ in 0..20 {
        assert_eq!(client.get("/api/password/status").await.status(), StatusCode::OK);
    }
    assert_eq!(proxy.connections(), warmed, "the pool is kept: reads open nothing new");
    let mut again = app.another_client();
    assert_eq!(again.sign_in(&user.sam, &user.password).await.status(), StatusCode::OK);
    assert_eq!(proxy.connections(), warmed + 1, "a sign-in binds on a connection of its own");
}

/// The service account's connections are kept; when the DC goes away the portal says
/// so (503, nothing half done), and the first request after it is back works, without a restart.
#[tokio::test]
async fn the_dc_going_away_and_coming_back_needs_no_restart() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let proxy = latchkey_tests::dc_proxy::DcProxy::start(&dc.url).await;
    let app = spawn_app(&dc, AppOptions { directory_url: Some(proxy.url.clone()), ..Default::default() }).await;
    let sign_in = || async {
        let mut client = app.another_client();
        client.sign_in(&user.sam, &user.password).await.status()
    };
    assert_eq!(sign_in().await, StatusCode::OK, "through the shared connection");
    assert_eq!(sign_in().await, StatusCode::OK, "and again");

    proxy.cut();
    let mut client = app.another_client();
    let (status, body) = error_code(client.sign_in(&user.sam, &user.password).await).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("directory_unavailable")));
    let ready = app.get("/readyz").await.status();
    assert_eq!(ready, StatusCode::SERVICE_UNAVAILABLE, "not ready while the DC is away");

    proxy.restore();
    assert_eq!(sign_in().await, StatusCode::OK, "the first request after the DC is back");
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
}

/// A DC that stops answering without closing anything: the portal gives up on it within its
/// timeout (503), drops the connection, and works again once the DC answers.
#[tokio::test]
async fn a_dc_that_stops_answering_is_given_up_on_and_replaced() {
    let dc = dc();
    let user = dc.create_user(UserOptions::default()).await;
    let proxy = latchkey_tests::dc_proxy::DcProxy::start(&dc.url).await;
    let app = spawn_app(&dc, AppOptions { directory_url: Some(proxy.url.clone()), ..Default::default() }).await;
    let sign_in = || async {
        let mut client = app.another_client();
        client.sign_in(&user.sam, &user.password).await
    };
    assert_eq!(sign_in().await.status(), StatusCode::OK);

    proxy.freeze();
    let asked = std::time::Instant::now();
    let (status, body) = error_code(sign_in().await).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("directory_unavailable")));
    assert!(asked.elapsed() < std::time::Duration::from_secs(30), "given up within the timeout: {:?}", asked.elapsed());

    proxy.restore();
    assert_eq!(sign_in().await.status(), StatusCode::OK, "a fresh connection once the DC answers");
}
