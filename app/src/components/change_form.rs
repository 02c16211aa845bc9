use latchkey_api::relay::{KeyAccount, RelayRequest};
use latchkey_api::{Password, PasswordStatus, Problem};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::alert::Alert;
use super::how_choice::HowChoice;
use super::key_only_fields::KeyOnlyFields;
use super::key_progress::KeyProgress;
use super::new_password::NewPassword;
use super::target_choice::TargetChoice;
use crate::key_session::{KeySession, KeyState, Outcome};
use crate::live_check::live_check;
use crate::offer::{self, Target};
use crate::{api, focus, network, step_up};

const ERROR: &str = "change-error";
const DONE: &str = "change-done";

/// The page's one change form. Without a key: current, new and confirmation, with the live
/// checklist. With a key connected that holds this account, the same form asks where the
/// change goes — the directory, the directory and the key (typed or generated), or the key
/// only (its first password stored there) — so there is never a second "New password" on the
/// page. Right before the submit, the confirmation that it is the user when the organisation
/// asks for one (step-up): a typed code is sent first, then the change, on one submit.
#[component]
pub fn ChangeForm(
    status: PasswordStatus,
    #[prop(into)] too_early: Signal<bool>,
    key: KeySession,
    on_changed: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let may_change = status.may_change;
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let on_key = RwSignal::new(String::new());
    let generated = RwSignal::new(false);
    let chosen = RwSignal::new(None::<Target>);
    let picked = RwSignal::new(None::<u16>);
    let error = RwSignal::new(None::<Problem>);
    let done = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    // What the form offers (`offer`), following the key: its accounts once it is connected.
    let ready = Memo::new(move |_| matches!(key.state.get(), KeyState::Ready { .. }));
    let accounts = Memo::new(move |_| match key.state.get() {
        KeyState::Ready { accounts, .. } => accounts,
        _ => Vec::new(),
    });
    let targets = Memo::new(move |_| offer::targets(may_change, &accounts.get()));
    let target = Memo::new(move |_| offer::target(chosen.get(), &targets.get(), &accounts.get()));
    let account = Memo::new(move |_| offer::account(target.get(), &accounts.get(), picked.get()));

    // The current password counts only where it is typed (the key reads its own).
    let typed_current =
        Signal::derive(move || if target.get() == Some(Target::Directory) { current.get() } else { String::new() });
    let check = live_check(&status, typed_current, new, confirm);
    let wants_new = Memo::new(move |_| match target.get() {
        Some(Target::Directory) => true,
        Some(Target::Everywhere) => !generated.get(),
        _ => false,
    });

    // A key just connected: the choice it brings (or its field) is the next step. (Not when an
    // operation on it adds a choice: its ending has the focus then.)
    Effect::new(move |before: Option<bool>| {
        let with_key = targets.with(|t| t.contains(&Target::KeyOnly));
        if with_key && before == Some(false) {
            let choice = targets.with(|t| t.len() > 1);
            focus::soon(target.get_untracked().filter(|_| choice).map_or("on-key", Target::id));
        }
        with_key
    });
    // A key operation done: what was typed for it goes.
    Effect::new(move |_| {
        if key.outcome.with(|o| matches!(o, Some(Outcome::Done(_)))) {
            for field in [new, confirm, on_key] {
                field.set(String::new());
            }
        }
    });

    let change_in_directory = move || {
        let (c, n) = (current.get_untracked(), new.get_untracked());
        spawn_local(async move {
            // A refused code stops here: its error is in the section, the passwords stay typed.
            if step_up::confirm_typed().await {
                match api::change(c, n).await {
                    Ok(answer) => {
                        for field in [current, new, confirm] {
                            field.set(String::new());
                        }
                        let others = match answer.sessions_ended {
                            0 => String::new(),
                            1 => " Your one other session was signed out.".into(),
                            n => format!(" Your {n} other sessions were signed out."),
                        };
                        done.set(Some(format!("Your password was changed.{others}")));
                        focus::soon(DONE);
                        on_changed();
                        // The change used the confirmation.
                        step_up::reload();
                    }
                    // Nothing was sent: what was typed stays for the next submit.
                    Err(e) if network::unreached(&e) => network::point_to_message(),
                    Err(e) => {
                        step_up::refused(&e.code, false);
                        // Unless the section took the focus to ask for a confirmation.
                        if e.code != "step_up_required" {
                            focus::soon(ERROR);
                        }
                        error.set(Some(e));
                    }
                }
            }
            busy.set(false);
        });
    };
    let on_the_key = move |t: Target, account: KeyAccount, anyway: bool| {
        busy.set(true);
        spawn_local(async move {
            // A typed code goes first; none typed, the key's press may confirm (a refusal brings
            // the section up, and the write goes again after it).
            if step_up::confirm_typed_for_key().await {
                let password = |field: RwSignal<String>| Password::new(field.get_untracked());
                key.send(match t {
                    Target::Everywhere => RelayRequest::ChangeEverywhere {
                        account: account.id,
                        password: (!generated.get_untracked()).then(|| password(new)),
                    },
                    // Onboarding stores the domain password: only in the directory's account.
                    _ if !account.has_password && account.directory_managed => {
                        RelayRequest::Onboard { account: account.id, password: password(on_key) }
                    }
                    _ => RelayRequest::ChangeOnKey {
                        account: account.id,
                        password: password(on_key),
                        confirm_unverified: anyway,
                    },
                });
            }
            busy.set(false);
        });
    };

    let can_submit = move || {
        !busy.get()
            && !key.busy()
            && match target.get() {
                Some(Target::Directory) => !too_early.get() && check.ready(),
                Some(Target::Everywhere) => !too_early.get() && (generated.get() || check.ready()),
                Some(Target::KeyOnly) => !on_key.with(String::is_empty),
                None => false,
            }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !can_submit() {
            return;
        }
        error.set(None);
        done.set(None);
        match (target.get_untracked(), account.get_untracked()) {
            (Some(Target::Directory), _) => {
                busy.set(true);
                change_in_directory();
            }
            (Some(t), Some(a)) => on_the_key(t, a, false),
            _ => {}
        }
    };
    let store_anyway = move |_| {
        if let Some(a) = account.get_untracked() {
            on_the_key(Target::KeyOnly, a, true);
        }
    };
    let unverified = move || {
        target.get() == Some(Target::KeyOnly)
            && matches!(key.outcome.get(), Some(Outcome::Refused { code, .. }) if code == "unverified")
    };
    let label = move || match target.get() {
        _ if busy.get() => "Changing…",
        Some(Target::Everywhere) if generated.get() => "Generate and change everywhere",
        Some(Target::Everywhere) => "Change everywhere",
        Some(Target::KeyOnly) => "Store on the key",
        _ => "Change password",
    };
    let kind = move || match target.get() {
        Some(Target::Everywhere) => "everywhere",
        Some(Target::KeyOnly) => "key",
        _ => "directory",
    };

    let form = move || {
        view! {
            <h2 id="change-form-title">{if may_change { "Change your password" } else { "Your password on the key" }}</h2>
            <form class="change" aria-labelledby="change-form-title" data-target=kind on:submit=submit>
                {move || (targets.with(Vec::len) > 1).then(|| view! { <TargetChoice targets=targets target=target chosen=chosen /> })}
                {move || (target.get() == Some(Target::Directory)).then(|| view! {
                    <label for="current">"Current password"</label>
                    <input id="current" type="password" autocomplete="current-password" required bind:value=current />
                })}
                {move || (target.get() == Some(Target::Everywhere)).then(|| view! { <HowChoice generated=generated /> })}
                {move || wants_new.get().then(|| view! { <NewPassword id="new" new=new confirm=confirm check=check /> })}
                {move || (target.get() == Some(Target::KeyOnly)).then(|| view! {
                    <KeyOnlyFields accounts=accounts account=account picked=picked on_key=on_key />
                })}
                // The step-up section's place (`step_up::HOST`), right before the submit; above the
                // key panel instead when this user may not change their password.
                {may_change.then(|| view! { <div id="step-up"></div> })}
                <button type="submit" disabled=move || !can_submit()>{label}</button>
                {move || unverified().then(|| view! {
                    <button type="button" class="secondary" data-testid="store-anyway" on:click=store_anyway>
                        "Store it anyway"
                    </button>
                })}
            </form>
            {move || error.get().map(|e| view! { <Alert error=e id=ERROR /> })}
            {move || done.get().map(|d| view! {
                <p id=DONE class="success" role="status" tabindex="-1" data-testid="changed">{d}</p>
            })}
            {move || ready.get().then(|| view! { <KeyProgress key=key /> })}
        }
    };
    let offered = Memo::new(move |_| targets.with(|t| !t.is_empty()));
    move || offered.get().then(form)
}
