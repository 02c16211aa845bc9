//! One component per file.

pub mod admin_app;
pub mod audit_page;
pub mod employee_list;
pub mod employee_page;
pub mod keys_page;
pub mod reset_form;
pub mod totp_enrol;
pub mod totp_verify;
