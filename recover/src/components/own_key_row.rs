use latchkey_api::recovery::OwnKey;
use latchkey_api::registry::KeyStatus;
use latchkey_api::Problem;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::error_box::ErrorBox;
use crate::api;
use latchkey_app::focus;

/// The refusal that asks the signed-in user to confirm it is them first.
const STEP_UP: &str = "step_up_required";

/// One of the employee's keys: its state, and "Lost" / "Stolen" behind a second click. When the
/// organisation asks for a confirmation first, a code from the authenticator app, then the
/// report goes again.
#[component]
pub fn OwnKeyRow(key: OwnKey) -> impl IntoView {
    let serial = StoredValue::new(key.serial.clone());
    let current = RwSignal::new(key);
    // The reason asked about (`lost` or `stolen`), until reported or cancelled.
    let pending = RwSignal::new(None::<&'static str>);
    let asks_code = RwSignal::new(false);
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Problem>);
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    let (lost_button, yes_button, code_input, said) = (
        NodeRef::<leptos::html::Button>::new(),
        NodeRef::<leptos::html::Button>::new(),
        NodeRef::<leptos::html::Input>::new(),
        NodeRef::<leptos::html::P>::new(),
    );
    focus::on_mount(yes_button);
    focus::on_mount(code_input);
    focus::on_mount(said);

    // Final states: nothing more to report.
    let reportable =
        Memo::new(move |_| current.with(|k| !matches!(k.status, KeyStatus::Compromised | KeyStatus::Deactivated)));
    let report = move |reason: &'static str| {
        busy.set(true);
        spawn_local(async move {
            match api::report_key(&serial.get_value(), reason).await {
                Ok(k) => {
                    current.set(k);
                    pending.set(None);
                    asks_code.set(false);
                    code.set(String::new());
                    done.set(true);
                }
                Err(e) if e.code == STEP_UP => {
                    asks_code.set(true);
                    focus::now(code_input);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let ask = move |reason: &'static str| {
        error.set(None);
        pending.set(Some(reason));
    };
    let cancel = move |_| {
        pending.set(None);
        asks_code.set(false);
        error.set(None);
        focus::now(lost_button);
    };
    let yes = move |_| {
        if let Some(reason) = pending.get_untracked() {
            error.set(None);
            report(reason);
        }
    };
    let send_code = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(reason) = pending.get_untracked() else { return };
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let typed = code.get_untracked().trim().to_string();
        spawn_local(async move {
            match api::step_up_totp(typed).await {
                Ok(_) => report(reason),
                Err(e) => {
                    busy.set(false);
                    error.set(Some(e));
                }
            }
        });
    };

    let s = serial.get_value();
    let question = move || {
        let (word, label) = match pending.get()? {
            "stolen" => ("stolen", "Yes, it was stolen"),
            _ => ("lost", "Yes, it is lost"),
        };
        Some(view! {
            <p>
                "Report key " <strong>{serial.get_value()}</strong> " as " {word} "? It stops working at once and is \
                 wiped when it next connects."
            </p>
            {move || (!asks_code.get()).then(|| view! {
                <div class="inline">
                    <button type="button" class="danger" data-testid=format!("report-confirm-{}", serial.get_value())
                        node_ref=yes_button disabled=move || busy.get() on:click=yes>{label}</button>
                    <button type="button" class="secondary" data-testid=format!("report-cancel-{}", serial.get_value())
                        on:click=cancel>"Cancel"</button>
                </div>
            })}
        })
    };
    let code_form = move || {
        asks_code.get().then(|| {
            let id = format!("report-code-{}", serial.get_value());
            view! {
                <form on:submit=send_code>
                    <p class="hint">"Confirm it is you first."</p>
                    <label for=id.clone()>"Code from your authenticator app"</label>
                    <input id=id data-testid="report-code" inputmode="numeric" autocomplete="one-time-code" required
                        node_ref=code_input bind:value=code />
                    <div class="inline">
                        <button type="submit" data-testid="report-code-submit" disabled=move || busy.get()>
                            "Confirm and report"
                        </button>
                        <button type="button" class="secondary" on:click=cancel>"Cancel"</button>
                    </div>
                </form>
            }
        })
    };
    view! {
        <li data-testid=format!("own-key-{s}") data-status=move || current.with(|k| k.status.label())>
            <strong>{s.clone()}</strong> " — " {move || current.with(describe)}
            {move || reportable.get().then(|| view! {
                <div class="inline">
                    <button type="button" class="secondary" data-testid=format!("report-lost-{}", serial.get_value())
                        node_ref=lost_button on:click=move |_| ask("lost")>
                        "Lost"
                    </button>
                    <button type="button" class="secondary" data-testid=format!("report-stolen-{}", serial.get_value())
                        on:click=move |_| ask("stolen")>
                        "Stolen"
                    </button>
                </div>
            })}
            {question}
            {code_form}
            {move || done.get().then(|| view! {
                <p class="success" role="status" tabindex="-1" node_ref=said data-testid="report-done">
                    "The key is out of service; it is wiped when it next connects."
                </p>
            })}
            {move || error.get().map(|e| view! { <ErrorBox error=e /> })}
        </li>
    }
}

/// The key's state as people read it.
fn describe(key: &OwnKey) -> String {
    let state = match key.status {
        KeyStatus::Ready | KeyStatus::Reserved => "not activated yet",
        KeyStatus::Active => "in use",
        KeyStatus::Locked => "locked",
        KeyStatus::Suspended => "suspended",
        KeyStatus::Deactivated => "wiped, out of service",
        KeyStatus::Compromised => "out of service",
    };
    match key.status_reason {
        Some(reason) => format!("{state} ({})", reason.describe()),
        None => state.to_string(),
    }
}
