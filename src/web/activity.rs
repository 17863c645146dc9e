//! The activity page of a board, and what the board page adds from the event log: the latest
//! entries beside the board, and "7 changes since your last visit" with the changed cards marked.
//!
//! browser → **handler** → activity reads (the event log) → page.

use super::*;
use crate::repo::activity::{self as feed, Page, Range, SinceVisit};

/// Entries in the board page's panel.
const PANEL: i64 = 20;

pub(super) async fn activity_page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
    // Not numbers: a 400 page naming the value.
    PageQuery(range): PageQuery<Range>,
) -> PageResult<Markup> {
    let board = BoardId(id);
    let page = feed::for_board(&state.db.read, board, user.id, range).await?;
    let name = feed::board_name(&state.db.read, board).await?;
    let view = t::ActivityPage {
        board_id: id,
        board_name: &name,
        entries: render::feed::entries(&page.entries),
        since: range.since,
        older: page.next_before,
    };
    Ok(t::activity_page(&state.ctx(Some(&user.username)), &view))
}

/// What the board page shows from the log for this viewer; reading it counts as a visit.
pub(super) struct BoardExtras {
    panel: Page,
    since: Option<SinceVisit>,
}

impl BoardExtras {
    /// Reads the panel and what changed since `user`'s last visit, then remembers this visit (up to
    /// `seq`, the seq the page is rendered at: later changes reach it live).
    pub(super) async fn load(state: &AppState, user: &User, board: BoardId, seq: i64) -> Result<Self, Error> {
        let pool = &state.db.read;
        let panel = feed::for_board(pool, board, user.id, Range { limit: Some(PANEL), ..Range::default() }).await?;
        let last = feed::last_seen(pool, board, user.id).await?;
        let since = match last {
            Some(last) => Some(feed::since_visit(pool, board, user.id, last).await?).filter(|s| s.changes > 0),
            None => None,
        };
        // A reload of a board where nothing happened since is no news: no write.
        if last.is_some_and(|last| last >= seq) {
            return Ok(Self { panel, since });
        }
        if let Err(e) = feed::mark_seen(&state.db, board, user.id, seq).await {
            // The page is still worth showing; the next visit just counts from further back.
            tracing::warn!(error = %e, "could not remember a board visit");
        }
        Ok(Self { panel, since })
    }

    /// Adds the panel, the line and the marks to the board page.
    pub(super) fn apply<'a>(&'a self, page: &mut t::BoardPage<'a>) {
        page.activity = render::feed::entries(&self.panel.entries);
        let Some(since) = &self.since else { return };
        page.since = Some(t::SinceProps { board_id: page.id, since: since.last_seen_seq, changes: since.changes });
        for (_, cards) in &mut page.columns {
            for c in cards.iter_mut().filter(|c| since.cards.contains(&CardId(c.id))) {
                c.changed = true;
            }
        }
    }
}
