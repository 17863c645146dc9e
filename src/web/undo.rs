//! Undo from the board page without JavaScript: the one-shot notice a change leaves in the session
//! ("Moved to Done · Undo" on the next board page), and the plain form that undoes it. With
//! JavaScript, `assets/undo.js` posts the same form to the JSON API instead and stays on the page.
//!
//! browser form → **handler** → undo repository → redirect to the board, which shows the notice.

use serde::Serialize;
use tower_sessions::Session;

use super::{boards::board_with, *};
use crate::api::undo::{parse_seq, with_undo};

/// The session key of the notice: read once, by the next board page.
const KEY: &str = "undo_notice";

/// A notice waiting for the next board page.
#[derive(Serialize, Deserialize)]
pub(super) struct Notice {
    seq: i64,
    text: String,
    button: String,
}

impl Notice {
    pub(super) fn props(&self) -> t::UndoNotice<'_> {
        t::UndoNotice { seq: self.seq, text: &self.text, button: &self.button }
    }
}

/// Answers a change the user may undo: for the board's script, `204` with the `liveboard-undo`
/// header (it shows the notice itself); otherwise the notice is left for the next page and the
/// browser goes back to the board.
pub(super) async fn answer(session: &Session, headers: &HeaderMap, seq: i64, text: String, board: BoardId) -> Response {
    if partial(headers) {
        return with_undo(seq, StatusCode::NO_CONTENT);
    }
    remember(session, seq, text, "Undo").await;
    with_undo(seq, to_board(board))
}

async fn remember(session: &Session, seq: i64, text: String, button: &str) {
    let notice = Notice { seq, text, button: button.to_owned() };
    // The change is made either way; only its notice would be missing.
    if let Err(e) = session.insert(KEY, notice).await {
        tracing::warn!(error = %e, "could not keep the undo notice");
    }
}

/// The notice left for this page, taken so that it shows once.
pub(super) async fn take(session: &Session) -> Option<Notice> {
    // Read first: a `remove` marks the session changed (and so saved) even when there was nothing
    // to remove, which would make every board page a session write.
    let notice = match session.get::<Notice>(KEY).await {
        Ok(n) => n?,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the undo notice");
            return None;
        }
    };
    if let Err(e) = session.remove_value(KEY).await {
        tracing::warn!(error = %e, "could not clear the undo notice");
    }
    Some(notice)
}

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
    Path(seq): Path<String>,
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
