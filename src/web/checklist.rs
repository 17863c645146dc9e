//! Checklist forms on the card editor: add, tick or untick, move up or down, delete. Each posts,
//! then redirects back to the card's editor (or answers 204 to the board page's script); a refused
//! item shows the editor again with the text kept.
//!
//! browser form → **handler** → repository → redirect, or the editor page.

use super::{cards::answer_card_form, *};
use crate::repo::checklist::ChecklistPatch;

#[derive(Deserialize)]
pub(super) struct AddForm {
    #[serde(default)]
    text: String,
}

pub(super) async fn add_item(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
    headers: HeaderMap,
    Form(f): Form<AddForm>,
) -> PageResult {
    let id = CardId(id);
    let added = match ChecklistText::parse(&f.text) {
        Ok(text) => repo::checklist::create(&state.db, user.id, id, &text).await,
        Err(e) => Err(e),
    };
    answer_card_form(&state, &user, id, &headers, added.map(drop), |d| d.checklist = f.text.clone()).await
}

#[derive(Deserialize)]
pub(super) struct TickForm {
    #[serde(default)]
    done: String,
}

/// Sets the item's state to what the form says (`done=1` ticks, `done=0` unticks).
pub(super) async fn tick_item(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
    headers: HeaderMap,
    Form(f): Form<TickForm>,
) -> PageResult {
    let done = match f.done.as_str() {
        "1" | "true" | "on" => true,
        "0" | "false" | "" => false,
        _ => return Err(Error::invalid("done", "done is 1 or 0").into()),
    };
    let patch = ChecklistPatch { done: Some(done), ..ChecklistPatch::default() };
    let item = repo::checklist::update(&state.db, user.id, ChecklistItemId(id), patch).await?;
    Ok(to_card(item.card_id, &headers))
}

#[derive(Deserialize)]
pub(super) struct MoveForm {
    #[serde(default)]
    direction: String,
}

pub(super) async fn move_item(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
    headers: HeaderMap,
    Form(f): Form<MoveForm>,
) -> PageResult {
    let place = match f.direction.as_str() {
        "up" => Place::Earlier,
        "down" => Place::Later,
        _ => return Err(Error::invalid("direction", "direction is up or down").into()),
    };
    let patch = ChecklistPatch { place: Some(place), ..ChecklistPatch::default() };
    let item = repo::checklist::update(&state.db, user.id, ChecklistItemId(id), patch).await?;
    Ok(to_card(item.card_id, &headers))
}

pub(super) async fn delete_item(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
    headers: HeaderMap,
) -> PageResult {
    let item = repo::checklist::delete(&state.db, user.id, ChecklistItemId(id), None).await?;
    Ok(to_card(item.card_id, &headers))
}
