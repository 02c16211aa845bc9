//! Every sentence a message says, in one place: expiry reminders, notices of what was done to
//! an account, and the test message. Plain text and HTML say the same. No message ever holds a
//! password, a second-factor secret, or a link that signs anyone in: links lead to the portal,
//! where the user signs in as always.

/// The organisation's details every message carries.
pub struct Wording<'a> {
    pub organisation: &'a str,
    pub help_contact: &'a str,
    /// The portal's address; messages link to it when known.
    pub public_url: Option<&'a str>,
}

/// What happened to an account, told to its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The owner changed the password on the password page.
    ChangedOnPage,
    /// The owner changed it through their key (`serial`).
    ChangedWithKey { serial: String },
    /// An administrator set a new password.
    ResetByAdministrator,
    /// A key of theirs changed status (`status` as the registry names it).
    KeyStatusChanged { serial: String, status: String },
    /// A key was assigned to them.
    KeyAssigned { serial: String },
    /// An administrator removed their authenticator app.
    AuthenticatorReset,
    /// An authenticator app was set up for the account.
    AuthenticatorEnrolled,
    /// The owner unlocked the account with their key.
    UnlockedWithKey { serial: String },
    /// The owner set a new password with their key ("Can't sign in?").
    RecoveredWithKey { serial: String },
    /// The owner set a new password without the key, with their authenticator and a mailed code.
    RecoveredWithoutKey,
    /// The owner reported a key lost or stolen.
    KeyReported { serial: String, reason: String },
}

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Notice {
    fn what(&self) -> String {
        match self {
            Notice::ChangedOnPage => "Your password was changed on the password portal.".into(),
            Notice::ChangedWithKey { serial } => format!("Your password was changed with your key {serial}."),
            Notice::ResetByAdministrator => "An administrator set a new password for your account.".into(),
            Notice::KeyStatusChanged { serial, status } => format!("Your key {serial} is now {status}."),
            Notice::KeyAssigned { serial } => format!("The key {serial} was assigned to you."),
            Notice::AuthenticatorReset => "An administrator removed the authenticator app from your account.".into(),
            Notice::AuthenticatorEnrolled => "An authenticator app was set up for your account.".into(),
            Notice::UnlockedWithKey { serial } => format!("Your account was unlocked with your key {serial}."),
            Notice::RecoveredWithKey { serial } => {
                format!("A new password was set with your key {serial}; the key holds it.")
            }
            Notice::RecoveredWithoutKey => {
                "A new password was set without your key, with your authenticator app and a code sent to your \
                 recovery address."
                    .into()
            }
            Notice::KeyReported { serial, reason } => {
                format!(
                    "Your key {serial} was reported {reason}: it is out of service and is wiped when it next connects."
                )
            }
        }
    }

    fn subject(&self) -> &'static str {
        match self {
            Notice::ChangedOnPage | Notice::ChangedWithKey { .. } => "Your password was changed",
            Notice::ResetByAdministrator => "Your password was reset",
            Notice::KeyStatusChanged { .. } | Notice::KeyAssigned { .. } => "A change to your key",
            Notice::AuthenticatorReset | Notice::AuthenticatorEnrolled => "A change to your sign-in",
            Notice::UnlockedWithKey { .. } => "Your account was unlocked",
            Notice::RecoveredWithKey { .. } | Notice::RecoveredWithoutKey => "Your password was reset",
            Notice::KeyReported { .. } => "A change to your key",
        }
    }
}

impl Wording<'_> {
    /// A notice: what was done, when, from where, and what to do if it was not them.
    pub fn notice(&self, name: &str, notice: &Notice, at: i64, from_address: Option<&str>) -> Rendered {
        let when = format_time(at);
        let from = from_address.map(|a| format!(" from {a}")).unwrap_or_default();
        let lines = [
            format!("Hello {name},"),
            format!("{} ({when}{from})", notice.what()),
            format!("If this was not you, contact {} at once.", self.help_contact),
        ];
        self.render(&format!("{}: {}", self.organisation, notice.subject()), &lines, None)
    }

    /// A reminder: the password expires in `days_left` days (at `expires_at`).
    pub fn reminder(&self, name: &str, days_left: i64, expires_at: i64) -> Rendered {
        let days = if days_left == 1 { "1 day".to_string() } else { format!("{days_left} days") };
        let lines = [
            format!("Hello {name},"),
            format!("Your password expires in {days}, on {}.", format_time(expires_at)),
            "Change it before then so that signing in keeps working.".into(),
            format!("Questions? Contact {}.", self.help_contact),
        ];
        let subject = format!("{}: your password expires in {days}", self.organisation);
        self.render(&subject, &lines, Some("Change your password"))
    }

    /// A recovery code, to the recovery address. It signs nobody in alone: the authenticator's
    /// code is needed too.
    pub fn recovery_code(&self, name: &str, code: &str) -> Rendered {
        let lines = [
            format!("Hello {name},"),
            format!("Your recovery code is {code}. It works once, for ten minutes, together with a code from your authenticator app."),
            format!("If you did not ask for it, someone knows your logon name: contact {}.", self.help_contact),
        ];
        self.render(&format!("{}: your recovery code", self.organisation), &lines, None)
    }

    /// `latchkey-server mail test`: proof that the settings work.
    pub fn test(&self) -> Rendered {
        let lines = ["This is a test message from the password portal. Mail settings work.".to_string()];
        self.render(&format!("{}: test message", self.organisation), &lines, None)
    }

    fn render(&self, subject: &str, lines: &[String], link_label: Option<&str>) -> Rendered {
        let mut text = lines.join("\n\n");
        let mut html: String = lines.iter().map(|l| format!("<p>{}</p>", escape(l))).collect();
        if let Some(url) = self.public_url {
            let label = link_label.unwrap_or("Open the password portal");
            text.push_str(&format!("\n\n{label}: {url}"));
            html.push_str(&format!("<p><a href=\"{}\">{}</a></p>", escape(url), escape(label)));
        }
        text.push_str(&format!("\n\n— {}\n", self.organisation));
        html = format!("<!DOCTYPE html><html><body>{html}<p>— {}</p></body></html>", escape(self.organisation));
        Rendered { subject: subject.to_string(), text, html }
    }
}

/// UTC, to the minute: the reader's time zone is unknown here.
fn format_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| unix.to_string())
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wording() -> Wording<'static> {
        Wording {
            organisation: "Ærø & Co", help_contact: "the help desk", public_url: Some("https://pw.example.com/")
        }
    }

    #[test]
    fn a_reminder_links_to_the_portal_and_counts_days() {
        let r = wording().reminder("Zoë <admin>", 1, 1_800_000_000);
        assert_eq!(r.subject, "Ærø & Co: your password expires in 1 day");
        assert!(r.text.contains("Change your password: https://pw.example.com/"), "{}", r.text);
        assert!(r.text.contains("2027-01-15 08:00 UTC"), "{}", r.text);
        assert!(r.html.contains("Hello Zoë &lt;admin&gt;,"), "names are escaped: {}", r.html);
        assert!(r.html.contains("<a href=\"https://pw.example.com/\">"));
        assert!(wording().reminder("a", 3, 0).subject.ends_with("in 3 days"));
    }

    #[test]
    fn a_notice_says_what_when_from_where_and_whom_to_call() {
        let r = wording().notice("Zoë", &Notice::ResetByAdministrator, 1_800_000_000, Some("192.0.2.7"));
        assert!(
            r.text.contains(
                "An administrator set a new password for your account. (2027-01-15 08:00 UTC from 192.0.2.7)"
            ),
            "{}",
            r.text
        );
        assert!(r.text.contains("If this was not you, contact the help desk at once."));
        assert_eq!(r.subject, "Ærø & Co: Your password was reset");
        let bare = Wording { public_url: None, ..wording() }.notice("Zoë", &Notice::ChangedOnPage, 0, None);
        assert!(!bare.text.contains("http"), "no portal address, no link");
    }
}
