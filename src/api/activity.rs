//! `GET /api/boards/{id}/activity`: a board's activity as JSON, newest first, paged by `before`.
//!
//! client → **handler** → activity reads (the event log) → JSON.

use axum::extract::State;

use crate::{
    auth::CurrentUser,
    domain::BoardId,
    error::{Json, Path, Query, Result},
    repo::activity::{self as feed, Page, Range},
    state::AppState,
};

/// `?before=<seq>&since=<seq>&limit=<n>`; anything but numbers is a 400 `BAD_REQUEST`.
#[derive(serde::Deserialize)]
pub(super) struct ActivityQuery {
    before: Option<i64>,
    since: Option<i64>,
    limit: Option<i64>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<ActivityQuery>,
) -> Result<Json<Page>> {
    let range = Range { before: q.before, since: q.since, limit: q.limit };
    Ok(Json(feed::for_board(&state.db.read, BoardId(id), user.id, range).await?))
}
