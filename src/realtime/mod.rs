//! Realtime: the hub that routes committed events, the view filters, and the two wire protocols
//! (HTML fragments for the board page, JSON for everything else) that share one event stream.

/// The routing task: subscriptions, authorization per event, presence.
pub mod hub;
/// `GET /realtime/subscribe`: the JSON pub/sub protocol.
pub mod json;
/// `GET /boards/{id}/live`: HTML fragments for one board view.
pub mod live;
/// The connection loop and replay shared by both protocols.
pub mod socket;
/// Views: which cards a subscription shows (named views live here).
pub mod views;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(json::router()).merge(live::router())
}
