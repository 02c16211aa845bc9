//! Any bytes: decoding frames and every message type never panics, and what decodes
//! re-encodes to something that decodes to the same value.
#![no_main]

use latchkey_protocol::frame::Frame;
use latchkey_protocol::message::{decode, encode, Beacon, Hello, Request, Response};
use libfuzzer_sys::fuzz_target;

fn roundtrip<T>(data: &[u8])
where
    T: serde::Serialize + for<'a> serde::Deserialize<'a> + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = decode::<T>(data) {
        assert_eq!(decode::<T>(&encode(&value)).ok(), Some(value));
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = Frame::decode(data) {
        assert_eq!(Frame::decode(&frame.encode()).ok(), Some(frame));
    }
    roundtrip::<Request>(data);
    roundtrip::<Response>(data);
    roundtrip::<Hello>(data);
    roundtrip::<Beacon>(data);
});
