//! Users repository: accounts and password hashes. Writes here publish no events of their own (users
//! are not on a board), except a deletion, which records the user leaving each board.

use sqlx::SqlitePool;

use crate::{
    db::Db,
    domain::{Card, Comment, Member, User, UserId, Username, account_key},
    error::{Error, Result},
    events::Action,
};

/// Creates a user from an already computed Argon2id hash; a taken username is a form error.
pub async fn create(db: &Db, username: &Username, password_hash: &str, is_admin: bool) -> Result<User> {
    let mut w = db.write(None).await?;
    let user = sqlx::query_as::<_, User>(
        r#"insert into users (username, password_hash, is_admin, created_at) values (?, ?, ?, ?)
           returning id, username, is_admin"#,
    )
    .bind(username.as_str())
    .bind(password_hash)
    .bind(is_admin)
    .bind(super::now())
    .fetch_one(w.conn())
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => Error::invalid("username", "That username is taken"),
        _ => e.into(),
    })?;
    w.commit().await?;
    Ok(user)
}

/// Makes an existing user an admin (or not); returns their id. Used by the CLI. Open sessions see
/// the change on their next request (rights are read per request).
pub async fn set_admin(db: &Db, username: &str, is_admin: bool) -> Result<UserId> {
    let mut w = db.write(None).await?;
    let id: Option<UserId> = sqlx::query_scalar("update users set is_admin = ? where username = ? returning id")
        .bind(is_admin)
        .bind(account_key(username))
        .fetch_optional(w.conn())
        .await?;
    w.commit().await?;
    id.ok_or(Error::NotFound)
}

/// Replaces a user's password hash; returns their id. Used by the CLI.
pub async fn set_password(db: &Db, username: &str, password_hash: &str) -> Result<UserId> {
    let mut w = db.write(None).await?;
    let id: Option<UserId> = sqlx::query_scalar("update users set password_hash = ? where username = ? returning id")
        .bind(password_hash)
        .bind(account_key(username))
        .fetch_optional(w.conn())
        .await?;
    w.commit().await?;
    id.ok_or(Error::NotFound)
}

/// Whether each of `ids` still exists, and is an admin: open sockets are checked against this,
/// so a user demoted or deleted (by the CLI, from another process) loses their sockets.
pub async fn rights(pool: &SqlitePool, ids: &[UserId]) -> Result<std::collections::HashMap<UserId, bool>> {
    let ids = serde_json::to_string(&ids).map_err(anyhow::Error::from)?;
    let rows: Vec<(UserId, bool)> =
        sqlx::query_as("select id, is_admin from users where id in (select value from json_each(?))")
            .bind(ids)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Deletes a user who owns no board; returns their id. Each membership ends the way a removal does
/// (their cards unassigned, their comments deleted, every change an event), so the log and live
/// clients stay consistent. Their tokens go with them; their sessions end on their next request.
pub async fn delete(db: &Db, username: &str) -> Result<UserId> {
    let mut w = db.write(None).await?;
    let id: UserId = sqlx::query_scalar("select id from users where username = ?")
        .bind(account_key(username))
        .fetch_optional(w.conn())
        .await?
        .ok_or(Error::NotFound)?;
    let owned: Vec<String> = sqlx::query_scalar("select name from boards where owner_id = ? order by id")
        .bind(id)
        .fetch_all(w.conn())
        .await?;
    if !owned.is_empty() {
        return Err(Error::Conflict(format!(
            "{username} owns {} board(s) ({}); delete them or give them to someone else first",
            owned.len(),
            owned.join(", ")
        )));
    }
    let cards: Vec<Card> = sqlx::query_as(&format!("{} where c.assignee_id = ?", super::rows::CARD_SELECT))
        .bind(id)
        .fetch_all(w.conn())
        .await?;
    for before in cards {
        sqlx::query("update cards set assignee_id = null, version = version + 1, updated_at = ? where id = ?")
            .bind(super::now())
            .bind(before.id)
            .execute(w.conn())
            .await?;
        let after = super::rows::card(w.conn(), before.id).await?;
        w.record(Action::Update, Some(&before), Some(&after)).await?;
    }
    let comments: Vec<Comment> = sqlx::query_as(
        r#"select c.id, c.board_id, c.card_id, c.author_id, u.username as author, c.body, c.created_at
           from comments c join users u on u.id = c.author_id where c.author_id = ?"#,
    )
    .bind(id)
    .fetch_all(w.conn())
    .await?;
    for c in &comments {
        w.record(Action::Delete, Some(c), None).await?;
    }
    let members: Vec<Member> = sqlx::query_as(
        r#"select m.board_id, m.user_id, u.username, m.role, m.added_at
           from board_members m join users u on u.id = m.user_id where m.user_id = ?"#,
    )
    .bind(id)
    .fetch_all(w.conn())
    .await?;
    for m in &members {
        w.record(Action::Delete, Some(m), None).await?;
    }
    // Memberships, comments and tokens go by `on delete cascade`.
    sqlx::query("delete from users where id = ?").bind(id).execute(w.conn()).await?;
    w.commit().await?;
    Ok(id)
}

/// The user and their password hash, for login; `account` is [`crate::domain::account_key`]'s.
pub async fn find_with_hash(pool: &SqlitePool, account: &str) -> Result<Option<(User, String)>> {
    let row: Option<(i64, String, bool, String)> =
        sqlx::query_as("select id, username, is_admin, password_hash from users where username = ?")
            .bind(account)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(id, username, is_admin, hash)| (User { id: UserId(id), username, is_admin }, hash)))
}

/// A user by id.
pub async fn get(pool: &SqlitePool, id: UserId) -> Result<Option<User>> {
    Ok(sqlx::query_as("select id, username, is_admin from users where id = ?").bind(id).fetch_optional(pool).await?)
}

/// Whether any user exists (demo data goes only into an empty database).
pub async fn any(pool: &SqlitePool) -> Result<bool> {
    Ok(sqlx::query_scalar("select exists(select 1 from users)").fetch_one(pool).await?)
}
