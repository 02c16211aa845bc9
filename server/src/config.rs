//! Configuration: defaults, then a TOML file, then `LATCHKEY_*` environment variables
//! (nested keys joined by `__`, e.g. `LATCHKEY_DIRECTORY__URL`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use latchkey_policy::Mode;
use serde::{Deserialize, Serialize};

use crate::directory::DirectoryConfig;
use crate::mail::MailConfig;
use latchkey_api::recovery::RecoveryFactors;
use latchkey_api::step_up::SecondFactorMode;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    /// The address users reach the portal at; `https://` makes cookies `Secure`.
    pub public_url: Option<String>,
    /// The built SPA (Trunk's `dist`).
    pub spa_dir: PathBuf,
    pub database_url: String,
    pub session_ttl_secs: u64,
    pub password: PasswordConfig,
    pub limits: LimitsConfig,
    pub directory: Option<DirectoryConfig>,
    /// The server's static key for talking to hardware keys (created, mode 0600, when
    /// missing). Without it, key features are off.
    pub key_identity_file: Option<PathBuf>,
    /// DEMO ONLY: a reference key's flash image (`keysim create`; its storage key beside it in
    /// `.sek`) that the page may load as a virtual key. Serving it hands out the key's
    /// secrets, so it is off unless set, and logged at every start.
    pub demo_virtual_key_file: Option<PathBuf>,
    /// DN of the directory group whose members administer Latchkey (after a TOTP code).
    pub admin_group: Option<String>,
    /// DN of the directory group whose members are the employees Latchkey imports; the
    /// administrators' group when absent.
    pub employee_group: Option<String>,
    /// How often employees are synced from the group (0 or absent: only on "sync now").
    pub sync_interval_secs: Option<u64>,
    /// The server's own secret (created, mode 0600, when missing): seals second-factor secrets
    /// at rest and keys the audit chain. Replicas share it; it never goes into the database.
    pub secret_key_file: PathBuf,
    /// Whether administrators may reset, unlock or set flags on fellow administrators.
    pub admins_may_manage_admins: bool,
    /// Whether a sign-in with the key (possession and a press) may start an administrator's
    /// session. Off: administrators sign in with their password and a TOTP code.
    pub key_sign_in_grants_admin: bool,
    /// Addresses or CIDRs of the TLS proxies in front of the portal: only from these are
    /// `Forwarded` / `X-Forwarded-For` read for the client's address.
    pub trusted_proxies: Vec<String>,
    /// The header those proxies write: `x-forwarded-for` (the default) or `forwarded`.
    pub forwarded_header: ForwardedHeader,
    /// What a user confirms right before a password is written: `off`, `totp`, `key_or_totp`.
    pub second_factor: SecondFactorMode,
    /// Whether a user with no factor whose change is required (expired, "must change") may
    /// enrol an authenticator on the spot; otherwise they are told to call `help_contact`.
    pub allow_enrolment_at_change: bool,
    /// The organisation's name, as mail and pages name it.
    pub organisation_name: String,
    /// Whom users call when they cannot help themselves (mail and error messages).
    pub help_contact: String,
    /// Expiry reminders and change notices by mail; off when absent.
    pub mail: Option<MailConfig>,
    /// "Can't sign in?" with the key: unlock, or a new password onto the key.
    pub recovery_with_key: bool,
    /// "Can't sign in?" without the key: an authenticator code and a mailed code, then a typed
    /// password. Needs `[mail]` and `recovery_mail_attribute`.
    pub recovery_without_key: bool,
    /// Employees may report their own key lost or stolen (it is wiped when it next connects).
    pub report_lost_key: bool,
    /// What a recovery with the key asks for besides the key.
    pub recovery_factors: RecoveryFactors,
    /// The directory attribute holding the address recovery codes go to (never `mail` unless
    /// set so: the user may be locked out of that mailbox).
    pub recovery_mail_attribute: String,
    /// Passwords reset without the key are marked for the administrators' review.
    pub review_recoveries: bool,
    /// How long a key's session lease lasts unless renewed. A replica that dies holding one
    /// keeps the key busy this long; tests that kill servers shorten it to reconnect sooner.
    pub key_lease_secs: u64,
    /// The database pool's size per process. Tests that run many servers against one shared
    /// PostgreSQL lower it to stay under its connection limit.
    pub database_max_connections: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfig {
    pub mode: Mode,
    /// Extra words to refuse (one a line: company and product names), besides the built-in list.
    pub blocklist_file: Option<PathBuf>,
}

/// Limits per window. Every wrong password costs the account a badPwdCount in the directory:
/// `per_account` wrong passwords per account (clamped below the directory's lockout
/// threshold), then the portal stops asking until the window has passed. Operations of any
/// outcome are bounded too, generously: `operations_per_account` per account and
/// `per_address` per client address.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub per_account: u32,
    pub per_address: u32,
    pub window_secs: u64,
    #[serde(default = "default_operations_per_account")]
    pub operations_per_account: u32,
}

fn default_operations_per_account() -> u32 {
    60
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            spa_dir: PathBuf::from("dist"),
            database_url: "sqlite://latchkey.sqlite".into(),
            session_ttl_secs: 3600,
            password: PasswordConfig { mode: Mode::ActiveDirectory, blocklist_file: None },
            limits: LimitsConfig { per_account: 4, per_address: 60, window_secs: 900, operations_per_account: 60 },
            directory: None,
            key_identity_file: None,
            demo_virtual_key_file: None,
            admin_group: None,
            employee_group: None,
            sync_interval_secs: Some(3600),
            secret_key_file: PathBuf::from("latchkey-secret.key"),
            admins_may_manage_admins: false,
            key_sign_in_grants_admin: false,
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::XForwardedFor,
            second_factor: SecondFactorMode::Off,
            allow_enrolment_at_change: true,
            organisation_name: "Latchkey".into(),
            help_contact: "your IT help desk".into(),
            mail: None,
            recovery_with_key: true,
            recovery_without_key: false,
            report_lost_key: true,
            recovery_factors: RecoveryFactors::KeyAndTotpWhenEnrolled,
            recovery_mail_attribute: "otherMailbox".into(),
            review_recoveries: false,
            key_lease_secs: 30,
            database_max_connections: 8,
        }
    }
}

/// Top-level keys, as environment variables may set them.
const SECTIONS: &[&str] = &[
    "listen",
    "public_url",
    "spa_dir",
    "database_url",
    "session_ttl_secs",
    "password",
    "limits",
    "directory",
    "key_identity_file",
    "demo_virtual_key_file",
    "admin_group",
    "employee_group",
    "sync_interval_secs",
    "secret_key_file",
    "admins_may_manage_admins",
    "key_sign_in_grants_admin",
    "trusted_proxies",
    "forwarded_header",
    "second_factor",
    "allow_enrolment_at_change",
    "organisation_name",
    "help_contact",
    "mail",
    "recovery_with_key",
    "recovery_without_key",
    "report_lost_key",
    "recovery_factors",
    "recovery_mail_attribute",
    "review_recoveries",
    "key_lease_secs",
    "database_max_connections",
];

/// Parses `trusted_proxies` (CIDRs or single addresses).
pub fn parse_trusted(entries: &[String]) -> anyhow::Result<Vec<ipnet::IpNet>> {
    entries
        .iter()
        .map(|e| {
            let e = e.trim();
            e.parse::<ipnet::IpNet>()
                .or_else(|_| e.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| anyhow::anyhow!("trusted_proxies: {e:?} is not an address or a CIDR"))
        })
        .collect()
}

/// Which header the trusted proxies write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    #[default]
    XForwardedFor,
    Forwarded,
}

impl Config {
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                anyhow::bail!("configuration file {} does not exist", file.display());
            }
            figment = figment.merge(Toml::file(file));
        }
        // Other LATCHKEY_* variables (LATCHKEY_CONFIG, the test kit's) are not configuration.
        let env = Env::prefixed("LATCHKEY_")
            .filter(|key| {
                SECTIONS.iter().any(|s| key.as_str().split("__").next().is_some_and(|k| k.eq_ignore_ascii_case(s)))
            })
            .split("__");
        let config: Config = figment.merge(env).extract()?;
        Ok(config)
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}

/// A database URL with its password (if any) masked, for printing.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((credentials, host)) = rest.rsplit_once('@') else { return url.to_string() };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail API returns its large error type.
mod tests {
    use super::*;

    #[test]
    fn a_database_password_is_masked_and_nothing_else() {
        assert_eq!(without_password("postgres://app:S3cr@t@db:5432/lk"), "postgres://app:***@db:5432/lk");
        assert_eq!(without_password("postgres://app@db/lk"), "postgres://app@db/lk");
        assert_eq!(without_password("sqlite://latchkey.sqlite"), "sqlite://latchkey.sqlite");
    }

    #[test]
    fn environment_overrides_the_file_and_ignores_foreign_variables() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("latchkey.toml", "listen = \"127.0.0.1:9000\"\n[directory]\nurl = \"ldaps://dc\"\nservice_account = \"svc\"\nservice_password = \"x\"\n")?;
            jail.set_env("LATCHKEY_DIRECTORY__URL", "ldaps://other");
            jail.set_env("LATCHKEY_TEST_DC_DIR", "/tmp/whatever");
            let config = Config::load(Some(Path::new("latchkey.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(config.listen.port(), 9000);
            assert_eq!(config.directory.map(|d| d.url).as_deref(), Some("ldaps://other"));
            assert_eq!((config.key_lease_secs, config.database_max_connections), (30, 8));
            jail.set_env("LATCHKEY_KEY_LEASE_SECS", "3");
            jail.set_env("LATCHKEY_DATABASE_MAX_CONNECTIONS", "3");
            let config = Config::load(Some(Path::new("latchkey.toml"))).map_err(|e| e.to_string())?;
            assert_eq!((config.key_lease_secs, config.database_max_connections), (3, 3));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("latchkey.toml", "lisen = \"127.0.0.1:9000\"\n")?;
            let err = Config::load(Some(Path::new("latchkey.toml"))).unwrap_err().to_string();
            assert!(err.contains("lisen"), "{err}");
            Ok(())
        });
    }
}
