use leptos::prelude::*;

use crate::network::MESSAGE;

/// Says, while the server cannot be reached, why nothing goes through and what to do; what the
/// user typed stays in the page. It goes once the server answers again.
#[component]
pub fn OfflineMessage(offline: RwSignal<bool>) -> impl IntoView {
    move || {
        offline.get().then(|| {
            view! {
                <p id=MESSAGE class="offline" role="alert" tabindex="-1" data-testid="offline">
                    <strong>"You are offline — changing a password needs the company network or VPN."</strong>
                    " What you typed stays here: send it again once you are connected."
                </p>
            }
        })
    }
}
