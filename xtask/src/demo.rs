//! `cargo xtask demo`: Latchkey against a throwaway local domain, with sample users.

use std::process::Command;

use crate::samba::{Dc, ADMIN_GROUP, BASE_DN, LDAPS_URL, REALM, SERVICE_ACCOUNT};
use crate::{cmd, paths, spa, tools, Result};

/// Sample users: (logon name, display name, password, what is special about them).
const USERS: &[(&str, &str, &str, &str)] = &[
    ("alice", "Alice Example", "Harbor-Lights-42", "an ordinary user"),
    ("bob", "Bob Example", "Quiet-Meadow-17", "must change the password at next logon"),
    ("carol", "Carol Example", "Silver-Canyon-88", "may not change the password"),
    ("dave", "Dave Example", "Granite-Ridge-63", "an administrator; enrols an authenticator app first"),
];

/// The demo's employees (imported by the administration's sync) and its administrators.
const EMPLOYEE_GROUP: &str = "Latchkey Employees";

pub fn run() -> Result {
    tools::ensure_all()?;
    spa::build()?;
    cmd::run(&mut server_build())?;
    let dc = Dc::start()?;
    for (name, display, password, _) in USERS {
        let (given, surname) = display.split_once(' ').unwrap_or((display, ""));
        let (given, surname) = (format!("--given-name={given}"), format!("--surname={surname}"));
        let mail = format!("--mail-address={name}@example.test");
        let mut args = vec!["user", "create", name, password, &given, &surname, &mail];
        if *name == "bob" {
            args.push("--must-change-at-next-login");
        }
        dc.samba_tool(&args)?;
    }
    dc.samba_tool(&["group", "add", EMPLOYEE_GROUP])?;
    dc.samba_tool(&["group", "addmembers", EMPLOYEE_GROUP, "alice,bob,carol"])?;
    dc.samba_tool(&["group", "addmembers", ADMIN_GROUP, "dave"])?;
    // "Cannot change password" for carol: deny ACEs for SELF and Everyone.
    dc.samba_tool(&[
        "dsacl",
        "set",
        &format!("--objectdn=CN=Carol Example,CN=Users,{BASE_DN}"),
        "--sddl=(OD;;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;;PS)(OD;;CR;ab721a53-1e2f-11d0-9819-00aa0040529b;;WD)",
    ])?;

    let data = dc.dir.join("latchkey");
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    // Mail goes to a local SMTP server (STARTTLS on the demo domain's certificate) that keeps
    // every message as a file.
    let maildir = data.join("mail");
    let _smtp = KillOnDrop(
        Command::new("/usr/bin/python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-u",
                "-l",
                &format!("127.0.0.1:{SMTP_PORT}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .arg("--tlscert")
            .arg(dc.dir.join("tls/cert.pem"))
            .arg("--tlskey")
            .arg(dc.dir.join("tls/key.pem"))
            .spawn()
            .map_err(|e| format!("cannot start the demo's SMTP server (python3-aiosmtpd): {e}"))?,
    );
    let server = |args: &[&str]| {
        let mut c = Command::new(paths::target().join("release/latchkey-server"));
        c.args(args)
            .env("LATCHKEY_LISTEN", "127.0.0.1:8080")
            .env("LATCHKEY_SPA_DIR", paths::dist())
            .env("LATCHKEY_DATABASE_URL", format!("sqlite://{}", data.join("latchkey.sqlite").display()))
            .env("LATCHKEY_KEY_IDENTITY_FILE", data.join("key-identity"))
            .env("LATCHKEY_SECRET_KEY_FILE", data.join("secret.key"))
            .env("LATCHKEY_DIRECTORY__URL", LDAPS_URL)
            .env("LATCHKEY_DIRECTORY__CA_FILE", dc.ca_file())
            .env("LATCHKEY_DIRECTORY__SERVICE_ACCOUNT", format!("{SERVICE_ACCOUNT}@{REALM}"))
            .env("LATCHKEY_DIRECTORY__SERVICE_PASSWORD", &dc.service_password)
            .env("LATCHKEY_ADMIN_GROUP", format!("CN={ADMIN_GROUP},CN=Users,{BASE_DN}"))
            .env("LATCHKEY_EMPLOYEE_GROUP", format!("CN={EMPLOYEE_GROUP},CN=Users,{BASE_DN}"))
            .env("LATCHKEY_SECOND_FACTOR", "key_or_totp")
            .env("LATCHKEY_ORGANISATION_NAME", "Example Ltd (demo)")
            .env("LATCHKEY_HELP_CONTACT", "the demo's help desk (dave)")
            .env("LATCHKEY_MAIL__HOST", "localhost")
            .env("LATCHKEY_MAIL__PORT", SMTP_PORT.to_string())
            .env("LATCHKEY_MAIL__CA_FILE", dc.ca_file())
            .env("LATCHKEY_MAIL__FROM", "Latchkey demo <latchkey@example.test>")
            .env("RUST_LOG", "warn");
        c
    };

    // The demo's virtual key, made as a vendor would (serial, public key, activation code),
    // registered and assigned to alice as an administrator would, with her domain account
    // queued to it without a password.
    let image = data.join("virtual-key");
    let made = cmd::output(Command::new(paths::target().join("release/keysim")).arg("-f").arg(&image).args([
        "create",
        "--serial",
        VIRTUAL_KEY,
    ]))?;
    let field = |name: &str| {
        made.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(str::to_string)
            .ok_or_else(|| format!("keysim did not print {name}"))
    };
    let (public_key, code) = (field("public_key")?, field("activation_code")?);
    cmd::output(&mut server(&[
        "key",
        "register",
        "--serial",
        VIRTUAL_KEY,
        "--public-key",
        &public_key,
        "--activation-code",
        &code,
    ]))?;
    cmd::output(&mut server(&["key", "assign", "--serial", VIRTUAL_KEY, "--user", "alice"]))?;
    cmd::output(&mut server(&["account", "add", "--user", "alice", "--domain", DOMAIN, "--name", "EXAMPLE domain"]))?;

    let url = "http://127.0.0.1:8080";
    println!("\nLatchkey demo: {url}\nDomain {REALM}, sample users:");
    for (name, _, password, what) in USERS {
        println!("  {name:<6} password {password:<18} ({what})");
    }
    println!("Virtual key {VIRTUAL_KEY} (in the page: \"Use the demo's virtual key\") is assigned to alice;");
    println!("  its activation code is {code}. Activate it, then store alice's password on it.");
    println!("Changes ask for a second factor (a code from an authenticator app, or a press on the key).");
    println!("Mail (notices of changes) lands as files in {}/new.", maildir.display());
    println!("Stop with Ctrl-C; the domain, the database and the key are thrown away.\n");
    let mut serve = server(&["serve"]);
    serve.env("LATCHKEY_DEMO_VIRTUAL_KEY_FILE", &image).env("RUST_LOG", "info");
    let result = cmd::run(&mut serve);
    drop(dc);
    result
}

const VIRTUAL_KEY: &str = "LK-DEMO-0001";
const SMTP_PORT: u16 = 2525;

/// A helper process that ends with the demo, however the demo ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
/// The demo domain's NetBIOS name, typed before the logon name.
const DOMAIN: &str = "EXAMPLE";

fn server_build() -> Command {
    let mut c = Command::new("cargo");
    c.args(["build", "--release", "--locked", "-p", "latchkey-server", "-p", "keysim"])
        .current_dir(paths::root())
        .env("CARGO_TARGET_DIR", paths::target());
    c
}
