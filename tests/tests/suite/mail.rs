//! Mail through a real SMTP server (aiosmtpd, STARTTLS on the test CA): expiry reminders from
//! the directory's own expiry dates, once a day however often the job runs; notices after every
//! kind of change; and an SMTP server that is down never fails a change.

use std::collections::BTreeSet;

use latchkey_api::admin::{MailOverview, ReminderRun};
use latchkey_tests::keys::new_key;
use latchkey_tests::smtp::{Received, TestSmtp};
use latchkey_tests::{spawn_app, AppOptions, TestApp, TestDc, TestUser, UserOptions};
use reqwest::StatusCode;
use serde_json::json;

/// The test domain's maximum password age (days): backdating by `42 - n` leaves `n` days.
const MAX_AGE_DAYS: i64 = 42;

fn with_mail(dc: &TestDc, smtp: &TestSmtp, group: Option<String>) -> AppOptions {
    AppOptions { mail: Some(smtp.config(dc)), employee_group: group, ..AppOptions::default() }
}

async fn employee_expiring_in(dc: &TestDc, group: &str, days: i64, options: UserOptions) -> TestUser {
    let user = dc.create_user(options).await;
    dc.replace(&user.dn, "mail", &format!("{}@example.test", user.sam.to_lowercase())).await;
    dc.add_to_group(&user.dn, group).await;
    dc.backdate_password(&user.dn, MAX_AGE_DAYS - days);
    user
}

fn never_holds_a_password(messages: &[Received], passwords: &[&str]) {
    for m in messages {
        for p in passwords {
            assert!(!latchkey_tests::secrets::contains(&m.raw, p.as_bytes()), "{p} in {:?}", m.subject);
            assert!(!m.text.contains(p) && !m.html.contains(p), "{p} in {:?}", m.subject);
        }
    }
}

#[tokio::test]
async fn reminders_go_once_a_day_to_those_whose_password_expires_within_the_window() {
    let dc = TestDc::from_env();
    let smtp = TestSmtp::start(&dc);
    let group = dc.create_group().await;
    let app = spawn_app(&dc, with_mail(&dc, &smtp, Some(group.clone()))).await;
    let (admin, _, _) = crate::admin::admin(&dc, &app).await;

    let mut told = Vec::new();
    for days in [1, 3, 7] {
        let prefix = Some(format!("Rém{days}"));
        told.push(
            employee_expiring_in(&dc, &group, days, UserOptions { name_prefix: prefix, ..Default::default() }).await,
        );
    }
    let eight = employee_expiring_in(&dc, &group, 8, UserOptions::default()).await;
    let disabled = employee_expiring_in(&dc, &group, 1, UserOptions { disabled: true, ..Default::default() }).await;
    let may_not_change = employee_expiring_in(&dc, &group, 1, UserOptions::default()).await;
    dc.deny_password_change(&may_not_change.dn);
    let never_expires = employee_expiring_in(&dc, &group, 1, UserOptions::default()).await;
    dc.replace(&never_expires.dn, "userAccountControl", "66048").await; // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWD
    let no_mail = dc.create_user(UserOptions::default()).await;
    dc.add_to_group(&no_mail.dn, &group).await;
    dc.backdate_password(&no_mail.dn, MAX_AGE_DAYS - 1);

    let response = admin.post("/api/admin/mail/reminders", json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let run: ReminderRun = response.json().await.unwrap();
    assert_eq!((run.queued, run.skipped, run.ran), (3, 2, true), "{run:?}");
    let messages = smtp.wait_for(3).await;
    let recipients: BTreeSet<String> = messages.iter().map(|m| m.to.to_lowercase()).collect();
    let expected: BTreeSet<String> = told.iter().map(|u| format!("{}@example.test", u.sam.to_lowercase())).collect();
    assert_eq!(recipients, expected, "not {} {} {} {}", eight.sam, disabled.sam, may_not_change.sam, never_expires.sam);
    for (user, days) in told.iter().zip(["1 day", "3 days", "7 days"]) {
        let to = format!("{}@example.test", user.sam.to_lowercase());
        let m = messages.iter().find(|m| m.to.to_lowercase() == to).unwrap();
        assert!(m.subject.ends_with(&format!("your password expires in {days}")), "{}", m.subject);
        assert!(m.text.contains(&format!("Change your password: {}/", app.url)), "{}", m.text);
        assert!(m.text.contains(&user.display_name), "addressed by name: {}", m.text);
    }
    let passwords: Vec<&str> = told.iter().map(|u| u.password.as_str()).collect();
    never_holds_a_password(&messages, &passwords);

    // Again the same day, and after a restart on the same database: nothing more.
    let again: ReminderRun = admin.post("/api/admin/mail/reminders", json!({})).await.json().await.unwrap();
    assert_eq!((again.queued, again.skipped), (0, 5));
    let restarted = AppOptions {
        database_url: Some(app.state.config.database_url.clone()),
        secret_key_file: Some(app.state.config.secret_key_file.clone()),
        ..with_mail(&dc, &smtp, Some(group.clone()))
    };
    let restarted = spawn_app(&dc, restarted).await;
    let after_restart = latchkey_server::service::mail::reminders(&restarted.state).await.unwrap();
    assert_eq!(after_restart.queued, 0);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(smtp.messages().len(), 3, "nothing sent twice");

    let overview: MailOverview = admin.get("/api/admin/mail").await.json().await.unwrap();
    assert!(overview.configured);
    assert_eq!(overview.last_reminder_run.unwrap().summary, "0 reminders queued, 5 skipped");
    assert_eq!(overview.messages.iter().filter(|m| m.kind == "reminder" && m.sent_at.is_some()).count(), 3);
    assert_eq!(overview.failing, 0);
}

#[tokio::test]
async fn the_owner_is_told_of_every_change_and_no_message_holds_a_password() {
    let dc = TestDc::from_env();
    let smtp = TestSmtp::start(&dc);
    let app = spawn_app(&dc, with_mail(&dc, &smtp, None)).await;
    let (admin, _, _) = crate::admin::admin(&dc, &app).await;
    let user = dc.create_user(UserOptions { display_name: Some("Zoë Ærø".into()), ..Default::default() }).await;
    let address = format!("{}@example.test", user.sam.to_lowercase());
    dc.replace(&user.dn, "mail", &address).await;
    app.employ(&user).await;

    // 1. A change on the password page.
    let mut client = app.another_client();
    client.sign_in(&user.sam, &user.password).await;
    assert_eq!(client.change(&user.password, "Fresh-Notice-1!").await.status(), StatusCode::OK);
    let first = smtp.wait_for(1).await;
    assert!(first[0].subject.ends_with("Your password was changed"), "{}", first[0].subject);
    // 2. An administrator's reset (typed).
    let reset =
        admin.post(&format!("/api/admin/employees/{}/reset", user.sam), json!({ "password": "Fresh-Notice-2!" })).await;
    assert_eq!(reset.status(), StatusCode::OK);
    smtp.wait_for(2).await;
    // 3. An authenticator set up (the reset ended the first session), 4. reset by an administrator.
    let mut client = app.another_client();
    client.sign_in(&user.sam, "Fresh-Notice-2!").await;
    let enrolment: serde_json::Value = client.post("/api/totp/enrol", json!({})).await.json().await.unwrap();
    let totp_secret = enrolment["secret_base32"].as_str().unwrap().to_string();
    let code = latchkey_tests::totp_code(&totp_secret);
    assert_eq!(client.post("/api/totp/confirm", json!({ "code": code })).await.status(), StatusCode::OK);
    smtp.wait_for(3).await;
    let reset = admin.post(&format!("/api/admin/employees/{}/totp/reset", user.sam), json!({})).await;
    assert_eq!(reset.status(), StatusCode::OK);
    smtp.wait_for(4).await;
    // 5. A key assigned, 6. its status changed.
    let (_, made) = new_key("LK-NOTICE");
    let key = json!({ "serial": made.serial, "public_key": hex::encode(made.public_key), "activation_code": made.activation_code });
    assert_eq!(admin.post("/api/admin/keys", key).await.status(), StatusCode::OK);
    let assigned = admin.post("/api/admin/keys/LK-NOTICE/assign", json!({ "username": user.sam })).await;
    assert_eq!(assigned.status(), StatusCode::OK);
    smtp.wait_for(5).await;
    let status =
        admin.post("/api/admin/keys/LK-NOTICE/status", json!({ "status": "compromised", "reason": "lost" })).await;
    assert_eq!(status.status(), StatusCode::OK, "{:?}", status.text().await);

    let messages = smtp.wait_for(6).await;

    let subjects: Vec<&str> = messages.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "Example Test Ltd: Your password was changed",
            "Example Test Ltd: Your password was reset",
            "Example Test Ltd: A change to your sign-in",
            "Example Test Ltd: A change to your sign-in",
            "Example Test Ltd: A change to your key",
            "Example Test Ltd: A change to your key",
        ]
    );
    for m in &messages {
        assert_eq!(m.to.to_lowercase(), address);
        assert!(m.text.contains("Hello Zoë Ærø,"), "{}", m.text);
        assert!(m.text.contains("from 127.0.0.1"), "{}", m.text);
        assert!(m.text.contains("If this was not you, contact the help desk on 0100 at once."), "{}", m.text);
        assert!(m.text.contains(&format!("{}/", app.url)), "links to the portal: {}", m.text);
    }
    assert!(messages[2].text.contains("An authenticator app was set up for your account."));
    assert!(messages[3].text.contains("An administrator removed the authenticator app from your account."));
    assert!(messages[4].text.contains("The key LK-NOTICE was assigned to you."));
    assert!(messages[5].text.contains("Your key LK-NOTICE is now compromised."));
    never_holds_a_password(&messages, &[&user.password, "Fresh-Notice-1!", "Fresh-Notice-2!", &totp_secret]);
}

#[tokio::test]
async fn a_mail_server_that_is_down_never_fails_a_change_and_the_notice_follows_later() {
    let dc = TestDc::from_env();
    let mut smtp = TestSmtp::stopped(&dc);
    let app = spawn_app(&dc, with_mail(&dc, &smtp, None)).await;
    let (admin, _, _) = crate::admin::admin(&dc, &app).await;
    let user = dc.create_user(UserOptions::default()).await;
    dc.replace(&user.dn, "mail", &format!("{}@example.test", user.sam.to_lowercase())).await;
    let mut client = app.another_client();
    client.sign_in(&user.sam, &user.password).await;
    assert_eq!(client.change(&user.password, "Fresh-Down-1!").await.status(), StatusCode::OK);
    assert!(dc.binds(&user.dn, "Fresh-Down-1!").await);

    // The failure is on record and shown to administrators.
    let overview = wait_for_overview(&admin, |o| o.failing == 1).await;
    let failed = &overview.messages[0];
    assert!(failed.sent_at.is_none() && failed.attempts >= 1 && failed.next_attempt_at.is_some(), "{failed:?}");
    assert!(failed.last_error.as_deref().is_some_and(|e| !e.is_empty()), "{failed:?}");

    // The server is back: the retry delivers it.
    smtp.resume();
    let messages = smtp.wait_for(1).await;
    assert!(messages[0].subject.ends_with("Your password was changed"));
    let overview = wait_for_overview(&admin, |o| o.failing == 0).await;
    assert!(overview.messages[0].sent_at.is_some());
}

async fn wait_for_overview(admin: &TestApp, until: impl Fn(&MailOverview) -> bool) -> MailOverview {
    for _ in 0..100 {
        let overview: MailOverview = admin.get("/api/admin/mail").await.json().await.unwrap();
        if until(&overview) {
            return overview;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("the mail overview never got there");
}

#[tokio::test]
async fn mail_test_sends_one_message_with_the_configured_settings() {
    let dc = TestDc::from_env();
    let smtp = TestSmtp::start(&dc);
    let dir = tempfile::tempdir().unwrap();
    let binary = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("latchkey-server");
    let run = |to: &str, ca: &std::path::Path, smtps: Option<&TestSmtp>| {
        let (port, tls) = smtps.map_or((smtp.port, "starttls"), |s| (s.port, "implicit"));
        std::process::Command::new(&binary)
            .env("LATCHKEY_MAIL__TLS", tls)
            .args(["mail", "test", "--to", to])
            .env("LATCHKEY_DATABASE_URL", format!("sqlite://{}", dir.path().join("db.sqlite").display()))
            .env("LATCHKEY_SECRET_KEY_FILE", dir.path().join("secret.key"))
            .env("LATCHKEY_MAIL__HOST", "localhost")
            .env("LATCHKEY_MAIL__PORT", port.to_string())
            .env("LATCHKEY_MAIL__CA_FILE", ca)
            .env("LATCHKEY_MAIL__FROM", "Latchkey <latchkey@example.test>")
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let sent = run("ops@example.test", &dc.ca_file, None);
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    let messages = smtp.wait_for(1).await;
    assert_eq!((messages[0].to.as_str(), messages[0].subject.as_str()), ("ops@example.test", "Latchkey: test message"));
    // Implicit TLS (SMTPS) too.
    let smtps = TestSmtp::start_implicit(&dc);
    let sent = run("ops@example.test", &dc.ca_file, Some(&smtps));
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    assert_eq!(smtps.wait_for(1).await[0].subject, "Latchkey: test message");
    // A certificate that does not chain to the configured CA is refused: nothing is sent.
    let other_ca = dir.path().join("other-ca.pem");
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=Unrelated CA", "-keyout"])
        .arg(dir.path().join("other-ca.key"))
        .arg("-out")
        .arg(&other_ca)
        .output()
        .unwrap();
    assert!(made.status.success());
    let refused = run("ops@example.test", &other_ca, None);
    assert!(!refused.status.success());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 1);
}
