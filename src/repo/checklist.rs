//! Checklist repository: items on cards (add, tick, untick, edit, reorder, delete); every write
//! records its event, and the card's event too when its done/total count changes.
//!
//! handler → **repository** → event bus → hub → renderer → socket.

use sqlx::SqlitePool;

use super::{
    now,
    rank::{rank_for, step},
    rows::{card, require_member},
};
use crate::{
    db::{Db, Ts, WriteTx},
    domain::*,
    error::{Error, Result},
    events::Action,
};

/// Changes to an item, already parsed; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ChecklistPatch {
    pub text: Option<ChecklistText>,
    pub done: Option<bool>,
    /// `Earlier` / `Later` move one step; `First` / `Last` to an end.
    pub place: Option<Place>,
    /// The version the change started from: a newer item makes the write fail with 409.
    pub expected_version: Option<i64>,
}

fn item(w: &WriteTx<'_>, id: ChecklistItemId) -> Result<ChecklistItem> {
    w.one("select * from checklist_items where id = ?", [id])
}

/// The items of a card, in order, as (id, rank): what a rank is computed from.
fn ranks(w: &WriteTx<'_>, card: CardId) -> Result<Vec<(i64, String)>> {
    w.all("select id, rank from checklist_items where card_id = ? order by rank, id", [card])
}

/// A card's checklist, in order, for a viewer who may see the card.
pub async fn for_card(pool: &SqlitePool, viewer: UserId, card_id: CardId) -> Result<Vec<ChecklistItem>> {
    let board: Option<BoardId> =
        sqlx::query_scalar("select board_id from cards where id = ?").bind(card_id).fetch_optional(pool).await?;
    super::require_member(pool, board.ok_or(Error::NotFound)?, viewer).await?;
    Ok(sqlx::query_as("select * from checklist_items where card_id = ? order by rank, id")
        .bind(card_id)
        .fetch_all(pool)
        .await?)
}

/// Records the card's update when its done/total count changed, so the card on the board (and
/// `cards.*` subscribers) see the new count. `before` is the card as read before the change.
fn record_count(w: &mut WriteTx<'_>, before: &Card) -> Result<()> {
    let after = card(w, before.id)?;
    if (after.checklist_done, after.checklist_total) != (before.checklist_done, before.checklist_total) {
        w.record(Action::Update, Some(before), Some(&after))?;
    }
    Ok(())
}

/// Adds an item at the end of a card's checklist.
pub async fn create(db: &Db, actor: UserId, card_id: CardId, text: &ChecklistText) -> Result<ChecklistItem> {
    let text = text.as_str().to_owned();
    db.write(Some(actor), move |w| {
        let c = card(w, card_id)?;
        require_member(w, c.board_id, actor)?;
        let last: Option<(i64, String)> = w.opt(
            "select id, rank from checklist_items where card_id = ? order by rank desc, id desc limit 1",
            [c.id],
        )?;
        let rank = rank_for(last.as_slice(), Place::Last)?;
        let t = Ts(now());
        let created: ChecklistItem = w.one(
            r#"insert into checklist_items (board_id, card_id, text, rank, created_at, updated_at)
               values (?, ?, ?, ?, ?, ?) returning *"#,
            rusqlite::params![c.board_id, c.id, text, &rank, t, t],
        )?;
        w.record(Action::Create, None, Some(&created))?;
        record_count(w, &c)?;
        Ok(created)
    })
    .await
}

/// Applies `patch` to an item. A patch that changes nothing (ticking a ticked item, moving the
/// first item up) writes nothing and records no event, so a repeated form post is harmless.
pub async fn update(db: &Db, actor: UserId, id: ChecklistItemId, patch: ChecklistPatch) -> Result<ChecklistItem> {
    db.write(Some(actor), move |w| {
        let before = item(w, id)?;
        require_member(w, before.board_id, actor)?;
        if let Some(v) = patch.expected_version.filter(|v| *v != before.version) {
            return Err(Error::Conflict(format!(
                "this checklist item changed since you read it (you had version {v}, it is now version {})",
                before.version
            )));
        }
        let rank = match patch.place {
            None => before.rank.clone(),
            Some(p) => {
                let all = ranks(w, before.card_id)?;
                // Already at that end: the item stays where it is.
                match step(&all, id.0, p) {
                    None => before.rank.clone(),
                    Some(p) => {
                        let siblings: Vec<(i64, String)> = all.into_iter().filter(|(s, _)| *s != id.0).collect();
                        let at_end = match p {
                            Place::First => siblings.first().is_none_or(|(_, r)| before.rank < *r),
                            Place::Last => siblings.last().is_none_or(|(_, r)| before.rank > *r),
                            _ => false,
                        };
                        if at_end { before.rank.clone() } else { rank_for(&siblings, p)? }
                    }
                }
            }
        };
        let text = patch.text.as_ref().map_or(before.text.as_str(), |t| t.as_str());
        let done = patch.done.unwrap_or(before.done);
        if text == before.text && done == before.done && rank == before.rank {
            return Ok(before);
        }
        let card_before = card(w, before.card_id)?;
        let after: ChecklistItem = w.one(
            r#"update checklist_items set text = ?, done = ?, rank = ?, version = version + 1, updated_at = ?
               where id = ? returning *"#,
            rusqlite::params![text, done, &rank, Ts(now()), id],
        )?;
        w.record(Action::Update, Some(&before), Some(&after))?;
        record_count(w, &card_before)?;
        Ok(after)
    })
    .await
}

/// Deletes an item; `expected_version` guards against deleting an item someone just changed.
pub async fn delete(
    db: &Db,
    actor: UserId,
    id: ChecklistItemId,
    expected_version: Option<i64>,
) -> Result<ChecklistItem> {
    db.write(Some(actor), move |w| {
        let before = item(w, id)?;
        require_member(w, before.board_id, actor)?;
        if expected_version.is_some_and(|v| v != before.version) {
            return Err(Error::Conflict("this checklist item changed since you read it".into()));
        }
        let card_before = card(w, before.card_id)?;
        w.exec("delete from checklist_items where id = ?", [id])?;
        w.record(Action::Delete, Some(&before), None)?;
        record_count(w, &card_before)?;
        Ok(before)
    })
    .await
}

/// Records a `delete` event for each item of a card about to be deleted (the rows themselves go
/// by `on delete cascade`), so `checklist_items` subscribers are never left holding them.
pub(crate) fn record_card_deleted(w: &mut WriteTx<'_>, card_id: CardId) -> Result<()> {
    let items: Vec<ChecklistItem> =
        w.all("select * from checklist_items where card_id = ? order by rank, id", [card_id])?;
    for i in &items {
        w.record(Action::Delete, Some(i), None)?;
    }
    Ok(())
}
