//! Notices to an account's owner after something was done to it: a change, a reset, a key's
//! new status or assignment, an authenticator set up or removed. Queued in the background to
//! the directory's `mail` address: a notice never delays or fails what it reports.

use crate::client_addr::ClientAddr;
use crate::state::AppState;
use crate::store::{MailKind, SessionRow};

pub use crate::mail::Notice;

/// Whose account it was.
pub enum Whose<'a> {
    /// The signed-in user (a portal-local account has no mail address: nothing is sent).
    Session(&'a SessionRow),
    Dn(&'a str),
    /// An employee by objectGUID (hex), as the store knows them.
    Employee(&'a str),
}

enum Owned {
    Dn(String),
    Guid(String),
}

/// Queues the notice when mail is set up; returns at once.
pub fn send(state: &AppState, whose: Whose<'_>, notice: Notice, addr: &ClientAddr) {
    if state.config.mail.is_none() {
        return;
    }
    let owner = match whose {
        Whose::Session(row) if row.principal().is_local() => return,
        Whose::Session(row) => Owned::Dn(row.user_dn.clone()),
        Whose::Dn(dn) => Owned::Dn(dn.to_string()),
        Whose::Employee(guid) => Owned::Guid(guid.to_string()),
    };
    let state = state.clone();
    let from = addr.0.map(|a| a.to_string());
    let at = state.now();
    tokio::spawn(async move {
        if let Err(e) = queue(&state, owner, &notice, at, from.as_deref()).await {
            tracing::warn!(error = %e, ?notice, "a notice could not be queued");
        }
    });
}

async fn queue(state: &AppState, owner: Owned, notice: &Notice, at: i64, from: Option<&str>) -> anyhow::Result<()> {
    let directory = state.directory().map_err(|e| anyhow::anyhow!(e.0.message()))?;
    let dn = match owner {
        Owned::Dn(dn) => dn,
        Owned::Guid(guid) => match directory.find_by_guid(&guid).await? {
            Some(user) => user.dn,
            None => return Ok(()),
        },
    };
    let facts = directory.account_facts(&dn).await?;
    let Some(to) = facts.mail.as_deref() else {
        tracing::info!(user = %facts.user.sam_account_name, "no mail address: the notice is not sent");
        return Ok(());
    };
    let rendered = super::mail::wording(state).notice(facts.user.greeting_name(), notice, at, from);
    super::mail::queue(state, MailKind::Notice, to, &rendered, None).await?;
    Ok(())
}
