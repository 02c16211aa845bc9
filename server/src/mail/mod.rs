//! Mail: the SMTP settings, the transport (lettre, TLS verified unless explicitly turned off),
//! and the messages' wording. What is sent and when is the domain layer's
//! (`service::mail`); this part only knows how to write and send a message.

mod templates;
mod transport;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use templates::{Notice, Rendered, Wording};
pub use transport::{Mailer, Outgoing};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    pub host: String,
    /// 465 for `implicit`, 587 for `starttls`, 25 for `none` when absent.
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: MailTls,
    /// The CA that signs the SMTP server's certificate (instead of the system's roots).
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate. Logged at every start; for test benches only.
    #[serde(default)]
    pub tls_insecure_skip_verify: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    /// `Name <address>` or an address.
    pub from: String,
    /// Reminders go out a day at a time for the last `reminder_days` days before expiry.
    #[serde(default = "default_reminder_days")]
    pub reminder_days: u32,
    /// How often the reminder job looks (0: only when an administrator runs it).
    #[serde(default = "default_reminder_interval")]
    pub reminder_interval_secs: u64,
    /// The first retry's delay after a failed send; each later one waits twice as long.
    #[serde(default = "default_retry")]
    pub retry_secs: u64,
    /// Attempts before a message is given up (and shown so to administrators).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailTls {
    /// TLS from the first byte (SMTPS).
    Implicit,
    /// STARTTLS, required: a server that does not offer it is not used.
    #[default]
    Starttls,
    /// In the clear: explicit, and logged at every start.
    None,
}

fn default_reminder_days() -> u32 {
    7
}
fn default_reminder_interval() -> u64 {
    3600
}
fn default_retry() -> u64 {
    60
}
fn default_max_attempts() -> u32 {
    8
}
fn default_timeout() -> u64 {
    10
}

impl MailConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            MailTls::Implicit => 465,
            MailTls::Starttls => 587,
            MailTls::None => 25,
        })
    }

    /// When the `attempt`-th failure (1-based) is tried again, or `None`: given up.
    pub fn retry_after(&self, attempt: u32) -> Option<u64> {
        (attempt < self.max_attempts).then(|| self.retry_secs.saturating_mul(1 << (attempt - 1).min(10)).min(6 * 3600))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> MailConfig {
        toml_config("host = \"smtp.example.com\"\nfrom = \"Latchkey <latchkey@example.com>\"\n")
    }

    fn toml_config(text: &str) -> MailConfig {
        use figment::providers::Format;
        figment::Figment::from(figment::providers::Toml::string(text)).extract().unwrap()
    }

    #[test]
    fn defaults_are_starttls_on_587_and_a_week_of_reminders() {
        let c = config();
        assert_eq!((c.tls, c.port(), c.reminder_days), (MailTls::Starttls, 587, 7));
        let implicit = toml_config("host = \"h\"\nfrom = \"a@b\"\ntls = \"implicit\"\n");
        assert_eq!(implicit.port(), 465);
    }

    #[test]
    fn retries_back_off_then_give_up() {
        let c = config();
        assert_eq!(c.retry_after(1), Some(60));
        assert_eq!(c.retry_after(2), Some(120));
        assert_eq!(c.retry_after(7), Some(3840));
        assert_eq!(c.retry_after(8), None, "the eighth failure is the last");
    }
}
