//! The audit log for administrators: filtered, as JSON or CSV, with the chain's verdict.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::employees::audit_view;
use super::Admin;
use crate::error::AppError;
use crate::state::AppState;

/// Most entries one answer carries: a page of the table, or one CSV export.
const MAX_PAGE: i64 = 500;
const MAX_EXPORT: i64 = 10_000;

#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    offset: i64,
    limit: Option<i64>,
}

pub async fn search(
    State(state): State<AppState>,
    Admin(_): Admin,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let max = if q.format == "csv" { MAX_EXPORT } else { MAX_PAGE };
    let limit = q.limit.unwrap_or(max).clamp(1, max);
    let entries = state.store.search_audit(&q.actor, &q.action, &q.target, q.offset, limit).await?;
    if q.format != "csv" {
        return Ok(Json(entries.into_iter().map(audit_view).collect::<Vec<_>>()).into_response());
    }
    let mut csv = String::from("at,actor,action,target,result,client_addr\n");
    for e in entries {
        let fields = [e.at.to_string(), e.actor, e.action, e.target, e.result, e.client_addr.unwrap_or_default()];
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
pub async fn verify(State(state): State<AppState>, Admin(_): Admin) -> Result<Json<serde_json::Value>, AppError> {
    let broken = state.store.verify_audit().await?;
    Ok(Json(serde_json::json!({
        "intact": broken.is_none(),
        "first_broken_id": broken.as_ref().map(|b| b.id),
        "truncated": broken.is_some_and(|b| b.truncated),
    })))
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
    use super::csv_field;

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
