//! Employees: the sync from the administered directory group, the list, one employee's page,
//! their accounts on keys, and the account flags an administrator sets in the directory.

use axum::extract::State;
use axum::Json;
use latchkey_api::admin::{
    AccountView, DeliveryView, DirectoryFacts, EmployeeDetail, EmployeePage, EmployeeSummary, FlagsChange, KeyView,
    NewAccount, SyncReport,
};
use latchkey_api::registry::LoginType;
use latchkey_api::ErrorKind;
use serde::Deserialize;

use super::Admin;
use crate::error::AppError;
use crate::routes::{ApiJson, ApiPath, ApiQuery};
use crate::service::access;
use crate::service::audit;
use crate::session::ClientAddr;
use crate::state::AppState;
use crate::store::{AccountLogin, EmployeeCursor, EmployeeState, KeyRow, PageAt};

/// Most employees one page lists.
const MAX_PAGE: i64 = 200;
/// Longest cursor accepted (an id and a logon name).
const MAX_CURSOR: usize = 600;

#[utoipa::path(post, path = "/admin/employees/sync", tag = "admin", responses((status = 200, description = "The group was read into the employee list", body = SyncReport), crate::routes::openapi::Refusals))]
pub async fn sync(
    State(state): State<AppState>,
    addr: ClientAddr,
    Admin(admin): Admin,
) -> Result<Json<SyncReport>, AppError> {
    let outcome = crate::sync::employees(&state).await.map(|r| SyncReport {
        added: r.added,
        updated: r.updated,
        removed: r.removed,
        unchanged: r.unchanged,
    });
    audit::record(&state, &admin.username, audit::action::ADMIN_SYNC_EMPLOYEES, "employees", &outcome, &addr).await;
    outcome.map(Json)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    /// A cursor from the previous answer: the page after it, or before it.
    after: Option<String>,
    before: Option<String>,
    limit: Option<i64>,
    /// all (default), active, disabled, removed, without_key.
    #[serde(default)]
    state: String,
}

#[utoipa::path(get, path = "/admin/employees", tag = "admin", params(ListQuery), responses((status = 200, description = "A page of employees", body = EmployeePage), crate::routes::openapi::Refusals))]
pub async fn list(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<EmployeePage>, AppError> {
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let filter = EmployeeState::parse(&query.state, state.now()).ok_or(AppError(ErrorKind::UnknownListFilter))?;
    let cursor = |text: &str| {
        // A cursor is an id and a logon name: anything longer is not one this list gave.
        Some(text).filter(|t| t.len() <= MAX_CURSOR).and_then(EmployeeCursor::parse).ok_or_else(|| {
            AppError(ErrorKind::BadRequest { reason: "the page cursor is not one this list gave".into() })
        })
    };
    let at = match (&query.after, &query.before) {
        (None, None) => PageAt::First,
        (Some(after), None) => PageAt::After(cursor(after)?),
        (None, Some(before)) => PageAt::Before(cursor(before)?),
        (Some(_), Some(_)) => {
            return Err(AppError(ErrorKind::BadRequest { reason: "ask for the page after or before, not both".into() }))
        }
    };
    let page = state.store.employees(&query.q, filter, &at, limit).await?;
    let previous = page.rows.first().filter(|_| page.more_before).map(|r| EmployeeCursor::of(r).to_string());
    let next = page.rows.last().filter(|_| page.more_after).map(|r| EmployeeCursor::of(r).to_string());
    let employees = page
        .rows
        .into_iter()
        .map(|e| EmployeeSummary {
            username: e.username,
            display_name: e.display_name,
            disabled: e.disabled != 0,
            removed: e.removed_at.is_some(),
            keys: e.keys as u32,
        })
        .collect();
    Ok(Json(EmployeePage { employees, total: page.total as u64, previous, next }))
}

#[utoipa::path(get, path = "/admin/employees/{username}", tag = "admin", params(("username" = String, Path, description = "The employee's logon name")), responses((status = 200, description = "One employee", body = EmployeeDetail), crate::routes::openapi::Refusals))]
pub async fn detail(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<EmployeeDetail>, AppError> {
    let employee = state.store.employee_by_username(&username).await?.ok_or(AppError(ErrorKind::NotFound))?;
    let row = state.store.employee_row(employee.id).await?.ok_or(AppError(ErrorKind::NotFound))?;
    let directory = match state.directory()?.find_user(&employee.username).await {
        Ok(Some(user)) if user.object_guid == employee.object_guid => {
            state.directory()?.account_facts(&user.dn).await.ok().map(|f| DirectoryFacts {
                password_last_set: f.password_last_set,
                expires_at: f.expires_at,
                locked_out: f.locked_out,
                may_change: f.may_change,
                must_change: f.password_last_set_ticks == 0,
            })
        }
        _ => None,
    };
    let keys = state.store.keys_of(employee.id).await?;
    let accounts = state
        .store
        .accounts_of(employee.id)
        .await?
        .into_iter()
        .map(|(serial, a, pending)| AccountView {
            key: serial,
            slot: a.slot as u16,
            name: a.name,
            login_type: a.login_type,
            login: if a.domain.is_empty() { a.login } else { format!("{}\\{}", a.domain, a.login) },
            pending_delivery: pending,
        })
        .collect();
    let audit = state.store.audit_of(&employee.username).await?;
    let mut key_history = Vec::new();
    let mut waiting_deliveries = Vec::new();
    for key in &keys {
        key_history.extend(state.store.audit_of(&key.serial).await?);
        for d in state.store.pending_deliveries(key.id).await? {
            let slot = u16::try_from(d.slot).unwrap_or(0);
            waiting_deliveries.push(DeliveryView { key: key.serial.clone(), slot, queued_at: d.created_at });
        }
    }
    key_history.sort_by_key(|e| std::cmp::Reverse(e.at));
    let totp_enrolled = state.store.totp_enrolled(&crate::identity::LoginKey::of(&employee.username)).await?;
    Ok(Json(EmployeeDetail {
        username: employee.username,
        display_name: employee.display_name,
        disabled: row.disabled != 0,
        removed: row.removed_at.is_some(),
        directory,
        keys: keys.iter().map(key_view).collect(),
        accounts,
        audit: audit.into_iter().rev().map(Into::into).collect(),
        key_history: key_history.into_iter().map(Into::into).collect(),
        waiting_deliveries,
        totp_enrolled,
        review_requested_at: state.store.review_requested_at(employee.id).await?,
    }))
}

#[utoipa::path(post, path = "/admin/employees/{username}/accounts", tag = "admin", params(("username" = String, Path, description = "The employee's logon name")), request_body = NewAccount, responses((status = 200, description = "The serials of the keys the account was queued to", body = Vec<String>), crate::routes::openapi::Refusals))]
pub async fn add_account(
    State(state): State<AppState>,
    addr: ClientAddr,
    Admin(admin): Admin,
    ApiPath(username): ApiPath<String>,
    ApiJson(request): ApiJson<NewAccount>,
) -> Result<Json<Vec<String>>, AppError> {
    audit::audited(&state, &admin.username, audit::action::ADMIN_ADD_ACCOUNT, &username, &addr, async {
        access::administrable(&state, &username).await?;
        let login = match LoginType::parse(&request.login_type) {
            Some(LoginType::Domain) if !request.domain.trim().is_empty() => {
                AccountLogin::Domain { domain: request.domain.trim() }
            }
            Some(LoginType::Entra) => AccountLogin::Entra {
                upn: request
                    .login
                    .as_deref()
                    .map(str::trim)
                    .filter(|l| l.contains('@'))
                    .ok_or(AppError(ErrorKind::EntraNeedsUpn))?,
            },
            _ => return Err(AppError(ErrorKind::InvalidLoginType)),
        };
        let name = request.name.trim();
        if name.is_empty() || name.len() > latchkey_protocol::message::MAX_NAME_BYTES {
            return Err(AppError(ErrorKind::InvalidAccountName));
        }
        let serials = state.store.add_account(&username, login, name, state.now()).await?;
        Ok(serials)
    })
    .await
    .map(Json)
}

#[utoipa::path(post, path = "/admin/employees/{username}/flags", tag = "admin", params(("username" = String, Path, description = "The employee's logon name")), request_body = FlagsChange, responses((status = 200, description = "The directory flags are set"), crate::routes::openapi::Refusals))]
pub async fn flags(
    State(state): State<AppState>,
    addr: ClientAddr,
    Admin(admin): Admin,
    ApiPath(username): ApiPath<String>,
    ApiJson(request): ApiJson<FlagsChange>,
) -> Result<(), AppError> {
    let mut audited = username.clone();
    let outcome = async {
        let target = access::administrable(&state, &username).await?;
        audited = target.employee.username.clone();
        let user = target.user;
        if let Some(must_change) = request.must_change {
            state.directory()?.set_must_change(&user.dn, must_change).await?;
        }
        if let Some(may_change) = request.may_change {
            state.directory()?.set_may_change(&user.dn, may_change).await?;
        }
        Ok(())
    }
    .await;
    audit::record(&state, &admin.username, audit::action::ADMIN_SET_FLAGS, &audited, &outcome, &addr).await;
    outcome
}

#[utoipa::path(post, path = "/admin/employees/{username}/unlock", tag = "admin", params(("username" = String, Path, description = "The employee's logon name")), responses((status = 200, description = "The account is unlocked"), crate::routes::openapi::Refusals))]
pub async fn unlock(
    State(state): State<AppState>,
    addr: ClientAddr,
    Admin(admin): Admin,
    ApiPath(username): ApiPath<String>,
) -> Result<(), AppError> {
    audit::audited(&state, &admin.username, audit::action::ADMIN_UNLOCK, &username, &addr, async {
        let user = access::administrable(&state, &username).await?.user;
        state.directory()?.unlock(&user.dn).await?;
        Ok(())
    })
    .await
}

pub fn key_view(k: &KeyRow) -> KeyView {
    KeyView {
        serial: k.serial.clone(),
        status: k.status,
        status_reason: k.status_reason,
        employee: k.employee.as_ref().map(|e| e.username.clone()),
    }
}

/// A portal-local account's "may not change password" / "must change at next logon".
#[utoipa::path(post, path = "/admin/local/{username}/flags", tag = "admin", params(("username" = String, Path, description = "The portal-local account")), request_body = latchkey_api::admin::LocalFlags, responses((status = 200, description = "The flags are set"), crate::routes::openapi::Refusals))]
pub async fn local_flags(
    State(state): State<AppState>,
    addr: ClientAddr,
    Admin(admin): Admin,
    ApiPath(username): ApiPath<String>,
    ApiJson(request): ApiJson<latchkey_api::admin::LocalFlags>,
) -> Result<(), AppError> {
    audit::audited(&state, &admin.username, audit::action::ADMIN_SET_LOCAL_FLAGS, &username, &addr, async {
        if !state.store.set_local_flags(&username, request.may_change, request.must_change).await? {
            return Err(AppError(ErrorKind::NotFound));
        }
        Ok(())
    })
    .await
}
