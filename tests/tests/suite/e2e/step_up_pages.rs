//! Step-up in the browser: a change waits for the owner's confirmation, given in the same page —
//! an authenticator enrolled on the spot (QR code drawn, secret shown once, recovery codes shown
//! once), or a press on the emulated key inside a key flow. axe-core checks each state.

use latchkey_api::step_up::SecondFactorMode;
use latchkey_tests::bluetooth::EmulatedKey;
use latchkey_tests::browser::{assert_accessible, click, eval, type_into, wait_for, TestBrowser};
use latchkey_tests::{keys, spawn_app, totp_code_at, AppOptions, TestDc, UserOptions};

async fn no_violations(page: &chromiumoxide::Page, what: &str) {
    assert_accessible(page, what).await;
}

/// `second_factor = "totp"`: the change form asks first; the user enrols an authenticator in
/// the page (a wrong first code is refused on screen), saves the recovery codes, and changes.
pub async fn a_change_waits_for_an_authenticator_enrolled_in_the_page(dc: &TestDc, browser: &TestBrowser) {
    let user = dc.create_user(UserOptions { name_prefix: Some("Åsa".into()), ..Default::default() }).await;
    let app = spawn_app(dc, AppOptions { second_factor: SecondFactorMode::Totp, ..AppOptions::default() }).await;
    let page = browser.open(&app.url).await;
    super::sign_in(&page, &user.sam, &user.password).await;
    wait_for(&page, "#new").await;
    wait_for(&page, "[data-testid=step-up-section] [data-testid=totp-enrol-start]").await;
    no_violations(&page, "the change form asking for a second factor").await;

    click(&page, "[data-testid=totp-enrol-start]").await;
    let secret = wait_for(&page, "[data-testid=totp-secret]").await.inner_text().await.unwrap().unwrap_or_default();
    let drawn: bool = eval(&page, "document.querySelector('[data-testid=totp-qr] svg') !== null").await;
    assert!(drawn, "the QR code is drawn in the page");
    no_violations(&page, "the enrolment step").await;
    let at = latchkey_tests::now();
    let wrong = if totp_code_at(&secret, at) == "000000" { "000001" } else { "000000" };
    type_into(&page, "[data-testid=totp-confirm-code]", wrong).await;
    click(&page, "[data-act=totp]").await;
    wait_for(&page, "#step-up-error [data-code=wrong_code]").await;
    type_into(&page, "[data-testid=totp-confirm-code]", &totp_code_at(&secret, at)).await;
    click(&page, "[data-act=totp]").await;
    let codes: usize = {
        wait_for(&page, "[data-testid=recovery-codes]").await;
        eval(&page, "document.querySelectorAll('[data-testid=recovery-codes] li').length").await
    };
    assert_eq!(codes, 8, "eight recovery codes, shown once");
    no_violations(&page, "the recovery codes").await;
    click(&page, "[data-testid=recovery-continue]").await;

    // The first code confirmed the change: it goes through.
    let new = "Quartz-Meadow-Lantern-47";
    super::change_in_form(&page, &user.password, new).await;
    assert!(dc.binds(&user.dn, new).await, "the new password binds");
    let audit = app.state.store.audit_of(&user.sam).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "totp_enrol" && e.result == "success"));
    page.close().await.expect("close page");
}

/// `second_factor = "key_or_totp"`: a change in the directory and on the key through the
/// emulated key is confirmed by the press the key asks for; nothing else is asked.
pub async fn a_key_press_confirms_a_change_everywhere(dc: &TestDc, browser: &TestBrowser) {
    let user = dc.create_user(UserOptions::default()).await;
    let app = spawn_app(dc, AppOptions { second_factor: SecondFactorMode::KeyOrTotp, ..AppOptions::default() }).await;
    let (key, made) = keys::new_key("LK-E2E-STEPUP");
    let code = keys::provision(&app, &user, &made).await;
    let page = browser.open(&app.url).await;
    super::sign_in(&page, &user.sam, &user.password).await;
    wait_for(&page, "#new").await;
    let emulated = EmulatedKey::attach(&browser.browser, &page, key, true).await;
    click(&page, "[data-testid=key-connect]").await;
    type_into(&page, "#activation-code", &code).await;
    click(&page, "form.activation button").await;
    wait_for(&page, "[data-testid=key-ready]").await;
    super::onboard(&page, &user.password).await;
    // The active key is a factor now: the page points to it.
    wait_for(&page, "[data-testid=step-up-key-hint]").await;
    no_violations(&page, "the key panel with the key as the factor").await;
    super::generate_everywhere(&page).await;
    let generated = keys::key_password(&emulated.key.lock().unwrap(), 1).unwrap();
    assert!(dc.binds(&user.dn, &generated).await, "the generated password binds");
    let audit = app.state.store.audit_of("LK-E2E-STEPUP").await.unwrap();
    let done: Vec<&str> = audit.iter().filter(|e| e.result == "success").map(|e| e.action.as_str()).collect();
    assert!(done.contains(&"key_onboard") && done.contains(&"key_change_everywhere"), "{done:?}");
    emulated.detach().await;
    page.close().await.expect("close page");
}
