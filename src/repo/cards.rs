//! Cards repository: create, edit, move and delete cards; every write records its event.

use std::sync::Arc;

use sqlx::SqlitePool;

use super::{
    notifications::{self, Going, Source},
    now,
    rank::rank_for,
    require_member,
    rows::{CARD_SELECT, card, column, require_member as require_member_in},
};
use crate::{
    db::{Db, Ts, WriteTx},
    domain::*,
    error::{Error, Result},
    events::{Action, Changed, Event},
    repo::events::load_range,
};

/// A card to create, already parsed.
#[derive(Debug)]
pub struct NewCard {
    pub title: CardTitle,
    pub description: Description,
    /// `None` puts the card in the board's first column.
    pub column_id: Option<ColumnId>,
    pub assignee: Option<String>,
    pub labels: Labels,
    pub place: Place,
}

/// Changes to a card, already parsed; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct CardPatch {
    pub title: Option<CardTitle>,
    pub description: Option<Description>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<String>>,
    pub labels: Option<Labels>,
    pub column_id: Option<ColumnId>,
    pub place: Option<Place>,
    /// The version the edit started from: a newer card makes the write fail with 409.
    pub expected_version: Option<i64>,
}

/// A card the viewer may see.
pub async fn get(pool: &SqlitePool, viewer: UserId, id: CardId) -> Result<Card> {
    let c: Card = sqlx::query_as(&format!("{CARD_SELECT} where c.id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or(Error::NotFound)?;
    require_member(pool, c.board_id, viewer).await?;
    Ok(c)
}

/// The member called `username` on `board`: their id and their name as stored.
fn assignee(w: &WriteTx<'_>, board: BoardId, username: &str) -> Result<(UserId, String)> {
    w.opt(
        "select u.id, u.username from users u join board_members m on m.user_id = u.id where m.board_id = ? and u.username = ?",
        rusqlite::params![board, username.trim()],
    )?
    .ok_or_else(|| Error::invalid("assignee", format!("{:?} is not a member of this board", username.trim())))
}

/// One answer for a column that does not exist and one on a board the user may not see.
const NO_SUCH_COLUMN: &str = "No such column on this board";

fn column_on_board(w: &WriteTx<'_>, board: BoardId, id: ColumnId) -> Result<Column> {
    let col = column(w, id).map_err(|_| Error::invalid("column_id", NO_SUCH_COLUMN))?;
    if col.board_id != board {
        return Err(Error::invalid("column_id", NO_SUCH_COLUMN));
    }
    Ok(col)
}

fn rank_in(w: &WriteTx<'_>, column: ColumnId, except: Option<CardId>, place: Place) -> Result<String> {
    // Appending or prepending needs only the neighbour at that end, read through the
    // (column_id, rank, id) index: creating a card must not cost O(cards in the column).
    if except.is_none() && matches!(place, Place::First | Place::Last) {
        let sql = if place == Place::First {
            "select id, rank from cards where column_id = ? order by rank, id limit 1"
        } else {
            "select id, rank from cards where column_id = ? order by rank desc, id desc limit 1"
        };
        let edge: Option<(i64, String)> = w.opt(sql, [column])?;
        return rank_for(edge.as_slice(), place);
    }
    let all: Vec<(i64, String)> =
        w.all("select id, rank from cards where column_id = ? order by rank, id", [column])?;
    let place = match except {
        Some(me) => super::rank::step(&all, me.0, place).unwrap_or(place),
        None => place,
    };
    let siblings: Vec<(i64, String)> = all.into_iter().filter(|(s, _)| Some(CardId(*s)) != except).collect();
    rank_for(&siblings, place)
}

/// Where a new card goes, checked in one statement: the checks a create needs are read together.
struct CreateTarget {
    column_id: ColumnId,
    /// For `First` / `Last`: the card at that end of the column (or none), which is all a rank needs.
    edge: Option<Vec<(i64, String)>>,
}

/// The check a create makes, for a card put first (`[0]`) or last (`[1]`) in its column. Only the
/// sort direction is formatted into the SQL, never input; built once.
static CREATE_TARGET: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
    ["asc", "desc"].map(|edge_order| {
        format!(
            r#"with target as (
               select coalesce(?3, (select id from columns where board_id = ?1 order by rank, id limit 1)) as id
           )
           select exists(select 1 from boards where id = ?1),
                  (select role from board_members where board_id = ?1 and user_id = ?2),
                  (select board_id from columns where id = ?3),
                  (select id from target),
                  (select c.id from cards c, target t where c.column_id = t.id order by c.rank {edge_order}, c.id {edge_order} limit 1),
                  (select c.rank from cards c, target t where c.column_id = t.id order by c.rank {edge_order}, c.id {edge_order} limit 1),
                  (select count(*) from (select 1 from cards where board_id = ?1 limit ?4))"#
        )
    })
});

fn create_target(
    w: &WriteTx<'_>,
    board: BoardId,
    actor: UserId,
    column: Option<ColumnId>,
    place: Place,
    max_cards: i64,
) -> Result<CreateTarget> {
    type Row = (bool, Option<String>, Option<BoardId>, Option<ColumnId>, Option<i64>, Option<String>, i64);
    let sql = &CREATE_TARGET[usize::from(place != Place::First)];
    let (board_exists, role, column_board, column_id, edge_id, edge_rank, cards): Row =
        w.one(sql, rusqlite::params![board, actor, column, max_cards.max(0)])?;
    // A board that exists but is not theirs looks exactly like one that does not exist.
    if !board_exists || role.is_none() {
        return Err(Error::NotFound);
    }
    match (column, column_board) {
        (Some(_), None) => return Err(Error::invalid("column_id", NO_SUCH_COLUMN)),
        (Some(_), Some(b)) if b != board => return Err(Error::invalid("column_id", NO_SUCH_COLUMN)),
        _ => {}
    }
    // Counting stops at the limit, so the check costs at most that many index entries.
    if max_cards > 0 && cards >= max_cards {
        return Err(Error::invalid(
            "title",
            format!("This board has reached its limit of {max_cards} cards; delete some first"),
        ));
    }
    let column_id = column_id.ok_or(Error::invalid("column_id", "This board has no columns"))?;
    let edge = matches!(place, Place::First | Place::Last).then(|| edge_id.zip(edge_rank).into_iter().collect());
    Ok(CreateTarget { column_id, edge })
}

/// Creates a card on `board`.
pub async fn create(db: &Db, actor: UserId, board: BoardId, new: NewCard) -> Result<Changed<Card>> {
    let max_cards = db.max_cards_per_board;
    db.write(Some(actor), move |w| {
        let target = create_target(w, board, actor, new.column_id, new.place, max_cards)?;
        let column_id = target.column_id;
        let assignee = match &new.assignee {
            Some(name) if !name.trim().is_empty() => Some(assignee(w, board, name)?),
            _ => None,
        };
        let rank = match target.edge {
            Some(edge) => rank_for(&edge, new.place)?,
            None => rank_in(w, column_id, None, new.place)?,
        };
        let t = now();
        let labels = new.labels.into_vec();
        let (id,): (CardId,) = w.one(
            r#"insert into cards (board_id, column_id, title, description, assignee_id, labels, rank, created_at, updated_at)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?) returning id"#,
            rusqlite::params![
                board,
                column_id,
                new.title.as_str(),
                new.description.as_str(),
                assignee.as_ref().map(|(id, _)| *id),
                labels_json(&labels)?,
                &rank,
                Ts(t),
                Ts(t),
            ],
        )?;
        // Everything in the row is known here: no second read.
        let (assignee_id, assignee) = assignee.unzip();
        let created = Card {
            id,
            board_id: board,
            column_id,
            title: new.title.as_str().to_owned(),
            description: new.description.as_str().to_owned(),
            assignee_id,
            assignee,
            labels,
            rank,
            version: 1,
            checklist_done: 0,
            checklist_total: 0,
            created_at: t,
            updated_at: t,
        };
        w.record(Action::Create, None, Some(&created))?;
        let seq = recorded(w)?;
        notifications::notify_mentions(w, actor, &created, Source::Description, "", &created.description)?;
        Ok(Changed { record: created, seq })
    })
    .await
}

/// The `seq` of the event just recorded: what a caller may undo.
pub(crate) fn recorded(w: &WriteTx<'_>) -> Result<i64> {
    w.last_seq().ok_or_else(|| Error::Other(anyhow::anyhow!("the change recorded no event")))
}

/// A card's fields as an edit, a move or an undo leaves them.
pub(crate) struct Fields<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub assignee_id: Option<UserId>,
    pub labels: &'a [String],
    pub column_id: ColumnId,
    pub rank: &'a str,
}

/// Writes `fields` into card `id` and moves its version on: the one statement every change of a
/// card's own fields goes through.
pub(crate) fn rewrite(w: &WriteTx<'_>, id: CardId, f: &Fields<'_>) -> Result<()> {
    w.exec(
        r#"update cards set title = ?, description = ?, assignee_id = ?, labels = ?, column_id = ?, rank = ?,
           version = version + 1, updated_at = ? where id = ?"#,
        rusqlite::params![
            f.title,
            f.description,
            f.assignee_id,
            labels_json(f.labels)?,
            f.column_id,
            f.rank,
            Ts(now()),
            id
        ],
    )?;
    Ok(())
}

/// Labels as the `labels` column stores them: a JSON array of strings.
pub(crate) fn labels_json(labels: &[String]) -> Result<String> {
    Ok(serde_json::to_string(labels).map_err(anyhow::Error::from)?)
}

/// Applies `patch` to a card; a move rewrites only this card's row.
pub async fn update(db: &Db, actor: UserId, id: CardId, patch: CardPatch) -> Result<Changed<Card>> {
    db.write(Some(actor), move |w| {
        let before = card(w, id)?;
        require_member_in(w, before.board_id, actor)?;
        if let Some(v) = patch.expected_version.filter(|v| *v != before.version) {
            return Err(Error::Conflict(format!(
                "this card changed since you opened it (you had version {v}, it is now version {})",
                before.version
            )));
        }
        let assignee_id = match &patch.assignee {
            None => before.assignee_id,
            Some(None) => None,
            Some(Some(name)) if name.trim().is_empty() => None,
            Some(Some(name)) => Some(assignee(w, before.board_id, name)?.0),
        };
        let column_id = match patch.column_id {
            Some(c) => column_on_board(w, before.board_id, c)?.id,
            None => before.column_id,
        };
        let rank = match (patch.place, column_id != before.column_id) {
            (Some(p), _) => rank_in(w, column_id, Some(id), p)?,
            (None, true) => rank_in(w, column_id, Some(id), Place::Last)?,
            (None, false) => before.rank.clone(),
        };
        let labels = patch.labels.map_or_else(|| before.labels.clone(), Labels::into_vec);
        let fields = Fields {
            title: patch.title.as_ref().map_or(before.title.as_str(), |t| t.as_str()),
            description: patch.description.as_ref().map_or(before.description.as_str(), |d| d.as_str()),
            assignee_id,
            labels: &labels,
            column_id,
            rank: &rank,
        };
        rewrite(w, id, &fields)?;
        let after = card(w, id)?;
        w.record(Action::Update, Some(&before), Some(&after))?;
        let seq = recorded(w)?;
        notifications::notify_mentions(w, actor, &after, Source::Description, &before.description, &after.description)?;
        Ok(Changed { record: after, seq })
    })
    .await
}

/// Deletes a card; `expected_version` guards against deleting a card someone just changed.
pub async fn delete(db: &Db, actor: UserId, id: CardId, expected_version: Option<i64>) -> Result<Changed<Card>> {
    db.write(Some(actor), move |w| {
        let before = card(w, id)?;
        require_member_in(w, before.board_id, actor)?;
        if expected_version.is_some_and(|v| v != before.version) {
            return Err(Error::Conflict("this card changed since you opened it".into()));
        }
        let seq = delete_in(w, &before)?;
        Ok(Changed { record: before, seq })
    })
    .await
}

/// Deletes a card inside a write, with an event for it and for each of its checklist items and
/// comments (their rows go by `on delete cascade`); the `seq` of the card's own event.
///
/// The items' events come just before the card's (its `checklist_total` says how many), the
/// comments' just after: once the card is gone nothing else can delete its comments, so the
/// comment deletions that follow the card's event are exactly the ones of this change. That is
/// how undo finds what to bring back (see [`super::undo`]).
pub(crate) fn delete_in(w: &mut WriteTx<'_>, before: &Card) -> Result<i64> {
    let comments = super::rows::comments_of_card(w, before.id)?;
    let readers = notifications::readers_losing(w, Going::Card(before.id))?;
    super::checklist::record_card_deleted(w, before.id)?;
    w.exec("delete from cards where id = ?", [before.id])?;
    w.record(Action::Delete, Some(before), None)?;
    let seq = recorded(w)?;
    for c in &comments {
        w.record(Action::Delete, Some(c), None)?;
    }
    notifications::recount(w, &readers)?;
    Ok(seq)
}

/// The changes made to a card after `version`, oldest first: what a conflicting editor is shown.
pub async fn changes_since(pool: &SqlitePool, id: CardId, version: i64) -> Result<Vec<(Arc<Event>, Option<String>)>> {
    let seqs: Vec<(i64, Option<String>)> = sqlx::query_as(
        r#"select e.seq, u.username from events e left join users u on u.id = e.actor_id
           where e.collection = 'cards' and e.record_id = ? and e.action = 'update'
             and json_extract(e.after, '$.version') > ? order by e.seq"#,
    )
    .bind(id)
    .bind(version)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::new();
    for (seq, who) in seqs {
        if let Some(e) = load_range(pool, seq - 1, seq).await?.pop() {
            out.push((e, who));
        }
    }
    Ok(out)
}
