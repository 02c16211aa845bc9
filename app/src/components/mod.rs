//! One component per file.

pub mod activation_form;
pub mod alert;
pub mod app;
pub mod change_form;
pub mod change_page;
pub mod checklist_view;
pub mod demo_key_button;
pub mod format;
pub mod key_account;
pub mod key_panel;
pub mod key_sign_in;
pub mod new_password;
pub mod policy_summary;
pub mod sign_in_page;
pub mod strength_meter;
