//! Comments repository: comments on cards, published like every other record.

use sqlx::SqlitePool;

use super::{
    notifications::{self, Going, Source},
    now,
    rows::{COMMENT_SELECT, card, require_member},
};
use crate::{
    db::{Db, Ts},
    domain::*,
    error::{Error, Result},
    events::Action,
};

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
    let body = body.as_str().to_owned();
    db.write(Some(actor), move |w| {
        let c = card(w, card_id)?;
        require_member(w, c.board_id, actor)?;
        let (count,): (i64,) = w.one("select count(*) from comments where card_id = ?", [c.id])?;
        if count >= MAX_COMMENTS_PER_CARD {
            return Err(Error::invalid("body", format!("A card has at most {MAX_COMMENTS_PER_CARD} comments")));
        }
        let (id,): (CommentId,) = w.one(
            "insert into comments (board_id, card_id, author_id, body, created_at) values (?, ?, ?, ?, ?) returning id",
            rusqlite::params![c.board_id, c.id, actor, body, Ts(now())],
        )?;
        let comment: Comment = w.one(&format!("{COMMENT_SELECT} where c.id = ?"), [id])?;
        w.record(Action::Create, None, Some(&comment))?;
        notifications::notify_mentions(w, actor, &c, Source::Comment(id), "", &comment.body)?;
        Ok(comment)
    })
    .await
}

/// Deletes a comment; only its author may.
pub async fn delete(db: &Db, actor: UserId, id: CommentId) -> Result<Comment> {
    db.write(Some(actor), move |w| {
        let comment: Comment = w.one(&format!("{COMMENT_SELECT} where c.id = ?"), [id])?;
        require_member(w, comment.board_id, actor)?;
        if comment.author_id != actor {
            return Err(Error::Forbidden("only its author can delete a comment"));
        }
        let readers = notifications::readers_losing(w, Going::Comment(id))?;
        w.exec("delete from comments where id = ?", [id])?;
        w.record(Action::Delete, Some(&comment), None)?;
        notifications::recount(w, &readers)?;
        Ok(comment)
    })
    .await
}
