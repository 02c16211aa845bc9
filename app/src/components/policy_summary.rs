use latchkey_api::{PasswordStatus, PolicySource};
use latchkey_policy::Mode;
use leptos::prelude::*;

use super::format::local_datetime;
use crate::dates;

/// The policy and the dates, shown before the user types anything; they follow the status as
/// it is loaded again (after a change: the new expiry at once).
#[component]
pub fn PolicySummary(status: RwSignal<Option<PasswordStatus>>) -> impl IntoView {
    move || status.get().map(summary)
}

fn summary(status: PasswordStatus) -> impl IntoView {
    let p = &status.policy;
    let now = status.now;
    let mut lines: Vec<String> = vec![format!("At least {} characters", p.min_length)];
    if p.mode == Mode::ActiveDirectory && p.complexity {
        lines.push(
            "Three of: uppercase, lowercase, digits, symbols, other letters; not your logon name or parts of your name"
                .into(),
        );
    }
    if p.history_length > 0 {
        lines.push(format!("Must differ from your last {} passwords", p.history_length));
    }
    if p.min_age_secs > 0 {
        lines.push(format!("Can be changed once every {}", duration(p.min_age_secs)));
    }
    let source = match &status.policy_source {
        PolicySource::Domain => "the domain policy".to_string(),
        PolicySource::FineGrained { name } => format!("the password policy \"{name}\""),
        PolicySource::FineGrainedUnreadable { name } => {
            format!("the password policy \"{name}\" (details not readable: the domain policy is shown)")
        }
        PolicySource::Portal => "Latchkey's policy for portal accounts".to_string(),
    };
    let expiry = status
        .expires_at
        .map(|at| format!("Your password expires {} ({}).", dates::relative(at, now), local_datetime(at)));
    let earliest = status.earliest_change.map(|at| {
        format!(
            "Your password was changed recently: the next change is allowed {} ({}).",
            dates::wait(at, now),
            local_datetime(at)
        )
    });
    view! {
        <div class="policy" role="group" aria-label="Password policy">
            <h2>"Rules for a new password"</h2>
            <p class="hint">"From " {source} "."</p>
            <ul>{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
            {expiry.map(|e| view! { <p data-testid="expiry">{e}</p> })}
            {earliest.map(|e| view! { <p class="notice" data-testid="earliest-change">{e}</p> })}
        </div>
    }
}

fn duration(secs: u64) -> String {
    match secs {
        s if s >= 86_400 => format!("{} day(s)", s / 86_400),
        s if s >= 3600 => format!("{} hour(s)", s / 3600),
        s if s >= 60 => format!("{} minute(s)", s / 60),
        s => format!("{s} second(s)"),
    }
}
