//! Importing employees from the directory group: on an administrator's "sync now", and on a
//! schedule (`sync_interval_secs`).

use std::time::Duration;

use latchkey_api::ErrorKind;

use crate::error::AppError;
use crate::state::AppState;
use crate::store::{SyncReport, SyncedUser};

/// One sync: the group's members (nested groups included), matched by objectGUID.
pub async fn employees(state: &AppState) -> Result<SyncReport, AppError> {
    let group = state.config.employee_group.as_ref().or(state.config.admin_group.as_ref()).ok_or_else(|| {
        AppError(ErrorKind::BadRequest { reason: "no employee group is configured (employee_group)".into() })
    })?;
    let members = state.directory()?.group_members(group).await?;
    let users: Vec<SyncedUser> = members
        .iter()
        .filter(|m| !m.user.object_guid.is_empty())
        .map(|m| SyncedUser {
            object_guid: &m.user.object_guid,
            username: &m.user.sam_account_name,
            display_name: &m.user.display_name,
            disabled: m.disabled,
        })
        .collect();
    Ok(state.store.sync_employees(&users, state.now()).await?)
}

/// Syncs every `interval`, for as long as the server runs; each run is audited.
pub async fn every(state: AppState, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let outcome = employees(&state).await;
        if let Err(e) = &outcome {
            tracing::warn!(error = %e.0.message(), "the scheduled employee sync failed; next try in {interval:?}");
        }
        crate::routes::audit::record(
            &state,
            "latchkey",
            "scheduled_sync",
            "employees",
            &outcome,
            &crate::session::ClientAddr(None),
        )
        .await;
    }
}
