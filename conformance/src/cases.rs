//! The requirements a key must meet, each checked from outside through the chunk stream and
//! citing its requirement ids (PROTOCOL.md, Appendix A) and sections.

use latchkey_protocol::crypto::KeyPair;
use latchkey_protocol::frame::Frame;
use latchkey_protocol::message::*;
use latchkey_protocol::sealed;

use crate::key_process::{KeyCommands, KeyUnderTest};
use crate::link::{seed, Handshake, Link, LARGE_CHUNK, SMALL_CHUNK};

pub struct Requirement {
    pub id: &'static str,
    pub section: &'static str,
    pub text: &'static str,
    check: fn(&KeyCommands) -> Result<(), String>,
}

impl Requirement {
    pub fn check(&self, commands: &KeyCommands) -> Result<(), String> {
        (self.check)(commands)
    }
}

pub fn all() -> Vec<Requirement> {
    macro_rules! req {
        ($id:literal, $section:literal, $text:literal, $check:expr) => {
            Requirement { id: $id, section: $section, text: $text, check: $check }
        };
    }
    vec![
        req!(
            "K-GATT-3",
            "§3, §8.9",
            "the beacon names the manufactured serial and public key, protocol 1, status Ready",
            beacon
        ),
        req!(
            "K-NOISE-1/2/3",
            "§6.1, §6.2",
            "a factory-fresh key completes the IK handshake and says it is not activated",
            fresh_handshake
        ),
        req!("K-STAT-1", "§9.2", "before activation only Info and Activate are served", not_activated),
        req!(
            "K-ACT-3/4/5",
            "§9.5",
            "wrong codes count down 2, 1, then the key locks and refuses even the right code",
            activation_lockout
        ),
        req!(
            "K-ACT-2/6",
            "§9.5",
            "the right code binds the server: Done, then AlreadyActivated, then Hello says activated",
            activation_binds
        ),
        req!("K-NOISE-7", "§6.2", "an activated key refuses a handshake from any other server", wrong_server),
        req!(
            "K-CMD-4/5/10/11",
            "§9.4",
            "accounts and passwords: put, set, list, read; NoPassword and NoSuchAccount",
            accounts
        ),
        req!(
            "K-CMD-6/7/8/9",
            "§9.4",
            "Stage keeps both, Commit and Abort settle it and are idempotent, SetPassword drops a staged one",
            two_phase
        ),
        req!("K-CMD-1", "§9.4", "a batch runs in order and stops at the first error", batch_stops),
        req!(
            "K-SEAL-1/2",
            "§9.6",
            "a sealed delivery opens and becomes current; replayed and altered ones are refused",
            sealed_delivery
        ),
        req!("K-NOISE-9", "§6.3", "an altered transport frame is refused and ends the session", tampered_frame),
        req!("K-NOISE-9", "§6.3", "a replayed transport frame is refused", replayed_frame),
        req!(
            "K-NOISE-9",
            "§5, §6.3",
            "a transport frame without a session is refused as Malformed",
            transport_without_session
        ),
        req!("K-STAT-1/2", "§9.2", "Lock, Unlock, Suspend and Deactivate change what the key serves", statuses),
        req!(
            "K-CMD-13",
            "§9.4",
            "Wipe leaves a Ready key with no accounts, no binding and its activation tries back",
            wipe
        ),
        req!("K-STORE-1/2", "§9.7", "what was stored and staged survives the key losing power", power_loss),
        req!("K-LINK-7", "§4.3", "after the link drops, the old session is gone and a new handshake works", link_drop),
        req!("K-LINK-6", "§4.2", "chunks of ATT_MTU 247 are taken, and answers fit the link's chunk size", large_mtu),
        req!("K-CAP-2", "§9.8", "passwords over 256 characters and names over 64 bytes are TooLarge", limits),
    ]
}

fn server() -> KeyPair {
    KeyPair::from_seed(seed())
}

fn account(id: u16) -> Account {
    Account {
        id,
        name: "Domain".into(),
        login_type: LoginType::DomainAccount,
        domain: "EXAMPLE".into(),
        login: "zoë.kept".into(),
        directory_managed: true,
    }
}

fn expect<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, expected {want:?}"))
    }
}

/// A fresh key, activated by `server`, with account 1 holding `password`.
fn onboarded(commands: &KeyCommands, server: &KeyPair, password: &str) -> Result<KeyUnderTest, String> {
    let mut key = KeyUnderTest::manufacture(commands)?;
    {
        let code = key.made.activation_code.clone();
        let mut link = Link::new(&mut key, SMALL_CHUNK);
        link.open(server)?;
        expect("Activate", link.one(Command::Activate { code })?, Ok(Reply::Done))?;
        let put = link.call(vec![
            Command::PutAccount { account: account(1) },
            Command::SetPassword { id: 1, password: Secret::new(password) },
        ])?;
        expect("PutAccount, SetPassword", put, Ok(vec![Ok(Reply::Done), Ok(Reply::Done)]))?;
    }
    Ok(key)
}

fn passwords(link: &mut Link, id: u16) -> Result<Result<Reply, KeyError>, String> {
    link.one(Command::ReadPassword { id })
}

fn current(value: &str) -> Result<Reply, KeyError> {
    Ok(Reply::Passwords { current: Some(Secret::new(value)), staged: None })
}

fn beacon(commands: &KeyCommands) -> Result<(), String> {
    let mut key = KeyUnderTest::manufacture(commands)?;
    let beacon: Beacon = decode(&key.beacon()?).map_err(|e| format!("the beacon does not decode: {e:?}"))?;
    expect("serial", beacon.serial.as_str(), key.made.serial.as_str())?;
    expect("public key", beacon.public_key, key.made.public_key)?;
    expect("protocol", beacon.protocol, 1)?;
    expect("status", beacon.status, KeyStatus::Ready)
}

fn fresh_handshake(commands: &KeyCommands) -> Result<(), String> {
    let mut key = KeyUnderTest::manufacture(commands)?;
    let serial = key.made.serial.clone();
    let hello = Link::new(&mut key, SMALL_CHUNK).open(&server())?;
    expect("Hello", (hello.serial.as_str(), hello.status, hello.activated), (serial.as_str(), KeyStatus::Ready, false))
}

fn not_activated(commands: &KeyCommands) -> Result<(), String> {
    let mut key = KeyUnderTest::manufacture(commands)?;
    let mut link = Link::new(&mut key, SMALL_CHUNK);
    link.open(&server())?;
    expect("ListAccounts", link.one(Command::ListAccounts)?, Err(KeyError::NotActivated))?;
    expect(
        "SetPassword",
        link.one(Command::SetPassword { id: 1, password: Secret::new("x") })?,
        Err(KeyError::NotActivated),
    )?;
    match link.one(Command::Info)? {
        Ok(Reply::Info(info)) => expect("Info's status", info.status, KeyStatus::Ready),
        other => Err(format!("Info: {other:?}")),
    }
}

fn activation_lockout(commands: &KeyCommands) -> Result<(), String> {
    let mut key = KeyUnderTest::manufacture(commands)?;
    let right = key.made.activation_code.clone();
    let mut link = Link::new(&mut key, SMALL_CHUNK);
    link.open(&server())?;
    let wrong = || Command::Activate { code: "000000-wrong".into() };
    expect("1st wrong code", link.one(wrong())?, Err(KeyError::WrongActivationCode { remaining: 2 }))?;
    expect("2nd wrong code", link.one(wrong())?, Err(KeyError::WrongActivationCode { remaining: 1 }))?;
    let third = link.one(wrong())?;
    if !matches!(third, Err(KeyError::Locked) | Err(KeyError::WrongActivationCode { remaining: 0 })) {
        return Err(format!("3rd wrong code: got {third:?}, expected Locked"));
    }
    expect(
        "the right code after three wrong ones",
        link.one(Command::Activate { code: right })?,
        Err(KeyError::Locked),
    )?;
    match link.one(Command::Info)? {
        Ok(Reply::Info(info)) => expect("Info's status", info.status, KeyStatus::Locked),
        other => Err(format!("Info: {other:?}")),
    }
}

fn activation_binds(commands: &KeyCommands) -> Result<(), String> {
    let mut key = KeyUnderTest::manufacture(commands)?;
    let code = key.made.activation_code.clone();
    let server = server();
    let mut link = Link::new(&mut key, SMALL_CHUNK);
    link.open(&server)?;
    expect("Activate", link.one(Command::Activate { code: code.clone() })?, Ok(Reply::Done))?;
    expect("Activate again", link.one(Command::Activate { code })?, Err(KeyError::AlreadyActivated))?;
    let hello = link.open(&server)?;
    expect("Hello after activation", (hello.activated, hello.status), (true, KeyStatus::Active))
}

fn wrong_server(commands: &KeyCommands) -> Result<(), String> {
    let mut key = onboarded(commands, &server(), "Bound-Pass-1")?;
    match Link::new(&mut key, SMALL_CHUNK).handshake(&server())? {
        Handshake::Refused(e) => expect("another server's handshake", e, KeyError::WrongServer),
        Handshake::Open(_) => Err("another server's handshake was accepted".into()),
    }
}

fn accounts(commands: &KeyCommands) -> Result<(), String> {
    let server = server();
    let mut key = onboarded(commands, &server, "Stored-Päss-1")?;
    let mut link = Link::new(&mut key, SMALL_CHUNK);
    link.open(&server)?;
    expect("PutAccount 2", link.one(Command::PutAccount { account: account(2) })?, Ok(Reply::Done))?;
    let listing = link.one(Command::ListAccounts)?;
    let want = vec![
        AccountListing { account: account(1), has_password: true, has_staged: false },
        AccountListing { account: account(2), has_password: false, has_staged: false },
    ];
    expect("ListAccounts", listing, Ok(Reply::Accounts(want)))?;
    expect("ReadPassword 1", passwords(&mut link, 1)?, current("Stored-Päss-1"))?;
    expect("ReadPassword on an account without one", passwords(&mut link, 2)?, Err(KeyError::NoPassword))?;
    expect("ReadPassword 9", passwords(&mut link, 9)?, Err(KeyError::NoSuchAccount))?;
    expect("DeleteAccount 2", link.one(Command::DeleteAccount { id: 2 })?, Ok(Reply::Done))?;
    expect("DeleteAccount 2 again", link.one(Command::DeleteAccount { id: 2 })?, Err(KeyError::NoSuchAccount))
}

fn two_phase(commands: &KeyCommands) -> Result<(), String> {
    let server = server();
    let mut key = onboarded(commands, &server, "Old-Pass-1")?;
    let mut link = Link::new(&mut key, SMALL_CHUNK);
    link.open(&server)?;
    let stage = |p: &str| Command::Stage { id: 1, password: Secret::new(p) };
    expect("Stage", link.one(stage("New-Pass-2"))?, Ok(Reply::Done))?;
    let both =
        Ok(Reply::Passwords { current: Some(Secret::new("Old-Pass-1")), staged: Some(Secret::new("New-Pass-2")) });
    expect("ReadPassword while staged", passwords(&mut link, 1)?, both)?;
    expect("Commit", link.one(Command::Commit { id: 1 })?, Ok(Reply::Changed(true)))?;
    expect("after Commit", passwords(&mut link, 1)?, current("New-Pass-2"))?;
    expect("Commit with nothing staged", link.one(Command::Commit { id: 1 })?, Ok(Reply::Changed(false)))?;
    expect("Stage", link.one(stage("Dropped-3"))?, Ok(Reply::Done))?;
    expect("Abort", link.one(Command::Abort { id: 1 })?, Ok(Reply::Changed(true)))?;
    expect("Abort with nothing staged", link.one(Command::Abort { id: 1 })?, Ok(Reply::Changed(false)))?;
    expect("after Abort", passwords(&mut link, 1)?, current("New-Pass-2"))?;
    expect("Stage", link.one(stage("Dropped-4"))?, Ok(Reply::Done))?;
    let set = Command::SetPassword { id: 1, password: Secret::new("Set-Pass-5") };
    expect("SetPassword", link.one(set)?, Ok(Reply::Done))?;
    expect("SetPassword drops the staged one", passwords(&mut link, 1)?, current("Set-Pass-5"))
}

fn batch_stops(commands: &KeyCommands) -> Result<(), String> {
    let server = server();
    let mut key = onboarded(commands, &server, "Batch-Pass-1")?;
    let mut link = Link::new(&mut key, SMALL_CHUNK);
    link.open(&server)?;
    let set = Command::SetPassword { id: 1, password: Secret::new("Never-Set-2") };
    let results = link.call(vec![Command::ReadPassword { id: 9 }, set, Command::ListAccounts])?;
    expect("a batch whose first command fails", results, Ok(vec![Err(KeyError::NoSuchAccount)]))?;
    expect("the command after the failure did not run", passwords(&mut link, 1)?, current("Batch-Pass-1"))
}

fn sealed_delivery(commands: &KeyCommands) -> Result<(), String> {
    let server = server();
    let mut key = onboarded(commands, &server, "Before-Reset-1")?;
    let (public, serial) = (key.made.public_key, key.made.serial.clone());
    let seal = |account: u16, counter: u32, password: &str| {
        sealed::seal(&public, &serial, account, counter, &Secret::new(password), seed()).map_err(|e| format!("{e:?}"))
    };
    let mut link = Link::new(&mut key, SMALL_CHUNK);
    link.open(&server)?;
    let delivered = seal(1, 5, "Sealed-Päss-2")?;
    let deliver = |counter, sealed| Command::DeliverSealed { id: 1, counter, sealed };
    expect("DeliverSealed", link.one(deliver(5, delivered.clone()))?, Ok(Reply::Done))?;
    expect("the delivered password", passwords(&mut link, 1)?, current("Sealed-Päss-2"))?;
    expect("the same delivery again", link.one(deliver(5, delivered))?, Err(KeyError::SealedReplayed))?;
    // Sealed for counter 6 but delivered as 7: the binding does not open.
    expect(
        "a delivery under another counter",
        link.one(deliver(7, seal(1, 6, "X-1")?))?,
        Err(KeyError::SealedInvalid),
    )?;
    let mut altered = seal(1, 8, "Altered-3")?;
    if let Some(byte) = altered.ciphertext.first_mut() {
        *byte ^= 1;
    }
    expect("an altered delivery", link.one(deliver(8, altered))?, Err(KeyError::SealedInvalid))?;
    expect("nothing changed", passwords(&mut link, 1)?, current("Sealed-Päss-2"))
}

fn tampered_frame(commands: &KeyCommands) -> Result<(), String> {
    let server = server();
    let mut key = onboarded(commands, &server, "Tamper-Pass-1")?;
    let mut link = Link::new(&mut key, SMALL_CHUNK);
    link.open(&server)?;
    let mut frame = link.request_frame(vec![Command::ListAccounts])?;
    if let Some(byte) = frame.last_mut() {
        *byte ^= 0x80;
    }
    let answer = link.exchange(&frame, KeyUnderTest::answer_timeout())?.ok_or("no answer to an altered frame")?;
    expect("the answer to an altered frame", Frame::decode(&answer).ok(), Some(Frame::Refused(KeyError::Malformed)))?;
    // The session is over: the next request under it is refused too; a new handshake works.
    let next = link.request_frame(vec![Command::ListAccounts])?;
    let answer = link.exchange(&next, KeyUnderTest::answer_timeout())?.ok_or("no answer")?;
    if !matches!(Frame::decode(&answer), Ok(Frame::Refused(_))) {
        return Err("the session went on after an altered frame".into());
    }
    link.open(&server)?;
    expect("after a new handshake", passwords(&mut link, 1)?, current("Tamper-Pass-1"))
}

fn replayed_frame(commands: &KeyCommands) -> Result<(), String> {
    let server = server();
    let mut key = onboarded(commands, &server, "Replay-Pass-1")?;
    let mut link = Link::new(&mut key, SMALL_CHUNK);
    link.open(&server)?;
    let set = Command::SetPassword { id: 1, password: Secret::new("Replayed-2") };
    let frame = link.request_frame(vec![set])?;
    let first = link.exchange(&frame, KeyUnderTest::answer_timeout())?.ok_or("no answer")?;
    expect("the first time", link.read(&first)?, Ok(vec![Ok(Reply::Done)]))?;
    let again = link.exchange(&frame, KeyUnderTest::answer_timeout())?.ok_or("no answer to a replay")?;
    if !matches!(Frame::decode(&again), Ok(Frame::Refused(_))) {
        return Err("a replayed frame was served".into());
    }
    Ok(())
}

fn transport_without_session(commands: &KeyCommands) -> Result<(), String> {
    let mut key = KeyUnderTest::manufacture(commands)?;
    let answer = Link::new(&mut key, SMALL_CHUNK).raw(Frame::Transport(vec![0; 40]))?;
    let answer = answer.ok_or("no answer")?;
    expect(
        "a transport frame before any handshake",
        Frame::decode(&answer).ok(),
        Some(Frame::Refused(KeyError::Malformed)),
    )
}

fn statuses(commands: &KeyCommands) -> Result<(), String> {
    let server = server();
    let mut key = onboarded(commands, &server, "Status-Pass-1")?;
    let mut link = Link::new(&mut key, SMALL_CHUNK);
    link.open(&server)?;
    let apply = |change| Command::ApplyStatus { change };
    let status = |link: &mut Link| -> Result<KeyStatus, String> {
        match link.one(Command::Info)? {
            Ok(Reply::Info(info)) => Ok(info.status),
            other => Err(format!("Info: {other:?}")),
        }
    };
    expect("Lock", link.one(apply(StatusChange::Lock))?, Ok(Reply::Done))?;
    expect("ListAccounts while locked", link.one(Command::ListAccounts)?, Err(KeyError::Locked))?;
    expect("status", status(&mut link)?, KeyStatus::Locked)?;
    expect("Unlock", link.one(apply(StatusChange::Unlock))?, Ok(Reply::Done))?;
    expect("ReadPassword once unlocked", passwords(&mut link, 1)?, current("Status-Pass-1"))?;
    expect("Suspend", link.one(apply(StatusChange::Suspend))?, Ok(Reply::Done))?;
    expect("ReadPassword while suspended", passwords(&mut link, 1)?, Err(KeyError::Suspended))?;
    expect("Deactivate", link.one(apply(StatusChange::Deactivate))?, Ok(Reply::Done))?;
    expect("status", status(&mut link)?, KeyStatus::Deactivated)?;
    expect("Unlock a deactivated key", link.one(apply(StatusChange::Unlock))?, Err(KeyError::Deactivated))
}

fn wipe(commands: &KeyCommands) -> Result<(), String> {
    let server = server();
    let mut key = onboarded(commands, &server, "Wipe-Pass-1")?;
    let mut link = Link::new(&mut key, SMALL_CHUNK);
    link.open(&server)?;
    expect("Wipe", link.one(Command::Wipe)?, Ok(Reply::Done))?;
    let hello = link.open(&self::server())?;
    expect("Hello after Wipe", (hello.status, hello.activated), (KeyStatus::Ready, false))?;
    let wrong = Command::Activate { code: "000000-wrong".into() };
    expect("the tries are back", link.one(wrong)?, Err(KeyError::WrongActivationCode { remaining: 2 }))?;
    let code = link.key.made.activation_code.clone();
    expect("Activate", link.one(Command::Activate { code })?, Ok(Reply::Done))?;
    expect("no accounts", link.one(Command::ListAccounts)?, Ok(Reply::Accounts(vec![])))
}

fn power_loss(commands: &KeyCommands) -> Result<(), String> {
    let server = server();
    let mut key = onboarded(commands, &server, "Kept-Pass-1")?;
    {
        let mut link = Link::new(&mut key, SMALL_CHUNK);
        link.open(&server)?;
        let stage = Command::Stage { id: 1, password: Secret::new("Staged-2") };
        expect("Stage", link.one(stage)?, Ok(Reply::Done))?;
    }
    key.power_off();
    key.power_on()?;
    let mut link = Link::new(&mut key, SMALL_CHUNK);
    let hello = link.open(&server)?;
    expect("activated after power loss", hello.activated, true)?;
    let both =
        Ok(Reply::Passwords { current: Some(Secret::new("Kept-Pass-1")), staged: Some(Secret::new("Staged-2")) });
    expect("current and staged after power loss", passwords(&mut link, 1)?, both)
}

fn link_drop(commands: &KeyCommands) -> Result<(), String> {
    let server = server();
    let mut key = onboarded(commands, &server, "Drop-Pass-1")?;
    let mut link = Link::new(&mut key, SMALL_CHUNK);
    link.open(&server)?;
    let frame = link.request_frame(vec![Command::ListAccounts])?;
    link.key.disconnect()?;
    let answer = link.exchange(&frame, KeyUnderTest::answer_timeout())?.ok_or("no answer")?;
    if !matches!(Frame::decode(&answer), Ok(Frame::Refused(_))) {
        return Err("a frame of the dropped session was served".into());
    }
    link.open(&server)?;
    expect("after a new handshake", passwords(&mut link, 1)?, current("Drop-Pass-1"))
}

fn large_mtu(commands: &KeyCommands) -> Result<(), String> {
    let server = server();
    let mut key = onboarded(commands, &server, "Mtu-Pass-1")?;
    let mut link = Link::new(&mut key, LARGE_CHUNK);
    link.open(&server)?;
    let long = "L".repeat(200);
    let set = Command::SetPassword { id: 1, password: Secret::new(long.as_str()) };
    expect("a 200-character password in a few large chunks", link.one(set)?, Ok(Reply::Done))?;
    expect("read back", passwords(&mut link, 1)?, current(&long))
}

fn limits(commands: &KeyCommands) -> Result<(), String> {
    let server = server();
    let mut key = onboarded(commands, &server, "Limit-Pass-1")?;
    let mut link = Link::new(&mut key, LARGE_CHUNK);
    link.open(&server)?;
    let longest = "ß".repeat(MAX_PASSWORD_CHARS);
    let set = |p: &str| Command::SetPassword { id: 1, password: Secret::new(p) };
    expect("256 characters", link.one(set(&longest))?, Ok(Reply::Done))?;
    expect("257 characters", link.one(set(&format!("{longest}x")))?, Err(KeyError::TooLarge))?;
    let mut named = account(3);
    named.name = "n".repeat(MAX_NAME_BYTES + 1);
    expect("a 65-byte name", link.one(Command::PutAccount { account: named })?, Err(KeyError::TooLarge))
}
