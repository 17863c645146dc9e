//! Realtime endpoints: the two wire protocols (HTML fragments for the board page, JSON for
//! everything else), which share one event stream from the hub, and the socket loop under both.
//!
//! hub → per-connection queue → **socket** → browser or client.

/// `GET /realtime/subscribe`: the JSON pub/sub protocol.
pub mod json;
/// `GET /boards/{id}/live`: HTML fragments for one board view.
pub mod live;
/// The connection loop and replay shared by both protocols.
pub mod socket;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(json::router()).merge(live::router())
}
