//! Board access: every board's members and done column, as the hub needs them to authorize each
//! event. Read once at start, then kept current by the events themselves; owned by the hub task
//! alone, so no lock. Connection tasks ask the database, which is the truth.
//!
//! event → **board access** (who may see it) → dispatch.

use std::collections::HashMap;

use crate::{
    domain::*,
    error::Result,
    events::{Action, Event, Record},
    views::BoardCtx,
};

#[derive(Default)]
struct BoardInfo {
    /// Sorted by username.
    members: Vec<BoardMember>,
    ctx: BoardCtx,
}

/// Members and done columns of every board, current as of the last dispatched event.
#[derive(Default)]
pub struct BoardAccess {
    boards: HashMap<BoardId, BoardInfo>,
}

impl BoardAccess {
    /// Every board as the database (or, on an edge, the writer) has it now.
    pub async fn read(reads: &crate::cluster::reads::Reads) -> Result<Self> {
        let rows = reads.access().await?;
        Ok(Self::from_rows(rows.members, rows.done))
    }

    /// From every board's members and done column.
    pub fn from_rows(members: Vec<(BoardId, BoardMember)>, done: Vec<(BoardId, Option<ColumnId>)>) -> Self {
        let mut boards: HashMap<BoardId, BoardInfo> = HashMap::new();
        for (b, done_column) in done {
            boards.entry(b).or_default().ctx.done_column = done_column;
        }
        for (b, m) in members {
            boards.entry(b).or_default().members.push(m);
        }
        for info in boards.values_mut() {
            info.members.sort_by(|a, b| a.username.cmp(&b.username));
        }
        Self { boards }
    }

    pub fn is_member(&self, board: BoardId, user: UserId) -> bool {
        self.member(board, user).is_some()
    }

    pub fn member(&self, board: BoardId, user: UserId) -> Option<&BoardMember> {
        self.boards.get(&board)?.members.iter().find(|m| m.id == user)
    }

    pub fn members(&self, board: BoardId) -> &[BoardMember] {
        self.boards.get(&board).map(|b| b.members.as_slice()).unwrap_or_default()
    }

    pub fn ctx(&self, board: BoardId) -> BoardCtx {
        self.boards.get(&board).map(|b| b.ctx).unwrap_or_default()
    }

    /// Applied before an event is dispatched: a new member sees the event that added them.
    pub fn apply_before(&mut self, e: &Event) {
        match (&e.after, e.action) {
            (Some(Record::Members(m)), Action::Create) => {
                let members = &mut self.boards.entry(m.board_id).or_default().members;
                members.retain(|x| x.id != m.user_id);
                members.push(BoardMember::from(m));
                members.sort_by(|a, b| a.username.cmp(&b.username));
            }
            (Some(Record::Boards(b)), Action::Create | Action::Update) => {
                self.boards.entry(b.id).or_default().ctx.done_column = b.done_column_id;
            }
            _ => {}
        }
    }

    /// Applied after an event is dispatched: a removed member still sees the event that removed them.
    pub fn apply_after(&mut self, e: &Event) {
        match (&e.before, e.action) {
            (Some(Record::Members(m)), Action::Delete) => {
                if let Some(info) = self.boards.get_mut(&m.board_id) {
                    info.members.retain(|x| x.id != m.user_id);
                }
            }
            (Some(Record::Boards(b)), Action::Delete) => {
                self.boards.remove(&b.id);
            }
            _ => {}
        }
    }
}

/// The one rule for who may see an event: a member of its board, or an admin through `*`.
pub fn may_see(user: &User, through_all: bool, is_member: bool) -> bool {
    (through_all && user.is_admin) || is_member
}
