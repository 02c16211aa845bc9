use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::Config;
use crate::directory::Directory;
use crate::rate_limit::Limits;
use crate::store::Store;
use crate::strength::PasswordChecker;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub store: Store,
    /// `None` until configured: the portal then answers 503 for everything directory-bound.
    pub directory: Option<Directory>,
    pub limits: Limits,
    pub checker: PasswordChecker,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub async fn new(config: Config) -> anyhow::Result<AppState> {
        let store = Store::open(&config.database_url).await?;
        let directory = config.directory.clone().map(Directory::new).transpose()?;
        if directory.is_none() {
            tracing::warn!("no [directory] configured: sign-in and changes are unavailable");
        }
        let limits = Limits::new(&config.limits);
        let checker = PasswordChecker::new(config.password.blocklist_file.as_deref())?;
        Ok(AppState(Arc::new(Inner { config, store, directory, limits, checker })))
    }

    pub fn directory(&self) -> Result<&Directory, crate::error::AppError> {
        self.directory.as_ref().ok_or(crate::error::AppError(latchkey_api::ErrorKind::DirectoryUnavailable))
    }

    /// The server's clock, in Unix seconds (the pure crates take time as a parameter).
    pub fn now(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    }
}
