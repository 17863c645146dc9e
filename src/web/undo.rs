//! Undo from the board page without JavaScript: the plain form that undoes a change (the notice
//! that offers it is in `notice.rs`). With JavaScript, `assets/undo.js` posts the same form to the
//! JSON API instead and stays on the page.
//!
//! browser form → **handler** → undo repository → redirect to the board, which shows the notice.

use tower_sessions::Session;

use super::{boards::board_with, notice::remember, *};
use crate::api::undo::{parse_seq, with_undo};

#[derive(Deserialize)]
pub(super) struct UndoForm {
    /// The board the form was on: where a refusal is shown.
    board_id: Option<i64>,
}

/// `POST /events/{seq}/undo`: back to the board with "Change undone · Redo", or the board again
/// with the reason it cannot be undone.
pub(super) async fn undo(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: Session,
    PagePath(seq): PagePath<String>,
    Form(f): Form<UndoForm>,
) -> PageResult {
    let seq = parse_seq(&seq)?;
    match repo::undo::undo(&state.db, user.id, seq, state.config.undo_window).await {
        Ok(done) => {
            let text = match done.action {
                crate::events::Action::Create => "Card restored",
                crate::events::Action::Delete => "Card creation undone",
                crate::events::Action::Update => "Change undone",
            };
            remember(&session, done.seq, text.to_owned(), "Redo").await;
            Ok(with_undo(done.seq, to_board(done.card.board_id)))
        }
        Err(
            e @ (Error::Conflict(_)
            | Error::Expired(_)
            | Error::Forbidden(_)
            | Error::BadRequest(_)
            | Error::Missing(_)),
        ) if f.board_id.is_some() => {
            let board = BoardId(f.board_id.unwrap_or_default());
            let page =
                board_with(&state, &user, board, &PageFilter::default(), Some(&e.to_string()), None, None).await?;
            Ok((e.status(), page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
