//! Headless Chromium (Debian's) driven over the DevTools protocol; one browser per test
//! binary, a fresh page per scenario.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chromiumoxide::{Browser, BrowserConfig, Page};
use futures::StreamExt;

pub struct TestBrowser {
    pub browser: Arc<Browser>,
    handler: tokio::task::JoinHandle<()>,
    _profile: tempfile::TempDir,
}

/// How long the page may take to show what a step expects.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

impl TestBrowser {
    pub async fn launch() -> TestBrowser {
        let profile = tempfile::tempdir().expect("profile dir");
        let config = BrowserConfig::builder()
            .chrome_executable("/usr/bin/chromium")
            .no_sandbox()
            .user_data_dir(profile.path())
            .window_size(900, 1000)
            // Without leading dashes: chromiumoxide adds them.
            .args(["disable-gpu", "disable-quic", "no-first-run", "disable-background-networking"])
            .args(["disable-component-update", "disable-sync"])
            // Merged with chromiumoxide's own enable-features switch.
            .arg(("enable-features", "WebBluetooth"))
            .build()
            .expect("browser config");
        let (browser, mut handler) = Browser::launch(config).await.expect("launch Chromium");
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        TestBrowser { browser: Arc::new(browser), handler, _profile: profile }
    }

    /// A new page at `url`, on an origin as fresh as its server: every scenario's server has a
    /// port of its own, but the system hands out ports again, and an earlier server's service
    /// worker, caches and storage on the same port would otherwise meet this one. The driver
    /// also attaches to every worker a page starts and holds it until told to run, which can
    /// leave a worker's install hanging for good; the page is told, before it loads anything,
    /// to let its workers run.
    pub async fn open(&self, url: &str) -> Page {
        use chromiumoxide::cdp::browser_protocol::storage::ClearDataForOriginParams;
        use chromiumoxide::cdp::browser_protocol::target::SetAutoAttachParams;
        let page = self.browser.new_page("about:blank").await.expect("new page");
        let attach = SetAutoAttachParams::builder().auto_attach(false).wait_for_debugger_on_start(false).flatten(true);
        page.execute(attach.build().expect("auto-attach")).await.expect("let workers run");
        if url != "about:blank" {
            if let Some(origin) = origin_of(url) {
                page.execute(ClearDataForOriginParams::new(origin, "all")).await.expect("a fresh origin");
            }
            page.goto(url).await.expect("open the page");
        }
        page
    }

    /// A new tab at `url` with what the origin already keeps (its session cookie): the user
    /// coming back to the portal after closing a tab.
    pub async fn open_again(&self, url: &str) -> Page {
        use chromiumoxide::cdp::browser_protocol::target::SetAutoAttachParams;
        let page = self.browser.new_page("about:blank").await.expect("new page");
        let attach = SetAutoAttachParams::builder().auto_attach(false).wait_for_debugger_on_start(false).flatten(true);
        page.execute(attach.build().expect("auto-attach")).await.expect("let workers run");
        page.goto(url).await.expect("open the page");
        page
    }

    /// Closes the browser; every task holding it (an emulated key) must be detached first.
    pub async fn close(mut self) {
        if let Ok(mut browser) = Arc::try_unwrap(self.browser) {
            let _ = browser.close().await;
            let _ = browser.wait().await;
        }
        self.handler.abort();
        let _ = (&mut self.handler).await;
    }
}

/// `http://host:port` of `url`.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!("{scheme}://{host}"))
}

/// Waits until `selector` matches an element.
pub async fn wait_for(page: &Page, selector: &str) -> chromiumoxide::Element {
    let start = Instant::now();
    loop {
        if let Ok(el) = page.find_element(selector).await {
            return el;
        }
        if start.elapsed() > STEP_TIMEOUT {
            panic!("timed out waiting for {selector}; the page shows:\n{}", page_text(page).await);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the JavaScript expression `condition` is true.
pub async fn wait_until(page: &Page, condition: &str) {
    let start = Instant::now();
    loop {
        let ok = page.evaluate(condition).await.ok().and_then(|r| r.into_value::<bool>().ok());
        if ok == Some(true) {
            return;
        }
        if start.elapsed() > STEP_TIMEOUT {
            panic!("timed out waiting for: {condition}; the page shows:\n{}", page_text(page).await);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the page shows, for failure messages.
pub async fn page_text(page: &Page) -> String {
    let text = page.evaluate("document.body.innerText").await.ok().and_then(|r| r.into_value::<String>().ok());
    text.unwrap_or_else(|| "(unreadable)".into())
}

/// Types into the field as a user would (key events), after clearing it.
pub async fn type_into(page: &Page, selector: &str, text: &str) {
    let field = wait_for(page, selector).await;
    // Focused from the page, not by a click: a click lands wherever the field was a moment
    // ago, and the page may still be moving as answers arrive.
    let clear = format!(
        "(() => {{ const e = document.querySelector({selector:?}); e.value = ''; \
         e.dispatchEvent(new Event('input', {{ bubbles: true }})); e.focus(); return document.activeElement === e; }})()"
    );
    let focused: bool = eval(page, &clear).await;
    assert!(focused, "{selector} has the focus");
    if text.is_ascii() {
        field.type_str(text).await.expect("type");
    } else {
        // Key events exist for the keyboard's own keys only; other letters arrive as an IME
        // would send them.
        let insert = chromiumoxide::cdp::browser_protocol::input::InsertTextParams::new(text);
        page.execute(insert).await.expect("insert text");
    }
}

pub async fn click(page: &Page, selector: &str) {
    wait_for(page, selector).await.click().await.expect("click");
}

/// The value of a JavaScript expression.
pub async fn eval<T: serde::de::DeserializeOwned>(page: &Page, expression: &str) -> T {
    page.evaluate(expression).await.expect("evaluate").into_value().expect("value")
}

/// Chooses `value` in the `<select>` at `selector` as a user would (the change event fires);
/// fails when the list offers no such value.
pub async fn choose(page: &Page, selector: &str, value: &str) {
    wait_for(page, selector).await;
    let chosen: bool = eval(
        page,
        &format!(
            "(() => {{ const s = document.querySelector({selector:?}); \
             if (![...s.options].some(o => o.value === {value:?})) return false; \
             s.value = {value:?}; s.dispatchEvent(new Event('input', {{ bubbles: true }})); \
             s.dispatchEvent(new Event('change', {{ bubbles: true }})); return true; }})()"
        ),
    )
    .await;
    assert!(chosen, "{selector} offers {value:?}");
}

/// What axe-core finds wrong with the page as it is now (its `violations`, one line each); the
/// checker is injected from the file `cargo xtask test` installs (`LATCHKEY_TEST_AXE`).
pub async fn accessibility_violations(page: &Page) -> Vec<String> {
    let path =
        std::env::var("LATCHKEY_TEST_AXE").expect("LATCHKEY_TEST_AXE is unset: run the tests with `cargo xtask test`");
    let script = std::fs::read_to_string(&path).expect("axe-core's script");
    let loaded: bool = eval(page, &format!("{script}\n;typeof axe === 'object'")).await;
    assert!(loaded, "axe-core loaded into the page");
    eval(
        page,
        "axe.run(document).then(r => r.violations.map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(' ')).join(', ')}`))",
    )
    .await
}

/// Runs axe-core on the page as it is now, prints how many violations it found in `state`
/// (`axe: <state>: <n> violations`), and fails on any.
pub async fn assert_accessible(page: &Page, state: &str) {
    let found = accessibility_violations(page).await;
    println!("axe: {state}: {} violations", found.len());
    assert!(found.is_empty(), "axe-core on {state}: {found:#?}");
}

/// Presses `key` ("Tab", "Enter", …) as the keyboard would, wherever the focus is: the
/// browser's own default action follows (Tab moves the focus, Enter submits a form).
pub async fn press(page: &Page, key: &str) {
    wait_for(page, "body").await.press_key(key).await.expect("key press");
}

/// The focused element's id (empty when it has none, or nothing has the focus).
pub async fn focused_id(page: &Page) -> String {
    eval(page, "document.activeElement?.id ?? ''").await
}

/// Waits until the element with `id` has the focus.
pub async fn wait_for_focus(page: &Page, id: &str) {
    wait_until(page, &format!("document.activeElement?.id === {id:?}")).await;
}

/// Lays the page out as a phone of `width` CSS pixels would (and `height`).
pub async fn set_viewport(page: &Page, width: i64, height: i64) {
    use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
    page.execute(SetDeviceMetricsOverrideParams::new(width, height, 1.0, true)).await.expect("viewport");
}

/// How wide the page's content is, in CSS pixels (wider than the viewport: it scrolls sideways).
pub async fn scroll_width(page: &Page) -> i64 {
    eval(page, "document.documentElement.scrollWidth").await
}
