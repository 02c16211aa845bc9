use latchkey_api::SessionView;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::change_page::ChangePage;
use super::offline_message::OfflineMessage;
use super::sign_in_page::SignInPage;
use crate::{api, early, network};

/// Who is signed in, shared by every page.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionState {
    Loading,
    SignedOut,
    SignedIn(SessionView),
}

#[derive(Clone, Copy, PartialEq)]
enum Page {
    Loading,
    SignIn,
    Password,
}

#[derive(Clone, Copy)]
pub struct Session(pub RwSignal<SessionState>);

#[component]
pub fn App() -> impl IntoView {
    let offline = network::watch();
    // Signed out by the time the app starts (the page asked as it loaded): the first render
    // is the sign-in form.
    let signed_out = api::signed_out_already();
    let session = RwSignal::new(if signed_out { SessionState::SignedOut } else { SessionState::Loading });
    provide_context(Session(session));
    if !signed_out {
        check_session(session);
    }
    // Which page shows follows from the session alone: no router needed (and none shipped).
    // The memo changes only on sign-in and sign-out, so updating the session keeps the page.
    let page_kind = Memo::new(move |_| match session.get() {
        SessionState::Loading => Page::Loading,
        SessionState::SignedOut => Page::SignIn,
        SessionState::SignedIn(_) => Page::Password,
    });
    let page = move || match page_kind.get() {
        Page::Loading => view! { <p class="hint">"Loading…"</p> }.into_any(),
        Page::SignIn => view! { <SignInPage /> }.into_any(),
        Page::Password => view! { <ChangePage /> }.into_any(),
    };
    view! {
        <header class="bar">
            <span class="brand">"Latchkey"</span>
        </header>
        <OfflineMessage offline=offline />
        <main>{page}</main>
    }
}

/// Who is signed in. Unreachable (the shell opened from the cache with the server down): the
/// offline message shows, and the check runs again once the server may be back.
fn check_session(session: RwSignal<SessionState>) {
    spawn_local(async move {
        match api::session().await {
            Ok(Some(view)) => {
                early::discard();
                session.set(SessionState::SignedIn(view));
            }
            Err(e) if network::unreached(&e) => network::again(move || check_session(session)),
            _ => session.set(SessionState::SignedOut),
        }
    });
}
