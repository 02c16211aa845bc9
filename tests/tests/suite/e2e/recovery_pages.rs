//! "Can't sign in?" in the browser, reached from the sign-in page: a locked-out user unlocks
//! with the emulated key and is signed in with it; a user without the key gives the two codes
//! and a new password; a signed-in user reports their key stolen. axe-core checks the pages.

use latchkey_tests::bluetooth::EmulatedKey;
use latchkey_tests::browser::{assert_accessible, click, eval, type_into, wait_for, wait_until, TestBrowser};
use latchkey_tests::smtp::TestSmtp;
use latchkey_tests::{spawn_app, totp_code, totp_code_at, AppOptions, TestDc, UserOptions};
use serde_json::json;

use crate::relay::{onboard, user_with_key};

async fn no_violations(page: &chromiumoxide::Page, what: &str) {
    assert_accessible(page, what).await;
}

pub async fn a_locked_out_user_unlocks_with_the_key(dc: &TestDc, browser: &TestBrowser) {
    let app = spawn_app(dc, AppOptions::default()).await;
    let (user, mut key, cookie) = user_with_key(dc, &app, "LK-E2E-RECOVER").await;
    onboard(&app, &user, &mut key, &cookie).await;
    dc.lock_out(&user.dn).await;

    let page = browser.open(&app.url).await;
    click(&page, "[data-testid=cant-sign-in]").await;
    wait_for(&page, "[data-testid=recover-connect]").await;
    no_violations(&page, "the recovery page").await;
    let emulated = EmulatedKey::attach(&browser.browser, &page, key, true).await;
    click(&page, "[data-testid=recover-connect]").await;
    wait_for(&page, "[data-testid=key-ready]").await;
    click(&page, "[data-testid=recover-unlock]").await;
    let done = wait_for(&page, "[data-testid=recover-done]").await.inner_text().await.unwrap().unwrap_or_default();
    assert!(done.contains("unlocked"), "{done}");
    // Then signed in with the key, on the portal's own page.
    wait_for(&page, "#new").await;
    assert!(!dc.is_locked_out(&user.dn).await);
    emulated.detach().await;
    page.close().await.expect("close page");
}

pub async fn a_user_without_the_key_recovers_with_two_codes(dc: &TestDc, browser: &TestBrowser) {
    let smtp = TestSmtp::start(dc);
    let options = AppOptions { mail: Some(smtp.config(dc)), recovery_without_key: true, ..AppOptions::default() };
    let app = spawn_app(dc, options).await;
    let user = dc.create_user(UserOptions { name_prefix: Some("Ørn".into()), ..Default::default() }).await;
    app.employ(&user).await;
    let address = format!("{}@home.example", user.sam.to_lowercase());
    dc.replace(&user.dn, "otherMailbox", &address).await;
    let mut client = app.another_client();
    client.sign_in(&user.sam, &user.password).await;
    let enrolment: serde_json::Value = client.post("/api/totp/enrol", json!({})).await.json().await.unwrap();
    let secret = enrolment["secret_base32"].as_str().unwrap().to_string();
    assert!(client.post("/api/totp/confirm", json!({ "code": totp_code(&secret) })).await.status().is_success());

    let page = browser.open(&format!("{}/recover/", app.url)).await;
    type_into(&page, "[data-testid=recover-username]", &user.sam).await;
    click(&page, "[data-testid=recover-start]").await;
    wait_for(&page, "[data-testid=recover-started]").await;
    let message = smtp.wait_for(1).await.pop().unwrap();
    assert_eq!(message.to.to_lowercase(), address);
    let at = message.text.find("Your recovery code is ").unwrap() + "Your recovery code is ".len();
    let mail_code = message.text[at..at + 8].to_string();
    type_into(&page, "[data-testid=recover-totp]", &totp_code_at(&secret, latchkey_tests::now() + 30)).await;
    type_into(&page, "[data-testid=recover-mail-code]", &mail_code).await;
    let new = "Harbour-Willow-Comet-83";
    type_into(&page, "[data-testid=recover-new]", new).await;
    type_into(&page, "[data-testid=recover-confirm]", new).await;
    no_violations(&page, "the recovery form without the key").await;
    click(&page, "[data-testid=recover-complete]").await;
    wait_for(&page, "[data-testid=recover-complete-done]").await;
    assert!(dc.binds(&user.dn, new).await, "the typed password binds");
    page.close().await.expect("close page");
}

pub async fn a_signed_in_user_reports_their_key_stolen(dc: &TestDc, browser: &TestBrowser) {
    let app = spawn_app(dc, AppOptions::default()).await;
    let (user, mut key, cookie) = user_with_key(dc, &app, "LK-E2E-STOLEN").await;
    onboard(&app, &user, &mut key, &cookie).await;
    let page = browser.open(&app.url).await;
    super::sign_in(&page, &user.sam, &user.password).await;
    click(&page, "[data-testid=lost-key-link]").await;
    wait_for(&page, "[data-testid=own-key-LK-E2E-STOLEN]").await;
    no_violations(&page, "the lost key page").await;
    click(&page, "[data-testid=report-stolen-LK-E2E-STOLEN]").await;
    click(&page, "[data-testid=report-confirm-LK-E2E-STOLEN]").await;
    wait_for(&page, "[data-testid=report-done]").await;
    wait_until(
        &page,
        "document.querySelector('[data-testid=own-key-LK-E2E-STOLEN]')?.dataset.status === 'compromised'",
    )
    .await;
    let row = app.state.store.key_by_serial("LK-E2E-STOLEN").await.unwrap().unwrap();
    assert_eq!(row.status.label(), "compromised");
    let shown: String = eval(&page, "document.querySelector('[data-testid=report-done]').innerText").await;
    assert!(shown.contains("wiped"), "{shown}");
    page.close().await.expect("close page");
}
