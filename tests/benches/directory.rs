//! A password change through the portal's API against the same change done directly with
//! ldap3 (connect, bind as the user, delete old + add new), on the same DC in the same run,
//! side by side: the sequential changes alternate raw and portal, and each throughput level
//! runs raw and portal in turn `ROUNDS` times, so the DC's drift (its database grows with every
//! user made) weighs on both alike. One warm-up change each goes first, uncounted. And
//! a refused sign-in for a name nobody has against one for a real name with a wrong password
//! (their ratio near 1 means the answer's timing does not tell which names exist).
//! Run by `cargo xtask bench`, which starts the DC. Kept small: a test DC manages only a few
//! dozen writes per second, so this measures overhead, not capacity.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use latchkey_tests::dc::unicode_pwd;
use latchkey_tests::{spawn_app, AppOptions, TestApp, TestDc, TestUser, UserOptions};
use ldap3::Mod;
use tokio::sync::Barrier;

const SEQUENTIAL: usize = 30;
/// Concurrent clients, each making `per_worker(n)` changes; the portal's share one server.
const CONCURRENCY: [usize; 3] = [1, 4, 16];
/// Raw and portal runs of each throughput level, alternating.
const ROUNDS: usize = 5;

/// At least 8 changes per client and 32 per run: a lone client's run would otherwise be over
/// in a second, and one slow DC answer would swing its figure.
fn per_worker(concurrent: usize) -> usize {
    8.max(32 / concurrent)
}

#[tokio::main]
async fn main() {
    let dc = TestDc::from_env();
    let (raw_seq, portal_seq) = latencies(&dc, SEQUENTIAL).await;
    let mut tputs = Vec::new();
    for n in CONCURRENCY {
        let app = spawn_app(&dc, AppOptions::default()).await;
        let (mut raw, mut portal) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            raw.push(throughput(n, |barrier| raw_worker(dc.clone(), per_worker(n), barrier)).await);
            portal.push(
                throughput(n, |barrier| portal_worker(dc.clone(), app.another_client(), per_worker(n), barrier)).await,
            );
        }
        tputs.push((n, median(raw), median(portal)));
    }

    let (rp50, rp99) = percentiles(raw_seq);
    let (pp50, pp99) = percentiles(portal_seq);
    println!("change latency, {SEQUENTIAL} sequential changes each, alternating, after one warm-up each:");
    println!("  raw ldap3  p50 {:>6.1} ms  p99 {:>6.1} ms", ms(rp50), ms(rp99));
    println!("  portal API p50 {:>6.1} ms  p99 {:>6.1} ms", ms(pp50), ms(pp99));
    println!("  ratio portal/raw: p50 {:.2}x  p99 {:.2}x", ms(pp50) / ms(rp50), ms(pp99) / ms(rp99));
    for (n, raw, portal) in tputs {
        println!("throughput, {n} concurrent clients x {} changes, median of {ROUNDS}:", per_worker(n));
        println!("  raw ldap3  {raw:>6.1} changes/s");
        println!("  portal API {portal:>6.1} changes/s");
        println!("  ratio portal/raw: {:.2}", portal / raw);
    }

    let (known, unknown) = refused_sign_ins(&dc, SEQUENTIAL).await;
    let ((kp50, _), (up50, _)) = (percentiles(known), percentiles(unknown));
    println!("refused sign-in, {SEQUENTIAL} each:");
    println!("  real name, wrong password p50 {:>6.1} ms", ms(kp50));
    println!("  unknown name              p50 {:>6.1} ms", ms(up50));
    println!("  ratio unknown/known: {:.2}", ms(up50) / ms(kp50));
}

/// Latencies of refused sign-ins: real names with a wrong password (one try each, so no
/// account nears its lockout), and names no account has, interleaved.
async fn refused_sign_ins(dc: &TestDc, n: usize) -> (Vec<Duration>, Vec<Duration>) {
    let app = spawn_app(dc, AppOptions::default()).await;
    let (mut known, mut unknown) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let user = dc.create_user(UserOptions::default()).await;
        for (name, samples) in [(user.sam.clone(), &mut known), (format!("nobody-{i}-{}", user.sam), &mut unknown)] {
            let mut client = app.another_client();
            let start = Instant::now();
            let status = client.sign_in(&name, "Wrong-Pass-123").await.status();
            samples.push(start.elapsed());
            assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED);
        }
    }
    (known, unknown)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

/// A fresh valid password (never containing the logon name, which the portal refuses).
fn next_password(_user: &TestUser, _i: usize) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("Bench-Orbit-{}x!", NEXT.fetch_add(1, Ordering::Relaxed))
}

async fn raw_change(dc: &TestDc, user: &TestUser, old: &str, new: &str) {
    let mut ldap = dc.connect().await;
    ldap.simple_bind(&user.dn, old).await.expect("bind").success().expect("user bind");
    let mods = vec![
        Mod::Delete(b"unicodePwd".to_vec(), HashSet::from([unicode_pwd(old)])),
        Mod::Add(b"unicodePwd".to_vec(), HashSet::from([unicode_pwd(new)])),
    ];
    ldap.modify(&user.dn, mods).await.expect("modify").success().expect("raw change");
    let _ = ldap.unbind().await;
}

/// `n` changes each, raw and through the portal in turn, after one uncounted of each.
async fn latencies(dc: &TestDc, n: usize) -> (Vec<Duration>, Vec<Duration>) {
    let app = spawn_app(dc, AppOptions::default()).await;
    let (mut raw, mut portal) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..=n {
        let user = dc.create_user(UserOptions::default()).await;
        let start = Instant::now();
        raw_change(dc, &user, &user.password, &next_password(&user, i)).await;
        let raw_took = start.elapsed();

        let (user, client) = signed_in(dc, &app).await;
        let start = Instant::now();
        let response = client.change(&user.password, &next_password(&user, i)).await;
        let portal_took = start.elapsed();
        assert!(response.status().is_success(), "{}", response.text().await.unwrap_or_default());
        if i > 0 {
            raw.push(raw_took);
            portal.push(portal_took);
        }
    }
    (raw, portal)
}

async fn signed_in(dc: &TestDc, app: &TestApp) -> (TestUser, TestApp) {
    let user = dc.create_user(UserOptions::default()).await;
    let mut client = app.another_client();
    assert!(client.sign_in(&user.sam, &user.password).await.status().is_success());
    (user, client)
}

type Span = (Instant, Instant);

async fn raw_worker(dc: TestDc, changes: usize, barrier: Arc<Barrier>) -> Span {
    let user = dc.create_user(UserOptions::default()).await;
    let mut current = user.password.clone();
    barrier.wait().await;
    let start = Instant::now();
    for i in 0..changes {
        let new = next_password(&user, i);
        raw_change(&dc, &user, &current, &new).await;
        current = new;
    }
    (start, Instant::now())
}

async fn portal_worker(dc: TestDc, app: TestApp, changes: usize, barrier: Arc<Barrier>) -> Span {
    let (user, client) = signed_in(&dc, &app).await;
    let mut current = user.password.clone();
    barrier.wait().await;
    let start = Instant::now();
    for i in 0..changes {
        let new = next_password(&user, i);
        assert!(client.change(&current, &new).await.status().is_success());
        current = new;
    }
    (start, Instant::now())
}

/// Changes per second with `concurrent` workers, counted from when all are set up (users
/// created, signed in) to when the last finishes.
async fn throughput<F, Fut>(concurrent: usize, worker: F) -> f64
where
    F: Fn(Arc<Barrier>) -> Fut,
    Fut: std::future::Future<Output = Span> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(concurrent));
    let handles: Vec<_> = (0..concurrent).map(|_| tokio::spawn(worker(barrier.clone()))).collect();
    let spans: Vec<Span> = join_all(handles).await.into_iter().map(|r| r.expect("worker")).collect();
    let start = spans.iter().map(|s| s.0).min().expect("workers");
    let end = spans.iter().map(|s| s.1).max().expect("workers");
    (concurrent * per_worker(concurrent)) as f64 / (end - start).as_secs_f64()
}
