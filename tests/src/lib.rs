//! The test kit: a handle on the Samba AD DC that `cargo xtask test` starts, users made fresh
//! for each test, and the real server spawned on a random port with a fresh database.

pub mod app;
pub mod bluetooth;
pub mod browser;
pub mod dc;
pub mod keys;

pub use app::{spawn_app, AppOptions, TestApp};
pub use dc::{TestDc, TestUser, UserOptions};
