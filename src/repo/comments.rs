//! Comments repository: comments on cards, published like every other record.

use sqlx::SqlitePool;

use super::{now, require_member, rows::card};
use crate::{
    db::Db,
    domain::*,
    error::{Error, Result},
    events::Action,
};

const COMMENT_SELECT: &str = r#"select c.id, c.board_id, c.card_id, c.author_id, u.username as author, c.body, c.created_at
    from comments c join users u on u.id = c.author_id"#;

/// A card's comments, oldest first.
pub async fn for_card(pool: &SqlitePool, viewer: UserId, card_id: CardId) -> Result<Vec<Comment>> {
    let c = super::cards::get(pool, viewer, card_id).await?;
    Ok(sqlx::query_as(&format!("{COMMENT_SELECT} where c.card_id = ? order by c.id"))
        .bind(c.id)
        .fetch_all(pool)
        .await?)
}

/// Adds a comment by `actor`.
pub async fn create(db: &Db, actor: UserId, card_id: CardId, body: &CommentBody) -> Result<Comment> {
    let mut w = db.write(Some(actor)).await?;
    let c = card(w.conn(), card_id).await?;
    require_member(w.conn(), c.board_id, actor).await?;
    let count: i64 =
        sqlx::query_scalar("select count(*) from comments where card_id = ?").bind(c.id).fetch_one(w.conn()).await?;
    if count >= MAX_COMMENTS_PER_CARD {
        return Err(Error::invalid("body", format!("A card has at most {MAX_COMMENTS_PER_CARD} comments")));
    }
    let id: CommentId = sqlx::query_scalar(
        "insert into comments (board_id, card_id, author_id, body, created_at) values (?, ?, ?, ?, ?) returning id",
    )
    .bind(c.board_id)
    .bind(c.id)
    .bind(actor)
    .bind(body.as_str())
    .bind(now())
    .fetch_one(w.conn())
    .await?;
    let comment: Comment =
        sqlx::query_as(&format!("{COMMENT_SELECT} where c.id = ?")).bind(id).fetch_one(w.conn()).await?;
    w.record(Action::Create, None, Some(&comment)).await?;
    w.commit().await?;
    Ok(comment)
}

/// Deletes a comment; only its author may.
pub async fn delete(db: &Db, actor: UserId, id: CommentId) -> Result<Comment> {
    let mut w = db.write(Some(actor)).await?;
    let comment: Comment = sqlx::query_as(&format!("{COMMENT_SELECT} where c.id = ?"))
        .bind(id)
        .fetch_optional(w.conn())
        .await?
        .ok_or(Error::NotFound)?;
    require_member(w.conn(), comment.board_id, actor).await?;
    if comment.author_id != actor {
        return Err(Error::Forbidden("only its author can delete a comment"));
    }
    sqlx::query("delete from comments where id = ?").bind(id).execute(w.conn()).await?;
    w.record(Action::Delete, Some(&comment), None).await?;
    w.commit().await?;
    Ok(comment)
}
