//! Configuration: defaults, then a TOML file, then `LATCHKEY_*` environment variables
//! (nested keys joined by `__`, e.g. `LATCHKEY_DIRECTORY__URL`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use latchkey_policy::Mode;
use serde::{Deserialize, Serialize};

use crate::directory::DirectoryConfig;

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
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfig {
    pub mode: Mode,
    /// Extra words to refuse (one a line: company and product names), besides the built-in list.
    pub blocklist_file: Option<PathBuf>,
}

/// Attempts allowed per window on sign-in and change; every wrong current password costs the
/// user a badPwdCount in the directory, so these stay well under the lockout threshold.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub per_account: u32,
    pub per_address: u32,
    pub window_secs: u64,
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
            limits: LimitsConfig { per_account: 5, per_address: 30, window_secs: 900 },
            directory: None,
        }
    }
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
        let config: Config = figment.merge(Env::prefixed("LATCHKEY_").split("__")).extract()?;
        Ok(config)
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}
