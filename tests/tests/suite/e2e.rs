//! The SPA in headless Chromium against the real server and DC. One browser for the suite.

mod admin_pages;
mod early_form;
mod pwa_pages;
mod recovery_pages;
mod step_up_pages;
mod tab_closed;

use chromiumoxide::cdp::browser_protocol::bluetooth_emulation::{
    CentralState, DisableParams as BluetoothEmulationDisable, EnableParams as BluetoothEmulationEnable,
};
use chromiumoxide::cdp::browser_protocol::device_access::EnableParams as DeviceAccessEnable;
use keysim::storage::MemoryFlash;
use keysim::SimKey;
use latchkey_tests::bluetooth::{remove_adapter, EmulatedKey};
use latchkey_tests::browser::{
    assert_accessible, click, eval, focused_id, press, scroll_width, set_viewport, type_into, wait_for, wait_for_focus,
    wait_until, TestBrowser,
};
use latchkey_tests::{keys, spawn_app, totp_code, AppOptions, TestDc, TestUser, UserOptions};

const FAILED_RULES: &str = "Array.from(document.querySelectorAll('li[data-outcome=failed]')).map(e => e.dataset.rule)";

#[tokio::test]
async fn self_service_password_change_in_the_browser() {
    let dc = TestDc::from_env();
    let browser = TestBrowser::launch().await;
    // One browser for every scenario; each runs even when one before it failed, and a failure
    // names its scenario.
    let mut failed = Vec::new();
    {
        let (dc, browser) = (&dc, &browser);
        scenario(&mut failed, "change_with_live_checklist", change_with_live_checklist(dc, browser)).await;
        let name = "the_keyboard_alone_signs_in_on_a_narrow_screen";
        scenario(&mut failed, name, the_keyboard_alone_signs_in_on_a_narrow_screen(dc, browser)).await;
        let name = "a_change_without_the_server_keeps_what_was_typed";
        scenario(&mut failed, name, a_change_without_the_server_keeps_what_was_typed(dc, browser)).await;
        let name = "must_change_user_is_sent_straight_to_the_change";
        scenario(&mut failed, name, must_change_user_is_sent_straight_to_the_change(dc, browser)).await;
        scenario(
            &mut failed,
            "user_who_may_not_change_sees_no_form",
            user_who_may_not_change_sees_no_form(dc, browser),
        )
        .await;
        scenario(&mut failed, "key_flows_in_the_browser", key_flows_in_the_browser(dc, browser)).await;
        let name = "the_demo_virtual_key_runs_in_the_page";
        scenario(&mut failed, name, the_demo_virtual_key_runs_in_the_page(dc, browser)).await;
        let name = "an_administrator_resets_a_password_that_only_the_key_learns";
        scenario(&mut failed, name, an_administrator_resets_a_password_that_only_the_key_learns(dc, browser)).await;
        let name = "the_administration_pages_have_no_dead_ends";
        scenario(&mut failed, name, admin_pages::the_administration_pages_have_no_dead_ends(dc, browser)).await;
        let name = "a_change_waits_for_an_authenticator_enrolled_in_the_page";
        scenario(
            &mut failed,
            name,
            step_up_pages::a_change_waits_for_an_authenticator_enrolled_in_the_page(dc, browser),
        )
        .await;
        let name = "a_key_press_confirms_a_change_everywhere";
        scenario(&mut failed, name, step_up_pages::a_key_press_confirms_a_change_everywhere(dc, browser)).await;
        let name = "a_locked_out_user_unlocks_with_the_key";
        scenario(&mut failed, name, recovery_pages::a_locked_out_user_unlocks_with_the_key(dc, browser)).await;
        let name = "a_user_without_the_key_recovers_with_two_codes";
        scenario(&mut failed, name, recovery_pages::a_user_without_the_key_recovers_with_two_codes(dc, browser)).await;
        let name = "a_signed_in_user_reports_their_key_stolen";
        scenario(&mut failed, name, recovery_pages::a_signed_in_user_reports_their_key_stolen(dc, browser)).await;
        let name = "key_connection_failures_are_explained";
        scenario(&mut failed, name, key_connection_failures_are_explained(dc, browser)).await;
        let name = "the_portal_installs_and_opens_offline";
        scenario(&mut failed, name, pwa_pages::the_portal_installs_and_opens_offline(dc, browser)).await;
        let name = "a_new_deployment_is_offered_and_replaces_the_old";
        scenario(&mut failed, name, pwa_pages::a_new_deployment_is_offered_and_replaces_the_old(dc, browser)).await;
        let name = "a_first_visit_fits_the_budget_and_a_warm_one_only_revalidates";
        scenario(
            &mut failed,
            name,
            pwa_pages::a_first_visit_fits_the_budget_and_a_warm_one_only_revalidates(dc, browser),
        )
        .await;
        let name = "the_plain_form_shows_first_and_hands_over";
        scenario(&mut failed, name, early_form::the_plain_form_shows_first_and_hands_over(dc, browser)).await;
        let name = "a_tab_closed_mid_flow_loses_nothing_and_locks_no_one";
        scenario(&mut failed, name, tab_closed::a_tab_closed_mid_flow_loses_nothing_and_locks_no_one(dc, browser))
            .await;
    }
    browser.close().await;
    assert!(failed.is_empty(), "browser scenarios failed: {failed:?}");
}

/// Runs one scenario: all of them, or those `LATCHKEY_SCENARIOS` names (comma-separated).
async fn scenario(failed: &mut Vec<&'static str>, name: &'static str, run: impl std::future::Future<Output = ()>) {
    use futures::FutureExt;
    if std::env::var("LATCHKEY_SCENARIOS").is_ok_and(|only| !only.split(',').any(|n| n.trim() == name)) {
        return;
    }
    if std::panic::AssertUnwindSafe(run).catch_unwind().await.is_err() {
        eprintln!("browser scenario failed: {name}");
        failed.push(name);
    }
}

/// An administrator's first visit: signs in, opens the administration, enrols an authenticator
/// from the page (the QR code drawn, the secret beside it), and continues to the dashboard.
async fn administrator_enrols(page: &chromiumoxide::Page, admin: &TestUser) {
    open_administration(page, admin).await;
    finish_enrolment(page).await;
}

/// Signs `admin` in on the portal and follows the link to the administration pages.
async fn open_administration(page: &chromiumoxide::Page, admin: &TestUser) {
    sign_in(page, &admin.sam, &admin.password).await;
    wait_for(page, "[data-testid=admin-link]").await;
    click(page, "[data-testid=admin-link]").await;
}

/// On the enrolment page: the QR code is drawn, the code from the secret is confirmed, the
/// recovery codes are shown with no error left on screen; then on to the dashboard.
async fn finish_enrolment(page: &chromiumoxide::Page) {
    let secret = wait_for(page, "[data-testid=totp-secret]").await.inner_text().await.unwrap().unwrap_or_default();
    // A wrong code first: refused on screen; the right one then leaves no error behind.
    let wrong = if totp_code(&secret) == "000000" { "000001" } else { "000000" };
    type_into(page, "#totp-code", wrong).await;
    click(page, "form button[type=submit]").await;
    wait_for(page, ".alert").await;
    let drawn: bool =
        eval(page, "document.querySelector('[data-testid=totp-qr] svg rect, [data-testid=totp-qr] svg path') !== null")
            .await;
    assert!(drawn, "the QR code is drawn in the page");
    type_into(page, "#totp-code", &totp_code(&secret)).await;
    click(page, "form button[type=submit]").await;
    wait_for(page, "[data-testid=recovery-codes]").await;
    let alerts: bool = eval(page, "document.querySelector('.alert') === null").await;
    assert!(alerts, "no error left on screen after the code was accepted");
    click(page, "[data-testid=continue]").await;
    wait_for(page, "#dashboard-title").await;
}

async fn sign_in(page: &chromiumoxide::Page, username: &str, password: &str) {
    type_into(page, "#username", username).await;
    type_into(page, "#password", password).await;
    click(page, "form button[type=submit]").await;
}

/// Fills the change form with a good password, waits for every rule (the server's included) to
/// pass, submits, and waits for the confirmation.
async fn change_in_form(page: &chromiumoxide::Page, current: &str, new: &str) {
    type_into(page, "#current", current).await;
    type_into(page, "#new", new).await;
    type_into(page, "#new-confirm", new).await;
    wait_until(page, "document.querySelector('li[data-rule=not_blocklisted][data-outcome=passed]') !== null").await;
    wait_until(page, "document.querySelector('.strength') !== null").await;
    let failed: Vec<String> = eval(page, FAILED_RULES).await;
    assert!(failed.is_empty(), "{failed:?}");
    click(page, "form.change button[type=submit]").await;
    wait_for(page, "[data-testid=changed]").await;
}

/// Ids that more than one element carries.
const DUPLICATE_IDS: &str =
    "(() => { const ids = [...document.querySelectorAll('[id]')].map(e => e.id); return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))]; })()";

/// With the key ready and holding no password for the account: the change form goes to the
/// key only; the current password, checked by the directory, is stored on the key.
async fn onboard(page: &chromiumoxide::Page, password: &str) {
    wait_until(page, "document.querySelector('form.change')?.dataset.target === 'key'").await;
    type_into(page, "#on-key", password).await;
    click(page, "form.change button[type=submit]").await;
    wait_for(page, "[data-testid=key-done]").await;
}

/// The same, with a password the directory refuses: the refusal takes the focus.
async fn onboard_refused(page: &chromiumoxide::Page, wrong: &str) {
    wait_until(page, "document.querySelector('form.change')?.dataset.target === 'key'").await;
    type_into(page, "#on-key", wrong).await;
    click(page, "form.change button[type=submit]").await;
    wait_for(page, "[data-testid=key-refused]").await;
    wait_for_focus(page, "key-outcome").await;
}

/// "Directory and key", generated: changed in the directory and on the key, shown to nobody.
async fn generate_everywhere(page: &chromiumoxide::Page) {
    click(page, "#target-everywhere").await;
    click(page, "#how-generated").await;
    wait_until(page, "document.querySelector('form.change')?.dataset.target === 'everywhere'").await;
    click(page, "form.change button[type=submit]").await;
    wait_until(
        page,
        "(document.querySelector('[data-testid=key-done]')?.innerText ?? '').includes('directory and on the key')",
    )
    .await;
    wait_for_focus(page, "key-outcome").await;
}

async fn change_with_live_checklist(dc: &TestDc, browser: &TestBrowser) {
    let user = dc.create_user(UserOptions { display_name: Some("Nora Vance".into()), ..Default::default() }).await;
    let app = spawn_app(dc, AppOptions::default()).await;
    let page = browser.open(&app.url).await;

    // A wrong password is refused with the reason shown, and the reason has the focus.
    sign_in(&page, &user.sam, "Not-My-Password-1").await;
    wait_until(&page, "document.querySelector('.alert[data-code=invalid_credentials]') !== null").await;
    wait_for_focus(&page, "sign-in-error").await;
    assert_accessible(&page, "sign-in with an error").await;

    sign_in(&page, &user.sam, &user.password).await;
    wait_for(&page, "#new").await;
    let expiry: String = eval(&page, "document.querySelector('[data-testid=expiry]').innerText").await;
    assert!(expiry.contains("expires in 41 days") || expiry.contains("expires in 42 days"), "{expiry}");

    // Nothing typed yet: every rule is neutral, none failed and none met (the blocklist's
    // included); the field describes itself by its own checklist.
    let rules: Vec<String> =
        eval(&page, "[...document.querySelectorAll('#new-rules li')].map(e => e.dataset.outcome)").await;
    assert!(!rules.is_empty() && rules.iter().all(|o| o == "pending"), "{rules:?}");
    let described: String = eval(&page, "document.querySelector('#new').getAttribute('aria-describedby')").await;
    assert_eq!(described, "new-rules");

    // A weak password: every failed rule is listed as the user types, before any submit.
    type_into(&page, "#new", "vance").await;
    wait_until(&page, "document.querySelector('li[data-rule=no_name_parts][data-outcome=failed]') !== null").await;
    let failed: Vec<String> = eval(&page, FAILED_RULES).await;
    assert_eq!(failed, vec!["min_length", "no_name_parts", "categories"]);
    let disabled: bool = eval(&page, "document.querySelector('form.change button').disabled").await;
    assert!(disabled, "a failing password cannot be submitted");
    assert_accessible(&page, "the change form with failing rules").await;

    // A common password passes the local rules but the server's blocklist catches it.
    type_into(&page, "#new", "Password123!").await;
    wait_until(&page, "document.querySelector('li[data-rule=not_blocklisted][data-outcome=failed]') !== null").await;

    // A strong one: everything passes, the server's checks included; the answer has the focus,
    // and the expiry follows the new password at once.
    let new = "Copper-Lantern-Orbit-58";
    change_in_form(&page, &user.password, new).await;
    wait_for_focus(&page, "change-done").await;
    wait_until(&page, &format!("document.querySelector('[data-testid=expiry]').innerText !== {expiry:?}")).await;

    assert!(dc.binds(&user.dn, new).await, "the new password binds in the directory");
    assert!(!dc.binds(&user.dn, &user.password).await);
    page.close().await.expect("close page");
}

/// The sign-in page with the keyboard alone, on a 375 px phone: Tab reaches the logon name, the
/// password and the submit in that order; Enter submits; a refusal takes the focus; neither
/// page scrolls sideways.
async fn the_keyboard_alone_signs_in_on_a_narrow_screen(dc: &TestDc, browser: &TestBrowser) {
    let user = dc
        .create_user(UserOptions {
            display_name: Some("Maximiliane Wolkenstein-Oberhausen".into()),
            ..Default::default()
        })
        .await;
    let app = spawn_app(dc, AppOptions::default()).await;
    let page = browser.open("about:blank").await;
    set_viewport(&page, 375, 800).await;
    page.goto(&app.url).await.expect("open the portal");
    wait_for(&page, "#username").await;
    let width = scroll_width(&page).await;
    assert!(width <= 375, "the sign-in page is {width} px wide at 375 px");

    let from_the_top: bool =
        eval(&page, "(document.activeElement?.blur(), document.activeElement === document.body)").await;
    assert!(from_the_top);
    // From the top of the page (past the app bar's own buttons, when the browser offers them).
    let mut stops = Vec::new();
    while stops.len() < 4 && stops.last().map(String::as_str) != Some("username") {
        press(&page, "Tab").await;
        stops.push(focused_id(&page).await);
    }
    assert_eq!(stops.last().map(String::as_str), Some("username"), "Tab stops: {stops:?}");
    let outlined: String = eval(&page, "getComputedStyle(document.activeElement).outlineStyle").await;
    assert_ne!(outlined, "none", "the focused field shows it");
    press(&page, "Tab").await;
    assert_eq!(focused_id(&page).await, "password");
    press(&page, "Tab").await;
    let on_submit: bool =
        eval(&page, "document.activeElement === document.querySelector('form button[type=submit]')").await;
    assert!(on_submit, "the third stop is the sign-in button");

    // Typed, then Enter: a wrong password is refused, and the refusal has the focus.
    type_into(&page, "#username", &user.sam).await;
    type_into(&page, "#password", "Not-Her-Password-3").await;
    press(&page, "Enter").await;
    wait_for(&page, ".alert[data-code=invalid_credentials]").await;
    wait_for_focus(&page, "sign-in-error").await;
    type_into(&page, "#password", &user.password).await;
    press(&page, "Enter").await;
    wait_for(&page, "#new").await;

    // The change page at 375 px, with a long name and every rule listed.
    type_into(&page, "#new", "a").await;
    wait_for(&page, "li[data-outcome=failed]").await;
    let width = scroll_width(&page).await;
    assert!(width <= 375, "the change page is {width} px wide at 375 px");
    page.close().await.expect("close page");
}

/// The server goes away while the user changes their password: the submit says they are
/// offline (with the focus), keeps everything typed, stores none of it, queues nothing; the
/// page notices by itself when the server is back, and the same submit then goes through.
async fn a_change_without_the_server_keeps_what_was_typed(dc: &TestDc, browser: &TestBrowser) {
    let user = dc.create_user(UserOptions::default()).await;
    let app = spawn_app(dc, AppOptions::default()).await;
    let page = browser.open(&app.url).await;
    sign_in(&page, &user.sam, &user.password).await;
    let new = "Lichen-Beacon-Rowan-74";
    type_into(&page, "#current", &user.password).await;
    type_into(&page, "#new", new).await;
    type_into(&page, "#new-confirm", new).await;
    wait_until(&page, "document.querySelector('li[data-rule=not_blocklisted][data-outcome=passed]') !== null").await;

    app.stop().await;
    click(&page, "form.change button[type=submit]").await;
    let said = wait_for(&page, "[data-testid=offline]").await.inner_text().await.unwrap().unwrap_or_default();
    assert!(said.contains("You are offline — changing a password needs the company network or VPN"), "{said}");
    wait_for_focus(&page, "offline").await;
    let kept: Vec<String> =
        eval(&page, "['#current', '#new', '#new-confirm'].map(s => document.querySelector(s).value)").await;
    assert_eq!(kept, vec![user.password.clone(), new.to_string(), new.to_string()], "what was typed is kept");
    let changed: bool = eval(&page, "document.querySelector('[data-testid=changed]') !== null").await;
    assert!(!changed, "nothing claims a change");
    assert_accessible(&page, "the change form with the offline message").await;
    let stored: String =
        eval(&page, "JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])").await;
    assert!(!stored.contains(new) && !stored.contains(&user.password), "no password stored: {stored}");
    assert!(!dc.binds(&user.dn, new).await, "nothing reached the directory");

    // The same server back on the same address (its database and secret: the session holds).
    // No `online` event fires for a server that restarts: the page asks again by itself.
    let back = spawn_app(
        dc,
        AppOptions {
            listen: Some(app.addr),
            database_url: Some(app.state.config.database_url.clone()),
            secret_key_file: Some(app.state.config.secret_key_file.clone()),
            ..AppOptions::default()
        },
    )
    .await;
    wait_until(&page, "document.querySelector('[data-testid=offline]') === null").await;
    assert!(!dc.binds(&user.dn, new).await, "nothing was sent again by itself");
    click(&page, "form.change button[type=submit]").await;
    wait_for(&page, "[data-testid=changed]").await;
    assert!(dc.binds(&user.dn, new).await, "the submit, made again, changed it");
    page.close().await.expect("close page");
    back.stop().await;
}

async fn must_change_user_is_sent_straight_to_the_change(dc: &TestDc, browser: &TestBrowser) {
    let user = dc.create_user(UserOptions::default()).await;
    dc.set_must_change(&user.dn).await;
    let app = spawn_app(dc, AppOptions::default()).await;
    let page = browser.open(&app.url).await;
    sign_in(&page, &user.sam, &user.password).await;
    let notice = wait_for(&page, ".card > .notice").await.inner_text().await.unwrap().unwrap_or_default();
    assert!(notice.contains("requires a new password"), "{notice}");
    let new = "Granite-Harbor-Tide-31";
    change_in_form(&page, &user.password, new).await;
    assert!(dc.binds(&user.dn, new).await);
    page.close().await.expect("close page");
}

async fn user_who_may_not_change_sees_no_form(dc: &TestDc, browser: &TestBrowser) {
    let user = dc.create_user(UserOptions::default()).await;
    dc.deny_password_change(&user.dn);
    let app = spawn_app(dc, AppOptions::default()).await;
    let page = browser.open(&app.url).await;
    sign_in(&page, &user.sam, &user.password).await;
    wait_for(&page, "[data-testid=may-not-change]").await;
    let has_form: bool = eval(&page, "document.querySelector('form.change') !== null").await;
    assert!(!has_form, "the change form is not offered");
    page.close().await.expect("close page");
}

async fn signed_in_page(dc: &TestDc, browser: &TestBrowser) -> (chromiumoxide::Page, latchkey_tests::TestApp) {
    let user = dc.create_user(UserOptions::default()).await;
    let app = spawn_app(dc, AppOptions::default()).await;
    let page = browser.open(&app.url).await;
    sign_in(&page, &user.sam, &user.password).await;
    // The policy loads above the key panel: wait for it so the layout is still when we click.
    wait_for(&page, "#new").await;
    (page, app)
}

async fn key_flows_in_the_browser(dc: &TestDc, browser: &TestBrowser) {
    let user = dc.create_user(UserOptions::default()).await;
    let app = spawn_app(dc, AppOptions::default()).await;
    let (key, made) = keys::new_key("LK-E2E-0001");
    let code = keys::provision(&app, &user, &made).await;
    let page = browser.open(&app.url).await;
    sign_in(&page, &user.sam, &user.password).await;
    // The policy loads above the key panel: wait for it so the layout is still when we click.
    wait_for(&page, "#new").await;
    let emulated = EmulatedKey::attach(&browser.browser, &page, key, true).await;

    // First connection: the activation code the administrator handed over; its field has the focus.
    click(&page, "[data-testid=key-connect]").await;
    wait_for_focus(&page, "activation-code").await;
    assert_accessible(&page, "the key panel asking for the activation code").await;
    type_into(&page, "#activation-code", &code).await;
    click(&page, "form.activation button").await;
    let ready = wait_for(&page, "[data-testid=key-ready]").await;
    assert_eq!(ready.attribute("data-serial").await.unwrap().as_deref(), Some(made.serial.as_str()));
    {
        let seen = emulated.seen.lock().unwrap();
        assert_eq!(seen.info_reads, 1, "the beacon was read from the info characteristic");
        assert_eq!(seen.subscriptions, 1, "the page subscribed to the key's notifications");
        assert!(seen.writes.iter().all(|w| w.len() <= 20), "chunks fit the default MTU");
    }

    // The key holds no password yet: the one change form offers to store it (the key only),
    // and its choice has the focus. A wrong password is refused, and nothing is stored.
    wait_for_focus(&page, "target-key").await;
    assert_accessible(&page, "the key panel ready with its accounts").await;
    onboard_refused(&page, "Not-The-Password-9").await;
    assert_accessible(&page, "the key panel with an operation refused").await;
    assert_eq!(keys::key_password(&emulated.key.lock().unwrap(), 1), None);

    // Onboarding: the current password, verified by the directory, then stored on the key.
    onboard(&page, &user.password).await;
    assert_accessible(&page, "the key panel with an operation done").await;
    assert_eq!(keys::key_password(&emulated.key.lock().unwrap(), 1).as_deref(), Some(user.password.as_str()));

    // Now the key holds it, the same form changes both at once. Still one "New password" on
    // the page, one checklist and one strength meter, each form's field described by its own.
    click(&page, "#target-everywhere").await;
    click(&page, "#how-typed").await;
    type_into(&page, "#new", "Sparrow-Gantry-Velvet-62").await;
    wait_for(&page, ".strength meter").await;
    let new_fields: usize = eval(&page, "document.querySelectorAll('input[autocomplete=new-password]').length").await;
    assert_eq!(new_fields, 2, "one new password and its confirmation");
    let repeated: Vec<String> = eval(&page, DUPLICATE_IDS).await;
    assert!(repeated.is_empty(), "ids used twice: {repeated:?}");
    assert_accessible(&page, "the change form with the key's choices").await;
    type_into(&page, "#new", "").await;

    // "Generate one for me": changed in the directory and on the key, shown to nobody.
    generate_everywhere(&page).await;
    let generated = keys::key_password(&emulated.key.lock().unwrap(), 1).unwrap();
    assert_ne!(generated, user.password);
    assert!(dc.binds(&user.dn, &generated).await, "the generated password binds");
    let html: String = eval(&page, "document.documentElement.outerHTML").await;
    assert!(!html.contains(&generated), "the page never saw the generated password");

    // The key goes out of range; the page says so (with the focus) and offers to reconnect,
    // and the session resumes.
    emulated.go_out_of_range(&browser.browser).await;
    wait_for(&page, "[data-testid=key-lost]").await;
    wait_for_focus(&page, "key-state").await;
    assert_accessible(&page, "the key panel with the key lost").await;
    click(&page, "[data-testid=key-reconnect]").await;
    wait_for(&page, "[data-testid=key-ready]").await;

    // Sign out, then sign in with the key alone: its channel plus a press on its button.
    click(&page, "button.link").await;
    wait_for(&page, "#username").await;
    click(&page, "[data-testid=key-sign-in]").await;
    wait_for(&page, "#new").await;
    let greeting: String = eval(&page, "document.querySelector('.card .hint').innerText").await;
    assert!(greeting.contains(&user.sam), "{greeting}");
    // After every flow above: none of the passwords used is kept by the origin anywhere
    // (the service worker's caches, local and session storage, IndexedDB).
    let used = [user.password.as_str(), generated.as_str(), "Sparrow-Gantry-Velvet-62", "Not-The-Password-9"];
    latchkey_tests::pwa::assert_nothing_stored(&page, &used).await;
    emulated.detach().await;
    page.close().await.expect("close page");

    // A key the portal does not know is refused by the server, and the page says so.
    let (page, _app) = signed_in_page(dc, browser).await;
    let (stranger, _) = SimKey::manufacture("LK-E2E-STRANGER", [5; 32], MemoryFlash::default(), [2; 32]).unwrap();
    let emulated = EmulatedKey::attach(&browser.browser, &page, stranger, true).await;
    click(&page, "[data-testid=key-connect]").await;
    let error = wait_for(&page, "[data-testid=key-error]").await.inner_text().await.unwrap().unwrap_or_default();
    assert!(error.contains("not registered"), "{error}");
    emulated.detach().await;
    page.close().await.expect("close page");
}

/// With the demo setting, the page offers the reference key compiled to wasm (loaded
/// separately); without it, no such offer.
async fn the_demo_virtual_key_runs_in_the_page(dc: &TestDc, browser: &TestBrowser) {
    let user = dc.create_user(UserOptions::default()).await;
    let images = tempfile::tempdir().unwrap();
    let (key, made) = keys::new_key("LK-DEMO-0001");
    let image = images.path().join("virtual-key");
    std::fs::write(&image, key.flash().contents.clone().unwrap()).unwrap();
    std::fs::write(image.with_extension("sek"), [8u8; 32]).unwrap();
    let app = spawn_app(dc, AppOptions { demo_virtual_key_file: Some(image), ..AppOptions::default() }).await;
    let code = keys::provision(&app, &user, &made).await;

    let page = browser.open(&app.url).await;
    sign_in(&page, &user.sam, &user.password).await;
    wait_for(&page, "#new").await;
    click(&page, "[data-testid=virtual-key]").await;
    type_into(&page, "#activation-code", &code).await;
    click(&page, "form.activation button").await;
    wait_for(&page, "[data-testid=key-ready]").await;
    onboard(&page, &user.password).await;
    let row = app.state.store.key_by_serial(&made.serial).await.unwrap().unwrap();
    assert_eq!(row.status.label(), "active", "the virtual key was activated through the real protocol");
    page.close().await.expect("close page");

    // A server without the setting offers nothing of the kind.
    let (page, _app) = signed_in_page(dc, browser).await;
    wait_for(&page, "[data-testid=key-connect]").await;
    // The page asked the server and had its answer (the request's timing entry is complete).
    wait_until(
        &page,
        "performance.getEntriesByType('resource').some(e => e.name.endsWith('/api/demo/virtual-key') && e.responseEnd > 0)",
    )
    .await;
    let offered: bool = eval(&page, "document.querySelector('[data-testid=virtual-key]') !== null").await;
    assert!(!offered, "no virtual key without the demo setting");
    page.close().await.expect("close page");
}

/// The administration pages: TOTP enrolment, sync, a key registered and assigned, the account
/// queued, a generated reset; the employee's key takes it through self-service.
async fn an_administrator_resets_a_password_that_only_the_key_learns(dc: &TestDc, browser: &TestBrowser) {
    let group = dc.create_group().await;
    let app = spawn_app(dc, AppOptions { employee_group: Some(group.clone()), ..AppOptions::default() }).await;
    let admin = dc.create_user(UserOptions::default()).await;
    dc.add_to_group(&admin.dn, &dc.admin_group).await;
    let employee = dc.create_user(UserOptions::default()).await;
    dc.add_to_group(&employee.dn, &group).await;
    let (mut key, made) = keys::new_key("LK-E2E-ADMIN");

    let page = browser.open(&app.url).await;
    administrator_enrols(&page, &admin).await;

    // Employees from the group; a key from the manifest.
    click(&page, "[data-testid=tab-employees]").await;
    click(&page, "[data-testid=sync]").await;
    wait_for(&page, "[data-testid=synced]").await;
    click(&page, "[data-testid=tab-keys]").await;
    type_into(&page, "#key-serial", &made.serial).await;
    type_into(&page, "#key-public", &hex::encode(made.public_key)).await;
    type_into(&page, "#key-code", &made.activation_code).await;
    click(&page, "[data-testid=register-key] button").await;
    wait_until(
        &page,
        &format!("document.querySelector('[data-testid=key-list]').innerText.includes('{}')", made.serial),
    )
    .await;

    // The employee's page: assign the key (its code shown once), queue the account.
    click(&page, "[data-testid=tab-employees]").await;
    click(&page, &format!("[data-testid=employee][data-username={}]", employee.sam)).await;
    wait_for(&page, "[data-testid=employee-title]").await;
    wait_until(&page, &format!("document.querySelector('#assign-key').innerText.includes('{}')", made.serial)).await;
    let chosen: bool = eval(&page, &format!(
        "(() => {{ const s = document.querySelector('#assign-key'); s.value = '{0}'; \
         s.dispatchEvent(new Event('input', {{ bubbles: true }})); s.dispatchEvent(new Event('change', {{ bubbles: true }})); \
         return s.value === '{0}'; }})()",
        made.serial
    )).await;
    assert!(chosen, "the key is chosen in the list");
    click(&page, "[data-testid=assign] button").await;
    let code = wait_for(&page, "[data-testid=activation-code]").await.inner_text().await.unwrap().unwrap_or_default();
    assert_eq!(code, made.activation_code);
    // The page settles (the key's history appears above the forms) before the next click.
    wait_until(&page, "document.querySelector('[data-testid=key-history]')?.innerText.includes('admin assign key')")
        .await;
    type_into(&page, "#account-name", "Work").await;
    type_into(&page, "#account-domain", "EXAMPLE").await;
    click(&page, "[data-testid=add-account] button").await;
    wait_until(
        &page,
        &format!("document.querySelector('[data-testid=accounts]').innerText.includes('{}')", employee.sam),
    )
    .await;

    // The employee activates the key through self-service.
    let cookie = keys::session_cookie(&app, &employee).await;
    let mut relay = keys::RelayPage::open(&app, Some(&cookie)).await;
    relay.connect(&mut key).await;
    let ready = relay.send(&mut key, latchkey_api::relay::RelayRequest::Activate { code }).await;
    assert!(matches!(ready, latchkey_api::relay::RelayEvent::Ready { .. }), "{ready:?}");
    relay.close().await;

    // A generated reset, now that the key is active: asked first; the page says where it goes,
    // never what it is.
    click(&page, "[data-testid=tab-employees]").await;
    click(&page, &format!("[data-testid=employee][data-username={}]", employee.sam)).await;
    wait_until(&page, "document.querySelector('[data-testid=reset-generate]')?.disabled === false").await;
    click(&page, "[data-testid=reset-generate]").await;
    click(&page, "[data-testid=confirm-yes]").await;
    let done = wait_for(&page, "[data-testid=reset-done]").await.inner_text().await.unwrap().unwrap_or_default();
    assert!(done.contains(&made.serial), "{done}");
    // While it waits for the key: the store, the log and the administrator's page, as they are now.
    let mut pending = app.stored_bytes();
    pending.push(latchkey_tests::secrets::server_log());
    let html: String = eval(&page, "document.documentElement.outerHTML").await;
    pending.push(latchkey_tests::secrets::Snapshot { place: "the reset page".into(), bytes: html.into_bytes() });

    // The key takes it on its next connection; it binds; nobody else ever had it.
    let mut relay = keys::RelayPage::open(&app, None).await;
    relay.connect(&mut key).await;
    relay.close().await;
    let delivered = keys::key_password(&key, 1).expect("the key holds the reset password");
    assert!(dc.binds(&employee.dn, &delivered).await);
    assert_eq!(latchkey_tests::secrets::found_in(&delivered, &pending), Vec::<&str>::new());

    // The audit page: the reset is there, the chain is whole, the CSV export is offered.
    click(&page, "[data-testid=tab-audit]").await;
    wait_for(&page, "[data-testid=chain-intact]").await;
    wait_until(&page, "document.querySelector('[data-testid=audit]').innerText.includes('admin reset')").await;
    let csv: String = eval(&page, "document.querySelector('[data-testid=audit-csv]').getAttribute('href')").await;
    assert!(csv.ends_with("format=csv"), "{csv}");
    page.close().await.expect("close page");
}

async fn key_connection_failures_are_explained(dc: &TestDc, browser: &TestBrowser) {
    // The user closes the chooser.
    let (page, _app) = signed_in_page(dc, browser).await;
    let (key, _) = SimKey::manufacture("LK-E2E-0002", [3; 32], MemoryFlash::default(), [2; 32]).unwrap();
    let emulated = EmulatedKey::attach(&browser.browser, &page, key, false).await;
    click(&page, "[data-testid=key-connect]").await;
    let error: String = eval(&page, "new Promise(r => { const t = setInterval(() => { const e = document.querySelector('[data-testid=key-error]'); if (e) { clearInterval(t); r(e.innerText); } }, 50); })").await;
    assert!(error.contains("No key was chosen"), "{error}");
    emulated.detach().await;
    page.close().await.expect("close page");

    // The chooser stays open (nobody picks a key): the panel says it is connecting.
    let (page, _app) = signed_in_page(dc, browser).await;
    page.execute(DeviceAccessEnable::default()).await.expect("DeviceAccess.enable");
    let _ = browser.browser.execute(BluetoothEmulationDisable::default()).await;
    browser.browser.execute(BluetoothEmulationEnable::new(CentralState::PoweredOn, true)).await.expect("adapter");
    click(&page, "[data-testid=key-connect]").await;
    wait_for(&page, "[data-testid=key-connecting]").await;
    wait_for_focus(&page, "key-state").await;
    assert_accessible(&page, "the key panel connecting").await;
    page.close().await.expect("close page");

    // No Bluetooth adapter at all.
    let (page, _app) = signed_in_page(dc, browser).await;
    remove_adapter(&browser.browser, &page).await;
    click(&page, "[data-testid=key-connect]").await;
    wait_until(&page, "document.querySelector('[data-testid=key-error]') !== null").await;
    let error: String = eval(&page, "document.querySelector('[data-testid=key-error]').innerText").await;
    assert!(error.contains("No Bluetooth adapter"), "{error}");
    page.close().await.expect("close page");

    // A browser without WebBluetooth (as Firefox or Safari).
    let (page, _app) = signed_in_page(dc, browser).await;
    let gone: bool = eval(
        &page,
        "Object.defineProperty(Navigator.prototype, 'bluetooth', { get: () => undefined }) && navigator.bluetooth === undefined",
    )
    .await;
    assert!(gone, "WebBluetooth is hidden from the page");
    click(&page, "[data-testid=key-connect]").await;
    wait_until(&page, "document.querySelector('[data-testid=key-error]') !== null").await;
    let error: String = eval(&page, "document.querySelector('[data-testid=key-error]').innerText").await;
    assert!(error.contains("Chrome or Edge"), "{error}");
    page.close().await.expect("close page");
}
