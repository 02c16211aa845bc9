//! The sign-in form `index.html` shows in plain HTML while the app still compiles: at once when
//! no session was started in this browser, else once the session is known to be signed out.
//! The app takes it over as it starts: what was typed, the field that had focus and an Enter
//! already pressed carry into its own form, and the plain one is removed before anything is
//! painted.

use std::cell::RefCell;

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::HtmlInputElement;

/// What the plain form held when the app started.
pub struct Early {
    pub username: String,
    pub password: String,
    /// Enter (or its button) was pressed: the app signs in at once.
    pub submitted: bool,
    /// The app's field to focus in place of the plain one that had focus.
    pub focused: Option<&'static str>,
}

thread_local! {
    static TAKEN: RefCell<Option<Early>> = const { RefCell::new(None) };
}

/// Removes the plain form, keeping what it held when it was shown (for [`taken`]). Called once,
/// before the app mounts.
pub fn take_over() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let Some(early) = document.get_element_by_id("early") else { return };
    let shown = !early.has_attribute("hidden");
    let field = |id: &str| document.get_element_by_id(id).and_then(|e| e.dyn_into::<HtmlInputElement>().ok());
    let focused = document.active_element().map(|e| e.id());
    let value = |id: &str| {
        field(id)
            .map(|input| {
                let typed = input.value();
                input.set_value("");
                typed
            })
            .unwrap_or_default()
    };
    let (username, password) = (value("early-username"), value("early-password"));
    let submitted = web_sys::window().is_some_and(|window| {
        let key = JsValue::from_str("latchkeyEarlySubmit");
        let said = Reflect::get(&window, &key).ok().and_then(|v| v.as_bool()) == Some(true);
        let _ = Reflect::delete_property(&window, &key);
        said
    });
    early.remove();
    if shown {
        let focused = match focused.as_deref() {
            Some("early-username") => Some("username"),
            Some("early-password") => Some("password"),
            _ => None,
        };
        TAKEN.with(|t| *t.borrow_mut() = Some(Early { username, password, submitted, focused }));
    }
}

/// What the plain form held, taken once (by the sign-in page's first render).
pub fn taken() -> Option<Early> {
    TAKEN.with(|t| t.borrow_mut().take())
}

/// Forgets what the plain form held: the session turned out to be signed in, so it is not for a
/// sign-in page shown later (after a sign-out, say).
pub fn discard() {
    drop(taken());
}
