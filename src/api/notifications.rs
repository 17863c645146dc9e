//! The inbox and app channels over HTTP: list notifications and mark them read, and the admin's
//! broadcast to a channel (or to every connection). Same repositories and errors as the rest of `/api`.
//!
//! HTTP JSON → **handler** → repository (after COMMIT: the reader's channel) or hub → socket.

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    auth::CurrentUser,
    channels::{Channel, ChannelMsg},
    domain::*,
    error::{Error, Json, Path, Query, Result},
    repo::notifications as inbox,
    state::AppState,
};

/// `?before=<notification id>&limit=<n>`: a page of the inbox, newest first.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PageQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

/// `{"notifications": [...], "unread": n, "next_before": id | null}`.
pub(super) async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=inbox::MAX_PAGE).contains(&limit) {
        return Err(Error::BadRequest(format!("limit is 1 to {}", inbox::MAX_PAGE)));
    }
    let page = inbox::list(&state.db.read, user.id, q.before.map(NotificationId), limit).await?;
    let next_before = (page.len() as i64 == limit).then(|| page.last().map(|n| n.id)).flatten();
    let unread = inbox::unread(&state.db, user.id)?;
    Ok(Json(json!({ "notifications": page, "unread": unread, "next_before": next_before })))
}

/// `{"unread": n}` after marking one read; someone else's or an unknown id is 404.
pub(super) async fn read(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Value>> {
    let unread = inbox::mark_read(&state.db, user.id, NotificationId(id)).await?;
    Ok(Json(json!({ "unread": unread })))
}

/// `{"unread": 0}` after marking every notification read.
pub(super) async fn read_all(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> Result<Json<Value>> {
    let unread = inbox::mark_all_read(&state.db, user.id).await?;
    Ok(Json(json!({ "unread": unread })))
}

/// `{"channel"?, "id"?, "data"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BroadcastBody {
    channel: Option<String>,
    id: Option<i64>,
    data: Value,
}

/// Admins only: `data` as a custom event on a declared channel (to its subscribers who may
/// receive it), or, without `channel`, to every connection. 202: it is on its way.
pub(super) async fn broadcast(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(b): Json<BroadcastBody>,
) -> Result<(StatusCode, Json<Value>)> {
    user.require_admin()?;
    let Some(name) = b.channel else {
        if b.id.is_some() {
            return Err(Error::BadRequest("an id needs a channel".into()));
        }
        state.hub.broadcast_all(b.data);
        return Ok((StatusCode::ACCEPTED, Json(json!({ "channel": null }))));
    };
    let channel = Channel::parse(&name).ok_or_else(|| {
        let declared: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
        Error::InvalidPattern(format!("unknown channel {name:?}; the channels are {}", declared.join(", ")))
    })?;
    let msg = ChannelMsg::new(channel, b.id, b.data).map_err(|e| Error::BadRequest(e.to_string()))?;
    state.hub.send_channel(msg);
    Ok((StatusCode::ACCEPTED, Json(json!({ "channel": channel, "id": b.id }))))
}
