//! Checklist forms on the card editor: add, tick or untick, move up or down, delete. Each posts,
//! then redirects back to the card's editor (or answers 204 to the board page's script); a refused
//! item shows the editor again with the text kept.
//!
//! browser form → **handler** → repository → redirect, or the editor page.

use super::{
    cards::{EditForm, render_editor},
    *,
};
use crate::repo::checklist::ChecklistPatch;

fn to_card(card: CardId, headers: &HeaderMap) -> Response {
    if partial(headers) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Redirect::to(&format!("/cards/{card}")).into_response()
    }
}

#[derive(Deserialize)]
pub(super) struct AddForm {
    #[serde(default)]
    text: String,
}

pub(super) async fn add_item(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<AddForm>,
) -> PageResult {
    let id = CardId(id);
    let added = match ChecklistText::parse(&f.text) {
        Ok(text) => repo::checklist::create(&state.db, user.id, id, &text).await,
        Err(e) => Err(e),
    };
    match added {
        Ok(_) => Ok(to_card(id, &headers)),
        Err(e @ Error::Validation { .. }) => {
            // Only a member sees the editor again: `get` refuses anyone else, as for the card itself.
            let card = repo::cards::get(&state.db.read, user.id, id).await?;
            let draft = EditForm::with_checklist(&card, &f.text);
            render_editor(&state, &user, &card, &draft, Some(&e.to_string()), None, &headers, StatusCode::BAD_REQUEST)
                .await
        }
        Err(e) => Err(e.into()),
    }
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
    Path(id): Path<i64>,
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
    Path(id): Path<i64>,
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
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> PageResult {
    let item = repo::checklist::delete(&state.db, user.id, ChecklistItemId(id), None).await?;
    Ok(to_card(item.card_id, &headers))
}
