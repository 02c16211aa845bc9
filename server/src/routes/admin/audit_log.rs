//! The audit log for administrators: filtered, as JSON or CSV, with the chain's verdict.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_api::admin::{AuditVerdict, AuditView};
use serde::Deserialize;

use super::Admin;
use crate::error::AppError;
use crate::routes::ApiQuery;
use crate::state::AppState;
use crate::store::AuditSearch;

/// Most entries one answer carries: a page of the table, or one CSV export.
const MAX_PAGE: i64 = 500;
const MAX_EXPORT: i64 = 10_000;
/// Most actions one search names.
const MAX_ACTIONS: usize = 16;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    format: String,
    /// `failure`: only entries whose result is not a success.
    #[serde(default)]
    outcome: String,
    /// Exactly this result (an error's code, or `success`).
    #[serde(default)]
    result: String,
    /// Only entries at or after this moment (Unix seconds).
    #[serde(default)]
    since: i64,
    /// The id of the oldest entry already shown: the next page holds older ones.
    before: Option<i64>,
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/admin/audit", tag = "admin", params(AuditQuery), responses((status = 200, description = "Matching entries, newest first", content((Vec<AuditView> = "application/json"), (String = "text/csv"))), crate::routes::openapi::Refusals))]
pub async fn search(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Response, AppError> {
    let max = if q.format == "csv" { MAX_EXPORT } else { MAX_PAGE };
    let limit = q.limit.unwrap_or(max).clamp(1, max);
    // `action` may name several, comma-separated (all the sign-in actions, say).
    let actions: Vec<&str> = q.action.split(',').take(MAX_ACTIONS).collect();
    let search = AuditSearch {
        actor: &q.actor,
        target: &q.target,
        actions: &actions,
        since: q.since,
        result: &q.result,
        failures_only: q.outcome == "failure",
        before: q.before,
    };
    let entries = state.store.search_audit(&search, limit).await?;
    if q.format != "csv" {
        return Ok(Json(entries.into_iter().map(AuditView::from).collect::<Vec<_>>()).into_response());
    }
    let mut csv = String::from("at,actor,action,target,result,client_addr\n");
    for e in entries.into_iter().map(|found| found.entry) {
        let fields = [iso_8601(e.at), e.actor, e.action, e.target, e.result, e.client_addr.unwrap_or_default()];
        csv.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        csv.push('\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"audit.csv\""),
        ],
        csv,
    )
        .into_response())
}

/// `GET /api/admin/audit/verify`: whether the chain is whole, and where it breaks.
#[utoipa::path(get, path = "/admin/audit/verify", tag = "admin", responses((status = 200, description = "Whether the hash chain is whole", body = AuditVerdict), crate::routes::openapi::Refusals))]
pub async fn verify(State(state): State<AppState>, Admin(_): Admin) -> Result<Json<AuditVerdict>, AppError> {
    let broken = state.store.verify_audit().await?;
    Ok(Json(AuditVerdict {
        intact: broken.is_none(),
        first_broken_id: broken.as_ref().map(|b| b.id),
        truncated: broken.is_some_and(|b| b.truncated),
    }))
}

/// UTC, to the second, as spreadsheets read it: `2026-11-29T23:35:07Z`.
fn iso_8601(unix_secs: i64) -> String {
    chrono::DateTime::from_timestamp(unix_secs, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| unix_secs.to_string())
}

/// RFC 4180 quoting; a leading `= + - @`, tab or carriage return is neutralised so a
/// spreadsheet does not run it as a formula.
fn csv_field(value: &str) -> String {
    let value =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_string() };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::{csv_field, iso_8601};

    #[test]
    fn times_are_iso_8601_in_utc() {
        assert_eq!(iso_8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_8601(1_795_981_642), "2026-11-29T19:47:22Z");
    }

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("\t=cmd()"), "'\t=cmd()");
        assert_eq!(csv_field("\r=cmd()"), "\"'\r=cmd()\"");
        assert_eq!(csv_field("a-b"), "a-b", "only a leading sign is a formula");
    }
}
