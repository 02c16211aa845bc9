//! The live policy check behind every new-password field: the policy crate runs here on each
//! keystroke; the server's blocklist and strength answer once typing pauses.

use std::time::Duration;

use latchkey_api::{CheckPasswordResponse, PasswordStatus, Strength};
use latchkey_policy::NoBlocklist;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::checklist::{self, Item};
use crate::{api, network};

/// Pause after the last keystroke before asking the server (blocklist, strength).
const CHECK_DELAY: Duration = Duration::from_millis(300);

#[derive(Clone, Copy)]
pub struct LiveCheck {
    pub items: Memo<Vec<Item>>,
    pub strength: Signal<Option<Strength>>,
}

impl LiveCheck {
    pub fn ready(&self) -> bool {
        checklist::ready_to_submit(&self.items.get())
    }
}

/// Checks `new` (against `current` when typed) and its confirmation.
pub fn live_check(
    status: &PasswordStatus,
    current: Signal<String>,
    new: RwSignal<String>,
    confirm: RwSignal<String>,
) -> LiveCheck {
    let server = RwSignal::new(None::<(String, CheckPasswordResponse)>);
    let policy = StoredValue::new((status.policy.clone(), status.account.clone()));
    let items = Memo::new(move |_| {
        let (candidate, typed_current) = (new.get(), current.get());
        let current_opt = (!typed_current.is_empty()).then_some(typed_current.as_str());
        let local = policy.with_value(|(p, a)| latchkey_policy::check(&candidate, current_opt, p, a, &NoBlocklist));
        let server = server.get();
        let server_report = server.as_ref().filter(|(c, _)| *c == candidate).map(|(_, r)| &r.report);
        let confirm_typed = confirm.get();
        let confirm_matches = (!confirm_typed.is_empty()).then(|| confirm_typed == candidate);
        checklist::items(&local, server_report, confirm_matches, !candidate.is_empty())
    });
    let strength = Signal::derive(move || {
        let candidate = new.get();
        server.get().filter(|(c, _)| *c == candidate && !c.is_empty()).map(|(_, r)| r.strength)
    });

    // Ask the server once typing pauses; ignore answers for stale text. Offline, nothing is
    // asked; once the server answers again, what is typed is asked then.
    let timer = StoredValue::new(None::<TimeoutHandle>);
    Effect::new(move |_| {
        let candidate = new.get();
        if let Some(handle) = timer.get_value() {
            handle.clear();
        }
        if candidate.is_empty() || network::offline() {
            return;
        }
        let handle = set_timeout_with_handle(
            move || {
                spawn_local(async move {
                    if let Ok(answer) = api::check(candidate.clone()).await {
                        if new.get_untracked() == candidate {
                            server.set(Some((candidate, answer)));
                        }
                    }
                });
            },
            CHECK_DELAY,
        );
        timer.set_value(handle.ok());
    });
    LiveCheck { items, strength }
}
