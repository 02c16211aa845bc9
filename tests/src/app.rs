//! The real server on a random port with a fresh SQLite database, and an HTTP client that
//! keeps cookies and the CSRF token like the SPA does.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use latchkey_api::recovery::RecoveryFactors;
use latchkey_api::step_up::SecondFactorMode;
use latchkey_api::{SessionView, CSRF_HEADER};
use latchkey_server::config::LimitsConfig;
use latchkey_server::directory::DirectoryConfig;
use latchkey_server::mail::MailConfig;
use latchkey_server::{AppState, Config};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::TestDc;

pub struct AppOptions {
    pub directory_url: Option<String>,
    pub starttls: bool,
    /// Trust only the system's roots instead of the test domain's CA.
    pub system_roots_only: bool,
    pub limits: LimitsConfig,
    /// DEMO ONLY: a virtual key image the page may load.
    pub demo_virtual_key_file: Option<PathBuf>,
    /// The group employees are imported from (the administrators' group when `None`).
    pub employee_group: Option<String>,
    /// A fresh database on the PostgreSQL that `cargo xtask test` starts, instead of SQLite.
    pub postgres: bool,
    /// This database instead (another replica's).
    pub database_url: Option<String>,
    /// The scheduled employee sync (off unless set).
    pub sync_interval_secs: Option<u64>,
    /// The server secret's file (a replica shares another's); a fresh one when `None`.
    pub secret_key_file: Option<PathBuf>,
    pub key_sign_in_grants_admin: bool,
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<String>,
    /// The administrators' group (the test domain's `Latchkey Admins` when `None`).
    pub admin_group: Option<String>,
    /// What a password write asks for first.
    pub second_factor: SecondFactorMode,
    pub allow_enrolment_at_change: bool,
    /// Mail settings; the portal's own address becomes `public_url` so messages link to it.
    pub mail: Option<MailConfig>,
    /// Recovery without the key (off by default, as in the configuration).
    pub recovery_without_key: bool,
    pub recovery_factors: RecoveryFactors,
    pub review_recoveries: bool,
    /// The built app served (`LATCHKEY_TEST_DIST` when `None`): a copy a test may change.
    pub spa_dir: Option<PathBuf>,
    /// Listen here (a restarted server on the address it had) instead of a random port.
    pub listen: Option<SocketAddr>,
}

impl Default for AppOptions {
    fn default() -> Self {
        // Generous limits: tests of other rules must not trip them.
        AppOptions {
            directory_url: None,
            starttls: false,
            system_roots_only: false,
            limits: LimitsConfig { per_account: 50, per_address: 500, window_secs: 60, operations_per_account: 500 },
            demo_virtual_key_file: None,
            employee_group: None,
            // The test command runs the store-backed suites a second time on PostgreSQL.
            postgres: std::env::var("LATCHKEY_TEST_STORE").is_ok_and(|s| s == "postgres"),
            database_url: None,
            sync_interval_secs: None,
            secret_key_file: None,
            key_sign_in_grants_admin: false,
            trusted_proxies: Vec::new(),
            admin_group: None,
            second_factor: SecondFactorMode::Off,
            allow_enrolment_at_change: true,
            mail: None,
            recovery_without_key: false,
            recovery_factors: RecoveryFactors::default(),
            review_recoveries: false,
            spa_dir: None,
            listen: None,
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub url: String,
    pub client: reqwest::Client,
    pub csrf: Option<String>,
    pub state: AppState,
    /// The database's folder, shared by every client of this server.
    data: Arc<tempfile::TempDir>,
    /// Ends `serve`, which closes the listener (see `stop`).
    stop: Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>>,
    served: Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

/// The built SPA when `cargo xtask test` built one, else an empty folder.
pub fn spa_dir() -> PathBuf {
    std::env::var_os("LATCHKEY_TEST_DIST").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("dist"))
}

pub async fn spawn_app(dc: &TestDc, options: AppOptions) -> TestApp {
    crate::server_log::install();
    let data = tempfile::tempdir().expect("tempdir");
    let listen = options.listen.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
    let listener = tokio::net::TcpListener::bind(listen).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = Config {
        listen: addr,
        public_url: options.mail.is_some().then(|| format!("http://{addr}/")),
        spa_dir: options.spa_dir.unwrap_or_else(spa_dir),
        database_url: if let Some(url) = options.database_url.clone() {
            url
        } else if options.postgres {
            fresh_postgres_database().await
        } else {
            format!("sqlite://{}", data.path().join("latchkey.sqlite").display())
        },
        session_ttl_secs: 600,
        password: latchkey_server::config::PasswordConfig {
            mode: latchkey_policy::Mode::ActiveDirectory,
            blocklist_file: None,
        },
        limits: options.limits,
        directory: Some(DirectoryConfig {
            url: options.directory_url.unwrap_or_else(|| dc.url.clone()),
            ca_file: (!options.system_roots_only).then(|| dc.ca_file.clone()),
            starttls: options.starttls,
            tls_insecure_skip_verify: false,
            base_dn: None,
            service_account: format!("{}@{}", dc.service_account, dc.realm()),
            service_password: dc.service_password.clone(),
            timeout_secs: 5,
            service_connections: 4,
            allow_plaintext_ldap: false,
        }),
        key_identity_file: Some(data.path().join("key-identity")),
        demo_virtual_key_file: options.demo_virtual_key_file,
        admin_group: Some(options.admin_group.unwrap_or_else(|| dc.admin_group.clone())),
        employee_group: options.employee_group,
        sync_interval_secs: options.sync_interval_secs,
        secret_key_file: options.secret_key_file.unwrap_or_else(|| data.path().join("secret.key")),
        admins_may_manage_admins: false,
        key_sign_in_grants_admin: options.key_sign_in_grants_admin,
        trusted_proxies: options.trusted_proxies,
        forwarded_header: Default::default(),
        second_factor: options.second_factor,
        allow_enrolment_at_change: options.allow_enrolment_at_change,
        organisation_name: "Example Test Ltd".into(),
        help_contact: "the help desk on 0100".into(),
        mail: options.mail,
        recovery_with_key: true,
        recovery_without_key: options.recovery_without_key,
        report_lost_key: true,
        recovery_factors: options.recovery_factors,
        recovery_mail_attribute: "otherMailbox".into(),
        review_recoveries: options.review_recoveries,
        key_lease_secs: 30,
        database_max_connections: 8,
    };
    let state = AppState::new(config).await.expect("app state");
    let served = state.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        let _ = latchkey_server::serve(listener, served, async move {
            let _ = stopped.await;
        })
        .await;
    });
    // The first answer comes once `serve` did what it does at start (the bootstrap offer).
    let client = new_client();
    for _ in 0..100 {
        if client.get(format!("http://{addr}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    TestApp {
        addr,
        url: format!("http://{addr}"),
        client: new_client(),
        csrf: None,
        state,
        data: Arc::new(data),
        stop: Arc::new(std::sync::Mutex::new(Some(stop))),
        served: Arc::new(tokio::sync::Mutex::new(Some(served))),
    }
}

/// The PostgreSQL the test command started (`LATCHKEY_TEST_PG_URL`).
pub fn postgres_url() -> String {
    std::env::var("LATCHKEY_TEST_PG_URL").expect("LATCHKEY_TEST_PG_URL is unset: run the tests with `cargo xtask test`")
}

/// A new, empty database on that PostgreSQL; its URL.
pub async fn fresh_postgres_database() -> String {
    use sqlx::Connection;
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let admin = postgres_url();
    let name = format!("t{}_{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
    let _ = conn.close().await;
    match admin.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("unexpected PostgreSQL URL {admin}"),
    }
}

impl TestApp {
    /// Makes `user` one of the portal's employees (as a sync of their group would), by
    /// objectGUID; the employee's id.
    pub async fn employ(&self, user: &crate::TestUser) -> i64 {
        let found =
            self.state.directory().expect("directory").find_user(&user.sam).await.expect("lookup").expect("user");
        let employee = latchkey_server::store::NewEmployee {
            object_guid: &found.object_guid,
            username: &user.sam,
            display_name: &user.display_name,
        };
        self.state.store.upsert_employee(&employee, 0).await.expect("employee")
    }

    /// The SQLite database file (tests scan it, or tamper with it).
    pub fn database_path(&self) -> PathBuf {
        self.data.path().join("latchkey.sqlite")
    }
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().expect("client")
}

impl TestApp {
    pub async fn post(&self, path: &str, body: Value) -> Response {
        let mut request = self.client.post(format!("{}{path}", self.url)).json(&body);
        if let Some(token) = &self.csrf {
            request = request.header(CSRF_HEADER, token);
        }
        request.send().await.expect("request")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(format!("{}{path}", self.url)).send().await.expect("request")
    }

    /// Signs in and keeps the session's CSRF token.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> Response {
        let response = self.post("/api/session", json!({ "username": username, "password": password })).await;
        if response.status() == StatusCode::OK {
            let text = response.text().await.expect("body");
            let view: SessionView = serde_json::from_str(&text).expect("session view");
            self.csrf = Some(view.csrf_token.clone());
            // Hand the body back to the caller.
            return http_response(200, text);
        }
        response
    }

    pub async fn change(&self, current: &str, new: &str) -> Response {
        self.post("/api/password/change", json!({ "current": current, "new": new })).await
    }

    /// A second, independent browser against the same server.
    pub fn another_client(&self) -> TestApp {
        TestApp {
            addr: self.addr,
            url: self.url.clone(),
            client: new_client(),
            csrf: None,
            state: self.state.clone(),
            data: self.data.clone(),
            stop: self.stop.clone(),
            served: self.served.clone(),
        }
    }

    /// Stops the server as an outage would: it stops accepting, closes its connections, and its
    /// port is free again once this returns.
    pub async fn stop(&self) {
        if let Some(stop) = self.stop.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.lock().await.take() {
            let _ = served.await;
        }
    }
}

fn http_response(status: u16, body: String) -> Response {
    let response = http::Response::builder().status(status).body(body).expect("response");
    Response::from(response)
}

/// The error code of an API error response.
pub async fn error_code(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let body: Value = response.json().await.expect("JSON error body");
    (status, body)
}
