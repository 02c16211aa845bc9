//! The real `latchkey-server` binary as its own process (a replica, a server to kill, a server
//! whose memory is measured), on a fresh port, against a database and key identity it is given.

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::time::Duration;

use crate::TestDc;

pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `latchkey-server serve` (built beside the test binary) with `env` on top of the
    /// test domain's settings, and waits until it answers.
    pub async fn start(
        dc: &TestDc,
        database_url: &str,
        identity: &std::path::Path,
        env: &[(&str, String)],
    ) -> ServerProcess {
        let exe = std::env::current_exe().expect("the test binary");
        let dir = exe.parent().and_then(|d| d.parent()).expect("the target folder");
        let binary =
            [dir.join("latchkey-server"), dir.parent().map(|p| p.join("debug/latchkey-server")).unwrap_or_default()]
                .into_iter()
                .find(|b| b.exists())
                .unwrap_or_else(|| {
                    panic!("latchkey-server is not built beside {} (the test command builds it)", exe.display())
                });
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("addr").port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new(binary)
            .arg("serve")
            .env("LATCHKEY_LISTEN", addr.to_string())
            .env("LATCHKEY_DATABASE_URL", database_url)
            .env("LATCHKEY_KEY_IDENTITY_FILE", identity)
            .env("LATCHKEY_SECRET_KEY_FILE", identity.with_file_name("secret.key"))
            .env("LATCHKEY_SPA_DIR", crate::app::spa_dir())
            .env("LATCHKEY_LIMITS__PER_ACCOUNT", "100")
            .env("LATCHKEY_DIRECTORY__URL", &dc.url)
            .env("LATCHKEY_DIRECTORY__CA_FILE", &dc.ca_file)
            .env("LATCHKEY_DIRECTORY__SERVICE_ACCOUNT", format!("{}@{}", dc.service_account, dc.realm()))
            .env("LATCHKEY_DIRECTORY__SERVICE_PASSWORD", &dc.service_password)
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .spawn()
            .expect("start latchkey-server");
        let server = ServerProcess { child, addr };
        for _ in 0..100 {
            if reqwest::get(format!("{}/healthz", server.url())).await.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server process at {addr} did not come up");
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its resident memory now, in bytes (Linux).
    pub fn resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        kib * 1024
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
