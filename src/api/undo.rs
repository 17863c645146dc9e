//! Undo over JSON: `POST /api/events/{seq}/undo` reverts a change of your own, and the
//! `liveboard-undo` header tells the author of a change which `seq` to post there.
//!
//! HTTP JSON → **handler** → undo repository → event bus → hub → every socket.

use axum::{
    extract::State,
    http::HeaderValue,
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{
    auth::CurrentUser,
    error::{Error, Json, Path, Result},
    repo,
    state::AppState,
};

/// The response header that carries the `seq` of the event a change recorded: post it to
/// `/api/events/{seq}/undo` to revert that change. Set by card creations, edits, moves and
/// deletions (over JSON, and the last three by the board page's forms) and by an undo itself
/// (whose undo is a redo).
pub const UNDO_HEADER: &str = "liveboard-undo";

/// Adds [`UNDO_HEADER`] to a response.
pub fn with_undo(seq: i64, res: impl IntoResponse) -> Response {
    let mut res = res.into_response();
    res.headers_mut().insert(UNDO_HEADER, HeaderValue::from(seq));
    res
}

/// A `seq` from the path: a number, or a 400 that says so.
pub fn parse_seq(raw: &str) -> Result<i64> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| Error::BadRequest(format!("{raw:?} is not an event's seq: a positive whole number is expected")))
}

/// `POST /api/events/{seq}/undo`: `{"seq", "action", "collection", "record"}` of the change the
/// undo wrote (its `seq` may be undone in turn).
pub(super) async fn undo(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(seq): Path<String>,
) -> Result<Response> {
    let seq = parse_seq(&seq)?;
    let done = repo::undo::undo(&state.db, user.id, seq, state.config.undo_window).await?;
    let body = json!({
        "seq": done.seq,
        "undone": seq,
        "action": done.action,
        "collection": "cards",
        "record": done.card,
    });
    Ok(with_undo(done.seq, Json(body)))
}
