use latchkey_api::recovery::OwnKey;
use latchkey_api::Problem;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::error_box::ErrorBox;
use super::own_key_row::OwnKeyRow;
use crate::api;
use latchkey_app::focus;

#[derive(Clone, PartialEq)]
enum Keys {
    Loading,
    SignedOut,
    Loaded(Vec<OwnKey>),
    Failed(Problem),
}

/// "My key is lost or stolen": the signed-in employee's keys, each reportable once. Reading
/// the session also gives the API client the CSRF token the report needs.
#[component]
pub fn LostKey(
    /// Opened as `/recover/#lost`: the heading takes focus (and scrolls into view).
    take_focus: bool,
) -> impl IntoView {
    let keys = RwSignal::new(Keys::Loading);
    let heading = NodeRef::<leptos::html::H2>::new();
    if take_focus {
        focus::on_mount(heading);
    }
    spawn_local(async move {
        let loaded = match api::session().await {
            Ok(None) => Keys::SignedOut,
            Ok(Some(_)) => match api::own_keys().await {
                Ok(k) => Keys::Loaded(k),
                Err(e) => Keys::Failed(e),
            },
            Err(e) => Keys::Failed(e),
        };
        keys.set(loaded);
    });
    view! {
        <section class="card" id="lost" aria-labelledby="lost-title" data-testid="recover-lost">
            <h2 id="lost-title" tabindex="-1" node_ref=heading>"My key is lost or stolen"</h2>
            <p class="hint">
                "Reporting a key takes it out of service at once: nobody can use it, and it is wiped when it next \
                 connects. This cannot be undone."
            </p>
            {move || match keys.get() {
                Keys::Loading => view! { <p class="hint">"Loading your keys…"</p> }.into_any(),
                Keys::SignedOut => view! {
                    <p data-testid="lost-sign-in-first">
                        "Sign in first, with your password, then come back here: " <a href="/">"sign in"</a>
                    </p>
                }
                .into_any(),
                Keys::Loaded(list) if list.is_empty() => {
                    view! { <p data-testid="no-keys">"You have no keys."</p> }.into_any()
                }
                Keys::Loaded(list) => view! {
                    <ul class="keys" data-testid="own-keys">
                        {list.into_iter().map(|key| view! { <OwnKeyRow key=key /> }).collect_view()}
                    </ul>
                }
                .into_any(),
                Keys::Failed(e) => view! { <ErrorBox error=e /> }.into_any(),
            }}
        </section>
    }
}
