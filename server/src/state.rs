use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use latchkey_protocol::crypto::KeyPair;

use crate::config::Config;
use crate::directory::Directory;
use crate::rate_limit::Limits;
use crate::secrets::ServerSecrets;
use crate::store::{AuditAnchor, AuditSpool, Store};
use crate::strength::PasswordChecker;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub store: Store,
    /// Audit entries the database could not take yet.
    pub audit_spool: AuditSpool,
    /// `None` until configured: the portal then answers 503 for everything directory-bound.
    pub directory: Option<Directory>,
    pub limits: Limits,
    pub checker: PasswordChecker,
    /// Peers whose forwarding headers name the client (`trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The server's own secret: seals second-factor secrets, keys the audit chain.
    pub secrets: ServerSecrets,
    /// The server's static key pair for the key protocol, when configured.
    pub key_identity: Option<KeyPair>,
    /// The setup token `serve` logged at start, while nobody could administer the portal.
    bootstrap_token: Mutex<Option<String>>,
    /// How long refusing a real name's wrong password takes: an unknown name takes as long.
    pub(crate) refusal_pace: crate::service::lockout::RefusalPace,
    /// Sends mail, when `[mail]` is configured.
    pub mailer: Option<crate::mail::Mailer>,
    /// Wakes the mail sender when a message is queued.
    pub mail_wake: tokio::sync::Notify,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub async fn new(config: Config) -> anyhow::Result<AppState> {
        let secrets = ServerSecrets::load_or_create(&config.secret_key_file)?;
        let checkpoint = config.secret_key_file.with_extension("audit-head");
        let audit_spool = AuditSpool::new(config.secret_key_file.with_extension("audit-spool"));
        let store = Store::open_with_pool(&config.database_url, config.database_max_connections.max(1))
            .await?
            .anchored(AuditAnchor::new(*secrets.audit_key(), checkpoint));
        let directory = config.directory.clone().map(Directory::new).transpose()?;
        if directory.is_none() {
            tracing::warn!("no [directory] configured: sign-in and changes are unavailable");
        }
        let limits = Limits::new(&config.limits, store.clone());
        let trusted_proxies = crate::config::parse_trusted(&config.trusted_proxies)?;
        let checker = PasswordChecker::new(config.password.blocklist_file.as_deref())?;
        let key_identity = config.key_identity_file.as_deref().map(load_or_create_identity).transpose()?;
        if let Some(path) = &config.demo_virtual_key_file {
            tracing::warn!(path = %path.display(), "DEMO: a virtual key image is served to every visitor");
        }
        if !store.matches_server_secret(&secrets.check_value()).await? {
            anyhow::bail!(
                "{} is not the server secret this database was set up with: every replica (and every \
                 command) must use the same secret_key_file",
                config.secret_key_file.display()
            );
        }
        seal_stored_secrets(&store, &secrets).await?;
        let mailer = config.mail.as_ref().map(crate::mail::Mailer::new).transpose()?;
        Ok(AppState(Arc::new(Inner {
            config,
            store,
            audit_spool,
            directory,
            limits,
            checker,
            trusted_proxies,
            secrets,
            key_identity,
            bootstrap_token: Mutex::default(),
            refusal_pace: Default::default(),
            mailer,
            mail_wake: tokio::sync::Notify::new(),
        })))
    }

    /// The setup token this process offered, if it did.
    pub fn bootstrap_token(&self) -> Option<String> {
        self.bootstrap_token.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Keeps the token `serve` offered (`service::bootstrap::offer`).
    pub(crate) fn set_bootstrap_token(&self, token: Option<String>) {
        *self.bootstrap_token.lock().unwrap_or_else(|e| e.into_inner()) = token;
    }

    pub fn directory(&self) -> Result<&Directory, crate::error::AppError> {
        self.directory.as_ref().ok_or(crate::error::AppError(latchkey_api::ErrorKind::DirectoryUnavailable))
    }

    /// The server's clock, in Unix seconds (the pure crates take time as a parameter).
    pub fn now(&self) -> i64 {
        unix_now()
    }
}

/// Second-factor secrets stored before they were sealed are sealed now, once.
async fn seal_stored_secrets(store: &Store, secrets: &ServerSecrets) -> anyhow::Result<()> {
    for (username, plain) in store.unsealed_totp_secrets().await? {
        let plain = zeroize::Zeroizing::new(plain);
        let sealed = secrets.seal_totp(&plain).map_err(|e| anyhow::anyhow!("{e}"))?;
        store.replace_totp_secret(&username, &sealed).await?;
        tracing::info!(%username, "sealed a stored TOTP secret");
    }
    Ok(())
}

/// The server's static X25519 key: 32 random bytes in a file only the server may read.
fn load_or_create_identity(path: &std::path::Path) -> anyhow::Result<KeyPair> {
    if let Ok(bytes) = std::fs::read(path) {
        let secret: [u8; 32] =
            bytes.try_into().map_err(|_| anyhow::anyhow!("{} is not a 32-byte key", path.display()))?;
        return Ok(KeyPair::from_secret(secret));
    }
    let secret = crate::secrets::create_random_file(path, "the server's key identity")?;
    Ok(KeyPair::from_secret(*secret))
}

/// Seconds since the Unix epoch by this machine's clock (0 before it).
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
