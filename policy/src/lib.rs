//! Password policy: the rules a new password must pass, evaluated the same way in the browser
//! (compiled to wasm, live as the user types) and on the server (before anything reaches the
//! directory).
//!
//! Pure by design: no I/O and no clock. Time is a parameter ([`timing`]), and the one rule that
//! needs large data, the blocklist, asks the caller through [`Blocklist`] so the big lists stay
//! on the server.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod categories;
mod letters;
mod policy;
mod report;
mod rules;
pub mod timing;

pub use categories::{Category, CategorySet};
pub use policy::{Account, Mode, Policy};
pub use report::{Outcome, Report, RuleResult};
pub use rules::{check, Blocklist, NoBlocklist, Rule, MAX_LENGTH};
