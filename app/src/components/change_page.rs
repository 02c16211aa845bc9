use latchkey_api::ChangeReason;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::alert::Alert;
use super::app::{Session, SessionState};
use super::change_form::ChangeForm;
use super::key_panel::KeyPanel;
use super::policy_summary::PolicySummary;
use crate::{api, step_up};

/// The password page: who is signed in, the policy and dates, and the change form unless the
/// directory forbids this user to change.
#[component]
pub fn ChangePage() -> impl IntoView {
    let Session(session) = expect_context::<Session>();
    // A plain signal filled once: no Suspense or async resource machinery in the bundle.
    let status = RwSignal::new(None);
    step_up::load();
    spawn_local(async move {
        let answer = api::password_status().await;
        if let Ok(s) = &answer {
            step_up::clock(s.now);
        }
        status.set(Some(answer));
    });

    let sign_out = move |_| {
        spawn_local(async move {
            let _ = api::sign_out().await;
            session.set(SessionState::SignedOut);
        });
    };

    let greeting = move || match session.get() {
        SessionState::SignedIn(v) => Some(v),
        _ => None,
    };

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
            {move || match status.get() {
                    None => view! { <p>"Loading your password policy…"</p> }.into_any(),
                    Some(Err(e)) => view! { <Alert error=e /> }.into_any(),
                    Some(Ok(status)) if !status.may_change => view! {
                        <PolicySummary status=status.clone() />
                        // With the step-up section's place (`step_up::HOST`): the key's writes may
                        // ask for a confirmation.
                        <div>
                            <p class="notice" role="status" data-testid="may-not-change">
                                "Your account is set so that you may not change your own password. Ask your administrator."
                            </p>
                            <div id="step-up"></div>
                        </div>
                        <KeyPanel status=status />
                    }.into_any(),
                    Some(Ok(status)) => view! {
                        <PolicySummary status=status.clone() />
                        <ChangeForm status=status.clone() on_changed=move || status_changed(session) />
                        <KeyPanel status=status />
                    }.into_any(),
                }}
        </section>
    }
}

/// After a change the session no longer requires one.
fn status_changed(session: RwSignal<SessionState>) {
    session.update(|s| {
        if let SessionState::SignedIn(view) = s {
            view.change_required = None;
        }
    });
}
