use latchkey_api::Strength;
use leptos::prelude::*;

const LABELS: [&str; 5] = ["Very weak", "Weak", "Fair", "Strong", "Very strong"];

/// The server's strength estimate for what is typed. `id` is the meter's own.
#[component]
pub fn StrengthMeter(id: String, #[prop(into)] strength: Signal<Option<Strength>>) -> impl IntoView {
    move || {
        strength.get().map(|s| {
            let label = LABELS.get(s.score as usize).copied().unwrap_or("");
            view! {
                <div class="strength" data-score=s.score>
                    <label for=id.clone()>"Strength: " {label}</label>
                    <meter id=id.clone() min="0" max="4" low="2" high="3" optimum="4" value=s.score></meter>
                    {s.warning.map(|w| view! { <p class="hint">{w}</p> })}
                </div>
            }
        })
    }
}
