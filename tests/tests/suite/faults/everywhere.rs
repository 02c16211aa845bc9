//! A change in the directory and on the key (typed, and generated), the journaled flow: a
//! fault at each of its steps, Started → Staged → DirectoryChanged → Committed.

use latchkey_api::relay::{ProgressStep, RelayEvent, RelayRequest};
use latchkey_tests::held_page::{Hold, Pumped};
use latchkey_tests::keys::password;
use latchkey_tests::tcp_relay::{contains, AtStatement, Matcher};

use super::check::{check, Audit, Expect, OnKey, Verdict};
use super::rig::{Engine, Rig, ACCOUNT};
use super::{scenario, serial, Scenario};

/// Where the change is when the fault strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    /// Journaled `started`; the key has not seen the stage.
    StageUnseen,
    /// The key staged; its answer has not reached the server.
    StagedOnKey,
    /// Journaled `staged`; the server waits on the DC, the directory untouched.
    StagedDirectoryWaiting,
    /// Right before the directory write: the baseline read again and journaled (PostgreSQL,
    /// where the relay stops that statement while the DC goes away).
    AtDirectoryWrite,
    /// The directory took the new password; `directory_changed` not yet journaled (PostgreSQL).
    DirectoryWritten,
    /// Journaled `directory_changed`; the key has not seen the commit.
    CommitUnseen,
    /// The key committed; its answer has not reached the server.
    CommittedOnKey,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Kill,
    /// Killed, and the key comes back through another replica (PostgreSQL).
    KillOtherReplica,
    DcCut,
    /// The DC stops answering until the server gave up; what it held is lost.
    DcFreeze,
    /// The database is cut off right before this journal step is written (PostgreSQL).
    DbCut(&'static str),
    LinkLost,
}

pub fn scenarios(engine: Engine, first: usize) -> Vec<Scenario> {
    use Point::*;
    let mut plan: Vec<(Point, Fault, bool)> = Vec::new();
    for generated in [false, true] {
        for point in [StageUnseen, StagedOnKey, StagedDirectoryWaiting, CommitUnseen, CommittedOnKey] {
            plan.push((point, Fault::Kill, generated));
        }
        if engine == Engine::Postgres {
            plan.push((DirectoryWritten, Fault::Kill, generated));
        }
    }
    for point in [StagedOnKey, CommitUnseen] {
        plan.push((point, Fault::DcCut, false));
    }
    plan.push((StagedOnKey, Fault::DcFreeze, false));
    if engine == Engine::Postgres {
        plan.push((AtDirectoryWrite, Fault::DcCut, false));
        plan.push((AtDirectoryWrite, Fault::DcFreeze, false));
        for step in ["started", "staged", "directory_changed", "committed"] {
            plan.push((StageUnseen, Fault::DbCut(step), false));
        }
        for point in [StagedOnKey, CommitUnseen, CommittedOnKey] {
            plan.push((point, Fault::LinkLost, false));
        }
        for point in [StagedOnKey, CommitUnseen] {
            plan.push((point, Fault::KillOtherReplica, true));
        }
    }
    plan.into_iter()
        .enumerate()
        .map(|(i, (point, fault, generated))| {
            let name = format!(
                "change everywhere ({}) × {fault:?} × {point:?} × {engine:?}",
                if generated { "generated" } else { "typed" }
            );
            scenario(name, run(engine, first + i, point, fault, generated))
        })
        .collect()
}

fn journal_step(step: &'static str) -> Matcher {
    if step == "started" {
        Box::new(|sql, _| sql.contains("INSERT INTO change_journal"))
    } else {
        Box::new(move |sql, params| sql.contains("UPDATE change_journal SET step") && contains(params, step.as_bytes()))
    }
}

/// The baseline journaled again right before the directory write.
fn rebase() -> Matcher {
    Box::new(|sql, _| sql.contains("UPDATE change_journal SET pwd_last_set_before"))
}

fn hold_for(point: Point) -> Option<Hold> {
    Some(match point {
        Point::StageUnseen => Hold::FrameAfter(ProgressStep::ConfirmOnKey),
        Point::StagedOnKey | Point::StagedDirectoryWaiting => Hold::AnswerAfter(ProgressStep::ConfirmOnKey),
        // The relay stops the server there; a page cannot (the server only reports a step).
        Point::AtDirectoryWrite | Point::DirectoryWritten => return None,
        Point::CommitUnseen => Hold::FrameAfter(ProgressStep::Committing),
        Point::CommittedOnKey => Hold::AnswerAfter(ProgressStep::Committing),
    })
}

async fn run(engine: Engine, n: usize, point: Point, fault: Fault, generated: bool) -> Verdict {
    let mut rig = Rig::new(engine, &serial(n)).await;
    rig.onboarded().await;
    let old = rig.user.password.clone();
    let typed = format!("Fault-Typed-{n}-Ok!");
    let replica = match fault {
        Fault::KillOtherReplica => Some(rig.server.replica().await),
        _ => None,
    };
    let request = RelayRequest::ChangeEverywhere { account: ACCOUNT, password: (!generated).then(|| password(&typed)) };
    let mut page = rig.ready_page().await;
    page.hold = hold_for(point);
    if let Fault::DbCut(step) = fault {
        page.hold = None;
        rig.pg().arm(journal_step(step), AtStatement::Cut);
    }
    if point == Point::DirectoryWritten {
        rig.pg().arm(journal_step("directory_changed"), AtStatement::Freeze);
    }
    if point == Point::AtDirectoryWrite {
        rig.pg().arm(rebase(), AtStatement::Freeze);
    }

    let Rig { key, server, dc_relay, pg_relay, .. } = &mut rig;
    // The outcome the page heard, when the server lived to tell it.
    let told: Option<RelayEvent> = match fault {
        Fault::Kill | Fault::KillOtherReplica => {
            if point == Point::DirectoryWritten {
                let pg = pg_relay.as_ref().expect("PostgreSQL");
                let (_, ()) = tokio::join!(page.send(key, request), async {
                    pg.statement_reached().await;
                    server.kill9();
                });
                pg.drop_held();
            } else {
                let held = page.send(key, request).await;
                assert!(matches!(held, Pumped::Held), "{point:?} was reached: {held:?}");
                if point == Point::StagedDirectoryWaiting {
                    dc_relay.freeze();
                    let (_, ()) = tokio::join!(page.resume(key), async {
                        dc_relay.client_blocked().await;
                        server.kill9();
                    });
                    dc_relay.drop_held();
                } else {
                    server.kill9();
                }
            }
            page.close(key).await;
            if fault == Fault::Kill {
                server.restart().await;
            }
            None
        }
        Fault::DcCut | Fault::DcFreeze => {
            let stop_dc = || {
                if fault == Fault::DcCut {
                    dc_relay.cut();
                } else {
                    dc_relay.freeze();
                }
            };
            let event = if point == Point::AtDirectoryWrite {
                let pg = pg_relay.as_ref().expect("PostgreSQL");
                let (event, ()) = tokio::join!(page.send(key, request), async {
                    pg.statement_reached().await;
                    stop_dc();
                    pg.restore();
                });
                event
            } else {
                let held = page.send(key, request).await;
                assert!(matches!(held, Pumped::Held), "{point:?} was reached: {held:?}");
                stop_dc();
                page.resume(key).await
            };
            dc_relay.drop_held();
            page.close(key).await;
            match event {
                Pumped::Event(e) => Some(e),
                Pumped::Held => panic!("held twice"),
            }
        }
        Fault::DbCut(_) => {
            let event = page.send(key, request).await;
            pg_relay.as_ref().expect("PostgreSQL").restore();
            page.close(key).await;
            match event {
                Pumped::Event(e) => Some(e),
                Pumped::Held => panic!("held without a hold"),
            }
        }
        Fault::LinkLost => {
            let held = page.send(key, request).await;
            assert!(matches!(held, Pumped::Held), "{point:?} was reached: {held:?}");
            page.close(key).await;
            None
        }
    };
    let notice = rig.reconnect(replica.as_ref().map(|r| r.addr)).await;

    // Which password won: the directory decides (read as its administrator, no bind).
    let new_won = match (&told, fault, point) {
        (_, Fault::DbCut(step), _) => matches!(step, "directory_changed" | "committed"),
        (Some(RelayEvent::Done { .. }), ..) => true,
        (_, Fault::Kill | Fault::KillOtherReplica | Fault::LinkLost, p) => {
            matches!(p, Point::DirectoryWritten | Point::CommitUnseen | Point::CommittedOnKey)
        }
        (_, _, Point::CommitUnseen) => true,
        _ => false,
    };
    let mut problems = Vec::new();
    // What the user was told matches what happened: now, or on the next connection.
    let said_done = matches!(told, Some(RelayEvent::Done { .. }));
    let notice_text = notice.clone().unwrap_or_default();
    if new_won && !said_done && !notice_text.contains("went through") {
        problems.push(format!("the change happened; the user heard {told:?}, then {notice:?}"));
    }
    if !new_won && (said_done || notice_text.contains("went through")) {
        problems.push(format!("the change did not happen; the user heard {told:?}, then {notice:?}"));
    }
    let fresh = if generated { None } else { Some(typed.clone()) };
    let expect = if new_won {
        Expect {
            binds: fresh.clone(),
            refused: vec![old.clone()],
            on_key: fresh.map(OnKey::Exactly).unwrap_or(OnKey::TheDirectorys),
            audit: Some((rig.serial.clone(), "key_change_everywhere", Audit::Success)),
        }
    } else {
        Expect {
            binds: Some(old.clone()),
            refused: fresh.into_iter().collect(),
            on_key: OnKey::Exactly(old.clone()),
            // With the database gone before the journal began, nothing could be recorded.
            audit: (fault != Fault::DbCut("started"))
                .then(|| (rig.serial.clone(), "key_change_everywhere", Audit::Failure)),
        }
    };
    let mut verdict = check(&rig, expect).await;
    verdict.problems.extend(problems);
    drop(replica);
    rig.close().await;
    verdict
}
