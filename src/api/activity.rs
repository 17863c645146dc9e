//! `GET /api/boards/{id}/activity`: a board's activity as JSON, newest first, paged by `before`;
//! `GET /api/boards/{id}/visit`: what changed since the caller's last visit of the board page.
//!
//! client → **handler** → activity reads (the event log) → JSON.

use axum::extract::State;

use crate::{
    auth::CurrentUser,
    domain::BoardId,
    error::{Json, Path, Query, Result},
    repo::activity::SinceVisit,
    repo::activity::{self as feed, Page, Range},
    state::AppState,
};

pub(super) async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Query(range): Query<Range>,
) -> Result<Json<Page>> {
    // Anything but numbers in the query is a 400 `BAD_REQUEST` from the extractor.
    Ok(Json(feed::for_board(&state.db.read, BoardId(id), user.id, range).await?))
}

/// What others changed since the caller last opened the board's page (or closed its live socket);
/// `null` before the first visit. Reading it is not a visit.
pub(super) async fn visit(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Option<SinceVisit>>> {
    let board = BoardId(id);
    crate::repo::require_member(&state.db.read, board, user.id).await?;
    Ok(Json(match feed::last_seen(&state.db.read, board, user.id).await? {
        Some(last) => Some(feed::since_visit(&state.db.read, board, user.id, last).await?),
        None => None,
    }))
}
