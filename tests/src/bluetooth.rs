//! A reference key (keysim) played into Chromium through the DevTools BluetoothEmulation
//! domain: the page talks WebBluetooth to what it believes is a real key.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chromiumoxide::cdp::browser_protocol::bluetooth_emulation as ble;
use chromiumoxide::cdp::browser_protocol::device_access as access;
use chromiumoxide::cdp::js_protocol::runtime;
use chromiumoxide::types::MethodId;
use chromiumoxide::{Browser, Command, Method, Page};
use futures::StreamExt;
use keysim::storage::MemoryFlash;
use keysim::SimKey;
use latchkey_protocol::gatt;
use serde::Serialize;

pub const ADDRESS: &str = "09:09:09:09:09:01";

/// `simulatePreconnectedPeripheral` sent as Chromium wants it: the typed command drops an
/// empty `manufacturerData`, which Chromium requires.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Preconnected {
    address: String,
    name: String,
    manufacturer_data: Vec<serde_json::Value>,
    known_service_uuids: Vec<String>,
}

impl Method for Preconnected {
    fn identifier(&self) -> MethodId {
        "BluetoothEmulation.simulatePreconnectedPeripheral".into()
    }
}

impl Command for Preconnected {
    type Response = serde_json::Value;
}

/// What the harness saw, for assertions.
#[derive(Debug, Default)]
pub struct Seen {
    pub info_reads: usize,
    pub subscriptions: usize,
    pub writes: Vec<Vec<u8>>,
}

/// A test of the key's state, to stop at.
pub type KeyTest = Box<dyn Fn(&SimKey<MemoryFlash>) -> bool + Send>;

/// Where the key stops talking to the page, for good, as a key whose page went away would.
pub enum Halt {
    /// After a write that leaves the key in this state: the key acted on it, and its answer
    /// never leaves.
    AnswerLost(KeyTest),
    /// Before a write, once the key is in this state: the key never sees it (or anything after).
    Unseen(KeyTest),
}

#[derive(Default)]
struct Halting {
    halt: Option<Halt>,
    halted: bool,
    /// Chunks the page wrote that the halted key never saw.
    unseen: usize,
}

pub struct EmulatedKey {
    pub key: Arc<Mutex<SimKey<MemoryFlash>>>,
    pub seen: Arc<Mutex<Seen>>,
    ids: Arc<Mutex<Ids>>,
    halting: Arc<Mutex<Halting>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl EmulatedKey {
    /// Makes the adapter present and powered, with `key` in range; answers the page's chooser
    /// with it (or cancels the chooser when `choose` is false).
    pub async fn attach(browser: &Arc<Browser>, page: &Page, key: SimKey<MemoryFlash>, choose: bool) -> EmulatedKey {
        Self::attach_shared(browser, page, Arc::new(Mutex::new(key)), choose).await
    }

    /// The same, with a key the test keeps (to bring to another page after this one closed).
    pub async fn attach_shared(
        browser: &Arc<Browser>,
        page: &Page,
        key: Arc<Mutex<SimKey<MemoryFlash>>>,
        choose: bool,
    ) -> EmulatedKey {
        page.execute(access::EnableParams::default()).await.expect("DeviceAccess.enable");
        let _ = browser.execute(ble::DisableParams::default()).await;
        browser.execute(ble::EnableParams::new(ble::CentralState::PoweredOn, true)).await.expect("enable");
        let preconnected = Preconnected {
            address: ADDRESS.into(),
            name: "Latchkey key".into(),
            manufacturer_data: vec![],
            known_service_uuids: vec![gatt::SERVICE.into()],
        };
        browser.execute(preconnected).await.expect("preconnected peripheral");
        let ids = Arc::new(Mutex::new(add_gatt(browser).await));
        let halting = Arc::new(Mutex::new(Halting::default()));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut tasks = vec![];

        let mut prompts = page.event_listener::<access::EventDeviceRequestPrompted>().await.expect("prompts");
        let page2 = page.clone();
        tasks.push(tokio::spawn(async move {
            let mut answered = HashSet::new();
            while let Some(prompt) = prompts.next().await {
                if !answered.insert(prompt.id.clone()) {
                    continue;
                }
                if choose {
                    let device = prompt.devices.first().map(|d| d.id.clone());
                    if let Some(device) = device {
                        let _ = page2.execute(access::SelectPromptParams::new(prompt.id.clone(), device)).await;
                    }
                } else {
                    let _ = page2.execute(access::CancelPromptParams::new(prompt.id.clone())).await;
                }
            }
        }));

        let mut gatt_ops = browser.event_listener::<ble::EventGattOperationReceived>().await.expect("gatt events");
        let b = browser.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(op) = gatt_ops.next().await {
                let answer = ble::SimulateGattOperationResponseParams::new(op.address.clone(), op.r#type.clone(), 0);
                let _ = b.execute(answer).await;
            }
        }));

        let mut char_ops =
            browser.event_listener::<ble::EventCharacteristicOperationReceived>().await.expect("characteristic events");
        let (b, k, s, p, gatt_ids) = (browser.clone(), key.clone(), seen.clone(), page.clone(), ids.clone());
        let h = halting.clone();
        tasks.push(tokio::spawn(async move {
            // Notifications waiting to be delivered, one read at a time.
            let mut pending: VecDeque<Vec<u8>> = VecDeque::new();
            let started = std::time::Instant::now();
            while let Some(op) = char_ops.next().await {
                use ble::CharacteristicOperationType as Op;
                let id = op.characteristic_id.clone();
                let mut answer =
                    ble::SimulateCharacteristicOperationResponseParams::new(id.clone(), op.r#type.clone(), 0);
                let mut deliver_next = false;
                let (info_id, notify_id) = {
                    let ids = gatt_ids.lock().unwrap();
                    (ids.info.clone(), ids.notify.clone())
                };
                match op.r#type {
                    Op::Read if id == info_id => {
                        s.lock().unwrap().info_reads += 1;
                        let beacon = k.lock().unwrap().beacon();
                        answer.data = Some(B64.encode(beacon).into());
                    }
                    Op::Read if id == notify_id => {
                        let chunk = pending.pop_front().unwrap_or_default();
                        answer.data = Some(B64.encode(chunk).into());
                        deliver_next = !pending.is_empty();
                    }
                    Op::SubscribeToNotifications => s.lock().unwrap().subscriptions += 1,
                    Op::Write => {
                        let data: &str = op.data.as_ref().map(|d| d.as_ref()).unwrap_or("");
                        let chunk = B64.decode(data).unwrap_or_default();
                        s.lock().unwrap().writes.push(chunk.clone());
                        let now = started.elapsed().as_millis() as u64;
                        let notes = write_unless_halted(&mut k.lock().unwrap(), &mut h.lock().unwrap(), &chunk, now);
                        let idle = pending.is_empty();
                        pending.extend(notes);
                        deliver_next = idle && !pending.is_empty();
                        // Chromium completes writes without response itself.
                        if op.write_type == Some(ble::CharacteristicWriteType::WriteWithoutResponse) {
                            if deliver_next {
                                trigger_notification(&p).await;
                            }
                            continue;
                        }
                    }
                    _ => {}
                }
                let _ = b.execute(answer).await;
                if deliver_next {
                    trigger_notification(&p).await;
                }
            }
        }));
        EmulatedKey { key, seen, ids, halting, tasks }
    }

    /// From now on, the key stops where `halt` says.
    pub fn halt(&self, halt: Halt) {
        *self.halting.lock().unwrap() = Halting { halt: Some(halt), ..Halting::default() };
    }

    /// Whether the key stopped, and how many chunks it has not seen since.
    pub fn halted(&self) -> (bool, usize) {
        let h = self.halting.lock().unwrap();
        (h.halted, h.unseen)
    }

    /// The key goes out of range: the page sees `gattserverdisconnected`, the key forgets its
    /// session. Chromium's fake drops the GATT database then, so it is added again (new ids)
    /// for the page's reconnect.
    pub async fn go_out_of_range(&self, browser: &Browser) {
        browser.execute(ble::SimulateGattDisconnectionParams::new(ADDRESS)).await.expect("disconnect");
        self.key.lock().unwrap().disconnect();
        let fresh = add_gatt(browser).await;
        *self.ids.lock().unwrap() = fresh;
    }

    /// Stops answering; call before closing the browser.
    pub async fn detach(self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// The key takes a chunk the page wrote, unless it halted; what it notifies back.
fn write_unless_halted(key: &mut SimKey<MemoryFlash>, h: &mut Halting, chunk: &[u8], now: u64) -> Vec<Vec<u8>> {
    if !h.halted {
        if let Some(Halt::Unseen(stop)) = &h.halt {
            h.halted = stop(key);
        }
    }
    if h.halted {
        h.unseen += 1;
        return Vec::new();
    }
    let notes = key.on_write(chunk, now);
    if let Some(Halt::AnswerLost(stop)) = &h.halt {
        if stop(key) {
            h.halted = true;
            return Vec::new();
        }
    }
    notes
}

/// The no-adapter case: WebBluetooth present, no adapter.
pub async fn remove_adapter(browser: &Browser, page: &Page) {
    page.execute(access::EnableParams::default()).await.expect("DeviceAccess.enable");
    let _ = browser.execute(ble::DisableParams::default()).await;
    browser.execute(ble::EnableParams::new(ble::CentralState::Absent, false)).await.expect("enable absent");
}

struct Ids {
    info: String,
    notify: String,
}

/// CDP has no "notify" command. Chromium fires `characteristicvaluechanged` after every
/// successful read, so the harness makes the page's own key → host characteristic object read;
/// the read is then answered with the notification's bytes. The page's object is the one whose
/// `oncharacteristicvaluechanged` is set (Chromium may hold other, unreferenced wrappers).
async fn trigger_notification(page: &Page) {
    let prototype = page
        .execute(runtime::EvaluateParams::new("BluetoothRemoteGATTCharacteristic.prototype"))
        .await
        .ok()
        .and_then(|r| r.result.result.object_id.clone());
    let Some(prototype) = prototype else { return };
    let Ok(objects) = page.execute(runtime::QueryObjectsParams::new(prototype)).await else { return };
    let Some(array) = objects.result.objects.object_id.clone() else { return };
    let call = runtime::CallFunctionOnParams::builder()
        .function_declaration(format!(
            "function() {{ const c = this.filter(c => c.uuid === '{}' && c.service.device.gatt.connected \
             && c.oncharacteristicvaluechanged); \
             if (c.length) {{ c[c.length - 1].readValue().catch(() => {{}}); }} return c.length; }}",
            gatt::KEY_TO_HOST
        ))
        .object_id(array)
        .build();
    if let Ok(call) = call {
        let _ = page.execute(call).await;
    }
}

/// The key's GATT database (PROTOCOL.md §3).
async fn add_gatt(browser: &Browser) -> Ids {
    let service = browser.execute(ble::AddServiceParams::new(ADDRESS, gatt::SERVICE)).await.expect("service");
    let service = service.result.service_id.clone();
    let props = |write: bool, notify: bool, read: bool| {
        ble::CharacteristicProperties::builder()
            .write(write)
            .write_without_response(write)
            .notify(notify)
            .read(read)
            .build()
    };
    let add = |uuid: &'static str, p: ble::CharacteristicProperties| {
        let service = service.clone();
        async move {
            let r = browser.execute(ble::AddCharacteristicParams::new(service, uuid, p)).await.expect("characteristic");
            r.result.characteristic_id.clone()
        }
    };
    add(gatt::HOST_TO_KEY, props(true, false, false)).await;
    let notify = add(gatt::KEY_TO_HOST, props(false, true, false)).await;
    browser.execute(ble::AddDescriptorParams::new(notify.clone(), gatt::CCCD)).await.expect("CCCD");
    let info = add(gatt::INFO, props(false, false, true)).await;
    Ids { info, notify }
}
