//! Rows read inside a write: the board, column and card a change starts from, and the one card
//! query (with its checklist count). Shared by the repositories, importing none of them.
//!
//! repository → **rows** → SQLite.

use sqlx::SqliteConnection;

use crate::{
    domain::*,
    error::{Error, Result},
};

pub(crate) const CARD_SELECT: &str = r#"select c.id, c.board_id, c.column_id, c.title, c.description, c.assignee_id,
    u.username as assignee, c.labels, c.rank, c.version,
    (select count(*) from checklist_items i where i.card_id = c.id and i.done) as checklist_done,
    (select count(*) from checklist_items i where i.card_id = c.id) as checklist_total,
    c.created_at, c.updated_at
    from cards c left join users u on u.id = c.assignee_id"#;

pub(crate) async fn board(conn: &mut SqliteConnection, id: BoardId) -> Result<Board> {
    sqlx::query_as("select * from boards where id = ?").bind(id).fetch_optional(conn).await?.ok_or(Error::NotFound)
}

pub(crate) async fn column(conn: &mut SqliteConnection, id: ColumnId) -> Result<Column> {
    sqlx::query_as("select * from columns where id = ?").bind(id).fetch_optional(conn).await?.ok_or(Error::NotFound)
}

pub(crate) async fn card(conn: &mut SqliteConnection, id: CardId) -> Result<Card> {
    sqlx::query_as(&format!("{CARD_SELECT} where c.id = ?")).bind(id).fetch_optional(conn).await?.ok_or(Error::NotFound)
}
