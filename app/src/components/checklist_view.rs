use latchkey_policy::Outcome;
use leptos::prelude::*;

use crate::checklist::Item;

/// Every rule with its state; a polite live region so screen readers hear changes. `id` is the
/// list's own (its field's `aria-describedby` names it).
#[component]
pub fn ChecklistView(id: String, #[prop(into)] items: Signal<Vec<Item>>) -> impl IntoView {
    view! {
        <ul class="checklist" id=id aria-live="polite">
            <For
                each=move || items.get()
                key=|i| (i.code, i.text.clone(), i.outcome as u8, i.untested)
                children=|item: Item| {
                    let (look, sign, word) = (state(&item), mark(&item), state_word(&item));
                    view! {
                        <li class=look data-rule=item.code data-outcome=state_class(item.outcome)>
                            <span class="mark" aria-hidden="true">{sign}</span>
                            <span class="sr-only">{word}</span>
                            {item.text}
                        </li>
                    }
                }
            />
        </ul>
    }
}

/// The look: an untested rule is neutral, not "pending" amber.
fn state(item: &Item) -> &'static str {
    if item.untested {
        "untested"
    } else {
        state_class(item.outcome)
    }
}

fn state_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Pending => "pending",
    }
}

fn mark(item: &Item) -> &'static str {
    match item.outcome {
        _ if item.untested => "•",
        Outcome::Passed => "✓",
        Outcome::Failed => "✗",
        Outcome::Pending => "…",
    }
}

fn state_word(item: &Item) -> &'static str {
    match item.outcome {
        _ if item.untested => "Rule: ",
        Outcome::Passed => "Met: ",
        Outcome::Failed => "Not met: ",
        Outcome::Pending => "Checking: ",
    }
}
