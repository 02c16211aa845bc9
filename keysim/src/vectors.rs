//! Test vectors (PROTOCOL.md "Test vectors"): every byte a key implementation must produce or
//! accept, from fixed keys and seeds, so a vendor checks its encoder, its Noise IK handshake,
//! its transport and its HPKE opening byte for byte. `cargo xtask vectors` writes them (through
//! `keysim/tests/vectors.rs`, which otherwise checks that the files are exactly what this code
//! produces).

use latchkey_protocol::crypto::{self, KeyPair, Seed};
use latchkey_protocol::device::{Device, Platform, StorageError, Vault};
use latchkey_protocol::frame::Frame;
use latchkey_protocol::host::{HostEvent, HostSession};
use latchkey_protocol::link::Chunker;
use latchkey_protocol::message::*;
use latchkey_protocol::sealed;
use serde::Serialize;
use serde_json::{json, Value};

const SERIAL: &str = "LK-VECTOR-0001";
const SERVER_STATIC_SEED: Seed = [0x11; 32];
const KEY_IDENTITY_SEED: Seed = [0x22; 32];
const SERVER_EPHEMERAL_SEED: Seed = [0x33; 32];
const KEY_EPHEMERAL_SEED: Seed = [0x44; 32];
const SEAL_SEED: Seed = [0x55; 32];
const ACTIVATION_CODE: &str = "314159";

/// Each file's name and its JSON text.
pub fn all() -> Result<Vec<(&'static str, String)>, String> {
    let (handshake, transport, frame) = session()?;
    [
        ("messages.json", messages()),
        ("handshake.json", handshake),
        ("transport.json", transport),
        ("sealed.json", sealed_delivery()?),
        ("chunking.json", chunking(&frame)?),
    ]
    .into_iter()
    .map(|(name, value)| Ok((name, serde_json::to_string_pretty(&value).map_err(|e| e.to_string())? + "\n")))
    .collect()
}

fn case<T: Serialize + std::fmt::Debug>(name: &str, value: &T) -> Value {
    json!({ "name": name, "value": format!("{value:?}"), "postcard": hex::encode(encode(value)) })
}

fn account() -> Account {
    Account {
        id: 1,
        name: "Domain".into(),
        login_type: LoginType::DomainAccount,
        domain: "EXAMPLE".into(),
        login: "zoë".into(),
        directory_managed: true,
    }
}

/// The postcard encoding of every variant of every message, in variant order.
fn messages() -> Value {
    let sealed = Sealed { encapsulated_key: [0xAB; 32], ciphertext: vec![1, 2, 3] };
    let commands = [
        Command::Info,
        Command::Activate { code: ACTIVATION_CODE.into() },
        Command::ListAccounts,
        Command::PutAccount { account: account() },
        Command::SetPassword { id: 1, password: Secret::new("Pässword-1") },
        Command::Stage { id: 1, password: Secret::new("Next-Pass-2") },
        Command::Commit { id: 1 },
        Command::Abort { id: 1 },
        Command::ReadPassword { id: 1 },
        Command::DeleteAccount { id: 300 },
        Command::DeliverSealed { id: 1, counter: 70000, sealed },
        Command::ApplyStatus { change: StatusChange::Lock },
        Command::Wipe,
        Command::ConfirmPresence,
    ];
    let listing = AccountListing { account: account(), has_password: true, has_staged: false };
    let info = Info {
        serial: SERIAL.into(),
        firmware: "1.0.0".into(),
        status: KeyStatus::Active,
        free_slots: 15,
        battery_percent: 87,
    };
    let replies = [
        Reply::Done,
        Reply::Changed(true),
        Reply::Info(info),
        Reply::Accounts(vec![listing]),
        Reply::Passwords { current: Some(Secret::new("Pässword-1")), staged: None },
    ];
    let errors = [
        KeyError::Malformed,
        KeyError::NotActivated,
        KeyError::WrongActivationCode { remaining: 2 },
        KeyError::Locked,
        KeyError::Suspended,
        KeyError::Deactivated,
        KeyError::NoSuchAccount,
        KeyError::NoFreeSlot,
        KeyError::NoPassword,
        KeyError::PresenceDenied,
        KeyError::TooLarge,
        KeyError::SealedInvalid,
        KeyError::SealedReplayed,
        KeyError::WrongServer,
        KeyError::StorageFailure,
        KeyError::HandshakeFailed,
        KeyError::AlreadyActivated,
    ];
    let statuses =
        [KeyStatus::Ready, KeyStatus::Active, KeyStatus::Locked, KeyStatus::Suspended, KeyStatus::Deactivated];
    let changes = [StatusChange::Lock, StatusChange::Suspend, StatusChange::Unlock, StatusChange::Deactivate];
    let public_key = KeyPair::from_seed(KEY_IDENTITY_SEED).public;
    json!({
        "encoding": "postcard 1.x (varint lengths and enum indices, little-endian varint integers)",
        "commands": commands.iter().map(|c| case(&variant(c), c)).collect::<Vec<_>>(),
        "replies": replies.iter().map(|r| case(&variant(r), r)).collect::<Vec<_>>(),
        "errors": errors.iter().map(|e| json!({ "code": e.code(), "name": variant(e), "postcard": hex::encode(encode(e)) })).collect::<Vec<_>>(),
        "key_statuses": statuses.iter().map(|s| case(&variant(s), s)).collect::<Vec<_>>(),
        "status_changes": changes.iter().map(|c| case(&variant(c), c)).collect::<Vec<_>>(),
        "request": case("Request", &Request { commands: vec![Command::ReadPassword { id: 1 }, Command::Stage { id: 1, password: Secret::new("Next-Pass-2") }] }),
        "response": case("Response", &Response { results: vec![Ok(Reply::Done), Err(KeyError::NoPassword)] }),
        "beacon": case("Beacon", &Beacon { protocol: 1, serial: SERIAL.into(), public_key, status: KeyStatus::Ready, firmware: "1.0.0".into() }),
        "hello": case("Hello", &Hello { serial: SERIAL.into(), status: KeyStatus::Ready, firmware: "1.0.0".into(), activated: false }),
    })
}

/// The variant's name, as `Debug` spells it.
fn variant<T: std::fmt::Debug>(value: &T) -> String {
    let text = format!("{value:?}");
    text.split([' ', '(', '{']).next().unwrap_or_default().to_string()
}

/// A platform whose randomness is one fixed seed and whose owner always presses.
struct Fixed(Seed);

impl Platform for Fixed {
    fn seed(&mut self) -> Seed {
        self.0
    }
    fn confirm_presence(&mut self) -> bool {
        true
    }
    fn persist(&mut self, _: &Vault) -> Result<(), StorageError> {
        Ok(())
    }
}

/// A handshake with a factory-fresh key, then one request and its response; and the last
/// frame, for the chunking vectors.
fn session() -> Result<(Value, Value, Vec<u8>), String> {
    let server = KeyPair::from_seed(SERVER_STATIC_SEED);
    let mut key = Device::new(Vault::manufacture(SERIAL, "1.0.0", KEY_IDENTITY_SEED, ACTIVATION_CODE, 16));
    let key_public = key.vault().public_key();
    let mut platform = Fixed(KEY_EPHEMERAL_SEED);
    let (mut host, init) =
        HostSession::start(&server, &key_public, SERIAL, SERVER_EPHEMERAL_SEED).map_err(|e| format!("{e:?}"))?;
    let reply = key.on_frame(&init, &mut platform).ok_or("the key did not answer the handshake")?;
    let Ok(HostEvent::Established(hello)) = host.on_frame(&reply) else {
        return Err("the handshake did not complete".into());
    };
    let handshake = json!({
        "noise": crypto::NOISE_PARAMS,
        "serial": SERIAL,
        "prologue": hex::encode(crypto::prologue(SERIAL)),
        "server_static_secret": hex::encode(server.secret.as_ref()),
        "server_static_public": hex::encode(server.public),
        "key_static_secret": hex::encode(KeyPair::from_seed(KEY_IDENTITY_SEED).secret.as_ref()),
        "key_static_public": hex::encode(key_public),
        "server_ephemeral_secret": hex::encode(ephemeral(SERVER_EPHEMERAL_SEED)),
        "key_ephemeral_secret": hex::encode(ephemeral(KEY_EPHEMERAL_SEED)),
        "note": "The ephemeral secrets are the first 32 bytes of ChaCha20 (RFC 8439 block function, key = the seed, nonce 0) as this implementation draws them; a vendor's implementation injects them directly.",
        "frame_1_handshake_init": hex::encode(&init),
        "frame_2_handshake_reply": hex::encode(&reply),
        "hello_payload": hex::encode(encode(&hello)),
        "hello": format!("{hello:?}"),
    });
    let request = Request { commands: vec![Command::Info, Command::ListAccounts] };
    let request_frame = host.request(&request).map_err(|e| format!("{e:?}"))?;
    let response_frame = key.on_frame(&request_frame, &mut platform).ok_or("the key did not answer")?;
    let Ok(HostEvent::Response(response)) = host.on_frame(&response_frame) else {
        return Err("the key's answer did not open".into());
    };
    let transport = json!({
        "after": "handshake.json",
        "frame_types": { "1": "HandshakeInit", "2": "HandshakeReply", "3": "Transport", "4": "Refused" },
        "request": format!("{request:?}"),
        "request_plaintext": hex::encode(encode(&request)),
        "request_frame": hex::encode(&request_frame),
        "response": format!("{response:?}"),
        "response_plaintext": hex::encode(encode(&response)),
        "response_frame": hex::encode(&response_frame),
        "refused_frame_example": hex::encode(Frame::Refused(KeyError::WrongServer).encode()),
    });
    Ok((handshake, transport, response_frame))
}

/// The secret a seed expands to (the first 32 bytes its ChaCha20 stream gives).
fn ephemeral(seed: Seed) -> [u8; 32] {
    use rand_chacha::ChaCha20Rng;
    use rand_core::{Rng, SeedableRng};
    let mut secret = [0u8; 32];
    ChaCha20Rng::from_seed(seed).fill_bytes(&mut secret);
    secret
}

fn sealed_delivery() -> Result<Value, String> {
    let key = KeyPair::from_seed(KEY_IDENTITY_SEED);
    let password = Secret::new("Sealed-Päss-3");
    let (account, counter) = (1, 7);
    let sealed =
        sealed::seal(&key.public, SERIAL, account, counter, &password, SEAL_SEED).map_err(|e| format!("{e:?}"))?;
    let context = sealed::context(SERIAL, account, counter);
    Ok(json!({
        "suite": "HPKE base mode (RFC 9180): DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM",
        "key_static_secret": hex::encode(key.secret.as_ref()),
        "key_static_public": hex::encode(key.public),
        "serial": SERIAL,
        "account": account,
        "counter": counter,
        "info_and_aad": hex::encode(&context),
        "plaintext_utf8": password.expose(),
        "plaintext": hex::encode(password.expose().as_bytes()),
        "sender_ephemeral_ikm": hex::encode(ephemeral(SEAL_SEED)),
        "note": "The sender's ephemeral key pair is DeriveKeyPair(sender_ephemeral_ikm) (RFC 9180 §7.1.3).",
        "encapsulated_key": hex::encode(sealed.encapsulated_key),
        "ciphertext": hex::encode(&sealed.ciphertext),
        "command": case("DeliverSealed", &Command::DeliverSealed { id: account, counter, sealed }),
    }))
}

fn chunking(frame: &[u8]) -> Result<Value, String> {
    let at = |mtu: usize| -> Result<Value, String> {
        let chunks = Chunker::default().split(frame, mtu - 3).map_err(|e| format!("{e:?}"))?;
        Ok(
            json!({ "att_mtu": mtu, "chunk_size": mtu - 3, "chunks": chunks.iter().map(hex::encode).collect::<Vec<_>>() }),
        )
    };
    Ok(json!({ "frame": hex::encode(frame), "first_frame_number": 0, "at": [at(23)?, at(247)?] }))
}
