//! The key under test as a process: `make` manufactures a key into `$LATCHKEY_KEY_DIR` and
//! prints `serial=`, `public_key=` and `activation_code=` lines; `run` is the key, reading
//! `w <hex chunk>` (a write), `d` (the link dropped) and `b` (read the beacon) on stdin and
//! printing `n <hex chunk>` (a notification) and `b <hex>` on stdout, as `keysim run` does.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

/// How long a key may take to answer a frame (presence included: the bridge presses).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

pub struct KeyCommands {
    pub make: String,
    pub run: String,
}

/// What manufacture printed: the vendor's manifest line for this key.
pub struct Made {
    pub serial: String,
    pub public_key: [u8; 32],
    pub activation_code: String,
}

/// A fresh key in a folder of its own.
pub struct KeyUnderTest {
    dir: tempfile::TempDir,
    pub made: Made,
    commands: KeyCommandsOwned,
    process: Option<Running>,
}

struct KeyCommandsOwned {
    run: String,
}

struct Running {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl KeyUnderTest {
    pub fn manufacture(commands: &KeyCommands) -> Result<KeyUnderTest, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let output = shell(&commands.make, &dir.path().to_path_buf())
            .stdout(Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run the make command: {e}"))?;
        if !output.status.success() {
            return Err(format!("the make command failed: {}", String::from_utf8_lossy(&output.stderr)));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")))
                .map(|v| v.trim().to_string())
                .ok_or_else(|| format!("the make command printed no {name}="))
        };
        let public_key = hex::decode(field("public_key")?)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or("public_key= is not 32 bytes of hex")?;
        let made = Made { serial: field("serial")?, public_key, activation_code: field("activation_code")? };
        Ok(KeyUnderTest { dir, made, commands: KeyCommandsOwned { run: commands.run.clone() }, process: None })
    }

    /// Starts the key (again, after `power_off`): its storage is what it persisted.
    pub fn power_on(&mut self) -> Result<(), String> {
        let mut child = shell(&self.commands.run, &self.dir.path().to_path_buf())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run the key command: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        self.process = Some(Running { child, stdin, lines });
        Ok(())
    }

    pub fn power_off(&mut self) {
        if let Some(mut running) = self.process.take() {
            drop(running.stdin);
            let _ = running.child.kill();
            let _ = running.child.wait();
        }
    }

    fn running(&mut self) -> Result<&mut Running, String> {
        if self.process.is_none() {
            self.power_on()?;
        }
        self.process.as_mut().ok_or_else(|| "the key is not running".into())
    }

    pub fn write(&mut self, chunk: &[u8]) -> Result<(), String> {
        let running = self.running()?;
        writeln!(running.stdin, "w {}", hex::encode(chunk)).map_err(|e| format!("the key is gone: {e}"))?;
        running.stdin.flush().map_err(|e| e.to_string())
    }

    /// The link drops (the key must end its session).
    pub fn disconnect(&mut self) -> Result<(), String> {
        let running = self.running()?;
        writeln!(running.stdin, "d").and_then(|_| running.stdin.flush()).map_err(|e| e.to_string())
    }

    pub fn beacon(&mut self) -> Result<Vec<u8>, String> {
        let running = self.running()?;
        writeln!(running.stdin, "b").and_then(|_| running.stdin.flush()).map_err(|e| e.to_string())?;
        loop {
            let line = next_line(running, ANSWER_TIMEOUT)?.ok_or("no beacon")?;
            if let Some(data) = line.strip_prefix("b ") {
                return hex::decode(data.trim()).map_err(|e| e.to_string());
            }
        }
    }

    /// The next notification, or `None` when the key stays silent for `wait`.
    pub fn notification(&mut self, wait: Duration) -> Result<Option<Vec<u8>>, String> {
        let running = self.running()?;
        loop {
            let Some(line) = next_line(running, wait)? else { return Ok(None) };
            if let Some(data) = line.strip_prefix("n ") {
                return hex::decode(data.trim()).map(Some).map_err(|e| e.to_string());
            }
        }
    }

    pub fn answer_timeout() -> Duration {
        ANSWER_TIMEOUT
    }
}

impl Drop for KeyUnderTest {
    fn drop(&mut self) {
        self.power_off();
    }
}

fn next_line(running: &mut Running, wait: Duration) -> Result<Option<String>, String> {
    match running.lines.recv_timeout(wait) {
        Ok(line) => Ok(Some(line)),
        Err(RecvTimeoutError::Timeout) => Ok(None),
        Err(RecvTimeoutError::Disconnected) => Err("the key process ended".into()),
    }
}

fn shell(command: &str, dir: &PathBuf) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(command).env("LATCHKEY_KEY_DIR", dir);
    c
}
