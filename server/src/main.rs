#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use latchkey_server::{AppState, Config};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "latchkey-server", about = "Latchkey: self-service for domain passwords on hardware keys")]
struct Cli {
    /// TOML configuration file; LATCHKEY_* environment variables override it.
    #[arg(long, short, env = "LATCHKEY_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Log as JSON lines.
    #[arg(long, global = true)]
    json_logs: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal (the default).
    Serve,
    /// Print the effective configuration (secrets masked) and exit.
    CheckConfig,
    /// Hardware keys: register them from the vendor's manifest, assign them, list them.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Accounts on keys.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Mail: check the `[mail]` settings.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Checks, without changing anything, what the portal needs of the directory (TLS, the
    /// service account, the groups, the policies, the delegated rights, the clock) and prints
    /// each with the fix; exits non-zero when one fails.
    Doctor,
    /// The server secret (`secret_key_file`).
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Prints the API contract (OpenAPI 3.1, JSON), as served at `/api/openapi.json`.
    Openapi,
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Moves the database to a new server secret, created at NEW_SECRET_FILE (0600): every TOTP
    /// secret is sealed again and the audit chain linked again under it, after the chain was
    /// verified under the current one. Stop every replica first; then point `secret_key_file`
    /// at the new file on each, start them, and destroy the old file.
    Rotate {
        #[arg(long)]
        new_secret_file: PathBuf,
    },
}

#[derive(Subcommand)]
enum MailCommand {
    /// Sends a test message now with the configured settings, and says what the server said.
    Test {
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Puts the employee's domain account on their key(s) without a password: the employee
    /// adds it when onboarding.
    Add {
        /// The employee's logon name.
        #[arg(long)]
        user: String,
        /// The name the key shows.
        #[arg(long, default_value = "Domain account")]
        name: String,
        /// The NetBIOS domain typed before the logon name.
        #[arg(long)]
        domain: String,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Registers a key by serial number and static public key (64 hex digits).
    Register {
        #[arg(long)]
        serial: String,
        #[arg(long)]
        public_key: String,
        /// The activation code from the manifest; shown once, at assignment.
        #[arg(long)]
        activation_code: String,
    },
    /// Assigns a ready key to an employee (found in the directory): the key becomes Reserved
    /// and its activation code is printed, once, for the employee.
    Assign {
        #[arg(long)]
        serial: String,
        /// The employee's logon name.
        #[arg(long)]
        user: String,
    },
    /// Lists the registered keys.
    List,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    if cli.json_logs {
        tracing_subscriber::fmt().json().with_env_filter(filter).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    if matches!(cli.command, Some(Command::Openapi)) {
        println!("{}", latchkey_server::routes::api_document().to_pretty_json()?);
        return Ok(());
    }
    let config = Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => {
            let mut shown = config.clone();
            if let Some(d) = shown.directory.as_mut() {
                d.service_password = "***".into();
            }
            if let Some(password) = shown.mail.as_mut().and_then(|m| m.password.as_mut()) {
                *password = "***".into();
            }
            shown.database_url = latchkey_server::config::without_password(&shown.database_url);
            println!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(())
        }
        Command::Key(command) => key_command(command, config).await,
        Command::Account(AccountCommand::Add { user, name, domain }) => {
            let store = latchkey_server::store::Store::open(&config.database_url).await?;
            let serials = store.add_domain_account(&user, domain.trim(), name.trim(), unix_now()?).await?;
            println!("queued {domain}\\{user} without a password to: {}", serials.join(", "));
            Ok(())
        }
        Command::Mail(MailCommand::Test { to }) => {
            let state = AppState::new(config).await?;
            let mailer = state.mailer.as_ref().ok_or_else(|| anyhow::anyhow!("no [mail] section is configured"))?;
            latchkey_server::service::mail::send_test(&state, mailer, &to).await?;
            println!("sent a test message to {to}");
            Ok(())
        }
        Command::Secret(SecretCommand::Rotate { new_secret_file }) => rotate_secret(config, &new_secret_file).await,
        Command::Openapi => Ok(()),
        Command::Doctor => {
            let state = AppState::new(config).await?;
            let report = latchkey_server::service::doctor::run(&state).await;
            let mut failed = false;
            for check in &report.checks {
                let mark = match check.outcome {
                    latchkey_api::admin::CheckOutcome::Pass => "PASS",
                    latchkey_api::admin::CheckOutcome::Warn => "WARN",
                    latchkey_api::admin::CheckOutcome::Fail => {
                        failed = true;
                        "FAIL"
                    }
                };
                println!("{mark} {}: {}", check.name, check.detail);
                if let Some(fix) = &check.fix {
                    println!("     fix: {fix}");
                }
            }
            if failed {
                anyhow::bail!("the directory check failed");
            }
            Ok(())
        }
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.listen).await?;
            let addr = listener.local_addr()?;
            let state = AppState::new(config).await?;
            tracing::info!(%addr, "Latchkey listening on http://{addr}");
            latchkey_server::serve(listener, state, shutdown_signal()).await?;
            Ok(())
        }
    }
}

async fn rotate_secret(config: Config, new_secret_file: &std::path::Path) -> anyhow::Result<()> {
    use latchkey_server::secrets::{create_random_file, ServerSecrets};
    let state = AppState::new(config).await?;
    if let Some(broken) = state.store.verify_audit().await? {
        anyhow::bail!(
            "the audit chain does not verify (entry {}{}): linking it again under a new secret would hide that",
            broken.id,
            if broken.truncated { ", its tail was deleted" } else { "" }
        );
    }
    let master = create_random_file(new_secret_file, "the new server secret")?;
    let new = ServerSecrets::from_master(&master);
    let anchor =
        latchkey_server::store::AuditAnchor::new(*new.audit_key(), new_secret_file.with_extension("audit-head"));
    let reseal = |sealed: &[u8]| state.secrets.open_totp(sealed).ok().and_then(|plain| new.seal_totp(&plain).ok());
    match state.store.rotate_server_secret(reseal, &anchor, &new.check_value()).await {
        Ok(done) => {
            println!(
                "rotated: {} TOTP secrets sealed and {} audit entries linked under {}",
                done.totp_secrets,
                done.audit_entries,
                new_secret_file.display()
            );
            println!(
                "now set secret_key_file = {:?} on every replica, start them, and destroy the old file",
                new_secret_file
            );
            Ok(())
        }
        Err(latchkey_server::store::RotationError::Checkpoint(e)) => {
            // The database did move: the new file is the secret now, only the head is unrecorded.
            anyhow::bail!(
                "the database now uses {}, but its audit head could not be checkpointed ({e}); use the new file",
                new_secret_file.display()
            )
        }
        Err(e) => {
            // The file goes only when the database surely still answers to the old secret.
            if state.store.matches_server_secret(&state.secrets.check_value()).await.unwrap_or(false) {
                let _ = std::fs::remove_file(new_secret_file);
            } else {
                eprintln!("keep {}: the database may answer to it now", new_secret_file.display());
            }
            Err(e.into())
        }
    }
}

async fn key_command(command: KeyCommand, config: Config) -> anyhow::Result<()> {
    match command {
        KeyCommand::Register { serial, public_key, activation_code } => {
            let store = latchkey_server::store::Store::open(&config.database_url).await?;
            let key = latchkey_server::store::parse_public_key(&public_key)?;
            store.register_key(&serial, &key, &activation_code, unix_now()?).await?;
            println!("registered {}", serial.trim());
        }
        KeyCommand::Assign { serial, user } => {
            let state = AppState::new(config).await?;
            let directory = state.directory().map_err(|e| anyhow::anyhow!(e.0.message()))?;
            let found = directory.find_user(&user).await?;
            let found = found.ok_or_else(|| anyhow::anyhow!("no single directory user has the logon name {user}"))?;
            let employee = latchkey_server::store::NewEmployee {
                object_guid: &found.object_guid,
                username: &found.sam_account_name,
                display_name: &found.display_name,
            };
            let code = state.store.assign_key(serial.trim(), &employee, unix_now()?).await?;
            println!("assigned {} to {} ({})", serial.trim(), found.sam_account_name, found.display_name);
            println!("activation code (shown only now; give it to the employee): {code}");
        }
        KeyCommand::List => {
            let store = latchkey_server::store::Store::open(&config.database_url).await?;
            for k in store.keys().await? {
                let owner = k.employee.as_ref().map(|e| e.username.as_str()).unwrap_or("-");
                println!("{}\t{}\t{}\t{}", k.serial, k.status.label(), owner, hex::encode(k.public_key));
            }
        }
    }
    Ok(())
}

fn unix_now() -> anyhow::Result<i64> {
    Ok(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64)
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}
