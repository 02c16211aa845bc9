//! Two `latchkey-server` processes on one PostgreSQL behind a round-robin proxy, under load
//! (a bounded version of `benches/replicas.rs`): sign-ins with a status read each and password
//! changes, all at once, each request to the next replica in turn. Nothing fails but what the
//! directory itself refuses, both replicas serve, and the audit chain both append to at once
//! stays one unbroken chain. Each check is shown failing on a run made to fail.

use std::time::Instant;

use latchkey_tests::load::{self, Account, Browser, Op};
use latchkey_tests::process::ServerProcess;
use latchkey_tests::round_robin::RoundRobin;
use latchkey_tests::{spawn_app, AppOptions, TestDc};

/// Accounts signed in to by readers, each in this many browsers at once. Small: the suite shares
/// the machine and the DC, and a directory answer slower than the server's timeout is a 503.
const READER_ACCOUNTS: usize = 12;
const SESSIONS_EACH: usize = 2;
/// Accounts whose password is changed, one browser each (a domain account changes once).
const CHANGERS: usize = 8;

/// Limits far above the load: the rules they enforce are tested elsewhere, and every browser
/// here comes from 127.0.0.1.
fn generous_limits() -> [(&'static str, String); 2] {
    [
        ("LATCHKEY_LIMITS__PER_ADDRESS", "1000000".to_string()),
        ("LATCHKEY_LIMITS__OPERATIONS_PER_ACCOUNT", "1000000".to_string()),
    ]
}

#[tokio::test]
async fn two_replicas_behind_a_round_robin_proxy_serve_concurrent_load() {
    let dc = TestDc::from_env();
    // An in-process replica on the same database and secret verifies the chain.
    let seed = spawn_app(&dc, AppOptions { postgres: true, ..AppOptions::default() }).await;
    let url = seed.state.config.database_url.clone();
    let identity = seed.state.config.key_identity_file.clone().expect("identity");
    let a = ServerProcess::start(&dc, &url, &identity, &generous_limits()).await;
    let mut b = ServerProcess::start(&dc, &url, &identity, &generous_limits()).await;
    let mut proxy = RoundRobin::start(&[a.addr, b.addr], 500).await;

    let made = Instant::now();
    let users = load::create_users(&dc, READER_ACCOUNTS + CHANGERS, 8).await;
    println!("{} users made in {:.1} s", users.len(), made.elapsed().as_secs_f64());
    let (reading, changing) = users.split_at(READER_ACCOUNTS);
    let readers: Vec<Account> =
        reading.iter().flat_map(|u| std::iter::repeat_n(Account::from(u), SESSIONS_EACH)).collect();
    let changers: Vec<Account> = changing.iter().map(Account::from).collect();

    let run = load::run(&proxy.url(), &readers, &changers, 0).await;
    println!("through the proxy, in {:.1} s:\n{}", run.wall.as_secs_f64(), load::summary(&run.samples));
    println!("answered by each replica: {:?}", proxy.served());
    load::check_no_errors(&run.prepared).expect("the changers' sign-ins");
    load::check_no_errors(&run.samples).expect("the load");
    let changed = run.samples.iter().filter(|s| s.op == Op::Change && s.status == 200).count();
    assert_eq!(changed, CHANGERS, "every change went through (the directory refused none)");
    load::check_shares(&proxy.served(), 0.4).expect("both replicas served");
    assert_eq!(proxy.unreachable(), [0, 0]);
    assert!(run.crossed > 0, "some sessions made on one replica were read on the other");

    // One chain, and every operation in it once.
    let store = &seed.state.store;
    assert_eq!(store.verify_audit().await.expect("verify"), None, "one chain across both replicas");
    for user in reading {
        let entries = store.audit_of(&user.sam).await.expect("audit");
        assert_eq!(entries.len(), SESSIONS_EACH, "{}: {entries:?}", user.sam);
        assert!(entries.iter().all(|e| e.action == "sign_in" && e.result == "success"), "{entries:?}");
    }
    for user in changing {
        let entries = store.audit_of(&user.sam).await.expect("audit");
        let recorded: Vec<_> = entries.iter().map(|e| (e.action.as_str(), e.result.as_str())).collect();
        assert_eq!(recorded, [("sign_in", "success"), ("change_password", "success")], "{}", user.sam);
    }

    // Positive controls. The directory's refusal of a change is no error, a forged change is.
    let again = &changing[0];
    let mut browser = Browser::new(&proxy.url());
    assert_eq!(browser.sign_in(&again.sam, &load::new_password(0)).await.status, 200);
    let refused = browser.change(&load::new_password(0), &again.password).await;
    assert_eq!(refused.status, 422, "{refused:?}");
    assert!(!refused.is_error(), "the directory's refusal is the domain's rule: {refused:?}");
    let forged = browser.change_without_token(&load::new_password(0), "Another-Orbit-77q!").await;
    assert_eq!(forged.code.as_deref(), Some("csrf_rejected"), "{forged:?}");
    assert!(load::check_no_errors(&[refused, forged]).is_err(), "a refused forgery is counted");

    // A replica that is down: its turns fail, and it serves no share.
    let before = proxy.served();
    b.stop();
    let mut after_stop = Vec::new();
    for _ in 0..4 {
        after_stop.push(browser.status().await);
    }
    let served: Vec<u64> = proxy.served().iter().zip(&before).map(|(now, then)| now - then).collect();
    assert_eq!(after_stop.iter().filter(|s| s.status == 502).count(), 2, "{after_stop:?}");
    assert!(load::check_no_errors(&after_stop).is_err());
    assert!(load::check_shares(&served, 0.4).is_err(), "{served:?}");
    assert_eq!(proxy.unreachable(), [0, 2]);

    // An entry edited in the middle of the chain (one of the load's, written while both
    // appended): the verifier names it; put back, the chain holds again.
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(&url).await.expect("connect");
    let (id, result): (i64, String) =
        sqlx::query_as("SELECT id, result FROM audit ORDER BY id OFFSET (SELECT COUNT(*) / 2 FROM audit) LIMIT 1")
            .fetch_one(&mut db)
            .await
            .expect("a middle entry");
    let set = |value: &str| sqlx::query("UPDATE audit SET result = $1 WHERE id = $2").bind(value.to_string()).bind(id);
    set("edited").execute(&mut db).await.expect("edit");
    let broken = store.verify_audit().await.expect("verify");
    assert_eq!(broken.map(|b| (b.id, b.truncated)), Some((id, false)), "the edited entry is reported");
    set(&result).execute(&mut db).await.expect("restore");
    assert_eq!(store.verify_audit().await.expect("verify"), None);
    proxy.stop().await;
}
