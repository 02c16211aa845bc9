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
            println!("{}", toml_like(&shown)?);
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

fn toml_like(config: &Config) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(config)?)
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}
