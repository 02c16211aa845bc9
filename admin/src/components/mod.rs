//! One component per file.

pub mod admin_app;
pub mod audit_page;
pub mod audit_table;
pub mod confirm_dialog;
pub mod dashboard;
pub mod directory_check;
pub mod employee_accounts;
pub mod employee_facts;
pub mod employee_keys;
pub mod employee_list;
pub mod employee_page;
pub mod employee_totp;
pub mod key_badge;
pub mod keys_page;
pub mod mail_card;
pub mod moment;
pub mod reset_form;
pub mod totp_enrol;
pub mod totp_verify;
