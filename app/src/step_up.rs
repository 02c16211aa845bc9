//! Step-up on the password page: whether a change needs the user to confirm it is them, and
//! the "Confirm it's you" section that asks: in the change form right before its submit, or
//! above the key panel when the user may not change their password (one per page). A key
//! operation refused for want of a confirmation brings the section up and is sent again, as
//! it was, once the confirmation is given.
//!
//! The section is painted by hand from `step_up_markup`, its state kept here: signals, memos
//! and a component for it weighed more on the first load (which has a size budget) than the
//! rest of the feature. The server has the last word: a refusal makes the page ask again.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use js_sys::Reflect;
use latchkey_api::relay::RelayRequest;
use latchkey_api::step_up::StepUpStatus;
use latchkey_api::Problem;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, Event, HtmlElement, HtmlInputElement};

use crate::components::format::now;
use crate::key_session::{KeySession, KeyState};
use crate::step_up_markup::{alert, section, Means, Step, CODE};
use crate::{api, network};

/// Where the section is painted (the views hold it literally, as a static element), and the
/// section (a fieldset) when shown.
pub const HOST: &str = "step-up";
/// The button that starts an enrolment (focused with its error: it is no field).
const START: &str = "step-up-start";
const SECTION: &str = "step-up-section";

thread_local! {
    static PAGE: RefCell<Page> = RefCell::new(Page::default());
    static LISTENING: Cell<bool> = const { Cell::new(false) };
}

#[derive(Default)]
struct Page {
    /// `None` when the server offers no step-up (nothing is asked then).
    status: Option<StepUpStatus>,
    /// The server's clock minus the browser's: confirmations expire by the server's clock.
    skew: i64,
    /// What the section shows; `None`: nothing is asked.
    shown: Option<(Means, Step)>,
    /// A request of the section is under way.
    busy: bool,
    /// The key panel's session, and its last request: a password write is sent again, as it
    /// was, when it was refused for want of the confirmation the section then gives (`again`).
    /// Kept until the next request or an operation done.
    key: Option<KeySession>,
    write: Option<RelayRequest>,
    again: bool,
}

/// Loads what a change will ask on a new page. A server without step-up (or not answering)
/// asks nothing.
pub fn load() {
    PAGE.set(Page::default());
    listen();
    fetch();
}

/// The server's clock (Unix seconds), as the page's password status gave it; the page is
/// about to show, with the section's place (an empty `<div id="step-up">`, [`HOST`]), which is
/// painted once there.
pub fn clock(server_now: i64) {
    PAGE.with_borrow_mut(|p| p.skew = server_now - now());
    set_timeout(repaint, Duration::ZERO);
}

/// The key panel's session: its refusals bring the section up, and are sent again after.
pub fn use_key(key: KeySession) {
    PAGE.with_borrow_mut(|p| p.key = Some(key));
}

/// The section's clicks and Enter keys, heard on the document (for as long as the page is
/// open): a button names its action in `data-act`, a code field the action Enter takes in
/// `data-enter`. Enter there confirms the code, and does not submit the change form around
/// (which may not be ready; its submit sends a typed code too).
fn listen() {
    if LISTENING.replace(true) {
        return;
    }
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    // One listener for both: a click has no `key`.
    let heard = Closure::<dyn FnMut(Event)>::new(|ev: Event| {
        let key = Reflect::get(&ev, &JsValue::from_str("key")).ok().and_then(|k| k.as_string());
        let what = match key.as_deref() {
            None => named(&ev, "data-act"),
            Some("Enter") => named(&ev, "data-enter"),
            Some(_) => None,
        };
        if let Some(what) = what {
            ev.prevent_default();
            act(what);
        }
    });
    for event in ["click", "keydown"] {
        let _ = document.add_event_listener_with_callback(event, heard.as_ref().unchecked_ref());
    }
    heard.forget();
}

/// Before a change: sends the typed code if one is asked. False when the change must wait (the
/// code was refused, or no code can be given yet); the section says why, and has focus.
pub async fn confirm_typed() -> bool {
    // The form's own confirmation: no key write goes with it. A code already on its way (Enter
    // in its field) is not sent twice: the change waits for it.
    let busy = PAGE.with_borrow_mut(|p| {
        p.again = false;
        p.busy
    });
    if busy {
        return false;
    }
    match PAGE.with_borrow(|p| p.shown.as_ref().map(|(_, s)| matches!(s, Step::Code))) {
        None => true,
        Some(true) => confirm_code().await,
        Some(false) => {
            focus(SECTION);
            false
        }
    }
}

/// Before a key write from the change form: a code typed into the section goes first; with
/// none typed, the key's own press may confirm (a refusal brings the section up, and the write
/// goes again once it is given).
pub async fn confirm_typed_for_key() -> bool {
    value(CODE).is_empty() || confirm_typed().await
}

/// The key session sent `request` (only a password write is refused for want of a
/// confirmation, and sent again).
pub fn sent(request: RelayRequest) {
    PAGE.with_borrow_mut(|p| {
        p.write = Some(request);
        p.again = false;
    });
}

/// A key operation is done: the write is no longer kept, and used the confirmation it had.
pub fn written() {
    PAGE.with_borrow_mut(|p| p.write = None);
    reload();
}

/// A change (`on_key`: the key's last write) was refused with `code`: for want of a
/// confirmation, none is held, whatever the page thought.
pub fn refused(code: &str, on_key: bool) {
    if code != "step_up_required" {
        // Refused for another reason: nothing is to be sent again, ever.
        PAGE.with_borrow_mut(|p| p.write = None);
        return;
    }
    PAGE.with_borrow_mut(|p| {
        p.again = on_key;
        if let Some(s) = &mut p.status {
            s.confirmed_until = None;
        }
    });
    repaint();
    focus(if by_id(CODE).is_some() { CODE } else { SECTION });
    reload();
}

/// Asks the server again (a confirmation was used, or given elsewhere).
pub fn reload() {
    if PAGE.with_borrow(|p| p.status.is_some()) {
        fetch();
    }
}

fn fetch() {
    spawn_local(async {
        match api::step_up_status().await {
            Ok(status) => {
                PAGE.with_borrow_mut(|p| p.status = Some(status));
                repaint();
            }
            // Asked again once the server answers: a change would be refused without it.
            Err(e) if network::unreached(&e) => network::again(fetch),
            Err(_) => {}
        }
    });
}

/// What the user can confirm with, when a change would be refused now for want of a
/// confirmation.
fn asks(p: &Page) -> Option<Means> {
    let s = p.status.as_ref().filter(|s| s.needs_confirmation(now() + p.skew))?;
    Some(Means { enrolled: s.totp_enrolled, may_enrol: s.may_enrol, key_confirms: s.key_confirms })
}

/// Shows what is asked now, keeping the step under way when the means are the same, and the
/// recovery codes until the user has saved them.
fn repaint() {
    let html = PAGE.with_borrow_mut(|p| {
        let means = asks(p);
        let saving = matches!(p.shown, Some((_, Step::Saved { .. })));
        if !saving && p.shown.as_ref().map(|(m, _)| *m) != means {
            p.shown = means.map(|m| (m, Step::first(m)));
        }
        let help = p.status.as_ref().map(|s| s.help_contact.as_str()).unwrap_or_default();
        p.shown.as_ref().map(|(m, s)| section(s, *m, help))
    });
    if let Some(host) = by_id(HOST) {
        host.set_inner_html(&html.unwrap_or_default());
    }
}

/// The next step replaces the section, and takes focus.
fn paint(step: Step, focus_on: &str) {
    PAGE.with_borrow_mut(|p| {
        if let Some(shown) = &mut p.shown {
            shown.1 = step;
        }
    });
    repaint();
    focus(focus_on);
}

/// A confirmation is held until `until` (server time); `enrolled` when it came from a new app.
fn granted(until: i64, enrolled: bool) {
    PAGE.with_borrow_mut(|p| {
        if let Some(s) = &mut p.status {
            s.confirmed_until = Some(until);
            s.totp_enrolled |= enrolled;
        }
    });
    repaint();
}

/// Given from the section: the key operation refused for want of it goes again; otherwise the
/// change is next.
fn next_after_confirmation() {
    let again = PAGE.with_borrow_mut(|p| p.key.zip(p.write.take().filter(|_| std::mem::take(&mut p.again))));
    match again {
        Some((key, write)) if matches!(key.state.get(), KeyState::Ready { .. }) => key.send(write),
        // The change form's submit follows the section (none does above the key panel).
        _ => {
            if let Some(submit) = by_id(HOST).and_then(|h| h.next_element_sibling()) {
                let _ = submit.unchecked_into::<HtmlElement>().focus();
            }
        }
    }
}

async fn confirm_code() -> bool {
    match api::step_up_totp(value(CODE)).await {
        Ok(g) => {
            granted(g.confirmed_until, false);
            true
        }
        Err(e) => {
            show_error(CODE, &e);
            false
        }
    }
}

fn act(what: String) {
    if what == "saved" {
        let until = PAGE.with_borrow(|p| match &p.shown {
            Some((_, Step::Saved { until, .. })) => Some(*until),
            _ => None,
        });
        if let Some(until) = until {
            // The codes were saved: the section goes (the confirmation is held now).
            PAGE.with_borrow_mut(|p| p.shown = None);
            granted(until, true);
            next_after_confirmation();
        }
        return;
    }
    if PAGE.with_borrow_mut(|p| std::mem::replace(&mut p.busy, true)) {
        return;
    }
    spawn_local(async move {
        match what.as_str() {
            "enrol" => match api::totp_enrol().await {
                Ok(e) => paint(Step::Scan { secret: e.secret_base32, qr_svg: e.qr_svg }, "step-up-totp"),
                // Set up meanwhile (in another tab): its code is asked instead.
                Err(e) if e.code == "already_enrolled" => {
                    paint(Step::Code, CODE);
                    reload();
                }
                Err(e) => show_error(START, &e),
            },
            "totp" => match api::totp_confirm(value("step-up-totp")).await {
                Ok(c) => paint(Step::Saved { codes: c.recovery_codes, until: c.confirmed_until }, "step-up-saved"),
                Err(e) => show_error("step-up-totp", &e),
            },
            _ => {
                if confirm_code().await {
                    next_after_confirmation();
                }
            }
        }
        PAGE.with_borrow_mut(|p| p.busy = false);
    });
}

/// Shows `problem` in the section's error region, marks `field` (when a field) as wrong and
/// focuses it.
fn show_error(field: &str, problem: &Problem) {
    if let Some(region) = by_id("step-up-error") {
        region.set_inner_html(&alert(problem));
    }
    if let Some(input) = by_id(field).filter(|_| field != START) {
        let _ = input.set_attribute("aria-invalid", "true");
    }
    focus(field);
}

// The ids are the section's own: an input's, an element's.
fn value(id: &str) -> String {
    by_id(id).map(|e| e.unchecked_into::<HtmlInputElement>().value()).unwrap_or_default()
}

fn by_id(id: &str) -> Option<Element> {
    web_sys::window()?.document()?.get_element_by_id(id)
}

fn focus(id: &str) {
    if let Some(e) = by_id(id) {
        let _ = e.unchecked_into::<HtmlElement>().focus();
    }
}

/// The action an event's target names in `attribute`.
fn named(ev: &Event, attribute: &str) -> Option<String> {
    ev.target()?.dyn_into::<Element>().ok()?.get_attribute(attribute)
}
