//! The installed app as Chromium sees it: installability, the manifest, the service worker's
//! caches, what the origin stores, and what crosses the network during a load.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chromiumoxide::cdp::browser_protocol::network::{EnableParams, EventLoadingFinished, EventResponseReceived};
use chromiumoxide::cdp::browser_protocol::page::{GetAppManifestParams, GetInstallabilityErrorsParams};
use chromiumoxide::Page;
use futures::StreamExt;

use crate::browser::eval;

/// Why Chromium would not offer to install the page (empty: installable).
pub async fn installability_errors(page: &Page) -> Vec<String> {
    let answer = page.execute(GetInstallabilityErrorsParams::default()).await.expect("installability");
    answer.result.installability_errors.iter().map(|e| e.error_id.clone()).collect()
}

/// What Chromium found wrong with the page's manifest (empty: nothing).
pub async fn manifest_errors(page: &Page) -> Vec<String> {
    let answer = page.execute(GetAppManifestParams::default()).await.expect("manifest");
    answer.result.errors.iter().map(|e| e.message.clone()).collect()
}

/// The names of the origin's caches (CacheStorage).
pub async fn cache_names(page: &Page) -> Vec<String> {
    eval(page, "caches.keys()").await
}

/// Everything the origin keeps in the browser, as text: localStorage, sessionStorage, every
/// CacheStorage entry's URL and body, every IndexedDB record. A password must be in none.
pub async fn stored_text(page: &Page) -> String {
    eval(
        page,
        r#"(async () => {
            const parts = [JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage })];
            for (const name of await caches.keys()) {
                const cache = await caches.open(name);
                for (const request of await cache.keys()) {
                    const body = new Uint8Array(await (await cache.match(request)).arrayBuffer());
                    parts.push(request.url, new TextDecoder('utf-8', { fatal: false }).decode(body));
                }
            }
            for (const { name } of await indexedDB.databases()) {
                const db = await new Promise((ok, fail) => { const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); r.onerror = fail; });
                for (const store of db.objectStoreNames) {
                    const all = await new Promise(ok => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result); });
                    parts.push(JSON.stringify(all));
                }
                db.close();
            }
            return parts.join('\n');
        })()"#,
    )
    .await
}

/// Fails when any of `secrets` is stored by the origin anywhere `stored_text` looks.
pub async fn assert_nothing_stored(page: &Page, secrets: &[&str]) {
    // Positive controls: a probe put in session storage is found, and so is the worker's
    // cached shell.
    let probe = "probe-7f3a-stored-text";
    let _: bool = eval(page, &format!("(sessionStorage.setItem('probe', '{probe}'), true)")).await;
    let stored = stored_text(page).await;
    let _: bool = eval(page, "(sessionStorage.removeItem('probe'), true)").await;
    assert!(stored.contains(probe), "the search reads session storage");
    assert!(stored.contains("/index.html"), "the search reads the worker's cache");
    for secret in secrets {
        assert!(!stored.contains(secret), "a password is stored by the origin");
    }
}

/// The page's network responses from now on: URL and bytes received (`encodedDataLength`).
pub struct NetworkLog {
    received: Arc<Mutex<Vec<(String, f64)>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl NetworkLog {
    pub async fn start(page: &Page) -> NetworkLog {
        page.execute(EnableParams::default()).await.expect("network events");
        let urls: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let received: Arc<Mutex<Vec<(String, f64)>>> = Arc::default();
        let mut responses = page.event_listener::<EventResponseReceived>().await.expect("responses");
        let mut finished = page.event_listener::<EventLoadingFinished>().await.expect("loads");
        let seen = urls.clone();
        let responses = tokio::spawn(async move {
            while let Some(event) = responses.next().await {
                let id: &str = event.request_id.as_ref();
                seen.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_string(), event.response.url.clone());
            }
        });
        let log = received.clone();
        let finished = tokio::spawn(async move {
            while let Some(event) = finished.next().await {
                let id: &str = event.request_id.as_ref();
                let url = urls.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned().unwrap_or_default();
                log.lock().unwrap_or_else(|e| e.into_inner()).push((url, event.encoded_data_length));
            }
        });
        NetworkLog { received, tasks: vec![responses, finished] }
    }

    /// Each response so far with its bytes, and their sum.
    pub fn total(&self) -> (Vec<(String, f64)>, f64) {
        let received = self.received.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let sum = received.iter().map(|(_, n)| n).sum();
        (received, sum)
    }
}

impl Drop for NetworkLog {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

/// A copy of the built app a test may change (a second deployment).
pub fn copy_of(dist: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("a folder for the copy");
    copy_dir(dist, copy.path());
    copy
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dist").flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy");
        }
    }
}
