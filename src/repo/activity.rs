//! The activity feed's SQL: a board's entries and a card's history read from the event log, and
//! each user's last visit of each board ("7 changes since your last visit").
//!
//! event log (rows and their summaries, written by [`crate::db::WriteTx::record`]) → **activity
//! reads** → activity page, board panel, card history, JSON API.
//!
//! A member sees the entries from the moment they joined the board on, as a replay does (see
//! [`super::boards::memberships_of`]): what happened before their time is not theirs to read.

use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use time::OffsetDateTime;

use crate::{
    activity,
    db::Db,
    domain::*,
    error::{Error, Result},
    events::{Action, Collection},
};

/// Entries a page holds when the caller does not say.
pub const DEFAULT_LIMIT: i64 = 50;
/// Entries a page holds at most.
pub const MAX_LIMIT: i64 = 200;

/// One line of the activity: who did what, when.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub seq: i64,
    /// The actor's username now (`None`: a system change, or a deleted user).
    pub actor: Option<String>,
    pub collection: Collection,
    pub action: Action,
    pub record_id: i64,
    /// The whole sentence, actor first, with the names as they were at the time.
    pub summary: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The card the change concerns (a card's own change, or one of its comments or checklist items).
    pub card_id: Option<CardId>,
}

/// A page of entries, newest first; `next_before` asks for the next (older) page.
#[derive(Clone, Debug, Serialize)]
pub struct Page {
    pub entries: Vec<Entry>,
    pub next_before: Option<i64>,
}

/// Which entries a page shows: the query `?before=<seq>&since=<seq>&limit=<n>` of the activity
/// page and API (a value that is not a number is refused by the extractor, naming it).
#[derive(Clone, Copy, Debug, Default, Deserialize)]
pub struct Range {
    /// Only entries with a smaller seq (older).
    pub before: Option<i64>,
    /// Only entries with a larger seq (newer): "since your last visit".
    pub since: Option<i64>,
    pub limit: Option<i64>,
}

/// The card an event row concerns, as SQL over `e`.
const CARD_OF: &str = "case e.collection when 'cards' then e.record_id
     when 'comments' then json_extract(coalesce(e.after, e.before), '$.card_id')
     when 'checklist_items' then json_extract(coalesce(e.after, e.before), '$.card_id') end";

type Row = (i64, Option<String>, String, String, i64, Option<String>, OffsetDateTime, Option<i64>);

fn entry((seq, actor, collection, action, record_id, summary, at, card): Row) -> Option<Entry> {
    let (collection, action) = (Collection::parse(&collection)?, Action::parse(&action)?);
    let summary = summary.unwrap_or_else(|| activity::fallback(actor.as_deref(), collection, action));
    Some(Entry { seq, actor, collection, action, record_id, summary, at, card_id: card.map(CardId) })
}

/// The seq from which `user` may read `board`'s log; `NotFound` unless a member.
async fn floor(pool: &SqlitePool, board: BoardId, user: UserId) -> Result<i64> {
    super::require_member(pool, board, user).await?;
    Ok(super::boards::member_since(pool, board, user).await?.unwrap_or(0))
}

fn page(mut rows: Vec<Entry>, limit: i64) -> Page {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_before = if more { rows.last().map(|e| e.seq) } else { None };
    Page { entries: rows, next_before }
}

/// The page size asked for: 1 to [`MAX_LIMIT`], or a 400 that says so (as the inbox's limit is).
fn limit(range: &Range) -> Result<i64> {
    match range.limit.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n),
        n => Err(Error::BadRequest(format!("limit is 1 to {MAX_LIMIT}, not {n}"))),
    }
}

/// A board's activity, newest first, for one of its members.
pub async fn for_board(pool: &SqlitePool, board: BoardId, viewer: UserId, range: Range) -> Result<Page> {
    let floor = floor(pool, board, viewer).await?.max(range.since.unwrap_or(0));
    let limit = limit(&range)?;
    let rows: Vec<Row> = sqlx::query_as(&format!(
        r#"select e.seq, u.username, e.collection, e.action, e.record_id, e.summary, e.created_at, {CARD_OF}
           from events e left join users u on u.id = e.actor_id
           where e.board_id = ? and e.seq > ? and e.seq < ? and coalesce(e.summary, 'x') <> ''
           order by e.seq desc limit ?"#
    ))
    .bind(board)
    .bind(floor)
    .bind(range.before.unwrap_or(i64::MAX))
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    Ok(page(rows.into_iter().filter_map(entry).collect(), limit))
}

/// A card's history (its own changes, its comments and checklist items), newest first.
pub async fn for_card(pool: &SqlitePool, card: CardId, viewer: UserId, range: Range) -> Result<Page> {
    let board: BoardId = sqlx::query_scalar("select board_id from cards where id = ?")
        .bind(card)
        .fetch_optional(pool)
        .await?
        .ok_or(Error::NotFound)?;
    let floor = floor(pool, board, viewer).await?;
    let limit = limit(&range)?;
    let rows: Vec<Row> = sqlx::query_as(&format!(
        r#"select e.seq, u.username, e.collection, e.action, e.record_id, e.summary, e.created_at, {CARD_OF} as card
           from events e left join users u on u.id = e.actor_id
           where e.board_id = ? and e.seq > ? and e.seq < ? and coalesce(e.summary, 'x') <> ''
             and e.collection in ('cards', 'comments', 'checklist_items') and card = ?
           order by e.seq desc limit ?"#
    ))
    .bind(board)
    .bind(floor)
    .bind(range.before.unwrap_or(i64::MAX))
    .bind(card)
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    Ok(page(rows.into_iter().filter_map(entry).collect(), limit))
}

/// What changed on a board since a user's previous visit.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SinceVisit {
    /// The newest seq they had seen then: the activity `since` filter.
    pub last_seen_seq: i64,
    /// Changes made by others since.
    pub changes: i64,
    /// The cards those changes touched.
    pub cards: Vec<CardId>,
}

/// The seq `user` had seen of `board` at their last visit, if they have been here before.
pub async fn last_seen(pool: &SqlitePool, board: BoardId, user: UserId) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("select last_seen_seq from board_visits where user_id = ? and board_id = ?")
        .bind(user)
        .bind(board)
        .fetch_optional(pool)
        .await?)
}

/// Others' changes on `board` after `since` (`user` a member, checked by the caller's snapshot).
pub async fn since_visit(pool: &SqlitePool, board: BoardId, user: UserId, since: i64) -> Result<SinceVisit> {
    let floor = super::boards::member_since(pool, board, user).await?.unwrap_or(0).max(since);
    let (changes,): (i64,) = sqlx::query_as(
        r#"select count(*) from events e
           where e.board_id = ? and e.seq > ? and e.actor_id is not ? and coalesce(e.summary, 'x') <> ''"#,
    )
    .bind(board)
    .bind(floor)
    .bind(user)
    .fetch_one(pool)
    .await?;
    let cards: Vec<CardId> = if changes == 0 {
        Vec::new()
    } else {
        sqlx::query_scalar(&format!(
            r#"select distinct card from (select {CARD_OF} as card from events e
               where e.board_id = ? and e.seq > ? and e.actor_id is not ? and coalesce(e.summary, 'x') <> '')
               where card is not null"#
        ))
        .bind(board)
        .bind(floor)
        .bind(user)
        .fetch_all(pool)
        .await?
    };
    Ok(SinceVisit { last_seen_seq: since, changes, cards })
}

/// Remembers that `user` has seen `board` up to `seq` (never moving back).
pub async fn mark_seen(db: &Db, board: BoardId, user: UserId, seq: i64) -> Result<()> {
    let now = crate::db::Ts(super::now());
    db.write(Some(user), move |w| {
        w.exec(
            r#"insert into board_visits (user_id, board_id, last_seen_seq, seen_at) values (?, ?, ?, ?)
               on conflict (user_id, board_id) do update
               set last_seen_seq = max(last_seen_seq, excluded.last_seen_seq), seen_at = excluded.seen_at"#,
            rusqlite::params![user, board, seq, now],
        )?;
        Ok(())
    })
    .await
}

/// A board's name, for the activity page's title (the caller has checked membership).
pub async fn board_name(pool: &SqlitePool, board: BoardId) -> Result<String> {
    sqlx::query_scalar("select name from boards where id = ?")
        .bind(board)
        .fetch_optional(pool)
        .await?
        .ok_or(Error::NotFound)
}
