//! Undo: a change of your own reverted by a new change that writes its inverse. Nothing in the
//! log is rewritten: the undo is one more job on the writer with its own events, so every client
//! sees it live like any other change, and an undo of the undo is a redo.
//!
//! handler → **undo repository** (reads the event, checks the rules, writes the inverse) → event bus.
//!
//! Undoable: a card's edit or move (its fields come back from the event's `before`), its deletion
//! (the card comes back with its id, its checklist items and its comments) and its creation (the
//! card is deleted). The rules are checked inside the write, so nothing can slip in between: the
//! event must be yours, younger than the window, on a board you belong to, and the card must not
//! have changed since.

use std::time::Duration;

use super::{
    cards::{Fields, delete_in, labels_json, recorded, rewrite},
    now,
    rank::between,
    rows::{CARD_SELECT, COMMENT_SELECT, card, column, require_member},
};
use crate::{
    db::{Db, FromRow, Ts, WriteTx},
    domain::*,
    error::{Error, Result},
    events::{Action, Collection},
};

/// What an undo wrote: the action of its event on the card (the inverse of the undone one), the
/// card as it left it (for a deletion, as it was), and the `seq` of that event, itself undoable.
#[derive(Debug)]
pub struct Undone {
    pub action: Action,
    pub card: Card,
    pub seq: i64,
}

/// Reverts the change recorded as event `seq`, by `actor`, if it is theirs, younger than `window`
/// and its card has not changed since. Nothing is written when it is refused.
pub async fn undo(db: &Db, actor: UserId, seq: i64, window: Duration) -> Result<Undone> {
    // A card brought back counts against the board's limit like a new one.
    let max_cards = db.max_cards_per_board;
    db.write(Some(actor), move |w| {
        let e = event(w, seq)?.ok_or_else(|| missing(seq))?;
        // A change on a board you cannot see is one you cannot know of: the same answer as none.
        match require_member(w, e.board_id, actor) {
            Err(Error::NotFound) => return Err(missing(seq)),
            Err(other) => return Err(other),
            Ok(_) => {}
        }
        if e.actor_id != Some(actor) {
            return Err(Error::Forbidden("only the person who made a change can undo it"));
        }
        if e.collection != Some(Collection::Cards) {
            let to = e.collection.map_or("something else", Collection::as_str);
            return Err(Error::BadRequest(format!(
                "this change cannot be undone: only changes to cards can (this one is to {to})"
            )));
        }
        if window.is_zero() {
            return Err(Error::Expired("undo is turned off on this server (UNDO_WINDOW_SECS=0)".into()));
        }
        if now() - e.at >= window {
            return Err(Error::Expired(format!(
                "this change is too old to undo: a change can be undone for {} after it is made",
                span(window)
            )));
        }
        let (before, after) = (e.before::<Card>(), e.after::<Card>());
        match (e.action, &before, &after) {
            (Some(Action::Update), Some(b), Some(a)) if b.version != a.version => restore(w, actor, &e, b, a),
            (Some(Action::Delete), Some(b), None) => bring_back(w, actor, &e, b, max_cards),
            (Some(Action::Create), None, Some(a)) => take_back(w, actor, &e, a),
            _ => Err(Error::BadRequest("this change cannot be undone: it only recounted the card's checklist".into())),
        }
    })
    .await
}

fn missing(seq: i64) -> Error {
    Error::Missing(format!(
        "there is no change {seq} to undo: it may be too old, and no longer in the log (or it never existed)"
    ))
}

/// "10 minutes", "90 seconds".
fn span(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 60 && s % 60 == 0 => format!("{} minute{}", s / 60, if s == 60 { "" } else { "s" }),
        s => format!("{s} second{}", if s == 1 { "" } else { "s" }),
    }
}

/// An event as undo reads it off the log. A type of its own, decoded only as far as undo needs:
/// what the log's other readers add to theirs does not concern it.
struct Logged {
    seq: i64,
    /// `None` for a collection or action this build does not know (a newer schema).
    collection: Option<Collection>,
    action: Option<Action>,
    board_id: BoardId,
    actor_id: Option<UserId>,
    before: Option<String>,
    after: Option<String>,
    at: time::OffsetDateTime,
}

const LOGGED_SELECT: &str = "select seq, board_id, collection, action, actor_id, before, after, created_at from events";

impl FromRow for Logged {
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            seq: r.get("seq")?,
            collection: Collection::parse(&r.get::<_, String>("collection")?),
            action: Action::parse(&r.get::<_, String>("action")?),
            board_id: BoardId(r.get::<_, Option<i64>>("board_id")?.unwrap_or(0)),
            actor_id: r.get("actor_id")?,
            before: r.get("before")?,
            after: r.get("after")?,
            at: r.get::<_, Ts>("created_at")?.0,
        })
    }
}

impl Logged {
    /// The record before the change, read as `R` (the caller has checked the collection).
    fn before<R: serde::de::DeserializeOwned>(&self) -> Option<R> {
        self.before.as_deref().and_then(|j| serde_json::from_str(j).ok())
    }

    fn after<R: serde::de::DeserializeOwned>(&self) -> Option<R> {
        self.after.as_deref().and_then(|j| serde_json::from_str(j).ok())
    }

    /// A deletion of a `collection` record by `actor`: the record as it was.
    fn deleted<R: serde::de::DeserializeOwned>(&self, collection: Collection, actor: Option<UserId>) -> Option<R> {
        let of = self.collection == Some(collection) && self.action == Some(Action::Delete) && self.actor_id == actor;
        if of { self.before() } else { None }
    }
}

fn event(w: &WriteTx<'_>, seq: i64) -> Result<Option<Logged>> {
    w.opt(&format!("{LOGGED_SELECT} where seq = ?"), [seq])
}

fn card_now(w: &WriteTx<'_>, id: CardId) -> Result<Option<Card>> {
    w.opt(&format!("{CARD_SELECT} where c.id = ?"), [id])
}

/// The refusal when card `id` changed after event `seq`, naming who changed it first (a checklist
/// recount is not a change of the card's own fields).
fn changed_since(w: &WriteTx<'_>, actor: UserId, id: CardId, seq: i64) -> Result<Error> {
    let first: Option<(String, Option<UserId>)> = w.opt(
        r#"select action, actor_id from events
           where seq > ? and collection = 'cards' and record_id = ?
             and (action != 'update' or json_extract(after, '$.version') != json_extract(before, '$.version'))
           order by seq limit 1"#,
        rusqlite::params![seq, id],
    )?;
    let Some((action, by)) = first else {
        return Ok(Error::Conflict("this card changed since, so this change can no longer be undone".into()));
    };
    let verb = match Action::parse(&action) {
        Some(Action::Delete) => "deleted",
        Some(Action::Create) => "restored",
        _ => "changed",
    };
    if by == Some(actor) {
        return Ok(Error::Conflict(format!("you {verb} this card since: undo that change first")));
    }
    Ok(Error::Conflict(format!("{} {verb} this card since, so this change can no longer be undone", name(w, by)?)))
}

fn name(w: &WriteTx<'_>, user: Option<UserId>) -> Result<String> {
    let found: Option<(String,)> = w.opt("select username from users where id = ?", [user])?;
    Ok(found.map_or_else(|| "someone".to_owned(), |(n,)| n))
}

/// The column a card was in, if it is still on the board.
fn column_back(w: &WriteTx<'_>, c: &Card) -> Result<ColumnId> {
    match column(w, c.column_id) {
        Ok(col) if col.board_id == c.board_id => Ok(col.id),
        _ => {
            Err(Error::Conflict("the column this card was in no longer exists, so this change cannot be undone".into()))
        }
    }
}

/// The assignee a card had, if they are still a member of its board (otherwise nobody).
fn assignee_back(w: &WriteTx<'_>, c: &Card) -> Result<Option<UserId>> {
    let Some(user) = c.assignee_id else { return Ok(None) };
    let member: Option<(i64,)> =
        w.opt("select 1 from board_members where board_id = ? and user_id = ?", rusqlite::params![c.board_id, user])?;
    Ok(member.map(|_| user))
}

/// `rank` in `column` if no other card holds it, otherwise one just above it: the card goes back
/// to its place among the cards that are there now.
fn rank_back(w: &WriteTx<'_>, column: ColumnId, me: CardId, rank: &str) -> Result<String> {
    let (taken,): (bool,) = w.one(
        "select exists(select 1 from cards where column_id = ? and rank = ? and id != ?)",
        rusqlite::params![column, rank, me],
    )?;
    if !taken {
        return Ok(rank.to_owned());
    }
    let next: Option<(String,)> = w.opt(
        "select rank from cards where column_id = ? and rank > ? order by rank limit 1",
        rusqlite::params![column, rank],
    )?;
    Ok(between(Some(rank), next.as_ref().map(|(r,)| r.as_str())))
}

/// Undoes an edit or a move: the card's fields as they were before it, if nobody changed it since.
fn restore(w: &mut WriteTx<'_>, actor: UserId, e: &Logged, was: &Card, left: &Card) -> Result<Undone> {
    let id = left.id;
    let current = match card_now(w, id)? {
        Some(c) if c.version == left.version => c,
        _ => return Err(changed_since(w, actor, id, e.seq)?),
    };
    let column_id = column_back(w, was)?;
    let rank = rank_back(w, column_id, id, &was.rank)?;
    let fields = Fields {
        title: &was.title,
        description: &was.description,
        assignee_id: assignee_back(w, was)?,
        labels: &was.labels,
        column_id,
        rank: &rank,
    };
    rewrite(w, id, &fields)?;
    let after = card(w, id)?;
    w.record(Action::Update, Some(&current), Some(&after))?;
    Ok(Undone { action: Action::Update, seq: recorded(w)?, card: after })
}

/// Undoes a deletion: the card comes back with its id (ids are never reused), at its place, with
/// the checklist items and comments deleted with it, each with a `create` event.
fn bring_back(w: &mut WriteTx<'_>, actor: UserId, e: &Logged, was: &Card, max_cards: i64) -> Result<Undone> {
    let id = was.id;
    if card_now(w, id)?.is_some() {
        return Err(Error::Conflict("this card is back already: its deletion was undone".into()));
    }
    let later: Option<(i64,)> = w.opt(
        "select 1 from events where seq > ? and collection = 'cards' and record_id = ? limit 1",
        rusqlite::params![e.seq, id],
    )?;
    if later.is_some() {
        return Err(changed_since(w, actor, id, e.seq)?);
    }
    let column_id = column_back(w, was)?;
    if max_cards > 0 {
        let (cards,): (i64,) = w.one("select count(*) from cards where board_id = ?", [was.board_id])?;
        if cards >= max_cards {
            return Err(Error::Conflict(format!(
                "this board has reached its limit of {max_cards} cards; delete some before bringing this one back"
            )));
        }
    }
    let (items, comments) = deleted_with(w, e, was)?;
    let rank = rank_back(w, column_id, id, &was.rank)?;
    w.exec(
        r#"insert into cards (id, board_id, column_id, title, description, assignee_id, labels, rank, version, created_at, updated_at)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"#,
        rusqlite::params![
            id,
            was.board_id,
            column_id,
            was.title,
            was.description,
            assignee_back(w, was)?,
            labels_json(&was.labels)?,
            rank,
            was.version + 1,
            Ts(was.created_at),
            Ts(now()),
        ],
    )?;
    for i in &items {
        w.exec(
            r#"insert into checklist_items (id, board_id, card_id, text, done, rank, version, created_at, updated_at)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?)"#,
            rusqlite::params![i.id, i.board_id, id, i.text, i.done, i.rank, i.version + 1, Ts(i.created_at), Ts(now())],
        )?;
    }
    // A comment whose author's account is gone stays gone with it.
    let mut back = Vec::new();
    for c in &comments {
        let n = w.exec(
            r#"insert into comments (id, board_id, card_id, author_id, body, created_at)
               select ?, ?, ?, ?, ?, ? where exists(select 1 from users where id = ?)"#,
            rusqlite::params![c.id, c.board_id, id, c.author_id, c.body, Ts(c.created_at), c.author_id],
        )?;
        if n > 0 {
            back.push(c.id);
        }
    }
    let restored = card(w, id)?;
    w.record(Action::Create, None, Some(&restored))?;
    let seq = recorded(w)?;
    for i in &items {
        let item: ChecklistItem = w.one("select * from checklist_items where id = ?", [i.id])?;
        w.record(Action::Create, None, Some(&item))?;
    }
    for c in back {
        let comment: Comment = w.one(&format!("{COMMENT_SELECT} where c.id = ?"), [c])?;
        w.record(Action::Create, None, Some(&comment))?;
    }
    Ok(Undone { action: Action::Create, card: restored, seq })
}

/// The checklist items and comments deleted with a card, read from the log: the card's
/// `checklist_total` item deletions just before its event, and the comment deletions just after
/// it (see [`super::cards::delete_in`]).
fn deleted_with(w: &WriteTx<'_>, e: &Logged, was: &Card) -> Result<(Vec<ChecklistItem>, Vec<Comment>)> {
    let before: Vec<Logged> = w.all(
        &format!("{LOGGED_SELECT} where seq < ? order by seq desc limit ?"),
        rusqlite::params![e.seq, was.checklist_total],
    )?;
    let mut items: Vec<ChecklistItem> = before
        .iter()
        .map_while(|row| row.deleted::<ChecklistItem>(Collection::ChecklistItems, e.actor_id))
        .take_while(|i| i.card_id == was.id)
        .collect();
    if items.len() as i64 != was.checklist_total {
        return Err(Error::Missing(
            "this card's checklist is no longer complete in the log (the change is too old), so it cannot come back"
                .into(),
        ));
    }
    items.reverse();
    let after: Vec<Logged> = w.all(
        &format!("{LOGGED_SELECT} where seq > ? order by seq limit ?"),
        rusqlite::params![e.seq, MAX_COMMENTS_PER_CARD],
    )?;
    let comments = after
        .iter()
        .map_while(|row| row.deleted::<Comment>(Collection::Comments, e.actor_id))
        .take_while(|c| c.card_id == was.id)
        .collect();
    Ok((items, comments))
}

/// Undoes a creation: the card is deleted, if nobody changed it or added to it since (what you
/// added yourself goes with it, as when you delete a card).
fn take_back(w: &mut WriteTx<'_>, actor: UserId, e: &Logged, made: &Card) -> Result<Undone> {
    let current = match card_now(w, made.id)? {
        Some(c) if c.version == made.version => c,
        _ => return Err(changed_since(w, actor, made.id, e.seq)?),
    };
    let other: Option<(Option<UserId>,)> = w.opt(
        r#"select actor_id from events
           where seq > ? and collection in ('comments', 'checklist_items') and actor_id is not ?
             and json_extract(coalesce(after, before), '$.card_id') = ?
           order by seq limit 1"#,
        rusqlite::params![e.seq, actor, made.id],
    )?;
    if let Some((by,)) = other {
        return Err(Error::Conflict(format!(
            "{} added to this card since, so its creation can no longer be undone",
            name(w, by)?
        )));
    }
    let seq = delete_in(w, &current)?;
    Ok(Undone { action: Action::Delete, card: current, seq })
}

/// A column's name, for a notice such as "Moved to Done".
pub async fn column_name(pool: &sqlx::SqlitePool, id: ColumnId) -> Result<String> {
    Ok(sqlx::query_scalar("select name from columns where id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .unwrap_or_default())
}
