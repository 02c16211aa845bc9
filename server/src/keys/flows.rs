//! The operations a connected key offers, one request at a time: onboarding, a change on the
//! key only, a change in the directory and on the key, and signing in with the key.

use latchkey_api::relay::{ProgressStep, RelayEvent, RelayRequest};
use latchkey_api::{ErrorKind, Password};
use latchkey_protocol::message::{AccountListing, Command, KeyError, Reply, Secret};

use super::channel::{key_error_message, Channel, Failure};
use super::connect::{list, refused, views, Connected};
use super::generate;
use super::reconcile;
use crate::service::audit;
use crate::service::changed;
use crate::service::notices;
use crate::service::password::{change_in_directory, check_change};
use crate::service::step_up::{self, Taken};
use crate::session::{self, ClientAddr};
use crate::state::AppState;
use crate::store::{SessionRow, Staging, Step};
use latchkey_api::key_refusal::{KeyRefusal, RelayProblem};
use latchkey_api::recovery::RecoveryAction;
use latchkey_api::registry::KeyStatus;

/// How long a sign-in ticket may wait to be redeemed.
const TICKET_TTL_SECS: i64 = 60;

/// An operation's outcome: done (with a message), or refused (the session goes on).
type Outcome = Result<String, Failure>;

/// Serves the page's requests until it ends the session. Returns on a failure that ends it.
pub async fn serve(
    ch: &mut Channel,
    state: &AppState,
    mut key: Connected,
    user: Option<&SessionRow>,
    addr: &ClientAddr,
) -> Result<(), Failure> {
    while let Some(request) = ch.request().await? {
        // The session may have ended since the socket opened (a change or a recovery elsewhere).
        if let Some(user) = user {
            if state.store.session(&user.token_hash, state.now()).await?.is_none() {
                return Err(Failure::from_kind(&ErrorKind::Unauthenticated));
            }
        }
        let actor = user.map(|u| u.username.clone()).unwrap_or_else(|| audit::key_actor(&key.key.serial));
        // A listing left from before this request says nothing of what it did.
        ch.take_listing();
        let (action, outcome) = match (request, user) {
            (RelayRequest::SignIn, _) => (audit::action::KEY_SIGN_IN, sign_in(ch, state, &key).await),
            (RelayRequest::Recover { action, code }, _) => {
                let audited = match action {
                    RecoveryAction::Unlock => audit::action::RECOVERY_UNLOCK,
                    RecoveryAction::Reset => audit::action::RECOVERY_RESET_WITH_KEY,
                };
                (audited, super::recover::recover(ch, state, &key, action, code, addr).await)
            }
            (_, None) => (audit::action::KEY_OPERATION, Err(Failure::from_kind(&ErrorKind::Unauthenticated))),
            (RelayRequest::ConfirmIdentity, Some(user)) => {
                (audit::action::STEP_UP_KEY, confirm_identity(ch, state, &key, user).await)
            }
            (RelayRequest::Onboard { account, password }, Some(user)) => (
                audit::action::KEY_ONBOARD,
                confirmed(ch, state, user, false, |ch| onboard(ch, state, &key, user, addr, account, password)).await,
            ),
            (RelayRequest::ChangeOnKey { account, password, confirm_unverified }, Some(user)) => (
                audit::action::KEY_CHANGE_ON_KEY,
                confirmed(ch, state, user, false, |ch| {
                    change_on_key(ch, state, &key, user, addr, account, password, confirm_unverified)
                })
                .await,
            ),
            // Reading the current password off the key takes a press already: in
            // `key_or_totp`, that press is the confirmation.
            (RelayRequest::ChangeEverywhere { account, password }, Some(user)) => (
                audit::action::KEY_CHANGE_EVERYWHERE,
                confirmed(ch, state, user, true, |ch| {
                    change_everywhere(ch, state, &key, user, addr, account, password)
                })
                .await,
            ),
            (RelayRequest::Beacon { .. } | RelayRequest::Activate { .. }, _) => {
                (audit::action::KEY_OPERATION, Err(Failure::relay(RelayProblem::AlreadyConnected)))
            }
        };
        let result = outcome.as_ref().map(|_| "success").unwrap_or_else(|f| f.code());
        audit::record_result(state, &actor, action, &key.key.serial, result, addr).await;
        match outcome {
            Ok(ticket) if action == audit::action::KEY_SIGN_IN => ch.send(&RelayEvent::SignedIn { ticket }).await?,
            Ok(message) => {
                // The flow's last write brought the listing back in its own round trip.
                key.accounts = match ch.take_listing() {
                    Some(accounts) => accounts,
                    None => list(ch).await?,
                };
                ch.send(&RelayEvent::Done { message, accounts: views(&key.accounts) }).await?;
            }
            // Lost links and broken frames end the session; anything else is the operation's.
            Err(f) if ends_session(&f) => return Err(f),
            Err(f) => ch.send(&refused(&f)).await?,
        }
    }
    Ok(())
}

/// Runs a flow that writes a password once the owner is confirmed (`service::step_up`): by
/// the session's confirmation, or in `key_or_totp` by a press on this key (their own: the
/// connection checked it) unless the flow's own press follows. A refused flow gives the
/// session's confirmation back.
async fn confirmed<'c, F>(
    ch: &'c mut Channel,
    state: &AppState,
    user: &SessionRow,
    press_follows: bool,
    flow: impl FnOnce(&'c mut Channel) -> F,
) -> Outcome
where
    F: std::future::Future<Output = Outcome> + 'c,
{
    let taken = step_up::take_in_key_flow(state, user).await?;
    if taken == Taken::PressOnKey && !press_follows {
        press(ch).await?;
    }
    let outcome = flow(ch).await;
    if outcome.as_ref().is_err_and(refused_before_writing) {
        step_up::give_back(state, user, taken).await;
    }
    outcome
}

/// Waits for a press on the key's button.
pub(super) async fn press(ch: &mut Channel) -> Result<(), Failure> {
    progress(ch, ProgressStep::ConfirmOnKey).await?;
    match ch.call_one(Command::ConfirmPresence).await? {
        Ok(_) => Ok(()),
        Err(e) => Err(Failure::key(e)),
    }
}

/// Step-up with the key: a press on the owner's own active key confirms them for the next
/// password write of their session (on the password page, say).
async fn confirm_identity(ch: &mut Channel, state: &AppState, key: &Connected, user: &SessionRow) -> Outcome {
    // In a session the key started, with an authenticator enrolled, the key is not the factor.
    if !step_up::factors(state, user).await?.key || key.key.status != KeyStatus::Active {
        return Err(Failure::from_kind(&ErrorKind::Forbidden));
    }
    press(ch).await?;
    step_up::grant(state, user).await?;
    Ok("Confirmed with your key: you may change your password now.".into())
}

/// A refusal that came before anything was written to the key or the directory.
fn refused_before_writing(f: &Failure) -> bool {
    match &f.0 {
        KeyRefusal::WrongPassword
        | KeyRefusal::Unverified
        | KeyRefusal::EmptyPassword
        | KeyRefusal::EmptyKeyPassword
        | KeyRefusal::NoSuchAccount
        | KeyRefusal::NotDirectoryManaged
        | KeyRefusal::NoPasswordOnKey { .. } => true,
        KeyRefusal::Api(kind) => step_up::refused_before_writing(kind),
        _ => false,
    }
}

fn ends_session(f: &Failure) -> bool {
    f.0.ends_session() || f.0 == KeyRefusal::Api(ErrorKind::Internal)
}

pub(super) async fn progress(ch: &mut Channel, step: ProgressStep) -> Result<(), Failure> {
    ch.send(&RelayEvent::Progress { step }).await
}

fn listing(key: &Connected, account: u16) -> Result<&AccountListing, Failure> {
    key.accounts.iter().find(|l| l.account.id == account).ok_or(Failure(KeyRefusal::NoSuchAccount))
}

/// What the directory says of a password.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Accepted,
    /// Right, but "must change at next logon" or expired (773 / 532).
    AcceptedMustChange,
    Wrong,
}

/// Asks the directory about `password` for the user: one bind (rate-limited; a wrong one costs
/// one badPwdCount, as a sign-in would).
async fn verify(
    state: &AppState,
    user: &SessionRow,
    addr: &ClientAddr,
    password: &Password,
) -> Result<Verdict, Failure> {
    state.limits.attempt(&user.username, addr.0).await?;
    match crate::service::lockout::authenticate(state, &user.username, password).await {
        Ok((signed_in, _)) if signed_in.change_required.is_some() => Ok(Verdict::AcceptedMustChange),
        Ok(_) => Ok(Verdict::Accepted),
        Err(crate::error::AppError(ErrorKind::InvalidCredentials)) => Ok(Verdict::Wrong),
        Err(e) => Err(e.into()),
    }
}

async fn set_on_key(ch: &mut Channel, account: u16, password: &Password) -> Result<(), Failure> {
    let command = Command::SetPassword { id: account, password: Secret::new(password.expose()) };
    match ch.call_and_list(command).await? {
        Ok(_) => Ok(()),
        Err(e) => Err(Failure::key(e)),
    }
}

/// Onboarding: the current directory password, verified, then stored on the key, in the
/// directory's account only: the domain password never goes into another system's slot.
async fn onboard(
    ch: &mut Channel,
    state: &AppState,
    key: &Connected,
    user: &SessionRow,
    addr: &ClientAddr,
    account: u16,
    password: Password,
) -> Outcome {
    if !listing(key, account)?.account.directory_managed {
        return Err(Failure(KeyRefusal::NotDirectoryManaged));
    }
    if password.is_empty() {
        return Err(Failure(KeyRefusal::EmptyPassword));
    }
    progress(ch, ProgressStep::Verifying).await?;
    let verdict = verify(state, user, addr, &password).await?;
    if verdict == Verdict::Wrong {
        return Err(Failure(KeyRefusal::WrongPassword));
    }
    progress(ch, ProgressStep::Storing).await?;
    set_on_key(ch, account, &password).await?;
    Ok(if verdict == Verdict::AcceptedMustChange {
        "The key now holds your current password. The directory requires a new one before it can be used: \
         change it everywhere now."
            .into()
    } else {
        "The key now holds your current password.".into()
    })
}

/// A change on the key only; the directory is untouched.
#[allow(clippy::too_many_arguments)]
async fn change_on_key(
    ch: &mut Channel,
    state: &AppState,
    key: &Connected,
    user: &SessionRow,
    addr: &ClientAddr,
    account: u16,
    password: Password,
    confirm_unverified: bool,
) -> Outcome {
    let directory_managed = listing(key, account)?.account.directory_managed;
    if password.is_empty() {
        return Err(Failure(KeyRefusal::EmptyKeyPassword));
    }
    // Another system's password is never tried against the directory: a wrong "domain"
    // password there would count against the user's domain account.
    let confirm_unverified = confirm_unverified || !directory_managed;
    if !confirm_unverified {
        progress(ch, ProgressStep::Verifying).await?;
        if verify(state, user, addr, &password).await? == Verdict::Wrong {
            return Err(Failure(KeyRefusal::Unverified));
        }
    }
    progress(ch, ProgressStep::Storing).await?;
    set_on_key(ch, account, &password).await?;
    Ok(if confirm_unverified {
        "The key holds the password you typed; the directory was not changed.".into()
    } else {
        "The key holds the password you typed (the directory accepts it).".into()
    })
}

/// A change in the directory and on the key, two-phase and journaled: read the current
/// password and stage the new one on the key; change the directory as the user; commit.
async fn change_everywhere(
    ch: &mut Channel,
    state: &AppState,
    key: &Connected,
    user: &SessionRow,
    addr: &ClientAddr,
    account: u16,
    typed: Option<Password>,
) -> Outcome {
    let listed = listing(key, account)?;
    // Only a directory-managed account holds the password the directory has.
    if !listed.account.directory_managed {
        return Err(Failure(KeyRefusal::NotDirectoryManaged));
    }
    if !listed.has_password {
        return Err(Failure(KeyRefusal::NoPasswordOnKey { said: key_error_message(KeyError::NoPassword) }));
    }
    state.limits.attempt(&user.username, addr.0).await?;
    let directory = state.directory()?;
    let facts = directory.account_facts(&user.user_dn).await?;
    if !facts.may_change {
        return Err(Failure::from_kind(&ErrorKind::NotPermitted));
    }
    let new = generate::typed_or_generated(typed, &facts.policy, &facts.user.account(), &state.checker)
        .map_err(|e| Failure::from_kind(&e))?;

    let journal = state
        .store
        .journal_start(key.key.id, account, &user.user_dn, facts.password_last_set_ticks, state.now())
        .await?;
    progress(ch, ProgressStep::ConfirmOnKey).await?;
    let results = ch
        .call(vec![
            Command::ReadPassword { id: account },
            Command::Stage { id: account, password: Secret::new(new.expose()) },
        ])
        .await?;
    let mut results = results.into_iter();
    let (read, staged) = (results.next(), results.next());
    // The key stops at the first error: a staged password exists only when Stage answered.
    let staged_ok = matches!(staged, Some(Ok(_)));
    let current = match read {
        Some(Ok(Reply::Passwords { current: Some(current), .. })) => Password::new(current.expose()),
        Some(Err(e)) => return abandon(state, journal, Failure::key(e)).await,
        _ => {
            let failure = Failure(KeyRefusal::NoPasswordOnKey { said: key_error_message(KeyError::NoPassword) });
            // Staged beside nothing: dropped again, so the key keeps what it had.
            return if staged_ok {
                undo(ch, state, journal, account, failure).await
            } else {
                abandon(state, journal, failure).await
            };
        }
    };
    match staged {
        Some(Ok(_)) => {}
        Some(Err(e)) => return abandon(state, journal, Failure::key(e)).await,
        None => {
            return abandon(state, journal, Failure(KeyRefusal::KeyProtocol { detail: "it did not stage".into() }))
                .await
        }
    }
    state.store.journal_step(journal, Step::Staged, state.now()).await?;

    // The press may have taken a while: the baseline is read again right before the write, so
    // nothing done to the account meanwhile (an administrator's "must change") passes for ours.
    let facts = match directory.account_facts(&user.user_dn).await {
        Ok(facts) => facts,
        Err(e) => return undo(ch, state, journal, account, Failure::from(e)).await,
    };
    state.store.journal_rebase(journal, facts.password_last_set_ticks, state.now()).await?;
    let checked = match check_change(state, &facts, &current, &new) {
        Ok(checked) => checked,
        Err(e) => return undo(ch, state, journal, account, Failure::from(e)).await,
    };
    // The employee's other keys get it sealed, staged before the write and confirmed after it,
    // so a crash in between leaves them something their next connection settles.
    let employee = key.key.employee.as_ref().map(|e| e.id);
    let staging = Staging {
        user_dn: user.user_dn.clone(),
        baseline: facts.password_last_set_ticks,
        by_reset: false,
        audit_action: None,
    };
    let secret = Secret::new(new.expose());
    let staged = match changed::stage(state, employee, &secret, Some(key.key.id), &staging).await {
        Ok(staged) => staged,
        Err(e) => return undo(ch, state, journal, account, Failure::from(e)).await,
    };
    drop(secret);
    progress(ch, ProgressStep::Directory).await?;
    if let Err(e) = change_in_directory(state, &facts, &current, &new, false, checked).await {
        let no_answer = matches!(e.0, ErrorKind::DirectoryUnavailable | ErrorKind::Internal);
        let failure = Failure::from(e);
        // A refusal is a refusal: the key drops the new password, the other keys theirs.
        if !no_answer {
            staged.discard(state).await;
            return undo(ch, state, journal, account, failure).await;
        }
        // No answer: the DC may still have applied it. pwdLastSet tells, when nothing else can
        // explain a move; otherwise the change is left to reconciliation on the next connection.
        let after = directory.account_facts(&user.user_dn).await.map_err(|_| Failure(KeyRefusal::ChangeUnsettled))?;
        match reconcile::verdict(
            state,
            &facts.user.sam_account_name,
            facts.password_last_set_ticks,
            &after,
            journal_since(state),
        )
        .await?
        {
            reconcile::Verdict::Changed => {}
            _ => {
                staged.discard(state).await;
                return undo(ch, state, journal, account, failure).await;
            }
        }
    }
    state.store.journal_step(journal, Step::DirectoryChanged, state.now()).await?;
    drop(new);
    let (_, others) = changed::own_change(state, user, staged).await;
    let notice = notices::Notice::ChangedWithKey { serial: key.key.serial.clone() };
    notices::send(state, notices::Whose::Session(user), notice, addr);

    progress(ch, ProgressStep::Committing).await?;
    match ch.call_and_list(Command::Commit { id: account }).await? {
        Ok(_) => state.store.journal_step(journal, Step::Committed, state.now()).await?,
        Err(e) => return Err(Failure::key(e)),
    }
    Ok(if others.is_empty() {
        "Your password was changed in the directory and on the key.".into()
    } else {
        format!(
            "Your password was changed in the directory and on the key; {} will take it when connected next.",
            others.join(", ")
        )
    })
}

/// The baseline was read just now: admin writes since then would show in the audit.
fn journal_since(state: &AppState) -> i64 {
    state.now() - 60
}

/// Drops the staged password on the key and closes the journal entry as aborted.
pub(super) async fn undo(ch: &mut Channel, state: &AppState, journal: i64, account: u16, failure: Failure) -> Outcome {
    state.store.journal_step(journal, Step::Aborted, state.now()).await?;
    if let Ok(Err(e)) = ch.call_one(Command::Abort { id: account }).await {
        tracing::warn!(error = %e, "the key refused to drop the staged password");
    }
    Err(failure)
}

pub(super) async fn abandon(state: &AppState, journal: i64, failure: Failure) -> Outcome {
    state.store.journal_step(journal, Step::Aborted, state.now()).await?;
    Err(failure)
}

/// Sign-in with the key: its authenticated channel plus a press on its button.
async fn sign_in(ch: &mut Channel, state: &AppState, key: &Connected) -> Outcome {
    press(ch).await?;
    let ticket = session::new_token();
    let expires_at = state.now() + TICKET_TTL_SECS;
    state.store.create_sign_in_ticket(&session::hash_token(&ticket), key.key.id, expires_at).await?;
    Ok(ticket)
}
