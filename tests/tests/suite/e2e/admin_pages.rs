//! The administration pages as an administrator uses them every day: the dashboard's numbers,
//! the employee list's filter, a reset for an employee whose key is only reserved (no dead
//! end), accounts added as typed, destructive actions asked first, readable records, and
//! axe-core's verdict on every page and on the dialog.

use chromiumoxide::Page;
use latchkey_api::registry::KeyStatus;
use latchkey_api::relay::{RelayEvent, RelayRequest};
use latchkey_tests::browser::{
    accessibility_violations, assert_accessible, choose, click, eval, type_into, wait_for, wait_until, TestBrowser,
};
use latchkey_tests::{keys, spawn_app, AppOptions, TestDc, TestUser, UserOptions};

async fn figure(page: &Page, testid: &str) -> u64 {
    let text: String =
        eval(page, &format!("document.querySelector('[data-testid={testid}]')?.innerText ?? 'missing'")).await;
    text.trim().parse().unwrap_or_else(|_| panic!("{testid} shows {text:?}"))
}

async fn no_violations(page: &Page, what: &str) {
    assert_accessible(page, what).await;
}

async fn open_employee(page: &Page, user: &TestUser) {
    click(page, "[data-testid=tab-employees]").await;
    choose(page, "#employee-state", "").await;
    let row = format!("[data-testid=employee][data-username=\"{}\"]", user.sam);
    click(page, &row).await;
    wait_for(page, "[data-testid=employee-title]").await;
}

pub async fn the_administration_pages_have_no_dead_ends(dc: &TestDc, browser: &TestBrowser) {
    let group = dc.create_group().await;
    let app = spawn_app(dc, AppOptions { employee_group: Some(group.clone()), ..AppOptions::default() }).await;
    let admin = dc.create_user(UserOptions { name_prefix: Some("Ädmin".into()), ..Default::default() }).await;
    dc.add_to_group(&admin.dn, &dc.admin_group).await;
    let employee = dc
        .create_user(UserOptions {
            name_prefix: Some("Émilie".into()),
            display_name: Some("Émilie Durand".into()),
            ..Default::default()
        })
        .await;
    dc.add_to_group(&employee.dn, &group).await;
    let (mut key, made) = keys::new_key("LK-E2E-DAILY");

    let page = browser.open(&app.url).await;
    // The checker itself finds what is wrong (a positive control), then the enrolment page.
    super::open_administration(&page, &admin).await;
    wait_for(&page, "[data-testid=totp-secret]").await;
    let planted: bool = eval(&page, "(() => { const i = document.createElement('img'); i.id = 'planted'; i.src = 'x'; document.body.append(i); return true; })()").await;
    assert!(planted);
    let found = accessibility_violations(&page).await;
    assert!(found.iter().any(|v| v.starts_with("image-alt")), "axe-core reports a planted fault: {found:?}");
    let _: bool = eval(&page, "(document.getElementById('planted').remove(), true)").await;
    no_violations(&page, "TOTP enrolment").await;
    super::finish_enrolment(&page).await;

    // Navigation: the active tab is marked; the administrator's name, the portal and sign-out.
    let current: String = eval(&page, "document.querySelector('nav.tabs [aria-current=page]').innerText").await;
    assert_eq!(current, "Dashboard");
    wait_for(&page, "[data-testid=sign-out]").await;
    let name: String = eval(&page, "document.querySelector('[data-testid=admin-name]').innerText").await;
    assert_eq!(name, admin.display_name);
    wait_for(&page, "[data-testid=n-active]").await;
    no_violations(&page, "the dashboard").await;

    // Sync, then the dashboard counts what the store and the directory hold.
    click(&page, "[data-testid=tab-employees]").await;
    let current: String = eval(&page, "document.querySelector('nav.tabs [aria-current=page]').innerText").await;
    assert_eq!(current, "Employees");
    click(&page, "[data-testid=sync]").await;
    wait_for(&page, "[data-testid=synced]").await;
    no_violations(&page, "the employee list").await;
    click(&page, "[data-testid=tab-dashboard]").await;
    wait_for(&page, "[data-testid=n-active]").await;
    assert_eq!((figure(&page, "n-active").await, figure(&page, "n-without-key").await), (1, 1));
    assert_eq!(figure(&page, "n-keys-reserved").await, 0);
    let last_sync: String = eval(&page, "document.querySelector('[data-testid=last-sync]').innerText").await;
    assert!(last_sync.contains("just now") && last_sync.contains("success"), "{last_sync}");

    // A number opens the list it counts; the list's filter narrows it.
    let opened: bool = eval(&page, "(() => { const n = document.querySelector('[data-testid=n-without-key]'); n.parentElement.querySelector('button').click(); return true; })()").await;
    assert!(opened);
    wait_until(&page, "document.querySelector('#employee-state')?.value === 'without_key'").await;
    let row = format!("[data-testid=employee][data-username=\"{}\"]", employee.sam);
    wait_for(&page, &row).await;
    choose(&page, "#employee-state", "disabled").await;
    wait_until(
        &page,
        &format!("document.querySelector('[data-testid=employee][data-username=\"{}\"]') === null", employee.sam),
    )
    .await;

    // A key registered and assigned: reserved until its owner activates it.
    app.state.store.register_key(&made.serial, &made.public_key, &made.activation_code, 0).await.unwrap();
    open_employee(&page, &employee).await;
    choose(&page, "#assign-key", &made.serial).await;
    click(&page, "[data-testid=assign] button").await;
    let code = wait_for(&page, "[data-testid=activation-code]").await.inner_text().await.unwrap().unwrap_or_default();
    wait_until(&page, "document.querySelector('[data-testid=key-history]')?.innerText.includes('admin assign key')")
        .await;
    no_violations(&page, "the employee page").await;

    // No dead end: a generated password could reach nobody, and the page says what to do.
    wait_for(&page, "[data-testid=generate-needs-key]").await;
    let disabled: bool = eval(&page, "document.querySelector('[data-testid=reset-generate]').disabled").await;
    assert!(disabled, "no generated reset without an active key");
    let temporary = "Temporary-Quay-4821";
    type_into(&page, "#reset-new", temporary).await;
    type_into(&page, "#reset-again", temporary).await;
    click(&page, "[data-testid=reset] input[type=checkbox]").await;
    let before = dc.read(&employee.dn, "pwdLastSet").await;
    click(&page, "[data-testid=reset] button[type=submit]").await;
    // Asked first, naming the employee; Cancel changes nothing.
    wait_until(&page, "document.querySelector('dialog[data-testid=confirm]').open").await;
    let question: String = eval(&page, "document.querySelector('#confirm-title').innerText").await;
    assert!(question.contains("Émilie Durand"), "{question}");
    no_violations(&page, "the employee page with the confirmation dialog open").await;
    click(&page, "[data-testid=confirm-cancel]").await;
    wait_until(&page, "!document.querySelector('dialog[data-testid=confirm]').open").await;
    assert_eq!(dc.read(&employee.dn, "pwdLastSet").await, before, "Cancel changed nothing");
    click(&page, "[data-testid=reset] button[type=submit]").await;
    wait_until(&page, "document.querySelector('dialog[data-testid=confirm]').open").await;
    click(&page, "[data-testid=confirm-yes]").await;
    wait_for(&page, "[data-testid=reset-done]").await;
    assert_eq!(dc.read(&employee.dn, "pwdLastSet").await.as_deref(), Some("0"), "must change at next logon");

    // The employee gets in with the temporary password, changes it, and activates the key.
    let told = TestUser { password: temporary.into(), ..employee.clone() };
    let mut portal = app.another_client();
    let body: serde_json::Value = portal.sign_in(&told.sam, temporary).await.json().await.unwrap();
    assert_eq!(body["change_required"], "must_change");
    let own = "Own-Harbour-Choice-77";
    assert_eq!(portal.change(temporary, own).await.status(), 200);
    let cookie = keys::session_cookie(&app, &TestUser { password: own.into(), ..employee.clone() }).await;
    let mut relay = keys::RelayPage::open(&app, Some(&cookie)).await;
    relay.connect(&mut key).await;
    let ready = relay.send(&mut key, RelayRequest::Activate { code }).await;
    assert!(matches!(ready, RelayEvent::Ready { .. }), "{ready:?}");
    relay.close().await;

    // Accounts added as typed, a domain one and an Entra ID one, both reach the key.
    open_employee(&page, &employee).await;
    type_into(&page, "#account-name", "Work").await;
    type_into(&page, "#account-domain", "EXAMPLE").await;
    click(&page, "[data-testid=add-account] button").await;
    wait_for(&page, "[data-testid=account-added]").await;
    wait_until(&page, "document.querySelector('[data-testid=accounts] tbody')?.innerText.includes('Work')").await;
    type_into(&page, "#account-name", "Mail").await;
    choose(&page, "#account-type", "entra").await;
    type_into(&page, "#account-upn", "emilie@example.onmicrosoft.com").await;
    click(&page, "[data-testid=add-account] button").await;
    wait_until(
        &page,
        "document.querySelector('[data-testid=accounts]').innerText.includes('emilie@example.onmicrosoft.com')",
    )
    .await;
    let mut relay = keys::RelayPage::open(&app, Some(&cookie)).await;
    relay.connect(&mut key).await;
    relay.close().await;
    let on_key: Vec<(String, String)> =
        key.vault().accounts.iter().map(|a| (a.account.name.clone(), a.account.login.clone())).collect();
    assert!(on_key.contains(&("Work".into(), employee.sam.clone())), "{on_key:?}");
    assert!(on_key.contains(&("Mail".into(), "emilie@example.onmicrosoft.com".into())), "{on_key:?}");

    // Taking the key out of service is asked first; Escape changes nothing; yes does.
    click(&page, "[data-testid=tab-keys]").await;
    let select = format!("tr[data-serial={}] [data-testid=key-status]", made.serial);
    wait_for(&page, &select).await;
    no_violations(&page, "the keys page").await;
    choose(&page, &select, "suspended").await;
    wait_until(&page, "document.querySelector('dialog[data-testid=confirm]').open").await;
    let consequence: String = eval(&page, "document.querySelector('#confirm-text').innerText").await;
    assert!(consequence.contains(&employee.sam), "{consequence}");
    no_violations(&page, "the keys page with the confirmation dialog open").await;
    wait_for(&page, "[data-testid=confirm-cancel]").await.press_key("Escape").await.unwrap();
    wait_until(&page, "!document.querySelector('dialog[data-testid=confirm]').open").await;
    let status = || async { app.state.store.key_by_serial(&made.serial).await.unwrap().unwrap().status };
    assert_eq!(status().await, KeyStatus::Active, "Escape changed nothing");
    choose(&page, &select, "suspended").await;
    click(&page, "[data-testid=confirm-yes]").await;
    wait_until(
        &page,
        &format!("document.querySelector('tr[data-serial={}] .badge').innerText === 'suspended'", made.serial),
    )
    .await;
    assert_eq!(status().await, KeyStatus::Suspended);

    // Readable records: times as people read them, the exact moment in the element.
    click(&page, "[data-testid=tab-audit]").await;
    wait_until(&page, "document.querySelector('[data-testid=audit] tbody time') !== null").await;
    let shown: String = eval(&page, "document.querySelector('[data-testid=audit] tbody time').innerText").await;
    assert!(!shown.chars().all(|c| c.is_ascii_digit()), "not raw Unix seconds: {shown}");
    let exact: String =
        eval(&page, "document.querySelector('[data-testid=audit] tbody time').getAttribute('datetime')").await;
    assert!(exact.ends_with('Z') && exact.contains('T'), "{exact}");
    let actors: Vec<String> = eval(
        &page,
        "[...document.querySelectorAll('[data-testid=audit] tbody tr td:nth-child(2)')].map(t => t.innerText)",
    )
    .await;
    assert!(
        actors.iter().filter(|a| a.contains(&made.serial)).all(|a| a == &format!("key:{}", made.serial)),
        "{actors:?}"
    );
    no_violations(&page, "the audit page").await;

    // The dashboard after all this, with one refused sign-in; its number opens those entries.
    let mut stranger = app.another_client();
    assert_eq!(stranger.sign_in(&employee.sam, "Not-Her-Password-1").await.status(), 401);
    click(&page, "[data-testid=tab-dashboard]").await;
    wait_for(&page, "[data-testid=n-keys-suspended]").await;
    assert_eq!((figure(&page, "n-keys-suspended").await, figure(&page, "n-without-key").await), (1, 0));
    assert_eq!(figure(&page, "n-failed-sign-ins").await, 1);
    let opened: bool = eval(&page, "(() => { const n = document.querySelector('[data-testid=n-failed-sign-ins]'); n.parentElement.querySelector('button').click(); return true; })()").await;
    assert!(opened);
    wait_for(&page, "[data-testid=audit-narrowed]").await;
    wait_until(&page, "document.querySelectorAll('[data-testid=audit] tbody tr').length === 1").await;
    let row: String = eval(&page, "document.querySelector('[data-testid=audit] tbody tr').innerText").await;
    assert!(row.contains(&employee.sam) && row.contains("invalid credentials"), "{row}");

    // What Cancel and Escape turned down never happened: one reset, one suspension.
    let audit = app.state.store.audit_of(&employee.sam).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "admin_reset").count(), 1, "{audit:?}");
    let key_audit = app.state.store.audit_of(&made.serial).await.unwrap();
    assert_eq!(key_audit.iter().filter(|e| e.action.starts_with("admin_key_")).count(), 1, "{key_audit:?}");
    page.close().await.expect("close page");
}
