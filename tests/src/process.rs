//! The real `latchkey-server` binary as its own process (a replica, a server to kill, a server
//! whose memory is measured), on a fresh port, against a database and key identity it is given.
//! It can be killed (`kill -9`, no chance to tidy up) and started again on the same port and
//! database, as a crashed server restarted by its supervisor.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use crate::TestDc;

pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    /// How it was started, to start it again after a kill.
    command: Vec<(String, String)>,
    binary: PathBuf,
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
        let addr = free_address();
        let mut command: Vec<(String, String)> = [
            ("LATCHKEY_LISTEN", addr.to_string()),
            ("LATCHKEY_DATABASE_URL", database_url.to_string()),
            ("LATCHKEY_KEY_IDENTITY_FILE", identity.display().to_string()),
            ("LATCHKEY_SECRET_KEY_FILE", identity.with_file_name("secret.key").display().to_string()),
            ("LATCHKEY_SPA_DIR", crate::app::spa_dir().display().to_string()),
            ("LATCHKEY_LIMITS__PER_ACCOUNT", "100".to_string()),
            ("LATCHKEY_DIRECTORY__URL", dc.url.clone()),
            ("LATCHKEY_DIRECTORY__CA_FILE", dc.ca_file.display().to_string()),
            ("LATCHKEY_DIRECTORY__SERVICE_ACCOUNT", format!("{}@{}", dc.service_account, dc.realm())),
            ("LATCHKEY_DIRECTORY__SERVICE_PASSWORD", dc.service_password.clone()),
            ("RUST_LOG", "warn".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        command.extend(env.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let child = spawn(&binary, &command);
        let server = ServerProcess { child, addr, command, binary };
        server.wait_until_up().await;
        server
    }

    /// Kills the process with SIGKILL: nothing it holds (leases, open changes) is given back.
    pub fn kill9(&mut self) {
        self.stop();
    }

    /// Starts the server again, on the same port and database and with the same settings.
    pub async fn restart(&mut self) {
        self.stop();
        self.child = spawn(&self.binary, &self.command);
        self.wait_until_up().await;
    }

    /// Another process with this one's settings but its own port (another replica).
    pub async fn replica(&self) -> ServerProcess {
        let addr = free_address();
        let mut command = self.command.clone();
        for (k, v) in command.iter_mut() {
            if k == "LATCHKEY_LISTEN" {
                *v = addr.to_string();
            }
        }
        let child = spawn(&self.binary, &command);
        let server = ServerProcess { child, addr, command, binary: self.binary.clone() };
        server.wait_until_up().await;
        server
    }

    async fn wait_until_up(&self) {
        for _ in 0..200 {
            if reqwest::get(format!("{}/healthz", self.url())).await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server process at {} did not come up", self.addr);
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

/// A free port below the kernel's ephemeral range: a port the kernel handed out and took back
/// could go to another test's listener (a relay, say) before this server binds it, or while a
/// killed server waits to be restarted on it.
fn free_address() -> SocketAddr {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = (std::process::id() % 12_000) as u16;
    for _ in 0..12_000 {
        let port = 20_000 + (seed + NEXT.fetch_add(1, Ordering::SeqCst) % 12_000) % 12_000;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if std::net::TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
    panic!("no free port for a server process");
}

fn spawn(binary: &std::path::Path, command: &[(String, String)]) -> Child {
    Command::new(binary)
        .arg("serve")
        .envs(command.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .spawn()
        .expect("start latchkey-server")
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
