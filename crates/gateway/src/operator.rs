//! The operator listener: `/healthz` and `/readyz` open; `/metrics` (Prometheus) and the
//! read-only `/operator/v1/…` API behind the bearer token from `[operator] token`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use tenant_core::{Serving, Standing};

use crate::edge::Edge;

/// What the operator handlers share.
#[derive(Debug, Clone)]
pub struct OperatorState {
    /// The edge (directory, standing, certificates, metrics).
    pub edge: Arc<Edge>,
    /// The bearer token; `None` keeps the protected endpoints closed.
    pub token: Option<Arc<SecretString>>,
    /// Whether ACME is configured (certificates are renewed).
    pub acme: bool,
}

/// The operator router.
pub fn router(state: OperatorState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/operator/v1/domains", get(domains))
        .route("/operator/v1/licence", get(licence))
        .route("/operator/v1/certificates", get(certificates))
        .with_state(state)
}

fn unauthorized(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(json!({"error": {"code": "unauthenticated", "message": message}})),
    )
        .into_response()
}

/// Checks `Authorization: Bearer …` against the token in constant time.
fn authorize(state: &OperatorState, headers: &HeaderMap) -> Result<(), &'static str> {
    let Some(expected) = &state.token else {
        return Err(
            "no operator token is configured; set [operator] token (or TASKSESSION_OPERATOR_TOKEN_FILE)",
        );
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let expected = expected.expose_secret().as_bytes();
    let given = given.as_bytes();
    let mut difference = u8::from(expected.len() != given.len());
    for (index, byte) in expected.iter().enumerate() {
        difference |= byte ^ given.get(index).copied().unwrap_or(0);
    }
    if difference == 0 {
        Ok(())
    } else {
        Err("a valid operator token is required")
    }
}

async fn ready(State(state): State<OperatorState>) -> Response {
    match state.edge.platform.tenants().await {
        Ok(_) => {
            // The process is ready while its platform store answers; a brand whose own store
            // cannot be used is named with the reason (the others are served as usual).
            let mut text = String::from("ready\n");
            let directory = state.edge.directory();
            for domain in directory.domains() {
                let Some(entry) = directory.lookup(domain) else {
                    continue;
                };
                if entry.serving != Serving::Active {
                    continue;
                }
                if let Err(error) = state.edge.platform.context(entry).await {
                    text.push_str(&format!("not served: {domain}: {error}\n"));
                }
            }
            (StatusCode::OK, text).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "platform store not reachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "platform store not reachable\n",
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<OperatorState>, headers: HeaderMap) -> Response {
    if let Err(message) = authorize(&state, &headers) {
        return unauthorized(message);
    }
    let issuance = match state.edge.platform.issuance_states().await {
        Ok(states) => states,
        Err(error) => {
            tracing::error!(%error, "cannot read certificate issuance state");
            Vec::new()
        }
    };
    let text = state.edge.metrics.render(
        &state.edge.standing().label(),
        &state.edge.certificates.expiries(),
        &issuance,
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn domains(State(state): State<OperatorState>, headers: HeaderMap) -> Response {
    if let Err(message) = authorize(&state, &headers) {
        return unauthorized(message);
    }
    let directory = state.edge.directory();
    let mut items: Vec<_> = directory
        .domains()
        .filter_map(|domain| directory.lookup(domain))
        .map(|entry| {
            let reason = match &entry.serving {
                Serving::SuspendedByLicence(reason) => Some(reason.clone()),
                _ => None,
            };
            json!({
                "domain": entry.tenant.domain.as_str(),
                "brand": entry.tenant.brand,
                "state": entry.serving.label(),
                "reason": reason,
                "read_only": entry.read_only,
                "created_at": entry.tenant.created_at.unix_timestamp(),
            })
        })
        .collect();
    items.sort_by(|a, b| a["domain"].as_str().cmp(&b["domain"].as_str()));
    Json(json!({"items": items, "next_cursor": null})).into_response()
}

async fn licence(State(state): State<OperatorState>, headers: HeaderMap) -> Response {
    if let Err(message) = authorize(&state, &headers) {
        return unauthorized(message);
    }
    let standing = state.edge.standing();
    let body = match &standing {
        Standing::Development => {
            json!({"state": "development", "max_domains": standing.max_domains()})
        }
        Standing::Licensed { licence, .. } => json!({
            "state": standing.label(),
            "id": licence.id,
            "licensee": licence.licensee,
            "plan": licence.plan.as_str(),
            "max_domains": licence.max_domains,
            "domains": licence.domains,
            "issued_at": licence.issued_at.to_string(),
            "expires_at": licence.expires_at.map(|d| d.to_string()),
        }),
    };
    Json(body).into_response()
}

async fn certificates(State(state): State<OperatorState>, headers: HeaderMap) -> Response {
    if let Err(message) = authorize(&state, &headers) {
        return unauthorized(message);
    }
    let edge = &state.edge;
    match crate::cert::statuses(&edge.platform, &edge.standing(), state.acme, None).await {
        Ok(items) => Json(json!({"items": items, "next_cursor": null})).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot read certificates");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": {"code": "internal", "message": "Certificates could not be read."}})),
            )
                .into_response()
        }
    }
}
