//! The page's plain sign-in form: shown while the app still compiles (the app's wasm held back
//! here, as a slow device or network would), at once when no session was started here (the
//! server's hint cookie), else once the session is known to be signed out. It passes axe-core;
//! what is typed there, the field with the focus and an Enter already pressed carry into the
//! app's own form; a signed-in user with the hint never sees it, and one without it never gets
//! back what was typed there. The plain form is painted before the app starts compiling.

use std::sync::Arc;

use chromiumoxide::cdp::browser_protocol::fetch::{
    ContinueRequestParams, DisableParams, EnableParams, EventRequestPaused, RequestPattern,
};
use chromiumoxide::cdp::browser_protocol::network::{
    ClearBrowserCookiesParams, EnableParams as NetworkEnable, SetBypassServiceWorkerParams, SetCacheDisabledParams,
};
use chromiumoxide::cdp::browser_protocol::page::{AddScriptToEvaluateOnNewDocumentParams, NavigateParams};
use chromiumoxide::cdp::browser_protocol::storage::ClearDataForOriginParams;
use chromiumoxide::Page;
use futures::StreamExt;
use latchkey_tests::browser::{
    assert_accessible, eval, focused_id, press, type_into, wait_for, wait_until, TestBrowser,
};
use latchkey_tests::{spawn_app, AppOptions, TestDc, UserOptions};
use tokio::sync::watch;

const EARLY_SHOWN: &str = "document.querySelector('#early-username')?.checkVisibility() === true";

pub async fn the_plain_form_shows_first_and_hands_over(dc: &TestDc, browser: &TestBrowser) {
    let app = spawn_app(dc, AppOptions::default()).await;
    let user = dc.create_user(UserOptions::default()).await;
    let page = browser.open("about:blank").await;
    page.execute(ClearDataForOriginParams::new(app.url.clone(), "all")).await.expect("a fresh origin");
    // The worker would answer the wasm from its cache, past the hold.
    page.execute(NetworkEnable::default()).await.expect("network domain");
    page.execute(SetBypassServiceWorkerParams::new(true)).await.expect("no worker");

    // No session started here, the app not started yet and the session's answer held too: the
    // plain form shows at once, and passes axe-core.
    let held = Held::hold(&page, &[WASM, SESSION]).await;
    load(&page, &app.url).await;
    wait_until(&page, EARLY_SHOWN).await;
    let answered: bool = eval(&page, "window.latchkeySignedOut !== undefined").await;
    assert!(!answered, "shown before the session's answer");
    let app_started: bool = eval(&page, "document.querySelector('#username') !== null").await;
    assert!(!app_started, "the app's form is not there yet: the wasm is held");
    assert_accessible(&page, "the plain sign-in form").await;
    // A name typed there, the focus left in its field: both carry into the app's form.
    type_into(&page, "#early-username", "Zoë.Früh").await;
    held.release();
    wait_for(&page, "#username").await;
    held.stop(&page).await;
    wait_until(&page, "document.activeElement?.id === 'username'").await;
    let carried: (String, u32, bool) = eval(
        &page,
        "(() => { const u = document.querySelector('#username'); \
         return [u.value, u.selectionStart, document.getElementById('early') === null]; })()",
    )
    .await;
    assert_eq!(carried, ("Zoë.Früh".to_string(), 8, true), "name, caret after it, plain form gone");
    assert_eq!(focused_id(&page).await, "username");

    // Enter pressed in the plain form: the app signs in with what was typed, once it starts.
    let held = Held::hold(&page, &[WASM]).await;
    load(&page, &app.url).await;
    wait_until(&page, EARLY_SHOWN).await;
    type_into(&page, "#early-username", &user.sam).await;
    type_into(&page, "#early-password", &user.password).await;
    press(&page, "Enter").await;
    let waiting: (bool, String) = eval(
        &page,
        "(() => { const b = document.querySelector('#early-sign-in button'); return [b.disabled, b.textContent]; })()",
    )
    .await;
    assert_eq!(waiting, (true, "Signing in…".to_string()), "the plain form says it is signing in");
    let query: String = eval(&page, "location.search").await;
    assert_eq!(query, "", "nothing typed went into the address");
    held.release();
    wait_for(&page, "#change-title").await;
    held.stop(&page).await;
    let signed_in: String = eval(&page, "fetch('/api/session').then(r => r.json()).then(v => v.username)").await;
    assert_eq!(signed_in.to_lowercase(), user.sam.to_lowercase(), "signed in as the user typed");

    // The gate: signed in (the hint set), the plain form does not show while the session's
    // answer is held, nor after it; the app's page does, its loader waiting for no frame.
    page.execute(AddScriptToEvaluateOnNewDocumentParams::new(PAINT_THEN_START)).await.expect("record");
    let held = Held::hold(&page, &[WASM, SESSION]).await;
    load(&page, &app.url).await;
    wait_until(&page, "document.readyState !== 'loading'").await;
    let shown: bool = eval(&page, EARLY_SHOWN).await;
    assert!(!shown, "a signed-in user is not shown the sign-in form while the session is asked");
    held.release();
    wait_until(&page, "window.latchkeySignedOut === false").await;
    let shown: bool = eval(&page, EARLY_SHOWN).await;
    assert!(!shown, "a signed-in user is not shown the sign-in form");
    wait_for(&page, "#change-title").await;
    held.stop(&page).await;
    let started: (bool, u32) = eval(&page, "[window.appStarting !== undefined, window.framesAwaited]").await;
    assert_eq!(started, (true, 0), "a signed-in user's app starts at once, awaiting no frame");

    // Signed in, but this browser lost the hint: the plain form shows until the session answers.
    // What was typed there, Enter pressed, is forgotten once the app learns the session is live:
    // a later sign-out shows an empty form and stays signed out.
    let _: bool = eval(&page, "(document.cookie = 'latchkey_signed_in=; Max-Age=0; path=/', true)").await;
    let held = Held::hold(&page, &[WASM, SESSION]).await;
    load(&page, &app.url).await;
    wait_until(&page, EARLY_SHOWN).await;
    type_into(&page, "#early-username", &user.sam).await;
    type_into(&page, "#early-password", &user.password).await;
    press(&page, "Enter").await;
    held.release_matching("_bg.wasm");
    wait_until(&page, "document.querySelector('body > header.bar') !== null && !document.getElementById('early')")
        .await;
    held.release();
    wait_for(&page, "#change-title").await;
    held.stop(&page).await;
    let signed_out: bool =
        eval(&page, "(() => { const b = [...document.querySelectorAll('button')].find(b => b.textContent === 'Sign out'); b?.click(); return !!b; })()").await;
    assert!(signed_out, "the sign-out button is there");
    wait_for(&page, "#username").await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let after: (Option<String>, Option<String>, bool, u16) = eval(
        &page,
        "(async () => [document.querySelector('#username')?.value, document.querySelector('#password')?.value, \
         document.querySelector('#change-title') === null, (await fetch('/api/session')).status])()",
    )
    .await;
    let empty = Some(String::new());
    assert_eq!(after, (empty.clone(), empty, true, 401), "nothing typed earlier came back; signed out");

    // A stale hint (the session gone): the plain form waits for the session's answer, then shows.
    page.execute(ClearBrowserCookiesParams::default()).await.expect("session gone");
    let _: bool = eval(&page, "(document.cookie = 'latchkey_signed_in=1; path=/', true)").await;
    let held = Held::hold(&page, &[WASM, SESSION]).await;
    load(&page, &app.url).await;
    wait_until(&page, "document.readyState !== 'loading'").await;
    let shown: bool = eval(&page, EARLY_SHOWN).await;
    assert!(!shown, "with the hint, the form waits for the session's answer");
    held.release_matching("/api/session");
    wait_until(&page, EARLY_SHOWN).await;
    held.release();
    wait_for(&page, "#username").await;
    held.stop(&page).await;

    // The plain form is painted before the app starts compiling. The stylesheet held, nothing
    // is painted and no script after it runs; once it arrives (the app's script already in),
    // the page shows the plain form, and its loader waits for the frame that paints it before
    // asking for the wasm.
    page.execute(ClearBrowserCookiesParams::default()).await.expect("no hint");
    // From the network each time: a stylesheet from the page's memory cache is not held.
    page.execute(SetCacheDisabledParams::new(true)).await.expect("no cache");
    // The page now open is not the one to be recorded.
    let _: bool = eval(&page, "(window.recording = false, true)").await;
    let held = Held::hold(&page, &["*.css"]).await;
    // The driver's navigation answers only once the page has got far enough along, which the
    // held stylesheet holds up.
    let navigating = tokio::spawn({
        let (page, url) = (page.clone(), app.url.clone());
        async move { load(&page, &url).await }
    });
    wait_until(&page, APP_SCRIPT_IN).await;
    let shown: bool = eval(&page, EARLY_SHOWN).await;
    assert!(!shown, "nothing is shown before the stylesheet");
    held.release();
    wait_for(&page, "#username").await;
    held.stop(&page).await;
    navigating.await.expect("navigated");
    let order: (Option<f64>, Option<f64>, u32) =
        eval(&page, "[window.plainFormPainted, window.appStarting, window.framesAwaited]").await;
    let (Some(painted), Some(starting), awaited) = order else { panic!("both recorded: {order:?}") };
    assert!(painted < starting, "the plain form painted ({painted} ms) before the app started ({starting} ms)");
    assert_eq!(awaited, 1, "the loader waited for the frame that paints the plain form, not by chance");
    page.execute(SetCacheDisabledParams::new(false)).await.expect("the cache again");
    let _ = page.close().await;
    app.stop().await;
}

/// Records, in every page from the signed-in check on: the frame that first shows the plain
/// form, when the app's loader asks for its wasm, and how many frames the page itself waited
/// for before that (the recorder's own not counted).
const PAINT_THEN_START: &str =
    "window.recording = true; const fetched = window.fetch; window.fetch = (input, init) => { \
     if (String(input?.url ?? input).endsWith('_bg.wasm')) window.appStarting ??= performance.now(); \
     return fetched(input, init); }; \
     const asked = window.requestAnimationFrame.bind(window); window.framesAwaited = 0; \
     window.requestAnimationFrame = (then) => asked((t) => { \
     if (window.appStarting === undefined) window.framesAwaited += 1; then(t); }); \
     const frame = () => { if (document.querySelector('#early-username')?.checkVisibility()) \
     window.plainFormPainted = performance.now(); else asked(frame); }; \
     asked(frame);";

/// The app's script (Trunk's loader imports it) has arrived, in the page being recorded.
const APP_SCRIPT_IN: &str =
    "window.recording === true && performance.getEntriesByType('resource').some(e => /latchkey-app-[^/]*\\.js$/.test(e.name) && e.responseEnd > 0)";

/// Navigates without waiting for the load event (the held wasm's preload would delay it).
async fn load(page: &Page, url: &str) {
    page.execute(NavigateParams::new(url)).await.expect("navigate");
}

const WASM: &str = "*_bg.wasm";
const SESSION: &str = "*/api/session";

/// Requests matching some patterns, held at the network until released.
struct Held {
    /// Parts of the URLs let go so far ("" lets everything go).
    released: watch::Sender<Vec<String>>,
    listener: tokio::task::JoinHandle<()>,
}

impl Held {
    async fn hold(page: &Page, patterns: &[&str]) -> Held {
        let mut paused = page.event_listener::<EventRequestPaused>().await.expect("listen for paused requests");
        let patterns = patterns.iter().map(|p| RequestPattern::builder().url_pattern(*p).build());
        page.execute(EnableParams::builder().patterns(patterns.collect::<Vec<_>>()).build()).await.expect("hold");
        let (released, watching) = watch::channel(Vec::<String>::new());
        let page = page.clone();
        let listener = tokio::spawn(async move {
            while let Some(request) = paused.next().await {
                let (page, mut watching, request): (Page, _, Arc<EventRequestPaused>) =
                    (page.clone(), watching.clone(), request);
                tokio::spawn(async move {
                    let url = request.request.url.clone();
                    let _ = watching.wait_for(|parts| parts.iter().any(|part| url.contains(part.as_str()))).await;
                    let _ = page.execute(ContinueRequestParams::new(request.request_id.clone())).await;
                });
            }
        });
        Held { released, listener }
    }

    /// Lets the held requests (and any later one) whose URL contains `part` go.
    fn release_matching(&self, part: &str) {
        self.released.send_modify(|parts| parts.push(part.to_string()));
    }

    /// Lets every held request (and any later one) go.
    fn release(&self) {
        self.release_matching("");
    }

    /// Stops holding, once the app has started (its wasm got through).
    async fn stop(self, page: &Page) {
        self.listener.abort();
        page.execute(DisableParams::default()).await.expect("stop holding");
    }
}
