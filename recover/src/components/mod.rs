//! One component per file.

pub mod error_box;
pub mod lost_key;
pub mod own_key_row;
pub mod recover_app;
pub mod recover_complete;
pub mod with_key;
pub mod without_key;
