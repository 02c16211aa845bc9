//! Passwords on their way to keys that are not connected: sealed (HPKE) to each key's static
//! key and queued until the key's next connection. Only ciphertext the server cannot open is
//! stored; the plaintext is wiped by the caller right after.

use latchkey_api::ErrorKind;
use latchkey_protocol::message::Secret;
use rand::RngCore;

use crate::error::AppError;
use crate::state::AppState;

/// Seals `secret` to every directory-managed account of the employee on the keys assigned to
/// them (but `except_key`, which got it already); the serials it was queued for.
pub async fn seal_to_keys(
    state: &AppState,
    employee_id: i64,
    secret: &Secret,
    except_key: Option<i64>,
) -> Result<Vec<String>, AppError> {
    let mut queued_for = Vec::new();
    for target in state.store.delivery_targets(employee_id).await? {
        if Some(target.key_id) == except_key {
            continue;
        }
        let (Ok(public_key), Ok(slot)) =
            (<[u8; 32]>::try_from(target.public_key.as_slice()), u16::try_from(target.slot))
        else {
            continue;
        };
        let counter = state.store.next_sealed_counter(target.key_id, target.slot).await?;
        let counter32 = u32::try_from(counter).map_err(|_| AppError(ErrorKind::Internal))?;
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let sealed = latchkey_protocol::sealed::seal(&public_key, &target.serial, slot, counter32, secret, seed)
            .map_err(|_| AppError(ErrorKind::Internal))?;
        state
            .store
            .queue_delivery(
                target.key_id,
                target.slot,
                counter,
                &sealed.encapsulated_key,
                &sealed.ciphertext,
                state.now(),
            )
            .await?;
        let (queued, nowhere) = (super::audit::action::DELIVERY_QUEUED, crate::session::ClientAddr(None));
        super::audit::record_result(state, super::audit::SERVER_ACTOR, queued, &target.serial, "success", &nowhere)
            .await;
        queued_for.push(target.serial);
    }
    queued_for.dedup();
    Ok(queued_for)
}
