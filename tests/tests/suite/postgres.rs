//! The store on PostgreSQL: the key flows and an administrator's reset on it, and two server
//! processes sharing one database as replicas do.

use std::time::Duration;

use latchkey_api::relay::{RelayEvent, RelayRequest};
use latchkey_tests::keys::{key_password, new_key, password, provision, session_cookie_at, RelayPage};
use latchkey_tests::process::ServerProcess;
use latchkey_tests::{spawn_app, AppOptions, TestDc, UserOptions};

fn on_postgres() -> AppOptions {
    AppOptions { postgres: true, ..AppOptions::default() }
}

#[tokio::test]
async fn the_key_flows_run_on_postgresql() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, on_postgres()).await;
    assert_eq!(app.state.store.backend(), latchkey_server::store::Backend::Postgres);
    let user = dc.create_user(UserOptions::default()).await;
    let (mut key, made) = new_key("LK-PG-1");
    let code = provision(&app, &user, &made).await;
    let cookie = session_cookie_at(&app.url, &user).await;

    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    assert!(matches!(page.connect(&mut key).await, RelayEvent::NeedsActivation { .. }));
    assert!(matches!(page.send(&mut key, RelayRequest::Activate { code }).await, RelayEvent::Ready { .. }));
    let onboarded = page.send(&mut key, RelayRequest::Onboard { account: 1, password: password(&user.password) }).await;
    assert!(matches!(onboarded, RelayEvent::Done { .. }), "{onboarded:?}");
    page.close().await;

    // A change whose commit never reaches the key is finished on the next connection.
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    page.drop_at = Some(latchkey_tests::keys::Drop::Before(4));
    page.connect(&mut key).await;
    page.send(&mut key, RelayRequest::ChangeEverywhere { account: 1, password: None }).await;
    assert!(page.dropped);
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let ready = page.connect(&mut key).await;
    let RelayEvent::Ready { notice, .. } = &ready else { panic!("{ready:?}") };
    assert!(notice.as_deref().unwrap_or_default().contains("went through"), "{notice:?}");
    page.close().await;
    assert!(dc.binds(&user.dn, &key_password(&key, 1).unwrap()).await);
    assert_eq!(app.state.store.verify_audit().await.unwrap(), None);
}

/// Two `latchkey-server` processes on one PostgreSQL: a session made on one is good on the
/// other, a key session moves between them, and their audit entries form one chain.
#[tokio::test]
async fn two_server_processes_share_one_postgresql() {
    let dc = TestDc::from_env();
    // A third, in-process replica seeds the registry and reads the audit.
    let seed = spawn_app(&dc, on_postgres()).await;
    let url = seed.state.config.database_url.clone();
    let identity = seed.state.config.key_identity_file.clone().unwrap();
    let mut a = ServerProcess::start(&dc, &url, &identity, &[]).await;
    let mut b = ServerProcess::start(&dc, &url, &identity, &[]).await;

    let user = dc.create_user(UserOptions::default()).await;
    let cookie = session_cookie_at(&a.url(), &user).await;
    let on_b =
        reqwest::Client::new().get(format!("{}/api/session", b.url())).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(on_b.status(), 200, "a session made on one replica is good on the other");

    // Activated through A, onboarded through B.
    let (mut key, made) = new_key("LK-PG-2");
    let code = provision(&seed, &user, &made).await;
    let mut page = RelayPage::open_at(a.addr, Some(&cookie)).await;
    page.connect(&mut key).await;
    assert!(matches!(page.send(&mut key, RelayRequest::Activate { code }).await, RelayEvent::Ready { .. }));
    page.close().await;
    let mut page = RelayPage::open_at(b.addr, Some(&cookie)).await;
    assert!(matches!(page.connect(&mut key).await, RelayEvent::Ready { .. }));
    let onboarded = page.send(&mut key, RelayRequest::Onboard { account: 1, password: password(&user.password) }).await;
    assert!(matches!(onboarded, RelayEvent::Done { .. }), "{onboarded:?}");
    page.close().await;

    // Both append to the audit at once: still one unbroken chain. Sixteen users sign in (right
    // passwords, one each: no limit or lockout refuses any part-way), all in flight together.
    let mut users = Vec::new();
    for _ in 0..16 {
        users.push(dc.create_user(UserOptions::default()).await);
    }
    let client = reqwest::Client::new();
    let together = std::sync::Arc::new(tokio::sync::Barrier::new(16));
    let attempts = users.iter().enumerate().map(|(i, user)| {
        let server = if i % 2 == 0 { a.url() } else { b.url() };
        let request = client
            .post(format!("{server}/api/session"))
            .json(&serde_json::json!({ "username": user.sam, "password": user.password }));
        let together = together.clone();
        async move {
            together.wait().await;
            let started = std::time::Instant::now();
            let status = request.send().await.unwrap().status();
            (started, std::time::Instant::now(), status)
        }
    });
    let done = futures::future::join_all(attempts).await;
    let statuses: Vec<_> = done.iter().map(|(_, _, s)| s.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "every sign-in succeeded: {statuses:?}");
    let last_start = done.iter().map(|(s, _, _)| *s).max().unwrap();
    let first_end = done.iter().map(|(_, e, _)| *e).min().unwrap();
    assert!(last_start < first_end, "all sixteen were in flight at once");
    assert_eq!(seed.state.store.verify_audit().await.unwrap(), None, "one chain across both processes");
    for user in &users {
        let audit = seed.state.store.audit_of(&user.sam).await.unwrap();
        let recorded: Vec<_> = audit.iter().map(|e| (e.action.as_str(), e.result.as_str())).collect();
        assert_eq!(recorded, [("sign_in", "success")], "{}: each sign-in recorded once", user.sam);
    }
    a.stop();
    b.stop();
}

/// Two processes on one PostgreSQL, each running the reminder job every second and sending
/// the outbox: every reminder arrives once.
#[tokio::test]
async fn two_server_processes_send_each_reminder_once() {
    let dc = TestDc::from_env();
    let smtp = latchkey_tests::smtp::TestSmtp::start(&dc);
    let group = dc.create_group().await;
    let mut users = Vec::new();
    for days in [1, 2, 6] {
        let user = dc.create_user(UserOptions::default()).await;
        dc.replace(&user.dn, "mail", &format!("{}@example.test", user.sam.to_lowercase())).await;
        dc.add_to_group(&user.dn, &group).await;
        dc.backdate_password(&user.dn, 42 - days);
        users.push(user);
    }
    let seed = spawn_app(&dc, on_postgres()).await;
    let url = seed.state.config.database_url.clone();
    let identity = seed.state.config.key_identity_file.clone().unwrap();
    let config = smtp.config(&dc);
    let env = [
        ("LATCHKEY_EMPLOYEE_GROUP", group.clone()),
        ("LATCHKEY_MAIL__HOST", config.host.clone()),
        ("LATCHKEY_MAIL__PORT", smtp.port.to_string()),
        ("LATCHKEY_MAIL__CA_FILE", dc.ca_file.display().to_string()),
        ("LATCHKEY_MAIL__FROM", config.from.clone()),
        ("LATCHKEY_MAIL__REMINDER_INTERVAL_SECS", "1".to_string()),
    ];
    let mut a = ServerProcess::start(&dc, &url, &identity, &env).await;
    let mut b = ServerProcess::start(&dc, &url, &identity, &env).await;
    let messages = smtp.wait_for(3).await;
    // Both keep running the job every second for a while: still three.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let messages_after = smtp.messages();
    assert_eq!(messages_after.len(), 3, "{:?}", messages_after.iter().map(|m| &m.to).collect::<Vec<_>>());
    let mut recipients: Vec<String> = messages.iter().map(|m| m.to.to_lowercase()).collect();
    recipients.sort();
    let mut expected: Vec<String> = users.iter().map(|u| format!("{}@example.test", u.sam.to_lowercase())).collect();
    expected.sort();
    assert_eq!(recipients, expected);
    a.stop();
    b.stop();
}

/// Two processes on one PostgreSQL share what must not be per process: a key holds one session
/// across both (the second is told the key is busy until the first ends), and the operations
/// counted against an account add up across both.
#[tokio::test]
async fn two_server_processes_share_a_keys_session_and_the_rate_limits() {
    let dc = TestDc::from_env();
    let seed = spawn_app(&dc, on_postgres()).await;
    let url = seed.state.config.database_url.clone();
    let identity = seed.state.config.key_identity_file.clone().unwrap();
    // A window longer than the test: the count cannot start over part-way.
    let limits = [
        ("LATCHKEY_LIMITS__OPERATIONS_PER_ACCOUNT", "4".to_string()),
        ("LATCHKEY_LIMITS__WINDOW_SECS", "86400".to_string()),
    ];
    let mut a = ServerProcess::start(&dc, &url, &identity, &limits).await;
    let mut b = ServerProcess::start(&dc, &url, &identity, &limits).await;

    let user = dc.create_user(UserOptions { name_prefix: Some("Zoë-Ün".into()), ..Default::default() }).await;
    let cookie = session_cookie_at(&a.url(), &user).await;
    let (mut key, made) = new_key("LK-PG-LEASE");
    let code = provision(&seed, &user, &made).await;
    let mut on_a = RelayPage::open_at(a.addr, Some(&cookie)).await;
    on_a.connect(&mut key).await;
    assert!(matches!(on_a.send(&mut key, RelayRequest::Activate { code }).await, RelayEvent::Ready { .. }));

    // While A's session lives, B is told the key is busy.
    let mut on_b = RelayPage::open_at(b.addr, Some(&cookie)).await;
    let busy = on_b.connect(&mut key).await;
    assert!(matches!(&busy, RelayEvent::Failed { code, .. } if code == "key_busy"), "{busy:?}");
    on_b.close().await;
    // Once it ends, B has the key.
    on_a.close().await;
    let mut on_b = RelayPage::open_at(b.addr, Some(&cookie)).await;
    assert!(matches!(on_b.connect(&mut key).await, RelayEvent::Ready { .. }), "B has the key once A let go");
    on_b.close().await;

    // The account's operations, alternately on A and B: the limit counts them all. (The
    // sign-in above used one.)
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..4 {
        let server = if i % 2 == 0 { b.url() } else { a.url() };
        let body = serde_json::json!({ "username": user.sam.to_uppercase(), "password": user.password });
        statuses.push(client.post(format!("{server}/api/session")).json(&body).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429], "the fifth operation on the account, whichever replica");
    a.stop();
    b.stop();
}
