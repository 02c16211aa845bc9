//! The administrators' dashboard: counts from the store (employee expiries as of the last sync).

use latchkey_api::admin::{Dashboard, EmployeeCounts, KeyCount};

use crate::error::AppError;
use crate::state::AppState;
use crate::store::EmployeeState;

const DAY: i64 = 86_400;

pub async fn counts(state: &AppState) -> Result<Dashboard, AppError> {
    let now = state.now();
    let store = &state.store;
    let count = |filter| async move {
        let total = store.employees("", filter, &Default::default(), 1).await?.total;
        Ok::<u64, AppError>(u64::try_from(total).unwrap_or(0))
    };
    let employees = EmployeeCounts {
        active: count(EmployeeState::Active).await?,
        disabled: count(EmployeeState::Disabled).await?,
        removed: count(EmployeeState::Removed).await?,
        without_key: count(EmployeeState::WithoutKey).await?,
        expired: count(EmployeeState::Expired { now }).await?,
        expiring_7: count(EmployeeState::Expiring { now, by: now + 7 * DAY }).await?,
        expiring_30: count(EmployeeState::Expiring { now, by: now + 30 * DAY }).await?,
    };
    let keys = store
        .key_counts()
        .await?
        .into_iter()
        .map(|(status, n)| KeyCount { status, count: u64::try_from(n).unwrap_or(0) })
        .collect();
    let unsigned = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(Dashboard {
        now,
        employees,
        keys,
        deliveries_waiting_over_a_day: unsigned(store.deliveries_waiting_since(now - DAY).await?),
        failed_sign_ins_24h: unsigned(store.failed_sign_ins_since(now - DAY).await?),
        locked_out_24h: unsigned(store.locked_out_since(now - DAY).await?),
        last_sync: store.last_sync().await?.map(Into::into),
    })
}
