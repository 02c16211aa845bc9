//! The API's error type: an [`ErrorKind`] users can read, with the HTTP status it deserves.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_api::{ApiError, ErrorKind};

use crate::directory::DirectoryError;

#[derive(Debug)]
pub struct AppError(pub ErrorKind);

impl AppError {
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            ErrorKind::InvalidCredentials | ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::WrongCurrentPassword | ErrorKind::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ErrorKind::TooYoung { .. }
            | ErrorKind::TooShort { .. }
            | ErrorKind::NotComplex
            | ErrorKind::InHistory
            | ErrorKind::SameAsCurrent
            | ErrorKind::PolicyViolation { .. }
            | ErrorKind::RejectedByDirectory
            | ErrorKind::ConfirmationMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::LockedOut => StatusCode::LOCKED,
            ErrorKind::Disabled
            | ErrorKind::AccountExpired
            | ErrorKind::NotPermitted
            | ErrorKind::CsrfRejected
            | ErrorKind::Forbidden
            | ErrorKind::SecondFactorRequired
            | ErrorKind::StepUpRequired
            | ErrorKind::NoSecondFactor { .. }
            | ErrorKind::NotAnEmployee
            | ErrorKind::ProtectedAccount => StatusCode::FORBIDDEN,
            ErrorKind::WrongCode => StatusCode::UNAUTHORIZED,
            ErrorKind::DirectoryUnavailable | ErrorKind::KeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::NoActiveKey => StatusCode::CONFLICT,
            ErrorKind::UnknownListFilter
            | ErrorKind::InvalidLoginType
            | ErrorKind::EntraNeedsUpn
            | ErrorKind::InvalidAccountName
            | ErrorKind::InvalidLogonName
            | ErrorKind::InvalidManifestLine
            | ErrorKind::InvalidSerial
            | ErrorKind::InvalidPublicKey
            | ErrorKind::InvalidActivationCode
            | ErrorKind::UnknownReason
            | ErrorKind::ManifestTooLong { .. } => StatusCode::BAD_REQUEST,
            ErrorKind::LogonNameTaken
            | ErrorKind::AlreadyEnrolled
            | ErrorKind::DuplicateKey
            | ErrorKind::NoKeyForAccount
            | ErrorKind::NoFreeSlot
            | ErrorKind::KeyNotReady { .. }
            | ErrorKind::InvalidTransition { .. } => StatusCode::CONFLICT,
            ErrorKind::MailNotConfigured | ErrorKind::ChangeInProgress => StatusCode::CONFLICT,
            ErrorKind::Misconfigured => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code, for the audit log.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }
}

impl From<ErrorKind> for AppError {
    fn from(kind: ErrorKind) -> Self {
        AppError(kind)
    }
}

impl From<DirectoryError> for AppError {
    fn from(e: DirectoryError) -> Self {
        AppError(match e {
            DirectoryError::InvalidCredentials => ErrorKind::InvalidCredentials,
            DirectoryError::WrongCurrentPassword => ErrorKind::WrongCurrentPassword,
            DirectoryError::LockedOut => ErrorKind::LockedOut,
            DirectoryError::Disabled => ErrorKind::Disabled,
            DirectoryError::AccountExpired => ErrorKind::AccountExpired,
            DirectoryError::NotPermitted => ErrorKind::NotPermitted,
            DirectoryError::PolicyRefused => ErrorKind::RejectedByDirectory,
            DirectoryError::MustChange | DirectoryError::Expired => ErrorKind::InvalidCredentials,
            DirectoryError::Unavailable(reason) => {
                tracing::warn!(%reason, "directory unavailable");
                ErrorKind::DirectoryUnavailable
            }
            DirectoryError::Misconfigured(reason) => {
                tracing::error!(%reason, "directory misconfigured");
                ErrorKind::DirectoryUnavailable
            }
            DirectoryError::Unexpected { rc, text } => {
                tracing::error!(rc, %text, "unexpected directory answer");
                ErrorKind::Internal
            }
        })
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        AppError(ErrorKind::Internal)
    }
}

impl From<crate::store::KeyRegistryError> for AppError {
    fn from(e: crate::store::KeyRegistryError) -> Self {
        use crate::store::KeyRegistryError as K;
        match e {
            K::Database(e) => AppError::from(e),
            K::NoSuchKey(_) => AppError(ErrorKind::NotFound),
            K::Duplicate(_) => AppError(ErrorKind::DuplicateKey),
            K::EmptySerial | K::BadSerial => AppError(ErrorKind::InvalidSerial),
            K::BadPublicKey => AppError(ErrorKind::InvalidPublicKey),
            K::BadActivationCode => AppError(ErrorKind::InvalidActivationCode),
            K::NotReady { status, .. } => AppError(ErrorKind::KeyNotReady { status }),
            K::NoKey(_) => AppError(ErrorKind::NoKeyForAccount),
            K::NoFreeSlot => AppError(ErrorKind::NoFreeSlot),
            K::InvalidTransition { from, to } => AppError(ErrorKind::InvalidTransition { from, to }),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match &self.0 {
            ErrorKind::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let mut response = (status, Json(ApiError::from(self.0))).into_response();
        if let Some(secs) = retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}
