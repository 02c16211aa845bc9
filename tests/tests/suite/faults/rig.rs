//! One scenario's parts: the real server as its own process (on SQLite or its own PostgreSQL
//! database), relays the test owns in front of the DC and the database, a fresh user with a
//! key, and an in-process replica on the same database that provisions and reads the store.

use keysim::SimKey;
use latchkey_api::relay::{RelayEvent, RelayRequest};
use latchkey_api::{SessionView, CSRF_HEADER};
use latchkey_tests::held_page::{HeldPage, Pumped};
use latchkey_tests::keys::{new_key, password, provision};
use latchkey_tests::process::ServerProcess;
use latchkey_tests::tcp_relay::TcpRelay;
use latchkey_tests::{spawn_app, AppOptions, TestApp, TestDc, TestUser, UserOptions};

pub const ACCOUNT: u16 = 1;

/// How often a step of the setup (before any fault) is tried again when the DC, shared by every
/// scenario running, did not answer in time.
const SETUP_TRIES: usize = 2;

fn busy_dc(event: &Pumped) -> bool {
    matches!(event, Pumped::Event(RelayEvent::Refused { code, .. }) if code == "directory_unavailable")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub struct Rig {
    pub dc: TestDc,
    /// In process, on the same database: provisions, reads the journal and the audit.
    pub seed: TestApp,
    /// The replica's way to PostgreSQL, cut when the scenario ends: its pool lives on in tasks
    /// of its own and would keep connections to the shared server for the rest of the run.
    seed_relay: Option<TcpRelay>,
    pub server: ServerProcess,
    pub dc_relay: TcpRelay,
    /// In front of PostgreSQL (the server's only way to it); none on SQLite.
    pub pg_relay: Option<TcpRelay>,
    pub user: TestUser,
    pub key: SimKey,
    pub serial: String,
    pub code: String,
    pub browser: Browser,
    /// Whether the key's page sends the user's session (a reset ended it).
    pub page_signed_in: bool,
}

impl Rig {
    /// A server process, and a user whose key is provisioned (not yet activated).
    pub async fn new(engine: Engine, serial: &str) -> Rig {
        let dc = TestDc::from_env();
        let (mut database_url, mut seed_relay, mut pg_relay) = (None, None, None);
        if engine == Engine::Postgres {
            // postgres://user@host:port/db: the server and the in-process replica reach it
            // through relays of their own, the server's to strike at, the replica's to close.
            let url = latchkey_tests::app::fresh_postgres_database().await;
            let (scheme_user, rest) = url.split_once('@').expect("a PostgreSQL URL with a user");
            let (host_port, db) = rest.split_once('/').expect("a database name");
            let (seed, server) = (TcpRelay::start(host_port, true).await, TcpRelay::start(host_port, true).await);
            database_url = Some(format!("{scheme_user}@{}/{db}", server.addr));
            let seed_url = format!("{scheme_user}@{}/{db}", seed.addr);
            (seed_relay, pg_relay) = (Some((seed, seed_url)), Some(server));
        }
        let seed_url = seed_relay.as_ref().map(|(_, url)| url.clone());
        // The user is made on the DC while the replica starts.
        let (seed, user) = tokio::join!(
            spawn_app(&dc, AppOptions { database_url: seed_url, ..AppOptions::default() }),
            dc.create_user(UserOptions::default())
        );
        let seed_relay = seed_relay.map(|(relay, _)| relay);
        let database_url = database_url.unwrap_or_else(|| seed.state.config.database_url.clone());
        let dc_target = dc.url.trim_start_matches("ldaps://").to_string();
        let dc_target = if dc_target.contains(':') { dc_target } else { format!("{dc_target}:636") };
        let dc_relay = TcpRelay::start(&dc_target, false).await;
        let identity = seed.state.config.key_identity_file.clone().expect("an identity file");
        let env = [
            ("LATCHKEY_DIRECTORY__URL", format!("ldaps://{}", dc_relay.addr)),
            // A frozen DC is given up on soon, yet a DC busy with every scenario at once is not.
            ("LATCHKEY_DIRECTORY__TIMEOUT_SECS", "5".to_string()),
            ("LATCHKEY_LIMITS__PER_ADDRESS", "1000".to_string()),
            ("LATCHKEY_LIMITS__OPERATIONS_PER_ACCOUNT", "1000".to_string()),
            ("LATCHKEY_SYNC_INTERVAL_SECS", "0".to_string()),
            ("LATCHKEY_ADMIN_GROUP", dc.admin_group.clone()),
            // A killed server's key lease runs out soon, so the key's next connection is not
            // kept waiting long; the pool stays small, as many servers share one PostgreSQL.
            ("LATCHKEY_KEY_LEASE_SECS", "2".to_string()),
            ("LATCHKEY_DATABASE_MAX_CONNECTIONS", "3".to_string()),
            // Faults make every server log warnings by the dozen; errors are what tells.
            ("RUST_LOG", "error".to_string()),
        ];
        let server = ServerProcess::start(&dc, &database_url, &identity, &env).await;
        let (key, made) = new_key(serial);
        let code = provision(&seed, &user, &made).await;
        let browser = Browser::sign_in(&server.url(), &user.sam, &user.password).await;
        let serial = serial.to_string();
        Rig { dc, seed, seed_relay, server, dc_relay, pg_relay, user, key, serial, code, browser, page_signed_in: true }
    }

    /// Ends the scenario's in-process replica.
    pub async fn close(self) {
        self.seed.stop().await;
    }

    /// The relay in front of PostgreSQL.
    pub fn pg(&self) -> &TcpRelay {
        self.pg_relay.as_ref().expect("a PostgreSQL scenario")
    }

    pub async fn page(&self) -> HeldPage {
        HeldPage::open(self.server.addr, self.cookie()).await
    }

    fn cookie(&self) -> Option<&str> {
        self.page_signed_in.then_some(self.browser.cookie.as_str())
    }

    /// Activates the key through the server process.
    pub async fn activate(&mut self) {
        let mut page = self.page().await;
        let asked = page.connect(&mut self.key).await;
        assert!(matches!(asked, Pumped::Event(RelayEvent::NeedsActivation { .. })), "{asked:?}");
        let request = RelayRequest::Activate { code: self.code.clone() };
        let ready = page.send(&mut self.key, request).await;
        assert!(matches!(ready, Pumped::Event(RelayEvent::Ready { .. })), "{ready:?}");
        page.close(&mut self.key).await;
    }

    /// Activates the key and stores the user's password on it.
    pub async fn onboarded(&mut self) {
        self.activate().await;
        self.onboard().await;
    }

    /// Stores the user's password on the (active) key.
    pub async fn onboard(&mut self) {
        let mut page = self.ready_page().await;
        let request = RelayRequest::Onboard { account: ACCOUNT, password: password(&self.user.password) };
        let mut done = page.send(&mut self.key, request.clone()).await;
        // Setting up, before any fault: a DC busy with the other scenarios is asked again.
        for _ in 0..SETUP_TRIES {
            if !busy_dc(&done) {
                break;
            }
            done = page.send(&mut self.key, request.clone()).await;
        }
        assert!(matches!(done, Pumped::Event(RelayEvent::Done { .. })), "{done:?}");
        page.close(&mut self.key).await;
    }

    /// A page whose key is connected and ready.
    pub async fn ready_page(&mut self) -> HeldPage {
        let mut page = self.page().await;
        let ready = page.connect(&mut self.key).await;
        assert!(matches!(ready, Pumped::Event(RelayEvent::Ready { .. })), "{ready:?}");
        page
    }

    /// The key's next connection (through `server`, the rig's own when `None`): its notice.
    /// A session the killed process held keeps the key's lease until it runs out: the key is
    /// told it is busy meanwhile, and tries again, as the page would.
    pub async fn reconnect(&mut self, through: Option<std::net::SocketAddr>) -> Option<String> {
        let addr = through.unwrap_or(self.server.addr);
        for _ in 0..8 {
            let mut page = HeldPage::open(addr, self.cookie()).await;
            let mut event = page.connect(&mut self.key).await;
            if matches!(event, Pumped::Event(RelayEvent::NeedsActivation { .. })) {
                event = page.send(&mut self.key, RelayRequest::Activate { code: self.code.clone() }).await;
            }
            page.close(&mut self.key).await;
            match event {
                Pumped::Event(RelayEvent::Ready { notice, .. }) => return notice,
                Pumped::Event(RelayEvent::Failed { code, .. }) if code == "key_busy" => continue,
                other => panic!("the key's next connection: {other:?}"),
            }
        }
        panic!("the key stayed busy");
    }

    /// Sets the user's password as the DC's administrator would (a change made elsewhere).
    pub async fn set_password_elsewhere(&self, new: &str) {
        self.dc.set_password(&self.user.dn, new).await;
    }

    pub async fn key_id(&self) -> i64 {
        self.seed.state.store.key_by_serial(&self.serial).await.expect("store").expect("the key").id
    }
}

impl Drop for Rig {
    /// Also when a scenario panicked or ran out of time.
    fn drop(&mut self) {
        if let Some(relay) = &self.seed_relay {
            relay.cut();
        }
    }
}

/// A browser signed in to the server process: its cookie and CSRF token.
pub struct Browser {
    pub url: String,
    pub client: reqwest::Client,
    pub cookie: String,
    pub csrf: String,
}

impl Browser {
    pub async fn sign_in(url: &str, username: &str, password: &str) -> Browser {
        // A cookie store: the session may be renewed (an administrator's second factor).
        let client = reqwest::Client::builder().cookie_store(true).build().expect("client");
        let mut tries = 0;
        let response = loop {
            let response = client
                .post(format!("{url}/api/session"))
                .json(&serde_json::json!({ "username": username, "password": password }))
                .send()
                .await
                .expect("sign-in request");
            // Setting up, before any fault: a DC busy with the other scenarios is asked again.
            tries += 1;
            if response.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE || tries > SETUP_TRIES {
                break response;
            }
        };
        assert!(response.status().is_success(), "sign-in failed: {}", response.status());
        let cookie = response.headers()["set-cookie"].to_str().expect("cookie").split(';').next().unwrap_or_default();
        let cookie = cookie.to_string();
        let view: SessionView = response.json().await.expect("session view");
        Browser { url: url.to_string(), client, cookie, csrf: view.csrf_token }
    }

    /// A POST as the page makes it; the status and body, or `None` when no answer came.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> Option<(u16, serde_json::Value)> {
        let response = self
            .client
            .post(format!("{}{path}", self.url))
            .header(CSRF_HEADER, &self.csrf)
            .json(&body)
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.unwrap_or(serde_json::Value::Null)))
    }
}

/// An administrator of the server process, past the second factor.
pub async fn administrator(rig: &Rig) -> Browser {
    let admin = rig.dc.create_user(UserOptions::default()).await;
    rig.dc.add_to_group(&admin.dn, &rig.dc.admin_group).await;
    let browser = Browser::sign_in(&rig.server.url(), &admin.sam, &admin.password).await;
    let (_, enrolment) = browser.post("/api/admin/totp/enrol", serde_json::json!({})).await.expect("enrol");
    let secret = enrolment["secret_base32"].as_str().expect("a TOTP secret").to_string();
    let code = latchkey_tests::totp_code(&secret);
    let (status, _) = browser.post("/api/admin/totp/confirm", serde_json::json!({ "code": code })).await.expect("ok");
    assert_eq!(status, 200, "the administrator's factor");
    browser
}
