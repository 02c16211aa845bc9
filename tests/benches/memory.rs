//! The server's resident memory, as its own process: idle, with 1,000 open sessions, and with
//! 100 key sessions through the relay at once (each past its Noise handshake, waiting for the
//! user). Beside each, the growth over idle per session. Measurements, never pass/fail.

use latchkey_api::relay::RelayEvent;
use latchkey_server::store::NewEmployee;
use latchkey_tests::keys::{new_key, session_cookie_at, RelayPage};
use latchkey_tests::process::ServerProcess;
use latchkey_tests::{spawn_app, AppOptions, TestDc, UserOptions};

const SESSIONS: usize = 1_000;
const KEY_SESSIONS: usize = 100;

#[tokio::main]
async fn main() {
    let dc = TestDc::from_env();
    // An in-process replica provisions the keys in the database the measured process uses.
    let seed = spawn_app(&dc, AppOptions::default()).await;
    let url = seed.state.config.database_url.clone();
    let identity = seed.state.config.key_identity_file.clone().expect("identity");
    let many = [
        ("LATCHKEY_LIMITS__OPERATIONS_PER_ACCOUNT", "100000".to_string()),
        ("LATCHKEY_LIMITS__PER_ADDRESS", "100000".to_string()),
    ];
    let server = ServerProcess::start(&dc, &url, &identity, &many).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let idle = server.resident_bytes();
    let mb = |b: u64| b as f64 / 1_000_000.0;
    println!("memory idle: {:.1} MB", mb(idle));

    let user = dc.create_user(UserOptions::default()).await;
    let client = reqwest::Client::new();
    let body = serde_json::json!({ "username": user.sam, "password": user.password });
    let mut signed_in = 0;
    for _ in 0..SESSIONS {
        let response = client.post(format!("{}/api/session", server.url())).json(&body).send().await.expect("sign-in");
        signed_in += usize::from(response.status().is_success());
    }
    let sessions = server.resident_bytes();
    println!(
        "memory with {signed_in} open sessions: {:.1} MB ({:+.1} KB per session)",
        mb(sessions),
        (sessions as f64 - idle as f64) / 1000.0 / signed_in.max(1) as f64
    );

    let holder = dc.create_user(UserOptions::default()).await;
    let found = seed.state.directory().expect("directory").find_user(&holder.sam).await.expect("lookup").expect("user");
    let employee =
        NewEmployee { object_guid: &found.object_guid, username: &holder.sam, display_name: &holder.display_name };
    let store = &seed.state.store;
    let mut keys = Vec::new();
    for i in 0..KEY_SESSIONS {
        let (key, made) = new_key(&format!("LK-MEM-{i:03}"));
        store.register_key(&made.serial, &made.public_key, &made.activation_code, 0).await.expect("register");
        store.assign_key(&made.serial, &employee, 0).await.expect("assign");
        keys.push(key);
    }
    let cookie = session_cookie_at(&server.url(), &holder).await;
    let mut pages = Vec::new();
    for key in keys.iter_mut() {
        let mut page = RelayPage::open_at(server.addr, Some(&cookie)).await;
        let event = page.connect(key).await;
        assert!(matches!(event, RelayEvent::NeedsActivation { .. }), "{event:?}");
        pages.push(page);
    }
    let relay = server.resident_bytes();
    println!(
        "memory with {} key sessions: {:.1} MB ({:+.1} KB per key session)",
        pages.len(),
        mb(relay),
        (relay as f64 - sessions as f64) / 1000.0 / pages.len() as f64
    );
    for page in pages {
        page.close().await;
    }
}
