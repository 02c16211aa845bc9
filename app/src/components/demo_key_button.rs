use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::key_session::KeySession;

/// DEMO ONLY: offers the virtual key when the server has one to give.
#[component]
pub fn DemoKeyButton(key: KeySession) -> impl IntoView {
    let offered = RwSignal::new(false);
    spawn_local(async move { offered.set(api::virtual_key_offered().await) });
    move || {
        offered.get().then(|| {
            view! {
                <button type="button" class="secondary" data-testid="virtual-key" disabled=move || key.busy()
                    on:click=move |_| key.connect_virtual()>
                    "Use the demo's virtual key"
                </button>
            }
        })
    }
}
