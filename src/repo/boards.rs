//! Boards repository: boards, their columns and their members. Every write records its events.

use sqlx::{SqliteConnection, SqlitePool};

use super::{
    events::latest_seq,
    now,
    rank::{self, rank_for, step},
    require_member,
    rows::{CARD_SELECT, board, column},
};
use crate::{
    db::Db,
    domain::*,
    error::{Error, Result},
    events::{Action, Collection},
};

const MEMBER_SELECT: &str = r#"select m.board_id, m.user_id, u.username, m.role, m.added_at
    from board_members m join users u on u.id = m.user_id"#;

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

async fn member(conn: &mut SqliteConnection, board: BoardId, user: UserId) -> Result<Member> {
    sqlx::query_as(&format!("{MEMBER_SELECT} where m.board_id = ? and m.user_id = ?"))
        .bind(board)
        .bind(user)
        .fetch_optional(conn)
        .await?
        .ok_or(Error::NotFound)
}

/// Everything the board page shows, read in one snapshot together with the seq it is current to.
pub async fn snapshot(pool: &SqlitePool, id: BoardId, viewer: UserId) -> Result<BoardSnapshot> {
    let mut tx = pool.begin().await?;
    require_member(&mut *tx, id, viewer).await?;
    let seq = latest_seq(&mut *tx).await?;
    let board = board(&mut tx, id).await?;
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
    let mut w = db.write(Some(actor)).await?;
    let owned: i64 =
        sqlx::query_scalar("select count(*) from boards where owner_id = ?").bind(actor).fetch_one(w.conn()).await?;
    if owned >= MAX_BOARDS_PER_OWNER {
        return Err(Error::invalid("name", format!("You own {owned} boards, the most allowed; delete one first")));
    }
    let t = now();
    let id: BoardId = sqlx::query_scalar(
        "insert into boards (name, owner_id, created_at, updated_at) values (?, ?, ?, ?) returning id",
    )
    .bind(name.as_str())
    .bind(actor)
    .bind(t)
    .bind(t)
    .fetch_one(w.conn())
    .await?;
    let mut columns = Vec::new();
    let mut last: Option<String> = None;
    for name in ["Todo", "Doing", "Done"] {
        let r = rank::between(last.as_deref(), None);
        let col: Column = sqlx::query_as(
            "insert into columns (board_id, name, rank, created_at, updated_at) values (?, ?, ?, ?, ?) returning *",
        )
        .bind(id)
        .bind(name)
        .bind(&r)
        .bind(t)
        .bind(t)
        .fetch_one(w.conn())
        .await?;
        last = Some(r);
        columns.push(col);
    }
    let board: Board = sqlx::query_as("update boards set done_column_id = ? where id = ? returning *")
        .bind(columns[2].id)
        .bind(id)
        .fetch_one(w.conn())
        .await?;
    sqlx::query("insert into board_members (board_id, user_id, role, added_at) values (?, ?, 'owner', ?)")
        .bind(id)
        .bind(actor)
        .bind(t)
        .execute(w.conn())
        .await?;
    let owner = member(w.conn(), id, actor).await?;
    w.record(Action::Create, None, Some(&board)).await?;
    for c in &columns {
        w.record(Action::Create, None, Some(c)).await?;
    }
    w.record(Action::Create, None, Some(&owner)).await?;
    w.commit().await?;
    Ok(board)
}

/// Renames a board.
pub async fn rename(db: &Db, actor: UserId, id: BoardId, name: &BoardName) -> Result<Board> {
    let mut w = db.write(Some(actor)).await?;
    require_member(w.conn(), id, actor).await?;
    let before = board(w.conn(), id).await?;
    let after: Board = sqlx::query_as("update boards set name = ?, updated_at = ? where id = ? returning *")
        .bind(name.as_str())
        .bind(now())
        .bind(id)
        .fetch_one(w.conn())
        .await?;
    w.record(Action::Update, Some(&before), Some(&after)).await?;
    w.commit().await?;
    Ok(after)
}

/// Deletes a board and everything on it; only its owner may.
pub async fn delete(db: &Db, actor: UserId, id: BoardId) -> Result<()> {
    let mut w = db.write(Some(actor)).await?;
    if require_member(w.conn(), id, actor).await? != Role::Owner {
        return Err(Error::Forbidden("only the board's owner can delete it"));
    }
    let before = board(w.conn(), id).await?;
    sqlx::query("delete from boards where id = ?").bind(id).execute(w.conn()).await?;
    w.record(Action::Delete, Some(&before), None).await?;
    w.commit().await?;
    Ok(())
}

/// Adds a column at the right end of the board.
pub async fn create_column(db: &Db, actor: UserId, board: BoardId, name: &ColumnName) -> Result<Column> {
    let mut w = db.write(Some(actor)).await?;
    require_member(w.conn(), board, actor).await?;
    let (last, count): (Option<String>, i64) =
        sqlx::query_as("select max(rank), count(*) from columns where board_id = ?")
            .bind(board)
            .fetch_one(w.conn())
            .await?;
    if count >= MAX_COLUMNS_PER_BOARD {
        return Err(Error::invalid("name", format!("A board has at most {MAX_COLUMNS_PER_BOARD} columns")));
    }
    let t = now();
    let col: Column = sqlx::query_as(
        "insert into columns (board_id, name, rank, created_at, updated_at) values (?, ?, ?, ?, ?) returning *",
    )
    .bind(board)
    .bind(name.as_str())
    .bind(rank::between(last.as_deref(), None))
    .bind(t)
    .bind(t)
    .fetch_one(w.conn())
    .await?;
    w.record(Action::Create, None, Some(&col)).await?;
    w.commit().await?;
    Ok(col)
}

/// Renames and/or moves a column.
pub async fn update_column(
    db: &Db,
    actor: UserId,
    id: ColumnId,
    name: Option<&ColumnName>,
    place: Option<Place>,
) -> Result<Column> {
    let mut w = db.write(Some(actor)).await?;
    let before = column(w.conn(), id).await?;
    require_member(w.conn(), before.board_id, actor).await?;
    let rank = match place {
        None => before.rank.clone(),
        Some(p) => {
            let all: Vec<(i64, String)> =
                sqlx::query_as("select id, rank from columns where board_id = ? order by rank, id")
                    .bind(before.board_id)
                    .fetch_all(w.conn())
                    .await?;
            match step(&all, id.0, p) {
                None => before.rank.clone(),
                Some(p) => {
                    let siblings: Vec<(i64, String)> = all.into_iter().filter(|(s, _)| *s != id.0).collect();
                    rank_for(&siblings, p)?
                }
            }
        }
    };
    let after: Column =
        sqlx::query_as("update columns set name = ?, rank = ?, updated_at = ? where id = ? returning *")
            .bind(name.map_or(before.name.as_str(), |n| n.as_str()))
            .bind(rank)
            .bind(now())
            .bind(id)
            .fetch_one(w.conn())
            .await?;
    w.record(Action::Update, Some(&before), Some(&after)).await?;
    w.commit().await?;
    Ok(after)
}

/// Deletes a column and its cards (each card's deletion, and each of its checklist items', is an
/// event of its own); returns the column.
pub async fn delete_column(db: &Db, actor: UserId, id: ColumnId) -> Result<Column> {
    let mut w = db.write(Some(actor)).await?;
    let col = column(w.conn(), id).await?;
    require_member(w.conn(), col.board_id, actor).await?;
    let cards: Vec<Card> = sqlx::query_as(&format!("{CARD_SELECT} where c.column_id = ? order by c.rank, c.id"))
        .bind(id)
        .fetch_all(w.conn())
        .await?;
    for c in &cards {
        super::checklist::record_card_deleted(&mut w, c.id).await?;
    }
    sqlx::query("delete from cards where column_id = ?").bind(id).execute(w.conn()).await?;
    for c in &cards {
        w.record(Action::Delete, Some(c), None).await?;
    }
    let before = board(w.conn(), col.board_id).await?;
    sqlx::query("delete from columns where id = ?").bind(id).execute(w.conn()).await?;
    w.record(Action::Delete, Some(&col), None).await?;
    if before.done_column_id == Some(id) {
        let after = board(w.conn(), col.board_id).await?;
        w.record(Action::Update, Some(&before), Some(&after)).await?;
    }
    w.commit().await?;
    Ok(col)
}

/// Adds a member by username.
pub async fn add_member(db: &Db, actor: UserId, board: BoardId, username: &str) -> Result<Member> {
    let mut w = db.write(Some(actor)).await?;
    require_member(w.conn(), board, actor).await?;
    let user: Option<UserId> = sqlx::query_scalar("select id from users where username = ?")
        .bind(username.trim())
        .fetch_optional(w.conn())
        .await?;
    let user = user.ok_or_else(|| Error::invalid("username", format!("No user called {:?}", username.trim())))?;
    let added = sqlx::query(
        "insert into board_members (board_id, user_id, role, added_at) values (?, ?, 'member', ?) on conflict do nothing",
    )
    .bind(board)
    .bind(user)
    .bind(now())
    .execute(w.conn())
    .await?
    .rows_affected();
    if added == 0 {
        return Err(Error::Conflict(format!("{} is already a member", username.trim())));
    }
    let m = member(w.conn(), board, user).await?;
    w.record(Action::Create, None, Some(&m)).await?;
    w.commit().await?;
    Ok(m)
}

/// Removes a member by username; their cards become unassigned. The owner cannot be removed.
pub async fn remove_member(db: &Db, actor: UserId, board: BoardId, username: &str) -> Result<()> {
    let mut w = db.write(Some(actor)).await?;
    require_member(w.conn(), board, actor).await?;
    let user: Option<UserId> = sqlx::query_scalar("select id from users where username = ?")
        .bind(username.trim())
        .fetch_optional(w.conn())
        .await?;
    let m = member(w.conn(), board, user.ok_or(Error::NotFound)?).await?;
    if m.role == Role::Owner {
        return Err(Error::Conflict("the board's owner cannot be removed".into()));
    }
    let cards: Vec<Card> = sqlx::query_as(&format!("{CARD_SELECT} where c.board_id = ? and c.assignee_id = ?"))
        .bind(board)
        .bind(m.user_id)
        .fetch_all(w.conn())
        .await?;
    for before in cards {
        let after = Card {
            assignee_id: None,
            assignee: None,
            version: before.version + 1,
            updated_at: now(),
            ..before.clone()
        };
        sqlx::query("update cards set assignee_id = null, version = ?, updated_at = ? where id = ?")
            .bind(after.version)
            .bind(after.updated_at)
            .bind(after.id)
            .execute(w.conn())
            .await?;
        w.record(Action::Update, Some(&before), Some(&after)).await?;
    }
    sqlx::query("delete from board_members where board_id = ? and user_id = ?")
        .bind(board)
        .bind(m.user_id)
        .execute(w.conn())
        .await?;
    w.record(Action::Delete, Some(&m), None).await?;
    w.commit().await?;
    Ok(())
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
