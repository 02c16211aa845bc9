//! Key sessions through the relay: the test plays the page (forwarding frames over the
//! WebSocket) and the key (the reference key); the server speaks the protocol end to end with
//! the key and changes passwords in the real directory.

use latchkey_api::registry::StatusReason;
use latchkey_api::relay::{ProgressStep, RelayEvent, RelayRequest};
use latchkey_protocol::message::KeyStatus;
use latchkey_server::store::AuditSearch;
use latchkey_tests::app::error_code;
use latchkey_tests::dc_proxy::DcProxy;
use latchkey_tests::evidence::{BindLog, LockoutEvidence};
use latchkey_tests::keys::{self, key_password, new_key, password, provision, session_cookie, RelayPage};
use latchkey_tests::secrets;
use latchkey_tests::{spawn_app, AppOptions, TestApp, TestDc, TestUser, UserOptions};

pub(crate) const ACCOUNT: u16 = 1;

pub(crate) async fn ready(page: &mut RelayPage, key: &mut keysim::SimKey) -> Vec<latchkey_api::relay::KeyAccount> {
    match page.connect(key).await {
        RelayEvent::Ready { accounts, .. } => accounts,
        other => panic!("not ready: {other:?}"),
    }
}

/// A user with an activated key holding their account (no password yet), and a session.
pub(crate) async fn user_with_key(dc: &TestDc, app: &TestApp, serial: &str) -> (TestUser, keysim::SimKey, String) {
    let user = dc.create_user(UserOptions::default()).await;
    let (mut key, made) = new_key(serial);
    let code = provision(app, &user, &made).await;
    let cookie = session_cookie(app, &user).await;
    let mut page = RelayPage::open(app, Some(&cookie)).await;
    assert!(matches!(page.connect(&mut key).await, RelayEvent::NeedsActivation { remaining: None, .. }));
    let accounts = match page.send(&mut key, RelayRequest::Activate { code }).await {
        RelayEvent::Ready { accounts, .. } => accounts,
        other => panic!("activation failed: {other:?}"),
    };
    assert_eq!(accounts.len(), 1);
    assert!(accounts[0].directory_managed && !accounts[0].has_password);
    page.close().await;
    (user, key, cookie)
}

pub(crate) async fn onboard(app: &TestApp, user: &TestUser, key: &mut keysim::SimKey, cookie: &str) {
    let mut page = RelayPage::open(app, Some(cookie)).await;
    ready(&mut page, key).await;
    let event = page.send(key, RelayRequest::Onboard { account: ACCOUNT, password: password(&user.password) }).await;
    assert!(matches!(event, RelayEvent::Done { .. }), "{event:?}");
    page.close().await;
}

#[tokio::test]
async fn onboarding_verifies_the_password_before_the_key_stores_it() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-ONBOARD").await;
    assert_eq!(app.state.store.key_by_serial("LK-ONBOARD").await.unwrap().unwrap().status.label(), "active");

    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut page, &mut key).await;
    let wrong =
        page.send(&mut key, RelayRequest::Onboard { account: ACCOUNT, password: password("Not-It-123!") }).await;
    assert!(matches!(&wrong, RelayEvent::Refused { code, .. } if code == "wrong_password"), "{wrong:?}");
    assert_eq!(key_password(&key, ACCOUNT), None, "nothing stored after a wrong password");

    let done =
        page.send(&mut key, RelayRequest::Onboard { account: ACCOUNT, password: password(&user.password) }).await;
    let RelayEvent::Done { accounts, .. } = done else { panic!("{done:?}") };
    assert!(accounts[0].has_password);
    assert_eq!(page.steps, [ProgressStep::Verifying, ProgressStep::Storing]);
    let held = key_password(&key, ACCOUNT).unwrap();
    assert!(dc.binds(&user.dn, &held).await, "the key's password binds");
}

#[tokio::test]
async fn a_change_on_the_key_only_needs_confirmation_when_the_directory_disagrees() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-KEYONLY").await;
    onboard(&app, &user, &mut key, &cookie).await;
    let last_set = dc.read(&user.dn, "pwdLastSet").await;

    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut page, &mut key).await;
    let other = "Typed-Elsewhere-77";
    let request = |confirm| RelayRequest::ChangeOnKey {
        account: ACCOUNT,
        password: password(other),
        confirm_unverified: confirm,
    };
    let refused = page.send(&mut key, request(false)).await;
    assert!(matches!(&refused, RelayEvent::Refused { code, .. } if code == "unverified"), "{refused:?}");
    assert_eq!(key_password(&key, ACCOUNT).as_deref(), Some(user.password.as_str()), "unchanged until confirmed");

    let done = page.send(&mut key, request(true)).await;
    assert!(matches!(done, RelayEvent::Done { .. }), "{done:?}");
    assert_eq!(key_password(&key, ACCOUNT).as_deref(), Some(other));
    assert_eq!(dc.read(&user.dn, "pwdLastSet").await, last_set, "the directory is untouched");
    assert!(dc.binds(&user.dn, &user.password).await);
}

#[tokio::test]
async fn a_change_in_the_directory_and_on_the_key_typed_then_generated() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-BOTH").await;
    onboard(&app, &user, &mut key, &cookie).await;

    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut page, &mut key).await;
    // The policy is checked before anything happens.
    let weak = page
        .send(&mut key, RelayRequest::ChangeEverywhere { account: ACCOUNT, password: Some(password("weak")) })
        .await;
    assert!(matches!(&weak, RelayEvent::Refused { code, .. } if code == "policy_violation"), "{weak:?}");

    let typed = "Orbit-Lantern-4471";
    let done =
        page.send(&mut key, RelayRequest::ChangeEverywhere { account: ACCOUNT, password: Some(password(typed)) }).await;
    assert!(matches!(done, RelayEvent::Done { .. }), "{done:?}");
    assert_eq!(page.steps, [ProgressStep::ConfirmOnKey, ProgressStep::Directory, ProgressStep::Committing]);
    assert_eq!(key_password(&key, ACCOUNT).as_deref(), Some(typed));
    assert!(dc.binds(&user.dn, typed).await);

    let done = page.send(&mut key, RelayRequest::ChangeEverywhere { account: ACCOUNT, password: None }).await;
    let RelayEvent::Done { message, .. } = &done else { panic!("{done:?}") };
    assert!(!message.contains(typed));
    let generated = key_password(&key, ACCOUNT).unwrap();
    assert_ne!(generated, typed);
    assert!(generated.chars().count() >= 24);
    assert!(dc.binds(&user.dn, &generated).await, "the generated password binds");
    assert!(!dc.binds(&user.dn, typed).await);
    // Neither password is anywhere but on the key and in the directory: not in what the page
    // was sent, the store or the server's log.
    let mut places = app.stored_bytes();
    places.push(secrets::server_log());
    places
        .push(secrets::Snapshot { place: "the page's events".into(), bytes: page.transcript.join("\n").into_bytes() });
    assert!(secrets::found_in(&user.sam, &places).contains(&"server log"), "the scan reads the log");
    assert!(page.transcript.iter().any(|e| e.contains("done")), "the page's events were recorded");
    assert_eq!(secrets::found_in(&generated, &places), Vec::<&str>::new(), "the generated password");
    assert_eq!(secrets::found_in(typed, &places), Vec::<&str>::new(), "the typed password");

    // The directory's own refusal (history) leaves the key as it was.
    let reused =
        page.send(&mut key, RelayRequest::ChangeEverywhere { account: ACCOUNT, password: Some(password(typed)) }).await;
    assert!(matches!(&reused, RelayEvent::Refused { code, .. } if code == "in_history"), "{reused:?}");
    assert_eq!(key_password(&key, ACCOUNT).as_deref(), Some(generated.as_str()));
    assert!(key.vault().accounts[0].staged.is_none(), "the refused password was dropped from the key");
    let steps: Vec<_> =
        app.state.store.journal_of(app.state.store.key_by_serial("LK-BOTH").await.unwrap().unwrap().id).await.unwrap();
    assert_eq!(steps.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["committed", "committed", "aborted"]);
}

#[tokio::test]
async fn a_user_who_must_change_onboards_then_changes_everywhere() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-MUSTCHANGE").await;
    dc.set_must_change(&user.dn).await;

    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut page, &mut key).await;
    let onboarded =
        page.send(&mut key, RelayRequest::Onboard { account: ACCOUNT, password: password(&user.password) }).await;
    let RelayEvent::Done { message, .. } = &onboarded else { panic!("{onboarded:?}") };
    assert!(message.contains("requires a new one"), "{message}");

    let changed = page.send(&mut key, RelayRequest::ChangeEverywhere { account: ACCOUNT, password: None }).await;
    assert!(matches!(changed, RelayEvent::Done { .. }), "{changed:?}");
    let held = key_password(&key, ACCOUNT).unwrap();
    assert!(dc.binds(&user.dn, &held).await, "the new password binds: no longer must-change");
    assert!(dc.password_last_set(&user.dn).await > 0, "a password set, not must-change");
}

/// Where a directory + key change is interrupted.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// The link drops at a frame (1–2 handshake, 3 list, 4 read + stage, 5 commit, 6 final list).
    Link(keys::Drop),
    /// The DC becomes unreachable once the key staged, before the server re-reads the account.
    DcGoneAfterStage,
    /// The DC becomes unreachable right before the directory write.
    DcGoneAtWrite,
}

/// Interrupts a directory + key change at every frame (before the key sees it, and after it
/// acted but before its answer arrives) and at the directory's two steps, reconnects, and
/// checks what the DC itself recorded, before any bind of the test's own: no wrong password
/// tried (badPasswordTime unchanged, no refused bind in the DC's log), nobody locked, no bind
/// as the user while reconciling; then the key holds exactly the password that should have
/// won, nothing is staged, and it binds.
#[tokio::test]
async fn an_interrupted_change_at_every_step_leaves_one_password_that_binds_and_locks_no_one() {
    let dc = TestDc::from_env();
    let proxy = DcProxy::start(&dc.url).await;
    let app = spawn_app(&dc, AppOptions { directory_url: Some(proxy.url.clone()), ..AppOptions::default() }).await;
    // One change uninterrupted tells which frame stages and which commits.
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-FAULT-PLAN").await;
    onboard(&app, &user, &mut key, &cookie).await;
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    page.connect(&mut key).await;
    let request = RelayRequest::ChangeEverywhere { account: ACCOUNT, password: Some(password("Fault-Plan-1-Ok")) };
    assert!(matches!(page.send(&mut key, request).await, RelayEvent::Done { .. }));
    let frame_after = |step| page.step_frames.iter().find(|(s, _)| *s == step).map(|(_, f)| f + 1).unwrap();
    let (stage, commit, last) =
        (frame_after(ProgressStep::ConfirmOnKey), frame_after(ProgressStep::Committing), page.frames);
    page.close().await;
    assert!(stage < commit && commit <= last, "stage {stage}, commit {commit}, last {last}");

    let mut faults: Vec<(Fault, bool)> = Vec::new();
    for frame in 1..=last {
        // Once the commit was sent, the journal says the directory took it: the new one wins.
        faults.push((Fault::Link(keys::Drop::Before(frame)), frame >= commit));
        faults.push((Fault::Link(keys::Drop::After(frame)), frame >= commit));
    }
    faults.push((Fault::DcGoneAfterStage, false));
    faults.push((Fault::DcGoneAtWrite, false));

    let (mut lockouts, mut wrong_binds, mut reconciling_binds, mut inside_change) = (0, 0, 0, 0);
    for (n, (fault, new_wins)) in faults.iter().copied().enumerate() {
        let serial = format!("LK-FAULT-{n}");
        let (user, mut key, cookie) = user_with_key(&dc, &app, &serial).await;
        onboard(&app, &user, &mut key, &cookie).await;
        let new = format!("Fault-Point-{n}-Ok");
        let before = LockoutEvidence::read(&dc, &user.dn).await;
        let binds = BindLog::mark(&dc);

        let mut page = RelayPage::open(&app, Some(&cookie)).await;
        match fault {
            Fault::Link(drop) => page.drop_at = Some(drop),
            Fault::DcGoneAfterStage => page.on_answer = Some((stage, Box::new(proxy.cutter()))),
            Fault::DcGoneAtWrite => page.on_step = Some((ProgressStep::Directory, Box::new(proxy.cutter()))),
        }
        let mut outcome = None;
        if let RelayEvent::Ready { .. } = page.connect(&mut key).await {
            let request = RelayRequest::ChangeEverywhere { account: ACCOUNT, password: Some(password(&new)) };
            outcome = Some(page.send(&mut key, request).await);
        }
        let reached = match fault {
            Fault::Link(_) => page.dropped,
            _ => page.on_answer.is_none() && page.on_step.is_none(),
        };
        assert!(reached, "{fault:?} was reached");
        if !matches!(fault, Fault::Link(_)) {
            // The page is told the change did not happen, in the API's words.
            let told = match &outcome {
                Some(RelayEvent::Failed { code, message } | RelayEvent::Refused { code, message }) => (code, message),
                other => panic!("{fault:?}: {other:?}"),
            };
            println!("{fault:?}: told {told:?}");
            // Before the write nothing changed; at the write, whether the DC took it is unknown.
            let expected =
                if matches!(fault, Fault::DcGoneAtWrite) { "change_unsettled" } else { "directory_unavailable" };
            assert_eq!(told.0, expected, "{fault:?}");
            if matches!(fault, Fault::DcGoneAtWrite) {
                // Unsettled: the session ends, so nothing else touches the staged password.
                let next =
                    page.send(&mut key, RelayRequest::ChangeEverywhere { account: ACCOUNT, password: None }).await;
                assert!(matches!(&next, RelayEvent::Failed { code, .. } if code == "link_lost"), "{fault:?}: {next:?}");
            }
        }
        // A fault after the key staged and before its commit interrupts the change itself.
        let inside = match fault {
            Fault::Link(keys::Drop::After(f)) => f == stage || f == commit,
            Fault::Link(keys::Drop::Before(f)) => f == commit,
            _ => true,
        };
        if inside {
            inside_change += 1;
        }
        settle(&app, &serial).await;
        page.close().await;
        proxy.restore();

        let reconnecting = BindLog::mark(&dc);
        let mut page = RelayPage::open(&app, Some(&cookie)).await;
        let event = page.connect(&mut key).await;
        page.close().await;
        let RelayEvent::Ready { notice, .. } = &event else { panic!("{fault:?}: {event:?}") };
        if matches!(fault, Fault::DcGoneAtWrite) {
            // Staged, the write's fate unknown, pwdLastSet unmoved: reconciliation undoes it.
            assert!(notice.as_deref().is_some_and(|n| n.contains("undone")), "{fault:?}: {notice:?}");
        }

        // The DC's own record first: nothing of the test's has touched it yet.
        let after = LockoutEvidence::read(&dc, &user.dn).await;
        assert_eq!(after.bad_password_time, before.bad_password_time, "{fault:?}: no wrong password was tried");
        assert_eq!((after.bad_pwd_count, after.lockout_time), (0, 0), "{fault:?}");
        lockouts += usize::from(after.lockout_time != 0);
        let refused: Vec<_> =
            binds.of(&dc, &user.sam).await.into_iter().filter(|b| b.status != "NT_STATUS_OK").collect();
        assert!(refused.is_empty(), "{fault:?}: refused binds {refused:?}");
        wrong_binds += refused.len();
        let while_reconciling = reconnecting.of(&dc, &user.sam).await;
        assert!(while_reconciling.is_empty(), "{fault:?}: reconciliation bound as the user: {while_reconciling:?}");
        reconciling_binds += while_reconciling.len();

        let held = key_password(&key, ACCOUNT).unwrap();
        let expected = if new_wins { &new } else { &user.password };
        assert_eq!(&held, expected, "{fault:?}: the key holds the password that won");
        assert!(key.vault().accounts[0].staged.is_none(), "{fault:?}: nothing left staged");
        let journal = app.state.store.journal_of(app.state.store.key_by_serial(&serial).await.unwrap().unwrap().id);
        assert!(
            journal.await.unwrap().iter().all(|(step, _)| step == "committed" || step == "aborted"),
            "{fault:?}: the journal is settled"
        );
        assert!(dc.binds(&user.dn, &held).await, "{fault:?}: the key's password binds");
    }

    // The evidence can fail: one wrong password shows in both records.
    let control = dc.create_user(UserOptions::default()).await;
    let before = LockoutEvidence::read(&dc, &control.dn).await;
    let binds = BindLog::mark(&dc);
    assert!(!dc.binds(&control.dn, "Not-The-Password-1").await);
    assert_ne!(LockoutEvidence::read(&dc, &control.dn).await.bad_password_time, before.bad_password_time);
    assert_eq!(binds.of(&dc, &control.sam).await.len(), 1, "the wrong bind is in the DC's log");

    println!(
        "fault points tested: {} ({inside_change} inside the change), lockouts: {lockouts}, \
         wrong-password binds: {wrong_binds}, binds while reconciling: {reconciling_binds}",
        faults.len()
    );
    assert!(inside_change >= 5, "the change itself is interrupted at every step");
    assert_eq!((lockouts, wrong_binds, reconciling_binds), (0, 0, 0));
}

/// Waits until no session holds the key (the server noticed the lost link and audited it).
async fn settle(app: &TestApp, serial: &str) {
    for _ in 0..200 {
        let audit = app.state.store.audit_of(serial).await.unwrap();
        if audit.last().is_some_and(|e| e.action == "key_session" || e.action.starts_with("key_change")) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the session of {serial} never ended");
}

#[tokio::test]
async fn signing_in_with_the_key_takes_a_press_and_gives_a_session() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (user, mut key, _) = user_with_key(&dc, &app, "LK-SIGNIN").await;

    let mut page = RelayPage::open(&app, None).await;
    ready(&mut page, &mut key).await;
    let onboarding =
        page.send(&mut key, RelayRequest::Onboard { account: ACCOUNT, password: password(&user.password) }).await;
    assert!(matches!(&onboarding, RelayEvent::Refused { code, .. } if code == "unauthenticated"), "{onboarding:?}");

    key.set_presence(keysim::Presence::NeverConfirm);
    let denied = page.send(&mut key, RelayRequest::SignIn).await;
    assert!(matches!(denied, RelayEvent::Refused { .. }), "{denied:?}");
    key.set_presence(keysim::Presence::AlwaysConfirm);
    let RelayEvent::SignedIn { ticket } = page.send(&mut key, RelayRequest::SignIn).await else { panic!("no ticket") };

    let client = reqwest::Client::new();
    let redeem = |t: String| {
        client.post(format!("{}/api/session/key", app.url)).json(&serde_json::json!({ "ticket": t })).send()
    };
    let response = redeem(ticket.clone()).await.unwrap();
    assert!(response.status().is_success());
    let view: latchkey_api::SessionView = response.json().await.unwrap();
    assert_eq!(view.username, user.sam);
    assert_eq!(redeem(ticket).await.unwrap().status(), 401, "a ticket is good once");
}

#[tokio::test]
async fn three_wrong_activation_codes_lock_the_key() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let user = dc.create_user(UserOptions::default()).await;
    let (mut key, made) = new_key("LK-WRONGCODE");
    let code = provision(&app, &user, &made).await;
    let cookie = session_cookie(&app, &user).await;
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    assert!(matches!(page.connect(&mut key).await, RelayEvent::NeedsActivation { .. }));
    let wrong = || RelayRequest::Activate { code: "00000000".into() };
    assert_ne!(code, "00000000");
    assert!(matches!(page.send(&mut key, wrong()).await, RelayEvent::NeedsActivation { remaining: Some(2), .. }));
    assert!(matches!(page.send(&mut key, wrong()).await, RelayEvent::NeedsActivation { remaining: Some(1), .. }));
    let locked = page.send(&mut key, wrong()).await;
    assert!(matches!(&locked, RelayEvent::Failed { code, .. } if code == "key_locked"), "{locked:?}");
    let row = app.state.store.key_by_serial("LK-WRONGCODE").await.unwrap().unwrap();
    assert_eq!((row.status.label(), row.status_reason), ("locked", Some(StatusReason::InvalidActivationCode)));

    // Even the right code is refused now, and the refusal names the status.
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let again = page.connect(&mut key).await;
    assert!(
        matches!(&again, RelayEvent::Failed { code, message } if code == "key_status" && message.contains("locked")),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_factory_reset_does_not_give_back_the_activation_tries_the_registry_counted() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let user = dc.create_user(UserOptions::default()).await;
    let (mut key, made) = new_key("LK-RESETTRIES");
    let code = provision(&app, &user, &made).await;
    let cookie = session_cookie(&app, &user).await;
    let wrong = || RelayRequest::Activate { code: "00000000".into() };
    assert_ne!(code, "00000000");
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    assert!(matches!(page.connect(&mut key).await, RelayEvent::NeedsActivation { .. }));
    assert!(matches!(page.send(&mut key, wrong()).await, RelayEvent::NeedsActivation { remaining: Some(2), .. }));
    assert!(matches!(page.send(&mut key, wrong()).await, RelayEvent::NeedsActivation { remaining: Some(1), .. }));
    page.close().await;

    // The same key, reset to factory state: its own count is back to three, the registry's is not.
    let (mut reset, _) = new_key("LK-RESETTRIES");
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let asked = page.connect(&mut reset).await;
    assert!(matches!(asked, RelayEvent::NeedsActivation { .. }), "{asked:?}");
    let locked = page.send(&mut reset, wrong()).await;
    assert!(matches!(&locked, RelayEvent::Failed { code, .. } if code == "key_locked"), "{locked:?}");
    let row = app.state.store.key_by_serial("LK-RESETTRIES").await.unwrap().unwrap();
    assert_eq!(row.status.label(), "locked");
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let refused = page.connect(&mut reset).await;
    assert!(
        matches!(&refused, RelayEvent::Failed { code, .. } if code == "key_status"),
        "even the right code: {refused:?}"
    );
}

#[tokio::test]
async fn keys_in_refused_statuses_are_told_and_refused() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    for (status, key_ends) in [
        ("locked", KeyStatus::Locked),
        ("suspended", KeyStatus::Suspended),
        ("deactivated", KeyStatus::Deactivated),
        ("compromised", KeyStatus::Deactivated),
    ] {
        let serial = format!("LK-ST-{status}");
        let (user, mut key, cookie) = user_with_key(&dc, &app, &serial).await;
        onboard(&app, &user, &mut key, &cookie).await;
        let row = app.state.store.key_by_serial(&serial).await.unwrap().unwrap();
        let registry = latchkey_api::registry::KeyStatus::parse(status).unwrap();
        app.state.store.set_key_status(row.id, registry, Some(StatusReason::Lost)).await.unwrap();
        let mut page = RelayPage::open(&app, Some(&cookie)).await;
        let event = page.connect(&mut key).await;
        assert!(
            matches!(&event, RelayEvent::Failed { code, message } if code == "key_status" && message.contains(status)),
            "{status}: {event:?}"
        );
        assert_eq!(key.vault().status, key_ends, "{status}: applied on the key");
        if key_ends == KeyStatus::Deactivated {
            assert!(key.vault().accounts.is_empty(), "a deactivated key is wiped");
        }
    }

    // A key that is not assigned, and someone else's key.
    let (mut spare, made) = new_key("LK-SPARE");
    app.state.store.register_key(&made.serial, &made.public_key, &made.activation_code, 0).await.unwrap();
    let stranger = dc.create_user(UserOptions::default()).await;
    let cookie = session_cookie(&app, &stranger).await;
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let event = page.connect(&mut spare).await;
    assert!(matches!(&event, RelayEvent::Failed { code, .. } if code == "key_unassigned"), "{event:?}");
    let (_, mut owned, _) = user_with_key(&dc, &app, "LK-OWNED").await;
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let event = page.connect(&mut owned).await;
    assert!(matches!(&event, RelayEvent::Failed { code, .. } if code == "not_your_key"), "{event:?}");
}

#[tokio::test]
async fn unregistered_or_impostor_keys_are_refused() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let user = dc.create_user(UserOptions::default()).await;
    let cookie = session_cookie(&app, &user).await;

    let (mut stranger, _) = new_key("LK-STRANGER");
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let event = page.connect(&mut stranger).await;
    assert!(matches!(&event, RelayEvent::Failed { code, .. } if code == "unregistered_key"), "{event:?}");

    // Registered under this serial with another public key: an impostor.
    let (mut impostor, _) = keysim::SimKey::manufacture("LK-TWIN", [9; 32], Default::default(), [8; 32]).unwrap();
    let (_, genuine) =
        keysim::SimKey::<keysim::storage::MemoryFlash>::manufacture("LK-TWIN", [10; 32], Default::default(), [8; 32])
            .unwrap();
    app.state.store.register_key(&genuine.serial, &genuine.public_key, &genuine.activation_code, 0).await.unwrap();
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let event = page.connect(&mut impostor).await;
    assert!(matches!(&event, RelayEvent::Failed { code, .. } if code == "key_mismatch"), "{event:?}");

    let mut result = None;
    for _ in 0..40 {
        result = app.state.store.audit_of("LK-TWIN").await.unwrap().last().map(|e| e.result.clone());
        if result.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(result.as_deref(), Some("key_mismatch"));
}

#[tokio::test]
async fn the_relay_refuses_other_origins() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{}/api/key/relay", app.addr).into_client_request().unwrap();
    request.headers_mut().insert("origin", "https://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(request).await.map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("403"), "{err}");
}

#[tokio::test]
async fn a_sniffed_beacon_does_not_hold_the_keys_session_slot() {
    use futures::{FutureExt, SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (_user, mut key, cookie) = user_with_key(&dc, &app, "LK-SNIFFED").await;

    // A stranger replays the key's beacon and never answers the handshake.
    let beacon = hex::encode(key.beacon());
    let (mut squatter, _) = tokio_tungstenite::connect_async(format!("ws://{}/api/key/relay", app.addr)).await.unwrap();
    let request = serde_json::to_string(&RelayRequest::Beacon { beacon }).unwrap();
    squatter.send(Message::Text(request.into())).await.unwrap();
    let first = squatter.next().await.unwrap().unwrap();
    assert!(matches!(first, Message::Binary(_)), "the server started a handshake: {first:?}");

    // The owner connects at once, while the stranger's handshake is still waiting.
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let ready = page.connect(&mut key).await;
    assert!(matches!(ready, RelayEvent::Ready { .. }), "{ready:?}");
    while let Some(Some(Ok(message))) = squatter.next().now_or_never() {
        assert!(!matches!(message, Message::Text(_)), "the stranger's attempt had to end first: {message:?}");
    }
}

#[tokio::test]
async fn a_change_everywhere_reaches_the_users_other_keys_sealed_and_only_directory_accounts_change() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let user = dc.create_user(UserOptions::default()).await;
    let store = &app.state.store;
    let found = app.state.directory().unwrap().find_user(&user.sam).await.unwrap().unwrap();
    let employee = latchkey_server::store::NewEmployee {
        object_guid: &found.object_guid,
        username: &user.sam,
        display_name: &user.display_name,
    };
    let mut keys = Vec::new();
    for serial in ["LK-TWO-A", "LK-TWO-B"] {
        let (key, made) = new_key(serial);
        store.register_key(&made.serial, &made.public_key, &made.activation_code, 0).await.unwrap();
        let code = store.assign_key(serial, &employee, 0).await.unwrap();
        keys.push((key, code));
    }
    assert_eq!(store.add_domain_account(&user.sam, "EXAMPLE", "Domain", 0).await.unwrap(), ["LK-TWO-A", "LK-TWO-B"]);
    let entra = latchkey_server::store::AccountLogin::Entra { upn: "someone@example.onmicrosoft.com" };
    store.add_account(&user.sam, entra, "Entra ID", 0).await.unwrap();
    let cookie = session_cookie(&app, &user).await;
    for (key, code) in keys.iter_mut() {
        let mut page = RelayPage::open(&app, Some(&cookie)).await;
        page.connect(key).await;
        assert!(matches!(
            page.send(key, RelayRequest::Activate { code: code.clone() }).await,
            RelayEvent::Ready { .. }
        ));
        page.close().await;
        onboard(&app, &user, key, &cookie).await;
    }
    let (mut a, mut b) = {
        let mut it = keys.into_iter().map(|(k, _)| k);
        (it.next().unwrap(), it.next().unwrap())
    };

    // The Entra account is not the directory's: no change everywhere on it.
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut page, &mut a).await;
    let refused = page.send(&mut a, RelayRequest::ChangeEverywhere { account: 2, password: None }).await;
    let code = match &refused {
        RelayEvent::Refused { code, .. } | RelayEvent::Failed { code, .. } => code.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(code, "not_directory_managed");
    assert!(dc.binds(&user.dn, &user.password).await, "nothing changed");

    // The domain account: changed in the directory and on A; B gets it sealed.
    let done = page.send(&mut a, RelayRequest::ChangeEverywhere { account: ACCOUNT, password: None }).await;
    let RelayEvent::Done { message, .. } = &done else { panic!("{done:?}") };
    assert!(message.contains("LK-TWO-B"), "{message}");
    page.close().await;
    let new = key_password(&a, ACCOUNT).unwrap();
    assert_ne!(key_password(&b, ACCOUNT).unwrap(), new, "B still holds the old one until it connects");
    let mut page = RelayPage::open(&app, None).await;
    ready(&mut page, &mut b).await;
    page.close().await;
    assert_eq!(key_password(&b, ACCOUNT).unwrap(), new, "B took the sealed password");
    assert!(dc.binds(&user.dn, &new).await);

    // A change on the password page reaches both keys the same way.
    let mut client = app.another_client();
    assert_eq!(client.sign_in(&user.sam, &new).await.status(), 200);
    let typed = "Quartz-Meadow-8812";
    assert_eq!(client.change(&new, typed).await.status(), 200);
    for key in [&mut a, &mut b] {
        let mut page = RelayPage::open(&app, None).await;
        ready(&mut page, key).await;
        page.close().await;
        assert_eq!(key_password(key, ACCOUNT).as_deref(), Some(typed));
    }
}

#[tokio::test]
async fn a_beacon_with_a_forged_serial_or_an_oversized_message_writes_nothing() {
    use futures::{SinkExt, StreamExt};
    use latchkey_protocol::message::{self, Beacon};
    use tokio_tungstenite::tungstenite::Message;
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (mut key, _) = new_key("LK-FORGED");
    let mut beacon: Beacon = message::decode(&key.beacon()).unwrap();
    let forged = format!("LK-{}\n<script>", "X".repeat(4096));
    beacon.serial = forged.clone();
    let url = format!("ws://{}/api/key/relay", app.addr);

    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let request = RelayRequest::Beacon { beacon: hex::encode(message::encode(&beacon)) };
    socket.send(Message::Text(serde_json::to_string(&request).unwrap().into())).await.unwrap();
    let answer = socket.next().await.unwrap().unwrap();
    let event: RelayEvent = serde_json::from_str(answer.to_text().unwrap()).unwrap();
    assert!(matches!(&event, RelayEvent::Failed { code, .. } if code == "relay_protocol"), "{event:?}");
    let audit = app.state.store.search_audit(&AuditSearch { target: "LK-", ..Default::default() }, 100).await.unwrap();
    assert!(audit.iter().all(|e| !e.target.contains("<script>") && e.target.len() <= 257), "{audit:?}");

    // A message over the relay's size limit is never read: the session just ends. One under the
    // limit but too long for a beacon is read, and refused for its length.
    let failure_for = |hex_len: usize| {
        let url = url.clone();
        async move {
            let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
            let request = RelayRequest::Beacon { beacon: "ab".repeat(hex_len / 2) };
            let _ = socket.send(Message::Text(serde_json::to_string(&request).unwrap().into())).await;
            match socket.next().await {
                Some(Ok(Message::Text(text))) => text.to_string(),
                other => format!("{other:?}"),
            }
        }
    };
    let oversized = failure_for(1 << 20).await;
    assert!(!oversized.contains("too long"), "a 1 MiB message was read: {oversized}");
    let long = failure_for(8 * 1024).await;
    assert!(long.contains("too long"), "{long}");

    // Positive control: the same key's own beacon is read (and refused only as unregistered).
    let mut page = RelayPage::open(&app, None).await;
    let unregistered = page.connect(&mut key).await;
    assert!(matches!(&unregistered, RelayEvent::Failed { code, .. } if code == "unregistered_key"), "{unregistered:?}");
}

/// One session per key at a time: a second page connecting the same key while the first holds
/// it is told the key is busy; once the first lets go, the second gets it.
#[tokio::test]
async fn a_key_holds_one_session_at_a_time() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (_user, mut key, cookie) = user_with_key(&dc, &app, "LK-ONE-AT-A-TIME").await;
    let mut first = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut first, &mut key).await;

    let mut second = RelayPage::open(&app, Some(&cookie)).await;
    let busy = second.connect(&mut key).await;
    assert!(matches!(&busy, RelayEvent::Failed { code, .. } if code == "key_busy"), "{busy:?}");
    first.close().await;

    let mut third = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut third, &mut key).await;
}

/// The page relays the key's frames but cannot change them: a flipped bit in the key's answer
/// ends the session with a protocol refusal; the same answer untouched is accepted.
#[tokio::test]
async fn a_page_that_alters_the_keys_answer_is_caught_by_the_server() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-TAMPERED").await;
    onboard(&app, &user, &mut key, &cookie).await;
    // Every frame of a connection, the handshake's answer included.
    let mut control = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut control, &mut key).await;
    let frames = control.frames;
    control.close().await;
    for frame in 1..=frames {
        let mut page = RelayPage::open(&app, Some(&cookie)).await;
        page.tamper_at = Some(frame);
        let event = page.connect(&mut key).await;
        let refused =
            matches!(&event, RelayEvent::Failed { code, .. } if code == "key_protocol" || code == "key_refused");
        assert!(refused, "frame {frame}: {event:?}");
        page.close().await;
    }
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut page, &mut key).await;
    assert_eq!(key_password(&key, ACCOUNT).as_deref(), Some(user.password.as_str()), "nothing changed on the key");
}

/// A key that stops answering mid-operation: the server gives up on the frame after its five
/// seconds (not the press's longer wait) and says so.
#[tokio::test]
async fn a_key_that_never_answers_times_out() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-SILENT").await;
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut page, &mut key).await;
    page.mute = true;
    let started = std::time::Instant::now();
    let request = RelayRequest::Onboard { account: ACCOUNT, password: password(&user.password) };
    let event = tokio::time::timeout(std::time::Duration::from_secs(60), page.send(&mut key, request)).await.unwrap();
    let waited = started.elapsed();
    assert!(matches!(&event, RelayEvent::Failed { code, .. } if code == "key_timeout"), "{event:?}");
    assert!(waited >= std::time::Duration::from_secs(5) && waited < std::time::Duration::from_secs(30), "{waited:?}");
    page.close().await;
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut page, &mut key).await;
}

/// Round trips as the page relays them (each frame from the server is one exchange with the
/// key): onboarding takes one, a change in the directory and on the key two, a sealed delivery
/// one, each bringing the key's new listing back with its last write. The handshake is apart.
#[tokio::test]
async fn each_flow_takes_the_round_trips_the_protocol_promises() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-TRIPS").await;
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let accounts = ready(&mut page, &mut key).await;
    assert!(!accounts[0].has_password);

    let before = page.frames;
    let onboarded =
        page.send(&mut key, RelayRequest::Onboard { account: ACCOUNT, password: password(&user.password) }).await;
    let RelayEvent::Done { accounts, .. } = &onboarded else { panic!("{onboarded:?}") };
    assert!(accounts[0].has_password, "the listing that came back shows the stored password");
    assert_eq!(page.frames - before, 1, "onboarding: one round trip");

    let before = page.frames;
    let changed = page.send(&mut key, RelayRequest::ChangeEverywhere { account: ACCOUNT, password: None }).await;
    assert!(matches!(changed, RelayEvent::Done { .. }), "{changed:?}");
    assert_eq!(page.frames - before, 2, "a change in the directory and on the key: two round trips");
    page.close().await;
    let changed_to = key_password(&key, ACCOUNT).unwrap();
    assert!(dc.binds(&user.dn, &changed_to).await);

    // A connection with nothing waiting, then one with a password sealed to the key (as an
    // administrator's reset queues it): the delivery adds one round trip.
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    ready(&mut page, &mut key).await;
    let plain_connection = page.frames;
    page.close().await;
    let employee = app.state.store.employee_named(&user.sam).await.unwrap().unwrap();
    let sealed = latchkey_protocol::message::Secret::new("Sealed-For-Trips-1");
    let staging =
        latchkey_server::store::Staging { user_dn: user.dn.clone(), baseline: 0, by_reset: true, audit_action: None };
    let staged = latchkey_server::service::deliveries::stage_to_keys(&app.state, employee.id, &sealed, None, &staging)
        .await
        .unwrap();
    let queued = staged.confirm(&app.state).await.unwrap();
    assert_eq!(queued, ["LK-TRIPS"]);
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let delivered = ready(&mut page, &mut key).await;
    assert_eq!(page.frames - plain_connection, 1, "a delivery: one round trip");
    assert!(delivered[0].has_password);
    page.close().await;
    assert_eq!(key_password(&key, ACCOUNT).as_deref(), Some("Sealed-For-Trips-1"), "the key took it");
}

/// The beacon's first byte is the newest protocol version the key speaks: a key of version 0 is
/// refused before any handshake; one of a later version is served (in version 1's commands).
#[tokio::test]
async fn keys_speaking_an_older_protocol_are_refused_and_newer_ones_served() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (_user, mut key, cookie) = user_with_key(&dc, &app, "LK-VERSIONS").await;
    let with_version = |key: &keysim::SimKey, version: u8| {
        let mut beacon = key.beacon();
        assert_eq!(beacon[0], 1, "the reference key speaks version 1");
        beacon[0] = version;
        RelayRequest::Beacon { beacon: hex::encode(beacon) }
    };
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    key.disconnect();
    let request = with_version(&key, 0);
    let old = page.send(&mut key, request).await;
    let (RelayEvent::Failed { code, message } | RelayEvent::Refused { code, message }) = &old else {
        panic!("{old:?}")
    };
    assert_eq!(code, "key_protocol", "{message}");
    assert!(message.contains("version 0"), "{message}");
    assert_eq!(page.frames, 0, "nothing was sent to it");
    page.close().await;

    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    key.disconnect();
    let request = with_version(&key, 2);
    let newer = page.send(&mut key, request).await;
    assert!(matches!(newer, RelayEvent::Ready { .. }), "a later version is served: {newer:?}");
    page.close().await;
}

/// Deliveries waiting for a key are sent in as many requests as a frame's limit needs: a
/// password of 256 four-byte characters sealed to five accounts on one key (over 5 KB
/// together) reaches all five.
#[tokio::test]
async fn many_long_sealed_passwords_reach_the_key_in_frames_that_fit() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-MANY-SEALED").await;
    let store = &app.state.store;
    for domain in ["EXA", "EXB", "EXC", "EXD"] {
        store.add_domain_account(&user.sam, domain, &format!("Domain {domain}"), 0).await.unwrap();
    }
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    assert_eq!(ready(&mut page, &mut key).await.len(), 5, "the key holds the five accounts");
    page.close().await;
    let employee = store.employee_named(&user.sam).await.unwrap().unwrap();
    let long = format!("L{}", "𝔘".repeat(255));
    let sealed = latchkey_protocol::message::Secret::new(long.as_str());
    let staging =
        latchkey_server::store::Staging { user_dn: user.dn.clone(), baseline: 0, by_reset: true, audit_action: None };
    let staged = latchkey_server::service::deliveries::stage_to_keys(&app.state, employee.id, &sealed, None, &staging)
        .await
        .unwrap();
    let queued = staged.confirm(&app.state).await.unwrap();
    assert_eq!(queued, ["LK-MANY-SEALED"]);
    let key_id = store.key_by_serial("LK-MANY-SEALED").await.unwrap().unwrap().id;
    assert_eq!(store.pending_deliveries(key_id).await.unwrap().len(), 5);
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let accounts = ready(&mut page, &mut key).await;
    page.close().await;
    assert!(accounts.iter().all(|a| a.has_password), "{accounts:?}");
    for account in accounts {
        assert_eq!(key_password(&key, account.id).as_deref(), Some(long.as_str()), "account {}", account.id);
    }
    assert!(store.pending_deliveries(key_id).await.unwrap().is_empty(), "all five were taken");
}

/// Another system's account on the key (here Entra ID): the domain password is never stored in
/// it by onboarding, and a password stored in it is never tried against the directory (a wrong
/// one would count against the user's domain account). A directory account beside it is the
/// positive control.
#[tokio::test]
async fn another_systems_account_never_receives_or_tests_the_domain_password() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-OTHER-SYS").await;
    let entra = latchkey_server::store::AccountLogin::Entra { upn: "zoë@example.onmicrosoft.com" };
    app.state.store.add_account(&user.sam, entra, "Entra ID", 0).await.unwrap();
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let accounts = ready(&mut page, &mut key).await;
    let other = accounts.iter().find(|a| !a.directory_managed).expect("the Entra account").id;

    let refused =
        page.send(&mut key, RelayRequest::Onboard { account: other, password: password(&user.password) }).await;
    assert!(matches!(&refused, RelayEvent::Refused { code, .. } if code == "not_directory_managed"), "{refused:?}");
    assert_eq!(key_password(&key, other), None, "the domain password is not in the other slot");

    let before = LockoutEvidence::read(&dc, &user.dn).await;
    let stored = page
        .send(
            &mut key,
            RelayRequest::ChangeOnKey {
                account: other,
                password: password("Entra-Only-Pass-1"),
                confirm_unverified: false,
            },
        )
        .await;
    assert!(matches!(stored, RelayEvent::Done { .. }), "{stored:?}");
    let after = LockoutEvidence::read(&dc, &user.dn).await;
    assert_eq!(after.bad_pwd_count, before.bad_pwd_count, "nothing was tried against the directory");
    assert_eq!(key_password(&key, other).as_deref(), Some("Entra-Only-Pass-1"));

    // The directory's own account still onboards, verified.
    let done =
        page.send(&mut key, RelayRequest::Onboard { account: ACCOUNT, password: password(&user.password) }).await;
    assert!(matches!(done, RelayEvent::Done { .. }), "{done:?}");
    page.close().await;
}

/// While another replica checks and stages a write of the same account (it holds the account's
/// write lease), a change is refused as in progress and nothing reaches the directory; once
/// the lease is given back the change goes through.
#[tokio::test]
async fn a_second_writer_of_one_account_waits_for_the_first_to_stage() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-WRITER-1").await;
    onboard(&app, &user, &mut key, &cookie).await;
    let mut client = app.another_client();
    client.sign_in(&user.sam, &user.password).await;
    let now = latchkey_tests::now() as i64;
    let store = &app.state.store;
    assert!(store.take_write_lease(&user.dn.to_uppercase(), "other-replica", now, now + 60).await.unwrap());
    let (status, body) = error_code(client.change(&user.password, "Second-Writer-4410-Ok").await).await;
    assert_eq!((status, body["code"].as_str()), (reqwest::StatusCode::CONFLICT, Some("change_in_progress")));
    assert!(dc.binds(&user.dn, &user.password).await, "nothing was written");

    store.release_write_lease(&user.dn, "other-replica").await.unwrap();
    assert_eq!(client.change(&user.password, "Second-Writer-4410-Ok").await.status(), reqwest::StatusCode::OK);
    assert!(dc.binds(&user.dn, "Second-Writer-4410-Ok").await);
}

/// A password the policy refuses stages nothing for the user's keys (no sealing counter
/// taken, no copy kept); an accepted one stages its copy.
#[tokio::test]
async fn a_refused_password_stages_nothing() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let pool = sqlx::AnyPool::connect(&app.state.config.database_url).await.unwrap();
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-REFUSED-1").await;
    onboard(&app, &user, &mut key, &cookie).await;
    let counter = || async {
        let n: i64 = sqlx::query_scalar("SELECT sealed_counter FROM key_accounts").fetch_one(&pool).await.unwrap();
        let copies: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pending_deliveries").fetch_one(&pool).await.unwrap();
        (n, copies)
    };
    let before = counter().await;
    let mut client = app.another_client();
    client.sign_in(&user.sam, &user.password).await;
    let refused = client.change(&user.password, "Password123!").await.status();
    assert_eq!(refused, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "a common password");
    assert_eq!(counter().await, before, "nothing sealed, nothing kept");

    let accepted = client.change(&user.password, "Staged-Refusal-5512-Ok").await.status();
    assert_eq!(accepted, reqwest::StatusCode::OK);
    assert_eq!(counter().await, (before.0 + 1, before.1 + 1), "the accepted one sealed one copy");
}

/// A crash (or a lost database) between the directory write and the confirmation of the keys'
/// sealed copies leaves them staged; the key's next connection settles them by pwdLastSet.
/// Moved since the baseline: delivered, and the key holds the directory's password. Unmoved
/// and past the grace period: dropped, and the key keeps the password that still binds.
/// Unmoved and recent (the write may be in flight): left for the next connection.
#[tokio::test]
async fn staged_deliveries_are_settled_by_pwd_last_set_on_the_next_connection() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let pool = sqlx::AnyPool::connect(&app.state.config.database_url).await.unwrap();
    let (user, mut key, cookie) = user_with_key(&dc, &app, "LK-STAGED-1").await;
    onboard(&app, &user, &mut key, &cookie).await;
    let baseline = dc.password_last_set(&user.dn).await;
    let mut client = app.another_client();
    client.sign_in(&user.sam, &user.password).await;
    let new = "Staged-Settle-7741-Ok";
    assert_eq!(client.change(&user.password, new).await.status(), reqwest::StatusCode::OK);
    // What a crash right after the directory write leaves: the sealed copy still staged.
    let staged = sqlx::query("UPDATE pending_deliveries SET staged_for = $1, staged_baseline = $2")
        .bind(&user.dn)
        .bind(baseline)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(staged.rows_affected(), 1, "the change sealed one copy for the key");

    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let ready = page.connect(&mut key).await;
    let RelayEvent::Ready { notice, .. } = &ready else { panic!("{ready:?}") };
    // The user's own change: the notice does not say an administrator set it.
    assert_eq!(notice.as_deref(), Some("The new password you set is now on the key too."));
    page.close().await;
    assert_eq!(key_password(&key, ACCOUNT).as_deref(), Some(new), "moved: delivered");
    assert!(dc.binds(&user.dn, new).await);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pending_deliveries").fetch_one(&pool).await.unwrap();
    assert_eq!(left, 0);
    let settled = app
        .state
        .store
        .search_audit(&AuditSearch { actions: &["delivery_queued"], result: "reconciled", ..Default::default() }, 10)
        .await
        .unwrap();
    assert_eq!(settled.len(), 1, "the settlement is audited");

    // Unmoved: a staged copy whose write never happened. Recent, it waits; past the grace
    // period, it goes and the key keeps the password that binds.
    let key_id: i64 =
        sqlx::query_scalar("SELECT id FROM keys WHERE serial = $1").bind("LK-STAGED-1").fetch_one(&pool).await.unwrap();
    let now = latchkey_tests::now() as i64;
    let unmoved = dc.password_last_set(&user.dn).await;
    for (counter, created_at) in [(900, now), (901, now - 1_000)] {
        sqlx::query(
            "INSERT INTO pending_deliveries (key_id, slot, counter, encapsulated_key, ciphertext, created_at,
             staged_for, staged_baseline) VALUES ($1, 1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(key_id)
        .bind(counter)
        .bind(vec![7u8; 32])
        .bind(b"never delivered".to_vec())
        .bind(created_at)
        .bind(&user.dn)
        .bind(unmoved)
        .execute(&pool)
        .await
        .unwrap();
    }
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    assert!(matches!(page.connect(&mut key).await, RelayEvent::Ready { .. }));
    page.close().await;
    let waiting: Vec<i64> =
        sqlx::query_scalar("SELECT counter FROM pending_deliveries").fetch_all(&pool).await.unwrap();
    assert_eq!(waiting, [900], "the recent one waits, the old one is gone");
    assert_eq!(key_password(&key, ACCOUNT).as_deref(), Some(new), "the key keeps the password that binds");

    // While it waits, another write of the same password is refused before anything is written:
    // two in flight could land in the other order than they were staged.
    let before = dc.password_last_set(&user.dn).await;
    let refused = client.change(new, "Staged-Second-8852-Ok").await;
    let (status, body) = latchkey_tests::app::error_code(refused).await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("change_in_progress")), "{body}");
    assert_eq!(dc.password_last_set(&user.dn).await, before, "nothing was written");
    // Positive control: settled, the next change goes ahead.
    sqlx::query("DELETE FROM pending_deliveries").execute(&pool).await.unwrap();
    let second = client.change(new, "Staged-Second-8852-Ok").await;
    let (_, body) = latchkey_tests::app::error_code(second).await;
    assert_ne!(body["code"].as_str(), Some("change_in_progress"), "{body}");
    assert!(dc.binds(&user.dn, new).await || dc.binds(&user.dn, "Staged-Second-8852-Ok").await);
}
