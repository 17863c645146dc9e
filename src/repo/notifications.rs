//! Notifications repository: @mentions become notifications in the same write as the comment or
//! description that makes them, and go live on the reader's `notifications` channel only after
//! that write commits. Reading, marking read and pruning them.
//!
//! comments / cards repository → **notifications** (same transaction) → writer (after COMMIT) → hub → socket.
//!
//! A reader sees (and counts) only notifications of boards they are still a member of.

use std::time::Duration;

use rusqlite::Row;
use serde_json::json;
use sqlx::SqlitePool;

use super::now;
use crate::{
    channels::Channel,
    db::{Db, FromRow, Ts, WriteTx},
    domain::*,
    error::{Error, Result},
    mentions,
};

/// Where a mention was written.
#[derive(Clone, Copy, Debug)]
pub enum Source {
    Comment(CommentId),
    Description,
}

/// Notifications a page of the inbox holds at most.
pub const MAX_PAGE: i64 = 100;

/// Characters of the mentioning text a notification keeps.
const EXCERPT_CHARS: usize = 160;

/// Every notification the reader may see: of a board they are a member of.
const SELECT: &str = r#"select n.id, n.board_id, b.name as board_name, n.card_id, c.title as card_title,
    a.username as "by", n.source, n.comment_id, n.excerpt, n.created_at, n.read_at
    from notifications n
    join board_members m on m.board_id = n.board_id and m.user_id = n.user_id
    join boards b on b.id = n.board_id
    join cards c on c.id = n.card_id
    left join users a on a.id = n.actor_id"#;

/// Unread notifications the reader may see.
const UNREAD: &str = r#"select count(*) from notifications n
    join board_members m on m.board_id = n.board_id and m.user_id = n.user_id
    where n.user_id = ? and n.read_at is null"#;

impl FromRow for Notification {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get("id")?,
            board_id: r.get("board_id")?,
            board_name: r.get("board_name")?,
            card_id: r.get("card_id")?,
            card_title: r.get("card_title")?,
            by: r.get("by")?,
            source: r.get("source")?,
            comment_id: r.get("comment_id")?,
            excerpt: r.get("excerpt")?,
            created_at: r.get::<_, Ts>("created_at")?.0,
            read_at: r.get::<_, Option<Ts>>("read_at")?.map(|t| t.0),
        })
    }
}

/// In a comment's or a card's write: one notification for each board member `after` mentions and
/// `before` did not (an edit that keeps a mention does not notify again, nor one that brings back a
/// mention the description had before: one per reader and description), except the writer
/// themself. Unknown names and non-members stay plain text. Each reader's channel gets
/// `{"kind":"new","notification":…,"unread":n}` once the write commits.
pub(crate) fn notify_mentions(
    w: &mut WriteTx<'_>,
    actor: UserId,
    card: &Card,
    source: Source,
    before: &str,
    after: &str,
) -> Result<()> {
    // A move or a rename keeps the text: nothing to parse on the write path.
    if before == after || !after.contains('@') {
        return Ok(());
    }
    let names = mentions::new_mentions(before, after);
    if names.is_empty() {
        return Ok(());
    }
    let (kind, comment_id) = match source {
        Source::Comment(id) => ("comment", Some(id)),
        Source::Description => ("description", None),
    };
    let text = excerpt(after);
    for name in names {
        // `username` is `collate nocase`: the lowercased mention finds the account.
        let member: Option<(UserId,)> = w.opt(
            "select u.id from users u join board_members m on m.user_id = u.id where m.board_id = ? and u.username = ?",
            rusqlite::params![card.board_id, name],
        )?;
        let Some((user,)) = member.filter(|(u,)| *u != actor) else { continue };
        // A description that drops a mention and names them again later (by hand, or by an undo
        // and a retyping) is the same mention: one notification per reader and description.
        if matches!(source, Source::Description) {
            let (told,): (bool,) = w.one(
                "select exists(select 1 from notifications where card_id = ? and user_id = ? and source = 'description')",
                rusqlite::params![card.id, user],
            )?;
            if told {
                continue;
            }
        }
        let (id,): (NotificationId,) = w.one(
            r#"insert into notifications (user_id, board_id, card_id, actor_id, source, comment_id, excerpt, created_at)
               values (?, ?, ?, ?, ?, ?, ?, ?) returning id"#,
            rusqlite::params![user, card.board_id, card.id, actor, kind, comment_id, text, Ts(now())],
        )?;
        let notification: Notification = w.one(&format!("{SELECT} where n.id = ?"), [id])?;
        let (unread,): (i64,) = w.one(UNREAD, [user])?;
        w.broadcast(
            Channel::Notifications,
            Some(user.0),
            json!({ "kind": "new", "notification": notification, "unread": unread }),
        )?;
    }
    Ok(())
}

/// Which unread notifications a change is about to delete or hide from their readers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Going {
    /// Those of a card (deleted, with its comments).
    Card(CardId),
    /// Those of a comment (deleted).
    Comment(CommentId),
    /// Those of every card in a column (deleted).
    Column(ColumnId),
    /// Those of a board (deleted).
    Board(BoardId),
    /// Those of a board for one reader (removed from it).
    Member(BoardId, UserId),
}

/// In a write, before a deletion or a removal: the readers whose unread count it will lower. Pass
/// them to [`recount`] once it is done, so their badges follow at once rather than at the next page.
pub(crate) fn readers_losing(w: &WriteTx<'_>, going: Going) -> Result<Vec<UserId>> {
    const UNREAD_OF: &str = "select distinct n.user_id from notifications n where n.read_at is null and";
    let rows: Vec<(UserId,)> = match going {
        Going::Card(c) => w.all(&format!("{UNREAD_OF} n.card_id = ?"), [c.0])?,
        Going::Comment(c) => w.all(&format!("{UNREAD_OF} n.comment_id = ?"), [c.0])?,
        Going::Column(c) => {
            w.all(&format!("{UNREAD_OF} n.card_id in (select id from cards where column_id = ?)"), [c.0])?
        }
        Going::Board(b) => w.all(&format!("{UNREAD_OF} n.board_id = ?"), [b.0])?,
        Going::Member(b, u) => w.all(&format!("{UNREAD_OF} n.board_id = ? and n.user_id = ?"), [b.0, u.0])?,
    };
    Ok(rows.into_iter().map(|(u,)| u).collect())
}

/// After a deletion or a removal: each of `readers` hears `{"kind":"removed","unread":n}` on their
/// channel once the write commits (the inbox badge of every tab shows `n`).
pub(crate) fn recount(w: &mut WriteTx<'_>, readers: &[UserId]) -> Result<()> {
    for user in readers {
        let (unread,): (i64,) = w.one(UNREAD, [*user])?;
        w.broadcast(Channel::Notifications, Some(user.0), json!({ "kind": "removed", "unread": unread }))?;
    }
    Ok(())
}

/// The start of `text`, whitespace collapsed, cut at [`EXCERPT_CHARS`].
fn excerpt(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= EXCERPT_CHARS {
        return flat;
    }
    let mut cut: String = flat.chars().take(EXCERPT_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// A page of `user`'s notifications, newest first, older than `before` (a notification id).
pub async fn list(
    pool: &SqlitePool,
    user: UserId,
    before: Option<NotificationId>,
    limit: i64,
) -> Result<Vec<Notification>> {
    Ok(sqlx::query_as(&format!("{SELECT} where n.user_id = ? and n.id < ? order by n.id desc limit ?"))
        .bind(user)
        .bind(before.map_or(i64::MAX, |b| b.0))
        .bind(limit.clamp(1, MAX_PAGE))
        .fetch_all(pool)
        .await?)
}

/// How many of `user`'s notifications are unread (a point read: every page's header asks).
pub fn unread(db: &Db, user: UserId) -> Result<i64> {
    db.point.read(|conn| Ok(crate::db::writer::first_row::<(i64,)>(conn, UNREAD, [user])?.map_or(0, |(n,)| n)))
}

/// [`unread`] for the user signed in as `username` (what the page layout knows).
pub fn unread_for_name(db: &Db, username: &str) -> Result<i64> {
    db.point.read(|conn| {
        let sql = r#"select count(*) from notifications n
            join users u on u.id = n.user_id
            join board_members m on m.board_id = n.board_id and m.user_id = n.user_id
            where u.username = ? and n.read_at is null"#;
        Ok(crate::db::writer::first_row::<(i64,)>(conn, sql, [username])?.map_or(0, |(n,)| n))
    })
}

/// Marks one of `user`'s notifications read; the unread count after. Another user's, an unknown
/// one or one of a board they left: [`Error::NotFound`]. Every tab of the user hears
/// `{"kind":"read","ids":[id],"unread":n}`.
pub async fn mark_read(db: &Db, user: UserId, id: NotificationId) -> Result<i64> {
    db.write(Some(user), move |w| {
        let visible: Option<(i64,)> = w.opt(&format!("{SELECT} where n.id = ? and n.user_id = ?"), [id.0, user.0])?;
        if visible.is_none() {
            return Err(Error::NotFound);
        }
        w.exec(
            "update notifications set read_at = ? where id = ? and read_at is null",
            rusqlite::params![Ts(now()), id],
        )?;
        let (unread,): (i64,) = w.one(UNREAD, [user])?;
        w.broadcast(Channel::Notifications, Some(user.0), json!({ "kind": "read", "ids": [id], "unread": unread }))?;
        Ok(unread)
    })
    .await
}

/// Marks every notification of `user` read; the unread count after (0). Every tab hears
/// `{"kind":"read","all":true,"unread":0}`.
pub async fn mark_all_read(db: &Db, user: UserId) -> Result<i64> {
    db.write(Some(user), move |w| {
        w.exec(
            "update notifications set read_at = ? where user_id = ? and read_at is null",
            rusqlite::params![Ts(now()), user],
        )?;
        let (unread,): (i64,) = w.one(UNREAD, [user])?;
        w.broadcast(Channel::Notifications, Some(user.0), json!({ "kind": "read", "all": true, "unread": unread }))?;
        Ok(unread)
    })
    .await
}

/// Deletes notifications older than `max_age`, read or not; how many.
pub async fn prune(db: &Db, max_age: Duration) -> Result<usize> {
    let cutoff = now() - max_age;
    db.write(None, move |w| w.exec("delete from notifications where created_at < ?", [Ts(cutoff)])).await
}
