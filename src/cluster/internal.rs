//! The writer's internal endpoints, for edges only: `/internal/read` answers the reads of the
//! realtime path from the database, `/internal/caller` says who a cookie or token belongs to. Both
//! want the `CLUSTER_SECRET` in a header (compared in constant time); edges never forward
//! `/internal/*` from clients.
//!
//! edge's reads → **internal endpoints** → the writer's database.

use axum::{
    Json, Router,
    extract::{FromRequestParts, Request, State},
    http::{HeaderMap, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use sha2::{Digest, Sha256};

use super::reads::{CallerWire, ReadReq, SECRET_HEADER, URI_HEADER};
use crate::{auth::Caller, error::Error, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/internal/read", post(read)).route("/internal/caller", get(caller))
}

/// Whether the request carries the cluster secret. Hashing both sides first makes the comparison
/// take the same time whatever the guess.
fn authorized(headers: &HeaderMap, state: &AppState) -> bool {
    let Some(secret) = state.config.cluster.secret.as_deref() else { return false };
    let Some(given) = headers.get(SECRET_HEADER).map(|v| v.as_bytes()) else { return false };
    let (a, b) = (Sha256::digest(secret.as_bytes()), Sha256::digest(given));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn read(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if !authorized(&headers, &state) {
        return Error::NotFound.into_response();
    }
    let req: ReadReq = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return Error::BadRequest(format!("not an internal read: {e}")).into_response(),
    };
    Json(state.reads.answer(req).await).into_response()
}

/// Reads the caller exactly as a request to the original URI would be read here (the session
/// layer has run on this request, so its cookie is the edge client's).
async fn caller(State(state): State<AppState>, req: Request) -> Response {
    if !authorized(req.headers(), &state) {
        return Error::NotFound.into_response();
    }
    let (mut parts, _) = req.into_parts();
    let uri = parts.headers.get(URI_HEADER).and_then(|v| v.to_str().ok()).and_then(|u| u.parse::<Uri>().ok());
    if let Some(uri) = uri {
        parts.uri = uri;
    }
    match Caller::from_request_parts(&mut parts, &state).await {
        Ok(c) => Json(CallerWire {
            user: c.user,
            session: c.session,
            token: c.token,
            session_generation: c.session_generation,
        })
        .into_response(),
        // 401 for an unknown or revoked token: the edge refuses the same way.
        Err(res) => res,
    }
}
