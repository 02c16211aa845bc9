//! The API contract: an OpenAPI 3.1 document generated from the handlers' annotations and the
//! API crate's types, served at `/api/openapi.json` and kept in `api/openapi.json` (a test
//! compares the two, so a change to the contract shows up in review).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use latchkey_api::ApiError;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, OpenApi as _};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Latchkey",
        description = "Self-service for passwords kept on hardware keys. Every refusal is an `ApiError`: a stable \
                       `code`, its details and a message for people. State-changing requests must come from the \
                       portal's own origin (`Origin`); signed-in requests carry the session cookie."
    ),
    components(schemas(ApiError))
)]
struct ApiDoc;

/// Every error answer: 4xx for what the client can change, 5xx for what it cannot.
pub struct Refusals;

impl IntoResponses for Refusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let refusal = |description: &str| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ApiError"))).build();
            RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
        };
        BTreeMap::from([
            ("4XX".to_string(), refusal("Refused: the `code` says why and what to do")),
            ("5XX".to_string(), refusal("The server or a part it needs (directory, database, keys) failed")),
        ])
    }
}

/// The whole document, built once from the same routes the server serves.
pub fn document() -> &'static OpenApi {
    static DOCUMENT: OnceLock<OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, mut doc) = super::documented_routes().split_for_parts();
        let mut base = ApiDoc::openapi();
        base.paths = std::mem::take(&mut doc.paths);
        name_operations(&mut base);
        if let (Some(ours), Some(found)) = (base.components.as_mut(), doc.components.take()) {
            ours.schemas.extend(found.schemas);
        }
        base
    })
}

/// Operation ids from method and path (`post_api_password_change`): unique, as the format
/// requires, where handlers in different modules share a name.
fn name_operations(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let slug: String = path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        let slug = slug.trim_matches('_').replace("__", "_");
        for (method, operation) in [
            ("get", &mut item.get),
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("patch", &mut item.patch),
            ("delete", &mut item.delete),
        ] {
            if let Some(operation) = operation {
                operation.operation_id = Some(format!("{method}_{slug}"));
            }
        }
    }
}

#[utoipa::path(get, path = "/openapi.json", tag = "contract",
    responses((status = 200, description = "This document", body = Object, content_type = "application/json"), Refusals))]
pub async fn serve() -> impl IntoResponse {
    // Serialized once: the document never changes while the process runs.
    static JSON: OnceLock<String> = OnceLock::new();
    let json = JSON.get_or_init(|| document().to_pretty_json().unwrap_or_default()).as_str();
    ([(header::CONTENT_TYPE, "application/json")], json)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// The contract as checked in: a change to the API changes this file in the same commit.
    fn checked_in() -> PathBuf {
        // Read when run: a test binary built in another clone sharing the target folder is reused.
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../api/openapi.json")
    }

    #[test]
    fn the_checked_in_contract_is_the_generated_one() {
        let generated = super::document().to_pretty_json().unwrap() + "\n";
        if std::env::var_os("LATCHKEY_WRITE_CONTRACT").is_some() {
            std::fs::write(checked_in(), &generated).unwrap();
        }
        let kept = std::fs::read_to_string(checked_in()).unwrap_or_default();
        assert!(
            kept == generated,
            "api/openapi.json differs from the API the code serves; review the change and write it with \
             `LATCHKEY_WRITE_CONTRACT=1 cargo test -p latchkey-server --lib openapi`"
        );
    }

    #[test]
    fn every_operation_answers_refusals_as_api_errors_and_has_a_unique_id() {
        let doc: serde_json::Value = serde_json::from_str(&super::document().to_json().unwrap()).unwrap();
        let mut ids = std::collections::BTreeSet::new();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                operations += 1;
                assert!(ids.insert(op["operationId"].as_str().unwrap().to_string()), "{method} {path}");
                if path != "/healthz" && path != "/readyz" {
                    let refusal = &op["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(refusal, "#/components/schemas/ApiError", "{method} {path}");
                }
            }
        }
        // Positive control: the count is the router's (45 operations on 42 paths).
        assert_eq!((doc["paths"].as_object().unwrap().len(), operations), (42, 45));
        for code in ["rate_limited", "locked_out", "policy_violation", "step_up_required"] {
            assert!(
                doc["components"]["schemas"].to_string().contains(code),
                "the error codes are in the schema: {code}"
            );
        }
    }
}
