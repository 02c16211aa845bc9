//! The "Confirm it's you" section as HTML text, painted by `step_up`. Written by hand because
//! the first load has a size budget: through the view macro, these few steps weighed several
//! times what the whole feature may add. Everything from the server is escaped, except the QR
//! code's SVG, which the server draws.

use std::fmt::Write;

use latchkey_api::Problem;

/// What the user can confirm with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Means {
    pub enrolled: bool,
    pub may_enrol: bool,
    pub key_confirms: bool,
}

/// Where the section stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A code from the authenticator app (or a recovery code).
    Code,
    /// No app yet: setting one up is offered.
    Offer,
    /// The app's secret, shown once, and its first code.
    Scan { secret: String, qr_svg: String },
    /// The recovery codes, shown once; `until`: the confirmation the first code gave.
    Saved { codes: Vec<String>, until: i64 },
    /// No code can be given: the key only, or whom to call.
    Nothing,
}

impl Step {
    pub fn first(means: Means) -> Step {
        match (means.enrolled, means.may_enrol) {
            (true, _) => Step::Code,
            (false, true) => Step::Offer,
            (false, false) => Step::Nothing,
        }
    }
}

/// The section's HTML (a fieldset), `help_contact` being whom to call when nothing can
/// confirm. Its ids are fixed (one section per page): the code field [`CODE`], the error
/// region `step-up-error`. Buttons name their action in `data-act`, fields the action Enter
/// takes in `data-enter`.
pub fn section(step: &Step, means: Means, help_contact: &str) -> String {
    let mut html = String::from(
        r#"<fieldset id="step-up-section" data-testid="step-up-section" tabindex="-1" style="display:grid;gap:.35rem;border:0;padding:0"><legend style="font-weight:600">Confirm it's you</legend>"#,
    );
    let field = |label: &str, id: &str, testid: &str, act: &str| {
        format!(
            r#"<label for="{id}">{label}</label><input id="{id}" data-testid="{testid}" inputmode="numeric" autocomplete="one-time-code" required aria-describedby="step-up-error" data-enter="{act}"><button type="button" data-act="{act}">Confirm</button>"#
        )
    };
    match step {
        Step::Code => html += &field("Code from your authenticator app (or a recovery code)", CODE, CODE, "code"),
        Step::Offer => {
            html += r#"<p class="hint">A change needs a code from an authenticator app.</p><button type="button" id="step-up-start" data-testid="totp-enrol-start" data-act="enrol">Set up an authenticator app</button>"#;
        }
        Step::Scan { secret, qr_svg } => {
            let _ = write!(
                html,
                r#"<p>Scan this with your authenticator app, or type in the secret.</p><div class="qr" data-testid="totp-qr" role="img" aria-label="QR code for your authenticator app">{qr_svg}</div><p>Secret: <code data-testid="totp-secret">{}</code></p>"#,
                escape(secret)
            );
            html += &field("Code the app shows", "step-up-totp", "totp-confirm-code", "totp");
        }
        Step::Saved { codes, .. } => {
            html += r#"<p>Recovery codes, for a lost phone: each works once. Save them now; they are not shown again.</p><ul data-testid="recovery-codes">"#;
            for code in codes {
                let _ = write!(html, "<li><code>{}</code></li>", escape(code));
            }
            html += r#"</ul><button type="button" id="step-up-saved" data-testid="recovery-continue" data-act="saved">I saved them</button>"#;
        }
        Step::Nothing if means.key_confirms => {}
        Step::Nothing => {
            let _ = write!(
                html,
                r#"<p class="alert" role="alert" data-code="no_second_factor">A change needs a second factor, and you have none set up. Contact {}.</p>"#,
                escape(help_contact)
            );
        }
    }
    html += r#"<div id="step-up-error"></div>"#;
    // In `key_or_totp`, the key's own operations ask for a press on it: that confirms too.
    if means.key_confirms {
        let use_key = if matches!(step, Step::Nothing) { "Change it with" } else { "Or use" };
        let _ = write!(
            html,
            r#"<p class="hint" data-testid="step-up-key-hint">{use_key} your key in the key panel: a press on it confirms it is you.</p>"#
        );
    }
    html + "</fieldset>"
}

/// The code field's id (and test id).
pub const CODE: &str = "step-up-code";

/// An error as the `Alert` component shows it.
pub fn alert(problem: &Problem) -> String {
    format!(
        r#"<div class="alert" role="alert" data-code="{}"><p>{}</p></div>"#,
        escape(&problem.code),
        escape(&problem.message)
    )
}

/// For text and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn means(enrolled: bool, may_enrol: bool, key_confirms: bool) -> Means {
        Means { enrolled, may_enrol, key_confirms }
    }

    fn section(step: &Step, means: Means) -> String {
        super::section(step, means, "the <help> desk")
    }

    #[test]
    fn what_the_server_says_is_escaped() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;>&#39;&amp;&#39;&lt;/a>");
        let html = section(&Step::Nothing, means(false, false, false));
        assert!(html.contains("Contact the &lt;help> desk."));
        assert!(alert(&Problem::new("wrong_code", "<b>")).contains("<p>&lt;b></p>"));
        let scan = Step::Scan { secret: "AB<C".into(), qr_svg: "<svg></svg>".into() };
        let html = section(&scan, means(false, true, false));
        assert!(html.contains(">AB&lt;C</code>"));
        assert!(html.contains(r#"aria-label="QR code for your authenticator app"><svg></svg></div>"#));
    }

    #[test]
    fn the_first_step_follows_the_means() {
        assert_eq!(Step::first(means(true, true, true)), Step::Code);
        assert_eq!(Step::first(means(false, true, false)), Step::Offer);
        assert_eq!(Step::first(means(false, false, true)), Step::Nothing);
    }

    #[test]
    fn a_code_field_names_its_action() {
        let html = section(&Step::Code, means(true, false, false));
        assert!(html.contains(r#"<input id="step-up-code" data-testid="step-up-code""#));
        assert!(html.contains(r#"data-enter="code"><button type="button" data-act="code">Confirm</button>"#));
        let offer = section(&Step::Offer, means(false, true, false));
        assert!(offer.contains(r#"data-testid="totp-enrol-start" data-act="enrol""#));
    }

    #[test]
    fn the_key_is_pointed_to_where_it_can_confirm() {
        let key_only = section(&Step::Nothing, means(false, false, true));
        assert!(key_only.contains(">Change it with your key") && !key_only.contains("no_second_factor"));
        assert!(section(&Step::Code, means(true, false, true)).contains(">Or use your key"));
        assert!(!section(&Step::Code, means(true, false, false)).contains("step-up-key-hint"));
    }

    #[test]
    fn recovery_codes_are_listed_once_with_their_continue() {
        let saved = Step::Saved { codes: vec!["abcd-1234".into(), "efgh-5678".into()], until: 9 };
        let html = section(&saved, means(false, true, false));
        assert!(html.contains("<li><code>abcd-1234</code></li><li><code>efgh-5678</code></li>"));
        assert!(html.contains(r#"data-testid="recovery-continue" data-act="saved""#));
    }
}
