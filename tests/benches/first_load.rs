//! First content: from the start of navigation to a sign-in form on screen (the page's plain
//! HTML one, shown once the session is known to be signed out, or the app's), and when the
//! app's own form took over; in headless Chromium against the real server on loopback, cold
//! (a new profile: nothing cached) and warm (the service worker's cache), median of 10 each.
//! The baseline, measured in the same run and the same way, loads by loads: a bare page with
//! one form and nothing else (no stylesheet, no app) from a second server of the same build,
//! through the same service worker: what any page's first content costs in this browser on
//! this machine. The portal's first content is reported against it as ratios. A second, older
//! floor: a navigation to a small static file of the same server (its response only).
//! Beside each median, where the time went (medians of each step, ms since navigation began),
//! and the browser's own first contentful paint (the frame presented; the form is stamped at
//! the start of the frame that paints it). Measurements, never pass/fail.
//!
//! Two warm figures, because they measure different loads:
//! - "warm, next visit right away": the same tab loads the app again as soon as the worker
//!   took over. Same renderer process: V8 still holds the module the cold visit compiled (it
//!   is not compiled again), and the worker has just installed.
//! - "warm, later visit": the app stayed open a few seconds, its tab was closed, and a new
//!   tab opens it, as an installed app opened again later is: a new renderer, the wasm
//!   compiled again from the worker's cache. Chromium keeps no compiled wasm across processes
//!   for this app (its Code Cache/wasm folder stays empty, with or without the worker).

use chromiumoxide::cdp::browser_protocol::page::AddScriptToEvaluateOnNewDocumentParams;
use std::time::Duration;

use chromiumoxide::Page;
use latchkey_tests::browser::{eval, wait_until, TestBrowser};
use latchkey_tests::{spawn_app, AppOptions, TestDc};

const RUNS: usize = 10;
/// How long the app stays open before its tab is closed, for the later visit.
const OPEN_FOR: Duration = Duration::from_secs(3);

/// Records when the document's first script ran, when the session was asked and answered (the
/// page's first request for it, however made), when the app first put something on the page
/// (its header, straight under the body), when a sign-in form is first on screen (the page's
/// plain one, or the app's: stamped in the frame that paints it, and only if it is still there
/// then) and when the app's own form is there to take the sign-in, in ms since navigation began.
const WATCH: &str = "window.documentStarted = performance.now(); const fetched = window.fetch; window.fetch = (input, init) => { \
     const session = String(input?.url ?? input).endsWith('/api/session') && !window.sessionAsked; \
     if (session) window.sessionAsked = performance.now(); const answer = fetched(input, init); \
     if (session) answer.then(() => { window.sessionAnswered = performance.now(); }, () => {}); return answer; }; \
     const shown = (s) => document.querySelector(s)?.checkVisibility() === true; \
     new MutationObserver((_, o) => { \
     if (!window.mounted && document.querySelector('body > header.bar')) window.mounted = performance.now(); \
     if (!window.firstSeen && (shown('#early-username') || shown('#username'))) { window.firstSeen = true; \
     requestAnimationFrame(() => { const form = shown('#early-username') ? 'early' : shown('#username') ? 'app' : null; \
     if (form) { window.firstContent = performance.now(); window.firstForm = form; } else window.firstSeen = false; }); } \
     if (!window.appForm && document.querySelector('#username')) window.appForm = performance.now(); }) \
     .observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['hidden'] });";

/// The steps of one load, from the page's own timing entries: each a time since navigation
/// began (NaN when the step did not happen, e.g. a request the worker answered without one).
const STEPS: &[(&str, &str)] = &[
    ("worker started", "nav.workerStart || NaN"),
    ("document started", "window.documentStarted"),
    ("html received", "nav.responseEnd"),
    ("js asked", "start(e => /latchkey-app-[^/]*\\.js$/.test(e.name))"),
    ("js received", "end(e => /latchkey-app-[^/]*\\.js$/.test(e.name))"),
    ("wasm asked", "start(e => e.name.endsWith('_bg.wasm'))"),
    ("wasm received", "end(e => e.name.endsWith('_bg.wasm'))"),
    ("api/session asked", "window.sessionAsked"),
    ("api/session answered", "window.sessionAnswered"),
    ("app mounted", "window.mounted"),
    ("page loaded", "nav.loadEventStart || NaN"),
    ("plain form shown", "window.firstForm === 'early' ? window.firstContent : NaN"),
    ("contentful paint", "performance.getEntriesByName('first-contentful-paint')[0]?.startTime"),
    ("app's form ready", "window.appForm"),
    ("form shown", "window.firstContent"),
];

/// What answered the warm load's wasm request: "cache" (the worker's static route, its script
/// not run), "fetch-event" (the worker's script) or "" (no worker, or a browser that does not say).
const WASM_SOURCE: &str = "performance.getEntriesByType('resource').find(e => e.name.endsWith('_bg.wasm'))\
     ?.workerMatchedSourceType ?? ''";

/// The baseline's page: one form, nothing else but what registers the worker (which waits for
/// the app's start, announced here once the page has loaded).
const BARE_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
     <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Latchkey</title>\
     <script src=\"/pwa.js\" defer></script></head><body><form><label for=\"early-username\">Logon name</label>\
     <input id=\"early-username\"><input id=\"username\" aria-label=\"Logon name\"></form>\
     <script>addEventListener('load', () => setTimeout(() => dispatchEvent(new Event('TrunkApplicationStarted'))));</script>\
     </body></html>";

/// One page's loads, run by run: each step's time, cold, warm (right away) and warm (later).
struct Loads {
    cold: Vec<Vec<f64>>,
    warm: Vec<Vec<f64>>,
    later: Vec<Vec<f64>>,
}

#[tokio::main]
async fn main() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let bare_dir = bare_page_build();
    let bare =
        spawn_app(&dc, AppOptions { spa_dir: Some(bare_dir.path().to_path_buf()), ..AppOptions::default() }).await;
    let (mut portal, mut baseline) = (Loads::new(), Loads::new());
    let (mut floor, mut served) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        // Turn about, each first in every other run, so a machine that slows down during the
        // run slows both alike.
        if run % 2 == 0 {
            baseline.measure(&bare.url, None).await;
        }
        portal.measure(&app.url, Some((&mut floor, &mut served))).await;
        if run % 2 == 1 {
            baseline.measure(&bare.url, None).await;
        }
    }
    let (cold_steps, warm_steps, later_steps) = (medians(&portal.cold), medians(&portal.warm), medians(&portal.later));
    let (first, ready, paint, plain) = (STEPS.len() - 1, STEPS.len() - 2, STEPS.len() - 3, STEPS.len() - 4);
    let plain_first = |runs: &[Vec<f64>]| runs.iter().filter(|r| r[plain] >= 0.0).count();
    let (cold_ms, warm_ms, later_ms) = (cold_steps[first], warm_steps[first], later_steps[first]);
    let (bare_cold, bare_warm, bare_later) =
        (medians(&baseline.cold)[first], medians(&baseline.warm)[first], medians(&baseline.later)[first]);
    let floor = median(floor);
    println!(
        "first content, median of {RUNS}: cold {cold_ms:.0} ms, warm {warm_ms:.0} ms (next visit right away), \
         warm {later_ms:.0} ms (later visit, a new tab); a static file {floor:.0} ms"
    );
    println!(
        "baseline, a bare page with one form, same run: cold {bare_cold:.0} ms, warm {bare_warm:.0} ms, later {bare_later:.0} ms"
    );
    println!(
        "first content against the baseline: cold {:.2}, warm {:.2}, later {:.2}",
        cold_ms / bare_cold,
        warm_ms / bare_warm,
        later_ms / bare_later
    );
    println!(
        "the browser's first contentful paint: cold {:.0} ms, warm {:.0} ms, later {:.0} ms",
        cold_steps[paint], warm_steps[paint], later_steps[paint]
    );
    println!(
        "the app's own form ready, median of {RUNS}: cold {:.0} ms, warm {:.0} ms, later {:.0} ms",
        cold_steps[ready], warm_steps[ready], later_steps[ready]
    );
    println!(
        "the page's plain form painted first in {}, {} and {} of {RUNS} loads (cold, warm, later)",
        plain_first(&portal.cold),
        plain_first(&portal.warm),
        plain_first(&portal.later)
    );
    println!(
        "first content ratios: warm/cold {:.2}, later/cold {:.2}, cold/static {:.1}, warm/static {:.1}, later/static {:.1}",
        warm_ms / cold_ms,
        later_ms / cold_ms,
        cold_ms / floor,
        warm_ms / floor,
        later_ms / floor
    );
    served.sort();
    served.dedup();
    println!("the warm load's wasm came from: {served:?}");
    println!("where the time went (median ms since navigation began; - when the step did not happen):");
    println!("  {:<22} {:>6} {:>11} {:>11}", "", "cold", "warm, now", "warm, later");
    for (i, (name, _)) in STEPS.iter().enumerate() {
        println!("  {name:<22} {:>6} {:>11} {:>11}", shown(cold_steps[i]), shown(warm_steps[i]), shown(later_steps[i]));
    }
}

impl Loads {
    fn new() -> Loads {
        Loads { cold: Vec::new(), warm: Vec::new(), later: Vec::new() }
    }

    /// One run at `url` in a new browser: cold, warm right away (and, for the portal, a static
    /// file and what served the warm wasm), then warm later in a new tab.
    async fn measure(&mut self, url: &str, portal: Option<(&mut Vec<f64>, &mut Vec<String>)>) {
        let browser = TestBrowser::launch().await;
        let page = watched(&browser).await;
        self.cold.push(first_content(&page, url).await);
        wait_until(&page, "navigator.serviceWorker.controller !== null").await;
        self.warm.push(first_content(&page, url).await);
        if let Some((floor, served)) = portal {
            served.push(eval::<String>(&page, WASM_SOURCE).await);
            page.goto(format!("{url}/icon.svg")).await.expect("static file");
            floor.push(eval::<f64>(&page, "performance.getEntriesByType('navigation')[0].responseEnd").await);
        }
        // The page open a while, then closed; opened again in a new tab.
        page.goto(url).await.expect("the page again");
        tokio::time::sleep(OPEN_FOR).await;
        page.close().await.expect("close the tab");
        let page = watched(&browser).await;
        self.later.push(first_content(&page, url).await);
        browser.close().await;
    }
}

/// The built app with its page swapped for the bare one: the same worker, files and server.
fn bare_page_build() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let built = latchkey_tests::app::spa_dir().canonicalize().expect("the built app");
    for entry in std::fs::read_dir(&built).expect("the built app").flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with("index.html") {
            std::os::unix::fs::symlink(entry.path(), dir.path().join(&name)).expect("link");
        }
    }
    std::fs::write(dir.path().join("index.html"), BARE_PAGE).expect("the bare page");
    dir
}

/// A new tab that records each load's steps (WATCH) from its first document on.
async fn watched(browser: &TestBrowser) -> Page {
    let page = browser.open("about:blank").await;
    let watch = AddScriptToEvaluateOnNewDocumentParams::builder().source(WATCH).build().expect("script");
    page.execute(watch).await.expect("watch for the form");
    page
}

/// Loads the app and returns the time of each step (the form's appearance last).
async fn first_content(page: &Page, url: &str) -> Vec<f64> {
    page.goto(url).await.expect("navigate");
    wait_until(page, "typeof window.firstContent === 'number' && typeof window.appForm === 'number'").await;
    let steps: Vec<String> = STEPS.iter().map(|(_, js)| format!("({js})")).collect();
    let script = format!(
        "(() => {{ const nav = performance.getEntriesByType('navigation')[0]; \
         const all = performance.getEntriesByType('resource'); \
         const start = (f) => all.find(f)?.startTime ?? NaN; const end = (f) => all.find(f)?.responseEnd ?? NaN; \
         return [{}].map(v => (typeof v === 'number' && isFinite(v)) ? v : -1); }})()",
        steps.join(", ")
    );
    eval(page, &script).await
}

/// The median of each step over the runs (a step missing from a run, -1, is left out).
fn medians(runs: &[Vec<f64>]) -> Vec<f64> {
    (0..STEPS.len()).map(|i| median(runs.iter().map(|r| r[i]).filter(|v| *v >= 0.0).collect())).collect()
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn shown(ms: f64) -> String {
    if ms.is_finite() {
        format!("{ms:.0}")
    } else {
        "-".to_string()
    }
}
