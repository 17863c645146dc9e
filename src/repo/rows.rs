//! Rows read inside a write: how each record is read off the writer's connection, the board,
//! column and card a change starts from, and the one card query (with its checklist counts).
//! Shared by the repositories, importing none of them.
//!
//! repository → **rows** → writer thread → SQLite.

use rusqlite::Row;

use crate::{
    db::{FromRow, Ts, WriteTx},
    domain::*,
    error::Result,
};

pub(crate) const CARD_SELECT: &str = r#"select c.id, c.board_id, c.column_id, c.title, c.description, c.assignee_id,
    u.username as assignee, c.labels, c.rank, c.version,
    (select count(*) from checklist_items i where i.card_id = c.id and i.done) as checklist_done,
    (select count(*) from checklist_items i where i.card_id = c.id) as checklist_total,
    c.created_at, c.updated_at
    from cards c left join users u on u.id = c.assignee_id"#;

pub(crate) const MEMBER_SELECT: &str = r#"select m.board_id, m.user_id, u.username, m.role, m.added_at
    from board_members m join users u on u.id = m.user_id"#;

pub(crate) const COMMENT_SELECT: &str = r#"select c.id, c.board_id, c.card_id, c.author_id, u.username as author, c.body, c.created_at
    from comments c join users u on u.id = c.author_id"#;

fn at(row: &Row<'_>, name: &str) -> rusqlite::Result<time::OffsetDateTime> {
    Ok(row.get::<_, Ts>(name)?.0)
}

impl FromRow for User {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self { id: r.get("id")?, username: r.get("username")?, is_admin: r.get("is_admin")? })
    }
}

impl FromRow for Board {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get("id")?,
            name: r.get("name")?,
            owner_id: r.get("owner_id")?,
            done_column_id: r.get("done_column_id")?,
            created_at: at(r, "created_at")?,
            updated_at: at(r, "updated_at")?,
        })
    }
}

impl FromRow for Column {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get("id")?,
            board_id: r.get("board_id")?,
            name: r.get("name")?,
            rank: r.get("rank")?,
            created_at: at(r, "created_at")?,
            updated_at: at(r, "updated_at")?,
        })
    }
}

impl FromRow for Card {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        let labels: String = r.get("labels")?;
        Ok(Self {
            id: r.get("id")?,
            board_id: r.get("board_id")?,
            column_id: r.get("column_id")?,
            title: r.get("title")?,
            description: r.get("description")?,
            assignee_id: r.get("assignee_id")?,
            assignee: r.get("assignee")?,
            labels: serde_json::from_str(&labels)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))?,
            rank: r.get("rank")?,
            version: r.get("version")?,
            checklist_done: r.get("checklist_done")?,
            checklist_total: r.get("checklist_total")?,
            created_at: at(r, "created_at")?,
            updated_at: at(r, "updated_at")?,
        })
    }
}

impl FromRow for Member {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            board_id: r.get("board_id")?,
            user_id: r.get("user_id")?,
            username: r.get("username")?,
            role: r.get("role")?,
            added_at: at(r, "added_at")?,
        })
    }
}

impl FromRow for Comment {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get("id")?,
            board_id: r.get("board_id")?,
            card_id: r.get("card_id")?,
            author_id: r.get("author_id")?,
            author: r.get("author")?,
            body: r.get("body")?,
            created_at: at(r, "created_at")?,
        })
    }
}

impl FromRow for ChecklistItem {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get("id")?,
            board_id: r.get("board_id")?,
            card_id: r.get("card_id")?,
            text: r.get("text")?,
            done: r.get("done")?,
            rank: r.get("rank")?,
            version: r.get("version")?,
            created_at: at(r, "created_at")?,
            updated_at: at(r, "updated_at")?,
        })
    }
}

pub(crate) fn board(w: &WriteTx<'_>, id: BoardId) -> Result<Board> {
    w.one("select * from boards where id = ?", [id])
}

pub(crate) fn column(w: &WriteTx<'_>, id: ColumnId) -> Result<Column> {
    w.one("select * from columns where id = ?", [id])
}

pub(crate) fn card(w: &WriteTx<'_>, id: CardId) -> Result<Card> {
    w.one(&format!("{CARD_SELECT} where c.id = ?"), [id])
}

pub(crate) fn member(w: &WriteTx<'_>, board: BoardId, user: UserId) -> Result<Member> {
    w.one(&format!("{MEMBER_SELECT} where m.board_id = ? and m.user_id = ?"), rusqlite::params![board, user])
}

/// Checks inside a write that `user` belongs to `board`, with [`super::require_member`]'s answers.
pub(crate) fn require_member(w: &WriteTx<'_>, board: BoardId, user: UserId) -> Result<Role> {
    let role: Option<(Option<Role>,)> = w.opt(
        r#"select (select role from board_members m where m.board_id = b.id and m.user_id = ?)
           from boards b where b.id = ?"#,
        rusqlite::params![user, board],
    )?;
    match role {
        Some((Some(role),)) => Ok(role),
        _ => Err(crate::error::Error::NotFound),
    }
}

/// A card's comments inside a write, oldest first: read before the card is deleted, so each
/// gets its `delete` event (the rows themselves go by `on delete cascade`).
pub(crate) fn comments_of_card(w: &WriteTx<'_>, card_id: CardId) -> Result<Vec<Comment>> {
    w.all(&format!("{COMMENT_SELECT} where c.card_id = ? order by c.id"), [card_id])
}
