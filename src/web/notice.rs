//! The one-shot undo notice a change leaves in the session ("Moved to Done · Undo"), read once by
//! the next board page; with JavaScript the page shows it from the `liveboard-undo` header instead.
//!
//! change handler → **notice** (session) → next board page → `templates/src/undo.rs`.

use serde::Serialize;
use tower_sessions::Session;

use super::*;
use crate::api::undo::with_undo;

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

pub(super) async fn remember(session: &Session, seq: i64, text: String, button: &str) {
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
