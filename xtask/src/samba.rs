//! A throwaway Samba AD DC on 127.0.0.1 for tests and the demo.
//!
//! Provisioning takes several seconds, so it is done once into a template (cached outside the
//! clone, keyed on this file and Samba's version); each run copies the template and starts it.
//! The domain, EXAMPLE.TEST, gets its own CA and a certificate with a subjectAltName so that
//! LDAPS is verified like a production directory, a realistic password policy, and a
//! least-privilege service account for Latchkey.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{cmd, paths, Result};

pub const REALM: &str = "EXAMPLE.TEST";
pub const BASE_DN: &str = "DC=example,DC=test";
pub const LDAPS_URL: &str = "ldaps://127.0.0.1:636";
pub const SERVICE_ACCOUNT: &str = "latchkey-svc";
/// The group whose members administer Latchkey.
pub const ADMIN_GROUP: &str = "Latchkey Admins";

/// A running DC; stopped and removed on drop.
pub struct Dc {
    pub dir: PathBuf,
    pub admin_password: String,
    pub service_password: String,
    child: Child,
}

impl Dc {
    pub fn start() -> Result<Dc> {
        if std::net::TcpStream::connect("127.0.0.1:636").is_ok() {
            return Err("something already listens on 127.0.0.1:636 (another DC?): stop it first".into());
        }
        let template = ensure_template()?;
        let dir = std::env::temp_dir().join(format!("latchkey-dc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        cmd::run(Command::new("cp").arg("-a").arg(&template).arg(&dir))?;
        relocate(&template, &dir)?;
        let creds = read_credentials(&dir)?;
        let log = std::fs::File::create(dir.join("log").join("stdout.log"))
            .map_err(|e| format!("cannot create the DC log: {e}"))?;
        let child = Command::new("samba")
            // auth_audit at 3 logs every bind (right or wrong): tests count the binds a flow made.
            .args(["-F", "-M", "single", "--debug-stdout", "--debuglevel=1 auth_audit:3", "-s"])
            .arg(dir.join("etc/smb.conf"))
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start samba: {e}"))?;
        let dc = Dc { dir, admin_password: creds.0, service_password: creds.1, child };
        dc.wait_ready()?;
        eprintln!("Samba AD DC for {REALM} ready at {LDAPS_URL} ({})", dc.dir.display());
        Ok(dc)
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("tls/ca.pem")
    }

    /// Runs `samba-tool` against this DC's database.
    pub fn samba_tool(&self, args: &[&str]) -> Result {
        cmd::output(
            Command::new("samba-tool")
                .args(args)
                .arg("-s")
                .arg(self.dir.join("etc/smb.conf"))
                .arg("-H")
                .arg(self.dir.join("private/sam.ldb")),
        )
        .map(|_| ())
    }

    /// What the tests (and the server) need to reach this DC.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LATCHKEY_TEST_DC_DIR", self.dir.display().to_string()),
            ("LATCHKEY_TEST_DC_URL", LDAPS_URL.into()),
            ("LATCHKEY_TEST_DC_BASE_DN", BASE_DN.into()),
            ("LATCHKEY_TEST_DC_CA", self.ca_file().display().to_string()),
            ("LATCHKEY_TEST_DC_ADMIN_PASSWORD", self.admin_password.clone()),
            ("LATCHKEY_TEST_DC_SERVICE_ACCOUNT", SERVICE_ACCOUNT.into()),
            ("LATCHKEY_TEST_DC_ADMIN_GROUP", format!("CN={ADMIN_GROUP},CN=Users,{BASE_DN}")),
            ("LATCHKEY_TEST_DC_SERVICE_PASSWORD", self.service_password.clone()),
        ]
    }

    /// Ready means an authenticated, certificate-verified LDAPS search succeeds.
    fn wait_ready(&self) -> Result {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let ok = Command::new("ldapsearch")
                .args(["-H", "ldaps://127.0.0.1", "-x", "-D"])
                .arg(format!("{SERVICE_ACCOUNT}@{REALM}"))
                .arg("-w")
                .arg(&self.service_password)
                .args(["-b", BASE_DN, "-s", "base", "dn"])
                .env("LDAPTLS_CACERT", self.ca_file())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!("the DC did not answer within 60 s; see {}/log", self.dir.display()))
    }
}

impl Drop for Dc {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `cargo xtask dc`: a DC for development, until Ctrl-C.
/// `cargo xtask dc`: the DC and PostgreSQL the tests use, until interrupted; prints their
/// environment for `cargo test` in another shell.
pub fn run_foreground() -> Result {
    let dc = Dc::start()?;
    let pg = crate::postgres::Postgres::start()?;
    for (k, v) in dc.env() {
        println!("export {k}='{v}'");
    }
    println!("export LATCHKEY_TEST_PG_URL='{}'", pg.url());
    println!("# the DC runs until this command is interrupted");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
        let _ = (&dc, &pg);
    }
}

/// The cached template, provisioned first if missing.
fn ensure_template() -> Result<PathBuf> {
    let version = cmd::probe("samba", &["--version"]).ok_or("samba is not installed (run `cargo xtask setup`)")?;
    let mut hasher = DefaultHasher::new();
    include_str!("samba.rs").hash(&mut hasher);
    version.hash(&mut hasher);
    let template = paths::cache().join(format!("samba-template-{:016x}", hasher.finish()));
    if template.join("ready").exists() {
        return Ok(template);
    }
    eprintln!("provisioning the Samba template (once) in {}", template.display());
    let _ = std::fs::remove_dir_all(&template);
    std::fs::create_dir_all(template.join("tls")).map_err(|e| e.to_string())?;
    provision(&template)?;
    std::fs::write(template.join("ready"), version).map_err(|e| e.to_string())?;
    Ok(template)
}

fn provision(t: &Path) -> Result {
    make_certificates(&t.join("tls"))?;
    let admin_password = random_password()?;
    let service_password = random_password()?;
    let p = |sub: &str| t.join(sub).display().to_string();
    let options = [
        "interfaces=127.0.0.1".to_string(),
        "bind interfaces only=yes".into(),
        "server services=ldap".into(),
        format!("pid directory={}", p("run")),
        format!("ncalrpc dir={}", p("run/ncalrpc")),
        format!("winbindd socket directory={}", p("run/winbindd")),
        format!("ntp signd socket directory={}", p("run/ntp_signd")),
        format!("log file={}", p("log/samba.log")),
        "tls enabled=yes".into(),
        format!("tls keyfile={}", p("tls/key.pem")),
        format!("tls certfile={}", p("tls/cert.pem")),
        format!("tls cafile={}", p("tls/ca.pem")),
    ];
    let mut provision = Command::new("samba-tool");
    provision.args(["domain", "provision", "--server-role=dc", "--dns-backend=NONE", "--domain=EXAMPLE"]);
    provision.arg(format!("--targetdir={}", t.display()));
    provision.arg(format!("--realm={REALM}"));
    provision.arg(format!("--adminpass={admin_password}"));
    provision.args(["--host-name=dc1", "--host-ip=127.0.0.1"]);
    for o in &options {
        provision.arg(format!("--option={o}"));
    }
    cmd::output(&mut provision)?;
    for d in ["run", "log"] {
        std::fs::create_dir_all(t.join(d)).map_err(|e| e.to_string())?;
    }
    // By default the previous password still binds for an hour after a change.
    let conf = t.join("etc/smb.conf");
    let text = std::fs::read_to_string(&conf).map_err(|e| e.to_string())?;
    let text = text.replacen("[global]\n", "[global]\n\told password allowed period = 0\n", 1);
    std::fs::write(&conf, text).map_err(|e| e.to_string())?;

    let tool = |args: &[&str]| {
        cmd::output(Command::new("samba-tool").args(args).arg("-s").arg(&conf).arg("-H").arg(t.join("private/sam.ldb")))
    };
    // A realistic domain policy; tests that need other values use fine-grained policies.
    tool(&[
        "domain",
        "passwordsettings",
        "set",
        "--complexity=on",
        "--min-pwd-length=10",
        "--history-length=5",
        "--min-pwd-age=0",
        "--max-pwd-age=42",
        "--account-lockout-threshold=5",
        "--account-lockout-duration=30",
        "--reset-account-lockout-after=30",
    ])?;
    tool(&["user", "create", SERVICE_ACCOUNT, &service_password, "--description=Latchkey service account"])?;
    let sid = tool(&["user", "show", SERVICE_ACCOUNT, "--attributes=objectSid"])?
        .lines()
        .find_map(|l| l.strip_prefix("objectSid: ").map(str::to_string))
        .ok_or("no objectSid for the service account")?;
    // Let the service account read fine-grained password policies, so the portal shows the
    // policy that really applies. Nothing else is delegated.
    tool(&[
        "dsacl",
        "set",
        &format!("--objectdn=CN=Password Settings Container,CN=System,{BASE_DN}"),
        &format!("--sddl=(A;CI;RPLCLORC;;;{sid})"),
    ])?;
    // What an administrator's actions through the portal need on user accounts, delegated to
    // the service account on CN=Users and inherited by user objects only: reset password,
    // pwdLastSet ("must change at next logon"), lockoutTime (unlock), and the DACL ("user may not
    // change password").
    const USER: &str = "bf967aba-0de6-11d0-a285-00aa003049e2";
    const RESET_PASSWORD: &str = "00299570-246d-11d0-a768-00aa006e0529";
    const PWD_LAST_SET: &str = "bf967a0a-0de6-11d0-a285-00aa003049e2";
    const LOCKOUT_TIME: &str = "28630ebf-41d5-11d1-a9c1-0000f80367c1";
    tool(&[
        "dsacl",
        "set",
        &format!("--objectdn=CN=Users,{BASE_DN}"),
        &format!(
            "--sddl=(OA;CIIO;CR;{RESET_PASSWORD};{USER};{sid})(OA;CIIO;RPWP;{PWD_LAST_SET};{USER};{sid})\
             (OA;CIIO;RPWP;{LOCKOUT_TIME};{USER};{sid})(OA;CIIO;RCWD;;{USER};{sid})"
        ),
    ])?;
    // Latchkey's administrators: a group the portal is configured with.
    tool(&["group", "add", ADMIN_GROUP])?;
    std::fs::write(t.join("credentials"), format!("{admin_password}\n{service_password}\n"))
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn make_certificates(tls: &Path) -> Result {
    let openssl = |args: &[&str]| cmd::output(Command::new("openssl").current_dir(tls).args(args));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "3650",
        "-subj",
        "/CN=Latchkey throwaway CA",
    ])?;
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "req.csr",
        "-subj",
        "/CN=dc1.example.test",
    ])?;
    std::fs::write(
        tls.join("ext.cnf"),
        "subjectAltName=DNS:localhost,DNS:dc1.example.test,IP:127.0.0.1\n\
         basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "3650",
        "-extfile",
        "ext.cnf",
    ])?;
    // Samba refuses a private key others can read; the CA key is not needed after this.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tls.join("key.pem"), std::fs::Permissions::from_mode(0o600)).map_err(|e| e.to_string())?;
    std::fs::remove_file(tls.join("ca.key")).map_err(|e| e.to_string())
}

/// A password meeting the domain's complexity rule.
fn random_password() -> Result<String> {
    let hex = cmd::output(Command::new("openssl").args(["rand", "-hex", "12"]))?;
    Ok(format!("Lk-{}", hex.trim()))
}

/// smb.conf holds absolute paths; the databases refer to each other relatively.
fn relocate(template: &Path, dir: &Path) -> Result {
    let conf = dir.join("etc/smb.conf");
    let text = std::fs::read_to_string(&conf).map_err(|e| e.to_string())?;
    let text = text.replace(&template.display().to_string(), &dir.display().to_string());
    std::fs::write(conf, text).map_err(|e| e.to_string())
}

fn read_credentials(dir: &Path) -> Result<(String, String)> {
    let text = std::fs::read_to_string(dir.join("credentials")).map_err(|e| e.to_string())?;
    let mut lines = text.lines().map(str::to_string);
    match (lines.next(), lines.next()) {
        (Some(a), Some(s)) => Ok((a, s)),
        _ => Err("the DC template's credentials file is damaged; delete the template".into()),
    }
}
