//! An administrator's reset: checked against the policy and the minimum age (the DC enforces
//! neither history nor minimum age on a reset), written to the directory with Replace, then
//! sealed to each of the employee's keys and queued until each connects. The plaintext is
//! dropped (and wiped) right after; the store keeps only ciphertext the server cannot open.

use axum::extract::{Path, State};
use axum::Json;
use latchkey_api::{AdminResetRequest, AdminResetResponse, ErrorKind};
use latchkey_protocol::message::Secret;
use rand::RngCore;

use super::Admin;
use crate::error::AppError;
use crate::keys::generate;
use crate::routes::password::earliest_change;
use crate::routes::{audit, ApiJson};
use crate::service::access;
use crate::session::ClientAddr;
use crate::state::AppState;

pub async fn reset(
    State(state): State<AppState>,
    addr: ClientAddr,
    Admin(admin): Admin,
    Path(username): Path<String>,
    ApiJson(request): ApiJson<AdminResetRequest>,
) -> Result<Json<AdminResetResponse>, AppError> {
    let outcome = async {
        let directory = state.directory()?;
        let access::Target { employee, user, facts } = access::administrable(&state, &username).await?;
        if let Some(allowed_at) = earliest_change(&facts, state.now()) {
            return Err(AppError(ErrorKind::TooYoung { allowed_at: Some(allowed_at) }));
        }
        let new = generate::typed_or_generated(request.password, &facts.policy, &user.account(), &state.checker)
            .map_err(AppError)?;
        directory.reset_password(&user.dn, &new, request.must_change).await?;

        let secret = Secret::new(new.expose());
        drop(new);
        let mut queued_for = Vec::new();
        for target in state.store.delivery_targets(employee.id).await? {
            let (Ok(public_key), Ok(slot)) =
                (<[u8; 32]>::try_from(target.public_key.as_slice()), u16::try_from(target.slot))
            else {
                continue;
            };
            let counter = state.store.next_sealed_counter(target.key_id, target.slot).await?;
            let counter32 = u32::try_from(counter).map_err(|_| AppError(ErrorKind::Internal))?;
            let mut seed = [0u8; 32];
            rand::rng().fill_bytes(&mut seed);
            let sealed = latchkey_protocol::sealed::seal(&public_key, &target.serial, slot, counter32, &secret, seed)
                .map_err(|_| AppError(ErrorKind::Internal))?;
            let now = state.now();
            state
                .store
                .queue_delivery(target.key_id, target.slot, counter, &sealed.encapsulated_key, &sealed.ciphertext, now)
                .await?;
            queued_for.push(target.serial);
        }
        drop(secret);
        // The old password is gone: so are the user's sessions.
        state.store.end_other_sessions(&user.dn, "").await?;
        queued_for.dedup();
        Ok(AdminResetResponse { queued_for })
    }
    .await;
    audit::record(&state, &admin.username, "admin_reset", &username, &outcome, &addr).await;
    outcome.map(Json)
}
