//! The checklist over JSON: list and add on a card, patch (`done`, `text`, `move`) and delete an
//! item. Same repository, same errors as the rest of `/api`.
//!
//! HTTP JSON → **handler** → repository → event bus → hub → socket.

use axum::{extract::State, http::StatusCode, response::IntoResponse};
use serde::Deserialize;

use crate::{
    auth::CurrentUser,
    domain::*,
    error::{Error, Json, Path, Query, Result},
    repo::{self, checklist::ChecklistPatch},
    state::AppState,
};

pub(super) async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<ChecklistItem>>> {
    Ok(Json(repo::checklist::for_card(&state.db.read, user.id, CardId(id)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewItemBody {
    text: String,
}

pub(super) async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<NewItemBody>,
) -> Result<impl IntoResponse> {
    let item = repo::checklist::create(&state.db, user.id, CardId(id), &ChecklistText::parse(&b.text)?).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

/// `{"done"?, "text"?, "move"?: "up" | "down" | "first" | "last", "version"?}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ItemPatchBody {
    done: Option<bool>,
    text: Option<String>,
    #[serde(rename = "move")]
    to: Option<String>,
    version: Option<i64>,
}

fn parse_move(to: &str) -> Result<Place> {
    match to {
        "up" => Ok(Place::Earlier),
        "down" => Ok(Place::Later),
        "first" => Ok(Place::First),
        "last" => Ok(Place::Last),
        other => Err(Error::invalid("move", format!("move is \"up\", \"down\", \"first\" or \"last\", not {other:?}"))),
    }
}

pub(super) async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<ItemPatchBody>,
) -> Result<Json<ChecklistItem>> {
    let patch = ChecklistPatch {
        text: b.text.as_deref().map(ChecklistText::parse).transpose()?,
        done: b.done,
        place: b.to.as_deref().map(parse_move).transpose()?,
        expected_version: b.version,
    };
    Ok(Json(repo::checklist::update(&state.db, user.id, ChecklistItemId(id), patch).await?))
}

#[derive(Deserialize)]
pub(super) struct VersionQuery {
    version: Option<i64>,
}

pub(super) async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<VersionQuery>,
) -> Result<StatusCode> {
    repo::checklist::delete(&state.db, user.id, ChecklistItemId(id), q.version).await?;
    Ok(StatusCode::NO_CONTENT)
}
