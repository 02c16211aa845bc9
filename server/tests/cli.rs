//! The admin CLI against a fresh database.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_latchkey-server");
const KEY: &str = "c8219d38b1661979fbbc36e92a2053cbd0057886524e51bfb2e660814921d37b";

fn run(db: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("LATCHKEY_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("LATCHKEY_SECRET_KEY_FILE", db.with_file_name("secret.key"))
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn keys_are_registered_once_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");

    let ok =
        run(&db, &["key", "register", "--serial", "LK-0001", "--public-key", KEY, "--activation-code", "12345678"]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));

    let again =
        run(&db, &["key", "register", "--serial", "LK-0001", "--public-key", KEY, "--activation-code", "12345678"]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("already registered"), "{}", text(&again.stderr));

    let bad = run(&db, &["key", "register", "--serial", "LK-0002", "--public-key", "c821zz", "--activation-code", "1"]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("64 hexadecimal digits"), "{}", text(&bad.stderr));

    let list = run(&db, &["key", "list"]);
    assert!(list.status.success());
    assert_eq!(text(&list.stdout), format!("LK-0001\tready\t-\t{KEY}\n"));

    // Assigning needs the directory (to link the employee by objectGUID).
    let assign = run(&db, &["key", "assign", "--serial", "LK-0001", "--user", "alice"]);
    assert!(!assign.status.success());
    assert!(text(&assign.stderr).contains("directory"), "{}", text(&assign.stderr));

    // An account goes only to an employee who has a key.
    let add = run(&db, &["account", "add", "--user", "nobody", "--domain", "EXAMPLE"]);
    assert!(!add.status.success());
    assert!(text(&add.stderr).contains("nobody has no key"), "{}", text(&add.stderr));
}
