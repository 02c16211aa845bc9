//! Key sessions: the server's side of the key protocol, spoken end to end with a key through
//! the page's relay.
//!
//! Invariants:
//! - The page sees only ciphertext frames and the events here; passwords read from the key
//!   never leave this module except into a directory modify.
//! - A key's registry status gates everything: only reserved (first connection, activation)
//!   and active keys reach the flows; a locked, suspended, deactivated or compromised key gets
//!   its status applied on the key and a refusal that names it.
//! - A change in the directory and on the key is journaled step by step; an interrupted one is
//!   finished or undone on the next connection from pwdLastSet, never by trial binds.
//! - One session per key at a time.

mod channel;
mod connect;
mod flows;
pub mod generate;
mod lease;
mod reconcile;
mod recover;
mod staged;

pub use channel::{Channel, Failure};
pub use connect::{connect, Connected};
pub use flows::serve;
