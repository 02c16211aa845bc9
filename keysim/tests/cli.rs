//! The `keysim` binary: create a key, run it over stdin/stdout as a server would, show it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use latchkey_protocol::crypto::KeyPair;
use latchkey_protocol::host::{HostEvent, HostSession};
use latchkey_protocol::link::{Chunker, Reassembler};
use latchkey_protocol::message::{Account, Command as KeyCommand, LoginType, Reply, Request, Secret};

const BIN: &str = env!("CARGO_BIN_EXE_keysim");

fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines().find_map(|l| l.strip_prefix(&format!("{name}="))).unwrap()
}

#[test]
fn create_run_and_show_never_reveal_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key.flash");
    let created = Command::new(BIN).arg("-f").arg(&file).args(["create", "--serial", "LK-CLI-1"]).output().unwrap();
    assert!(created.status.success());
    let created = String::from_utf8(created.stdout).unwrap();
    let public: [u8; 32] = hex::decode(field(&created, "public_key")).unwrap().try_into().unwrap();
    let code = field(&created, "activation_code").to_string();
    assert_eq!(code.len(), 8);
    let again = Command::new(BIN).arg("-f").arg(&file).args(["create", "--serial", "LK-CLI-1"]).output().unwrap();
    assert!(!again.status.success(), "a key is made once");

    let mut run =
        Command::new(BIN).arg("-f").arg(&file).arg("run").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = run.stdin.take().unwrap();
    let mut stdout = BufReader::new(run.stdout.take().unwrap());
    let mut chunker = Chunker::default();
    let mut exchange = |frame: &[u8]| -> Vec<u8> {
        for chunk in chunker.split(frame, 20).unwrap() {
            writeln!(stdin, "w {}", hex::encode(&chunk)).unwrap();
        }
        let mut reassembler = Reassembler::default();
        loop {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            let chunk = hex::decode(line.trim().strip_prefix("n ").unwrap()).unwrap();
            if let Some(frame) = reassembler.push(&chunk, 0).unwrap() {
                return frame;
            }
        }
    };
    let server = KeyPair::from_seed([9; 32]);
    let (mut host, first) = HostSession::start(&server, &public, "LK-CLI-1", [1; 32]).unwrap();
    assert!(matches!(host.on_frame(&exchange(&first)).unwrap(), HostEvent::Established(_)));
    let account = Account {
        id: 1,
        name: "Corporate".into(),
        login_type: LoginType::DomainAccount,
        domain: "EXAMPLE".into(),
        login: "jdoe".into(),
        directory_managed: true,
    };
    let request = Request {
        commands: vec![
            KeyCommand::Activate { code },
            KeyCommand::PutAccount { account },
            KeyCommand::SetPassword { id: 1, password: Secret::new("Very-Secret-Pass-42") },
        ],
    };
    let reply = exchange(&host.request(&request).unwrap());
    let HostEvent::Response(response) = host.on_frame(&reply).unwrap() else { panic!("no response") };
    assert_eq!(response.results, vec![Ok(Reply::Done), Ok(Reply::Done), Ok(Reply::Done)]);
    run.kill().unwrap();
    let _ = run.wait();

    let shown = Command::new(BIN).arg("-f").arg(&file).arg("show").output().unwrap();
    let shown = String::from_utf8(shown.stdout).unwrap();
    assert!(shown.contains("status=Active"), "{shown}");
    assert!(shown.contains("login=\"jdoe\"") && shown.contains("password=true"), "{shown}");
    assert!(!shown.contains("Very-Secret-Pass-42"));
    let flash = std::fs::read(&file).unwrap();
    assert!(!flash.windows(8).any(|w| w == b"Very-Sec"), "the flash is encrypted at rest");
}
