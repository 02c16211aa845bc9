//! "Can't sign in?" against the real DC and the reference key: unlock or a new password with
//! the key (no session), recovery without the key (an authenticator code and a mailed code),
//! a key reported lost, and the same answer for every name.

use latchkey_api::recovery::{RecoveryAction, RecoveryFactors};
use latchkey_api::relay::{RelayEvent, RelayRequest};
use latchkey_tests::evidence::LockoutEvidence;
use latchkey_tests::keys::{key_password, password, RelayPage};
use latchkey_tests::secrets;
use latchkey_tests::smtp::TestSmtp;
use latchkey_tests::{spawn_app, totp_code, AppOptions, TestApp, TestDc, TestUser, UserOptions};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::relay::{onboard, ready, user_with_key, ACCOUNT};

async fn recover(
    app: &TestApp,
    key: &mut keysim::SimKey,
    action: RecoveryAction,
    code: Option<String>,
) -> (RelayPage, RelayEvent) {
    let mut page = RelayPage::open(app, None).await;
    ready(&mut page, key).await;
    let event = page.send(key, RelayRequest::Recover { action, code }).await;
    (page, event)
}

fn results(entries: &[latchkey_server::store::AuditEntry], action: &str) -> Vec<String> {
    entries.iter().filter(|e| e.action == action).map(|e| e.result.clone()).collect()
}

/// A session with the key's ticket, as the page redeems it after a recovery.
async fn sign_in_with_key(app: &TestApp, page: &mut RelayPage, key: &mut keysim::SimKey) -> StatusCode {
    let RelayEvent::SignedIn { ticket } = page.send(key, RelayRequest::SignIn).await else { panic!("no ticket") };
    let response =
        reqwest::Client::new().post(format!("{}/api/session/key", app.url)).json(&json!({ "ticket": ticket })).send();
    response.await.unwrap().status()
}

/// A server with mail, and a user with a mail address and an activated key holding their
/// password.
async fn onboarded_with_mail(dc: &TestDc, serial: &str) -> (TestSmtp, TestApp, TestUser, keysim::SimKey, String) {
    let smtp = TestSmtp::start(dc);
    let app = spawn_app(dc, AppOptions { mail: Some(smtp.config(dc)), ..AppOptions::default() }).await;
    let (user, mut key, cookie) = user_with_key(dc, &app, serial).await;
    dc.replace(&user.dn, "mail", &format!("{}@example.test", user.sam.to_lowercase())).await;
    onboard(&app, &user, &mut key, &cookie).await;
    (smtp, app, user, key, cookie)
}

#[tokio::test]
async fn a_locked_account_is_unlocked_with_the_key() {
    let dc = TestDc::from_env();
    let (smtp, app, user, mut key, _) = onboarded_with_mail(&dc, "LK-REC-UNLOCK").await;
    dc.lock_out(&user.dn).await;
    let before = LockoutEvidence::read(&dc, &user.dn).await;
    assert!(before.lockout_time != 0 && before.bad_pwd_count >= 5, "locked: {before:?}");

    let (mut page, event) = recover(&app, &mut key, RecoveryAction::Unlock, None).await;
    assert!(matches!(&event, RelayEvent::Done { message, .. } if message.contains("unlocked")), "{event:?}");
    let after = LockoutEvidence::read(&dc, &user.dn).await;
    assert_eq!((after.lockout_time, after.bad_pwd_count), (0, 0), "{after:?}");
    assert!(dc.binds(&user.dn, &key_password(&key, ACCOUNT).unwrap()).await, "the key's password works again");
    assert_eq!(sign_in_with_key(&app, &mut page, &mut key).await, StatusCode::OK);
    let audit = app.state.store.audit_of("LK-REC-UNLOCK").await.unwrap();
    assert_eq!(results(&audit, "recovery_unlock"), ["success"]);
    let notice = &smtp.wait_for(1).await[0];
    assert!(notice.text.contains("Your account was unlocked with your key LK-REC-UNLOCK."), "{}", notice.text);
}

#[tokio::test]
async fn a_forgotten_password_is_replaced_on_the_key_and_nowhere_else() {
    let dc = TestDc::from_env();
    let (smtp, app, user, mut key, cookie) = onboarded_with_mail(&dc, "LK-REC-RESET").await;
    let session = reqwest::Client::new().get(format!("{}/api/session", app.url)).header("cookie", &cookie);
    assert_eq!(session.send().await.unwrap().status(), StatusCode::OK, "positive control: a session is open");

    let (mut page, event) = recover(&app, &mut key, RecoveryAction::Reset, None).await;
    assert!(matches!(event, RelayEvent::Done { .. }), "{event:?}");
    let new = key_password(&key, ACCOUNT).unwrap();
    assert_ne!(new, user.password);
    assert!(dc.binds(&user.dn, &new).await);
    assert!(!dc.binds(&user.dn, &user.password).await);
    let session = reqwest::Client::new().get(format!("{}/api/session", app.url)).header("cookie", &cookie);
    assert_eq!(session.send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "every session ended");
    assert!(page.transcript.iter().all(|e| !e.contains(&new)), "the page never saw it");
    assert_eq!(secrets::found_in(&new, &app.stored_bytes()), Vec::<&str>::new(), "nor the database");
    assert_eq!(secrets::found_in(&new, &[secrets::server_log()]), Vec::<&str>::new(), "nor the log");
    assert_eq!(sign_in_with_key(&app, &mut page, &mut key).await, StatusCode::OK);
    let audit = app.state.store.audit_of("LK-REC-RESET").await.unwrap();
    assert_eq!(results(&audit, "recovery_reset_with_key"), ["success"]);
    let notice = &smtp.wait_for(1).await[0];
    assert!(notice.text.contains("A new password was set with your key LK-REC-RESET"), "{}", notice.text);
    assert!(!notice.raw.windows(new.len()).any(|w| w == new.as_bytes()), "the notice holds no password");
}

#[tokio::test]
async fn a_recovery_with_the_key_ignores_minimum_age_and_an_expired_password() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    // Too young to change: a change everywhere is refused, the recovery is not.
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-REC-YOUNG").await;
    onboard(&app, &user, &mut key, &cookie).await;
    dc.apply_pso(&format!("PSO-{}", user.sam), &user.dn, 2 * 86_400, 8).await;
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut page, &mut key).await;
    let refused = page.send(&mut key, RelayRequest::ChangeEverywhere { account: ACCOUNT, password: None }).await;
    assert!(matches!(&refused, RelayEvent::Refused { code, .. } if code == "too_young"), "{refused:?}");
    page.close().await;
    let (_, event) = recover(&app, &mut key, RecoveryAction::Reset, None).await;
    assert!(matches!(event, RelayEvent::Done { .. }), "{event:?}");
    assert!(dc.binds(&user.dn, &key_password(&key, ACCOUNT).unwrap()).await);

    // "User cannot change password" holds for a recovery too.
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-REC-NOCHANGE").await;
    onboard(&app, &user, &mut key, &cookie).await;
    dc.deny_password_change(&user.dn);
    let (_, refused) = recover(&app, &mut key, RecoveryAction::Reset, None).await;
    assert!(matches!(&refused, RelayEvent::Refused { code, .. } if code == "not_permitted"), "{refused:?}");
    assert!(dc.binds(&user.dn, &user.password).await);

    // Expired.
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-REC-EXPIRED").await;
    onboard(&app, &user, &mut key, &cookie).await;
    dc.backdate_password(&user.dn, 50);
    assert!(!dc.binds(&user.dn, &user.password).await, "expired");
    let (_, event) = recover(&app, &mut key, RecoveryAction::Reset, None).await;
    assert!(matches!(event, RelayEvent::Done { .. }), "{event:?}");
    assert!(dc.binds(&user.dn, &key_password(&key, ACCOUNT).unwrap()).await);
}

#[tokio::test]
async fn with_an_authenticator_the_key_recovery_asks_for_its_code() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-REC-TOTP").await;
    onboard(&app, &user, &mut key, &cookie).await;
    let secret = enrol(&app, &user).await;
    let (_, missing) = recover(&app, &mut key, RecoveryAction::Unlock, None).await;
    assert!(matches!(&missing, RelayEvent::Refused { code, .. } if code == "second_factor_required"), "{missing:?}");
    let (_, wrong) = recover(&app, &mut key, RecoveryAction::Unlock, Some("000000".into())).await;
    assert!(matches!(&wrong, RelayEvent::Refused { code, .. } if code == "wrong_code"), "{wrong:?}");
    let next = latchkey_tests::totp_code_at(&secret, latchkey_tests::now() + 30);
    let (_, done) = recover(&app, &mut key, RecoveryAction::Unlock, Some(next)).await;
    assert!(matches!(done, RelayEvent::Done { .. }), "{done:?}");

    // `key` alone: no code asked.
    let app = spawn_app(&dc, AppOptions { recovery_factors: RecoveryFactors::Key, ..AppOptions::default() }).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-REC-KEYONLY").await;
    onboard(&app, &user, &mut key, &cookie).await;
    enrol(&app, &user).await;
    let (_, done) = recover(&app, &mut key, RecoveryAction::Unlock, None).await;
    assert!(matches!(done, RelayEvent::Done { .. }), "{done:?}");
}

/// Enrols an authenticator for `user`; its secret.
async fn enrol(app: &TestApp, user: &TestUser) -> String {
    enrol_with_codes(app, user).await.0
}

/// Enrols an authenticator for `user`; its secret and recovery codes.
async fn enrol_with_codes(app: &TestApp, user: &TestUser) -> (String, Vec<String>) {
    let mut client = app.another_client();
    client.sign_in(&user.sam, &user.password).await;
    let enrolment: Value = client.post("/api/totp/enrol", json!({})).await.json().await.unwrap();
    let secret = enrolment["secret_base32"].as_str().unwrap().to_string();
    let confirmed = client.post("/api/totp/confirm", json!({ "code": totp_code(&secret) })).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let body: Value = confirmed.json().await.unwrap();
    let codes = body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    (secret, codes)
}

/// The eight-digit code in the last message to `to`.
fn mailed_code(smtp: &TestSmtp, to: &str) -> String {
    let message = smtp.messages().into_iter().rev().find(|m| m.to.eq_ignore_ascii_case(to)).expect("a message");
    let at = message.text.find("Your recovery code is ").expect("a code") + "Your recovery code is ".len();
    message.text[at..at + 8].to_string()
}

#[tokio::test]
async fn without_the_key_both_codes_are_needed_and_each_works_once() {
    let dc = TestDc::from_env();
    let smtp = TestSmtp::start(&dc);
    let options = AppOptions {
        mail: Some(smtp.config(&dc)),
        recovery_without_key: true,
        review_recoveries: true,
        ..AppOptions::default()
    };
    let app = spawn_app(&dc, options).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-REC-NOKEY").await;
    onboard(&app, &user, &mut key, &cookie).await;
    let recovery_address = format!("{}@home.example", user.sam.to_lowercase());
    dc.replace(&user.dn, "otherMailbox", &recovery_address).await;
    let (secret, recovery_codes) = enrol_with_codes(&app, &user).await;
    // The mailbox the user may be locked out of gets the notice only.
    let mailbox = format!("{}@example.test", user.sam.to_lowercase());
    dc.replace(&user.dn, "mail", &mailbox).await;
    let client = app.another_client();
    let complete = |totp: String, mail: String, new: &str| {
        let body =
            json!({ "username": user.sam.to_uppercase(), "totp_code": totp, "mail_code": mail, "new_password": new });
        let client = client.another_client();
        async move { client.post("/api/recovery/complete", body).await }
    };
    let start = || async { client.post("/api/recovery/start", json!({ "username": user.sam })).await.status() };

    assert_eq!(start().await, StatusCode::OK);
    let messages = smtp.wait_for(1).await;
    assert_eq!(messages[0].to.to_lowercase(), recovery_address, "to the recovery address, not the mailbox");
    let code = mailed_code(&smtp, &recovery_address);
    let at = latchkey_tests::now() + 30;
    let totp = |at: u64| latchkey_tests::totp_code_at(&secret, at);
    // A wrong authenticator code, a wrong mailed code: refused.
    assert_eq!(code_of(complete("000000".into(), code.clone(), "Fresh-Rec-1!").await).await, "wrong_code");
    assert_eq!(code_of(complete(totp(at), "12345678".into(), "Fresh-Rec-1!").await).await, "wrong_code");
    // Both right but a password the policy refuses: refused, and nothing is written; the mailed
    // code still works (the authenticator's code of that step is spent).
    let weak = complete(totp(at), code.clone(), "weak").await;
    assert_eq!(code_of(weak).await, "policy_violation");
    assert!(dc.binds(&user.dn, &user.password).await, "nothing changed");
    // An expired code (it replaces the mailed one).
    let who = latchkey_server::identity::LoginKey::of(&user.sam);
    let expired = app.state.secrets.code_hash("87654321");
    app.state.store.put_recovery_code(&who, &expired, latchkey_tests::now() as i64 - 1).await.unwrap();
    assert_eq!(code_of(complete(totp(at + 30), "87654321".into(), "Fresh-Rec-1!").await).await, "wrong_code");
    assert!(dc.binds(&user.dn, &user.password).await, "nothing changed yet");

    // Both right.
    assert_eq!(start().await, StatusCode::OK);
    smtp.wait_for(2).await;
    let code = mailed_code(&smtp, &recovery_address);
    // The authenticator's next step may not have come yet: one of its recovery codes serves.
    let response = complete(recovery_codes[0].clone(), code.clone(), "Fresh-Rec-1!").await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    assert!(dc.binds(&user.dn, "Fresh-Rec-1!").await);
    // Replayed: both codes are spent.
    let again = complete(recovery_codes[0].clone(), code, "Fresh-Rec-2!").await;
    assert_eq!(code_of(again).await, "wrong_code");
    let session = reqwest::Client::new().get(format!("{}/api/session", app.url)).header("cookie", &cookie);
    assert_eq!(session.send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "every session ended");
    let notice = smtp.wait_for(3).await;
    assert!(notice.iter().any(|m| m.subject.ends_with("Your password was reset") && m.to.to_lowercase() == mailbox));
    let (admin, _, _) = crate::admin::admin(&dc, &app).await;
    let detail: Value = admin.get(&format!("/api/admin/employees/{}", user.sam)).await.json().await.unwrap();
    assert!(detail["review_requested_at"].as_i64().is_some(), "{detail}");
    // The key takes the new password by onboarding again.
    let cookie = latchkey_tests::keys::session_cookie_at(
        &app.url,
        &TestUser { password: "Fresh-Rec-1!".into(), ..user.clone() },
    )
    .await;
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut page, &mut key).await;
    let event =
        page.send(&mut key, RelayRequest::Onboard { account: ACCOUNT, password: password("Fresh-Rec-1!") }).await;
    assert!(matches!(event, RelayEvent::Done { .. }), "{event:?}");
}

async fn code_of(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap_or(Value::Null);
    body["code"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_key_reported_lost_is_out_of_service_and_wiped_when_it_next_connects() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-REC-LOST").await;
    onboard(&app, &user, &mut key, &cookie).await;
    let mut client = app.another_client();
    client.sign_in(&user.sam, &user.password).await;
    let keys: Value = client.get("/api/keys").await.json().await.unwrap();
    assert_eq!(keys[0]["serial"], "LK-REC-LOST");
    assert_eq!(keys[0]["status"], "active");
    // Someone else's key is no key of theirs.
    let (stranger, _, _) = user_with_key(&dc, &app, "LK-REC-OTHER").await;
    let mut other = app.another_client();
    other.sign_in(&stranger.sam, &stranger.password).await;
    let refused = other.post("/api/keys/LK-REC-LOST/report", json!({ "reason": "lost" })).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);

    let reported = client.post("/api/keys/lk-rec-lost/report", json!({ "reason": "stolen" })).await;
    assert_eq!(reported.status(), StatusCode::OK);
    let view: Value = reported.json().await.unwrap();
    assert_eq!((view["status"].as_str(), view["status_reason"].as_str()), (Some("compromised"), Some("stolen")));
    let (admin, _, _) = crate::admin::admin(&dc, &app).await;
    let dashboard: Value = admin.get("/api/admin/dashboard").await.json().await.unwrap();
    let compromised =
        dashboard["keys"].as_array().unwrap().iter().find(|k| k["status"] == "compromised").unwrap().clone();
    assert_eq!(compromised["count"], 1, "{dashboard}");

    let mut page = RelayPage::open(&app, None).await;
    let event = page.connect(&mut key).await;
    assert!(matches!(&event, RelayEvent::Failed { code, .. } if code == "key_status"), "{event:?}");
    assert!(key.vault().accounts.is_empty(), "wiped");
    let audit = app.state.store.audit_of("LK-REC-LOST").await.unwrap();
    assert_eq!(results(&audit, "key_reported"), ["not_found", "success"]);

    // The password alone does not turn the lost key into an authenticator of its holder's.
    let enrol = client.post("/api/totp/enrol", json!({})).await;
    let body: Value = enrol.json().await.unwrap();
    assert_eq!(body["code"], "no_second_factor", "{body}");
    // An administrator's reset of the authenticator allows one.
    app.employ(&user).await;
    let reset = admin.post(&format!("/api/admin/employees/{}/totp/reset", user.sam), json!({})).await;
    assert_eq!(reset.status(), StatusCode::OK);
    let enrol = client.post("/api/totp/enrol", json!({})).await;
    assert_eq!(enrol.status(), StatusCode::OK);
}

#[tokio::test]
async fn recovery_answers_the_same_for_every_name_and_in_the_same_time() {
    let dc = TestDc::from_env();
    let smtp = TestSmtp::start(&dc);
    let options = AppOptions { mail: Some(smtp.config(&dc)), recovery_without_key: true, ..AppOptions::default() };
    let app = spawn_app(&dc, options).await;
    let (_, admin_user, _) = crate::admin::admin(&dc, &app).await;
    app.employ(&admin_user).await;
    let disabled = dc.create_user(UserOptions { disabled: true, ..Default::default() }).await;
    app.employ(&disabled).await;
    // Positive control: one name that can be recovered (and is sent its codes).
    let recoverable = dc.create_user(UserOptions::default()).await;
    app.employ(&recoverable).await;
    enrol(&app, &recoverable).await;
    let address = format!("{}@home.example", recoverable.sam.to_lowercase());
    dc.replace(&recoverable.dn, "otherMailbox", &address).await;
    let names = [
        recoverable.sam.clone(),
        admin_user.sam.clone(),
        dc.service_account.clone(),
        disabled.sam.clone(),
        "nobody-here-ëxyz".to_string(),
    ];
    let client = app.another_client();
    let mut answers = Vec::new();
    let mut times = vec![Vec::new(); names.len()];
    // Round by round, so that whatever else the machine does weighs on every name alike.
    for _ in 0..20 {
        for (name, times) in names.iter().zip(times.iter_mut()) {
            let started = std::time::Instant::now();
            let response = client.post("/api/recovery/start", json!({ "username": name })).await;
            times.push(started.elapsed());
            answers.push((response.status(), response.text().await.unwrap()));
        }
    }
    let medians: Vec<_> = times
        .iter_mut()
        .map(|t| {
            t.sort();
            t[10]
        })
        .collect();
    answers.dedup();
    assert_eq!(answers.len(), 1, "one answer for all: {answers:?}");
    let spread = *medians.iter().max().unwrap() - *medians.iter().min().unwrap();
    assert!(spread < std::time::Duration::from_millis(10), "medians {medians:?}");
    // Only the recoverable name got codes; the refusals are on record.
    smtp.wait_for(20).await;
    assert!(smtp.messages().iter().all(|m| m.to.eq_ignore_ascii_case(&address)));

    // Completing with wrong codes: one answer, in one time, for every name.
    let mut answers = Vec::new();
    let mut times = vec![Vec::new(); names.len()];
    for _ in 0..20 {
        for (name, times) in names.iter().zip(times.iter_mut()) {
            let body = json!({ "username": name, "totp_code": "000000", "mail_code": "00000000", "new_password": "Fresh-Timing-1!" });
            let started = std::time::Instant::now();
            let response = client.post("/api/recovery/complete", body).await;
            times.push(started.elapsed());
            answers.push((response.status(), response.text().await.unwrap()));
        }
    }
    answers.dedup();
    assert_eq!(answers.len(), 1, "one answer for all: {answers:?}");
    let medians: Vec<_> = times
        .iter_mut()
        .map(|t| {
            t.sort();
            t[10]
        })
        .collect();
    let spread = *medians.iter().max().unwrap() - *medians.iter().min().unwrap();
    assert!(spread < std::time::Duration::from_millis(10), "medians {medians:?}");
    let audit = app.state.store.audit_of(&disabled.sam).await.unwrap();
    assert!(results(&audit, "recovery_code").iter().all(|r| r == "disabled"), "{audit:?}");
}
