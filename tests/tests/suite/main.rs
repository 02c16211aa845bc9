//! Every black-box suite in one test binary (one link of the server, not five), each a module:
//! `cargo xtask test` starts the Samba AD DC, PostgreSQL and the browser's needs first, then
//! runs them all, and the store-backed ones (`api::`, `relay::`, `admin::`, `step_up::`, `mail::`,
//! `recovery::`) again on PostgreSQL.

mod admin;
mod api;
mod contract;
mod e2e;
mod faults;
mod mail;
mod postgres;
mod recovery;
mod relay;
mod replicas;
mod step_up;
