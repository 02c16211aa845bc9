use leptos::prelude::*;

use crate::focus;
use crate::key_session::{step_text, KeySession, Outcome};

const OUTCOME: &str = "key-outcome";

/// Where a key operation stands, and how it ended; the ending takes the focus.
#[component]
pub fn KeyProgress(key: KeySession) -> impl IntoView {
    // As an operation ends (not when this is shown again with an old ending).
    Effect::new(move |before: Option<bool>| {
        let ended = key.outcome.with(|o| matches!(o, Some(Outcome::Done(_) | Outcome::Refused { .. })));
        if ended && before == Some(false) {
            focus::soon(OUTCOME);
        }
        ended
    });
    view! {
        {move || key.step.get().map(|s| view! { <p role="status" class="progress" data-testid="key-step">{step_text(&s)}</p> })}
        {move || key.outcome.get().and_then(|o| match o {
            Outcome::Done(m) => Some(view! {
                <p id=OUTCOME class="success" role="status" tabindex="-1" data-testid="key-done">{m}</p>
            }.into_any()),
            Outcome::Refused { code, message } => Some(view! {
                <p id=OUTCOME class="alert" role="alert" tabindex="-1" data-testid="key-refused" data-code=code>{message}</p>
            }.into_any()),
            Outcome::SignedIn(_) => None,
        })}
    }
}
