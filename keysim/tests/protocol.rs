//! The reference key against the host side of the protocol, over the chunked link.

use std::sync::OnceLock;

use keysim::link::Link;
use keysim::storage::MemoryFlash;
use keysim::{Manufactured, Presence, SimKey};
use latchkey_protocol::crypto::KeyPair;
use latchkey_protocol::host::HostError;
use latchkey_protocol::message::{
    Account, Command, KeyError, KeyStatus, LoginType, Reply, Response, Secret, StatusChange,
};
use latchkey_protocol::sealed;
use proptest::prelude::*;

const STORAGE_KEY: [u8; 32] = [7; 32];
const SERIAL: &str = "LK-TEST-1";

fn new_key() -> (SimKey, Manufactured) {
    SimKey::manufacture(SERIAL, [1; 32], MemoryFlash::default(), STORAGE_KEY).unwrap()
}

fn server() -> KeyPair {
    KeyPair::from_seed([42; 32])
}

fn account(id: u16) -> Account {
    Account {
        id,
        name: "Corporate logon".into(),
        login_type: LoginType::DomainAccount,
        domain: "EXAMPLE".into(),
        login: "jdoe".into(),
        directory_managed: true,
    }
}

fn results(r: Response) -> Vec<Result<Reply, KeyError>> {
    r.results
}

/// A key activated by `server()`, connected, with one account holding `password`.
fn onboarded(password: &str) -> (Link<MemoryFlash>, Manufactured) {
    let (key, made) = new_key();
    let mut link = Link::new(key, 20);
    link.connect(&server(), [2; 32]).unwrap();
    let r = link.call(vec![Command::Activate { code: made.activation_code.clone() }]).unwrap();
    assert_eq!(results(r), vec![Ok(Reply::Done)]);
    let r = link
        .call(vec![
            Command::PutAccount { account: account(1) },
            Command::SetPassword { id: 1, password: Secret::new(password) },
        ])
        .unwrap();
    assert_eq!(results(r), vec![Ok(Reply::Done), Ok(Reply::Done)]);
    (link, made)
}

fn passwords(link: &Link<MemoryFlash>) -> (Option<String>, Option<String>) {
    let a = &link.key.vault().accounts[0];
    (a.current.as_ref().map(|s| s.expose().to_string()), a.staged.as_ref().map(|s| s.expose().to_string()))
}

#[test]
fn activation_with_the_right_code_binds_the_server() {
    let (mut link, _) = onboarded("Old-Pass-1");
    assert_eq!(link.key.vault().status, KeyStatus::Active);
    let r = link.call(vec![Command::ReadPassword { id: 1 }]).unwrap();
    assert_eq!(results(r), vec![Ok(Reply::Passwords { current: Some(Secret::new("Old-Pass-1")), staged: None })]);
}

#[test]
fn three_wrong_codes_lock_the_key() {
    let (key, made) = new_key();
    let mut link = Link::new(key, 20);
    link.connect(&server(), [2; 32]).unwrap();
    let wrong = |n: u8| vec![Err(KeyError::WrongActivationCode { remaining: n })];
    assert_eq!(results(link.call(vec![Command::Activate { code: "00000000".into() }]).unwrap()), wrong(2));
    assert_eq!(results(link.call(vec![Command::Activate { code: "11111111".into() }]).unwrap()), wrong(1));
    assert_eq!(
        results(link.call(vec![Command::Activate { code: "22222222".into() }]).unwrap()),
        vec![Err(KeyError::Locked)]
    );
    assert_eq!(link.key.vault().status, KeyStatus::Locked);
    // Even the right code is refused now, and the lock survives a power cycle.
    assert_eq!(
        results(link.call(vec![Command::Activate { code: made.activation_code.clone() }]).unwrap()),
        vec![Err(KeyError::Locked)]
    );
    let mut key = link.key.power_cycle(STORAGE_KEY, [3; 32]).unwrap();
    assert_eq!(key.vault().status, KeyStatus::Locked);
    // Only the owner's factory reset on the key itself makes it usable again.
    key.factory_reset().unwrap();
    let mut link = Link::new(key, 20);
    link.connect(&server(), [4; 32]).unwrap();
    let r = link.call(vec![Command::Activate { code: made.activation_code }]).unwrap();
    assert_eq!(results(r), vec![Ok(Reply::Done)]);
}

#[test]
fn activation_needs_the_button() {
    let (key, made) = new_key();
    let mut link = Link::new(key, 20);
    link.key.set_presence(Presence::NeverConfirm);
    link.connect(&server(), [2; 32]).unwrap();
    let r = link.call(vec![Command::Activate { code: made.activation_code }]).unwrap();
    assert_eq!(results(r), vec![Err(KeyError::PresenceDenied)]);
    assert_eq!(link.key.vault().status, KeyStatus::Ready);
    assert_eq!(link.key.vault().wrong_codes, 0, "an unconfirmed try costs nothing");
}

#[test]
fn replayed_activation_is_refused_without_state_change() {
    let (key, made) = new_key();
    let mut link = Link::new(key, 20);
    link.connect(&server(), [2; 32]).unwrap();
    let frame = link.prepare(vec![Command::Activate { code: made.activation_code }]).unwrap();
    assert_eq!(results(link.send_frame(&frame).unwrap()), vec![Ok(Reply::Done)]);
    let before = link.key.vault().clone();
    assert_eq!(before.status, KeyStatus::Active);
    // In the same session (nonce already used) and in a new one (other keys).
    assert_eq!(link.send_frame(&frame).unwrap_err(), HostError::Refused(KeyError::Malformed));
    link.connect(&server(), [4; 32]).unwrap();
    assert_eq!(link.send_frame(&frame).unwrap_err(), HostError::Refused(KeyError::Malformed));
    assert_eq!(link.key.vault(), &before);
}

#[test]
fn another_server_is_refused_once_activated() {
    let (mut link, _) = onboarded("Old-Pass-1");
    link.disconnect();
    let intruder = KeyPair::from_seed([66; 32]);
    assert_eq!(link.connect(&intruder, [5; 32]).unwrap_err(), HostError::Refused(KeyError::WrongServer));
    link.connect(&server(), [6; 32]).unwrap();
}

#[test]
fn not_activated_key_accepts_only_info_and_activate() {
    let (key, _) = new_key();
    let mut link = Link::new(key, 20);
    link.connect(&server(), [2; 32]).unwrap();
    let r = results(link.call(vec![Command::Info, Command::ListAccounts]).unwrap());
    assert!(matches!(r[0], Ok(Reply::Info(_))));
    assert_eq!(r[1], Err(KeyError::NotActivated));
}

#[test]
fn statuses_are_enforced_and_deactivation_wipes() {
    let (mut link, _) = onboarded("Old-Pass-1");
    link.call(vec![Command::ApplyStatus { change: StatusChange::Lock }]).unwrap();
    assert_eq!(results(link.call(vec![Command::ListAccounts]).unwrap()), vec![Err(KeyError::Locked)]);
    link.call(vec![Command::ApplyStatus { change: StatusChange::Suspend }]).unwrap();
    assert_eq!(results(link.call(vec![Command::ListAccounts]).unwrap()), vec![Err(KeyError::Suspended)]);
    link.call(vec![Command::ApplyStatus { change: StatusChange::Unlock }]).unwrap();
    assert!(results(link.call(vec![Command::ListAccounts]).unwrap())[0].is_ok());
    link.call(vec![Command::ApplyStatus { change: StatusChange::Deactivate }]).unwrap();
    assert_eq!(link.key.vault().status, KeyStatus::Deactivated);
    assert!(link.key.vault().accounts.is_empty() && link.key.vault().bound_server.is_none());
    assert_eq!(results(link.call(vec![Command::ListAccounts]).unwrap()), vec![Err(KeyError::Deactivated)]);
}

#[test]
fn batch_stops_at_the_first_error() {
    let (mut link, _) = onboarded("Old-Pass-1");
    let r = link
        .call(vec![Command::Commit { id: 9 }, Command::SetPassword { id: 1, password: Secret::new("never-set") }])
        .unwrap();
    assert_eq!(results(r), vec![Err(KeyError::NoSuchAccount)]);
    assert_eq!(passwords(&link).0.as_deref(), Some("Old-Pass-1"));
}

#[test]
fn sealed_delivery_opens_once_for_its_account() {
    let (mut link, made) = onboarded("Old-Pass-1");
    let sealed = sealed::seal(&made.public_key, SERIAL, 1, 1, &Secret::new("Admin-Reset-77"), [8; 32]).unwrap();
    let deliver = Command::DeliverSealed { id: 1, counter: 1, sealed: sealed.clone() };
    assert_eq!(results(link.call(vec![deliver.clone()]).unwrap()), vec![Ok(Reply::Done)]);
    assert_eq!(passwords(&link).0.as_deref(), Some("Admin-Reset-77"));
    assert_eq!(results(link.call(vec![deliver]).unwrap()), vec![Err(KeyError::SealedReplayed)]);
    let other_counter = Command::DeliverSealed { id: 1, counter: 2, sealed };
    assert_eq!(results(link.call(vec![other_counter]).unwrap()), vec![Err(KeyError::SealedInvalid)]);
}

#[test]
fn commit_and_abort_are_idempotent() {
    let (mut link, _) = onboarded("Old-Pass-1");
    link.call(vec![Command::Stage { id: 1, password: Secret::new("New-Pass-2") }]).unwrap();
    assert_eq!(passwords(&link), (Some("Old-Pass-1".into()), Some("New-Pass-2".into())));
    let commit = || vec![Command::Commit { id: 1 }];
    assert_eq!(results(link.call(commit()).unwrap()), vec![Ok(Reply::Changed(true))]);
    assert_eq!(results(link.call(commit()).unwrap()), vec![Ok(Reply::Changed(false))]);
    assert_eq!(passwords(&link), (Some("New-Pass-2".into()), None));
    link.call(vec![Command::Stage { id: 1, password: Secret::new("Third-Pass-3") }]).unwrap();
    assert_eq!(results(link.call(vec![Command::Abort { id: 1 }]).unwrap()), vec![Ok(Reply::Changed(true))]);
    assert_eq!(results(link.call(vec![Command::Abort { id: 1 }]).unwrap()), vec![Ok(Reply::Changed(false))]);
    assert_eq!(passwords(&link), (Some("New-Pass-2".into()), None));
}

/// Power loss at every write of a two-phase change: after the reboot the key has a consistent
/// current password, and a staged one is never lost before its commit.
#[test]
fn power_loss_at_every_step_of_a_two_phase_change() {
    let steps = [Command::Stage { id: 1, password: Secret::new("New-Pass-2") }, Command::Commit { id: 1 }];
    for crash_at in 0..=steps.len() {
        let (mut link, _) = onboarded("Old-Pass-1");
        let done = link.key.flash().writes;
        link.key.flash_mut().fail_after = Some(done + crash_at);
        for (i, step) in steps.iter().enumerate() {
            let r = results(link.call(vec![step.clone()]).unwrap());
            if i < crash_at {
                assert!(r[0].is_ok(), "write {i} happens: {r:?}");
            } else {
                assert_eq!(r, vec![Err(KeyError::StorageFailure)], "write {i} is lost");
            }
        }
        let mut flash = link.key.flash().clone();
        flash.fail_after = None;
        let key = SimKey::boot(flash, STORAGE_KEY, [9; 32]).unwrap();
        let a = &key.vault().accounts[0];
        let state = (a.current.as_ref().map(|s| s.expose()), a.staged.as_ref().map(|s| s.expose()));
        let expected = match crash_at {
            0 => (Some("Old-Pass-1"), None),
            1 => (Some("Old-Pass-1"), Some("New-Pass-2")),
            _ => (Some("New-Pass-2"), None),
        };
        assert_eq!(state, expected, "power lost before write {crash_at}");
        // Recovery: committing again (idempotent) leaves the new password current either way.
        if crash_at == 1 {
            let mut link = Link::new(key, 20);
            link.connect(&server(), [10; 32]).unwrap();
            link.call(vec![Command::Commit { id: 1 }]).unwrap();
            assert_eq!(passwords(&link), (Some("New-Pass-2".into()), None));
        }
    }
}

#[test]
fn a_failed_write_is_reported_and_changes_nothing() {
    let (mut link, _) = onboarded("Old-Pass-1");
    let writes = link.key.flash().writes;
    link.key.flash_mut().fail_after = Some(writes);
    let r = link.call(vec![Command::SetPassword { id: 1, password: Secret::new("Lost-Pass-9") }]).unwrap();
    assert_eq!(results(r), vec![Err(KeyError::StorageFailure)]);
    assert_eq!(passwords(&link).0.as_deref(), Some("Old-Pass-1"));
}

/// Onboarding is deterministic, so every proptest case below prepares the same frames from the
/// same state: a twin key shows once that untouched they are taken, and each case checks its
/// frames are these. A refusal then comes from the tampering, not from a frame never valid.
struct Controls {
    set_frame: Vec<u8>,
    set_chunks: Vec<Vec<u8>>,
    stage_then_commit: (Vec<u8>, Vec<u8>),
}

fn set_evil() -> Vec<Command> {
    vec![Command::SetPassword { id: 1, password: Secret::new("Evil-Pass-6") }]
}

fn stage_new() -> Vec<Command> {
    vec![Command::Stage { id: 1, password: Secret::new("New-Pass-2") }]
}

fn controls() -> &'static Controls {
    static CONTROLS: OnceLock<Controls> = OnceLock::new();
    CONTROLS.get_or_init(|| {
        let (mut twin, _) = onboarded("Old-Pass-1");
        let set_frame = twin.prepare(set_evil()).unwrap();
        assert_eq!(results(twin.send_frame(&set_frame).unwrap()), vec![Ok(Reply::Done)]);
        assert_eq!(passwords(&twin).0.as_deref(), Some("Evil-Pass-6"));

        let (mut twin, _) = onboarded("Old-Pass-1");
        let frame = twin.prepare(set_evil()).unwrap();
        let set_chunks = twin.chunks(&frame);
        assert!(set_chunks.len() > 1);
        assert_eq!(results(twin.send_chunks(&set_chunks).unwrap()), vec![Ok(Reply::Done)]);
        assert_eq!(passwords(&twin).0.as_deref(), Some("Evil-Pass-6"));

        let (mut twin, _) = onboarded("Old-Pass-1");
        let first = twin.prepare(stage_new()).unwrap();
        let second = twin.prepare(vec![Command::Commit { id: 1 }]).unwrap();
        assert_eq!(results(twin.send_frame(&first).unwrap()), vec![Ok(Reply::Done)]);
        assert_eq!(results(twin.send_frame(&second).unwrap()), vec![Ok(Reply::Changed(true))]);
        assert_eq!(passwords(&twin), (Some("New-Pass-2".into()), None));
        Controls { set_frame, set_chunks, stage_then_commit: (first, second) }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any one byte of a request frame changed, or the frame cut short: refused, nothing changed.
    #[test]
    fn tampered_or_truncated_frames_change_nothing(position in any::<prop::sample::Index>(), flip in 1u8..=255, cut in any::<bool>()) {
        let (mut link, _) = onboarded("Old-Pass-1");
        let mut frame = link.prepare(set_evil()).unwrap();
        prop_assert_eq!(&frame, &controls().set_frame);
        let i = position.index(frame.len());
        if cut { frame.truncate(i) } else { frame[i] ^= flip }
        let before = link.key.vault().clone();
        let refused = link.send_frame(&frame);
        prop_assert!(matches!(refused, Err(HostError::Refused(_))), "{:?}", refused);
        prop_assert_eq!(link.key.vault(), &before);
    }

    /// Frames replayed or delivered out of order: refused, nothing changed.
    #[test]
    fn replayed_or_reordered_frames_change_nothing(replay in any::<bool>()) {
        let (mut link, _) = onboarded("Old-Pass-1");
        let first = link.prepare(stage_new()).unwrap();
        let second = link.prepare(vec![Command::Commit { id: 1 }]).unwrap();
        let before = link.key.vault().clone();
        if replay {
            prop_assert_eq!(results(link.send_frame(&first).unwrap()), vec![Ok(Reply::Done)]);
            let after_first = link.key.vault().clone();
            prop_assert_ne!(&after_first, &before);
            prop_assert_eq!(link.send_frame(&first).unwrap_err(), HostError::Refused(KeyError::Malformed));
            prop_assert_eq!(link.key.vault(), &after_first);
        } else {
            prop_assert_eq!(&(first, second.clone()), &controls().stage_then_commit);
            prop_assert_eq!(link.send_frame(&second).unwrap_err(), HostError::Refused(KeyError::Malformed));
            prop_assert_eq!(link.key.vault(), &before);
        }
    }

    /// A tampered chunk (any chunk, any byte) is refused or lost, and never changes the key.
    #[test]
    fn tampered_chunks_change_nothing(chunk in any::<prop::sample::Index>(), byte in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let (mut link, _) = onboarded("Old-Pass-1");
        let frame = link.prepare(set_evil()).unwrap();
        let mut chunks = link.chunks(&frame);
        prop_assert_eq!(&chunks, &controls().set_chunks);
        let c = chunk.index(chunks.len());
        let b = byte.index(chunks[c].len());
        chunks[c][b] ^= flip;
        let before = link.key.vault().clone();
        let refused = link.send_chunks(&chunks);
        prop_assert!(
            matches!(refused, Err(HostError::Refused(_) | HostError::Protocol("no reply"))),
            "{:?}", refused
        );
        prop_assert_eq!(link.key.vault(), &before);
    }
}
