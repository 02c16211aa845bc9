//! The reference key: Latchkey's key firmware, run in software. Tests, the demo and the
//! benchmarks use it; its behaviour is the protocol's (PROTOCOL.md).
//!
//! Deterministic: randomness comes from a seed, time from the caller. Storage is encrypted at
//! rest (AES-256-GCM), in memory or in a file, and power lost during a write leaves the vault as
//! it was before or after that write (see [`storage`]).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod key;
pub mod link;
mod presence;
pub mod storage;
#[cfg(not(target_arch = "wasm32"))]
pub mod vectors;

pub use key::{Manufactured, SimKey};
pub use presence::Presence;
