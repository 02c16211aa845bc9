use latchkey_api::{ChangeReason, PasswordStatus, Problem};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::alert::Alert;
use super::app::{Session, SessionState};
use super::change_form::ChangeForm;
use super::key_panel::KeyPanel;
use super::policy_summary::PolicySummary;
use crate::key_session::{KeySession, Outcome};
use crate::{api, network, step_up};

/// What the page can show of the status.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Loading,
    Failed,
    /// Loaded; whether the directory lets this user change their password.
    Loaded(bool),
}

/// The password page: who is signed in, the policy and dates, the one change form (unless the
/// directory forbids this user to change), and the key.
#[component]
pub fn ChangePage() -> impl IntoView {
    let Session(session) = expect_context::<Session>();
    // Plain signals: no Suspense or async resource machinery in the bundle. The status is
    // loaded again after every change, and the form stays as it is meanwhile.
    let status = RwSignal::new(None::<PasswordStatus>);
    let failure = RwSignal::new(None::<Problem>);
    let key = KeySession::new();
    step_up::load();
    step_up::use_key(key);
    load_status(status, failure, session);
    let reload = move || load_status(status, failure, session);
    // The key changed or stored the password: the dates follow at once.
    Effect::new(move |_| {
        if key.outcome.with(|o| matches!(o, Some(Outcome::Done(_)))) {
            load_status(status, failure, session);
        }
    });

    let sign_out = move |_| {
        spawn_local(async move {
            match api::sign_out().await {
                // Still signed in on the server: say so rather than pretend.
                Err(e) if network::unreached(&e) => network::point_to_message(),
                _ => session.set(SessionState::SignedOut),
            }
        });
    };

    let greeting = move || match session.get() {
        SessionState::SignedIn(v) => Some(v),
        _ => None,
    };
    let shape = Memo::new(move |_| match status.with(|s| s.as_ref().map(|s| s.may_change)) {
        Some(may_change) => Shape::Loaded(may_change),
        None if failure.with(Option::is_some) => Shape::Failed,
        None => Shape::Loading,
    });
    let too_early = Signal::derive(move || status.with(|s| s.as_ref().is_some_and(|s| s.earliest_change.is_some())));

    view! {
        <section class="card" aria-labelledby="change-title">
            <div class="row">
                <h1 id="change-title">"Your password"</h1>
                <button type="button" class="link" on:click=sign_out>"Sign out"</button>
            </div>
            {move || greeting().map(|v| view! {
                <p class="hint">"Signed in as " <strong>{v.display_name.clone()}</strong> " (" {v.username.clone()} ")"</p>
                {v.admin.map(|_| view! { <p><a href="/admin/" data-testid="admin-link">"Administration"</a></p> })}
                <p><a href="/recover/#lost" data-testid="lost-key-link">"Lost your key?"</a></p>
                {v.change_required.map(|reason| view! {
                    <p class="notice" role="status">{match reason {
                        ChangeReason::MustChange => "Your administrator requires a new password before you can use your account.",
                        ChangeReason::Expired => "Your password has expired. Choose a new one to use your account again.",
                    }}</p>
                })}
            })}
            {move || match shape.get() {
                Shape::Loading => view! { <p>"Loading your password policy…"</p> }.into_any(),
                Shape::Failed => failure.get_untracked().map(|e| view! { <Alert error=e /> }).into_any(),
                Shape::Loaded(may_change) => {
                    let first = status.get_untracked();
                    view! {
                        <PolicySummary status=status />
                        {(!may_change).then(|| view! {
                            // With the step-up section's place (`step_up::HOST`): the key's writes
                            // may ask for a confirmation.
                            <div>
                                <p class="notice" role="status" data-testid="may-not-change">
                                    "Your account is set so that you may not change your own password. Ask your administrator."
                                </p>
                                <div id="step-up"></div>
                            </div>
                        })}
                        {first.map(|s| view! { <ChangeForm status=s too_early=too_early key=key on_changed=reload /> })}
                        <KeyPanel key=key />
                    }.into_any()
                }
            }}
        </section>
    }
}

/// Loads the password status (again). Unreachable: the offline message shows and it is asked
/// again once the server may be back; a reload that fails otherwise keeps what is shown.
fn load_status(
    status: RwSignal<Option<PasswordStatus>>,
    failure: RwSignal<Option<Problem>>,
    session: RwSignal<SessionState>,
) {
    spawn_local(async move {
        match api::password_status().await {
            Ok(s) => {
                step_up::clock(s.now);
                // A change made here satisfied what the directory required.
                if s.change_required.is_none() {
                    session.update(|state| {
                        if let SessionState::SignedIn(view) = state {
                            view.change_required = None;
                        }
                    });
                }
                status.set(Some(s));
            }
            Err(e) if network::unreached(&e) => network::again(move || load_status(status, failure, session)),
            Err(e) => {
                if status.with_untracked(Option::is_none) {
                    failure.set(Some(e));
                }
            }
        }
    });
}
