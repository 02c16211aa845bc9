//! Importing employees from the directory group: on an administrator's "sync now", and on a
//! schedule (`sync_interval_secs`).

use std::time::Duration;

use latchkey_api::ErrorKind;

use crate::error::AppError;
use crate::service::audit;
use crate::state::AppState;
use crate::store::{SyncReport, SyncedUser};

/// One sync: the group's members (nested groups included), matched by objectGUID.
pub async fn employees(state: &AppState) -> Result<SyncReport, AppError> {
    let group = state.config.employee_group.as_ref().or(state.config.admin_group.as_ref()).ok_or_else(|| {
        tracing::error!("no employee group is configured: set employee_group (or admin_group) to a group's DN");
        AppError(ErrorKind::Misconfigured)
    })?;
    let members = state.directory()?.group_members(group).await?;
    // A group read as empty while employees are present may be one the service account cannot
    // read (or that is gone): taking everyone's keys out of service on that word would be a worse
    // mistake. Only a group that can be read, and is empty, empties the list.
    if members.is_empty()
        && state.store.employees("", crate::store::EmployeeState::Active, &Default::default(), 1).await?.total > 0
        && !state.directory()?.entry_exists(group).await?
    {
        tracing::error!(%group, "the employee group cannot be read: the sync changes nothing (check the DN and the service account's rights)");
        return Err(AppError(ErrorKind::DirectoryUnavailable));
    }
    let users: Vec<SyncedUser> = members
        .iter()
        .filter(|m| !m.user.object_guid.is_empty())
        .map(|m| SyncedUser {
            object_guid: &m.user.object_guid,
            username: &m.user.sam_account_name,
            display_name: &m.user.display_name,
            disabled: m.disabled,
            password_expires_at: m.password_expires_at,
        })
        .collect();
    let report = state.store.sync_employees(&users, state.now()).await?;
    // A departed or disabled employee's keys stop working at once: no key sign-in, no flow.
    for (serial, reason) in state.store.suspend_keys_of_departed().await? {
        let reason = reason.label();
        tracing::info!(%serial, reason, "key suspended: its employee left the group or was disabled");
        crate::service::audit::record_result(
            state,
            audit::SERVER_ACTOR,
            audit::action::KEY_SUSPENDED_BY_SYNC,
            &serial,
            reason,
            &crate::session::ClientAddr(None),
        )
        .await;
    }
    Ok(report)
}

/// Forgets what limits no longer need, every ten minutes: full in-process buckets and
/// wrong-password counts whose window ended a day ago.
pub async fn housekeeping(state: AppState) {
    let mut ticks = tokio::time::interval(Duration::from_secs(600));
    loop {
        ticks.tick().await;
        state.limits.prune().await;
        if let Err(e) = state.store.prune_password_failures(state.now() - 86_400).await {
            tracing::warn!(error = %e, "cannot prune the wrong-password counts");
        }
    }
}

/// The scheduled sync's name among the store's job leases.
const SYNC_JOB: &str = "employee_sync";
/// Longer than a sync of a large directory takes; a replica that dies mid-run frees it then.
const SYNC_LEASE_SECS: i64 = 15 * 60;

/// Syncs every `interval`, for as long as the server runs, on one replica at a time (a lease in
/// the store); each run is audited.
pub async fn every(state: AppState, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let holder = format!("{}:{}", std::process::id(), crate::session::new_token());
    loop {
        ticks.tick().await;
        let now = state.now();
        match state.store.take_job_lease(SYNC_JOB, &holder, now, now + SYNC_LEASE_SECS).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the scheduled sync's lease; next try in {interval:?}");
                continue;
            }
        }
        let outcome = employees(&state).await;
        let summary = match &outcome {
            Ok(_) => "synced".to_string(),
            Err(e) => format!("failed: {}", e.code()),
        };
        // The next run is the next interval's, on whichever replica comes first.
        let next_at = now + i64::try_from(interval.as_secs()).unwrap_or(i64::MAX / 2) - 1;
        if let Err(e) = state.store.finish_job(SYNC_JOB, &holder, state.now(), &summary, next_at).await {
            tracing::warn!(error = %e, "cannot close the scheduled sync's run");
        }
        if let Err(e) = &outcome {
            tracing::warn!(error = %e.0.message(), "the scheduled employee sync failed; next try in {interval:?}");
        }
        crate::service::audit::record(
            &state,
            audit::SERVER_ACTOR,
            audit::action::SCHEDULED_SYNC,
            "employees",
            &outcome,
            &crate::session::ClientAddr(None),
        )
        .await;
    }
}
