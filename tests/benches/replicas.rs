//! Two replicas (`latchkey-server` release processes) on one PostgreSQL behind the round-robin
//! proxy, against one of them alone, in the same run: 200 browsers signing in and reading their
//! status at once while 50 others change their password. p50/p99 per operation each way and
//! their ratio, each replica's share, the errors (anything but the directory's own refusals),
//! and whether the audit chain both appended to is still one. Measurements, never pass/fail.

use std::time::{Duration, Instant};

use latchkey_tests::load::{self, Account, Op, Sample};
use latchkey_tests::process::ServerProcess;
use latchkey_tests::round_robin::RoundRobin;
use latchkey_tests::{spawn_app, AppOptions, TestDc};

/// Browsers that sign in and read their status at once: these accounts, each this many times
/// (both runs sign in to the same ones: a sign-in changes nothing but the sessions).
const READER_ACCOUNTS: usize = 200;
const SESSIONS_EACH: usize = 1;
/// Browsers that change their password meanwhile (a domain account changes once: each run
/// has its own).
const CHANGERS: usize = 50;

#[tokio::main]
async fn main() {
    let dc = TestDc::from_env();
    // An in-process replica on the same database and secret reads the audit chain.
    let seed = spawn_app(&dc, AppOptions { postgres: true, ..AppOptions::default() }).await;
    let url = seed.state.config.database_url.clone();
    let identity = seed.state.config.key_identity_file.clone().expect("identity");
    // Every browser comes from 127.0.0.1: limits far above the load.
    let limits = [
        ("LATCHKEY_LIMITS__PER_ADDRESS", "1000000".to_string()),
        ("LATCHKEY_LIMITS__OPERATIONS_PER_ACCOUNT", "1000000".to_string()),
    ];
    let a = ServerProcess::start(&dc, &url, &identity, &limits).await;
    let b = ServerProcess::start(&dc, &url, &identity, &limits).await;
    let proxy = RoundRobin::start(&[a.addr, b.addr], 100_000).await;

    let made = Instant::now();
    let users = load::create_users(&dc, READER_ACCOUNTS + 2 * CHANGERS, 8).await;
    println!("replicas: {} users made in {:.1} s", users.len(), made.elapsed().as_secs_f64());
    let (reading, changing) = users.split_at(READER_ACCOUNTS);
    let readers: Vec<Account> =
        reading.iter().flat_map(|u| std::iter::repeat_n(Account::from(u), SESSIONS_EACH)).collect();
    let changers: Vec<Account> = changing.iter().map(Account::from).collect();
    let (direct_changers, proxied_changers) = changers.split_at(CHANGERS);

    // Both replicas' directory connections and the database's caches warm before either run.
    for account in &readers[..4] {
        let _ = load::Browser::new(&proxy.url()).sign_in(&account.username, &account.password).await;
    }
    let direct = load::run(&a.url(), &readers, direct_changers, 0).await;
    let before = proxy.served();
    let proxied = load::run(&proxy.url(), &readers, proxied_changers, CHANGERS).await;
    let served: Vec<u64> = proxy.served().iter().zip(&before).map(|(now, then)| now - then).collect();

    println!(
        "replicas: {} sign-ins + status reads ({READER_ACCOUNTS} accounts x {SESSIONS_EACH} sessions) \
         and {CHANGERS} password changes, all at once",
        readers.len()
    );
    // Over every answer, errors included: what the browsers waited for.
    println!(
        "{:>16} {:>22} {:>22} {:>14} {:>14}",
        "", "one replica p50/p99", "two replicas p50/p99", "ratio p50/p99", "errors one/two"
    );
    for op in [Op::SignIn, Op::Status, Op::Change] {
        let errors = |run: &load::Run| run.samples.iter().filter(|s| s.op == op && s.is_error()).count();
        println!(
            "{:>16} {} {} {:>14} {:>14}",
            op.name(),
            cell(&direct.samples, op),
            cell(&proxied.samples, op),
            ratio(&direct, &proxied, op),
            format!("{} / {}", errors(&direct), errors(&proxied))
        );
    }
    println!(
        "replicas: wall {:.1} s one replica, {:.1} s two replicas",
        direct.wall.as_secs_f64(),
        proxied.wall.as_secs_f64()
    );
    println!(
        "replicas: answered by each replica {served:?} ({}), unreachable {:?}; sessions read on the other replica than made: {}",
        load::check_shares(&served, 0.4).map(|_| "both served".to_string()).unwrap_or_else(|e| e),
        proxy.unreachable(),
        proxied.crossed
    );
    for (name, run) in [("one replica", &direct), ("two replicas", &proxied)] {
        let all: Vec<Sample> = run.prepared.iter().chain(&run.samples).cloned().collect();
        let refused = all.iter().filter(|s| s.status != 200 && !s.is_error()).count();
        let errors = load::check_no_errors(&all).err().unwrap_or_else(|| "0 errors".into());
        println!("replicas: {name}: {errors}; {refused} refused by the directory");
    }
    let chain = match seed.state.store.verify_audit().await {
        Ok(None) => "one unbroken chain".to_string(),
        Ok(Some(broken)) => format!("BROKEN at entry {} (truncated: {})", broken.id, broken.truncated),
        Err(e) => format!("not verified: {e}"),
    };
    println!("replicas: audit: {chain}");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn cell(samples: &[Sample], op: Op) -> String {
    match (load::percentile(samples, op, 50.0), load::percentile(samples, op, 99.0)) {
        (Some(p50), Some(p99)) => format!("{:>10.0} / {:>6.0} ms", ms(p50), ms(p99)),
        _ => format!("{:>22}", "-"),
    }
}

fn ratio(direct: &load::Run, proxied: &load::Run, op: Op) -> String {
    let at = |p| {
        let (d, r) = (load::percentile(&direct.samples, op, p), load::percentile(&proxied.samples, op, p));
        d.zip(r).map(|(d, r)| format!("{:.2}", ms(r) / ms(d).max(0.001))).unwrap_or("-".into())
    };
    format!("{} / {}", at(50.0), at(99.0))
}
