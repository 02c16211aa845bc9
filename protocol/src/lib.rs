//! The Latchkey key protocol (see PROTOCOL.md): the link layer that carries frames over BLE
//! characteristics, the messages, the Noise channel between server and key, and sealed
//! delivery of passwords.
//!
//! Pure: no I/O, no clock (times are parameters), no randomness of its own (callers pass
//! seeds). Both sides live here: [`host`] is used by the server, [`device`] by the key's
//! firmware (the reference key, `keysim`).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod crypto;
pub mod device;
pub mod frame;
pub mod gatt;
pub mod host;
pub mod link;
pub mod message;
pub mod sealed;

pub use message::KeyError;
