//! Test vectors: fixed values and their exact bytes on the wire (PROTOCOL.md §4–§8), in hex.
//! Each vector must encode to its bytes and its bytes must decode to the value, so any change
//! of the wire format fails here first. A key's firmware can check itself against them.
//!
//! Postcard, in brief (§7): a struct is its fields in order; an enum is its variant's index as
//! a varint, then its fields; integers wider than a byte (u16, u32) are varints (7 bits a byte,
//! low first, high bit set while more follow: 300 is `ac 02`); a `u8` is one byte; a string or a
//! byte vector is its length (varint) then its bytes; a `[u8; 32]` is its 32 bytes; a `bool` is
//! `00` or `01`; an `Option` is `00`, or `01` then the value; a `Result` is `00` then the `Ok`
//! value, or `01` then the error.

use std::fmt::Debug;

use latchkey_protocol::crypto::{self, KeyPair, Seed};
use latchkey_protocol::device::{Device, Platform, StorageError, Vault};
use latchkey_protocol::frame::Frame;
use latchkey_protocol::host::{HostEvent, HostSession};
use latchkey_protocol::link::{Chunker, Reassembler};
use latchkey_protocol::message::{
    decode, encode, Account, AccountListing, Beacon, Command, Hello, Info, KeyError, KeyStatus, LoginType, Reply,
    Request, Response, Sealed, Secret, StatusChange,
};
use latchkey_protocol::sealed;
use serde::de::DeserializeOwned;
use serde::Serialize;

const SERIAL: &str = "LK-0001";
const FIRMWARE: &str = "1.0.0";
const ACTIVATION_CODE: &str = "12345678";
/// The key's identity at manufacture.
const KEY_SEED: Seed = [1; 32];
/// The server's static key.
const SERVER_SEED: Seed = [2; 32];

/// A value, what a reader should see in its bytes, and the bytes.
struct Vector<T> {
    what: &'static str,
    value: T,
    hex: &'static str,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// Every vector encodes to its bytes, and its bytes decode to it.
fn check<T: Serialize + DeserializeOwned + PartialEq + Debug>(vectors: &[Vector<T>]) {
    for v in vectors {
        assert_eq!(hex(&encode(&v.value)), v.hex, "{}: {:?}", v.what, v.value);
        assert_eq!(decode::<T>(&unhex(v.hex)).unwrap(), v.value, "{}", v.what);
    }
}

fn account() -> Account {
    Account {
        id: 1,
        name: "Corporate".into(),
        login_type: LoginType::DomainAccount,
        domain: "EXAMPLE".into(),
        login: "alice".into(),
        directory_managed: true,
    }
}

fn one(command: Command) -> Request {
    Request { commands: vec![command] }
}

fn answer(result: Result<Reply, KeyError>) -> Response {
    Response { results: vec![result] }
}

#[test]
fn requests() {
    let sealed = Sealed { encapsulated_key: [0x11; 32], ciphertext: vec![0x22; 4] };
    check(&[
        Vector { what: "1 command; Info is variant 0", value: one(Command::Info), hex: "0100" },
        Vector {
            what: "1 command; Activate (1), the code as a string of 8 bytes",
            value: one(Command::Activate { code: ACTIVATION_CODE.into() }),
            hex: "0101083132333435363738",
        },
        Vector { what: "1 command; ListAccounts (2)", value: one(Command::ListAccounts), hex: "0102" },
        Vector {
            what: "1 command; PutAccount (3): id 1, name, login type DomainAccount (0), domain, login, \
                   directory-managed (01)",
            value: one(Command::PutAccount { account: account() }),
            hex: "01030109436f72706f7261746500074558414d504c4505616c69636501",
        },
        Vector {
            what: "1 command; SetPassword (4): id 1, the password as a string",
            value: one(Command::SetPassword { id: 1, password: Secret::new("Orbit-2093") }),
            hex: "0104010a4f726269742d32303933",
        },
        Vector {
            what: "1 command; Stage (5): id 1, the password as a string",
            value: one(Command::Stage { id: 1, password: Secret::new("Fresh-Orbit-2094") }),
            hex: "0105011046726573682d4f726269742d32303934",
        },
        Vector { what: "1 command; Commit (6): id 1", value: one(Command::Commit { id: 1 }), hex: "010601" },
        Vector {
            what: "1 command; Commit (6): id 300, a two-byte varint",
            value: one(Command::Commit { id: 300 }),
            hex: "0106ac02",
        },
        Vector { what: "1 command; Abort (7): id 1", value: one(Command::Abort { id: 1 }), hex: "010701" },
        Vector {
            what: "1 command; ReadPassword (8): id 1",
            value: one(Command::ReadPassword { id: 1 }),
            hex: "010801",
        },
        Vector {
            what: "1 command; DeleteAccount (9): id 1",
            value: one(Command::DeleteAccount { id: 1 }),
            hex: "010901",
        },
        Vector {
            what: "1 command; DeliverSealed (10): id 1, counter 2, the 32-byte encapsulated key, the \
                   ciphertext as 4 bytes",
            value: one(Command::DeliverSealed { id: 1, counter: 2, sealed }),
            hex: "010a0102\
                  1111111111111111111111111111111111111111111111111111111111111111\
                  0422222222",
        },
        Vector {
            what: "1 command; ApplyStatus (11): Lock (0)",
            value: one(Command::ApplyStatus { change: StatusChange::Lock }),
            hex: "010b00",
        },
        Vector {
            what: "1 command; ApplyStatus (11): Suspend (1)",
            value: one(Command::ApplyStatus { change: StatusChange::Suspend }),
            hex: "010b01",
        },
        Vector {
            what: "1 command; ApplyStatus (11): Unlock (2)",
            value: one(Command::ApplyStatus { change: StatusChange::Unlock }),
            hex: "010b02",
        },
        Vector {
            what: "1 command; ApplyStatus (11): Deactivate (3)",
            value: one(Command::ApplyStatus { change: StatusChange::Deactivate }),
            hex: "010b03",
        },
        Vector { what: "1 command; Wipe (12)", value: one(Command::Wipe), hex: "010c" },
        Vector { what: "1 command; ConfirmPresence (13)", value: one(Command::ConfirmPresence), hex: "010d" },
        Vector {
            what: "2 commands, a change's first round trip: ReadPassword (8) id 1, then Stage (5) id 1 and \
                   the new password",
            value: Request {
                commands: vec![
                    Command::ReadPassword { id: 1 },
                    Command::Stage { id: 1, password: Secret::new("Fresh-Orbit-2094") },
                ],
            },
            hex: "02080105011046726573682d4f726269742d32303934",
        },
        Vector { what: "no command", value: Request { commands: vec![] }, hex: "00" },
    ]);
}

#[test]
fn responses() {
    let info = Info {
        serial: SERIAL.into(),
        firmware: FIRMWARE.into(),
        status: KeyStatus::Active,
        free_slots: 15,
        battery_percent: 87,
    };
    let listing = AccountListing { account: account(), has_password: true, has_staged: false };
    check(&[
        Vector { what: "1 result; Ok (0), Done (0)", value: answer(Ok(Reply::Done)), hex: "010000" },
        Vector {
            what: "1 result; Ok (0), Changed (1): true",
            value: answer(Ok(Reply::Changed(true))),
            hex: "01000101",
        },
        Vector {
            what: "1 result; Ok (0), Changed (1): false",
            value: answer(Ok(Reply::Changed(false))),
            hex: "01000100",
        },
        Vector {
            what: "1 result; Ok (0), Info (2): serial, firmware, status Active (1), 15 free slots, battery 87 \
                   (one byte, 0x57)",
            value: answer(Ok(Reply::Info(info))),
            hex: "010002074c4b2d3030303105312e302e30010f57",
        },
        Vector {
            what: "1 result; Ok (0), Accounts (3): 1 listing, the account, has a password (01), nothing \
                   staged (00)",
            value: answer(Ok(Reply::Accounts(vec![listing]))),
            hex: "010003010109436f72706f7261746500074558414d504c4505616c696365010100",
        },
        Vector {
            what: "1 result; Ok (0), Accounts (3): none",
            value: answer(Ok(Reply::Accounts(vec![]))),
            hex: "01000300",
        },
        Vector {
            what: "1 result; Ok (0), Passwords (4): current Some (01) and the string, staged Some (01) and \
                   the string",
            value: answer(Ok(Reply::Passwords {
                current: Some(Secret::new("Orbit-2093")),
                staged: Some(Secret::new("Fresh-Orbit-2094")),
            })),
            hex: "010004010a4f726269742d32303933011046726573682d4f726269742d32303934",
        },
        Vector {
            what: "1 result; Ok (0), Passwords (4): current Some (01) and the string, staged None (00)",
            value: answer(Ok(Reply::Passwords { current: Some(Secret::new("Orbit-2093")), staged: None })),
            hex: "010004010a4f726269742d3230393300",
        },
        Vector {
            what: "1 result; Err (1), NoSuchAccount: variant 6 (its code in PROTOCOL.md §8.11 is 7)",
            value: answer(Err(KeyError::NoSuchAccount)),
            hex: "010106",
        },
        Vector {
            what: "2 results; Ok (0) Done (0), then Err (1) WrongActivationCode (2) with 2 tries left",
            value: Response { results: vec![Ok(Reply::Done), Err(KeyError::WrongActivationCode { remaining: 2 })] },
            hex: "020000010202",
        },
        Vector { what: "no result", value: Response { results: vec![] }, hex: "00" },
    ]);
}

#[test]
fn key_errors() {
    let all = [
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
    // Each error is its variant index, one less than its code; WrongActivationCode adds its byte.
    let hexes =
        ["00", "01", "0202", "03", "04", "05", "06", "07", "08", "09", "0a", "0b", "0c", "0d", "0e", "0f", "10"];
    let vectors: Vec<Vector<KeyError>> = all
        .into_iter()
        .zip(hexes)
        .map(|(value, hex)| Vector { what: "an error, as a Refused frame's body or an Err result", value, hex })
        .collect();
    check(&vectors);
    for (error, bytes) in all.iter().zip(hexes) {
        assert_eq!(u16::from(unhex(bytes)[0]) + 1, error.code(), "{error:?}");
    }
}

#[test]
fn statuses_and_login_types() {
    check(&[
        Vector { what: "status Ready", value: KeyStatus::Ready, hex: "00" },
        Vector { what: "status Active", value: KeyStatus::Active, hex: "01" },
        Vector { what: "status Locked", value: KeyStatus::Locked, hex: "02" },
        Vector { what: "status Suspended", value: KeyStatus::Suspended, hex: "03" },
        Vector { what: "status Deactivated", value: KeyStatus::Deactivated, hex: "04" },
    ]);
    check(&[
        Vector { what: "login type DomainAccount", value: LoginType::DomainAccount, hex: "00" },
        Vector { what: "login type EntraAccount", value: LoginType::EntraAccount, hex: "01" },
        Vector { what: "login type Other", value: LoginType::Other, hex: "02" },
    ]);
}

#[test]
fn beacon_hello_and_info() {
    check(&[Vector {
        what: "the info characteristic: protocol 1 (one byte), serial, the key's 32-byte public key (from \
               KEY_SEED), status Active (1), firmware",
        value: Beacon {
            protocol: 1,
            serial: SERIAL.into(),
            public_key: KeyPair::from_seed(KEY_SEED).public,
            status: KeyStatus::Active,
            firmware: FIRMWARE.into(),
        },
        hex: "01074c4b2d30303031\
              d53b9fea1dd4d570dbe38180767c236456ca6633f103f1aa0637e7b613d25274\
              0105312e302e30",
    }]);
    check(&[
        Vector {
            what: "a new key's hello: serial, status Ready (0), firmware, not activated (00)",
            value: Hello {
                serial: SERIAL.into(),
                status: KeyStatus::Ready,
                firmware: FIRMWARE.into(),
                activated: false,
            },
            hex: "074c4b2d303030310005312e302e3000",
        },
        Vector {
            what: "an activated key's hello: serial, status Active (1), firmware, activated (01)",
            value: Hello {
                serial: SERIAL.into(),
                status: KeyStatus::Active,
                firmware: FIRMWARE.into(),
                activated: true,
            },
            hex: "074c4b2d303030310105312e302e3001",
        },
    ]);
    check(&[Vector {
        what: "serial, firmware, status Active (1), 200 free slots (varint c8 01), battery 87 (0x57)",
        value: Info {
            serial: SERIAL.into(),
            firmware: FIRMWARE.into(),
            status: KeyStatus::Active,
            free_slots: 200,
            battery_percent: 87,
        },
        hex: "074c4b2d3030303105312e302e3001c80157",
    }]);
}

#[test]
fn accounts_and_sealed() {
    check(&[Vector {
        what: "id 1, name (9 bytes), login type DomainAccount (0), domain, login, directory-managed (01)",
        value: account(),
        hex: "0109436f72706f7261746500074558414d504c4505616c69636501",
    }]);
    check(&[Vector {
        what: "the account with login type Other (2), not directory-managed (00); no password (00), one \
               staged (01)",
        value: AccountListing {
            account: Account { login_type: LoginType::Other, directory_managed: false, ..account() },
            has_password: false,
            has_staged: true,
        },
        hex: "0109436f72706f7261746502074558414d504c4505616c696365000001",
    }]);
    check(&[Vector {
        what: "the 32-byte encapsulated key, without a length; the ciphertext, with its length",
        value: Sealed { encapsulated_key: [0x11; 32], ciphertext: vec![0x22; 4] },
        hex: "1111111111111111111111111111111111111111111111111111111111111111\
              0422222222",
    }]);
}

#[test]
fn frames() {
    let vectors = [
        Vector {
            what: "type 01, the Noise message as is",
            value: Frame::HandshakeInit(vec![0xaa, 0xbb]),
            hex: "01aabb",
        },
        Vector { what: "type 02, an empty body", value: Frame::HandshakeReply(vec![]), hex: "02" },
        Vector { what: "type 03, the Noise message as is", value: Frame::Transport(vec![1, 2, 3]), hex: "03010203" },
        Vector {
            what: "type 04, the error encoded: WrongServer (variant 13)",
            value: Frame::Refused(KeyError::WrongServer),
            hex: "040d",
        },
        Vector {
            what: "type 04, the error encoded: WrongActivationCode (2), 1 try left",
            value: Frame::Refused(KeyError::WrongActivationCode { remaining: 1 }),
            hex: "040201",
        },
    ];
    for v in vectors {
        assert_eq!(hex(&v.value.encode()), v.hex, "{}", v.what);
        assert_eq!(Frame::decode(&unhex(v.hex)), Ok(v.value), "{}", v.what);
    }
}

/// Frames in chunks: the chunks' bytes, and the frames they reassemble into.
#[test]
fn chunks() {
    let counting: Vec<u8> = (0..40).collect();
    let vectors: [(&str, &[u8], usize, &[&str]); 3] = [
        (
            "frame 0, a 2-byte frame in one chunk: id 00, index 00, flags LAST (01), length 0002, the frame",
            &[0x04, 0x0d],
            20,
            &["0000010002040d"],
        ),
        (
            "frame 1, bytes 00 to 27 at ATT_MTU 23 (20-byte chunks): length 0028 and 15 bytes, then 17 \
             bytes, then the last 8 with LAST",
            &counting,
            20,
            &[
                "0100000028000102030405060708090a0b0c0d0e",
                "0101000f101112131415161718191a1b1c1d1e1f",
                "0102012021222324252627",
            ],
        ),
        (
            "frame 2, the same 40 bytes at ATT_MTU 247 (244-byte chunks): one chunk",
            &counting,
            244,
            &["0200010028000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627"],
        ),
    ];
    let mut chunker = Chunker::default();
    let mut reassembler = Reassembler::default();
    for (what, frame, chunk_size, expected) in vectors {
        let chunks = chunker.split(frame, chunk_size).unwrap();
        assert_eq!(chunks.iter().map(|c| hex(c)).collect::<Vec<_>>(), expected, "{what}");
        let delivered: Vec<Vec<u8>> = expected.iter().filter_map(|c| reassembler.push(&unhex(c), 0).unwrap()).collect();
        assert_eq!(delivered, [frame], "{what}");
    }
}

#[test]
fn key_identity_and_activation() {
    // A seed's key pair: the X25519 secret is the first 32 bytes of ChaCha20 keyed by the seed.
    let key = KeyPair::from_seed(KEY_SEED);
    assert_eq!(hex(key.secret.as_ref()), "023f37203a2476c42566a61cc55c3ca875dbb4cc41c0deb789f8e7bf88183638");
    assert_eq!(hex(&key.public), "d53b9fea1dd4d570dbe38180767c236456ca6633f103f1aa0637e7b613d25274");
    assert_eq!(
        hex(&KeyPair::from_seed(SERVER_SEED).public),
        "c5c4aede10f07dc551ae692813183793bbcc96f56020f8e11dcb8e4824871338"
    );
    // "latchkey-key-v1" then the serial.
    assert_eq!(hex(&crypto::prologue(SERIAL)), "6c617463686b65792d6b65792d76314c4b2d30303031");
    // SHA-256("latchkey-activation-v1" || serial || 00 || code).
    assert_eq!(
        hex(&crypto::activation_hash(SERIAL, ACTIVATION_CODE)),
        "9f2cc5e9f8968b6c0669ba632c989144155fd78b2bc08b47290528af7183a944"
    );
    assert_ne!(crypto::activation_hash(SERIAL, ACTIVATION_CODE), crypto::activation_hash(SERIAL, "12345679"));
}

#[test]
fn sealed_delivery() {
    let key = KeyPair::from_seed(KEY_SEED);
    // "latchkey-sealed-v1" || serial || 00 || account 0001 || counter 00000002.
    assert_eq!(hex(&sealed::context(SERIAL, 1, 2)), "6c617463686b65792d7365616c65642d76314c4b2d3030303100000100000002");
    // Sealed to the key of KEY_SEED, for account 1 at counter 2, with the sender's seed [5; 32].
    let password = Secret::new("Reset-Pass-1");
    let encapsulated_key = "f831760add06883b0f2ccb1d19473dc2c203c2320126dd593e06d8acaca84f21";
    let ciphertext = "aff538d19a549f1351b9cb57c71956523130cab69666a59b8827826d";
    let value = sealed::seal(&key.public, SERIAL, 1, 2, &password, [5; 32]).unwrap();
    assert_eq!(hex(&value.encapsulated_key), encapsulated_key);
    assert_eq!(hex(&value.ciphertext), ciphertext);

    let fixed = Sealed { encapsulated_key: unhex(encapsulated_key).try_into().unwrap(), ciphertext: unhex(ciphertext) };
    assert_eq!(sealed::open(&key.secret, SERIAL, 1, 2, &fixed), Ok(password));
    assert_eq!(sealed::open(&key.secret, SERIAL, 1, 3, &fixed), Err(KeyError::SealedInvalid));
}

/// A key with fixed randomness that always confirms presence and never fails to store.
struct FixedPlatform(Seed);

impl Platform for FixedPlatform {
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

/// A whole session with fixed seeds: the handshake, then `[Info]` and its answer.
#[test]
fn session() {
    let key_public = KeyPair::from_seed(KEY_SEED).public;
    let server = KeyPair::from_seed(SERVER_SEED);
    let mut key = Device::new(Vault::manufacture(SERIAL, FIRMWARE, KEY_SEED, ACTIVATION_CODE, 16));
    let mut platform = FixedPlatform([4; 32]);

    // HandshakeInit: the server's ephemeral key (32), its encrypted static key (32 + 16), an empty
    // payload's tag (16).
    let init_hex = "01\
                    403e5376b7e466f103572da5ac47cab01c7226109925ffb2b20e12c3f3476a56\
                    5b9352bdfa6b2c6a0ecd7fba35170ed9c18b6e9faf9b0f1c0e53dcd52e8b86f6\
                    23aec01e1f21028767485f05962469a5\
                    8bed8dd231b7c95ddbb44bc7ef43e03c";
    // HandshakeReply: the key's ephemeral key (32), then its Hello encrypted (16 + 16).
    let reply_hex = "02\
                     325420fcc13cc3a0f84d673c85f59c6c2764afa49e256068c04025fb1855ef17\
                     151f983cd27fb5225ea6a1b1f00a8899\
                     8fe1022da471ead4ef22f45ea80eb14f";
    // Transport: the request [Info] (0100) encrypted, then its tag.
    let request_hex = "0374b9\
                       5d608c704aa16705f438ab80b6f029a3";
    // Transport: the response [Ok(Info)] (20 bytes) encrypted, then its tag.
    let response_hex = "03da225362a31f9c9f11d01ca4a246979822ef9044\
                        92eeb25b47e726990b93946f020ca2d6";

    let (mut host, init) = HostSession::start(&server, &key_public, SERIAL, [3; 32]).unwrap();
    assert!(!host.is_open(), "not before the key's reply");
    assert_eq!(hex(&init), init_hex);
    let reply = key.on_frame(&unhex(init_hex), &mut platform).unwrap();
    assert_eq!(hex(&reply), reply_hex);
    let HostEvent::Established(hello) = host.on_frame(&unhex(reply_hex)).unwrap() else { panic!("no hello") };
    assert!(host.is_open());
    assert_eq!(
        hello,
        Hello { serial: SERIAL.into(), status: KeyStatus::Ready, firmware: FIRMWARE.into(), activated: false }
    );

    let request = host.request(&one(Command::Info)).unwrap();
    assert_eq!(hex(&request), request_hex);
    let response = key.on_frame(&unhex(request_hex), &mut platform).unwrap();
    assert_eq!(hex(&response), response_hex);
    let HostEvent::Response(response) = host.on_frame(&unhex(response_hex)).unwrap() else { panic!("no response") };
    let info = Info {
        serial: SERIAL.into(),
        firmware: FIRMWARE.into(),
        status: KeyStatus::Ready,
        free_slots: 16,
        battery_percent: 100,
    };
    assert_eq!(response, answer(Ok(Reply::Info(info))));
}
