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
    /// Hardware keys: register them from the vendor's manifest, list them.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Registers a key by serial number and static public key (64 hex digits).
    Register {
        #[arg(long)]
        serial: String,
        #[arg(long)]
        public_key: String,
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
    let config = Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => {
            let mut shown = config.clone();
            if let Some(d) = shown.directory.as_mut() {
                d.service_password = "***".into();
            }
            println!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(())
        }
        Command::Key(command) => key_command(command, &config).await,
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

async fn key_command(command: KeyCommand, config: &Config) -> anyhow::Result<()> {
    let store = latchkey_server::store::Store::open(&config.database_url).await?;
    match command {
        KeyCommand::Register { serial, public_key } => {
            let key = parse_public_key(&public_key)?;
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
            store.register_key(&serial, &key, now).await?;
            println!("registered {}", serial.trim());
        }
        KeyCommand::List => {
            for k in store.keys().await? {
                let owner = k.employee.as_deref().unwrap_or("-");
                println!("{}\t{}\t{}\t{}", k.serial, k.status, owner, hex::encode(k.public_key));
            }
        }
    }
    Ok(())
}

fn parse_public_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut key).map_err(|_| {
        anyhow::anyhow!("the public key must be 64 hexadecimal digits (32 bytes), as `keysim create` prints it")
    })?;
    Ok(key)
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}
