//! The test vectors in `protocol/vectors/` are exactly what the reference implementation
//! produces (`LATCHKEY_WRITE_VECTORS=1` rewrites them: `cargo xtask vectors`), and they hold
//! up when checked the way a vendor would, from the published keys alone.

use std::path::PathBuf;

use hpke::{Deserializable, Kem, Serializable};
use latchkey_protocol::message::{decode, Command, Sealed};
use serde_json::Value;

fn dir() -> PathBuf {
    // Read when run: a test binary built in another clone sharing the target folder is reused.
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")).join("../protocol/vectors")
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("a hex string")).expect("hex")
}

fn file(name: &str) -> Value {
    let text = std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).expect("json")
}

#[test]
fn the_published_vectors_are_what_the_reference_implementation_produces() {
    let generated = keysim::vectors::all().expect("the vectors");
    if std::env::var_os("LATCHKEY_WRITE_VECTORS").is_some() {
        std::fs::create_dir_all(dir()).unwrap();
        for (name, text) in &generated {
            std::fs::write(dir().join(name), text).unwrap();
        }
    }
    assert_eq!(generated.len(), 5);
    for (name, text) in generated {
        let published = std::fs::read_to_string(dir().join(name)).unwrap_or_default();
        assert!(published == text, "protocol/vectors/{name} is stale: run `cargo xtask vectors` and review the diff");
    }
}

#[test]
fn every_command_vector_decodes_to_its_variant_in_table_order() {
    let messages = file("messages.json");
    let commands = messages["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 14, "every command");
    for (index, case) in commands.iter().enumerate() {
        let encoded = bytes(&case["postcard"]);
        assert_eq!(usize::from(encoded[0]), index, "{}: the first byte is the variant index", case["name"]);
        let command: Command = decode(&encoded).expect("decodes");
        assert_eq!(format!("{command:?}"), case["value"].as_str().unwrap());
    }
    for (index, error) in messages["errors"].as_array().unwrap().iter().enumerate() {
        assert_eq!(error["code"].as_u64().unwrap(), index as u64 + 1, "an error's code is its index + 1");
        assert_eq!(u64::from(bytes(&error["postcard"])[0]), index as u64);
    }
}

#[test]
fn the_handshake_vector_checks_out_from_its_published_keys() {
    let h = file("handshake.json");
    let public = |secret: &Value| {
        let secret: [u8; 32] = bytes(secret).try_into().unwrap();
        x25519_dalek::x25519(secret, x25519_dalek::X25519_BASEPOINT_BYTES)
    };
    assert_eq!(public(&h["server_static_secret"]).to_vec(), bytes(&h["server_static_public"]));
    assert_eq!(public(&h["key_static_secret"]).to_vec(), bytes(&h["key_static_public"]));
    // IK's first message starts with the initiator's ephemeral public key, the reply with the
    // responder's (after the one-byte frame type).
    let init = bytes(&h["frame_1_handshake_init"]);
    let reply = bytes(&h["frame_2_handshake_reply"]);
    assert_eq!((init[0], reply[0]), (1, 2), "frame types");
    assert_eq!(&init[1..33], public(&h["server_ephemeral_secret"]).as_slice());
    assert_eq!(&reply[1..33], public(&h["key_ephemeral_secret"]).as_slice());
    let prologue = bytes(&h["prologue"]);
    assert_eq!(prologue, [b"latchkey-key-v1".as_slice(), h["serial"].as_str().unwrap().as_bytes()].concat());
}

#[test]
fn the_sealed_vector_opens_with_the_keys_secret_and_its_ephemeral_derives_as_published() {
    type Kem = hpke::kem::X25519HkdfSha256;
    let s = file("sealed.json");
    let (_, ephemeral) = Kem::derive_keypair(&bytes(&s["sender_ephemeral_ikm"]));
    assert_eq!(ephemeral.to_bytes().to_vec(), bytes(&s["encapsulated_key"]));
    let secret = <Kem as hpke::Kem>::PrivateKey::from_bytes(&bytes(&s["key_static_secret"])).unwrap();
    let encapsulated = <Kem as hpke::Kem>::EncappedKey::from_bytes(&bytes(&s["encapsulated_key"])).unwrap();
    let context = bytes(&s["info_and_aad"]);
    let opened = hpke::single_shot_open::<hpke::aead::AesGcm256, hpke::kdf::HkdfSha256, Kem>(
        &hpke::OpModeR::Base,
        &secret,
        &encapsulated,
        &context,
        &bytes(&s["ciphertext"]),
        &context,
    )
    .expect("opens");
    assert_eq!(opened, bytes(&s["plaintext"]), "the plaintext is the password's UTF-8");
    let command: Command = decode(&bytes(&s["command"]["postcard"])).unwrap();
    let Command::DeliverSealed { sealed: Sealed { ciphertext, .. }, .. } = command else { panic!() };
    assert_eq!(ciphertext, bytes(&s["ciphertext"]));
}

#[test]
fn the_chunks_reassemble_to_the_frame_at_both_mtus() {
    let c = file("chunking.json");
    let frame = bytes(&c["frame"]);
    for at in c["at"].as_array().unwrap() {
        let size = at["chunk_size"].as_u64().unwrap() as usize;
        let mut reassembler = latchkey_protocol::link::Reassembler::default();
        let mut whole = None;
        for chunk in at["chunks"].as_array().unwrap() {
            let chunk = bytes(chunk);
            assert!(chunk.len() <= size, "a chunk fits the characteristic");
            whole = reassembler.push(&chunk, 0).unwrap().or(whole);
        }
        assert_eq!(whole.as_deref(), Some(frame.as_slice()), "at ATT_MTU {}", at["att_mtu"]);
    }
}
