use latchkey_policy::Outcome;
use leptos::prelude::*;

use crate::checklist::Item;

/// Every rule with its state; a polite live region so screen readers hear changes.
#[component]
pub fn ChecklistView(#[prop(into)] items: Signal<Vec<Item>>) -> impl IntoView {
    view! {
        <ul class="checklist" id="password-rules" aria-live="polite">
            <For each=move || items.get() key=|i| (i.code, i.text.clone(), i.outcome as u8) let:item>
                <li class=state_class(item.outcome) data-rule=item.code data-outcome=state_class(item.outcome)>
                    <span class="mark" aria-hidden="true">{mark(item.outcome)}</span>
                    <span class="sr-only">{state_word(item.outcome)}</span>
                    {item.text}
                </li>
            </For>
        </ul>
    }
}

fn state_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Pending => "pending",
    }
}

fn mark(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "✓",
        Outcome::Failed => "✗",
        Outcome::Pending => "…",
    }
}

fn state_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "Met: ",
        Outcome::Failed => "Not met: ",
        Outcome::Pending => "Checking: ",
    }
}
