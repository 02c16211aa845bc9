//! One key session as the page sees it: connecting (chooser, GATT, relay), the server's
//! events turned into state, the user's requests sent on. Shared by the key panel and the
//! sign-in with the key.

use latchkey_api::relay::{KeyAccount, ProgressStep, RelayEvent, RelayRequest};
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::BluetoothDevice;

use crate::ble::{self, BleError};
use crate::relay::{self, Relay, Transport};
use crate::step_up;
use crate::virtual_key::VirtualKey;

#[derive(Clone, Debug, PartialEq)]
pub enum KeyState {
    Idle,
    /// Chooser, Bluetooth connection, then the server's secure channel.
    Connecting,
    /// A reserved key's first connection: its activation code is needed.
    Activation {
        serial: String,
        remaining: Option<u8>,
    },
    Ready {
        serial: String,
        accounts: Vec<KeyAccount>,
    },
    /// The key went out of range: reconnect to resume.
    Lost,
    Failed(String),
}

/// How the last operation ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Done(String),
    Refused { code: String, message: String },
    SignedIn(String),
}

#[derive(Clone, Copy)]
pub struct KeySession {
    pub state: RwSignal<KeyState>,
    /// The running operation's step (`None`: nothing running).
    pub step: RwSignal<Option<String>>,
    pub outcome: RwSignal<Option<Outcome>>,
    /// What the server did on connecting (an interrupted change finished or undone).
    pub notice: RwSignal<Option<String>>,
    relay: StoredValue<Option<Relay>, LocalStorage>,
    device: StoredValue<Option<BluetoothDevice>, LocalStorage>,
}

impl KeySession {
    // No `Default`: its code, unused by the app, still weighed on the first load (inlining).
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        KeySession {
            state: RwSignal::new(KeyState::Idle),
            step: RwSignal::new(None),
            outcome: RwSignal::new(None),
            notice: RwSignal::new(None),
            relay: StoredValue::new_local(None),
            device: StoredValue::new_local(None),
        }
    }

    /// Opens the chooser; must run inside the click handler (a user gesture).
    pub fn connect(self) {
        let chosen = match ble::choose() {
            Ok(p) => p,
            Err(e) => return self.state.set(KeyState::Failed(e.message())),
        };
        self.begin();
        spawn_local(async move {
            match ble::chosen(chosen).await {
                Ok(device) => self.open(device).await,
                Err(e) => self.state.set(KeyState::Failed(e.message())),
            }
        });
    }

    /// Connects again to the key chosen before (no chooser).
    pub fn reconnect(self) {
        let Some(device) = self.device.get_value() else { return self.connect() };
        self.begin();
        spawn_local(async move { self.open(device).await });
    }

    /// DEMO ONLY: connects to the virtual key the server offers.
    pub fn connect_virtual(self) {
        self.begin();
        spawn_local(async move {
            let key = match VirtualKey::load().await {
                Ok(k) => k,
                Err(e) => return self.state.set(KeyState::Failed(e.message())),
            };
            let beacon = key.beacon();
            match relay::start(Transport::Virtual(key), beacon, move |update| self.on_update(update)) {
                Ok(r) => self.relay.set_value(Some(r)),
                Err(e) => self.state.set(KeyState::Failed(e.message())),
            }
        });
    }

    /// Ends the session. The server finishes or undoes an interrupted change on the next
    /// connection.
    pub fn cancel(self) {
        self.relay.set_value(None);
        self.step.set(None);
        self.state.set(KeyState::Idle);
    }

    pub fn send(self, request: RelayRequest) {
        self.outcome.set(None);
        self.step.set(Some(String::new()));
        self.relay.with_value(|r| {
            if let Some(r) = r {
                r.send(&request);
            }
        });
        step_up::sent(request);
    }

    pub fn busy(self) -> bool {
        self.step.get().is_some() || self.state.get() == KeyState::Connecting
    }

    fn begin(self) {
        self.relay.set_value(None);
        self.outcome.set(None);
        self.notice.set(None);
        self.state.set(KeyState::Connecting);
    }

    async fn open(self, device: BluetoothDevice) {
        self.device.set_value(Some(device.clone()));
        let connection = match ble::open(device).await {
            Ok(c) => c,
            Err(e) => return self.state.set(KeyState::Failed(e.message())),
        };
        let beacon = match ble::read_beacon(&connection).await {
            Ok(b) => b,
            Err(e) => {
                connection.disconnect();
                return self.state.set(KeyState::Failed(e.message()));
            }
        };
        match relay::start(Transport::Bluetooth(connection), beacon, move |update| self.on_update(update)) {
            Ok(r) => self.relay.set_value(Some(r)),
            Err(e) => self.state.set(KeyState::Failed(e.message())),
        }
    }

    fn on_update(self, update: relay::Update) {
        let ended = matches!(update, Err(_) | Ok(RelayEvent::Failed { .. }));
        if !matches!(update, Ok(RelayEvent::Progress { .. })) {
            self.step.set(None);
        }
        match update {
            Ok(RelayEvent::NeedsActivation { serial, remaining }) => {
                self.state.set(KeyState::Activation { serial, remaining })
            }
            Ok(RelayEvent::Ready { serial, accounts, notice, .. }) => {
                self.notice.set(notice);
                self.state.set(KeyState::Ready { serial, accounts });
            }
            Ok(RelayEvent::Progress { step }) => self.step.set(Some(step.label().to_string())),
            Ok(RelayEvent::Done { message, accounts }) => {
                step_up::written();
                self.state.update(|s| {
                    if let KeyState::Ready { accounts: a, .. } = s {
                        *a = accounts;
                    }
                });
                self.outcome.set(Some(Outcome::Done(message)));
            }
            Ok(RelayEvent::SignedIn { ticket }) => self.outcome.set(Some(Outcome::SignedIn(ticket))),
            Ok(RelayEvent::Refused { code, message }) => {
                step_up::refused(&code, true);
                self.outcome.set(Some(Outcome::Refused { code, message }))
            }
            Ok(RelayEvent::Failed { message, .. }) => self.state.set(KeyState::Failed(message)),
            Err(BleError::Lost) => self.state.set(KeyState::Lost),
            Err(e) => self.state.set(KeyState::Failed(e.message())),
        }
        if ended {
            // The relay owns this callback: end it once the callback has returned.
            spawn_local(async move { self.relay.set_value(None) });
        }
    }
}

/// What a step means to the user.
pub fn step_text(step: &str) -> &'static str {
    match ProgressStep::parse(step) {
        Some(ProgressStep::Verifying) => "Checking the password with the directory…",
        Some(ProgressStep::Storing) => "Saving on the key…",
        Some(ProgressStep::ConfirmOnKey) => "Press the button on your key…",
        Some(ProgressStep::Directory) => "Changing the password in the directory…",
        Some(ProgressStep::Committing) => "Finishing on the key…",
        None => "Working…",
    }
}
