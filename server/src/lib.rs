//! Latchkey's server: the only crate that speaks HTTP, LDAP and SQL.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod client_addr;
pub mod config;
pub mod directory;
pub mod error;
pub mod identity;
pub mod keys;
pub mod local;
pub mod mail;
pub mod rate_limit;
pub mod routes;
pub mod secrets;
pub mod service;
pub mod session;
pub mod state;
pub mod store;
pub mod strength;
pub mod sync;

pub use config::Config;
pub use routes::router;
pub use state::AppState;

use std::net::SocketAddr;

/// Serves `state` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match service::bootstrap::offer(&state).await {
        Ok(token) => state.set_bootstrap_token(token),
        Err(e) => tracing::error!("cannot offer the bootstrap: {e}"),
    }
    tokio::spawn(sync::housekeeping(state.clone()));
    tokio::spawn(service::audit::drain_spool_every(state.clone()));
    if let Some(secs) = state.config.sync_interval_secs.filter(|s| *s > 0) {
        if state.config.employee_group.is_some() || state.config.admin_group.is_some() {
            tokio::spawn(sync::every(state.clone(), std::time::Duration::from_secs(secs)));
        }
    }
    if let Some(mail) = &state.config.mail {
        tokio::spawn(service::mail::sender(state.clone()));
        if mail.reminder_interval_secs > 0 {
            let interval = std::time::Duration::from_secs(mail.reminder_interval_secs);
            tokio::spawn(service::mail::reminders_every(state.clone(), interval));
        }
    }
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
