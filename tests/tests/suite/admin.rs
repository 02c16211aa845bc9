//! Administration against the real DC: members of the administrators' group, after a TOTP
//! code, reset an employee's password; it reaches the employee's key sealed, and nobody else.

use latchkey_api::registry::StatusReason;
use latchkey_api::relay::RelayEvent;
use latchkey_api::{AdminState, SessionView};
use latchkey_server::store::AuditSearch;
use latchkey_tests::keys::{key_password, new_key, password, provision, session_cookie, RelayPage};
use latchkey_tests::secrets;
use latchkey_tests::{spawn_app, totp_code, totp_code_at, AppOptions, TestApp, TestDc, TestUser, UserOptions};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn signed_in(app: &TestApp, user: &TestUser) -> (TestApp, SessionView) {
    let mut client = app.another_client();
    let response = client.sign_in(&user.sam, &user.password).await;
    assert_eq!(response.status(), StatusCode::OK);
    let view: SessionView = response.json().await.unwrap();
    (client, view)
}

/// An administrator with an enrolled authenticator, signed in and past the second factor.
pub(crate) async fn admin(dc: &TestDc, app: &TestApp) -> (TestApp, TestUser, String) {
    let user = dc.create_user(UserOptions::default()).await;
    dc.add_to_group(&user.dn, &dc.admin_group).await;
    let (client, view) = signed_in(app, &user).await;
    assert_eq!(view.admin, Some(AdminState::EnrolTotp));
    let enrolment: Value = client.post("/api/admin/totp/enrol", json!({})).await.json().await.unwrap();
    let secret = enrolment["secret_base32"].as_str().unwrap().to_string();
    assert!(enrolment["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/Latchkey:"));
    let confirmed = client.post("/api/admin/totp/confirm", json!({ "code": totp_code(&secret) })).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    (client, user, secret)
}

/// A query value, percent-encoded.
fn encode(value: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", [("v", value)]).unwrap().query().unwrap()["v=".len()..].to_string()
}

async fn code_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn administration_needs_the_group_and_a_second_factor() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let employee = dc.create_user(UserOptions::default()).await;
    let reset = format!("/api/admin/employees/{}/reset", employee.sam);

    // Nobody signed in; a plain user.
    let (status, code) = code_of(app.another_client().post(&reset, json!({})).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let (user_client, view) = signed_in(&app, &employee).await;
    assert_eq!(view.admin, None);
    for path in [reset.as_str(), "/api/admin/totp/enrol", "/api/admin/totp/verify", "/api/admin/totp/confirm"] {
        let (status, _) = code_of(user_client.post(path, json!({ "code": "000000" })).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} refused to a user");
    }

    // A member of the group: nothing before the authenticator is enrolled and a code given.
    let member = dc.create_user(UserOptions::default()).await;
    dc.add_to_group(&member.dn, &dc.admin_group).await;
    let (client, view) = signed_in(&app, &member).await;
    assert_eq!(view.admin, Some(AdminState::EnrolTotp));
    let (status, code) = code_of(client.post(&reset, json!({})).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "second_factor_required"));
    let enrolment: Value = client.post("/api/admin/totp/enrol", json!({})).await.json().await.unwrap();
    let secret = enrolment["secret_base32"].as_str().unwrap().to_string();
    let (status, code) = code_of(client.post("/api/admin/totp/confirm", json!({ "code": "000000" })).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "wrong_code"));
    let codes: Value =
        client.post("/api/admin/totp/confirm", json!({ "code": totp_code(&secret) })).await.json().await.unwrap();
    let recovery: Vec<String> = serde_json::from_value(codes["codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 8);
    assert_eq!(client.get("/api/session").await.json::<SessionView>().await.unwrap().admin, Some(AdminState::Active));

    // A new session asks for a code again; a recovery code works once.
    let (client, view) = signed_in(&app, &member).await;
    assert_eq!(view.admin, Some(AdminState::VerifyTotp));
    let used = client.post("/api/admin/totp/verify", json!({ "code": recovery[0] })).await;
    assert_eq!(used.status(), StatusCode::OK);
    let (again, _) = signed_in(&app, &member).await;
    let (status, code) = code_of(again.post("/api/admin/totp/verify", json!({ "code": recovery[0] })).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "wrong_code"), "a recovery code works once");
    // The confirmation took this step's code: the next step's is still good.
    let next = totp_code_at(&secret, latchkey_tests::now() + 30);
    let ok = again.post("/api/admin/totp/verify", json!({ "code": next })).await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_reset_reaches_the_employees_key_sealed_and_nobody_else() {
    reset_reaches_the_key(AppOptions::default()).await;
}

#[tokio::test]
async fn a_reset_reaches_the_employees_key_sealed_and_nobody_else_on_postgresql() {
    reset_reaches_the_key(AppOptions { postgres: true, ..AppOptions::default() }).await;
}

async fn reset_reaches_the_key(options: AppOptions) {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, options).await;
    let (admin, admin_user, _) = admin(&dc, &app).await;

    // The employee's key, activated and onboarded.
    let employee = dc.create_user(UserOptions::default()).await;
    let (mut key, made) = new_key("LK-RESET-1");
    let code = provision(&app, &employee, &made).await;
    let cookie = session_cookie(&app, &employee).await;
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    page.connect(&mut key).await;
    page.send(&mut key, latchkey_api::relay::RelayRequest::Activate { code }).await;
    let onboarded = page
        .send(
            &mut key,
            latchkey_api::relay::RelayRequest::Onboard { account: 1, password: password(&employee.password) },
        )
        .await;
    assert!(matches!(onboarded, RelayEvent::Done { .. }), "{onboarded:?}");
    page.close().await;

    // Generated: the answer names the key, never the password.
    let response = admin.post(&format!("/api/admin/employees/{}/reset", employee.sam), json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["queued_for"], json!(["LK-RESET-1"]));
    assert!(!dc.binds(&employee.dn, &employee.password).await, "the directory has the new password");
    // While the delivery waits for the key: the store, the log and the answer, as they are now.
    let key_id = app.state.store.key_by_serial("LK-RESET-1").await.unwrap().unwrap().id;
    assert_eq!(app.state.store.pending_deliveries(key_id).await.unwrap().len(), 1, "a delivery is pending");
    let mut pending = app.stored_bytes();
    pending.push(secrets::server_log());
    pending.push(secrets::Snapshot { place: "the reset's answer".into(), bytes: body.clone().into_bytes() });
    let detail: Value = admin.get(&format!("/api/admin/employees/{}", employee.sam)).await.json().await.unwrap();
    assert_eq!(detail["waiting_deliveries"][0]["key"], "LK-RESET-1", "the page shows it waiting: {detail}");
    let found = secrets::found_in(&employee.sam, &pending);
    assert!(found.contains(&"server log") && found.len() >= 2, "the scan reads the store and the log: {found:?}");

    // The key takes it on its next connection.
    let mut page = RelayPage::open(&app, None).await;
    let ready = page.connect(&mut key).await;
    let RelayEvent::Ready { notice, .. } = &ready else { panic!("{ready:?}") };
    assert!(notice.as_deref().unwrap_or_default().contains("administrator"), "{notice:?}");
    page.close().await;
    let delivered = key_password(&key, 1).unwrap();
    let detail: Value = admin.get(&format!("/api/admin/employees/{}", employee.sam)).await.json().await.unwrap();
    assert_eq!(detail["waiting_deliveries"], json!([]), "{detail}");
    let history = detail["key_history"].as_array().unwrap();
    let taken = history.iter().find(|e| e["action"] == "delivery_taken").expect("the delivery is in the key's history");
    assert_eq!((taken["actor"].as_str(), taken["result"].as_str()), (Some("key:LK-RESET-1"), Some("success")));
    assert!(dc.binds(&employee.dn, &delivered).await, "what the key holds binds");
    assert_eq!(secrets::found_in(&delivered, &pending), Vec::<&str>::new(), "the generated password, pending");
    let mut after = app.stored_bytes();
    after.push(secrets::server_log());
    assert_eq!(secrets::found_in(&delivered, &after), Vec::<&str>::new(), "the generated password, delivered");
    let audit = app.state.store.audit_of(&employee.sam).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "admin_reset" && e.actor == admin_user.sam && e.result == "success"));

    // Typed, with "must change at next logon": checked against the policy first.
    let weak =
        admin.post(&format!("/api/admin/employees/{}/reset", employee.sam), json!({ "password": "short" })).await;
    assert_eq!(code_of(weak).await.1, "policy_violation");
    let typed = "Harbour-Signal-2207";
    let response = admin
        .post(
            &format!("/api/admin/employees/{}/reset", employee.sam),
            json!({ "password": typed, "must_change": true }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(dc.read(&employee.dn, "pwdLastSet").await.as_deref(), Some("0"));
    assert_eq!(app.state.store.pending_deliveries(key_id).await.unwrap().len(), 1, "a delivery is pending");
    let mut pending = app.stored_bytes();
    pending.push(secrets::server_log());
    assert_eq!(secrets::found_in(typed, &pending), Vec::<&str>::new(), "the typed password, pending");
    let mut page = RelayPage::open(&app, None).await;
    page.connect(&mut key).await;
    page.close().await;
    assert_eq!(key_password(&key, 1).as_deref(), Some(typed));
    assert!(app
        .state
        .store
        .pending_deliveries(app.state.store.key_by_serial("LK-RESET-1").await.unwrap().unwrap().id)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn the_audit_log_detects_an_edited_entry() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let user = dc.create_user(UserOptions::default()).await;
    let mut client = app.another_client();
    client.sign_in(&user.sam, "Wrong-Password-1").await;
    client.sign_in(&user.sam, &user.password).await;
    client.change(&user.password, "Lantern-Quarry-5512").await;
    assert_eq!(app.state.store.verify_audit().await.unwrap(), None, "an untouched chain verifies");

    // Someone turns the failed sign-in into a success, straight in the database.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.state.config.database_url).await.unwrap();
    let first: i64 = sqlx::query_scalar("SELECT MIN(id) FROM audit").fetch_one(&pool).await.unwrap();
    sqlx::query("UPDATE audit SET result = 'success' WHERE id = $1").bind(first).execute(&pool).await.unwrap();
    let broken = app.state.store.verify_audit().await.unwrap();
    assert_eq!(broken.map(|b| b.id), Some(first));

    // Deleting an entry in the middle breaks the chain at the next one.
    sqlx::query("UPDATE audit SET result = 'invalid_credentials' WHERE id = $1")
        .bind(first)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(app.state.store.verify_audit().await.unwrap(), None);
    sqlx::query("DELETE FROM audit WHERE id = $1").bind(first + 1).execute(&pool).await.unwrap();
    assert_eq!(app.state.store.verify_audit().await.unwrap().map(|b| b.id), Some(first + 2));
}

/// Every administration endpoint, as (method, path, body).
fn admin_endpoints(employee: &str) -> Vec<(&'static str, String, Value)> {
    vec![
        ("POST", format!("/api/admin/employees/{employee}/reset"), json!({})),
        ("GET", "/api/admin/employees".into(), Value::Null),
        ("POST", "/api/admin/employees/sync".into(), json!({})),
        ("GET", format!("/api/admin/employees/{employee}"), Value::Null),
        (
            "POST",
            format!("/api/admin/employees/{employee}/accounts"),
            json!({ "name": "x", "login_type": "domain", "domain": "EXAMPLE" }),
        ),
        ("POST", format!("/api/admin/employees/{employee}/flags"), json!({ "must_change": true })),
        ("POST", format!("/api/admin/employees/{employee}/unlock"), json!({})),
        ("GET", "/api/admin/keys".into(), Value::Null),
        ("POST", "/api/admin/keys".into(), json!({ "serial": "X", "public_key": "00", "activation_code": "1" })),
        ("POST", "/api/admin/keys/manifest".into(), json!("serial,public_key,activation_code")),
        ("POST", "/api/admin/keys/X/assign".into(), json!({ "username": employee })),
        ("POST", "/api/admin/keys/X/status".into(), json!({ "status": "locked" })),
        ("GET", "/api/admin/audit".into(), Value::Null),
        ("GET", "/api/admin/dashboard".into(), Value::Null),
        ("GET", "/api/admin/audit/verify".into(), Value::Null),
        ("POST", format!("/api/admin/local/{employee}/flags"), json!({ "may_change": false })),
    ]
}

async fn call(client: &TestApp, method: &str, path: &str, body: &Value) -> (StatusCode, String) {
    let response = match method {
        "GET" => client.get(path).await,
        _ => client.post(path, body.clone()).await,
    };
    code_of(response).await
}

#[tokio::test]
async fn every_admin_endpoint_is_refused_to_users_and_strangers() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let employee = dc.create_user(UserOptions::default()).await;
    let (user_client, _) = signed_in(&app, &employee).await;
    let member = dc.create_user(UserOptions::default()).await;
    dc.add_to_group(&member.dn, &dc.admin_group).await;
    let (before_totp, _) = signed_in(&app, &member).await;
    let stranger = app.another_client();
    for (method, path, body) in admin_endpoints(&employee.sam) {
        assert_eq!(
            call(&stranger, method, &path, &body).await,
            (StatusCode::UNAUTHORIZED, "unauthenticated".into()),
            "{method} {path}"
        );
        assert_eq!(
            call(&user_client, method, &path, &body).await,
            (StatusCode::FORBIDDEN, "forbidden".into()),
            "{method} {path}"
        );
        assert_eq!(
            call(&before_totp, method, &path, &body).await,
            (StatusCode::FORBIDDEN, "second_factor_required".into()),
            "{method} {path}"
        );
    }
    assert_eq!(app.state.store.keys().await.unwrap(), vec![], "nothing was registered by any refused call");
}

#[tokio::test]
async fn employees_are_synced_from_the_group_by_object_guid() {
    let dc = TestDc::from_env();
    let group = dc.create_group().await;
    let app = spawn_app(&dc, AppOptions { employee_group: Some(group.clone()), ..AppOptions::default() }).await;
    let (admin, _, _) = admin(&dc, &app).await;
    let ann = dc.create_user(UserOptions { display_name: Some("Ann Sync".into()), ..Default::default() }).await;
    let ben = dc
        .create_user(UserOptions { display_name: Some("Ben Sync".into()), disabled: true, ..UserOptions::default() })
        .await;
    for u in [&ann, &ben] {
        dc.add_to_group(&u.dn, &group).await;
    }
    let report: Value = admin.post("/api/admin/employees/sync", json!({})).await.json().await.unwrap();
    assert_eq!((report["added"].as_u64(), report["removed"].as_u64()), (Some(2), Some(0)), "{report}");

    let page: Value = admin.get("/api/admin/employees?q=Sync").await.json().await.unwrap();
    assert_eq!(page["total"], 2);
    let ben_row = page["employees"].as_array().unwrap().iter().find(|e| e["display_name"] == "Ben Sync").unwrap();
    assert_eq!(ben_row["disabled"], true, "{page}");

    // Ann is renamed (display name) and Ben leaves the group: matched by objectGUID, not by name.
    dc.replace(&ann.dn, "displayName", "Ann Renamed").await;
    dc.remove_from_group(&ben.dn, &group).await;
    let report: Value = admin.post("/api/admin/employees/sync", json!({})).await.json().await.unwrap();
    assert_eq!(
        (report["added"].as_u64(), report["updated"].as_u64(), report["removed"].as_u64()),
        (Some(0), Some(1), Some(1)),
        "{report}"
    );
    let page: Value = admin.get(&format!("/api/admin/employees?q={}", ben.sam)).await.json().await.unwrap();
    assert_eq!(page["employees"][0]["removed"], true);
    let removed: Value = admin.get("/api/admin/employees?state=removed").await.json().await.unwrap();
    assert_eq!(
        (removed["total"].as_u64(), removed["employees"][0]["username"].as_str()),
        (Some(1), Some(ben.sam.as_str()))
    );
    let active: Value = admin.get("/api/admin/employees?state=active").await.json().await.unwrap();
    assert_eq!(active["employees"][0]["username"], ann.sam.as_str());
    let bad = admin.get("/api/admin/employees?state=sideways").await;
    assert_eq!(code_of(bad).await.1, "unknown_list_filter");

    // Paging by cursor: forward to the second page, back to the first; nothing shown twice.
    let first: Value = admin.get("/api/admin/employees?limit=1").await.json().await.unwrap();
    assert_eq!(first["employees"].as_array().unwrap().len(), 1);
    assert_eq!((&first["total"], &first["previous"]), (&json!(2), &Value::Null), "{first}");
    let next = first["next"].as_str().expect("a next page");
    let second: Value =
        admin.get(&format!("/api/admin/employees?limit=1&after={}", encode(next))).await.json().await.unwrap();
    assert_ne!(second["employees"][0]["username"], first["employees"][0]["username"], "{second}");
    assert_eq!(second["next"], Value::Null, "the last page: {second}");
    let previous = second["previous"].as_str().expect("a previous page");
    let back: Value =
        admin.get(&format!("/api/admin/employees?limit=1&before={}", encode(previous))).await.json().await.unwrap();
    assert_eq!(back["employees"], first["employees"]);
    let too_long = format!("?after=1.{}", "a".repeat(600));
    for bad in ["?after=nonsense", "?before=0.x", "?after=1.a&before=1.a", too_long.as_str()] {
        let refused = admin.get(&format!("/api/admin/employees{bad}")).await;
        assert_eq!(code_of(refused).await, (StatusCode::BAD_REQUEST, "bad_request".to_string()), "{bad}");
    }
}

#[tokio::test]
async fn keys_are_registered_assigned_and_moved_along_allowed_transitions() {
    let dc = TestDc::from_env();
    let group = dc.create_group().await;
    let app = spawn_app(&dc, AppOptions { employee_group: Some(group.clone()), ..AppOptions::default() }).await;
    let (admin, _, _) = admin(&dc, &app).await;
    let employee = dc.create_user(UserOptions::default()).await;
    dc.add_to_group(&employee.dn, &group).await;
    admin.post("/api/admin/employees/sync", json!({})).await;

    let (mut key, made) = new_key("LK-ADMIN-1");
    let (_, spare) = new_key("LK-ADMIN-2");
    let one = json!({ "serial": made.serial, "public_key": hex::encode(made.public_key), "activation_code": made.activation_code });
    assert_eq!(admin.post("/api/admin/keys", one.clone()).await.status(), StatusCode::OK);
    let again = code_of(admin.post("/api/admin/keys", one).await).await;
    assert_eq!(again, (StatusCode::CONFLICT, "duplicate_key".into()), "registered once");
    let csv = format!(
        "serial,public_key,activation_code\n{},{},{}\nLK-BAD,zz,1\n",
        spare.serial,
        hex::encode(spare.public_key),
        spare.activation_code
    );
    let report: Value = admin
        .client
        .post(format!("{}/api/admin/keys/manifest", app.url))
        .header("x-csrf-token", admin.csrf.clone().unwrap())
        .body(csv)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["registered"], 1, "{report}");
    assert!(report["errors"][0].as_str().unwrap().starts_with("line 3:"), "{report}");

    // Assign: Reserved, the code shown this once.
    let assigned: Value = admin
        .post("/api/admin/keys/LK-ADMIN-1/assign", json!({ "username": employee.sam }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(assigned["activation_code"], made.activation_code.as_str());
    let again = admin.post("/api/admin/keys/LK-ADMIN-1/assign", json!({ "username": employee.sam })).await;
    assert_eq!(code_of(again).await, (StatusCode::CONFLICT, "key_not_ready".into()));
    let accounts = admin
        .post(
            &format!("/api/admin/employees/{}/accounts", employee.sam),
            json!({ "name": "Domain", "login_type": "domain", "domain": "EXAMPLE" }),
        )
        .await;
    assert_eq!(accounts.status(), StatusCode::OK);

    // Reserved cannot be locked; the key activates through self-service, then can be.
    let invalid =
        admin.post("/api/admin/keys/LK-ADMIN-1/status", json!({ "status": "locked", "reason": "lost" })).await;
    assert_eq!(code_of(invalid).await, (StatusCode::CONFLICT, "invalid_transition".into()));
    let cookie = session_cookie(&app, &employee).await;
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    page.connect(&mut key).await;
    let ready =
        page.send(&mut key, latchkey_api::relay::RelayRequest::Activate { code: made.activation_code.clone() }).await;
    assert!(matches!(ready, RelayEvent::Ready { .. }), "{ready:?}");
    page.close().await;
    let unknown =
        admin.post("/api/admin/keys/LK-ADMIN-1/status", json!({ "status": "locked", "reason": "misplaced" })).await;
    assert_eq!(code_of(unknown).await.0, StatusCode::BAD_REQUEST);
    let locked = admin.post("/api/admin/keys/LK-ADMIN-1/status", json!({ "status": "locked", "reason": "lost" })).await;
    assert_eq!(locked.status(), StatusCode::OK);

    // Locked on its next connection; unlocked by the administrator, unlocked on the one after.
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let refused = page.connect(&mut key).await;
    assert!(matches!(&refused, RelayEvent::Failed { code, .. } if code == "key_status"), "{refused:?}");
    assert_eq!(key.vault().status, latchkey_protocol::message::KeyStatus::Locked);
    assert_eq!(
        admin.post("/api/admin/keys/LK-ADMIN-1/status", json!({ "status": "active" })).await.status(),
        StatusCode::OK
    );
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    let ready = page.connect(&mut key).await;
    assert!(matches!(ready, RelayEvent::Ready { .. }), "{ready:?}");
    assert_eq!(key.vault().status, latchkey_protocol::message::KeyStatus::Active);
    page.close().await;

    // The employee's page brings it together.
    let detail: Value = admin.get(&format!("/api/admin/employees/{}", employee.sam)).await.json().await.unwrap();
    assert_eq!(detail["keys"][0]["status"], "active", "{detail}");
    assert_eq!(detail["accounts"][0]["login"], format!("EXAMPLE\\{}", employee.sam));
    assert_eq!(detail["directory"]["locked_out"], false);
    let actions = |list: &str| -> Vec<String> {
        detail[list].as_array().unwrap().iter().filter_map(|e| e["action"].as_str().map(String::from)).collect()
    };
    let (own, keys) = (actions("audit"), actions("key_history"));
    assert!(own.contains(&"admin_add_account".to_string()), "{own:?}");
    assert!(
        keys.contains(&"admin_key_locked".to_string()) && keys.contains(&"admin_assign_key".to_string()),
        "{keys:?}"
    );
    assert!(own.iter().all(|a| !a.starts_with("admin_key_")), "a key's history stays with the key: {own:?}");
}

#[tokio::test]
async fn account_flags_unlock_and_the_audit_export() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (admin, _, _) = admin(&dc, &app).await;
    let employee = dc.create_user(UserOptions::default()).await;
    app.employ(&employee).await;

    let flags =
        admin.post(&format!("/api/admin/employees/{}/flags", employee.sam), json!({ "must_change": true })).await;
    assert_eq!(flags.status(), StatusCode::OK);
    assert_eq!(dc.read(&employee.dn, "pwdLastSet").await.as_deref(), Some("0"));
    admin.post(&format!("/api/admin/employees/{}/flags", employee.sam), json!({ "must_change": false })).await;
    assert!(dc.password_last_set(&employee.dn).await > 0, "a password set, not must-change");

    dc.lock_out(&employee.dn).await;
    assert!(dc.is_locked_out(&employee.dn).await);
    assert_eq!(
        admin.post(&format!("/api/admin/employees/{}/unlock", employee.sam), json!({})).await.status(),
        StatusCode::OK
    );
    assert!(!dc.is_locked_out(&employee.dn).await);
    assert!(dc.binds(&employee.dn, &employee.password).await);

    let csv = admin.get(&format!("/api/admin/audit?target={}&format=csv", employee.sam)).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "at,actor,action,target,result,client_addr");
    assert!(lines.iter().any(|l| l.contains(",admin_unlock,") && l.contains(",success,")), "{text}");
    assert!(lines.iter().filter(|l| l.contains(",admin_set_flags,")).count() == 2, "{text}");
    let verdict: Value = admin.get("/api/admin/audit/verify").await.json().await.unwrap();
    assert_eq!(verdict["intact"], true);

    // Pages of the log go by id: one entry at a time, newest first, each older than the last.
    let page = |before: Option<i64>| {
        let url = format!(
            "/api/admin/audit?target={}&limit=1{}",
            employee.sam,
            before.map(|b| format!("&before={b}")).unwrap_or_default()
        );
        let admin = &admin;
        async move { admin.get(&url).await.json::<Vec<Value>>().await.unwrap() }
    };
    let all = page(None).await;
    let (mut before, mut walked) = (None, Vec::new());
    loop {
        let one = page(before).await;
        let Some(entry) = one.first() else { break };
        before = entry["id"].as_i64();
        walked.push(entry["action"].clone());
    }
    assert_eq!(walked.len(), 3, "{walked:?}");
    assert_eq!(walked[0], all[0]["action"]);
    assert_eq!(walked.iter().filter(|a| *a == "admin_set_flags").count(), 2, "every entry once: {walked:?}");
}

#[tokio::test]
async fn an_administrator_forbids_and_allows_changing_the_password() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (admin, _, _) = admin(&dc, &app).await;
    let employee = dc.create_user(UserOptions::default()).await;
    app.employ(&employee).await;
    let flags = format!("/api/admin/employees/{}/flags", employee.sam);

    assert_eq!(admin.post(&flags, json!({ "may_change": false })).await.status(), StatusCode::OK);
    let mut user = app.another_client();
    user.sign_in(&employee.sam, &employee.password).await;
    let status: Value = user.get("/api/password/status").await.json().await.unwrap();
    assert_eq!(status["may_change"], false, "the directory now denies the change");
    assert_eq!(code_of(user.change(&employee.password, "Meadow-Falcon-3391").await).await.1, "not_permitted");
    // The DACL really denies it: the DC refuses the user's own modify as well.
    let mut ldap = dc.connect().await;
    ldap.simple_bind(&employee.dn, &employee.password).await.unwrap().success().unwrap();
    let old = latchkey_tests::dc::unicode_pwd(&employee.password);
    let new = latchkey_tests::dc::unicode_pwd("Meadow-Falcon-3391");
    let mods = vec![
        ldap3::Mod::Delete(b"unicodePwd".to_vec(), std::collections::HashSet::from([old])),
        ldap3::Mod::Add(b"unicodePwd".to_vec(), std::collections::HashSet::from([new])),
    ];
    let refused = ldap.modify(&employee.dn, mods).await.unwrap();
    assert_ne!(refused.rc, 0, "the DC refuses the change: {refused:?}");
    let _ = ldap.unbind().await;

    assert_eq!(admin.post(&flags, json!({ "may_change": true })).await.status(), StatusCode::OK);
    let status: Value = user.get("/api/password/status").await.json().await.unwrap();
    assert_eq!(status["may_change"], true);
    assert_eq!(user.change(&employee.password, "Meadow-Falcon-3391").await.status(), StatusCode::OK);
    assert!(dc.binds(&employee.dn, "Meadow-Falcon-3391").await);
}

#[tokio::test]
async fn employees_are_synced_on_a_schedule() {
    let dc = TestDc::from_env();
    let group = dc.create_group().await;
    let options =
        AppOptions { employee_group: Some(group.clone()), sync_interval_secs: Some(1), ..AppOptions::default() };
    let app = spawn_app(&dc, options).await;
    let newcomer = dc.create_user(UserOptions::default()).await;
    dc.add_to_group(&newcomer.dn, &group).await;
    let mut seen = false;
    for _ in 0..50 {
        let rows =
            app.state.store.employees(&newcomer.sam, Default::default(), &Default::default(), 10).await.unwrap().rows;
        if rows.iter().any(|e| e.username == newcomer.sam) {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "the scheduled sync imported the new member");
    assert!(app.state.store.audit_of("employees").await.unwrap().iter().any(|e| e.action == "scheduled_sync"));
}

/// The setup token `serve` offered at start, as an operator reads it in the server's log (the
/// log is shared by every server of the test process: the one this server holds is among them).
async fn offered_token(app: &TestApp) -> Option<String> {
    let log = String::from_utf8_lossy(&secrets::server_log().bytes).into_owned();
    let logged: Vec<&str> =
        log.lines().filter_map(|l| l.split_once("one-time setup token ")).map(|(_, t)| t.trim()).collect();
    let held = app.state.bootstrap_token()?;
    assert!(logged.contains(&held.as_str()), "the token this server accepts is the one it logged");
    Some(held)
}

#[tokio::test]
async fn no_setup_token_is_offered_while_an_administrator_can_sign_in() {
    let dc = TestDc::from_env();
    // The test domain's administrators' group has members (every test's administrators).
    let member = dc.create_user(UserOptions::default()).await;
    dc.add_to_group(&member.dn, &dc.admin_group).await;
    let app = spawn_app(&dc, AppOptions::default()).await;
    assert_eq!(offered_token(&app).await, None);
    // Nothing was offered: the store holds no token at all (the next test is the positive control).
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.state.config.database_url).await.unwrap();
    let tokens: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bootstrap WHERE token_hash IS NOT NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tokens, 0);
}

#[tokio::test]
async fn the_first_administrator_is_bootstrapped_with_the_logged_token() {
    let dc = TestDc::from_env();
    let nobody = dc.create_group().await;
    let app = spawn_app(&dc, AppOptions { admin_group: Some(nobody.clone()), ..AppOptions::default() }).await;
    let token = offered_token(&app).await.expect("a portal nobody administers offers a bootstrap");
    let client = app.another_client();
    let bootstrap =
        |t: &str, u: &str, p: &str| client.post("/api/bootstrap", json!({ "token": t, "username": u, "password": p }));
    let strong = "Granite-Otter-Lantern-2291";

    // What a CLI command does (`key assign`) opens the store without offering a new token.
    let cli = latchkey_server::AppState::new(app.state.config.clone()).await.unwrap();
    assert_eq!(cli.bootstrap_token(), None);

    assert_eq!(code_of(bootstrap("not-the-token", "portal-admin", strong).await).await.1, "forbidden");
    let someone = dc.create_user(UserOptions::default()).await;
    // Without the token nothing is looked up: a directory user's name is not told apart.
    assert_eq!(code_of(bootstrap("not-the-token", &someone.sam, strong).await).await.1, "forbidden");
    let taken = bootstrap(&token, &someone.sam, strong).await;
    assert_eq!(code_of(taken).await.1, "logon_name_taken", "a directory user's name is refused");
    assert_eq!(code_of(bootstrap(&token, "portal-admin", "Short-1").await).await.1, "policy_violation");

    // An hour after the start that offered it, the token is no good.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.state.config.database_url).await.unwrap();
    let offered: i64 = sqlx::query_scalar("SELECT offered_at FROM bootstrap").fetch_one(&pool).await.unwrap();
    sqlx::query("UPDATE bootstrap SET offered_at = $1").bind(offered - 3601).execute(&pool).await.unwrap();
    assert_eq!(code_of(bootstrap(&token, "portal-admin", strong).await).await.1, "forbidden", "expired");
    sqlx::query("UPDATE bootstrap SET offered_at = $1").bind(offered).execute(&pool).await.unwrap();

    assert_eq!(bootstrap(&token, "portal-admin", strong).await.status(), StatusCode::OK);
    assert_eq!(code_of(bootstrap(&token, "second-admin", strong).await).await.1, "forbidden", "the token works once");

    // A restart on the same database offers no new token.
    let again = spawn_app(
        &dc,
        AppOptions {
            database_url: Some(app.state.config.database_url.clone()),
            secret_key_file: Some(app.state.config.secret_key_file.clone()),
            admin_group: Some(nobody),
            ..AppOptions::default()
        },
    )
    .await;
    assert_eq!(again.state.bootstrap_token(), None);

    // The local administrator signs in, enrols an authenticator and administers.
    let mut admin = app.another_client();
    let view: SessionView = admin.sign_in("portal-admin", strong).await.json().await.unwrap();
    assert_eq!(view.admin, Some(AdminState::EnrolTotp));
    let enrolment: Value = admin.post("/api/admin/totp/enrol", json!({})).await.json().await.unwrap();
    let secret = enrolment["secret_base32"].as_str().unwrap().to_string();
    assert_eq!(
        admin.post("/api/admin/totp/confirm", json!({ "code": totp_code(&secret) })).await.status(),
        StatusCode::OK
    );
    assert_eq!(admin.get("/api/admin/keys").await.status(), StatusCode::OK);
    let status: Value = admin.get("/api/password/status").await.json().await.unwrap();
    assert_eq!((status["policy_source"].as_str(), status["policy"]["min_length"].as_u64()), (Some("portal"), Some(15)));

    // "Must change at next logon", then "may not change", on the portal-local account.
    let flags = |body: Value| admin.post("/api/admin/local/portal-admin/flags", body);
    assert_eq!(flags(json!({ "must_change": true })).await.status(), StatusCode::OK);
    let mut next = app.another_client();
    let view: SessionView = next.sign_in("portal-admin", strong).await.json().await.unwrap();
    assert_eq!(view.change_required, Some(latchkey_api::ChangeReason::MustChange));
    let renewed = "Copper-Heron-Valley-7723";
    assert_eq!(next.change(strong, renewed).await.status(), StatusCode::OK);

    // The change ended the other sessions of the account: the administrator comes back.
    let mut admin = app.another_client();
    let view: SessionView = admin.sign_in("portal-admin", renewed).await.json().await.unwrap();
    assert_eq!((view.change_required, view.admin), (None, Some(AdminState::VerifyTotp)), "the change cleared the flag");
    assert_eq!(
        admin
            .post("/api/admin/totp/verify", json!({ "code": totp_code_at(&secret, latchkey_tests::now() + 30) }))
            .await
            .status(),
        StatusCode::OK
    );
    let flags = |body: Value| admin.post("/api/admin/local/portal-admin/flags", body);
    assert_eq!(flags(json!({ "may_change": false })).await.status(), StatusCode::OK);
    assert_eq!(code_of(admin.change(renewed, "Amber-Willow-Summit-5561").await).await.1, "not_permitted");
    assert_eq!(flags(json!({ "may_change": true })).await.status(), StatusCode::OK);
    assert_eq!(
        code_of(admin.post("/api/admin/local/nobody/flags", json!({ "may_change": true })).await).await.1,
        "not_found"
    );
}

/// An administrator whose logon name has capitals and a letter outside ASCII, enrolled; the
/// code used at confirmation, the time it was made, and the recovery codes.
async fn mixed_case_admin(dc: &TestDc, app: &TestApp) -> (TestUser, String, u64, Vec<String>) {
    let options = UserOptions { name_prefix: Some("Ädm".into()), ..UserOptions::default() };
    let user = dc.create_user(options).await;
    assert!(user.sam.chars().any(char::is_uppercase) && !user.sam.is_ascii(), "{}", user.sam);
    dc.add_to_group(&user.dn, &dc.admin_group).await;
    let (client, view) = signed_in(app, &user).await;
    assert_eq!(view.admin, Some(AdminState::EnrolTotp));
    let enrolment: Value = client.post("/api/admin/totp/enrol", json!({})).await.json().await.unwrap();
    let secret = enrolment["secret_base32"].as_str().unwrap().to_string();
    let at = latchkey_tests::now();
    let confirmed = client.post("/api/admin/totp/confirm", json!({ "code": totp_code_at(&secret, at) })).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let codes: Value = confirmed.json().await.unwrap();
    (user, secret, at, serde_json::from_value(codes["codes"].clone()).unwrap())
}

#[tokio::test]
async fn a_mixed_case_administrators_factor_holds_codes_work_once_and_guessing_locks() {
    totp_rules(AppOptions::default()).await;
}

#[tokio::test]
async fn a_mixed_case_administrators_factor_holds_on_postgresql() {
    totp_rules(AppOptions { postgres: true, ..AppOptions::default() }).await;
}

async fn totp_rules(options: AppOptions) {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, options).await;
    let (user, secret, at, recovery) = mixed_case_admin(&dc, &app).await;
    let sign_in = |name: String| {
        let app = &app;
        let password = user.password.clone();
        async move {
            let mut client = app.another_client();
            let view: SessionView = client.sign_in(&name, &password).await.json().await.unwrap();
            (client, view)
        }
    };

    // Signed in again, in another case: enrolled, so asked for a code, never offered a new factor.
    let (client, view) = sign_in(user.sam.to_lowercase()).await;
    assert_eq!(view.admin, Some(AdminState::VerifyTotp));
    let (status, code) = code_of(client.post("/api/admin/totp/enrol", json!({})).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "forbidden"), "no second enrolment");

    // A code is accepted once: the confirmation's is refused now, the next step's is taken once.
    let (status, code) = code_of(verify(&client, totp_code_at(&secret, at)).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "wrong_code"), "a replayed code");
    let next = totp_code_at(&secret, at + 30);
    assert_eq!(verify(&client, next.clone()).await.status(), StatusCode::OK, "the next step's code");
    let (other, _) = sign_in(user.sam.to_uppercase()).await;
    let (status, code) = code_of(verify(&other, next).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "wrong_code"), "replayed in another session");

    // Wrong codes (the replay above was one): four in a row, then a right one, are fine; five in
    // a row lock codes for a while.
    let wrong = || {
        let valid = [totp_code_at(&secret, at - 30), totp_code_at(&secret, at), totp_code_at(&secret, at + 30)];
        (0..1_000_000).map(|n| format!("{n:06}")).find(|c| !valid.contains(c)).unwrap()
    };
    for _ in 0..3 {
        assert_eq!(code_of(verify(&other, wrong()).await).await.1, "wrong_code");
    }
    assert_eq!(verify(&other, recovery[0].clone()).await.status(), StatusCode::OK, "four wrong codes lock nothing");
    let (locked, _) = sign_in(user.sam.clone()).await;
    for _ in 0..5 {
        assert_eq!(code_of(verify(&locked, wrong()).await).await.1, "wrong_code");
    }
    let (status, code) = code_of(verify(&locked, recovery[1].clone()).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"), "locked after five");

    // The secret is sealed at rest: its bytes are nowhere in the database, yet the server opens it.
    let raw = totp_rs::Secret::Encoded(secret.clone()).to_bytes().unwrap();
    let stored = app.stored_bytes();
    assert!(stored.iter().all(|s| !secrets::contains(&s.bytes, &raw)), "no readable TOTP secret in the database");
    assert_eq!(secrets::found_in(&secret, &stored), Vec::<&str>::new(), "nor its base32 text");
    let key = latchkey_server::identity::LoginKey::of(&user.sam);
    let row = app.state.store.totp(&key).await.unwrap().expect("the enrolment");
    assert_eq!(app.state.secrets.open_totp(&row.secret).unwrap().as_slice(), raw.as_slice());
    let audit = app.state.store.audit_of(&user.sam).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "admin_totp_verify" && e.result == "wrong_code").count(), 10);
}

/// Keys of a user who signs in with a password first: activated, holding the account.
async fn activated_key(app: &TestApp, user: &TestUser, serial: &str) -> keysim::SimKey {
    let (mut key, made) = new_key(serial);
    let code = provision(app, user, &made).await;
    let cookie = session_cookie(app, user).await;
    let mut page = RelayPage::open(app, Some(&cookie)).await;
    page.connect(&mut key).await;
    let ready = page.send(&mut key, latchkey_api::relay::RelayRequest::Activate { code }).await;
    assert!(matches!(ready, RelayEvent::Ready { .. }), "{ready:?}");
    page.close().await;
    key
}

/// A sign-in with the key (its channel and a press): the redeemed ticket's answer, or the
/// event that refused it.
async fn sign_in_with_key(app: &TestApp, key: &mut keysim::SimKey) -> Result<(StatusCode, Value), RelayEvent> {
    let mut page = RelayPage::open(app, None).await;
    let ready = page.connect(key).await;
    if !matches!(ready, RelayEvent::Ready { .. }) {
        page.close().await;
        return Err(ready);
    }
    key.set_presence(keysim::Presence::AlwaysConfirm);
    let signed = page.send(key, latchkey_api::relay::RelayRequest::SignIn).await;
    page.close().await;
    let RelayEvent::SignedIn { ticket } = signed else { return Err(signed) };
    let response = app.another_client().post("/api/session/key", json!({ "ticket": ticket })).await;
    let status = response.status();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

#[tokio::test]
async fn key_sign_in_refuses_what_a_password_refuses_and_never_grants_administration() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    // An administrator (employees come from the administrators' group here) with a key.
    let (_, leaver, _) = admin(&dc, &app).await;
    let mut key = activated_key(&app, &leaver, "LK-LEAVER-1").await;
    latchkey_server::sync::employees(&app.state).await.unwrap();

    // The key signs them in, as an employee: administration takes the password and a code.
    let (status, view) = sign_in_with_key(&app, &mut key).await.expect("signed in");
    assert_eq!((status, view["username"].as_str()), (StatusCode::OK, Some(leaver.sam.as_str())));
    assert_eq!(view["admin"], Value::Null, "key sign-in grants no administration by default");

    // Disabled, expired, locked: refused with the key as with the password.
    let refused = |v: Result<(StatusCode, Value), RelayEvent>| match v {
        Ok((status, body)) => (status, body["code"].as_str().unwrap_or_default().to_string()),
        Err(event) => panic!("the key session itself was refused: {event:?}"),
    };
    dc.replace(&leaver.dn, "userAccountControl", "514").await;
    let password = code_of(
        app.another_client().post("/api/session", json!({ "username": leaver.sam, "password": leaver.password })).await,
    )
    .await;
    assert_eq!(password, (StatusCode::FORBIDDEN, "disabled".into()));
    assert_eq!(refused(sign_in_with_key(&app, &mut key).await), (StatusCode::FORBIDDEN, "disabled".into()));
    dc.replace(&leaver.dn, "userAccountControl", "512").await;
    assert_eq!(sign_in_with_key(&app, &mut key).await.expect("signed in").0, StatusCode::OK, "enabled again");

    dc.replace(&leaver.dn, "accountExpires", "129000000000000000").await; // 2009
    assert_eq!(refused(sign_in_with_key(&app, &mut key).await), (StatusCode::FORBIDDEN, "account_expired".into()));
    dc.replace(&leaver.dn, "accountExpires", "0").await;

    dc.lock_out(&leaver.dn).await;
    assert_eq!(refused(sign_in_with_key(&app, &mut key).await), (StatusCode::LOCKED, "locked_out".into()));
    dc.replace(&leaver.dn, "lockoutTime", "0").await;
    assert_eq!(sign_in_with_key(&app, &mut key).await.expect("signed in").0, StatusCode::OK, "unlocked again");

    // They leave the group: the sync suspends the key (audited) and no sign-in lets them in.
    dc.remove_from_group(&leaver.dn, &dc.admin_group).await;
    latchkey_server::sync::employees(&app.state).await.unwrap();
    let row = app.state.store.key_by_serial("LK-LEAVER-1").await.unwrap().unwrap();
    assert_eq!((row.status.label(), row.status_reason), ("suspended", Some(StatusReason::EmployeeLeftGroup)));
    let audit = app.state.store.audit_of("LK-LEAVER-1").await.unwrap();
    assert!(audit.iter().any(|e| e.action == "key_suspended_by_sync" && e.result == "employee_left_group"));
    assert!(sign_in_with_key(&app, &mut key).await.is_err(), "a suspended key opens no session");
    // Even with the key put back to active by an administrator, its departed owner gets no session.
    app.state.store.change_key_status("LK-LEAVER-1", latchkey_api::registry::KeyStatus::Active, None).await.unwrap();
    assert_eq!(refused(sign_in_with_key(&app, &mut key).await), (StatusCode::FORBIDDEN, "not_an_employee".into()));
    let password = code_of(
        app.another_client().post("/api/session", json!({ "username": leaver.sam, "password": leaver.password })).await,
    )
    .await;
    assert_eq!(password, (StatusCode::FORBIDDEN, "not_an_employee".into()), "nor a password");
}

#[tokio::test]
async fn key_sign_in_may_grant_administration_only_when_configured() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions { key_sign_in_grants_admin: true, ..AppOptions::default() }).await;
    let (_, user, _) = admin(&dc, &app).await;
    let mut key = activated_key(&app, &user, "LK-KEYADMIN-1").await;
    let (status, view) = sign_in_with_key(&app, &mut key).await.expect("signed in");
    assert_eq!((status, view["admin"].as_str()), (StatusCode::OK, Some("verify_totp")), "still after a TOTP code");
}

#[tokio::test]
async fn administrators_act_only_on_employees_never_on_admins_or_the_service_account() {
    let dc = TestDc::from_env();
    let group = dc.create_group().await;
    let app = spawn_app(&dc, AppOptions { employee_group: Some(group.clone()), ..AppOptions::default() }).await;
    let (admin, admin_user, _) = admin(&dc, &app).await;
    let fellow = dc.create_user(UserOptions::default()).await;
    dc.add_to_group(&fellow.dn, &dc.admin_group).await;
    let employee = dc.create_user(UserOptions { name_prefix: Some("Émp".into()), ..UserOptions::default() }).await;
    let stranger = dc.create_user(UserOptions::default()).await;
    let directory = app.state.directory().unwrap();
    let service = directory.find_user(&dc.service_account).await.unwrap().expect("the service account");
    let administrator = directory.find_user("Administrator").await.unwrap().expect("Administrator");
    for dn in [&fellow.dn, &employee.dn, &service.dn, &administrator.dn] {
        dc.add_to_group(dn, &group).await;
    }
    assert_eq!(admin.post("/api/admin/employees/sync", json!({})).await.status(), StatusCode::OK);

    // Positive control: an employee is unlocked and reset.
    let unlock = |name: String| {
        let admin = &admin;
        async move { admin.post(&format!("/api/admin/employees/{name}/unlock"), json!({})).await }
    };
    assert_eq!(unlock(employee.sam.clone()).await.status(), StatusCode::OK);
    let reset_path = format!("/api/admin/employees/{}/reset", employee.sam.to_uppercase());
    // A generated password would reach nobody (no active key): refused, nothing written.
    let nowhere = admin.post(&reset_path, json!({})).await;
    assert_eq!(code_of(nowhere).await, (StatusCode::CONFLICT, "no_active_key".into()));
    assert!(dc.binds(&employee.dn, &employee.password).await, "the password is unchanged");
    let reset = admin.post(&reset_path, json!({ "password": "Harbour-Signal-2207" })).await;
    assert_eq!(reset.status(), StatusCode::OK, "an employee, named in another case");
    assert!(!dc.binds(&employee.dn, &employee.password).await);

    // A fellow administrator: no reset, no flags; their password still works.
    let fellow_reset = admin.post(&format!("/api/admin/employees/{}/reset", fellow.sam), json!({})).await;
    assert_eq!(code_of(fellow_reset).await, (StatusCode::FORBIDDEN, "protected_account".into()));
    let flags = admin.post(&format!("/api/admin/employees/{}/flags", fellow.sam), json!({ "must_change": true })).await;
    assert_eq!(code_of(flags).await.1, "protected_account");
    assert!(dc.binds(&fellow.dn, &fellow.password).await);
    assert!(dc.password_last_set(&fellow.dn).await > 0, "a password set, not must-change");
    // Nor a key of the administrator's making, nor an account on their keys: a key they hold
    // would receive the fellow's next password.
    let (_, made) = new_key("LK-ROGUE-1");
    let public_key = hex::encode(made.public_key);
    let registered = admin
        .post(
            "/api/admin/keys",
            json!({ "serial": made.serial, "public_key": public_key, "activation_code": made.activation_code }),
        )
        .await;
    assert_eq!(registered.status(), StatusCode::OK);
    let assign = admin.post("/api/admin/keys/LK-ROGUE-1/assign", json!({ "username": fellow.sam })).await;
    assert_eq!(code_of(assign).await.1, "protected_account");
    let account = json!({ "name": "Domain", "login_type": "domain", "domain": "EXAMPLE" });
    let added = admin.post(&format!("/api/admin/employees/{}/accounts", fellow.sam), account).await;
    assert_eq!(code_of(added).await.1, "protected_account");

    // The service account and a protected account (adminCount = 1), though in the group.
    assert_eq!(code_of(unlock(service.sam_account_name.clone()).await).await.1, "protected_account");
    assert_eq!(code_of(unlock("Administrator".into()).await).await.1, "protected_account");
    // Someone the sync never imported.
    assert_eq!(code_of(unlock(stranger.sam.clone()).await).await.1, "protected_account");

    // Every refusal is audited with its reason.
    let refused =
        app.state.store.search_audit(&AuditSearch { actor: &admin_user.sam, ..Default::default() }, 100).await.unwrap();
    let count = |action: &str| refused.iter().filter(|e| e.action == action && e.result == "protected_account").count();
    assert_eq!((count("admin_reset"), count("admin_set_flags"), count("admin_unlock")), (1, 1, 3));
    assert_eq!((count("admin_assign_key"), count("admin_add_account")), (1, 1));
}

async fn verify(client: &TestApp, code: String) -> reqwest::Response {
    client.post("/api/admin/totp/verify", json!({ "code": code })).await
}

#[tokio::test]
async fn an_administrator_who_leaves_the_group_or_is_disabled_loses_the_session_at_the_next_write() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let sync = "/api/admin/employees/sync";

    // Positive control: the write goes through while they are an administrator.
    let (admin1, user1, _) = admin(&dc, &app).await;
    assert_eq!(admin1.post(sync, json!({})).await.status(), StatusCode::OK);
    dc.remove_from_group(&user1.dn, &dc.admin_group).await;
    let (status, code) = code_of(admin1.post(sync, json!({})).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "forbidden"), "no longer in the group");
    assert_eq!(admin1.get("/api/session").await.status(), StatusCode::UNAUTHORIZED, "the session ended");

    let (admin2, user2, _) = admin(&dc, &app).await;
    assert_eq!(admin2.post(sync, json!({})).await.status(), StatusCode::OK);
    dc.replace(&user2.dn, "userAccountControl", "514").await;
    assert_eq!(code_of(admin2.post(sync, json!({})).await).await.1, "disabled");
    assert_eq!(admin2.get("/api/session").await.status(), StatusCode::UNAUTHORIZED);
    let audit = app.state.store.audit_of(&user2.sam).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "admin_session_ended" && e.result == "disabled"), "{audit:?}");
}

#[tokio::test]
async fn a_reserved_key_is_activated_only_by_its_owner_and_is_sealed_nothing() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let (admin, _, _) = admin(&dc, &app).await;
    let employee = dc.create_user(UserOptions::default()).await;
    let (mut key, made) = new_key("LK-RESERVED-1");
    let code = provision(&app, &employee, &made).await;

    // Whoever holds the code but not the owner's session cannot activate it.
    let mut page = RelayPage::open(&app, None).await;
    let refused = page.connect(&mut key).await;
    assert!(matches!(&refused, RelayEvent::Failed { code, .. } if code == "sign_in_first"), "{refused:?}");
    page.close().await;

    // A reset sends a reserved key nothing: generated is refused, typed goes to the directory only.
    let path = format!("/api/admin/employees/{}/reset", employee.sam);
    assert_eq!(code_of(admin.post(&path, json!({})).await).await.1, "no_active_key");
    let typed = admin.post(&path, json!({ "password": "Harbour-Signal-2207" })).await;
    let answer: Value = typed.json().await.unwrap();
    assert_eq!(answer["queued_for"], json!([]), "{answer}");
    let row = app.state.store.key_by_serial("LK-RESERVED-1").await.unwrap().unwrap();
    assert!(app.state.store.pending_deliveries(row.id).await.unwrap().is_empty());

    // Positive control: the owner, signed in, activates it.
    let owner = TestUser { password: "Harbour-Signal-2207".into(), ..employee.clone() };
    let cookie = session_cookie(&app, &owner).await;
    let mut page = RelayPage::open(&app, Some(&cookie)).await;
    assert!(matches!(page.connect(&mut key).await, RelayEvent::NeedsActivation { .. }));
    let ready = page.send(&mut key, latchkey_api::relay::RelayRequest::Activate { code }).await;
    assert!(matches!(ready, RelayEvent::Ready { .. }), "{ready:?}");
}

#[tokio::test]
async fn a_group_that_cannot_be_read_takes_nobodys_keys_an_emptied_one_does() {
    let dc = TestDc::from_env();
    let group = dc.create_group().await;
    let app = spawn_app(&dc, AppOptions { employee_group: Some(group.clone()), ..AppOptions::default() }).await;
    let employee = dc.create_user(UserOptions::default()).await;
    dc.add_to_group(&employee.dn, &group).await;
    latchkey_server::sync::employees(&app.state).await.unwrap();
    let mut key = activated_key(&app, &employee, "LK-EMPTYGROUP").await;

    // A replica configured with a group the service account cannot read (here: a wrong DN).
    let wrong = format!("CN=no-such-group,CN=Users,{}", dc.base_dn);
    let replica = spawn_app(
        &dc,
        AppOptions {
            employee_group: Some(wrong),
            database_url: Some(app.state.config.database_url.clone()),
            secret_key_file: Some(app.state.config.secret_key_file.clone()),
            ..AppOptions::default()
        },
    )
    .await;
    let refused = latchkey_server::sync::employees(&replica.state).await.expect_err("refused");
    assert_eq!(refused.0.code(), "directory_unavailable");
    let row = app.state.store.key_by_serial("LK-EMPTYGROUP").await.unwrap().unwrap();
    assert_eq!(row.status.label(), "active", "nobody was taken out of service");
    assert_eq!(sign_in_with_key(&app, &mut key).await.expect("signed in").0, StatusCode::OK);

    // The real group, emptied: the last employee leaves and their key is suspended.
    dc.remove_from_group(&employee.dn, &group).await;
    latchkey_server::sync::employees(&app.state).await.unwrap();
    let row = app.state.store.key_by_serial("LK-EMPTYGROUP").await.unwrap().unwrap();
    assert_eq!((row.status.label(), row.status_reason), ("suspended", Some(StatusReason::EmployeeLeftGroup)));
}

/// The directory self-check against the test domain: everything passes; then one right is taken
/// from the service account on one employee (a deny ACE, so no other test is touched) and the
/// check names exactly that right and how to grant it. `latchkey-server doctor` says the same.
#[tokio::test]
async fn the_directory_check_names_exactly_the_right_that_is_missing() {
    let dc = TestDc::from_env();
    let group = dc.create_group().await;
    let employee = dc.create_user(UserOptions::default()).await;
    dc.add_to_group(&employee.dn, &group).await;
    let app = spawn_app(&dc, AppOptions { employee_group: Some(group.clone()), ..AppOptions::default() }).await;
    let (admin, _, _) = admin(&dc, &app).await;
    let outcomes = |report: &Value| -> Vec<(String, String)> {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap().to_string(), c["outcome"].as_str().unwrap().to_string()))
            .collect()
    };
    let report: Value = admin.get("/api/admin/directory-check").await.json().await.unwrap();
    let all = outcomes(&report);
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "TLS certificate",
            "Service account",
            "Base DN",
            "Employee group",
            "Administrators' group",
            "Password policies",
            "Reset Password",
            "Change Password",
            "Write pwdLastSet",
            "Write lockoutTime",
            "Write the DACL",
            "Clock"
        ]
    );
    assert!(all.iter().all(|(_, o)| o == "pass" || o == "warn"), "{report}");
    assert!(all.iter().filter(|(_, o)| o == "warn").all(|(n, _)| n == "Password policies"), "{report}");
    let tls = &report["checks"][0]["detail"];
    assert!(tls.as_str().unwrap().contains("the chain verifies"), "{tls}");
    // Plain users may not look.
    let (plain, _) = signed_in(&app, &employee).await;
    assert_eq!(plain.get("/api/admin/directory-check").await.status(), StatusCode::FORBIDDEN);

    // Deny the service account the write of lockoutTime on this one employee.
    let sid = dc.read_sid(&format!("CN={},CN=Users,{}", dc.service_account, dc.base_dn)).await;
    let deny = format!("(OD;;WP;28630ebf-41d5-11d1-a9c1-0000f80367c1;;{sid})");
    dc.add_ace(&employee.dn, &deny);
    let report: Value = admin.get("/api/admin/directory-check").await.json().await.unwrap();
    let failed: Vec<(String, String)> = outcomes(&report).into_iter().filter(|(_, o)| o == "fail").collect();
    assert_eq!(failed, [("Write lockoutTime".to_string(), "fail".to_string())], "{report}");
    let fix =
        report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "Write lockoutTime").unwrap()["fix"].clone();
    assert!(fix.as_str().unwrap().contains("lockoutTime"), "{fix}");

    // The command line says the same, and fails.
    let binary = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("latchkey-server");
    let config = &app.state.config;
    let directory = config.directory.as_ref().unwrap();
    let out = std::process::Command::new(binary)
        .arg("doctor")
        .env("LATCHKEY_DATABASE_URL", &config.database_url)
        .env("LATCHKEY_SECRET_KEY_FILE", &config.secret_key_file)
        .env("LATCHKEY_EMPLOYEE_GROUP", &group)
        .env("LATCHKEY_ADMIN_GROUP", &dc.admin_group)
        .env("LATCHKEY_DIRECTORY__URL", &directory.url)
        .env("LATCHKEY_DIRECTORY__CA_FILE", directory.ca_file.as_ref().unwrap())
        .env("LATCHKEY_DIRECTORY__SERVICE_ACCOUNT", &directory.service_account)
        .env("LATCHKEY_DIRECTORY__SERVICE_PASSWORD", &directory.service_password)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("FAIL Write lockoutTime: missing on"), "{stdout}");
    assert!(stdout.contains("PASS Reset Password: held on"), "{stdout}");
}
