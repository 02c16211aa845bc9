//! The fault harness: every flow that writes a password (the password page, onboarding, a
//! change everywhere typed and generated, a change on the key only, an administrator's reset
//! and its delivery to the key, the key's activation), with a fault at every step: the server
//! killed (`kill -9`) and restarted on the same database, the DC or the database unreachable
//! and back, the link lost, the key back through another replica. Faults land at a step
//! deterministically: the test holds traffic it controls (a frame to the key, the key's answer,
//! a statement to PostgreSQL, the DC's route) and strikes while it is held. Each scenario runs
//! the real server as its own process, with its own user and key, all of them at once.

mod check;
mod everywhere;
mod flows;
mod rig;

use std::future::Future;
use std::pin::Pin;

use check::Verdict;
use rig::Engine;

pub type Run = Pin<Box<dyn Future<Output = Verdict> + Send>>;

pub struct Scenario {
    pub name: String,
    pub run: Run,
}

pub fn scenario(name: String, run: impl Future<Output = Verdict> + Send + 'static) -> Scenario {
    Scenario { name, run: Box::pin(run) }
}

/// Serials and user names must differ between scenarios.
pub fn serial(n: usize) -> String {
    format!("LK-FLT-{}-{n}", std::process::id() % 100_000)
}

/// Scenarios run at once; most of a scenario's time is spent waiting (on the DC, and for the
/// key lease a killed server held to run out).
const AT_ONCE: usize = 12;
const PG_AT_ONCE: usize = 4;

/// A scenario that hangs fails (the lease a killed server held runs out within 30 s).
const SCENARIO_LIMIT_SECS: u64 = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fault_at_every_step_of_every_flow_loses_nothing_and_locks_no_one() {
    let started = std::time::Instant::now();
    let mut scenarios = Vec::new();
    for engine in [Engine::Sqlite, Engine::Postgres] {
        scenarios.extend(everywhere::scenarios(engine, scenarios.len()));
        scenarios.extend(flows::scenarios(engine, scenarios.len() + 1000));
    }
    let total = scenarios.len();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(AT_ONCE));
    // Each PostgreSQL scenario holds up to two pools of connections on the shared server.
    let pg_gate = std::sync::Arc::new(tokio::sync::Semaphore::new(PG_AT_ONCE));
    let runs: Vec<_> = scenarios
        .into_iter()
        .map(|s| {
            let gate = gate.clone();
            let pg_gate = s.name.ends_with("Postgres").then(|| pg_gate.clone());
            let handle = tokio::spawn(async move {
                let _pg_turn = match pg_gate {
                    Some(g) => Some(g.acquire_owned().await),
                    None => None,
                };
                let _turn = gate.acquire_owned().await;
                match tokio::time::timeout(std::time::Duration::from_secs(SCENARIO_LIMIT_SECS), s.run).await {
                    Ok(verdict) => verdict,
                    Err(_) => panic!("no end within {SCENARIO_LIMIT_SECS} s"),
                }
            });
            (s.name, handle)
        })
        .collect();
    let (mut lockouts, mut lost, mut failed) = (0, 0, Vec::new());
    for (name, handle) in runs {
        match handle.await {
            Ok(verdict) => {
                lockouts += usize::from(verdict.locked);
                lost += usize::from(verdict.lost);
                if !verdict.problems.is_empty() {
                    failed.push(format!("{name}: {}", verdict.problems.join("; ")));
                }
            }
            Err(e) => {
                let panic = e.try_into_panic().ok();
                let text = panic.as_ref().and_then(|p| {
                    p.downcast_ref::<String>().cloned().or(p.downcast_ref::<&str>().map(|s| s.to_string()))
                });
                failed.push(format!("{name}: panicked: {}", text.unwrap_or_default()));
            }
        }
    }
    for f in &failed {
        println!("FAILED {f}");
    }
    println!("fault scenarios: {total}, lockouts: {lockouts}, lost: {lost} ({:.0?})", started.elapsed());
    assert!(failed.is_empty(), "{} of {total} scenarios failed", failed.len());
    assert!(total >= 50, "too few scenarios: {total}");
    assert_eq!((lockouts, lost), (0, 0));
}

/// The measurement can fail: one wrong password shows as badPwdCount 1, and a key holding
/// something else shows as lost.
#[tokio::test]
async fn the_checks_see_a_wrong_password_and_a_lost_one() {
    let mut rig = rig::Rig::new(Engine::Sqlite, &serial(9999)).await;
    rig.onboarded().await;
    assert!(!rig.dc.binds(&rig.user.dn, "Not-The-Password-1").await);
    let expect = check::Expect {
        binds: Some(rig.user.password.clone()),
        refused: Vec::new(),
        on_key: check::OnKey::Exactly("Something-Else-1".into()),
        audit: Some((rig.serial.clone(), "key_onboard", check::Audit::Success)),
    };
    let verdict = check::check(&rig, expect).await;
    println!("control: {verdict:?}");
    assert!(verdict.problems.iter().any(|p| p == "badPwdCount is 1"), "{verdict:?}");
    assert!(verdict.lost, "{verdict:?}");
    assert!(!verdict.locked, "one wrong password locks nobody");
    assert_eq!(verdict.problems.len(), 2, "the audit entry was found: {verdict:?}");
}
