//! The published API contract against the running server: the document it serves is the one
//! checked in, and Schemathesis's generated requests (anonymous, as a signed-in employee, and
//! as an administrator past the second factor, each with the session's CSRF header) get no
//! 5xx and no answer outside the schema.

use std::path::PathBuf;
use std::process::Command;

use latchkey_api::{SessionView, CSRF_HEADER};
use latchkey_tests::{spawn_app, totp_code, AppOptions, TestDc, TestUser, UserOptions};
use serde_json::{json, Value};

/// A signed-in session as a client other than the browser carries it.
struct Credentials {
    cookie: String,
    csrf: String,
}

async fn sign_in(url: &str, user: &TestUser) -> Credentials {
    let response = reqwest::Client::new()
        .post(format!("{url}/api/session"))
        .json(&json!({ "username": user.sam, "password": user.password }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let view: SessionView = response.json().await.unwrap();
    Credentials { cookie, csrf: view.csrf_token }
}

async fn post(url: &str, who: &Credentials, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .header("cookie", &who.cookie)
        .header(CSRF_HEADER, &who.csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.unwrap_or(Value::Null)
}

/// What one Schemathesis run reported.
#[derive(Debug)]
struct Run {
    /// Test cases generated and sent.
    cases: u64,
    failures: Vec<String>,
    output: String,
}

/// Runs Schemathesis off the runtime's thread, which keeps serving the server under test.
/// `schema`: a file in place of the served document (with `only`, the one operation to test).
async fn schemathesis(
    url: &str,
    who: Option<&Credentials>,
    label: &'static str,
    schema: Option<(PathBuf, &'static str)>,
) -> Run {
    let (url, who) = (url.to_string(), who.map(|w| Credentials { cookie: w.cookie.clone(), csrf: w.csrf.clone() }));
    tokio::task::spawn_blocking(move || schemathesis_run(&url, who.as_ref(), label, schema)).await.unwrap()
}

fn schemathesis_run(url: &str, who: Option<&Credentials>, label: &str, schema: Option<(PathBuf, &str)>) -> Run {
    let st = std::env::var("LATCHKEY_TEST_SCHEMATHESIS")
        .expect("LATCHKEY_TEST_SCHEMATHESIS is unset: run the tests with `cargo xtask test`");
    let report = tempfile::tempdir().unwrap();
    let junit = report.path().join("junit.xml");
    let mut command = Command::new(st);
    // Its cache (which keeps response bodies) goes to the temporary folder, never the clone.
    command.current_dir(report.path()).arg("run");
    match &schema {
        None => command.arg(format!("{url}/api/openapi.json")),
        Some((file, only)) => command.arg(file).args(["--url", url, "--include-operation-id", only]),
    };
    command
        .arg("--checks")
        .arg("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance")
        .args(["--max-examples", "12", "--seed", "20261130", "--workers", "2", "--no-color"])
        .args(["--report", "junit", "--report-junit-path"])
        .arg(&junit)
        .args(["-H", &format!("Origin: {url}")])
        // Signing out would end the session the rest of the run uses.
        .args(["--exclude-operation-id", "delete_api_session"]);
    if let Some(who) = who {
        command.args(["-H", &format!("Cookie: {}", who.cookie)]).args(["-H", &format!("{CSRF_HEADER}: {}", who.csrf)]);
    }
    let out = command.output().expect("start schemathesis");
    let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // The summary's "Test cases:" line is followed by "  N generated, N passed" (or "..., N found").
    let lines: Vec<&str> = output.lines().collect();
    let tally = lines.iter().position(|l| l.trim() == "Test cases:").and_then(|i| lines.get(i + 1)).copied();
    let tally = tally.unwrap_or_default().trim().to_string();
    let cases = tally.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
    println!("contract, {label}: {tally} (schemathesis exit {})", out.status);
    // Schemathesis exits non-zero on any failed check; its report names each.
    let failures = if out.status.success() { Vec::new() } else { vec![output.clone()] };
    Run { cases, failures, output }
}

fn checked_in() -> PathBuf {
    // Read when run: a test binary built in another clone sharing the target folder is reused.
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")).join("../api/openapi.json")
}

#[tokio::test]
async fn the_server_keeps_its_published_contract() {
    let dc = TestDc::from_env();
    let app = spawn_app(&dc, AppOptions::default()).await;
    let served = reqwest::get(format!("{}/api/openapi.json", app.url)).await.unwrap().text().await.unwrap();
    let kept = std::fs::read_to_string(checked_in()).unwrap();
    assert_eq!(served.trim_end(), kept.trim_end(), "the served contract is the checked-in one");

    let employee = dc.create_user(UserOptions::default()).await;
    app.employ(&employee).await;
    let user = sign_in(&app.url, &employee).await;
    let admin_user = dc.create_user(UserOptions::default()).await;
    dc.add_to_group(&admin_user.dn, &dc.admin_group).await;
    let admin = sign_in(&app.url, &admin_user).await;
    let enrolment = post(&app.url, &admin, "/api/admin/totp/enrol", json!({})).await;
    let secret = enrolment["secret_base32"].as_str().unwrap().to_string();
    post(&app.url, &admin, "/api/admin/totp/confirm", json!({ "code": totp_code(&secret) })).await;

    let runs = [
        ("anonymous", schemathesis(&app.url, None, "anonymous", None).await),
        ("employee", schemathesis(&app.url, Some(&user), "employee", None).await),
        ("administrator", schemathesis(&app.url, Some(&admin), "administrator", None).await),
    ];
    let cases: u64 = runs.iter().map(|(_, r)| r.cases).sum();
    let failures: Vec<String> =
        runs.iter().flat_map(|(who, r)| r.failures.iter().map(move |f| format!("{who}: {f}"))).collect();
    println!("contract: {cases} generated cases, {} failures (5xx or outside the schema)", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Positive control: the runs really exercised the API, signed in where they claimed to be.
    assert!(runs.iter().all(|(_, r)| r.cases > 100), "{runs:?}");
    let session = reqwest::Client::new()
        .get(format!("{}/api/session", app.url))
        .header("cookie", &admin.cookie)
        .send()
        .await
        .unwrap();
    assert!(session.status().is_success(), "the administrator's session outlived the run");

    // Negative control: a contract that says a session's `username` is a number is caught.
    let mut wrong: Value = serde_json::from_str(&kept).unwrap();
    wrong["components"]["schemas"]["SessionView"]["properties"]["username"] = json!({ "type": "integer" });
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), wrong.to_string()).unwrap();
    let caught = schemathesis(
        &app.url,
        Some(&user),
        "a deliberately wrong contract",
        Some((file.path().into(), "get_api_session")),
    )
    .await;
    assert!(
        caught.failures.len() == 1 && caught.output.contains("Response violates schema"),
        "a response outside the schema must fail the run: {}",
        caught.output
    );
}
