//! One component per file.

pub mod activation_form;
pub mod alert;
pub mod app;
pub mod change_form;
pub mod change_page;
pub mod checklist_view;
pub mod demo_key_button;
pub mod format;
pub mod how_choice;
pub mod key_accounts;
pub mod key_only_fields;
pub mod key_panel;
pub mod key_progress;
pub mod key_sign_in;
pub mod new_password;
pub mod offline_message;
pub mod policy_summary;
pub mod sign_in_page;
pub mod strength_meter;
pub mod target_choice;
