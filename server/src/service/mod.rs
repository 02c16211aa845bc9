//! The domain layer between the HTTP edge (`routes`) and the parts (directory, store, key
//! sessions): who may have a session, whom an administrator may act on, and the second factor.
//! Routes extract, call one function here and map its answer; nothing here knows HTTP.

pub mod access;
pub mod audit;
pub mod bootstrap;
pub mod changed;
pub mod dashboard;
pub mod deliveries;
pub mod doctor;
pub mod lockout;
pub mod mail;
pub mod notices;
pub mod own_keys;
pub mod password;
pub mod recovery;
pub mod second_factor;
pub mod sessions;
pub mod step_up;
