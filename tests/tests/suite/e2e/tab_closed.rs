//! The browser tab closed in the middle of a key flow: the real page (Chromium, the key
//! emulated over WebBluetooth, the real relay) closed with `Page.close` where it matters — the
//! key acted and its answer never left, the server waits on the DC, the directory took the
//! password and the key never saw the commit, the key committed and the page was gone. The user
//! then comes back in a new tab and connects the key again. Each scenario must end as the fault
//! harness requires (one password that binds, nothing staged, no bad-password count, nobody
//! locked, the journal settled, the audit entry present), and the page must tell the truth.
//! Points are found by watching what can be seen: the key's flash, the DC's connections, the
//! store's audit.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use keysim::storage::MemoryFlash;
use keysim::SimKey;
use latchkey_api::relay::{RelayEvent, RelayRequest};
use latchkey_protocol::message::KeyStatus;
use latchkey_tests::bluetooth::{EmulatedKey, Halt, KeyTest};
use latchkey_tests::browser::{click, eval, type_into, wait_for, wait_until, TestBrowser};
use latchkey_tests::keys::{self, key_password, RelayPage};
use latchkey_tests::tcp_relay::TcpRelay;
use latchkey_tests::{spawn_app, AppOptions, TestApp, TestDc, TestUser, UserOptions};

use crate::faults::check::{measure, Audit, Expect, OnKey, Subject, Verdict};

/// The domain account's slot on the key (`keys::provision` puts it first).
const ACCOUNT: u16 = 1;

/// A scenario that hangs fails.
const SCENARIO_LIMIT: Duration = Duration::from_secs(120);

/// How long the server may take to reach a point, or to settle after the tab closed.
const WAIT: Duration = Duration::from_secs(30);

type Key = Arc<Mutex<SimKey<MemoryFlash>>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// A change in the directory and on the key, typed or generated.
    Everywhere { generated: bool },
    /// A change on the key only, of a password changed elsewhere (the directory verifies it).
    OnKey,
    /// The current password stored on a key that holds none (the directory verifies it).
    Onboard,
    /// The key's first connection: the activation code.
    Activation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Point {
    /// The key acted on the request (staged, stored, activated); its answer never left.
    AnswerLost,
    /// The server waits on the DC (the directory write, or the verification) as the tab
    /// closes; the DC answers afterwards.
    DirectoryLate,
    /// The same, and the DC's answer never comes: its connection drops.
    DirectoryLost,
    /// Past the directory (the password written, or verified): the key never sees the next
    /// frame (the commit, or the password to store).
    NextFrameUnseen,
    /// The key made the new password current; its answer never left.
    CommittedAnswerLost,
}

fn plan() -> Vec<(Flow, Point)> {
    use Point::*;
    let mut plan = Vec::new();
    for generated in [false, true] {
        for point in [AnswerLost, DirectoryLate, DirectoryLost, NextFrameUnseen, CommittedAnswerLost] {
            plan.push((Flow::Everywhere { generated }, point));
        }
    }
    for flow in [Flow::OnKey, Flow::Onboard] {
        for point in [DirectoryLate, DirectoryLost, NextFrameUnseen, AnswerLost] {
            plan.push((flow, point));
        }
    }
    plan.push((Flow::Activation, AnswerLost));
    plan
}

/// `LATCHKEY_TAB_CLOSED_ONLY=text,text`: only the scenarios whose names hold one of them.
fn chosen(name: &str) -> bool {
    match std::env::var("LATCHKEY_TAB_CLOSED_ONLY") {
        Ok(only) if !only.is_empty() => only.split(',').any(|part| name.contains(part)),
        _ => true,
    }
}

/// Runs in the suite's one browser (see `e2e.rs`).
pub async fn a_tab_closed_mid_flow_loses_nothing_and_locks_no_one(dc: &TestDc, browser: &TestBrowser) {
    let control = std::panic::AssertUnwindSafe(the_checks_see_a_wrong_password_and_a_false_notice(dc, browser))
        .catch_unwind()
        .await;
    let (mut passed, mut lockouts, mut lost, mut failed) = (0, 0, 0, Vec::new());
    if control.is_err() {
        failed.push("the positive control".to_string());
    }
    let plan: Vec<_> = plan().into_iter().map(|(flow, point)| (format!("{flow:?} × {point:?}"), flow, point)).collect();
    let whole = plan.iter().all(|(name, ..)| chosen(name));
    for (n, (name, flow, point)) in plan.into_iter().enumerate() {
        if !chosen(&name) {
            continue;
        }
        let began = Instant::now();
        let run = std::panic::AssertUnwindSafe(scenario(dc, browser, n + 1, flow, point)).catch_unwind();
        let verdict = match tokio::time::timeout(SCENARIO_LIMIT, run).await {
            Ok(Ok(verdict)) => verdict,
            Ok(Err(panic)) => {
                let text =
                    panic.downcast_ref::<String>().cloned().or(panic.downcast_ref::<&str>().map(|s| s.to_string()));
                Verdict { problems: vec![format!("panicked: {}", text.unwrap_or_default())], ..Verdict::default() }
            }
            Err(_) => Verdict { problems: vec![format!("no end within {SCENARIO_LIMIT:?}")], ..Verdict::default() },
        };
        println!("{name}: {:.1?} {:?}", began.elapsed(), verdict.problems);
        lockouts += usize::from(verdict.locked);
        lost += usize::from(verdict.lost);
        if verdict.problems.is_empty() {
            passed += 1;
        } else {
            failed.push(format!("{name}: {}", verdict.problems.join("; ")));
        }
    }
    for f in &failed {
        println!("FAILED {f}");
    }
    println!("tab-closed scenarios: {passed}, lockouts: {lockouts}, lost: {lost}");
    assert!(failed.is_empty(), "{} tab-closed scenarios failed", failed.len());
    assert_eq!((lockouts, lost), (0, 0));
    if whole {
        assert!(passed >= 19, "too few scenarios passed: {passed}");
    }
}

/// One user, one server behind a DC relay the test holds, one key assigned to the user.
struct Scene {
    app: TestApp,
    dc_relay: TcpRelay,
    user: TestUser,
    serial: String,
    key: Key,
    code: String,
    /// The password the key holds (or, onboarding, the directory's) before the flow.
    before: String,
    /// The directory's password before the flow (another than the key's for a change on the
    /// key only: it was changed elsewhere).
    directory: String,
}

/// Set up without the browser: the key activated and holding the user's password, as each
/// flow needs it.
async fn scene(dc: &TestDc, n: usize, flow: Flow) -> Scene {
    let dc_target = dc.url.trim_start_matches("ldaps://").to_string();
    let dc_target = if dc_target.contains(':') { dc_target } else { format!("{dc_target}:636") };
    let dc_relay = TcpRelay::start(&dc_target, false).await;
    let options = AppOptions { directory_url: Some(format!("ldaps://{}", dc_relay.addr)), ..AppOptions::default() };
    let (app, user) = tokio::join!(spawn_app(dc, options), dc.create_user(UserOptions::default()));
    let serial = format!("LK-TAB-{}-{n}", std::process::id() % 100_000);
    let (mut key, made) = keys::new_key(&serial);
    let code = keys::provision(&app, &user, &made).await;
    if flow != Flow::Activation {
        let cookie = keys::session_cookie(&app, &user).await;
        let mut relay = RelayPage::open(&app, Some(&cookie)).await;
        relay.connect(&mut key).await;
        let ready = relay.send(&mut key, RelayRequest::Activate { code: code.clone() }).await;
        assert!(matches!(ready, RelayEvent::Ready { .. }), "{ready:?}");
        if flow != Flow::Onboard {
            let request = RelayRequest::Onboard { account: ACCOUNT, password: keys::password(&user.password) };
            let done = relay.send(&mut key, request).await;
            assert!(matches!(done, RelayEvent::Done { .. }), "{done:?}");
        }
        relay.close().await;
    }
    let before = user.password.clone();
    let directory = if flow == Flow::OnKey {
        let elsewhere = format!("Elsewhere-{n}-Tab-Ok!");
        dc.set_password(&user.dn, &elsewhere).await;
        elsewhere
    } else {
        before.clone()
    };
    Scene { app, dc_relay, user, serial, key: Arc::new(Mutex::new(key)), code, before, directory }
}

/// The user's tab: signed in, the key connected (and, unless activation is the flow, ready).
async fn open_tab(browser: &TestBrowser, scene: &Scene, flow: Flow) -> (chromiumoxide::Page, EmulatedKey) {
    let page = browser.open(&scene.app.url).await;
    super::sign_in(&page, &scene.user.sam, &scene.directory).await;
    wait_for(&page, "#new").await;
    let emulated = EmulatedKey::attach_shared(&browser.browser, &page, scene.key.clone(), true).await;
    click(&page, "[data-testid=key-connect]").await;
    if flow == Flow::Activation {
        wait_for(&page, "#activation-code").await;
    } else {
        wait_for(&page, "[data-testid=key-ready]").await;
    }
    (page, emulated)
}

/// Starts the flow from the page, as the user would.
async fn start(page: &chromiumoxide::Page, scene: &Scene, flow: Flow, typed: &str) {
    let submit = "form.change button[type=submit]";
    match flow {
        Flow::Everywhere { generated } => {
            click(page, "#target-everywhere").await;
            if generated {
                click(page, "#how-generated").await;
            } else {
                click(page, "#how-typed").await;
                type_into(page, "#new", typed).await;
                type_into(page, "#new-confirm", typed).await;
                wait_until(
                    page,
                    "document.querySelector('li[data-rule=not_blocklisted][data-outcome=passed]') !== null",
                )
                .await;
            }
            wait_until(page, "document.querySelector('form.change')?.dataset.target === 'everywhere'").await;
            wait_until(page, &format!("document.querySelector({submit:?})?.disabled === false")).await;
            click(page, submit).await;
        }
        Flow::OnKey | Flow::Onboard => {
            if flow == Flow::OnKey {
                click(page, "#target-key").await;
            }
            wait_until(page, "document.querySelector('form.change')?.dataset.target === 'key'").await;
            type_into(page, "#on-key", &scene.directory).await;
            click(page, submit).await;
        }
        Flow::Activation => {
            type_into(page, "#activation-code", &scene.code).await;
            click(page, "form.activation button").await;
        }
    }
}

fn staged(key: &SimKey<MemoryFlash>) -> bool {
    Subject::on_key(key).1
}

/// The key's state once it acted on the flow's request.
fn acted(flow: Flow, scene: &Scene) -> KeyTest {
    let directory = scene.directory.clone();
    match flow {
        Flow::Everywhere { .. } => Box::new(staged),
        Flow::OnKey => Box::new(move |k| key_password(k, ACCOUNT).as_deref() == Some(directory.as_str())),
        Flow::Onboard => Box::new(|k| key_password(k, ACCOUNT).is_some()),
        Flow::Activation => Box::new(|k| k.vault().status == KeyStatus::Active),
    }
}

/// Polls `ready` until it holds; fails naming `what` after `WAIT`.
async fn until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < WAIT, "never reached: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn scenario(dc: &TestDc, browser: &TestBrowser, n: usize, flow: Flow, point: Point) -> Verdict {
    let scene = scene(dc, n, flow).await;
    let typed = format!("Tab-Closed-{n}-Typed-Ok!");
    let (page, emulated) = open_tab(browser, &scene, flow).await;

    // Armed before the flow starts; each is seen from outside the page.
    let before = scene.before.clone();
    match point {
        Point::AnswerLost => emulated.halt(Halt::AnswerLost(acted(flow, &scene))),
        Point::DirectoryLate | Point::DirectoryLost => scene.dc_relay.hold_new(),
        Point::NextFrameUnseen if matches!(flow, Flow::Everywhere { .. }) => {
            emulated.halt(Halt::Unseen(Box::new(staged)))
        }
        Point::NextFrameUnseen => scene.dc_relay.hold_new(),
        Point::CommittedAnswerLost => emulated.halt(Halt::AnswerLost(Box::new(move |k| {
            !staged(k) && key_password(k, ACCOUNT).is_some_and(|p| p != before)
        }))),
    }
    start(&page, &scene, flow, &typed).await;
    match point {
        Point::AnswerLost | Point::CommittedAnswerLost => until("the key acted", || emulated.halted().0).await,
        Point::DirectoryLate | Point::DirectoryLost => {
            // The user's own bind (the write, or the verification) is the one new connection.
            let held = tokio::time::timeout(WAIT, scene.dc_relay.new_held()).await;
            assert!(held.is_ok(), "the server never went to the DC");
        }
        Point::NextFrameUnseen => {
            if !matches!(flow, Flow::Everywhere { .. }) {
                let held = tokio::time::timeout(WAIT, scene.dc_relay.new_held()).await;
                assert!(held.is_ok(), "the server never went to the DC");
                emulated.halt(Halt::Unseen(Box::new(|_| true)));
                scene.dc_relay.let_new_through();
            }
            until("the key was sent its next frame", || emulated.halted().1 > 0).await;
        }
    }

    // The tab closes; the key sees its Bluetooth link drop.
    page.close().await.expect("close the tab");
    scene.key.lock().unwrap().disconnect();
    match point {
        Point::DirectoryLate => scene.dc_relay.let_new_through(),
        Point::DirectoryLost => scene.dc_relay.drop_new(),
        _ => {}
    }
    emulated.detach().await;
    let action = match flow {
        Flow::Everywhere { .. } => "key_change_everywhere",
        Flow::OnKey => "key_change_on_key",
        Flow::Onboard => "key_onboard",
        Flow::Activation => "key_session",
    };
    settled(&scene, action).await;

    let back = come_back(browser, &scene).await;
    let outcome = outcome(flow, point);
    let mut verdict = measure(&subject(dc, &scene).await, expect(&scene, flow, &outcome, &typed)).await;
    verdict.problems.extend(page_problems(flow, &outcome, &back));
    if flow == Flow::Activation {
        let row = scene.app.state.store.key_by_serial(&scene.serial).await.expect("store").expect("the key");
        if row.status.label() != "active" {
            verdict.problem(format!("the key is {} in the registry, not active", row.status.label()));
        }
    }
    scene.app.stop().await;
    verdict
}

/// Waits until the server recorded how the flow ended for it (it goes on after the tab closed).
async fn settled(scene: &Scene, action: &str) {
    let start = Instant::now();
    loop {
        let audit = scene.app.state.store.audit_of(&scene.serial).await.expect("audit");
        if audit.iter().any(|e| e.action == action) {
            return;
        }
        assert!(start.elapsed() < WAIT, "the server never recorded {action}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the page shows the user who came back and connected the key again.
#[derive(Debug)]
struct Back {
    notice: String,
    listing: String,
    target: String,
    done: bool,
}

async fn come_back(browser: &TestBrowser, scene: &Scene) -> Back {
    let page = browser.open_again(&scene.app.url).await;
    wait_for(&page, "#new").await;
    let emulated = EmulatedKey::attach_shared(&browser.browser, &page, scene.key.clone(), true).await;
    click(&page, "[data-testid=key-connect]").await;
    wait_for(&page, "[data-testid=key-ready]").await;
    let back = Back {
        notice: eval(&page, "document.querySelector('[data-testid=key-notice]')?.innerText ?? ''").await,
        listing: eval(&page, "document.querySelector('[data-testid=key-account]')?.innerText ?? ''").await,
        target: eval(&page, "document.querySelector('form.change')?.dataset.target ?? ''").await,
        done: eval(&page, "document.querySelector('[data-testid=key-done]') !== null").await,
    };
    emulated.detach().await;
    scene.key.lock().unwrap().disconnect();
    page.close().await.expect("close the tab");
    back
}

/// What the flow came to, by the point the tab closed at.
struct Outcome {
    /// The new password is the directory's (a change everywhere).
    new_won: bool,
    /// The key holds the password it was sent (onboarding, a change on the key).
    stored: bool,
}

fn outcome(flow: Flow, point: Point) -> Outcome {
    match flow {
        Flow::Everywhere { .. } => Outcome {
            new_won: matches!(point, Point::DirectoryLate | Point::NextFrameUnseen | Point::CommittedAnswerLost),
            stored: false,
        },
        _ => Outcome { new_won: false, stored: point == Point::AnswerLost },
    }
}

fn expect(scene: &Scene, flow: Flow, outcome: &Outcome, typed: &str) -> Expect {
    let serial = scene.serial.clone();
    match flow {
        Flow::Everywhere { generated } => {
            let fresh = (!generated).then(|| typed.to_string());
            if outcome.new_won {
                Expect {
                    binds: fresh.clone(),
                    refused: vec![scene.before.clone()],
                    on_key: fresh.map(OnKey::Exactly).unwrap_or(OnKey::TheDirectorys),
                    audit: Some((serial, "key_change_everywhere", Audit::Success)),
                }
            } else {
                Expect {
                    binds: Some(scene.before.clone()),
                    refused: fresh.into_iter().collect(),
                    on_key: OnKey::Exactly(scene.before.clone()),
                    audit: Some((serial, "key_change_everywhere", Audit::Failure)),
                }
            }
        }
        Flow::OnKey => Expect {
            binds: Some(scene.directory.clone()),
            refused: Vec::new(),
            on_key: if outcome.stored {
                OnKey::Exactly(scene.directory.clone())
            } else {
                OnKey::Stale(scene.before.clone())
            },
            // The server never heard the key's answer: the flow ended unfinished for it.
            audit: Some((serial, "key_change_on_key", Audit::Failure)),
        },
        Flow::Onboard => Expect {
            binds: Some(scene.before.clone()),
            refused: Vec::new(),
            on_key: if outcome.stored { OnKey::Exactly(scene.before.clone()) } else { OnKey::Nothing },
            audit: Some((serial, "key_onboard", Audit::Failure)),
        },
        Flow::Activation => {
            Expect { binds: Some(scene.before.clone()), refused: Vec::new(), on_key: OnKey::Nothing, audit: None }
        }
    }
}

async fn subject<'a>(dc: &'a TestDc, scene: &'a Scene) -> Subject<'a> {
    let (held, staged) = Subject::on_key(&scene.key.lock().unwrap());
    let key_id = scene.app.state.store.key_by_serial(&scene.serial).await.expect("store").expect("the key").id;
    Subject { dc, dn: &scene.user.dn, store: &scene.app.state.store, key_id, held, staged }
}

/// Whether a notice about an interrupted change says what happened to it.
fn notice_of_change(notice: &str, new_won: bool) -> Option<String> {
    let through = notice.contains("went through");
    let not = notice.contains("undone") || notice.contains("did not go through");
    if through == new_won && not != new_won {
        None
    } else {
        let happened = if new_won { "happened" } else { "did not happen" };
        Some(format!("the change {happened}; coming back, the page said {notice:?}"))
    }
}

/// What the page said that was not so (or did not say that it must).
fn page_problems(flow: Flow, outcome: &Outcome, back: &Back) -> Vec<String> {
    let mut problems = Vec::new();
    if back.done {
        problems.push("the new tab claims an operation done".into());
    }
    match flow {
        Flow::Everywhere { .. } => problems.extend(notice_of_change(&back.notice, outcome.new_won)),
        _ => {
            if !back.notice.is_empty() {
                problems.push(format!("nothing was changed in the directory, the page said {:?}", back.notice));
            }
            let holds = flow != Flow::Activation && (flow == Flow::OnKey || outcome.stored);
            let (listed, offered) = if holds { ("password stored", "everywhere") } else { ("no password yet", "key") };
            if !back.listing.contains(listed) || back.target != offered {
                problems.push(format!(
                    "the key {} a password; the page lists {:?} and offers {:?}",
                    if holds { "holds" } else { "holds no" },
                    back.listing,
                    back.target
                ));
            }
        }
    }
    problems
}

/// The measurement and the page's judge can fail: one wrong password shows as badPwdCount 1,
/// a key holding something else as lost, and a notice of the other outcome as false.
async fn the_checks_see_a_wrong_password_and_a_false_notice(dc: &TestDc, browser: &TestBrowser) {
    let flow = Flow::Everywhere { generated: false };
    let scene = scene(dc, 0, flow).await;
    let (page, emulated) = open_tab(browser, &scene, flow).await;
    emulated.detach().await;
    page.close().await.expect("close the tab");
    assert!(!dc.binds(&scene.user.dn, "Not-The-Password-1").await);
    let expect = Expect {
        binds: Some(scene.before.clone()),
        refused: Vec::new(),
        on_key: OnKey::Exactly("Something-Else-1".into()),
        audit: Some((scene.serial.clone(), "key_onboard", Audit::Success)),
    };
    let verdict = measure(&subject(dc, &scene).await, expect).await;
    println!("control: {verdict:?}");
    assert!(verdict.problems.iter().any(|p| p == "badPwdCount is 1"), "{verdict:?}");
    assert!(verdict.lost, "{verdict:?}");
    assert!(!verdict.locked, "one wrong password locks nobody");
    assert_eq!(verdict.problems.len(), 2, "the audit entry was found: {verdict:?}");

    let through = "Your interrupted password change went through: the key now holds the new password.";
    let undone = "Your interrupted password change was undone: the directory and the key keep the old password.";
    assert_eq!(notice_of_change(through, true), None);
    assert_eq!(notice_of_change(undone, false), None);
    assert!(notice_of_change(through, false).is_some() && notice_of_change(undone, true).is_some());
    assert!(notice_of_change("", true).is_some() && notice_of_change("", false).is_some(), "silence is no answer");
    let back =
        Back {
            notice: String::new(), listing: "Work — x: no password yet".into(), target: "key".into(), done: false
        };
    let stored = Outcome { new_won: false, stored: true };
    assert!(!page_problems(Flow::Onboard, &stored, &back).is_empty(), "a stored password listed as none is caught");
    scene.app.stop().await;
}
