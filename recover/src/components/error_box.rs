use latchkey_api::Problem;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;

use latchkey_app::focus;

/// The app's alert (a policy violation lists its failed rules), taking focus as it appears.
#[component]
pub fn ErrorBox(error: Problem) -> impl IntoView {
    let region = NodeRef::<leptos::html::Div>::new();
    focus::on_mount(region);
    view! {
        <div tabindex="-1" node_ref=region data-testid="recover-error">
            <Alert error=error />
        </div>
    }
}
