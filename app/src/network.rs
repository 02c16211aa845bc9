//! Whether Latchkey's server answers. A request that fails as a network error (offline, off the
//! VPN, the server down: the service worker never answers `/api/*`) makes the page say so; what
//! failed to load is asked again when the browser reports it is back online, and every few
//! seconds meanwhile (a stopped server fires no `online`); the first answer clears the message.
//!
//! Nothing a user submitted is queued or sent again later: they see the message, keep what
//! they typed, and submit again. Nothing here stores anything.

use std::cell::{Cell, RefCell};

use gloo_timers::future::TimeoutFuture;
use latchkey_api::Problem;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;

/// How often a page that lost the server asks again.
const RETRY_MS: u32 = 3_000;
/// The message's id: a failed submit moves the focus there.
pub const MESSAGE: &str = "offline";

thread_local! {
    /// The page's offline flag, once the app watches (the other bundles do not).
    static OFFLINE: Cell<Option<RwSignal<bool>>> = const { Cell::new(None) };
    /// Loads that failed for want of the server, to run again.
    static AGAIN: RefCell<Vec<Box<dyn FnOnce()>>> = RefCell::new(Vec::new());
    static POLLING: Cell<bool> = const { Cell::new(false) };
}

/// Starts watching: the flag the offline message follows.
pub fn watch() -> RwSignal<bool> {
    let offline = RwSignal::new(false);
    OFFLINE.set(Some(offline));
    // The handle is dropped, the listener kept: for as long as the page is open.
    let _ = window_event_listener(leptos::ev::online, |_| retry());
    offline
}

/// Called on every request: whether it reached the server.
pub fn heard(reached: bool) {
    let Some(offline) = OFFLINE.get() else { return };
    if offline.get_untracked() != reached {
        return;
    }
    offline.set(!reached);
    if !reached && !POLLING.replace(true) {
        spawn_local(poll());
    }
}

/// Whether `problem` says the request never reached the server.
pub fn unreached(problem: &Problem) -> bool {
    problem.code == api::OFFLINE
}

/// Runs `load` again once the server may be back (it registers itself again if it fails).
pub fn again(load: impl FnOnce() + 'static) {
    AGAIN.with_borrow_mut(|a| a.push(Box::new(load)));
}

/// A submit found no server: the message (already shown) takes the focus, so that a
/// screen reader reads it and the user sees why nothing happened.
pub fn point_to_message() {
    crate::focus::soon(MESSAGE);
}

/// Whether the server was found unreachable (tracked: an effect that reads it runs again when
/// the server answers).
pub fn offline() -> bool {
    OFFLINE.get().is_some_and(|o| o.get())
}

/// Every few seconds while offline.
async fn poll() {
    let still = || OFFLINE.get().is_some_and(|o| o.get_untracked());
    while still() {
        TimeoutFuture::new(RETRY_MS).await;
        if still() {
            retry();
        }
    }
    POLLING.set(false);
}

/// The loads that failed run again; with none, a plain question tells whether the server is
/// back (its answer, any answer, clears the message).
fn retry() {
    let loads = AGAIN.take();
    if loads.is_empty() {
        spawn_local(async {
            let _ = api::session().await;
        });
    }
    for load in loads {
        load();
    }
}
