//! Boards repository: boards, their columns and their members. Every write records its events.

use sqlx::SqlitePool;

use super::{
    events::latest_seq,
    notifications::{self, Going},
    now,
    rank::{self, rank_for, step},
    require_member,
    rows::{CARD_SELECT, MEMBER_SELECT, board, column, member, require_member as require_member_in},
};
use crate::{
    db::{Db, Ts},
    domain::*,
    error::{Error, Result},
    events::{Action, Collection},
};

/// Boards the user is a member of, newest first.
pub async fn list_for(pool: &SqlitePool, user: UserId) -> Result<Vec<Board>> {
    Ok(sqlx::query_as(
        r#"select b.* from boards b join board_members m on m.board_id = b.id
           where m.user_id = ? order by b.id desc"#,
    )
    .bind(user)
    .fetch_all(pool)
    .await?)
}

/// Everything the board page shows, read in one snapshot together with the seq it is current to.
pub async fn snapshot(pool: &SqlitePool, id: BoardId, viewer: UserId) -> Result<BoardSnapshot> {
    let mut tx = pool.begin().await?;
    require_member(&mut *tx, id, viewer).await?;
    let seq = latest_seq(&mut *tx).await?;
    let board = sqlx::query_as("select * from boards where id = ?").bind(id).fetch_one(&mut *tx).await?;
    let columns = sqlx::query_as("select * from columns where board_id = ? order by rank, id")
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
    let cards = sqlx::query_as(&format!(
        "{CARD_SELECT} join columns k on k.id = c.column_id where c.board_id = ? order by k.rank, k.id, c.rank, c.id"
    ))
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    let members = sqlx::query_as(&format!("{MEMBER_SELECT} where m.board_id = ? order by u.username"))
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(BoardSnapshot { board, columns, cards, members, seq })
}

/// Creates a board with Todo / Doing / Done columns, owned by `actor`.
pub async fn create(db: &Db, actor: UserId, name: &BoardName) -> Result<Board> {
    let name = name.as_str().to_owned();
    db.write(Some(actor), move |w| {
        let (owned,): (i64,) = w.one("select count(*) from boards where owner_id = ?", [actor])?;
        if owned >= MAX_BOARDS_PER_OWNER {
            return Err(Error::invalid("name", format!("You own {owned} boards, the most allowed; delete one first")));
        }
        let t = Ts(now());
        let (id,): (BoardId,) = w.one(
            "insert into boards (name, owner_id, created_at, updated_at) values (?, ?, ?, ?) returning id",
            rusqlite::params![name, actor, t, t],
        )?;
        let mut columns: Vec<Column> = Vec::new();
        let mut last: Option<String> = None;
        for name in ["Todo", "Doing", "Done"] {
            let r = rank::between(last.as_deref(), None);
            let col: Column = w.one(
                "insert into columns (board_id, name, rank, created_at, updated_at) values (?, ?, ?, ?, ?) returning *",
                rusqlite::params![id, name, &r, t, t],
            )?;
            last = Some(r);
            columns.push(col);
        }
        let board: Board = w.one(
            "update boards set done_column_id = ? where id = ? returning *",
            rusqlite::params![columns[2].id, id],
        )?;
        w.exec(
            "insert into board_members (board_id, user_id, role, added_at) values (?, ?, 'owner', ?)",
            rusqlite::params![id, actor, t],
        )?;
        let owner = member(w, id, actor)?;
        w.record(Action::Create, None, Some(&board))?;
        for c in &columns {
            w.record(Action::Create, None, Some(c))?;
        }
        w.record(Action::Create, None, Some(&owner))?;
        Ok(board)
    })
    .await
}

/// Renames a board.
pub async fn rename(db: &Db, actor: UserId, id: BoardId, name: &BoardName) -> Result<Board> {
    let name = name.as_str().to_owned();
    db.write(Some(actor), move |w| {
        require_member_in(w, id, actor)?;
        let before = board(w, id)?;
        let after: Board = w.one(
            "update boards set name = ?, updated_at = ? where id = ? returning *",
            rusqlite::params![name, Ts(now()), id],
        )?;
        w.record(Action::Update, Some(&before), Some(&after))?;
        Ok(after)
    })
    .await
}

/// Deletes a board and everything on it; only its owner may.
pub async fn delete(db: &Db, actor: UserId, id: BoardId) -> Result<()> {
    db.write(Some(actor), move |w| {
        if require_member_in(w, id, actor)? != Role::Owner {
            return Err(Error::Forbidden("only the board's owner can delete it"));
        }
        let before = board(w, id)?;
        let readers = notifications::readers_losing(w, Going::Board(id))?;
        w.exec("delete from boards where id = ?", [id])?;
        w.record(Action::Delete, Some(&before), None)?;
        notifications::recount(w, &readers)?;
        Ok(())
    })
    .await
}

/// Adds a column at the right end of the board.
pub async fn create_column(db: &Db, actor: UserId, board: BoardId, name: &ColumnName) -> Result<Column> {
    let name = name.as_str().to_owned();
    db.write(Some(actor), move |w| {
        require_member_in(w, board, actor)?;
        let (last, count): (Option<String>, i64) =
            w.one("select max(rank), count(*) from columns where board_id = ?", [board])?;
        if count >= MAX_COLUMNS_PER_BOARD {
            return Err(Error::invalid("name", format!("A board has at most {MAX_COLUMNS_PER_BOARD} columns")));
        }
        let t = Ts(now());
        let col: Column = w.one(
            "insert into columns (board_id, name, rank, created_at, updated_at) values (?, ?, ?, ?, ?) returning *",
            rusqlite::params![board, name, rank::between(last.as_deref(), None), t, t],
        )?;
        w.record(Action::Create, None, Some(&col))?;
        Ok(col)
    })
    .await
}

/// Renames and/or moves a column.
pub async fn update_column(
    db: &Db,
    actor: UserId,
    id: ColumnId,
    name: Option<&ColumnName>,
    place: Option<Place>,
) -> Result<Column> {
    let name = name.map(|n| n.as_str().to_owned());
    db.write(Some(actor), move |w| {
        let before = column(w, id)?;
        require_member_in(w, before.board_id, actor)?;
        let rank = match place {
            None => before.rank.clone(),
            Some(p) => {
                let all: Vec<(i64, String)> =
                    w.all("select id, rank from columns where board_id = ? order by rank, id", [before.board_id])?;
                match step(&all, id.0, p) {
                    None => before.rank.clone(),
                    Some(p) => {
                        let siblings: Vec<(i64, String)> = all.into_iter().filter(|(s, _)| *s != id.0).collect();
                        rank_for(&siblings, p)?
                    }
                }
            }
        };
        let after: Column = w.one(
            "update columns set name = ?, rank = ?, updated_at = ? where id = ? returning *",
            rusqlite::params![name.as_deref().unwrap_or(&before.name), rank, Ts(now()), id],
        )?;
        w.record(Action::Update, Some(&before), Some(&after))?;
        Ok(after)
    })
    .await
}

/// Deletes a column and its cards (each card's deletion, and each of its checklist items' and
/// comments', is an event of its own); returns the column.
pub async fn delete_column(db: &Db, actor: UserId, id: ColumnId) -> Result<Column> {
    db.write(Some(actor), move |w| {
        let col = column(w, id)?;
        require_member_in(w, col.board_id, actor)?;
        let cards: Vec<Card> = w.all(&format!("{CARD_SELECT} where c.column_id = ? order by c.rank, c.id"), [id])?;
        let readers = notifications::readers_losing(w, Going::Column(id))?;
        let mut comments = Vec::new();
        for c in &cards {
            comments.extend(super::rows::comments_of_card(w, c.id)?);
            super::checklist::record_card_deleted(w, c.id)?;
        }
        w.exec("delete from cards where column_id = ?", [id])?;
        for c in &cards {
            w.record(Action::Delete, Some(c), None)?;
        }
        for c in &comments {
            w.record(Action::Delete, Some(c), None)?;
        }
        let before = board(w, col.board_id)?;
        w.exec("delete from columns where id = ?", [id])?;
        w.record(Action::Delete, Some(&col), None)?;
        if before.done_column_id == Some(id) {
            let after = board(w, col.board_id)?;
            w.record(Action::Update, Some(&before), Some(&after))?;
        }
        notifications::recount(w, &readers)?;
        Ok(col)
    })
    .await
}

/// Adds a member by username.
pub async fn add_member(db: &Db, actor: UserId, board: BoardId, username: &str) -> Result<Member> {
    let username = username.trim().to_owned();
    db.write(Some(actor), move |w| {
        require_member_in(w, board, actor)?;
        let user: Option<(UserId,)> = w.opt("select id from users where username = ?", [&username])?;
        let (user,) = user.ok_or_else(|| Error::invalid("username", format!("No user called {username:?}")))?;
        let added = w.exec(
            "insert into board_members (board_id, user_id, role, added_at) values (?, ?, 'member', ?) on conflict do nothing",
            rusqlite::params![board, user, Ts(now())],
        )?;
        if added == 0 {
            return Err(Error::Conflict(format!("{username} is already a member")));
        }
        let m = member(w, board, user)?;
        w.record(Action::Create, None, Some(&m))?;
        Ok(m)
    })
    .await
}

/// Removes a member by username; their cards become unassigned. The owner cannot be removed.
pub async fn remove_member(db: &Db, actor: UserId, board: BoardId, username: &str) -> Result<()> {
    let username = username.trim().to_owned();
    db.write(Some(actor), move |w| {
        require_member_in(w, board, actor)?;
        let user: Option<(UserId,)> = w.opt("select id from users where username = ?", [&username])?;
        let m = member(w, board, user.ok_or(Error::NotFound)?.0)?;
        if m.role == Role::Owner {
            return Err(Error::Conflict("the board's owner cannot be removed".into()));
        }
        let cards: Vec<Card> = w.all(
            &format!("{CARD_SELECT} where c.board_id = ? and c.assignee_id = ?"),
            rusqlite::params![board, m.user_id],
        )?;
        for before in cards {
            let after = Card {
                assignee_id: None,
                assignee: None,
                version: before.version + 1,
                updated_at: now(),
                ..before.clone()
            };
            w.exec(
                "update cards set assignee_id = null, version = ?, updated_at = ? where id = ?",
                rusqlite::params![after.version, Ts(after.updated_at), after.id],
            )?;
            w.record(Action::Update, Some(&before), Some(&after))?;
        }
        let readers = notifications::readers_losing(w, Going::Member(board, m.user_id))?;
        w.exec("delete from board_members where board_id = ? and user_id = ?", rusqlite::params![board, m.user_id])?;
        w.record(Action::Delete, Some(&m), None)?;
        notifications::recount(w, &readers)?;
        Ok(())
    })
    .await
}

/// Every board's members (by name) and done column: where the hub's board access starts.
pub async fn all_access(pool: &SqlitePool) -> Result<(Vec<(BoardId, BoardMember)>, Vec<(BoardId, Option<ColumnId>)>)> {
    let members: Vec<(BoardId, UserId, String, Role)> = sqlx::query_as(
        "select m.board_id, m.user_id, u.username, m.role from board_members m join users u on u.id = m.user_id",
    )
    .fetch_all(pool)
    .await?;
    let done = sqlx::query_as("select id, done_column_id from boards").fetch_all(pool).await?;
    let members = members.into_iter().map(|(b, id, username, role)| (b, BoardMember { id, username, role })).collect();
    Ok((members, done))
}

/// A board's members, by name.
pub async fn members(pool: &SqlitePool, board: BoardId) -> Result<Vec<BoardMember>> {
    let rows: Vec<Member> = sqlx::query_as(&format!("{MEMBER_SELECT} where m.board_id = ? order by u.username"))
        .bind(board)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(BoardMember::from).collect())
}

/// The boards `user` is a member of now, each with the seq of the event that made them one: a
/// replay shows them only what happened on a board since they joined it (a member added later must
/// not read comments deleted, or descriptions rewritten, before their time).
pub async fn memberships_of(pool: &SqlitePool, user: UserId) -> Result<std::collections::HashMap<BoardId, i64>> {
    // The joining event is the newest `members` create for this pair; pruned, it predates any replay.
    // The owner has seen the board from its creation (the same transaction as their membership).
    let rows: Vec<(BoardId, i64)> = sqlx::query_as(
        r#"select m.board_id,
                  case when b.owner_id = m.user_id then 0 else
                  coalesce((select max(e.seq) from events e
                            where e.board_id = m.board_id and e.collection = 'members'
                              and e.action = 'create' and e.record_id = m.user_id), 0) end
           from board_members m join boards b on b.id = m.board_id where m.user_id = ?"#,
    )
    .bind(user)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// The seq from which `user` may see `board`'s history (see [`memberships_of`]); `None` if not a member.
pub async fn member_since(pool: &SqlitePool, board: BoardId, user: UserId) -> Result<Option<i64>> {
    Ok(memberships_of(pool, user).await?.get(&board).copied())
}

/// A board's done column (what the `active_cards` view leaves out).
pub async fn done_column(pool: &SqlitePool, board: BoardId) -> Result<Option<ColumnId>> {
    Ok(sqlx::query_scalar("select done_column_id from boards where id = ?")
        .bind(board)
        .fetch_optional(pool)
        .await?
        .flatten())
}

/// The board a record of `collection` lives on, if the record exists (for record subscriptions).
pub async fn board_of(pool: &SqlitePool, collection: Collection, id: i64) -> Result<Option<BoardId>> {
    let sql = match collection {
        Collection::Boards => "select id from boards where id = ?",
        Collection::Columns => "select board_id from columns where id = ?",
        Collection::Cards => "select board_id from cards where id = ?",
        Collection::Comments => "select board_id from comments where id = ?",
        Collection::ChecklistItems => "select board_id from checklist_items where id = ?",
        // A member record's id is a user id, which is on many boards: no single board to check.
        Collection::Members => return Ok(None),
    };
    Ok(sqlx::query_scalar(sql).bind(id).fetch_optional(pool).await?)
}
