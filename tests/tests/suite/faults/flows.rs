//! The flows without a journal: onboarding, a change on the key only, the password page, an
//! administrator's reset and its delivery to the key, and the key's activation; a fault at
//! each step each of them has.

use latchkey_api::relay::{ProgressStep, RelayEvent, RelayRequest};
use latchkey_tests::held_page::{Hold, Pumped};
use latchkey_tests::keys::password;
use latchkey_tests::tcp_relay::{contains, AtStatement, Matcher};

use super::check::{check, Audit, Expect, OnKey, Verdict};
use super::rig::{administrator, Engine, Rig, ACCOUNT};
use super::{scenario, serial, Scenario};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Onboard,
    ChangeOnKey,
    PasswordPage,
    Reset,
    Activation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Point {
    /// The server waits on the DC before it writes anything (verifying, or reading the account).
    BeforeWrite,
    /// The key has not seen the frame that stores (or activates, or delivers).
    FrameUnseen,
    /// The key acted on it; its answer has not reached the server.
    ActedOnKey,
    /// The password is being sealed to the key, staged, before the directory write (PostgreSQL).
    Sealing,
    /// The directory has the new password; the staged copy for the key is not confirmed yet
    /// (PostgreSQL).
    Confirming,
    /// Written to the directory; its audit entry not yet written, the copies for the key still
    /// staged (PostgreSQL).
    Auditing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    Kill,
    DcCut,
    DbCut,
}

pub fn scenarios(engine: Engine, first: usize) -> Vec<Scenario> {
    use Point::*;
    let pg = engine == Engine::Postgres;
    let mut plan: Vec<(Flow, Point, Fault)> = Vec::new();
    for flow in [Flow::Onboard, Flow::ChangeOnKey] {
        for point in [BeforeWrite, FrameUnseen, ActedOnKey] {
            plan.push((flow, point, Fault::Kill));
        }
        plan.push((flow, BeforeWrite, Fault::DcCut));
    }
    plan.push((Flow::PasswordPage, BeforeWrite, Fault::Kill));
    plan.push((Flow::PasswordPage, BeforeWrite, Fault::DcCut));
    for point in [BeforeWrite, FrameUnseen, ActedOnKey] {
        plan.push((Flow::Reset, point, Fault::Kill));
    }
    plan.push((Flow::Reset, BeforeWrite, Fault::DcCut));
    for point in [FrameUnseen, ActedOnKey] {
        plan.push((Flow::Activation, point, Fault::Kill));
    }
    if pg {
        for flow in [Flow::PasswordPage, Flow::Reset] {
            for point in [Sealing, Confirming] {
                plan.push((flow, point, Fault::Kill));
                plan.push((flow, point, Fault::DbCut));
            }
        }
        plan.push((Flow::PasswordPage, Auditing, Fault::Kill));
    }
    plan.into_iter()
        .enumerate()
        .map(|(i, (flow, point, fault))| {
            let name = format!("{flow:?} × {fault:?} × {point:?} × {engine:?}");
            scenario(name, run(engine, first + i, flow, point, fault))
        })
        .collect()
}

/// The first write of a password's seal to a key.
fn sealing() -> Matcher {
    Box::new(|sql, _| sql.contains("SET sealed_counter"))
}

/// The confirmation of the staged copies, right after the directory took the password.
fn confirming() -> Matcher {
    Box::new(|sql, _| sql.contains("SELECT id FROM pending_deliveries WHERE staged_for"))
}

fn audit_of(action: &'static str) -> Matcher {
    Box::new(move |sql, params| sql.contains("INSERT INTO audit") && contains(params, action.as_bytes()))
}

async fn run(engine: Engine, n: usize, flow: Flow, point: Point, fault: Fault) -> Verdict {
    let mut rig = Rig::new(engine, &serial(n)).await;
    let verdict = match flow {
        Flow::Activation => activation(&mut rig, point).await,
        Flow::Onboard | Flow::ChangeOnKey => on_key(&mut rig, flow, point, fault).await,
        Flow::PasswordPage | Flow::Reset => {
            rig.onboarded().await;
            http(&mut rig, flow, point, fault).await
        }
    };
    rig.close().await;
    verdict
}

/// Where the page holds (before the write the DC stops the server instead: a page that holds
/// at a step the server only reported does not stop it).
fn hold_for(flow: Flow, point: Point) -> Option<Hold> {
    let storing = if flow == Flow::Activation { ProgressStep::ConfirmOnKey } else { ProgressStep::Storing };
    match point {
        Point::BeforeWrite => None,
        Point::FrameUnseen => Some(Hold::FrameAfter(storing)),
        _ => Some(Hold::AnswerAfter(storing)),
    }
}

/// Onboarding (the key holds nothing yet) or a change on the key only (the key holds a
/// password the directory no longer has: it was changed elsewhere).
async fn on_key(rig: &mut Rig, flow: Flow, point: Point, fault: Fault) -> Verdict {
    rig.activate().await;
    let before = rig.user.password.clone();
    let (request, held_before, wanted) = if flow == Flow::Onboard {
        (RelayRequest::Onboard { account: ACCOUNT, password: password(&before) }, OnKey::Nothing, before.clone())
    } else {
        rig.onboard().await;
        let elsewhere = format!("Elsewhere-{}-Ok!", rig.serial);
        rig.set_password_elsewhere(&elsewhere).await;
        let request =
            RelayRequest::ChangeOnKey { account: ACCOUNT, password: password(&elsewhere), confirm_unverified: false };
        (request, OnKey::Stale(before.clone()), elsewhere)
    };
    let mut page = rig.ready_page().await;
    page.hold = hold_for(flow, point);
    let Rig { key, server, dc_relay, .. } = &mut *rig;
    let told = match (fault, point) {
        (Fault::Kill, Point::BeforeWrite) => {
            // The DC frozen first: the server is killed while it waits on it.
            dc_relay.freeze();
            let (_, ()) = tokio::join!(page.send(key, request), async {
                dc_relay.client_blocked().await;
                server.kill9();
            });
            dc_relay.drop_held();
            page.close(key).await;
            server.restart().await;
            None
        }
        (Fault::Kill, _) => {
            let held = page.send(key, request).await;
            assert!(matches!(held, Pumped::Held), "{point:?} was reached: {held:?}");
            server.kill9();
            page.close(key).await;
            server.restart().await;
            None
        }
        _ => {
            dc_relay.cut();
            let event = page.send(key, request).await;
            dc_relay.restore();
            page.close(key).await;
            Some(event)
        }
    };
    rig.reconnect(None).await;
    let stored = point == Point::ActedOnKey || matches!(told, Some(Pumped::Event(RelayEvent::Done { .. })));
    let mut problems = Vec::new();
    if let Some(Pumped::Event(event)) = &told {
        if !stored && !matches!(event, RelayEvent::Refused { .. } | RelayEvent::Failed { .. }) {
            problems.push(format!("nothing was stored, the user heard {event:?}"));
        }
    }
    let action = if flow == Flow::Onboard { "key_onboard" } else { "key_change_on_key" };
    let expect = Expect {
        binds: Some(wanted.clone()),
        refused: Vec::new(),
        on_key: if stored { OnKey::Exactly(wanted) } else { held_before },
        // A process killed mid-flow never wrote the entry; a refusal is recorded.
        audit: (fault != Fault::Kill).then(|| (rig.serial.clone(), action, Audit::Failure)),
    };
    let mut verdict = check(rig, expect).await;
    verdict.problems.extend(problems);
    verdict
}

/// The password page's change, or an administrator's generated reset and its delivery.
async fn http(rig: &mut Rig, flow: Flow, point: Point, fault: Fault) -> Verdict {
    let old = rig.user.password.clone();
    let new = format!("Page-{}-Ok!", rig.serial);
    let admin = if flow == Flow::Reset { Some(administrator(rig).await) } else { None };
    let (path, body) = match flow {
        Flow::Reset => (format!("/api/admin/employees/{}/reset", rig.user.sam), serde_json::json!({})),
        _ => ("/api/password/change".to_string(), serde_json::json!({ "current": old, "new": new })),
    };
    match (point, fault) {
        (Point::Sealing, _) => rig.pg().arm(sealing(), stops(fault)),
        (Point::Confirming, _) => rig.pg().arm(confirming(), stops(fault)),
        (Point::Auditing, _) => rig.pg().arm(audit_of("change_password"), AtStatement::Freeze),
        (Point::BeforeWrite, Fault::Kill) => rig.dc_relay.freeze(),
        (Point::BeforeWrite, _) => rig.dc_relay.cut(),
        _ => {}
    }
    let struck = fault == Fault::Kill && !matches!(point, Point::FrameUnseen | Point::ActedOnKey);
    let Rig { server, dc_relay, pg_relay, browser: own, .. } = &mut *rig;
    let browser: &super::rig::Browser = match &admin {
        Some(a) => a,
        None => own,
    };
    let answer = if struck {
        // The server dies while it waits at the point: on the frozen DC, or on the statement.
        let strike = async {
            match point {
                Point::BeforeWrite => dc_relay.client_blocked().await,
                _ => pg_relay.as_ref().expect("PostgreSQL").statement_reached().await,
            }
            server.kill9();
        };
        let (answer, ()) = tokio::join!(browser.post(&path, body), strike);
        if let Some(answer) = &answer {
            panic!("the killed server answered: {answer:?}");
        }
        dc_relay.drop_held();
        if let Some(pg) = pg_relay.as_ref() {
            pg.drop_held();
        }
        server.restart().await;
        answer
    } else {
        let answer = browser.post(&path, body).await;
        dc_relay.restore();
        if let Some(pg) = pg_relay.as_ref() {
            pg.restore();
        }
        answer
    };
    if flow == Flow::Reset {
        rig.page_signed_in = false;
    }
    // Sealing comes before the directory write: a fault there means no change.
    let happened = !matches!(point, Point::BeforeWrite | Point::Sealing);
    let mut problems = Vec::new();
    match &answer {
        Some((status, body)) if happened != (*status == 200) => {
            problems.push(format!("the change happened: {happened}; the client heard {status} {body}"))
        }
        _ => {}
    }
    if matches!(point, Point::FrameUnseen | Point::ActedOnKey) {
        // The delivery: the key's next connection, held at the delivering frame (1 handshake,
        // 2 listing, 3 delivery).
        let mut page = rig.page().await;
        page.hold = Some(if point == Point::FrameUnseen { Hold::Frame(3) } else { Hold::Answer(3) });
        let held = page.connect(&mut rig.key).await;
        assert!(matches!(held, Pumped::Held), "the delivery was reached: {held:?}");
        rig.server.kill9();
        page.close(&mut rig.key).await;
        rig.server.restart().await;
    }
    let notice = rig.reconnect(None).await;
    if happened && point != Point::ActedOnKey && !notice.as_deref().unwrap_or_default().contains("now on the key") {
        problems.push(format!("the key was not told of its new password: {notice:?}"));
    }
    let (target, action) = match flow {
        Flow::Reset => (rig.user.sam.clone(), "admin_reset"),
        _ => (rig.user.sam.clone(), "change_password"),
    };
    let expect = if happened {
        Expect {
            binds: (flow == Flow::PasswordPage).then(|| new.clone()),
            refused: vec![old.clone()],
            on_key: if flow == Flow::PasswordPage { OnKey::Exactly(new.clone()) } else { OnKey::TheDirectorys },
            audit: Some((target, action, Audit::Success)),
        }
    } else {
        Expect {
            binds: Some(old.clone()),
            refused: vec![new.clone()],
            on_key: OnKey::Exactly(old.clone()),
            audit: match (flow, fault) {
                (_, Fault::Kill) => None,
                // The administrator's standing is checked with the DC before any write: with the
                // DC away the request is refused before a reset begins, and no reset is audited.
                (Flow::Reset, Fault::DcCut) => Some((target, action, Audit::NotSuccess)),
                _ => Some((target, action, Audit::Failure)),
            },
        }
    };
    let mut verdict = check(rig, expect).await;
    verdict.problems.extend(problems);
    verdict
}

fn stops(fault: Fault) -> AtStatement {
    if fault == Fault::DbCut {
        AtStatement::Cut
    } else {
        AtStatement::Freeze
    }
}

/// The key's activation, the server killed with the activation code on its way or done.
async fn activation(rig: &mut Rig, point: Point) -> Verdict {
    let mut page = rig.page().await;
    let asked = page.connect(&mut rig.key).await;
    assert!(matches!(asked, Pumped::Event(RelayEvent::NeedsActivation { .. })), "{asked:?}");
    page.hold = hold_for(Flow::Activation, point);
    let held = page.send(&mut rig.key, RelayRequest::Activate { code: rig.code.clone() }).await;
    assert!(matches!(held, Pumped::Held), "{point:?} was reached: {held:?}");
    rig.server.kill9();
    page.close(&mut rig.key).await;
    rig.server.restart().await;
    rig.reconnect(None).await;
    let mut verdict = check(
        rig,
        Expect { binds: Some(rig.user.password.clone()), refused: Vec::new(), on_key: OnKey::Nothing, audit: None },
    )
    .await;
    let row = rig.seed.state.store.key_by_serial(&rig.serial).await.expect("store").expect("key");
    if row.status.label() != "active" {
        verdict.problem(format!("the key is {} in the registry, not active", row.status.label()));
    }
    if rig.key.vault().status != latchkey_protocol::message::KeyStatus::Active {
        verdict.problem(format!("the key says it is {:?}", rig.key.vault().status));
    }
    verdict
}
