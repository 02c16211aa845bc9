//! The installed app: Chromium finds the portal installable; the service worker keeps the
//! shell, so the app opens and explains itself with the server down, and recovers when it is
//! back; a new deployment is offered ("Reload") rather than mixed in, and leaves one cache; a
//! first visit fits the download budget, a warm one asks the server for almost nothing.

use std::time::Duration;

use latchkey_tests::app::spa_dir;
use latchkey_tests::browser::{click, eval, type_into, wait_for, wait_until, TestBrowser};
use latchkey_tests::pwa::{cache_names, copy_of, installability_errors, manifest_errors, NetworkLog};
use latchkey_tests::wire::WireTap;
use latchkey_tests::{spawn_app, AppOptions, TestDc};

/// What a first visit may download, as sent (the build checks the same figure).
const FIRST_LOAD_BUDGET: f64 = 200_000.0;

const CONTROLLED: &str = "navigator.serviceWorker.controller !== null";

pub async fn the_portal_installs_and_opens_offline(dc: &TestDc, browser: &TestBrowser) {
    let dist = copy_of(&spa_dir());
    let options = || AppOptions { spa_dir: Some(dist.path().to_path_buf()), ..Default::default() };
    let app = spawn_app(dc, options()).await;
    let page = browser.open(&app.url).await;
    wait_for(&page, "#username").await;
    wait_until(&page, CONTROLLED).await;

    let installability = installability_errors(&page).await;
    assert!(installability.is_empty(), "Chromium would install the portal: {installability:?}");
    let manifest = manifest_errors(&page).await;
    assert!(manifest.is_empty(), "the manifest has no errors: {manifest:?}");
    let caches = cache_names(&page).await;
    assert!(caches.len() == 1 && caches[0].starts_with("shell-"), "one cache, the shell's: {caches:?}");

    // The server goes away while the user is typing: a sign-in says so and keeps the name.
    type_into(&page, "#username", "Zoë.Kept").await;
    type_into(&page, "#password", "not-sent-anywhere").await;
    app.stop().await;
    click(&page, "form button[type=submit]").await;
    wait_for(&page, "[data-testid=offline]").await;
    let kept: String = eval(&page, "document.querySelector('#username').value").await;
    assert_eq!(kept, "Zoë.Kept", "what the user typed is kept");

    // Opened again with the server still down: the cached shell, not the browser's error page.
    page.reload().await.expect("reload");
    let offline = wait_for(&page, "[data-testid=offline]").await.inner_text().await.ok().flatten().unwrap_or_default();
    assert!(offline.contains("You are offline"), "the offline message: {offline}");
    let title: String = eval(&page, "document.title").await;
    assert_eq!(title, "Latchkey", "the app's own shell opened");

    // The server is back on the same address: the open page recovers by itself.
    let marker: bool = eval(&page, "(window.sameDocument = true)").await;
    assert!(marker);
    let back = spawn_app(dc, AppOptions { listen: Some(app.addr), ..options() }).await;
    wait_until(&page, "document.querySelector('[data-testid=offline]') === null").await;
    wait_for(&page, "#username").await;
    let same: bool = eval(&page, "window.sameDocument === true").await;
    assert!(same, "recovered without a reload");
    let _ = page.close().await;
    back.stop().await;
}

pub async fn a_new_deployment_is_offered_and_replaces_the_old(dc: &TestDc, browser: &TestBrowser) {
    let dist = copy_of(&spa_dir());
    let app = spawn_app(dc, AppOptions { spa_dir: Some(dist.path().to_path_buf()), ..Default::default() }).await;
    let page = browser.open(&app.url).await;
    wait_for(&page, "#username").await;
    wait_until(&page, CONTROLLED).await;
    let before = cache_names(&page).await;

    // The next build changed the stylesheet: a new hashed name, a new index.html, a new worker.
    let old_css = std::fs::read_dir(dist.path())
        .expect("dist")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("main-") && n.ends_with(".css"))
        .expect("the stylesheet");
    let new_css = "main-00000000000000002.css";
    let css = std::fs::read_to_string(dist.path().join(&old_css)).expect("css") + "\n/* the next deployment */\n";
    std::fs::write(dist.path().join(new_css), css).expect("write css");
    let index = std::fs::read_to_string(dist.path().join("index.html")).expect("index");
    std::fs::write(dist.path().join("index.html"), index.replace(&old_css, new_css)).expect("write index");
    std::fs::remove_file(dist.path().join(&old_css)).expect("old css gone");
    // Off the runtime's thread: the server and the browser's driver run on it meanwhile.
    let deployed = dist.path().to_path_buf();
    tokio::task::spawn_blocking(move || xtask::pwa::finish(&deployed))
        .await
        .expect("join")
        .expect("the build's last step");

    // The open page hears of it when the browser next checks (here: every second, as the
    // page's own hourly check would), and asks first.
    // Every state the new worker goes through, and what each check answered, for a failure.
    let watch = "navigator.serviceWorker.getRegistration().then(r => { window.swLog = []; \
                 r.addEventListener('updatefound', () => { const w = r.installing; window.swLog.push('found'); \
                 w.addEventListener('statechange', () => window.swLog.push(w.state)); }); return true; })";
    let _: bool = eval(&page, watch).await;
    let check = "navigator.serviceWorker.getRegistration().then(r => r.update()) \
                 .then(() => true, e => (window.swLog.push('update: ' + e), true))";
    for _ in 0..30 {
        let _: bool = eval(&page, check).await;
        let offered: bool = eval(&page, "document.querySelector('#update') !== null").await;
        if offered {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let offered: bool = eval(&page, "document.querySelector('#update') !== null").await;
    if !offered {
        let state: String = eval(
            &page,
            "navigator.serviceWorker.getRegistration().then(async r => JSON.stringify([r?.installing?.state, \
             r?.waiting?.state, r?.active?.state, await caches.keys(), (await (await fetch('/sw.js', {cache: 'no-store'})).text()).split('\\n')[2], window.swLog]))",
        )
        .await;
        panic!("no update prompt; the worker's registration, caches and the served version: {state}");
    }
    let text: String = eval(&page, "document.querySelector('#update').innerText").await;
    assert!(text.contains("A new version is ready"), "the update prompt: {text}");
    let still_old: String = eval(&page, "document.querySelector('link[rel=stylesheet]').href").await;
    assert!(still_old.ends_with(&old_css), "nothing swapped under the open page: {still_old}");

    click(&page, "#update-reload").await;
    wait_until(&page, &format!("document.querySelector('link[rel=stylesheet]')?.href.endsWith('{new_css}') === true"))
        .await;
    wait_for(&page, "#username").await;
    // The old cache goes once the new worker is active.
    let mut after = cache_names(&page).await;
    for _ in 0..50 {
        if after.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = cache_names(&page).await;
    }
    assert_eq!(after.len(), 1, "only the new cache is left: {after:?}");
    assert!(!before.contains(&after[0]), "a new cache: before {before:?}, after {after:?}");
    let _ = page.close().await;
    app.stop().await;
}

pub async fn a_first_visit_fits_the_budget_and_a_warm_one_only_revalidates(dc: &TestDc, browser: &TestBrowser) {
    let app = spawn_app(dc, AppOptions::default()).await;
    let tap = WireTap::start(app.addr).await;
    let page = browser.open("about:blank").await;
    let network = NetworkLog::start(&page).await;
    page.goto(&tap.url).await.expect("first visit");
    wait_for(&page, "#username").await;
    wait_until(&page, CONTROLLED).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (responses, cold) = network.total();
    for (url, bytes) in &responses {
        println!("first visit: {bytes:>9} B {url}");
    }
    let (_, cold_wire) = tap.take();
    println!(
        "first visit: {cold} B received by the page, {cold_wire} B sent by the server (the worker's precache included)"
    );
    assert!(cold > 100_000.0, "the page's bytes were counted: {cold}");
    assert!(cold <= FIRST_LOAD_BUDGET, "a first visit downloads {cold} B, over {FIRST_LOAD_BUDGET} B");

    // Opened again: the worker serves the shell; only index.html and the worker are asked again.
    page.goto(&tap.url).await.expect("second visit");
    wait_for(&page, "#username").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (requests, warm_wire) = tap.take();
    println!("warm visit: {warm_wire} B sent by the server for {requests:?}");
    let files: Vec<&String> = requests.iter().filter(|r| !r.contains(" /api/")).collect();
    assert!(
        files.iter().all(|r| *r == "GET /" || *r == "GET /sw.js" || *r == "GET /index.html"),
        "a warm visit fetches no file but index.html and the worker: {files:?}"
    );
    assert!(files.iter().any(|r| *r == "GET /"), "the page itself was revalidated: {requests:?}");
    assert!(warm_wire < 20_000, "a warm visit moves {warm_wire} B");
    let _ = page.close().await;
    app.stop().await;
}
