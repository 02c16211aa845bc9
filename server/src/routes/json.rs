use axum::extract::rejection::JsonRejection;
use axum::extract::FromRequest;
use latchkey_api::ErrorKind;

use crate::error::AppError;

/// `Json` whose rejections are API errors with a reason, not plain text.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        AppError(ErrorKind::BadRequest { reason: rejection.body_text() })
    }
}
