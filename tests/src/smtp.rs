//! A real SMTP server on loopback for the mail tests: Debian's aiosmtpd, STARTTLS required, on
//! the test domain's certificate (it names `localhost`), storing what it receives in a Maildir
//! the tests read.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use latchkey_server::mail::{MailConfig, MailTls};

use crate::TestDc;

pub struct TestSmtp {
    pub port: u16,
    maildir: tempfile::TempDir,
    child: Option<Child>,
    cert: PathBuf,
    key: PathBuf,
    /// TLS from the first byte (SMTPS) instead of STARTTLS.
    implicit: bool,
}

/// One message as it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    pub to: String,
    pub subject: String,
    /// The plain-text part, decoded.
    pub text: String,
    /// The HTML part, decoded.
    pub html: String,
    /// The whole message as it came over the wire.
    pub raw: Vec<u8>,
}

impl TestSmtp {
    /// A server on a free port, started.
    pub fn start(dc: &TestDc) -> TestSmtp {
        let mut smtp = TestSmtp::stopped(dc);
        smtp.resume();
        smtp
    }

    /// A server that speaks TLS from the first byte (SMTPS), started.
    pub fn start_implicit(dc: &TestDc) -> TestSmtp {
        let mut smtp = TestSmtp::stopped(dc);
        smtp.implicit = true;
        smtp.resume();
        smtp
    }

    /// A port nothing listens on yet (`resume` starts the server there).
    pub fn stopped(dc: &TestDc) -> TestSmtp {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        TestSmtp {
            port,
            maildir: tempfile::tempdir().expect("maildir"),
            child: None,
            cert: dc.dir.join("tls/cert.pem"),
            key: dc.dir.join("tls/key.pem"),
            implicit: false,
        }
    }

    pub fn resume(&mut self) {
        // Debian's Python: aiosmtpd is installed for it, not for any other Python on PATH.
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-u", "-l", &format!("127.0.0.1:{}", self.port)])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(self.maildir.path().join("box"))
            .arg(if self.implicit { "--smtpscert" } else { "--tlscert" })
            .arg(&self.cert)
            .arg(if self.implicit { "--smtpskey" } else { "--tlskey" })
            .arg(&self.key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd (apt-get install python3-aiosmtpd)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the SMTP server did not start on port {}", self.port);
    }

    /// Settings for the server under test: STARTTLS verified against the test CA, quick retries.
    pub fn config(&self, dc: &TestDc) -> MailConfig {
        MailConfig {
            host: "localhost".into(),
            port: Some(self.port),
            tls: if self.implicit { MailTls::Implicit } else { MailTls::Starttls },
            ca_file: Some(dc.ca_file.clone()),
            tls_insecure_skip_verify: false,
            username: None,
            password: None,
            from: "Latchkey <latchkey@example.test>".into(),
            reminder_days: 7,
            reminder_interval_secs: 0,
            retry_secs: 1,
            max_attempts: 8,
            timeout_secs: 5,
        }
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<Received> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = ["new", "cur"]
            .iter()
            .flat_map(|d| std::fs::read_dir(self.maildir.path().join("box").join(d)).into_iter().flatten())
            .flatten()
            .map(|e| (e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH), e.path()))
            .collect();
        files.sort();
        files.into_iter().map(|(_, path)| parse(std::fs::read(path).expect("message"))).collect()
    }

    /// Waits until at least `count` messages arrived (at most 20 s); all of them.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..200 {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected {count} messages, got {:?}", self.messages().iter().map(|m| &m.subject).collect::<Vec<_>>());
    }
}

fn parse(raw: Vec<u8>) -> Received {
    let mail = mailparse::parse_mail(&raw).expect("a message");
    let header =
        |name: &str| mail.headers.iter().find(|h| h.get_key().eq_ignore_ascii_case(name)).map(|h| h.get_value());
    let part = |mime: &str| {
        mail.subparts.iter().find(|p| p.ctype.mimetype == mime).and_then(|p| p.get_body().ok()).unwrap_or_default()
    };
    Received {
        to: header("To").unwrap_or_default(),
        subject: header("Subject").unwrap_or_default(),
        text: part("text/plain"),
        html: part("text/html"),
        raw: raw.clone(),
    }
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
