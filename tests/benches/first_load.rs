//! First content: from the start of navigation to the sign-in form on screen, in headless
//! Chromium against the real server on loopback; cold (a new profile: nothing cached) and warm
//! (the service worker's cache), median of 10 each. The floor beside them is a navigation to a
//! small static file of the same server in the same browser: what any load costs here.
//! Measurements, never pass/fail.

use chromiumoxide::cdp::browser_protocol::page::AddScriptToEvaluateOnNewDocumentParams;
use chromiumoxide::Page;
use latchkey_tests::browser::{eval, wait_until, TestBrowser};
use latchkey_tests::{spawn_app, AppOptions, TestDc};

const RUNS: usize = 10;

/// Records when the sign-in form's first field appears, in ms since navigation began.
const WATCH: &str = "new MutationObserver((_, o) => { if (document.querySelector('#username')) { \
     window.firstContent = performance.now(); o.disconnect(); } }).observe(document, { childList: true, subtree: true });";

#[tokio::main]
async fn main() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (mut cold, mut warm, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let browser = TestBrowser::launch().await;
        let page = browser.open("about:blank").await;
        let watch = AddScriptToEvaluateOnNewDocumentParams::builder().source(WATCH).build().expect("script");
        page.execute(watch).await.expect("watch for the form");
        cold.push(first_content(&page, &app.url).await);
        wait_until(&page, "navigator.serviceWorker.controller !== null").await;
        warm.push(first_content(&page, &app.url).await);
        page.goto(format!("{}/icon.svg", app.url)).await.expect("static file");
        floor.push(eval::<f64>(&page, "performance.getEntriesByType('navigation')[0].responseEnd").await);
        browser.close().await;
    }
    let (cold, warm, floor) = (median(cold), median(warm), median(floor));
    println!("first content, median of {RUNS}: cold {cold:.0} ms, warm {warm:.0} ms; a static file {floor:.0} ms");
    println!(
        "first content ratios: warm/cold {:.2}, cold/static {:.1}, warm/static {:.1}",
        warm / cold,
        cold / floor,
        warm / floor
    );
}

async fn first_content(page: &Page, url: &str) -> f64 {
    page.goto(url).await.expect("navigate");
    wait_until(page, "typeof window.firstContent === 'number'").await;
    eval(page, "window.firstContent").await
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}
